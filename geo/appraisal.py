"""Which fix first: economic appraisal of proposed remediation works.

Parameters in, frames out; nothing here reads the settings (the service
passes the GDP figure, the discount rate and the factor table).

The method, for one work at one site (a black spot's stretch of road):

1. **Expected crashes without the work** per year: the site's Empirical Bayes
   estimate (:func:`eb_rate`, the same weighting of the site's own count
   and the mean of same-length road segments as "did it work?",
   :func:`geo.evaluation.eb_expected`), divided by the years observed. The
   site's own deaths, injured and recorded damage per crash split it by
   severity.
2. **Crashes avoided** per year: ``(1 - CMF) x expected``, the crash
   modification factor (CMF) of the work's type from an editable table with
   each value's source (``data/rules/cmf_worktypes.csv``, :func:`cmf_table`).
3. **Costs of a crash** (:func:`crash_costs`), the iRAP rule of thumb
   (McMahon & Dahdah, *The True Cost of Road Crashes: Valuing life and the
   cost of a serious injury*, iRAP 2008): a death is valued at the value of
   a statistical life, VSL = 70 x GDP per capita; a serious injury at 25 % of
   it. Every injured person in the police records is costed as a serious
   injury: under Thông tư 26/2024/TT-BCA a crash counts its injured when
   their injuries reach the "ít nghiêm trọng" threshold (11 % body injury for
   one person under the older TT 58/2009), i.e. hospital cases, which is what
   iRAP calls serious. Slight injuries below that threshold are not in the
   records (such a crash is a "va chạm"), so they and the damage to vehicles
   and property are valued by the damage the police recorded
   (``damage_vnd``) and nothing more: the benefit is a lower bound there,
   as iRAP's own fatal-and-serious appraisal is.
4. **Annual benefit** = avoided deaths x VSL + avoided injured x serious
   injury cost + avoided crashes x recorded damage per crash; its **present
   value** over the work's service life at the discount rate
   (:func:`annuity_factor`, benefits at the end of each year); **NPV** =
   PV - cost; **B/C** = PV / cost.
5. **Which works for a budget**: the set that maximises the total PV of
   benefits within the budget, an exact 0/1 knapsack
   (:func:`select_within_budget`).

The default discount rate is 10 % a year: ADB's *Guidelines for the Economic
Analysis of Projects* (2017) set 9 % (and allow a country's own rate), and
the road projects ADB and the World Bank appraised in Viet Nam have used
10-12 %; 10 % is editable in the organisation's settings.

>>> c = crash_costs(100_000_000)
>>> float(c["death"]), float(c["injured"])
(7000000000.0, 1750000000.0)
>>> round(annuity_factor(0.10, 10), 4)
6.1446
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from errors import RuleSetError
from geo.evaluation import eb_expected, overdispersion
from geo.rules import RULES_DIR

#: The table of crash modification factors per work type that ships with the tool.
CMF_FILE = RULES_DIR / "cmf_worktypes.csv"
#: iRAP: the value of a statistical life is about 70 x GDP per capita (McMahon & Dahdah 2008).
VSL_GDP_MULTIPLE = 70.0
#: iRAP: a serious injury is valued at 25 % of the value of a statistical life.
SERIOUS_INJURY_SHARE = 0.25
#: Discount rate a year (see the module's text).
DISCOUNT_RATE = 0.10
#: Viet Nam's GDP per capita at current prices, its year and source: the default until the
#: organisation enters a newer figure.
VN_GDP_PER_CAPITA_VND = 114_000_000.0
VN_GDP_YEAR = 2024
VN_GDP_SOURCE = (
    "Tổng cục Thống kê, Thông cáo báo chí tình hình kinh tế - xã hội quý IV và năm 2024 (06/01/2025): "
    "GDP bình quân đầu người năm 2024 theo giá hiện hành ước đạt 114 triệu đồng (khoảng 4.700 USD)"
)
#: The budget and costs are counted in this unit (đồng) by the knapsack unless a finer one is exact.
BUDGET_UNIT_VND = 1_000_000
#: At most this many cells (works x budget units, one bit each) in the knapsack's table; a coarser
#: unit beyond it (300 million cells: about 40 MB and a few seconds).
MAX_CELLS = 300_000_000
#: At most this many budget units (the table's width: a few arrays of 8-byte values of it are held at once);
#: a coarser unit beyond it (a budget of a trillion đồng in units of 1 000 đồng took 4 GB).
MAX_ROOM = 5_000_000

APPRAISAL_COLUMNS = [
    "cmf",
    "life_years",
    "avoided_crashes",
    "avoided_deaths",
    "avoided_injured",
    "annual_benefit_vnd",
    "pv_benefit_vnd",
    "npv_vnd",
    "bcr",
    "rank",
]


def crash_costs(
    gdp_per_capita_vnd: float, *, vsl_multiple: float = VSL_GDP_MULTIPLE, serious_share: float = SERIOUS_INJURY_SHARE
) -> pd.Series:
    """Cost of a death and of a (serious) injury from GDP per capita (iRAP).

    Parameters
    ----------
    gdp_per_capita_vnd
        GDP per capita in đồng.
    vsl_multiple
        Value of a statistical life as a multiple of GDP per capita (iRAP: 70).
    serious_share
        A serious injury as a share of the VSL (iRAP: 0.25).

    Returns
    -------
    pandas.Series
        ``death`` (per person killed) and ``injured`` (per person injured), đồng.

    Examples
    --------
    >>> crash_costs(114_000_000).tolist()
    [7980000000.0, 1995000000.0]
    """
    if not gdp_per_capita_vnd or gdp_per_capita_vnd <= 0:
        raise RuleSetError("GDP bình quân đầu người phải lớn hơn 0 / GDP per capita must be positive")
    vsl = float(vsl_multiple) * float(gdp_per_capita_vnd)
    return pd.Series({"death": vsl, "injured": float(serious_share) * vsl})


def cmf_table(path: str | Path = CMF_FILE) -> pd.DataFrame:
    """The crash modification factors per work type, each with its source.

    Parameters
    ----------
    path
        A CSV with work_type, cmf, life_years, target, source.

    Returns
    -------
    pandas.DataFrame
        One row per work type.

    Raises
    ------
    errors.RuleSetError
        A missing column, a factor not above 0, a life not above 0, a row
        without its source, or a work type twice.

    Examples
    --------
    >>> t = cmf_table()
    >>> j = t.set_index("work_type").loc["junction"]
    >>> float(j["cmf"]), int(j["life_years"])
    (0.56, 20)
    """
    try:
        t = pd.read_csv(path)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RuleSetError(f"Bảng hệ số không đọc được / The factor table cannot be read: {path}") from exc
    need = ["work_type", "cmf", "life_years", "target", "source"]
    if missing := [c for c in need if c not in t.columns]:
        raise RuleSetError(f"Bảng hệ số thiếu cột {missing} / The factor table lacks columns {missing}: {path}")
    cmf = pd.to_numeric(t["cmf"], errors="coerce")
    life = pd.to_numeric(t["life_years"], errors="coerce")
    bad = t.loc[
        ~((cmf > 0) & (cmf <= 10))  # a factor multiplies crashes: 0.56, 1.2; never 0, infinite or absurd
        | ~((life >= 1) & (life <= 100) & (life == life.round()))  # whole years
        | t["source"].fillna("").astype(str).str.strip().eq("")
        | t["work_type"].duplicated(),
        "work_type",
    ]
    if len(bad):
        raise RuleSetError(
            f"Bảng hệ số: dòng sai (hệ số, tuổi thọ > 0, có nguồn, mỗi loại một dòng): "
            f"{bad.tolist()} / Bad factor rows: {path}"
        )
    # what each factor applies to, in Vietnamese too where the table says it (``target_vi``)
    keep = need + (["target_vi"] if "target_vi" in t.columns else [])
    return t[keep].astype({"cmf": float, "life_years": int})


def annuity_factor(rate: float, years: float) -> float:
    """Present value of 1 đồng a year for ``years`` years (end of each year).

    Parameters
    ----------
    rate
        Discount rate a year (0.10 for 10 %).
    years
        Service life in years.

    Returns
    -------
    float
        ``(1 - (1 + rate) ** -years) / rate``; ``years`` when the rate is 0.

    Examples
    --------
    >>> annuity_factor(0.0, 5), round(annuity_factor(0.10, 20), 4)
    (5.0, 8.5136)
    """
    if rate == 0:
        return float(years)
    return float((1.0 - (1.0 + rate) ** -years) / rate)


def eb_rate(count: float, reference: npt.ArrayLike | None, *, years: float) -> float:
    """Empirical Bayes expected crashes a year at a site.

    Parameters
    ----------
    count
        The site's crashes in the period observed.
    reference
        Crash counts of the reference segments (same length, same period),
        :func:`geo.evaluation.segment_counts`; None or fewer than two: the
        site's own count is used as it is.
    years
        Length of the period observed, in years.

    Returns
    -------
    float
        Expected crashes a year.

    Examples
    --------
    >>> eb_rate(6, [0, 0, 0, 4], years=2)    # mean 1, alpha 2: w = 1/3; (1/3 x 1 + 2/3 x 6) / 2
    2.1666666666666665
    >>> eb_rate(6, None, years=2)
    3.0
    """
    if years <= 0:
        raise ValueError("years must be positive")
    if reference is None or len(np.asarray(reference)) < 2:
        return float(count) / years
    m, alpha = overdispersion(reference)
    return eb_expected(before=float(count), mean=m, alpha=alpha) / years


def appraise(
    works: pd.DataFrame, cmf: pd.DataFrame, *, costs: pd.Series, discount_rate: float = DISCOUNT_RATE
) -> pd.DataFrame:
    """Benefit, NPV and benefit-cost ratio of each work, best B/C first.

    Parameters
    ----------
    works
        id, work_type, cost_vnd (NaN: unknown), crashes_per_year (expected
        without the work, e.g. :func:`eb_rate`), deaths_per_crash,
        injured_per_crash and damage_per_crash (đồng) at its site.
    cmf
        :func:`cmf_table`; a work type not in it takes the ``other`` row.
    costs
        :func:`crash_costs`.
    discount_rate
        A year (0.10 for 10 %).

    Returns
    -------
    pandas.DataFrame
        ``works`` with cmf, life_years, avoided_crashes, avoided_deaths,
        avoided_injured (a year), annual_benefit_vnd, pv_benefit_vnd,
        npv_vnd, bcr (NaN without a cost) and rank (1 = most safety per
        đồng), sorted by rank.

    Examples
    --------
    One work: signs (CMF 0.87, 10 years), 100 million đồng, at a site
    expecting 2 crashes a year with 0.5 deaths, 1 injured and 10 million
    đồng of damage per crash; GDP per capita 100 million (VSL 7 billion):

    >>> w = pd.DataFrame({"id": [1], "work_type": ["signs"], "cost_vnd": [100e6], "crashes_per_year": [2.0],
    ...                   "deaths_per_crash": [0.5], "injured_per_crash": [1.0], "damage_per_crash": [10e6]})
    >>> r = appraise(w, cmf_table(), costs=crash_costs(100e6)).iloc[0]
    >>> [round(float(r[k]), 2) for k in ("avoided_crashes", "avoided_deaths", "avoided_injured")]
    [0.26, 0.13, 0.26]
    >>> round(float(r["annual_benefit_vnd"]) / 1e6, 1), round(float(r["bcr"]), 1)
    (1367.6, 84.0)
    """
    out = works.copy()
    table = cmf.set_index("work_type")
    kind = out["work_type"].where(out["work_type"].isin(table.index), "other")
    out["cmf"] = kind.map(table["cmf"]).astype(float)
    out["life_years"] = kind.map(table["life_years"]).astype(float)
    rate = pd.to_numeric(out["crashes_per_year"], errors="coerce").fillna(0.0)
    out["avoided_crashes"] = (1.0 - out["cmf"]) * rate
    out["avoided_deaths"] = out["avoided_crashes"] * pd.to_numeric(out["deaths_per_crash"], errors="coerce").fillna(0.0)
    out["avoided_injured"] = out["avoided_crashes"] * pd.to_numeric(out["injured_per_crash"], errors="coerce").fillna(
        0.0
    )
    damage = pd.to_numeric(out["damage_per_crash"], errors="coerce").fillna(0.0)
    out["annual_benefit_vnd"] = (
        out["avoided_deaths"] * float(costs["death"])
        + out["avoided_injured"] * float(costs["injured"])
        + out["avoided_crashes"] * damage
    )
    factor = out["life_years"].map(lambda n: annuity_factor(discount_rate, n) if pd.notna(n) else np.nan)
    out["pv_benefit_vnd"] = out["annual_benefit_vnd"] * factor
    cost = pd.to_numeric(out["cost_vnd"], errors="coerce")
    cost = cost.where(cost > 0)
    out["npv_vnd"] = out["pv_benefit_vnd"] - cost
    out["bcr"] = out["pv_benefit_vnd"] / cost
    out = out.sort_values(["bcr", "pv_benefit_vnd"], ascending=False, na_position="last", kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


@dataclass
class Selection:
    """The works chosen within a budget."""

    chosen: np.ndarray  # one bool per work, in the order given
    total_cost: float  # the chosen works' real costs (đồng)
    total_value: float  # their total value (PV of benefits, đồng)
    budget: float
    unit: float  # the knapsack's unit of money (đồng)
    rounded: bool  # True when a cost or the budget was not a whole number of units
    note: str = ""


def select_within_budget(
    costs: npt.ArrayLike,
    values: npt.ArrayLike,
    budget: float,
    *,
    unit: float = BUDGET_UNIT_VND,
    max_cells: int = MAX_CELLS,
) -> Selection:
    """The set of works of greatest total value within a budget: an exact
    0/1 knapsack by dynamic programming over costs in whole units.

    The unit is the largest one every cost and the budget are whole numbers
    of (their greatest common divisor in đồng) when the table stays within
    ``max_cells`` cells: then the answer is exactly optimal. Otherwise the
    unit is ``unit`` (1 million đồng; ten times more until the table fits),
    costs are rounded up and the budget down to whole units: the choice is
    always within the real budget and optimal for the rounded costs (it can
    miss a set that fits only by less than the rounding). Works without a
    cost, or with no positive value, are never chosen.

    Parameters
    ----------
    costs
        Cost of each work, đồng (NaN: unknown).
    values
        Value of each work (PV of benefits), đồng.
    budget
        đồng.
    unit
        The coarse unit, đồng.
    max_cells
        Largest table (works x budget units).

    Returns
    -------
    Selection

    Examples
    --------
    >>> s = select_within_budget([60e6, 50e6, 50e6], [100.0, 70.0, 70.0], 100e6)
    >>> s.chosen.tolist(), s.total_cost, s.total_value, s.unit, s.rounded
    ([False, True, True], 100000000.0, 140.0, 10000000.0, False)
    """
    c = np.asarray(costs, dtype=float)
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    n = len(c)
    budget = float(budget) if budget and np.isfinite(budget) else 0.0
    ok = np.isfinite(c) & (c >= 0) & (v > 0) & (c <= budget)
    chosen = np.zeros(n, dtype=bool)
    if not ok.any() or budget <= 0:
        return Selection(chosen, 0.0, 0.0, budget, float(unit), False, "")
    room_needed = min(budget, float(c[ok].sum()))  # the table never needs more room than all the costs
    whole = [int(x) for x in np.r_[c[ok], budget] if x > 0]
    g = float(math.gcd(*[int(x) for x in whole])) if all(float(x).is_integer() for x in np.r_[c[ok], budget]) else 0.0

    def fits(u: float) -> bool:
        return int(ok.sum()) * (room_needed // u + 1) <= max_cells and room_needed // u + 1 <= MAX_ROOM

    if g >= 1 and fits(g):
        u = g
    else:
        u = float(unit)
        while not fits(u):
            u *= 10.0
    w = np.ceil(c[ok] / u - 1e-9).astype(np.int64)
    cap = int(min(budget // u, w.sum()))
    rounded = bool((np.abs(c[ok] / u - np.round(c[ok] / u)) > 1e-9).any() or budget % u != 0)
    vals = v[ok]
    best = np.zeros(cap + 1)
    # take[i] bit c: work i is in the best set of room c among works 0..i (kept as packed bits: 1 bit a cell)
    take: list[np.ndarray | None] = []
    for wi, vi in zip(w, vals):
        if wi > cap:
            take.append(None)
            continue
        cand = best[: cap + 1 - wi] + vi
        better = np.zeros(cap + 1, dtype=bool)
        better[wi:] = cand > best[wi:] + 1e-9 * max(1.0, abs(vi))
        take.append(np.packbits(better))
        best = np.where(better, np.r_[np.zeros(wi), cand], best)
    pick = np.zeros(len(w), dtype=bool)
    room = cap
    for i in range(len(w) - 1, -1, -1):
        row = take[i]
        if row is not None and (row[room >> 3] >> (7 - (room & 7))) & 1:
            pick[i] = True
            room -= int(w[i])
    chosen[np.flatnonzero(ok)[pick]] = True
    note = (
        (
            f"Kinh phí làm tròn lên, ngân sách làm tròn xuống theo đơn vị {u:,.0f} đồng / Costs rounded up and the "
            f"budget down to units of {u:,.0f} đồng"
        ).replace(",", ".")
        if rounded
        else ""
    )
    return Selection(chosen, float(c[chosen].sum()), float(v[chosen].sum()), budget, u, rounded, note)


def brute_force(costs: npt.ArrayLike, values: npt.ArrayLike, budget: float) -> float:
    """The best total value within the budget by trying every subset (for
    tests: 2**n subsets).

    Parameters
    ----------
    costs
        Each item's cost (an item whose cost is not finite is never chosen).
    values
        Each item's value (an item whose value is not above 0 is never chosen).
    budget
        The most the chosen items may cost together.

    Returns
    -------
    float
        The largest total value of a subset within ``budget`` (0 when none fits).

    Examples
    --------
    >>> brute_force([60e6, 50e6, 50e6], [100.0, 70.0, 70.0], 100e6)
    140.0
    """
    c = np.asarray(costs, dtype=float)
    v = np.asarray(values, dtype=float)
    best = 0.0
    idx = [i for i in range(len(c)) if np.isfinite(c[i]) and v[i] > 0]
    for k in range(1, len(idx) + 1):
        for sub in combinations(idx, k):
            s = list(sub)
            if c[s].sum() <= budget:
                best = max(best, float(v[s].sum()))
    return best
