"""Density clustering of crashes in metres (never degrees): DBSCAN, with
HDBSCAN as an option.

:func:`dbscan` gives the DBSCAN partition of core points (the same as
scikit-learn's ``DBSCAN`` and PostGIS ``ST_ClusterDBSCAN`` with the same ``eps``
and ``min_samples``, a point counting itself). A border point, which DBSCAN may
give to any cluster that reaches it, goes to the cluster of its nearest core
point. It runs on a grid of cells of side eps/√2 (:mod:`geo._grid_dbscan`,
compiled with numba): a cell's points are all within eps of each other, so a
full cell is core with no distance computed and clusters are components of
cells. A tiny eps over a wide area falls back to k-d tree neighbour pairs and
connected components of the core graph (:func:`neighbour_pairs`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo import crs as _crs


def dbscan(x: npt.ArrayLike, y: npt.ArrayLike, *, eps: float, min_samples: int) -> npt.NDArray[np.int64]:
    """DBSCAN labels (``-1`` for noise) of points in metres.

    Parameters
    ----------
    x, y
        Coordinates in a projected CRS, in metres.
    eps
        Neighbourhood radius in metres (a neighbour at exactly ``eps`` counts).
    min_samples
        Points within ``eps``, the point itself included, that make a core point.

    Returns
    -------
    numpy.ndarray
        Cluster label per point, numbered 0, 1, ... in order of each cluster's
        first core point.

    Raises
    ------
    ValueError
        If ``eps`` is not positive, ``min_samples`` is below 1, or a
        coordinate is missing or infinite.

    >>> dbscan([0, 50, 100, 1000, 5000, 5010], [0, 0, 0, 0, 0, 0], eps=60, min_samples=2).tolist()
    [0, 0, 0, -1, 1, 1]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-D arrays of the same length")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    if int(min_samples) < 1:
        raise ValueError(f"min_samples must be at least 1, got {min_samples!r}")
    if len(x) == 0:
        return np.empty(0, dtype=np.int64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("coordinates must be finite numbers (drop rows without a location first)")
    r = eps * (1 + 1e-12)
    cell = cell_side(eps)
    span = max(np.ptp(x), np.ptp(y))
    if span / cell > GRID_MAX_CELLS_PER_AXIS:
        return _dbscan_pairs(x, y, r=r, min_samples=int(min_samples))
    from geo._grid_dbscan import grid_dbscan

    labels: npt.NDArray[np.int64] = grid_dbscan(x, y, r, int(min_samples), cell)
    return labels


def cell_side(eps: float) -> float:
    """Side of the grid's cells: a hair under eps/√2, so any two points of one
    cell are within ``eps`` whatever the rounding."""
    return float(eps / np.sqrt(2) * (1 - 1e-9))


#: Above this many cells along an axis (a tiny ``eps`` over a wide area), the
#: grid's column and row tables would outgrow the points: use k-d tree pairs.
GRID_MAX_CELLS_PER_AXIS = 5_000_000


def _dbscan_pairs(x: np.ndarray, y: np.ndarray, *, r: float, min_samples: int) -> np.ndarray:
    """DBSCAN from k-d tree neighbour pairs and connected components of the
    core graph: the same labels as the grid, used when the grid would be too
    large."""
    pts = np.column_stack([x, y])
    n = len(pts)
    pairs = neighbour_pairs(pts, r)
    i, j = pairs[:, 0], pairs[:, 1]
    counts = np.bincount(i, minlength=n) + np.bincount(j, minlength=n) + 1
    core = counts >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    if not core.any():
        return labels
    cc = core[i] & core[j]
    core_idx = np.flatnonzero(core)
    m = len(core_idx)
    pos = np.full(n, -1, dtype=np.int32)  # 32-bit node numbers: less memory to move
    pos[core_idx] = np.arange(m, dtype=np.int32)
    rows, cols = pos[i[cc]], pos[j[cc]]
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(m, m))
    # weak components of the one-way edge list = components of the undirected core graph,
    # numbered in order of their first core point
    _, comp = connected_components(graph, directed=True, connection="weak")
    labels[core_idx] = comp
    # border points: nearest core neighbour within r, ties to the lower index
    b1 = core[i] & ~core[j]  # j is border, i core
    b2 = core[j] & ~core[i]
    border = np.concatenate([j[b1], i[b2]])
    if len(border):
        via = np.concatenate([i[b1], j[b2]])
        dx, dy = (pts[border] - pts[via]).T
        d = dx * dx + dy * dy
        o = np.lexsort((via, d, border))
        first = np.r_[True, border[o][1:] != border[o][:-1]]
        labels[border[o][first]] = labels[via[o][first]]
    return labels


def _tree_pairs(pts: np.ndarray, r: float) -> np.ndarray:
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    pairs: np.ndarray = tree.query_pairs(r, output_type="ndarray")
    return pairs


def neighbour_pairs(
    pts: np.ndarray, r: float, *, workers: int | None = None, min_parallel: int = 200_000
) -> np.ndarray:
    """All pairs (i < j) of points within ``r`` of each other.

    Large inputs are cut into vertical strips, one k-d tree per strip and
    thread (the trees release the GIL). Each strip also holds the points up to
    ``r`` to its right and keeps the pairs with at least one point of its own,
    so every pair is found exactly once.

    >>> p = np.array([[0.0, 0], [1, 0], [5, 0], [5.5, 0]])
    >>> sorted(sorted(pair) for pair in neighbour_pairs(p, 1.0, workers=2, min_parallel=0).tolist())
    [[0, 1], [2, 3]]
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    n = len(pts)
    workers = workers or os.cpu_count() or 1
    if workers < 2 or n < min_parallel:
        pairs = _tree_pairs(pts, r)
    else:
        x = pts[:, 0]
        cuts = np.quantile(x, np.linspace(0, 1, workers + 1)[1:-1])
        edges = np.r_[-np.inf, cuts, np.inf]

        def strip(k: int) -> np.ndarray:
            lo, hi = edges[k], edges[k + 1]
            idx = np.flatnonzero((x >= lo) & (x < hi + r))
            own = x[idx] < hi
            pr = _tree_pairs(pts[idx], r)
            pr = pr[own[pr[:, 0]] | own[pr[:, 1]]]
            out: np.ndarray = idx[pr]
            return out

        with ThreadPoolExecutor(workers) as ex:
            parts = list(ex.map(strip, range(workers)))
        pairs = np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.intp)
    return pairs


def same_partition(a: npt.ArrayLike, b: npt.ArrayLike) -> bool:
    """Do two labelings group the points the same way (whatever the numbers)?

    >>> same_partition([0, 0, 1, 2], [5, 5, 3, 9]), same_partition([0, 0, 1], [1, 2, 2])
    (True, False)
    """
    p = pd.DataFrame({"a": np.asarray(a), "b": np.asarray(b)}).drop_duplicates()
    return bool(p["a"].is_unique and p["b"].is_unique)


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Number clusters 0..k-1 by their first point, keeping -1."""
    out = labels.copy()
    ok = labels >= 0
    if not ok.any():
        return out
    uniq, first = np.unique(labels[ok], return_index=True)
    order = np.argsort(first)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    out[ok] = rank[np.searchsorted(uniq, labels[ok])]
    return out


def hdbscan(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    min_cluster_size: int = 5,
    min_samples: int | None = None,
    exact: bool = False,
) -> np.ndarray:
    """HDBSCAN labels of points in metres, ``-1`` for noise.

    The minimum spanning tree of the mutual reachability distances is built
    by Borůvka's algorithm on a k-d tree, compiled with numba (the
    ``fast_hdbscan`` package, by HDBSCAN's own authors): 11–13× faster than
    scikit-learn's Prim's algorithm at 100 000 crashes, 1 000 000 in under a
    minute on two cores. Mutual reachability distances tie by construction
    (``max(core_a, core_b, d)`` is a point's core distance for many of its
    neighbours), so the tree is not unique and the two algorithms break ties
    differently: on 10 000 real crashes their labels agree to an adjusted Rand
    index of about 0.95 (scikit-learn's own two tree searches agree to 0.997).
    ``exact=True`` runs scikit-learn's HDBSCAN itself (Prim's order).

    Parameters
    ----------
    x, y
        Coordinates in metres.
    min_cluster_size
        The smallest cluster.
    min_samples
        Neighbours of a core point, the point itself counted (as
        scikit-learn counts it; ``fast_hdbscan`` does not count the point, so
        it is given one less). Default ``min_cluster_size``.
    exact
        scikit-learn's labels (Prim's algorithm) instead of Borůvka's.

    Returns
    -------
    numpy.ndarray of int64
        Cluster label per point, numbered in order of first appearance.

    Examples
    --------
    Two groups of six points 1 km apart and one point far away:

    >>> gx = np.r_[np.arange(6.0), 1000 + np.arange(6.0), 5000.0]
    >>> hdbscan(gx, np.zeros(13), min_cluster_size=5).tolist()
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, -1]
    >>> hdbscan(gx, np.zeros(13), min_cluster_size=5, exact=True).tolist()
    [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, -1]
    """
    import warnings

    pts = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    if len(pts) < max(2, min_cluster_size):
        return np.full(len(pts), -1, dtype=np.int64)
    samples = int(min_samples if min_samples is not None else min_cluster_size)
    with warnings.catch_warnings():  # the packages' own deprecation notices are not the user's
        warnings.simplefilter("ignore")
        if exact:
            from sklearn.cluster import HDBSCAN

            labels = HDBSCAN(min_cluster_size=int(min_cluster_size), min_samples=samples, copy=True).fit_predict(pts)
        else:
            import fast_hdbscan

            labels = fast_hdbscan.HDBSCAN(
                min_cluster_size=int(min_cluster_size), min_samples=max(1, samples - 1)
            ).fit_predict(pts)
    return _renumber(np.asarray(labels, dtype=np.int64))


def cluster_crashes(
    crashes: pd.DataFrame,
    *,
    eps: float = 100.0,
    min_samples: int = 3,
    method: str = "dbscan",
    epdo_weights: dict[str, float] | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Cluster crashes given in lon/lat and summarise each cluster.

    Parameters
    ----------
    crashes
        Columns ``lon``, ``lat``, ``deaths``, ``injured``; optional
        ``crash_id``, ``occurred_at``.
    eps, min_samples
        DBSCAN parameters (metres, points); for HDBSCAN ``min_samples`` is the
        minimum cluster size.
    method
        ``dbscan`` or ``hdbscan``.

    Returns
    -------
    labels : pandas.Series
        Cluster label per crash (index of ``crashes``), -1 for noise.
    clusters : pandas.DataFrame
        One row per cluster: cluster, n_crashes, deaths, injured, fatal_crashes,
        epdo, lon, lat (centroid), radius_m, first, last.
    """
    from geo.ranking import epdo as _epdo

    ok = crashes["lon"].notna().to_numpy() & crashes["lat"].notna().to_numpy()
    labels = pd.Series(-1, index=crashes.index, dtype=np.int64)
    cols = [
        "cluster",
        "n_crashes",
        "deaths",
        "injured",
        "fatal_crashes",
        "epdo",
        "lon",
        "lat",
        "radius_m",
        "first",
        "last",
    ]
    if ok.sum() == 0:
        return labels, pd.DataFrame(columns=cols)
    sub = crashes.loc[ok]
    x, y, metric = _crs.to_metric(sub["lon"].to_numpy(), sub["lat"].to_numpy())
    if method == "hdbscan":
        lab = hdbscan(x, y, min_cluster_size=max(2, min_samples))
    else:
        lab = dbscan(x, y, eps=eps, min_samples=min_samples)
    labels.loc[ok] = lab
    inc = lab >= 0
    if not inc.any():
        return labels, pd.DataFrame(columns=cols)
    d = pd.DataFrame(
        {
            "cluster": lab[inc],
            "x": x[inc],
            "y": y[inc],
            "deaths": sub["deaths"].to_numpy()[inc],
            "injured": sub["injured"].to_numpy()[inc],
        }
    )
    d["fatal"] = (d["deaths"] > 0).astype(int)
    d["epdo"] = _epdo(d["deaths"], d["injured"], weights=epdo_weights)
    if "occurred_at" in sub:
        d["t"] = pd.to_datetime(sub["occurred_at"]).to_numpy()[inc]
    g = d.groupby("cluster")
    out = pd.DataFrame(
        {
            "n_crashes": g.size(),
            "deaths": g["deaths"].sum(),
            "injured": g["injured"].sum(),
            "fatal_crashes": g["fatal"].sum(),
            "epdo": g["epdo"].sum(),
            "cx": g["x"].mean(),
            "cy": g["y"].mean(),
        }
    )
    d = d.join(out[["cx", "cy"]], on="cluster")
    out["radius_m"] = pd.Series(np.hypot(d["x"] - d["cx"], d["y"] - d["cy"]), index=d.index).groupby(d["cluster"]).max()
    lon, lat = _crs.transform(out["cx"].to_numpy(), out["cy"].to_numpy(), metric.to_wkt(), _crs.WGS84)
    out["lon"], out["lat"] = lon, lat
    if "t" in d:
        out["first"] = g["t"].min()
        out["last"] = g["t"].max()
    else:
        out["first"] = pd.NaT
        out["last"] = pd.NaT
    out = out.reset_index()
    return labels, out[cols].sort_values(["epdo", "n_crashes"], ascending=False).reset_index(drop=True)
