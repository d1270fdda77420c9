"""Crash severity classes (Thông tư 26/2024/TT-BCA), computed per crash from
the thresholds in ``data/rules/severity.json``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from geo.rules import SeverityRules, load_severity


def classify(
    deaths: npt.ArrayLike,
    injured: npt.ArrayLike,
    injury_pct: npt.ArrayLike | None = None,
    damage_vnd: npt.ArrayLike | None = None,
    *,
    rules: SeverityRules | None = None,
) -> np.ndarray:
    """Severity class code of each crash: the highest class any condition reaches.

    Unknown body-injury % (NaN) with injured people gives the rule file's
    ``unknown_injury_pct_class`` at least.

    Parameters
    ----------
    deaths, injured
        People killed and injured in each crash (NaN counts as 0).
    injury_pct
        Total body-injury % of each crash (NaN: unknown); default all unknown.
    damage_vnd
        Property damage of each crash in đồng; default 0.
    rules
        The severity classes, highest rank first (default: :func:`geo.rules.load_severity`).

    Returns
    -------
    numpy.ndarray
        One class code per crash (object dtype).

    Examples
    --------
    >>> classify([0, 1, 3, 0, 0], [1, 0, 0, 2, 0], [np.nan, np.nan, np.nan, 130, np.nan],
    ...          [0, 0, 0, 0, 2e8]).tolist()
    ['it_nghiem_trong', 'nghiem_trong', 'dac_biet_nghiem_trong', 'rat_nghiem_trong', 'nghiem_trong']
    """
    rules = rules or load_severity()
    d = np.nan_to_num(np.asarray(deaths, dtype=float))
    inj = np.nan_to_num(np.asarray(injured, dtype=float))
    n = len(d)
    pct = np.full(n, np.nan) if injury_pct is None else np.asarray(injury_pct, dtype=float)
    dmg = np.zeros(n) if damage_vnd is None else np.nan_to_num(np.asarray(damage_vnd, dtype=float))
    pct_known = np.nan_to_num(pct)
    conds, codes = [], []
    for cls in rules.classes:  # highest rank first
        hit = np.zeros(n, dtype=bool)
        for cond in cls.any:
            m = np.ones(n, dtype=bool)
            if "deaths_min" in cond:
                m &= d >= cond["deaths_min"]
            if "injured_min" in cond:
                m &= inj >= cond["injured_min"]
            if "injured_max" in cond:
                m &= inj <= cond["injured_max"]
            if "injury_pct_min" in cond:
                m &= pct_known >= cond["injury_pct_min"]
            if "damage_min" in cond:
                m &= dmg >= cond["damage_min"]
            hit |= m
        if cls.code == rules.unknown_injury_pct_class:
            hit |= (inj > 0) & np.isnan(pct)
        conds.append(hit)
        codes.append(cls.code)
    lowest = rules.classes[-1].code
    return np.select(conds, codes, default=lowest).astype(object)


def labels(lang: str = "vi", *, rules: SeverityRules | None = None) -> dict[str, str]:
    """Label of each class code in ``lang``, in the rule set's order.

    Parameters
    ----------
    lang
        ``"vi"`` for the Vietnamese labels, anything else for the English ones.
    rules
        The severity classes (default: :func:`geo.rules.load_severity`).

    Returns
    -------
    dict of str to str
        Class code → label.

    Examples
    --------
    >>> labels("en")["va_cham"], labels("vi")["va_cham"]
    ('Traffic collision', 'Va chạm giao thông')
    """
    rules = rules or load_severity()
    return {c.code: (c.label_vi if lang == "vi" else c.label_en) for c in rules.classes}
