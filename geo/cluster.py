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
from geo._arrays import distinct


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
    """HDBSCAN labels of points in metres, ``-1`` for noise: scikit-learn's.

    Mutual reachability distances tie by construction, so HDBSCAN's labels
    depend on which of the equal minimum spanning trees is kept and on the
    order its equal edges are merged (:mod:`geo._hdbscan_prim`). This builds
    scikit-learn's own tree in its own order (Prim's algorithm from point 0)
    without its search over every pair of points: an exact minimum spanning
    tree by Borůvka's algorithm in float64 (:mod:`geo._boruvka`, numba) and
    each location's nearest neighbours give the few edges Prim's algorithm can
    take, and a heap walks them as scikit-learn's scan does. scikit-learn's
    own compiled single linkage and condensed tree read the edges sorted as it
    sorts them, and its excess of mass choice (Python, quadratic in the
    clusters) is made in linear time (:func:`geo._hdbscan_prim.eom_labels`).
    Core distances are counted per distinct place (a place reported 100 000
    times is one point of the search, not 100 000 it cannot tell apart). The
    labels are scikit-learn's on real crash positions, repeated places and
    positions rounded to 0.001° included (tested, and 2 800 random real
    subsets by a probe). An edge that ties with the tree is looked for among
    each place's ``min_samples`` + 8 nearest others: where exactly equal
    lengths join distant places (coordinates on a whole-metre grid, which
    projected longitudes and latitudes are not), a tie can still be broken
    otherwise. See BENCHMARKS.md for speed.

    Raises
    ------
    ValueError
        Coordinates not 1-D of one length, not finite, or beyond ±1e9 m.
    errors.ValueOutOfRange
        ``min_cluster_size`` not a whole number from 2, ``min_samples`` not
        one from 1 (also a ``ValueError``).

    Parameters
    ----------
    x, y
        Coordinates in metres.
    min_cluster_size
        The smallest cluster.
    min_samples
        Neighbours of a core point, the point itself counted (as
        scikit-learn counts it). Default ``min_cluster_size``.
    exact
        Run scikit-learn's HDBSCAN itself (its quadratic search; for checks).

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

    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.ndim != 1 or xa.shape != ya.shape:
        raise ValueError("x and y must be 1-D arrays of the same length")
    pts = np.column_stack([xa, ya])
    if not np.isfinite(pts).all():
        raise ValueError("coordinates must be finite numbers (drop rows without a location first)")
    if len(pts) and np.abs(pts).max() > MAX_METRES:
        raise ValueError(f"coordinates in metres must be within ±{MAX_METRES:.0e} (projected, not degrees)")
    min_cluster_size = _whole(min_cluster_size, at_least=2, what=("Cụm nhỏ nhất", "The smallest cluster"))
    samples = _whole(
        min_samples if min_samples is not None else min_cluster_size,
        at_least=1,
        what=("Số điểm lân cận", "min_samples"),
    )
    if len(pts) < max(min_cluster_size, samples):
        return np.full(len(pts), -1, dtype=np.int64)
    with warnings.catch_warnings():  # the packages' own deprecation notices are not the user's
        warnings.simplefilter("ignore")
        if exact:
            from sklearn.cluster import HDBSCAN

            labels = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=samples, copy=True).fit_predict(pts)
        else:
            labels = _labels_from_tree(*_prims_tree(pts, samples), min_cluster_size=min_cluster_size)
    return _renumber(np.asarray(labels, dtype=np.int64))


#: Locations looked at around each one, beyond ``min_samples``, for the edges
#: that tie with the tree (:func:`_prims_tree`).
REACH_NEIGHBOURS = 8
#: Projected coordinates beyond this (metres) are not on Earth: refused (their
#: squares would overflow long before the search could rank them).
MAX_METRES = 1e9


def _whole(value: object, *, at_least: int, what: tuple[str, str]) -> int:
    """A whole number of at least ``at_least`` (a count given as 5.0 is 5),
    else :class:`errors.ValueOutOfRange`."""
    from errors import ValueOutOfRange

    number = isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, (bool, np.bool_))
    as_float = float(value) if number else float("nan")  # type: ignore[arg-type]
    if not (as_float == int(as_float) if np.isfinite(as_float) else False) or as_float < at_least:
        raise ValueOutOfRange(
            f"{what[0]} phải là số nguyên từ {at_least} / {what[1]} must be a whole number from {at_least}: {value!r}"
        )
    return int(as_float)


def _prims_tree(pts: np.ndarray, samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's minimum spanning tree of the mutual reachability graph,
    edges in its order (:mod:`geo._hdbscan_prim`)."""
    from sklearn.neighbors import NearestNeighbors

    from geo._boruvka import boruvka
    from geo._hdbscan_prim import prim_order, ties_with_tree

    n = len(pts)
    # identical points share a location (and a core distance); locations are numbered in sorted order
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    sp = pts[order]
    new = np.r_[True, (sp[1:] != sp[:-1]).any(axis=1)]
    loc = np.empty(n, dtype=np.int64)
    loc[order] = np.cumsum(new) - 1
    xy = sp[new]
    nloc = len(xy)
    members = np.argsort(loc, kind="stable")
    mem_ptr = np.searchsorted(loc[members], np.arange(nloc + 1))
    # core distances as scikit-learn computes them, bit for bit (its k-d tree, the point itself
    # counted), from the distinct locations and how many crashes each holds: a place reported
    # thousands of times is one point of the tree, not thousands it cannot tell apart
    sizes = np.diff(mem_ptr)
    kq = min(samples, nloc)
    dist, ind = NearestNeighbors(n_neighbors=kq, algorithm="kd_tree", n_jobs=-1).fit(xy).kneighbors(xy)
    reached = np.cumsum(sizes[ind], axis=1) >= samples  # the k-th crash, counting each place's crashes
    core_at = np.ascontiguousarray(dist[np.arange(nloc), reached.argmax(axis=1)])
    del dist, ind, reached
    core = core_at[loc]
    # each location's nearest others, then the exact (float64) minimum spanning tree between locations
    k = min(nloc, samples + REACH_NEIGHBOURS)
    nn = cKDTree(xy).query(xy, k=list(range(1, k + 1)), workers=-1)[1]  # (k as a list: always 2-D)
    nn[(np.arange(nloc)[:, None] == nn) | (nn >= nloc)] = -1  # itself, or none found
    ta, tb, tw = boruvka(xy, core_at, nn)
    # candidate edges, both ways, once: the tree, and each location's near
    # neighbours whose edge ties with the tree (weighs what the heaviest tree
    # edge between them weighs: the only edges Prim's order can take instead,
    # abundant where coordinates are rounded)
    pa = np.repeat(np.arange(nloc), k)[(nn >= 0).ravel()]
    pb = nn[nn >= 0]
    del nn
    pair = distinct(np.minimum(pa, pb) * nloc + np.maximum(pa, pb))  # each pair once
    pa, pb = pair // nloc, pair % nloc
    del pair
    pw = np.maximum(np.maximum(core_at[pa], core_at[pb]), _lengths(xy, pa, pb))
    tie = ties_with_tree(nloc, ta, tb, tw, pa, pb, pw)
    a, b = np.r_[ta, pa[tie]], np.r_[tb, pb[tie]]
    del pa, pb, pw, tie
    pair = distinct(np.r_[a * nloc + b, b * nloc + a])  # each pair both ways, as one number
    a, b = pair // nloc, pair % nloc
    del pair
    d = _lengths(xy, a, b)
    adj_ptr = np.searchsorted(a, np.arange(nloc + 1))
    heap = int(n + sizes[b].sum() + 1)
    return prim_order(loc, mem_ptr, members, adj_ptr, b, d, core, heap)


def _lengths(xy: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The distances between points ``a`` and ``b`` of ``xy``, rounded as
    scikit-learn's Euclidean distance rounds them (the sum of the squares in
    this order, then the root): ties must tie to the last bit."""
    dx = xy[a, 0] - xy[b, 0]
    dy = xy[a, 1] - xy[b, 1]
    out: np.ndarray = np.sqrt(dx * dx + dy * dy)
    return out


def _labels_from_tree(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, *, min_cluster_size: int) -> np.ndarray:
    """Labels from Prim's edges as scikit-learn reads them: the edges sorted
    by weight as it sorts them (its unstable sort orders the ties), its own
    single linkage and condensed tree (compiled, linear), then its excess of
    mass choice, which it makes in Python in time quadratic in the clusters
    (~20 s at a million crashes), made here in linear time
    (:func:`geo._hdbscan_prim.eom_labels`)."""
    from sklearn.cluster._hdbscan._linkage import MST_edge_dtype, make_single_linkage
    from sklearn.cluster._hdbscan._tree import _condense_tree

    from geo._hdbscan_prim import eom_labels

    mst = np.empty(len(src), dtype=MST_edge_dtype)
    mst["current_node"] = src
    mst["next_node"] = dst
    mst["distance"] = weight
    mst = mst[np.argsort(mst["distance"])]
    condensed = _condense_tree(make_single_linkage(mst), min_cluster_size)
    labels: np.ndarray = eom_labels(
        condensed["parent"].copy(),
        condensed["child"].copy(),
        condensed["value"].copy(),
        condensed["cluster_size"].copy(),
        len(src) + 1,
    )
    return labels


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
    from errors import ValueOutOfRange

    min_samples = _whole(min_samples, at_least=1, what=("Số điểm tối thiểu", "min_samples"))
    # any real number of metres (a NumPy one too, as a table's column gives it), never a yes/no
    real = isinstance(eps, (int, float, np.integer, np.floating)) and not isinstance(eps, (bool, np.bool_))
    if method == "dbscan" and not (real and np.isfinite(eps) and eps > 0):
        raise ValueOutOfRange(f"Bán kính eps phải là số mét dương / eps must be a positive number of metres: {eps!r}")
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
