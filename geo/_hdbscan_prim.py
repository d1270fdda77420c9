"""scikit-learn's HDBSCAN tree, in its own order, without its quadratic search
(numba; compiled on first use and cached on disk). Private to :mod:`geo.cluster`.

Mutual reachability distances tie by construction (``max(core_a, core_b, d)``
is a point's core distance for each of its near neighbours), so the minimum
spanning tree is not unique, and HDBSCAN's labels depend on which tree is kept
and in which order its equal edges are merged: the same scikit-learn tree with
its rows shuffled gives labels that agree with its own to an adjusted Rand
index of only about 0.95 on real crashes. Any other tree, or the same tree in
another order (Borůvka's, as the ``fast_hdbscan`` package gives it), differs
from scikit-learn's by that much.

scikit-learn builds its tree by Prim's algorithm over every pair of points,
from point 0: the next point is the one nearest the tree (ties to the lower
index), and a point keeps the first tree point that reached it at its best
distance (a later one must be strictly nearer). That order needs only the
edges that can be the nearest or tie with it, and those are few:

- the edges of one minimum spanning tree (Borůvka's, :mod:`geo._boruvka`, in
  float64, with the core distances bit for bit as scikit-learn's k-d tree
  gives them);
- the edges that tie with that tree: an edge weighs at least the heaviest
  tree edge on the path between its ends, and only one that weighs exactly
  that can be Prim's choice instead of a tree edge (any heavier one is beaten
  at every step by a tree edge of the same cut). They are found among each
  location's nearest neighbours by :func:`ties_with_tree`;
- identical points (one crash place reported many times) are all at the same
  distance from each other and from every other point: they are handled as
  one *location*, whose members are all reached the first time any member of
  the tree looks at it, each once.

:func:`prim_order` walks those candidate edges with a heap keyed by (weight,
point), which gives Prim's choices exactly as scikit-learn's dense scan
makes them; the edges come out in the same order, so its (unstable) sort by
weight orders the ties the same way, and the labels are scikit-learn's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from geo._grid_dbscan import _find  # union-find's root, halving the path

#: Every kernel here: compiled once and cached on disk, run without the GIL, no bounds checks.
_jit = njit(cache=True, nogil=True, boundscheck=False)


@_jit
def _before(va: float, na: int, vb: float, nb: int) -> bool:
    """Does heap entry (va, na) come before (vb, nb)?"""
    return va < vb or (va == vb and na < nb)


@_jit
def _push(hv: np.ndarray, hn: np.ndarray, size: int, v: float, n: int) -> int:
    i = size
    hv[i] = v
    hn[i] = n
    while i > 0:
        p = (i - 1) >> 1
        if not _before(hv[i], hn[i], hv[p], hn[p]):
            break
        hv[p], hv[i] = hv[i], hv[p]
        hn[p], hn[i] = hn[i], hn[p]
        i = p
    return size + 1


@_jit
def _pop(hv: np.ndarray, hn: np.ndarray, size: int) -> tuple[float, int, int]:
    v = hv[0]
    n = hn[0]
    size -= 1
    hv[0] = hv[size]
    hn[0] = hn[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _before(hv[c + 1], hn[c + 1], hv[c], hn[c]):
            c += 1
        if not _before(hv[c], hn[c], hv[i], hn[i]):
            break
        hv[c], hv[i] = hv[i], hv[c]
        hn[c], hn[i] = hn[i], hn[c]
        i = c
    return v, n, size


@_jit
def prim_order(
    loc: np.ndarray,
    mem_ptr: np.ndarray,
    members: np.ndarray,
    adj_ptr: np.ndarray,
    adj_loc: np.ndarray,
    adj_d: np.ndarray,
    core: np.ndarray,
    heap_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prim's minimum spanning tree of the mutual reachability graph, from
    point 0, in scikit-learn's order.

    Parameters
    ----------
    loc
        Location of each point (identical points share one).
    mem_ptr, members
        The points of each location, in increasing order (CSR).
    adj_ptr, adj_loc, adj_d
        The candidate neighbour locations of each location and their
        distance (CSR, both directions).
    core
        Core distance of each point.
    heap_size
        Room for every push: the points plus, over the adjacency, the
        members of each neighbour location.

    Returns
    -------
    source, point, weight
        The tree's edges in the order Prim's algorithm adds them.
    """
    n = len(loc)
    cur = np.full(n, np.inf)
    src = np.zeros(n, np.int64)
    in_tree = np.zeros(n, np.bool_)
    seen = np.zeros(len(mem_ptr) - 1, np.bool_)
    hv = np.empty(heap_size)
    hn = np.empty(heap_size, np.int64)
    size = 0
    out_a = np.empty(n - 1, np.int64)
    out_b = np.empty(n - 1, np.int64)
    out_w = np.empty(n - 1)
    node = 0
    for step in range(n - 1):
        in_tree[node] = True
        u = loc[node]
        if not seen[u]:
            # every member of u is at the same distance from any point, so the
            # first member the tree takes is the one that reaches them
            seen[u] = True
            cn = core[node]
            for p in range(mem_ptr[u], mem_ptr[u + 1]):
                j = members[p]
                if in_tree[j]:
                    continue
                w = max(cn, core[j])
                if w < cur[j]:
                    cur[j] = w
                    src[j] = node
                    size = _push(hv, hn, size, w, j)
            for e in range(adj_ptr[u], adj_ptr[u + 1]):
                v = adj_loc[e]
                d = adj_d[e]
                for p in range(mem_ptr[v], mem_ptr[v + 1]):
                    j = members[p]
                    if in_tree[j]:
                        continue
                    w = max(max(cn, core[j]), d)
                    if w < cur[j]:
                        cur[j] = w
                        src[j] = node
                        size = _push(hv, hn, size, w, j)
        while True:
            if size == 0:
                raise ValueError("the candidate edges do not connect the points")
            v_, j, size = _pop(hv, hn, size)
            if not in_tree[j] and v_ == cur[j]:
                break
        out_a[step] = src[j]
        out_b[step] = j
        out_w[step] = v_
        node = j
    return out_a, out_b, out_w


@_jit
def eom_labels(parent: np.ndarray, child: np.ndarray, value: np.ndarray, size: np.ndarray, n: int) -> np.ndarray:
    """Labels from scikit-learn's condensed tree, chosen by excess of mass as
    its ``_get_clusters`` chooses them (no single cluster, no size cap, no
    epsilon), in linear time.

    Its rules, kept to the bit: a cluster's stability is the sum over its
    rows, in row order, of ``(lambda - birth) * size`` in float64; clusters
    are visited from the highest number down (children before parents); one
    whose two children's stabilities add up to more than its own gives way to
    them (and takes their sum), otherwise it is chosen and nothing under it
    is. Clusters are numbered in increasing order of their node; a point
    takes the label of its nearest chosen ancestor, noise if there is none.
    """
    labels = np.full(n, -1, np.int64)
    if len(parent) == 0:
        return labels
    root = n  # scikit-learn's condensed tree numbers its root after the points
    top = max(parent.max(), child.max()) + 1
    birth = np.zeros(top)
    up = np.full(top, -1, np.int64)
    for r in range(len(parent)):
        birth[child[r]] = value[r]
        up[child[r]] = parent[r]
    birth[root] = 0.0
    stability = np.zeros(top)
    for r in range(len(parent)):
        stability[parent[r]] += (value[r] - birth[parent[r]]) * size[r]
    # each cluster's child clusters, in row order (CSR)
    last = parent.max()
    rows = np.flatnonzero(size > 1)
    rows = rows[np.argsort(parent[rows], kind="mergesort")]
    ptr = np.searchsorted(parent[rows], np.arange(top + 1))
    kept = np.zeros(top, np.bool_)  # the "otherwise" branch
    for c in range(last, root, -1):
        sub = 0.0
        for q in range(ptr[c], ptr[c + 1]):
            sub += stability[child[rows[q]]]
        if sub > stability[c]:
            stability[c] = sub
        else:
            kept[c] = True
    # chosen: kept, with no kept ancestor (parents are numbered before children)
    chosen = np.zeros(top, np.bool_)
    blocked = np.zeros(top, np.bool_)
    for c in range(root + 1, last + 1):
        p = up[c]
        blocked[c] = blocked[p] or (kept[p] and p != root)
        chosen[c] = kept[c] and not blocked[c]
    number = np.full(top, -1, np.int64)
    k = 0
    for c in range(root + 1, last + 1):
        if chosen[c]:
            number[c] = k
            k += 1
    for c in range(root + 1, last + 1):
        number[c] = number[c] if chosen[c] else number[up[c]]
    for r in range(len(parent)):
        if child[r] < n:
            labels[child[r]] = number[parent[r]]
    return labels


@_jit
def ties_with_tree(
    n: int, ta: np.ndarray, tb: np.ndarray, tw: np.ndarray, pa: np.ndarray, pb: np.ndarray, pw: np.ndarray
) -> np.ndarray:
    """Which pairs (``pa``, ``pb``, weight ``pw``) weigh no more than the
    heaviest edge on the tree's path between their ends.

    Any edge weighs at least that (the tree is a minimum spanning tree), so
    these are the edges that tie with the tree: the only ones Prim's
    algorithm can take instead of a tree edge. Both ends are still apart when
    only the tree edges strictly lighter than the pair are joined (one sweep by
    weight, union-find).
    """
    ot = np.argsort(tw, kind="mergesort")
    op = np.argsort(pw, kind="mergesort")
    parent = np.arange(n)
    keep = np.zeros(len(pa), np.bool_)
    j = 0
    for q in op:
        w = pw[q]
        while j < len(ot) and tw[ot[j]] < w:
            ra, rb = _find(parent, ta[ot[j]]), _find(parent, tb[ot[j]])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
            j += 1
        keep[q] = _find(parent, pa[q]) != _find(parent, pb[q])
    return keep
