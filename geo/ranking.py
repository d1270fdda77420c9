"""Ranking of black spots and clusters: counts, EPDO, severity mix and trend."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

#: EPDO weights (equivalent property-damage-only) when a caller gives none:
#: fatal, injury, property-only. The app passes its own (``settings.EPDO_WEIGHTS``).
DEFAULT_EPDO_WEIGHTS = {"fatal": 12.0, "injury": 3.0, "pdo": 1.0}


def epdo(deaths: npt.ArrayLike, injured: npt.ArrayLike, *, weights: dict[str, float] | None = None) -> np.ndarray:
    """Equivalent property-damage-only score per crash.

    A fatal crash weighs ``fatal``, an injury crash ``injury``, any other
    ``pdo`` (``weights``, default :data:`DEFAULT_EPDO_WEIGHTS`).

    Parameters
    ----------
    deaths, injured
        People killed and injured in each crash (NaN counts as 0).
    weights
        ``{"fatal": …, "injury": …, "pdo": …}`` (default :data:`DEFAULT_EPDO_WEIGHTS`).

    Returns
    -------
    numpy.ndarray
        One float score per crash.

    Examples
    --------
    >>> epdo([1, 0, 0], [3, 2, 0]).tolist()
    [12.0, 3.0, 1.0]
    >>> epdo([1], [0], weights={"fatal": 9.5, "injury": 3.5, "pdo": 1}).tolist()
    [9.5]
    """
    w = weights or DEFAULT_EPDO_WEIGHTS
    d = np.nan_to_num(np.asarray(deaths, dtype=float))
    inj = np.nan_to_num(np.asarray(injured, dtype=float))
    return np.where(d > 0, w["fatal"], np.where(inj > 0, w["injury"], w["pdo"])).astype(float)


def spot_profile(
    members: pd.DataFrame,
    crashes: pd.DataFrame,
    *,
    as_of: date | str | None = None,
    weights: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per spot: EPDO over all its crashes, severity-class mix, and the trend of
    the last 12 months against the 12 months before.

    Parameters
    ----------
    members
        ``spot``, ``crash_id`` (as from :class:`geo.screening.ScreeningResult`
        or cluster labels).
    crashes
        ``crash_id``, ``occurred_at``, ``deaths``, ``injured``; optional
        ``severity`` (class code).
    as_of
        End of the current year window (default: latest crash date).
    weights
        EPDO weights (default :data:`DEFAULT_EPDO_WEIGHTS`).

    Returns
    -------
    pandas.DataFrame
        Indexed by spot: epdo_all, n_last12, n_prev12, trend_pct, and one
        ``sev_<class>`` count column per severity class present.

    Examples
    --------
    >>> crashes = pd.DataFrame({"crash_id": [1, 2, 3], "deaths": [1, 0, 0], "injured": [0, 1, 0],
    ...                         "occurred_at": ["2023-03-01", "2024-02-01", "2024-03-01"]})
    >>> p = spot_profile(pd.DataFrame({"spot": [7, 7, 7], "crash_id": [1, 2, 3]}), crashes)
    >>> p.loc[7, ["epdo_all", "n_last12", "n_prev12", "trend_pct"]].tolist()
    [16.0, 2.0, 1.0, 100.0]
    """
    m = members.merge(crashes, on="crash_id", how="left")
    m["occurred_at"] = pd.to_datetime(m["occurred_at"])
    m["epdo"] = epdo(m["deaths"], m["injured"], weights=weights)
    as_of = pd.Timestamp(as_of) if as_of is not None else m["occurred_at"].max()
    last = (m["occurred_at"] > as_of - pd.DateOffset(months=12)) & (m["occurred_at"] <= as_of)
    prev = (m["occurred_at"] > as_of - pd.DateOffset(months=24)) & ~last & (m["occurred_at"] <= as_of)
    g = m.groupby("spot")
    out = pd.DataFrame(
        {
            "epdo_all": g["epdo"].sum(),
            "n_last12": last.groupby(m["spot"]).sum(),
            "n_prev12": prev.groupby(m["spot"]).sum(),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["trend_pct"] = np.where(
            out["n_prev12"] > 0, (out["n_last12"] - out["n_prev12"]) / out["n_prev12"] * 100.0, np.nan
        )
    if "severity" in m:
        mix = pd.crosstab(m["spot"], m["severity"]).add_prefix("sev_")
        out = out.join(mix)
    return out
