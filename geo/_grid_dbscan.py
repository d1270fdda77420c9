"""Grid DBSCAN kernel (numba; compiled on first use and cached on disk).

Private to :mod:`geo.cluster`. The points are bucketed into square cells of
side a hair under ``eps / sqrt(2)``, so that any two points of one cell are
within ``eps`` of each other and every neighbour of a point lies in the 5 x 5
block of cells around it:

- the points are sorted by (column, row) with two stable counting-sort passes,
  and the cells are the runs of one row in a column (no hashing);
- the pairs of neighbouring cells are listed once, each pair once, with one
  forward sweep per column;
- neighbour counts: a point counts its whole cell and the points within
  ``eps`` in the neighbouring cells; a pair of cells that both hold
  ``min_samples`` points or more (all core) is skipped;
- the core points of one cell are all connected, so clusters are connected
  components of *cells*: two cells join when one pair of their core points is
  within ``eps`` (union-find, stopping at the first such pair);
- a border point goes to the cluster of its nearest core point, ties to the
  lower index.

Every pass is linear in the points and the cell pairs; it runs in one thread
and releases the GIL, so Streamlit sessions can cluster at the same time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Every kernel here: compiled once and cached on disk, run without the GIL, no bounds checks.
_jit = njit(cache=True, nogil=True, boundscheck=False)


@_jit
def _find(parent: np.ndarray, a: int) -> int:
    """Root of ``a``, halving the path on the way."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@_jit
def _sort_into_cells(x: np.ndarray, y: np.ndarray, cell: float) -> tuple[np.ndarray, ...]:
    """Sort the points by (column, row) of their cell.

    Returns the original index of each sorted point, the sorted coordinates,
    each cell's first sorted point (plus the end), each cell's row, and each
    column's first cell (plus the end).
    """
    n = x.shape[0]
    xmin = x.min()
    ymin = y.min()
    inv = 1.0 / cell
    ncol = np.int64((x.max() - xmin) * inv) + 1
    nrow = np.int64((y.max() - ymin) * inv) + 1
    cnt = np.zeros(nrow + 1, dtype=np.int32)
    col_first = np.zeros(ncol + 1, dtype=np.int32)
    for p in range(n):
        cnt[np.int64((y[p] - ymin) * inv) + 1] += 1
        col_first[np.int64((x[p] - xmin) * inv) + 1] += 1
    for v in range(nrow):
        cnt[v + 1] += cnt[v]
    for v in range(ncol):
        col_first[v + 1] += col_first[v]
    tmp = np.empty(n, dtype=np.int32)
    for p in range(n):
        row = np.int64((y[p] - ymin) * inv)
        tmp[cnt[row]] = p
        cnt[row] += 1
    pos = col_first[:-1].copy()
    order = np.empty(n, dtype=np.int32)
    sx = np.empty(n)
    sy = np.empty(n)
    srow = np.empty(n, dtype=np.int32)
    for j in range(n):
        p = tmp[j]
        xp = x[p]
        yp = y[p]
        col = np.int64((xp - xmin) * inv)
        k = pos[col]
        pos[col] = k + 1
        order[k] = p
        sx[k] = xp
        sy[k] = yp
        srow[k] = np.int32((yp - ymin) * inv)
    # cells: runs of one row within a column
    cell_start = np.empty(n + 1, dtype=np.int32)
    cell_row = np.empty(n, dtype=np.int32)
    ccol_first = np.empty(ncol + 1, dtype=np.int32)
    m = 0
    for cc in range(ncol):
        ccol_first[cc] = m
        for k in range(col_first[cc], col_first[cc + 1]):
            if k == col_first[cc] or srow[k] != srow[k - 1]:
                cell_start[m] = k
                cell_row[m] = srow[k]
                m += 1
    ccol_first[ncol] = m
    cell_start[m] = n
    return order, sx, sy, cell_start[: m + 1], cell_row[:m], ccol_first


@_jit
def _cell_pairs(cell_row: np.ndarray, ccol_first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of cells at most two columns and two rows apart, once each
    (the second cell after the first in sorted order)."""
    ncol = ccol_first.shape[0] - 1
    m = cell_row.shape[0]
    cap = 4 * m + 16
    pa = np.empty(cap, dtype=np.int32)
    pb = np.empty(cap, dtype=np.int32)
    k = 0
    ptr = np.zeros(3, dtype=np.int64)  # sweep position in the columns one and two to the right
    for cc in range(ncol):
        a0 = ccol_first[cc]
        a1 = ccol_first[cc + 1]
        if a0 == a1:
            continue
        for dc in range(1, 3):
            if cc + dc < ncol:
                ptr[dc] = ccol_first[cc + dc]
        for c in range(a0, a1):
            if k + 12 > cap:
                cap *= 2
                na = np.empty(cap, dtype=np.int32)
                nb = np.empty(cap, dtype=np.int32)
                na[:k] = pa[:k]
                nb[:k] = pb[:k]
                pa = na
                pb = nb
            rw = cell_row[c]
            for d in range(c + 1, min(c + 3, a1)):  # same column: rows are distinct and sorted
                if cell_row[d] <= rw + 2:
                    pa[k] = c
                    pb[k] = d
                    k += 1
            for dc in range(1, 3):
                if cc + dc >= ncol:
                    break
                hi = ccol_first[cc + dc + 1]
                d = ptr[dc]
                while d < hi and cell_row[d] < rw - 2:
                    d += 1
                ptr[dc] = d
                while d < hi and cell_row[d] <= rw + 2:
                    pa[k] = c
                    pb[k] = d
                    k += 1
                    d += 1
    return pa[:k], pb[:k]


@_jit
def grid_dbscan(x: np.ndarray, y: np.ndarray, r: float, min_samples: int, cell: float) -> np.ndarray:
    """DBSCAN labels (``-1`` noise), clusters numbered by first core point.

    ``r`` is the neighbourhood radius (a neighbour at exactly ``r`` counts),
    ``cell`` the cell side, below ``r / sqrt(2)`` and above ``r / 2``.
    """
    n = x.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    r2 = r * r
    order, sx, sy, cell_start, cell_row, ccol_first = _sort_into_cells(x, y, cell)
    m = cell_row.shape[0]
    pa, pb = _cell_pairs(cell_row, ccol_first)
    # 1. neighbour counts (a point counts itself and its whole cell)
    dense = np.empty(m, dtype=np.bool_)
    cnt = np.empty(n, dtype=np.int32)
    for c in range(m):
        a = cell_start[c]
        b = cell_start[c + 1]
        dense[c] = b - a >= min_samples
        for p in range(a, b):
            cnt[p] = b - a
    for e in range(pa.shape[0]):
        c = pa[e]
        d = pb[e]
        if dense[c] and dense[d]:
            continue
        for p in range(cell_start[c], cell_start[c + 1]):
            px = sx[p]
            py = sy[p]
            for q in range(cell_start[d], cell_start[d + 1]):
                dx = sx[q] - px
                dy = sy[q] - py
                if dx * dx + dy * dy <= r2:
                    cnt[p] += 1
                    cnt[q] += 1
    core = np.empty(n, dtype=np.bool_)
    cell_core = np.zeros(m, dtype=np.bool_)
    cell_all = np.ones(m, dtype=np.bool_)
    for c in range(m):
        for p in range(cell_start[c], cell_start[c + 1]):
            k = cnt[p] >= min_samples
            core[p] = k
            if k:
                cell_core[c] = True
            else:
                cell_all[c] = False
    # 2. clusters of cells; nearest core of each border point
    parent = np.arange(m).astype(np.int32)
    best = np.full(n, np.inf)
    near = np.full(n, -1, dtype=np.int32)
    for c in range(m):  # a core point of the same cell is always within r
        if cell_core[c] and not cell_all[c]:
            a = cell_start[c]
            b = cell_start[c + 1]
            for p in range(a, b):
                if core[p]:
                    continue
                for q in range(a, b):
                    if core[q]:
                        dx = sx[q] - sx[p]
                        dy = sy[q] - sy[p]
                        dd = dx * dx + dy * dy
                        if dd < best[p] or (dd == best[p] and order[q] < order[near[p]]):
                            best[p] = dd
                            near[p] = q
    for e in range(pa.shape[0]):
        c = pa[e]
        d = pb[e]
        cc = cell_core[c]
        cd = cell_core[d]
        if not cc and not cd:
            continue
        if cc and cd:
            rc = _find(parent, c)
            rd = _find(parent, d)
            if rc != rd:
                joined = False
                for p in range(cell_start[c], cell_start[c + 1]):
                    if not core[p]:
                        continue
                    for q in range(cell_start[d], cell_start[d + 1]):
                        if core[q]:
                            dx = sx[q] - sx[p]
                            dy = sy[q] - sy[p]
                            if dx * dx + dy * dy <= r2:
                                joined = True
                                break
                    if joined:
                        break
                if joined:
                    if rc < rd:
                        parent[rd] = rc
                    else:
                        parent[rc] = rd
        if (cd and not cell_all[c]) or (cc and not cell_all[d]):
            for p in range(cell_start[c], cell_start[c + 1]):
                for q in range(cell_start[d], cell_start[d + 1]):
                    if core[p] == core[q]:
                        continue
                    dx = sx[q] - sx[p]
                    dy = sy[q] - sy[p]
                    dd = dx * dx + dy * dy
                    if dd > r2:
                        continue
                    if core[q]:
                        if dd < best[p] or (dd == best[p] and order[q] < order[near[p]]):
                            best[p] = dd
                            near[p] = q
                    else:
                        if dd < best[q] or (dd == best[q] and order[p] < order[near[q]]):
                            best[q] = dd
                            near[q] = p
    # 3. number clusters by their first core point in the caller's order
    first = np.full(m, n, dtype=np.int64)
    for c in range(m):
        if cell_core[c]:
            root = _find(parent, c)
            for p in range(cell_start[c], cell_start[c + 1]):
                if core[p] and order[p] < first[root]:
                    first[root] = order[p]
    roots = np.flatnonzero(first < n)
    rank = np.argsort(first[roots])
    cluster_of_root = np.full(m, -1, dtype=np.int32)
    for i in range(roots.shape[0]):
        cluster_of_root[roots[rank[i]]] = i
    slabel = np.full(n, -1, dtype=np.int32)
    for c in range(m):
        if cell_core[c]:
            lab = cluster_of_root[_find(parent, c)]
            for p in range(cell_start[c], cell_start[c + 1]):
                if core[p]:
                    slabel[p] = lab
    for p in range(n):
        q = near[p]
        if q >= 0:
            slabel[p] = slabel[q]
    for k in range(n):
        labels[order[k]] = slabel[k]
    return labels
