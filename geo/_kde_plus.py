"""KDE+ kernels along one road (numba; compiled on first use and cached on disk).

Private to :mod:`geo.kde`, which documents the method. Positions are
chainages in metres; the grid of one road is ``a + k * step`` for
``k = 0 .. m - 1``. The kernel is Gaussian, truncated at ``c`` metres
(``c = cutoff * h``) and scaled by ``norm`` (crashes per km).

The significance level of a grid point is estimated from ``n_sim`` uniform
redistributions of the road's crashes over ``[a, b]``:

- a point whose kernel window ``[s - c, s + c]`` lies inside the road
  (interior) has the same distribution of density as every other interior
  point, so one level serves them all, taken from the simulated densities at
  up to ``max_pool`` interior probes spaced about ``h`` apart (pooled);
- a point within ``c`` of an end (border) has its kernel window cut by the
  end, and its own level from its own ``n_sim`` simulated densities.

The level is the empirical ``1 - alpha`` quantile: the smallest simulated
value that at most a fraction ``alpha`` of the simulated values exceed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Every kernel here: compiled once and cached on disk, run without the GIL, no bounds checks.
_jit = njit(cache=True, nogil=True, boundscheck=False)


@_jit
def _density(
    x: np.ndarray, w: np.ndarray, a: float, m: int, step: float, h: float, c: float, norm: float
) -> np.ndarray:
    """Kernel density at the ``m`` grid points of crashes at ``x`` with weights ``w``."""
    f = np.zeros(m)
    inv2 = 0.5 / (h * h)
    for i in range(x.shape[0]):
        xi = x[i]
        k0 = max(0, int(np.ceil((xi - a - c) / step)))
        k1 = min(m - 1, int(np.floor((xi - a + c) / step)))
        for k in range(k0, k1 + 1):
            d = a + k * step - xi
            if abs(d) <= c:
                f[k] += w[i] * norm * np.exp(-d * d * inv2)
    return f


@_jit
def _quantile(v: np.ndarray, alpha: float) -> float:
    """The smallest value of ``v`` that at most a fraction ``alpha`` of ``v`` exceed."""
    n = v.shape[0]
    j = int(np.ceil((1.0 - alpha) * n - 1e-9)) - 1
    j = min(max(j, 0), n - 1)
    return float(np.partition(v, j)[j])


@_jit
def road_profile(
    x: np.ndarray,
    w: np.ndarray,
    a: float,
    b: float,
    seed: int,
    step: float,
    h: float,
    c: float,
    norm: float,
    n_sim: int,
    alpha: float,
    max_pool: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Density and significance level at each grid point of one road."""
    length = b - a
    m = int(length / step + 1e-9) + 1
    f = _density(x, w, a, m, step, h, c, norm)
    # border points: the kernel window is cut by an end; interior points form one run [kl, kr)
    border = np.zeros(m, dtype=np.bool_)
    kl = m
    kr = m
    for k in range(m):
        s = k * step
        if s < c or length - s < c:
            border[k] = True
        elif kl == m:
            kl = k
    if kl < m:
        kr = kl
        while kr < m and not border[kr]:
            kr += 1
    n_border = 0
    for k in range(m):
        if border[k]:
            n_border += 1
    n_int = kr - kl
    q = max(1, int(np.ceil(h / step)))
    n_pool = min(max_pool, (n_int + q - 1) // q) if n_int > 0 else 0
    n_probe = n_border + n_pool
    probe_k = np.empty(n_probe, dtype=np.int64)
    slot = np.empty(n_probe, dtype=np.int64)  # border: its row in bsamp; interior: -1 - its column
    p = 0
    bi = 0
    for k in range(kl if kl < m else m):
        probe_k[p] = k
        slot[p] = bi
        bi += 1
        p += 1
    for j in range(n_pool):
        probe_k[p] = kl + (j * n_int) // n_pool
        slot[p] = -1 - j
        p += 1
    for k in range(kr if kl < m else m, m):
        probe_k[p] = k
        slot[p] = bi
        bi += 1
        p += 1
    bsamp = np.empty((n_border, n_sim))
    pool = np.empty(n_sim * n_pool)
    inv2 = 0.5 / (h * h)
    vals = np.empty(n_probe)
    np.random.seed(seed)
    n = x.shape[0]
    for sim in range(n_sim):
        vals[:] = 0.0
        for i in range(n):
            u = a + np.random.random() * length
            k0 = int(np.ceil((u - a - c) / step))
            k1 = int(np.floor((u - a + c) / step))
            pp = int(np.searchsorted(probe_k, k0))
            while pp < n_probe and probe_k[pp] <= k1:
                d = a + probe_k[pp] * step - u
                if abs(d) <= c:
                    vals[pp] += w[i] * norm * np.exp(-d * d * inv2)
                pp += 1
        for pp in range(n_probe):
            s_ = slot[pp]
            if s_ >= 0:
                bsamp[s_, sim] = vals[pp]
            else:
                pool[sim * n_pool + (-1 - s_)] = vals[pp]
    thr = np.empty(m)
    level = _quantile(pool, alpha) if n_pool > 0 else 0.0
    bi = 0
    for k in range(m):
        if border[k]:
            thr[k] = _quantile(bsamp[bi].copy(), alpha)
            bi += 1
        else:
            thr[k] = level
    return f, thr


@_jit
def kde_roads(
    x: np.ndarray,
    w: np.ndarray,
    starts: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    seeds: np.ndarray,
    step: float,
    h: float,
    c: float,
    norm: float,
    n_sim: int,
    alpha: float,
    max_pool: int,
    min_crashes: int,
) -> tuple[np.ndarray, ...]:
    """Significant clusters of every road.

    ``x`` (sorted within each road) and ``w`` hold the roads' crashes one road
    after another, road ``r`` in ``starts[r]:starts[r + 1]`` over the extent
    ``[lo[r], hi[r]]``. Returns, per cluster: road number, from_m, to_m,
    strength, and its crashes as ``[first, end)`` positions in ``x``.
    """
    n_all = x.shape[0]
    c_road = np.empty(n_all, dtype=np.int64)
    c_from = np.empty(n_all)
    c_to = np.empty(n_all)
    c_str = np.empty(n_all)
    c_i0 = np.empty(n_all, dtype=np.int64)
    c_i1 = np.empty(n_all, dtype=np.int64)
    nc = 0
    for r in range(starts.shape[0] - 1):
        i0 = starts[r]
        i1 = starts[r + 1]
        xr = x[i0:i1]
        a = lo[r]
        b = hi[r]
        f, thr = road_profile(xr, w[i0:i1], a, b, seeds[r], step, h, c, norm, n_sim, alpha, max_pool)
        m = f.shape[0]
        k = 0
        while k < m:
            if not f[k] > thr[k]:
                k += 1
                continue
            k0 = k
            i_f = 0.0
            i_t = 0.0
            while k < m and f[k] > thr[k]:
                i_f += f[k]
                i_t += thr[k]
                k += 1
            k1 = k - 1
            left = a if k0 == 0 else max(a, a + k0 * step - 0.5 * step)
            right = b if k1 == m - 1 else min(b, a + k1 * step + 0.5 * step)
            j0 = np.searchsorted(xr, left, side="left")
            j1 = np.searchsorted(xr, right, side="right")
            if j1 - j0 >= min_crashes and j1 > j0:
                c_road[nc] = r
                c_from[nc] = left
                c_to[nc] = right
                c_str[nc] = (i_f - i_t) / i_f
                c_i0[nc] = i0 + j0
                c_i1[nc] = i0 + j1
                nc += 1
    return c_road[:nc], c_from[:nc], c_to[:nc], c_str[:nc], c_i0[:nc], c_i1[:nc]
