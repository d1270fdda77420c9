"""Borůvka's minimum spanning tree of the mutual reachability graph in
float64 (numba; compiled on first use and cached on disk). Private to
:mod:`geo.cluster`.

The ``fast_hdbscan`` package's Borůvka computes in float32: its tree can hold
an edge a hair heavier than the lightest across a cut (0.8 µm on a 111 m edge,
on coordinates rounded to a thousandth of a degree), which is enough to change
which of two near-equal edges HDBSCAN merges first (scikit-learn's labels were
missed at an adjusted Rand index of 0.94 there). This one computes every
distance as scikit-learn does, in float64: its tree weighs what scikit-learn's
weighs, edge for edge (tested).

- The points (one per distinct location; each carries its core distance) are
  sorted along a Morton curve and a bounding-volume tree is laid over the
  sorted order (halves of index ranges, boxes computed bottom up): no
  median searches.
- Each round, every component looks for its lightest edge to another
  component under the strict order (weight, lower end, higher end), so equal
  weights can never close a cycle. A component's points search the tree one
  after the other with the component's best so far as the bound, starting
  from what its points' nearest neighbours already offer; a box is skipped
  when it lies wholly in the searching component, or when
  ``max(core, the box's least core, distance to the box)`` exceeds the bound.
- The lightest edges join components by union-find; the rounds stop when one
  component is left (the graph is complete, so that always happens).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from geo._grid_dbscan import _find  # union-find's root, halving the path

_jit = njit(cache=True, nogil=True, boundscheck=False)
#: The same, its ``prange`` loops spread over the cores.
_pjit = njit(cache=True, nogil=True, boundscheck=False, parallel=True)

#: Points per leaf of the tree.
LEAF = 16


@_jit
def _spread(v: np.ndarray) -> np.ndarray:
    """Interleave the low 21 bits of each value with zeros (Morton order)."""
    v = v & np.uint64(0x1FFFFF)
    v = (v | (v << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v << np.uint64(2))) & np.uint64(0x1249249249249249)
    return v


@_jit
def _build(x: np.ndarray, y: np.ndarray, core: np.ndarray) -> tuple[np.ndarray, ...]:
    """Nodes of the tree over points already in Morton order: index range,
    children (-1 for a leaf), box and least core distance."""
    n = len(x)
    cap = 4 * (n // LEAF + 2)  # leaves hold between LEAF/2 and LEAF points
    lo = np.empty(cap, np.int64)
    hi = np.empty(cap, np.int64)
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    lo[0] = 0
    hi[0] = n
    count = 1
    i = 0
    while i < count:  # breadth first: a node's children come after it
        if hi[i] - lo[i] > LEAF:
            mid = (lo[i] + hi[i]) // 2
            left[i] = count
            lo[count] = lo[i]
            hi[count] = mid
            right[i] = count + 1
            lo[count + 1] = mid
            hi[count + 1] = hi[i]
            count += 2
        i += 1
    x0 = np.empty(count)
    y0 = np.empty(count)
    x1 = np.empty(count)
    y1 = np.empty(count)
    mc = np.empty(count)
    for i in range(count - 1, -1, -1):  # children before parents
        if left[i] < 0:
            x0[i] = x[lo[i] : hi[i]].min()
            x1[i] = x[lo[i] : hi[i]].max()
            y0[i] = y[lo[i] : hi[i]].min()
            y1[i] = y[lo[i] : hi[i]].max()
            mc[i] = core[lo[i] : hi[i]].min()
        else:
            a, b = left[i], right[i]
            x0[i] = min(x0[a], x0[b])
            x1[i] = max(x1[a], x1[b])
            y0[i] = min(y0[a], y0[b])
            y1[i] = max(y1[a], y1[b])
            mc[i] = min(mc[a], mc[b])
    return lo[:count], hi[:count], left[:count], right[:count], x0, y0, x1, y1, mc


@_jit
def _better(w: float, a: int, b: int, bw: float, ba: int, bb: int) -> bool:
    """Is edge (w, a, b) before (bw, ba, bb), ends in increasing order?"""
    return w < bw or (w == bw and (a < ba or (a == ba and b < bb)))


@_jit
def _node_components(
    comp: np.ndarray, lo: np.ndarray, hi: np.ndarray, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """The component all of a node's points belong to, or -1."""
    m = len(lo)
    out = np.empty(m, np.int64)
    for i in range(m - 1, -1, -1):
        if left[i] < 0:
            c = comp[lo[i]]
            for p in range(lo[i] + 1, hi[i]):
                if comp[p] != c:
                    c = -1
                    break
            out[i] = c
        else:
            a, b = out[left[i]], out[right[i]]
            out[i] = a if a == b else -1
    return out


@_pjit
def _round(
    x: np.ndarray,
    y: np.ndarray,
    core: np.ndarray,
    comp: np.ndarray,
    ncomp: int,
    members: np.ndarray,
    mptr: np.ndarray,
    nn: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    mc: np.ndarray,
    ncomp_of: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each component's lightest edge to another: (weight, lower end, higher end)."""
    bw = np.full(ncomp, np.inf)
    ba = np.full(ncomp, -1, np.int64)
    bb = np.full(ncomp, -1, np.int64)
    for c in prange(ncomp):
        w_best = np.inf
        a_best = -1
        b_best = -1
        # what the members' nearest neighbours already offer
        for t in range(mptr[c], mptr[c + 1]):
            p = members[t]
            for j in range(nn.shape[1]):
                q = nn[p, j]
                if q < 0 or comp[q] == c:
                    continue
                dx = x[p] - x[q]
                dy = y[p] - y[q]
                w = max(max(core[p], core[q]), np.sqrt(dx * dx + dy * dy))
                a, b = min(p, q), max(p, q)
                if _better(w, a, b, w_best, a_best, b_best):
                    w_best, a_best, b_best = w, a, b
        stack = np.empty(128, np.int64)
        for t in range(mptr[c], mptr[c + 1]):
            p = members[t]
            px, py, cp = x[p], y[p], core[p]
            if cp > w_best:
                continue
            top = 0
            stack[0] = 0
            top = 1
            while top > 0:
                top -= 1
                node = stack[top]
                if ncomp_of[node] == c:
                    continue
                ddx = max(x0[node] - px, 0.0, px - x1[node])
                ddy = max(y0[node] - py, 0.0, py - y1[node])
                lb = max(max(cp, mc[node]), np.sqrt(ddx * ddx + ddy * ddy))
                if lb > w_best:
                    continue
                if left[node] < 0:
                    for q in range(lo[node], hi[node]):
                        if comp[q] == c:
                            continue
                        dx = px - x[q]
                        dy = py - y[q]
                        w = max(max(cp, core[q]), np.sqrt(dx * dx + dy * dy))
                        if w <= w_best:
                            a, b = min(p, q), max(p, q)
                            if _better(w, a, b, w_best, a_best, b_best):
                                w_best, a_best, b_best = w, a, b
                else:
                    # the nearer child is searched first (pushed last)
                    l_, r_ = left[node], right[node]
                    cl = max(x0[l_] - px, 0.0, px - x1[l_]) ** 2 + max(y0[l_] - py, 0.0, py - y1[l_]) ** 2
                    cr = max(x0[r_] - px, 0.0, px - x1[r_]) ** 2 + max(y0[r_] - py, 0.0, py - y1[r_]) ** 2
                    if top + 2 > len(stack):
                        grown = np.empty(2 * len(stack), np.int64)
                        grown[: len(stack)] = stack
                        stack = grown
                    if cl <= cr:
                        stack[top] = r_
                        stack[top + 1] = l_
                    else:
                        stack[top] = l_
                        stack[top + 1] = r_
                    top += 2
        bw[c] = w_best
        ba[c] = a_best
        bb[c] = b_best
    return bw, ba, bb


@_jit
def _components(parent: np.ndarray) -> tuple[np.ndarray, int]:
    n = len(parent)
    comp = np.full(n, -1, np.int64)
    label = np.full(n, -1, np.int64)
    k = 0
    for p in range(n):
        r = _find(parent, p)
        if label[r] < 0:
            label[r] = k
            k += 1
        comp[p] = label[r]
    return comp, k


@_jit
def _members(comp: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(comp)
    ptr = np.zeros(k + 1, np.int64)
    for p in range(n):
        ptr[comp[p] + 1] += 1
    for c in range(k):
        ptr[c + 1] += ptr[c]
    fill = ptr[:-1].copy()
    out = np.empty(n, np.int64)
    for p in range(n):
        out[fill[comp[p]]] = p
        fill[comp[p]] += 1
    return out, ptr


def boruvka(xy: np.ndarray, core: np.ndarray, near: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum spanning tree of ``max(core_a, core_b, distance)`` over distinct
    points, in float64.

    Parameters
    ----------
    xy
        Distinct coordinates, shape (n, 2).
    core
        Core distance of each point.
    near
        Some nearest neighbours of each point (indices, shape (n, k); -1 for
        none): the first bounds of each round.

    Returns
    -------
    a, b, weight
        The tree's n - 1 edges.
    """
    n = len(xy)
    # Morton order over a 2^21 grid of the box
    lo_xy = xy.min(axis=0)
    span = max(float(np.ptp(xy[:, 0])), float(np.ptp(xy[:, 1])), 1e-300)
    cell = ((xy - lo_xy) / span * (2**21 - 1)).astype(np.uint64)
    order = np.argsort(_spread(cell[:, 0]) | (_spread(cell[:, 1]) << np.uint64(1)), kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    x = np.ascontiguousarray(xy[order, 0])
    y = np.ascontiguousarray(xy[order, 1])
    c = np.ascontiguousarray(core[order])
    nn = np.where(near >= 0, rank[np.maximum(near, 0)], -1)[order]
    tree = _build(x, y, c)
    lo, hi, left, right, x0, y0, x1, y1, mc = tree
    parent = np.arange(n)
    ea, eb, ew = [], [], []
    comp, k = _components(parent)
    while k > 1:
        members, mptr = _members(comp, k)
        ncomp_of = _node_components(comp, lo, hi, left, right)
        bw, ba, bb = _round(x, y, c, comp, k, members, mptr, nn, lo, hi, left, right, x0, y0, x1, y1, mc, ncomp_of)
        a, b, w = _join(parent, ba, bb, bw)
        ea.append(a)
        eb.append(b)
        ew.append(w)
        comp, k = _components(parent)
    if not ea:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return order[np.concatenate(ea)], order[np.concatenate(eb)], np.concatenate(ew)


@_jit
def _join(
    parent: np.ndarray, ba: np.ndarray, bb: np.ndarray, bw: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add each component's lightest edge by union-find (an edge two
    components both chose, once)."""
    out_a = np.empty(len(ba), np.int64)
    out_b = np.empty(len(ba), np.int64)
    out_w = np.empty(len(ba))
    m = 0
    for i in np.argsort(bw, kind="mergesort"):
        ra, rb = _find(parent, ba[i]), _find(parent, bb[i])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
            out_a[m] = ba[i]
            out_b[m] = bb[i]
            out_w[m] = bw[i]
            m += 1
    return out_a[:m], out_b[:m], out_w[:m]
