"""KDE+ along roads: crash clusters by kernel density by chainage, with the
Monte Carlo significance test and the cluster strength of Bíl et al. (2013).

An analysis beside the regulation's screening (:mod:`geo.screening`), never a
replacement of its list. Reference: M. Bíl, R. Andrášik, Z. Janoška (2013),
"Identification of hazardous road locations of traffic accidents by means of
kernel density estimation and cluster significance evaluation", *Accident
Analysis & Prevention* 55, 265–273, doi:10.1016/j.aap.2013.03.003; the KDE+
toolbox's notes (kdeplus.cz) for the default bandwidth of 100 m.

What is computed, road by road (1-D, the crashes' chainages; roads are not
joined to each other):

1. **Density.** At grid points every ``step_m`` metres over the road's extent
   ``[a, b]``, ``f(s) = 1000 * sum_i w_i * K_h(s - x_i)`` in crashes per km,
   with ``K_h(d) = exp(-d**2 / (2 h**2)) / (h * sqrt(2 pi))`` the Gaussian
   kernel of bandwidth ``h`` (``bandwidth_m``), truncated at ``|d| <= cutoff * h``
   (3 h by default: 99.7 % of its mass, not rescaled). ``w_i = 1`` (a count of
   crashes) unless ``weights`` are given.
2. **Significance (Monte Carlo).** The road's crashes are placed uniformly at
   random over ``[a, b]`` ``n_sim`` times (each keeping its weight), and the
   density recomputed. The level of a point is the density exceeded there with
   probability ``alpha`` under that redistribution: the empirical ``1 - alpha``
   quantile of its simulated densities (the smallest simulated value that at
   most a fraction ``alpha`` of them exceed). This is KDE+'s local threshold. A
   point whose kernel window lies inside the road has the same distribution as
   every other such point, so one level serves the road's interior (as the
   paper's single level per road section), estimated from the pooled
   simulated densities at up to 50 interior points about ``h`` apart; a point
   within ``cutoff * h`` of an end, where the road's end cuts the kernel window
   (the border effect), has its own level from its own ``n_sim`` values.
3. **Clusters.** A maximal run of grid points whose density exceeds their level
   (strictly). Each point stands for ``step_m`` of road centred on it, so the
   run covers ``[from_m, to_m]`` = its first point − step/2 to its last point
   + step/2, clipped to the road's extent (an end point of the grid reaches the
   end of the extent). Its crashes are those with chainage in ``[from_m, to_m]``;
   runs with fewer than ``min_crashes`` crashes are dropped.
4. **Strength.** ``S = (I_c - I_c^MC) / I_c`` (Bíl et al. 2013), ``I_c`` the
   integral of the density over the cluster and ``I_c^MC`` the integral of the
   significance level over it (both as sums over the run's grid points, the
   step cancelling): the share of the cluster's density above the level, in
   (0, 1]. Clusters are listed by strength, strongest first.

The extent of a road is the span of its crashes' chainages unless
``road_lengths`` gives it (a length ``L`` for ``[0, L]``, or a ``(from_m, to_m)``
pair), widened to hold every crash. A road with fewer than ``min_crashes``
crashes, or whose crashes all lie at one chainage with no extent given, can
hold no cluster and is skipped. Each road's simulations draw from their own
random stream (the seed and the road's code), so a road's clusters do not
depend on which other roads are analysed with it.
"""

from __future__ import annotations

import zlib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from errors import ValueOutOfRange

#: Defaults: the KDE+ toolbox's bandwidth (m), a grid step of a tenth of it (m),
#: simulations, significance level, the kernel's truncation (bandwidths).
DEFAULT_BANDWIDTH_M = 100.0
DEFAULT_STEP_M = 10.0
DEFAULT_N_SIM = 200
DEFAULT_ALPHA = 0.05
DEFAULT_MIN_CRASHES = 2
DEFAULT_CUTOFF = 3.0
#: Interior points whose simulated densities are pooled for a road's interior level.
POOLED_POINTS = 50
#: Above this many grid points on one road (a chainage far off, or a tiny step) the run refuses.
MAX_POINTS_PER_ROAD = 5_000_000
#: At most this many simulated densities kept for the points near a road's ends (8 bytes each: 400 MB).
MAX_END_SAMPLES = 50_000_000

#: Columns of the cluster table.
KDE_COLUMNS = ["road", "from_m", "to_m", "n_crashes", "strength", "crash_ids"]


@dataclass
class KdeResult:
    """Outcome of a KDE+ run.

    Attributes
    ----------
    clusters
        One row per significant cluster: road, from_m, to_m, n_crashes,
        strength, crash_ids (a list), strongest first.
    n_analysed
        Crashes with a road and a chainage (the ones analysed).
    n_without_chainage
        Crashes left out for want of a road or a chainage.
    params
        The method's parameters, to show beside the result.
    profiles
        With ``profiles=True``: per road and grid point, ``road``, ``chainage_m``,
        ``density`` (crashes per km) and ``level`` (the significance level).
    """

    clusters: pd.DataFrame
    n_analysed: int
    n_without_chainage: int
    params: dict[str, float | int] = field(default_factory=dict)
    profiles: pd.DataFrame | None = None


def road_seed(seed: int, road: Hashable) -> int:
    """The random stream of one road: the seed mixed with the road's code.

    Parameters
    ----------
    seed
        The run's seed.
    road
        The road's code (read as text).

    Returns
    -------
    int
        A seed in ``[0, 2**32)``, the same for the same seed and road in
        every run and on every machine (CRC-32, not Python's ``hash``).

    Examples
    --------
    >>> road_seed(0, "QL1") == road_seed(0, "QL1") != road_seed(1, "QL1")
    True
    """
    return int((int(seed) * 1_000_003 + zlib.crc32(str(road).encode("utf-8"))) % 2**32)


def kde_plus(
    crashes: pd.DataFrame,
    *,
    bandwidth_m: float = DEFAULT_BANDWIDTH_M,
    step_m: float = DEFAULT_STEP_M,
    n_sim: int = DEFAULT_N_SIM,
    alpha: float = DEFAULT_ALPHA,
    min_crashes: int = DEFAULT_MIN_CRASHES,
    seed: int = 0,
    weights: str | npt.ArrayLike | None = None,
    road_lengths: Mapping[Any, float | tuple[float, float]] | None = None,
    cutoff: float = DEFAULT_CUTOFF,
    profiles: bool = False,
) -> KdeResult:
    """KDE+ clusters of crashes along their roads (see the module's notes).

    Parameters
    ----------
    crashes
        Columns ``road`` and ``chainage_m`` (metres); ``crash_id`` if present
        (else the index) names the crashes in ``crash_ids``. Rows without a road
        or a finite chainage are left out and counted.
    bandwidth_m
        The kernel's bandwidth ``h`` (the Gaussian's standard deviation), m.
    step_m
        Spacing of the points where the density is computed, m.
    n_sim
        Monte Carlo redistributions per road.
    alpha
        Significance level: a point is in a cluster when its density exceeds
        the density exceeded with probability ``alpha`` under redistribution.
    min_crashes
        Clusters with fewer crashes are dropped (at least 1).
    seed
        Seed of the simulations (same seed, same data: same result).
    weights
        None (each crash counts 1), a column name, or one weight per row (e.g.
        EPDO by severity); non-negative.
    road_lengths
        Per road code, its length ``L`` (extent ``[0, L]``) or ``(from_m, to_m)``;
        roads not in it use the span of their crashes.
    cutoff
        The kernel is zero beyond ``cutoff * bandwidth_m``.
    profiles
        Also return each road's density and level at every grid point.

    Returns
    -------
    KdeResult
        The clusters (:data:`KDE_COLUMNS`), strongest first, and the counts.

    Raises
    ------
    ValueError
        If a parameter is out of range, a weight is negative or missing, or a
        road's extent needs more than :data:`MAX_POINTS_PER_ROAD` points.

    Examples
    --------
    Five crashes within 60 m on a 10 km road with four scattered ones:

    >>> crashes = pd.DataFrame({"crash_id": range(1, 10), "road": "QL1",
    ...                         "chainage_m": [0, 2500, 5000, 5020, 5035, 5050, 5060, 7500, 10000]})
    >>> r = kde_plus(crashes, seed=1)
    >>> row = r.clusters.iloc[0]
    >>> len(r.clusters), row["road"], row["crash_ids"], bool(4800 < row["from_m"] < 5000 and 5060 < row["to_m"] < 5300)
    (1, 'QL1', [3, 4, 5, 6, 7], True)
    >>> bool(0 < row["strength"] <= 1), r.n_analysed, r.n_without_chainage
    (True, 9, 0)
    """
    from geo._kde_plus import kde_roads, road_profile

    h = float(bandwidth_m)
    step = float(step_m)
    if not (np.isfinite(h) and h > 0):
        raise ValueOutOfRange(f"Băng thông phải là số dương / The bandwidth must be a positive number: {bandwidth_m!r}")
    if not (np.isfinite(step) and step > 0):
        raise ValueOutOfRange(f"Bước phải là số dương / The step must be a positive number: {step_m!r}")
    if int(n_sim) < 1:
        raise ValueOutOfRange(f"Số lần mô phỏng phải từ 1 trở lên / At least 1 simulation: {n_sim!r}")
    if not 0 < float(alpha) < 1:
        raise ValueOutOfRange(
            f"Mức ý nghĩa phải nằm giữa 0 và 1 / The significance level must lie between 0 and 1: {alpha!r}"
        )
    if not float(cutoff) > 0:
        raise ValueOutOfRange(f"Ngưỡng cắt phải là số dương / The cutoff must be positive: {cutoff!r}")
    min_n = max(1, int(min_crashes))
    params: dict[str, float | int] = {
        "bandwidth_m": h,
        "step_m": step,
        "n_sim": int(n_sim),
        "alpha": float(alpha),
        "min_crashes": min_n,
        "seed": int(seed),
        "cutoff": float(cutoff),
    }

    n_rows = len(crashes)
    road = crashes["road"] if "road" in crashes else pd.Series([None] * n_rows, index=crashes.index)
    ch = (
        pd.to_numeric(crashes["chainage_m"], errors="coerce")
        if "chainage_m" in crashes
        else pd.Series(np.nan, index=crashes.index)
    )
    chv = ch.to_numpy(dtype=float)
    ok = road.notna().to_numpy() & road.astype(str).str.strip().ne("").to_numpy() & np.isfinite(chv)
    if weights is None:
        w_all = np.ones(n_rows)
    else:
        w_src = crashes[weights] if isinstance(weights, str) else weights
        w_all = np.asarray(pd.to_numeric(pd.Series(np.asarray(w_src)), errors="coerce"), dtype=float)
        if w_all.shape != (n_rows,):
            raise ValueError("weights must give one value per crash")
        if (~np.isfinite(w_all[ok])).any() or (w_all[ok] < 0).any():
            raise ValueError("weights must be non-negative numbers")
    ids_all = crashes["crash_id"].to_numpy() if "crash_id" in crashes else crashes.index.to_numpy()
    n_ok = int(ok.sum())
    result = KdeResult(
        clusters=pd.DataFrame(columns=KDE_COLUMNS), n_analysed=n_ok, n_without_chainage=n_rows - n_ok, params=params
    )

    codes, uniq_index = pd.factorize(road[ok], sort=True)
    uniq = np.asarray(uniq_index, dtype=object)
    x = chv[ok]
    order = np.lexsort((x, codes))
    codes, x, w, ids = codes[order], x[order], w_all[ok][order], ids_all[ok][order]
    counts = np.bincount(codes, minlength=len(uniq))
    bounds = np.r_[0, np.cumsum(counts)]
    lo = np.full(len(uniq), np.nan)
    hi = np.full(len(uniq), np.nan)
    if len(x):
        lo = x[bounds[:-1].clip(max=len(x) - 1)]
        hi = x[(bounds[1:] - 1).clip(min=0)]
    for i, r in enumerate(uniq):
        ext = (road_lengths or {}).get(r)
        if ext is None:
            continue
        a, b = (float(ext[0]), float(ext[1])) if isinstance(ext, tuple | list) else (0.0, float(ext))
        lo[i], hi[i] = min(a, lo[i]), max(b, hi[i])
    keep = (counts >= min_n) & (hi > lo)
    if ((hi[keep] - lo[keep]) / step + 1 > MAX_POINTS_PER_ROAD).any():
        worst = uniq[keep][np.argmax((hi - lo)[keep])]
        raise ValueOutOfRange(
            f"Tuyến {worst!r} quá dài cho bước {step:g} m (kiểm tra lý trình) / "
            f"Road {worst!r} spans too far for a {step:g} m step (check its chainages)"
        )
    # the points near a road's ends keep their own simulated densities: points x simulations, bounded
    n_grid = (hi[keep] - lo[keep]) / step + 1
    n_end = np.minimum(n_grid, 2 * (float(cutoff) * h / step + 1))
    if len(n_end) and float(n_end.max()) * int(n_sim) > MAX_END_SAMPLES:
        raise ValueOutOfRange(
            f"Quá nhiều giá trị mô phỏng, hãy giảm số lần mô phỏng, tăng bước hoặc giảm băng thông / "
            f"{int(n_sim)} simulations of {int(n_end.max())} points near a road's ends are too many "
            f"(at most {MAX_END_SAMPLES:,} values): use fewer simulations, a larger step or a smaller bandwidth"
        )
    seeds = np.array([road_seed(seed, r) for r in uniq], dtype=np.int64)
    norm = 1000.0 / (h * np.sqrt(2 * np.pi))
    c = float(cutoff) * h
    sel = np.flatnonzero(keep)
    idx = np.flatnonzero(keep[codes])  # the kept roads' crashes, still by road and chainage
    xs, ws = np.ascontiguousarray(x[idx]), np.ascontiguousarray(w[idx])
    starts = np.r_[0, np.cumsum(counts[sel])].astype(np.int64)
    if len(sel):
        rr, f_m, t_m, s, i0, i1 = kde_roads(
            xs,
            ws,
            starts,
            lo[sel],
            hi[sel],
            seeds[sel],
            step,
            h,
            c,
            norm,
            int(n_sim),
            float(alpha),
            POOLED_POINTS,
            min_n,
        )
        id_sel = ids[idx].tolist()
        table = pd.DataFrame(
            {
                "road": uniq[sel][rr],
                "from_m": f_m,
                "to_m": t_m,
                "n_crashes": (i1 - i0).astype(np.int64),
                "strength": s,
                "crash_ids": [id_sel[a:b] for a, b in zip(i0.tolist(), i1.tolist())],
            }
        )
        result.clusters = table.sort_values(
            ["strength", "n_crashes", "road", "from_m"], ascending=[False, False, True, True], kind="stable"
        ).reset_index(drop=True)
    if profiles:
        parts = []
        for j, r in enumerate(sel):
            a0, a1 = int(starts[j]), int(starts[j + 1])
            f, lev = road_profile(
                xs[a0:a1],
                ws[a0:a1],
                float(lo[r]),
                float(hi[r]),
                int(seeds[r]),
                step,
                h,
                c,
                norm,
                int(n_sim),
                float(alpha),
                POOLED_POINTS,
            )
            parts.append(
                pd.DataFrame(
                    {"road": uniq[r], "chainage_m": lo[r] + np.arange(len(f)) * step, "density": f, "level": lev}
                )
            )
        result.profiles = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=["road", "chainage_m", "density", "level"])
        )
    return result


def kde_density(
    chainages: npt.ArrayLike,
    at: npt.ArrayLike,
    *,
    bandwidth_m: float = DEFAULT_BANDWIDTH_M,
    weights: npt.ArrayLike | None = None,
    cutoff: float = DEFAULT_CUTOFF,
) -> npt.NDArray[np.float64]:
    """The density (crashes per km) at chainages ``at`` of crashes at ``chainages``
    on one road, with the kernel :func:`kde_plus` uses.

    Parameters
    ----------
    chainages
        The crashes' chainages on the road (m).
    at
        The chainages to evaluate the density at (m).
    bandwidth_m
        The Gaussian kernel's bandwidth (m).
    weights
        A weight per crash (default 1 each).
    cutoff
        The kernel is zero beyond ``cutoff`` bandwidths.

    Returns
    -------
    numpy.ndarray
        The density at each of ``at``, in (weighted) crashes per km.

    Examples
    --------
    >>> kde_density([0, 50, 200], [100]).round(4).tolist()
    [8.3601]
    >>> kde_density([0, 50, 200], [100], weights=[2, 1, 1]).round(4).tolist()
    [10.7798]
    >>> kde_density([0], [0, 1000], bandwidth_m=100).round(4).tolist()  # 1000 m is past the cutoff
    [3.9894, 0.0]
    """
    x = np.asarray(chainages, dtype=float)
    s = np.asarray(at, dtype=float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    h = float(bandwidth_m)
    d = s[:, None] - x[None, :]
    k = np.where(np.abs(d) <= cutoff * h, np.exp(-0.5 * (d / h) ** 2), 0.0)
    out: npt.NDArray[np.float64] = (k * w[None, :]).sum(axis=1) * 1000.0 / (h * np.sqrt(2 * np.pi))
    return out
