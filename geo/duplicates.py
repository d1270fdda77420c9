"""Duplicates across sources: candidate pairs of crashes reported by two
different sources (police, health service, commune) close in place and time.

A pair is offered when its two crashes

- come from **different sources** (the ``source`` column; a missing source is
  one source of its own, the empty text),
- happened within ``minutes`` of each other (inclusive), and
- lie within ``distance_m`` of each other (inclusive): by their points when
  both have coordinates; when one of them (or both) has none, by road and
  chainage (the same road code and ``|Δchainage| <= distance_m``).

A crash without a time, or with neither a point nor a road and chainage, is
never paired. Nothing is decided here: a person compares the two and merges
them or says they are different crashes.

How it is fast (100 000 crashes in a fraction of a second): each crash becomes
a point in four dimensions, its place as geocentric coordinates (WGS 84
ellipsoid, metres) and its time scaled so that ``minutes`` count as
``distance_m``; one k-d tree (:class:`scipy.spatial.cKDTree`) lists every pair
inside a box of half-side ``distance_m`` (the Chebyshev metric), a superset of
the pairs wanted, which are then kept by their exact distance and time.
Geocentric coordinates are a metric embedding with no projection distortion
anywhere: the straight-line (chord) distance between two points of the
ellipsoid 50 m apart equals their geodesic distance to a few nanometres, so a
province or a whole country (Japan spans 20° of longitude) is measured alike.
Crashes located only by road and chainage are paired the same way in three
dimensions (road, chainage, time), roads kept apart by their index times
``4 * distance_m``.

The score of a pair, in [0, 1], best first: ``0.4 * (1 - d / distance_m) +
0.4 * (1 - |Δt| / minutes) + 0.1 * a(deaths) + 0.1 * a(injured)``, where
``a(x, y) = 1 - |x - y| / max(x, y, 1)`` is the agreement of two counts (0.5
when a count is missing).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

#: Default largest distance between two reports of one crash (metres).
DISTANCE_M = 50.0
#: Default largest time between two reports of one crash (minutes).
MINUTES = 60.0

#: The columns of :func:`candidate_pairs`' answer.
PAIR_COLUMNS = ["id_a", "id_b", "source_a", "source_b", "distance_m", "minutes", "score", "by"]

# WGS 84 ellipsoid
_A = 6_378_137.0
_E2 = 6.694_379_990_14e-3


def geocentric(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Geocentric (earth-centred, earth-fixed) coordinates of points on the
    WGS 84 ellipsoid, in metres: a metric embedding of lon/lat.

    Parameters
    ----------
    lon, lat
        WGS 84 longitudes and latitudes (degrees).

    Returns
    -------
    numpy.ndarray
        ``(n, 3)`` array of X, Y, Z in metres; the straight-line distance of
        two rows is their distance on the ground (to a few nanometres at 50 m).

    Examples
    --------
    >>> p = geocentric([105.8, 105.8], [21.0, 21.0 + 1 / 3600])   # one second of latitude apart
    >>> round(float(np.linalg.norm(p[1] - p[0])), 2)
    30.75
    """
    lam = np.radians(np.asarray(lon, dtype=float))
    phi = np.radians(np.asarray(lat, dtype=float))
    sin_phi, cos_phi = np.sin(phi), np.cos(phi)
    n = _A / np.sqrt(1.0 - _E2 * sin_phi * sin_phi)
    out: npt.NDArray[np.float64] = np.column_stack(
        [n * cos_phi * np.cos(lam), n * cos_phi * np.sin(lam), n * (1.0 - _E2) * sin_phi]
    )
    return out


def _agreement(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``1 - |a - b| / max(a, b, 1)`` for counts, 0.5 where one is missing."""
    with np.errstate(invalid="ignore"):
        out = 1.0 - np.abs(a - b) / np.maximum(np.maximum(a, b), 1.0)
    res: npt.NDArray[np.float64] = np.where(np.isfinite(out), np.clip(out, 0.0, 1.0), 0.5)
    return res


def _box_pairs(pts: npt.NDArray[np.float64], r: float) -> npt.NDArray[np.intp]:
    """Pairs (i < j) of rows of ``pts`` within ``r`` in every coordinate."""
    if len(pts) < 2:
        return np.empty((0, 2), dtype=np.intp)
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    pairs: npt.NDArray[np.intp] = tree.query_pairs(r, p=np.inf, output_type="ndarray")
    return pairs


def candidate_pairs(crashes: pd.DataFrame, *, distance_m: float = DISTANCE_M, minutes: float = MINUTES) -> pd.DataFrame:
    """Candidate pairs of crashes from different sources within ``distance_m``
    and ``minutes`` of each other, best first.

    Parameters
    ----------
    crashes
        One row per crash: ``id``, ``source``, ``occurred_at``, ``lon``,
        ``lat``; optional ``road_code`` and ``chainage_m`` (to pair crashes
        without coordinates), ``deaths`` and ``injured`` (for the score).
    distance_m
        Largest distance between the two (metres, inclusive; > 0).
    minutes
        Largest time between the two (minutes, inclusive; > 0).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIR_COLUMNS`: the two ids (``id_a`` the smaller), their
        sources, the distance in metres (by point, or along the road), the
        minutes apart, the score (module docstring) and ``by`` — ``"place"``
        (points) or ``"chainage"`` (road and chainage). Sorted by score
        (highest first), then distance, minutes and ids.

    Raises
    ------
    ValueError
        When ``distance_m`` or ``minutes`` is not a positive number.

    Examples
    --------
    >>> crashes = pd.DataFrame({
    ...     "id": [1, 2, 3, 4],
    ...     "source": ["police", "health", "police", "health"],
    ...     "occurred_at": pd.to_datetime(["2024-05-01 08:00", "2024-05-01 08:20",
    ...                                    "2024-05-01 08:10", "2024-05-01 11:00"]),
    ...     "lon": [105.8, 105.8003, 105.8001, 105.8],
    ...     "lat": [21.0, 21.0, 21.0, 21.0],
    ...     "deaths": [1, 1, 0, 1], "injured": [2, 2, 0, 2]})
    >>> candidate_pairs(crashes)
       id_a  id_b source_a source_b  distance_m  minutes  score     by
    0     1     2   police   health       31.19     20.0  0.617  place
    1     2     3   health   police       20.79     10.0  0.567  place

    Crash 3 is as near to crash 1 but from the same source; crash 4 is three
    hours later.
    """
    if not (np.isfinite(distance_m) and distance_m > 0 and np.isfinite(minutes) and minutes > 0):
        raise ValueError(f"distance_m and minutes must be positive: {distance_m}, {minutes}")
    n = len(crashes)
    if n < 2:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    ids = crashes["id"].to_numpy()
    sources = crashes["source"].astype(object).where(crashes["source"].notna(), "").astype(str).to_numpy()
    src = pd.factorize(sources)[0]
    when = pd.to_datetime(crashes["occurred_at"])
    has_t = when.notna().to_numpy()
    ns = when.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    t0 = ns[has_t].min() if has_t.any() else 0
    t = np.where(has_t, (ns - t0) / 60e9, np.nan)  # minutes since the first crash
    scale = distance_m / minutes  # metres per minute: the time box as wide as the place box
    r = distance_m * (1.0 + 1e-9)  # the box a hair wider; the exact tests come after
    lon = pd.to_numeric(crashes["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(crashes["lat"], errors="coerce").to_numpy(dtype=float)
    has_xy = np.isfinite(lon) & np.isfinite(lat) & has_t

    parts_i, parts_j, parts_d, parts_by = [], [], [], []
    # by place: geocentric X, Y, Z and the scaled time
    idx = np.flatnonzero(has_xy)
    if len(idx) >= 2:
        xyz = geocentric(lon[idx], lat[idx])
        pr = _box_pairs(np.column_stack([xyz, t[idx] * scale]), r)
        i, j = idx[pr[:, 0]], idx[pr[:, 1]]
        keep = src[i] != src[j]
        i, j, pr = i[keep], j[keep], pr[keep]
        d = np.sqrt(((xyz[pr[:, 0]] - xyz[pr[:, 1]]) ** 2).sum(axis=1))
        parts_i.append(i)
        parts_j.append(j)
        parts_d.append(d)
        parts_by.append(np.zeros(len(i), dtype=np.int8))
    # by road and chainage: only pairs one of which has no point
    if "road_code" in crashes and "chainage_m" in crashes and not has_xy.all():
        code = crashes["road_code"].astype(object).where(crashes["road_code"].notna(), "").astype(str).str.strip()
        km = pd.to_numeric(crashes["chainage_m"], errors="coerce").to_numpy(dtype=float)
        on_road = code.ne("").to_numpy() & np.isfinite(km) & has_t
        idx = np.flatnonzero(on_road)
        if len(idx) >= 2 and not has_xy[idx].all():
            road = pd.factorize(code.to_numpy()[idx])[0].astype(float)
            pr = _box_pairs(np.column_stack([road * 4.0 * distance_m, km[idx], t[idx] * scale]), r)
            i, j = idx[pr[:, 0]], idx[pr[:, 1]]
            keep = (src[i] != src[j]) & ~(has_xy[i] & has_xy[j])
            i, j = i[keep], j[keep]
            parts_i.append(i)
            parts_j.append(j)
            parts_d.append(np.abs(km[i] - km[j]))
            parts_by.append(np.ones(len(i), dtype=np.int8))
    if not parts_i:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    i, j = np.concatenate(parts_i), np.concatenate(parts_j)
    d, by = np.concatenate(parts_d), np.concatenate(parts_by)
    dt = np.abs(t[i] - t[j])
    ok = (d <= distance_m) & (dt <= minutes)
    i, j, d, dt, by = i[ok], j[ok], d[ok], dt[ok], by[ok]
    # the smaller id first
    swap = ids[i] > ids[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)

    def counts(col: str) -> npt.NDArray[np.float64]:
        if col not in crashes:
            return np.full(n, np.nan)
        out: npt.NDArray[np.float64] = pd.to_numeric(crashes[col], errors="coerce").to_numpy(dtype=float)
        return out

    deaths, injured = counts("deaths"), counts("injured")
    score = (
        0.4 * (1.0 - d / distance_m)
        + 0.4 * (1.0 - dt / minutes)
        + 0.1 * _agreement(deaths[i], deaths[j])
        + 0.1 * _agreement(injured[i], injured[j])
    )
    out = pd.DataFrame(
        {
            "id_a": ids[i],
            "id_b": ids[j],
            "source_a": sources[i],
            "source_b": sources[j],
            "distance_m": np.round(d, 2),
            "minutes": np.round(dt, 2),
            "score": np.round(score, 3),
            "by": np.where(by == 0, "place", "chainage"),
        }
    )
    out = out.sort_values(
        ["score", "distance_m", "minutes", "id_a", "id_b"], ascending=[False, True, True, True, True], kind="stable"
    )
    return out.reset_index(drop=True)
