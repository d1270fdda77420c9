"""The screen's compiled kernels (issue 18.1): every (space anchor, crash in its
reach) pair with each anchor's pairs sorted by date and each pair's window
counted, and where each crash falls among the black spots' stretches.

:func:`geo.screening._windows` enumerated the pairs with NumPy (a repeat, an
offset array and a gather) and sorted them by (anchor, date) with one stable
argsort of every pair, then counted each window from cumulative sums: about
0.35 s and ~100 bytes per pair, the largest part of a screen of a million
crashes. An anchor's pairs are few (its crashes within one window's length), so
sorting each group on its own, in one pass that also finds where each pair's 12
months end and counts its window, gives the same values in a fraction of the
time, in ~36 bytes a pair. The kernel holds no GIL, so the screen's parts can
run side by side on threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_jit = njit(cache=True, nogil=True, boundscheck=False)

#: Groups up to this size are sorted by insertion (stable, no allocation); larger ones by merge sort.
_INSERTION_MAX = 24


@_jit
def _pairs_by_day(
    order: np.ndarray,
    counts: np.ndarray,
    start_day: np.ndarray,
    end_day: np.ndarray,
    fatal: np.ndarray,
    injury_only: np.ndarray,
) -> tuple[np.ndarray, ...]:  # pragma: no cover  (compiled; tested through the screen)
    n = len(counts)
    total = 0
    widest = 0
    for i in range(n):
        total += counts[i]
        widest = max(widest, counts[i])
    member = np.empty(total, np.int32)
    anchor = np.empty(total, np.int32)
    t_end = np.empty(total, np.int64)
    w_fatal = np.empty(total, np.int32)
    w_injury = np.empty(total, np.int32)
    w_collisions = np.empty(total, np.int32)
    cum_f = np.zeros(widest + 1, np.int64)  # running counts over one group
    cum_i = np.zeros(widest + 1, np.int64)
    p = 0
    for i in range(n):
        c = counts[i]
        for k in range(c):
            member[p + k] = order[i + k]
            anchor[p + k] = i
        if c <= _INSERTION_MAX:
            for k in range(p + 1, p + c):  # stable: a crash moves only past later dates
                m = member[k]
                d = start_day[m]
                j = k - 1
                while j >= p and start_day[member[j]] > d:
                    member[j + 1] = member[j]
                    j -= 1
                member[j + 1] = m
        else:
            days = np.empty(c, np.int64)
            for k in range(c):
                days[k] = start_day[member[p + k]]
            o = np.argsort(days, kind="mergesort")
            seg = member[p : p + c].copy()
            for k in range(c):
                member[p + k] = seg[o[k]]
        for k in range(c):
            cum_f[k + 1] = cum_f[k] + fatal[member[p + k]]
            cum_i[k + 1] = cum_i[k] + injury_only[member[p + k]]
        # each pair's window ends before the first pair of the group dated on or after its end day;
        # end days grow with start days, so one pointer walks the group once
        e = p
        for k in range(p, p + c):
            ed = end_day[member[k]]
            while e < p + c and start_day[member[e]] < ed:
                e += 1
            t_end[k] = e
            f = cum_f[e - p] - cum_f[k - p]
            inj = cum_i[e - p] - cum_i[k - p]
            w_fatal[k] = f
            w_injury[k] = inj
            w_collisions[k] = (e - k) - f - inj
        p += c
    return member, anchor, t_end, w_fatal, w_injury, w_collisions


def pairs_by_day(
    order: np.ndarray,
    counts: np.ndarray,
    start_day: np.ndarray,
    end_day: np.ndarray,
    fatal: np.ndarray,
    injury_only: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Every pair of a screen, grouped by space anchor and sorted by date, and
    the crashes counted in the window each starts.

    Parameters
    ----------
    order
        The crashes in (road, chainage) order (indices; fewer than 2**31).
    counts
        For each position of ``order``, how many crashes from it on lie in
        its window's reach (itself included).
    start_day, end_day
        Each crash's first day and the day its 12 months end (exclusive), as
        whole days; ``end_day`` must not decrease as ``start_day`` grows.
    fatal, injury_only
        Each crash's 0/1 counters (:func:`geo.screening.crash_counters`).

    Returns
    -------
    member, anchor, t_end, fatal, injury_only, collisions
        Per pair: the crash (int32), the anchor's position in ``order``
        (int32), the end (exclusive) of the pairs of the same anchor dated
        before the pair's end day, and the fatal, injury-only and other
        crashes of the window from the pair to that end (int32). Within an
        anchor, pairs are in date order, ties in ``order``'s order (a stable
        sort).

    Examples
    --------
    >>> member, anchor, t_end, f, i, c = pairs_by_day(
    ...     np.array([2, 0, 1]), np.array([3, 2, 1]), np.array([10, 400, 30]), np.array([375, 765, 395]),
    ...     np.array([1, 0, 0]), np.array([0, 1, 0]),
    ... )
    >>> member.tolist(), anchor.tolist(), t_end.tolist()
    ([0, 2, 1, 0, 1, 1], [0, 0, 0, 1, 1, 2], [2, 2, 3, 4, 5, 6])
    >>> f.tolist(), i.tolist(), c.tolist()
    ([1, 0, 0, 1, 0, 0], [0, 0, 1, 0, 1, 1], [1, 1, 0, 0, 0, 0])
    """
    if len(order) >= 2**31:
        raise ValueError("too many crashes for one part of a screen")
    return _pairs_by_day(
        np.ascontiguousarray(order, dtype=np.int64),
        np.ascontiguousarray(counts, dtype=np.int64),
        np.ascontiguousarray(start_day, dtype=np.int64),
        np.ascontiguousarray(end_day, dtype=np.int64),
        np.ascontiguousarray(fatal, dtype=np.int64),
        np.ascontiguousarray(injury_only, dtype=np.int64),
    )


@_jit
def _ends_before(
    b_start: np.ndarray, b_to: np.ndarray, road_key: np.ndarray, chain: np.ndarray
) -> np.ndarray:  # pragma: no cover  (compiled; tested through the screen)
    out = np.empty(len(chain), np.int64)
    for i in range(len(chain)):
        r = road_key[i]
        lo, hi = b_start[r], b_start[r + 1]
        c = chain[i]
        while lo < hi:  # the first of the road's stretches ending at or after c
            mid = (lo + hi) >> 1
            if b_to[mid] < c:
                lo = mid + 1
            else:
                hi = mid
        out[i] = lo
    return out


def ends_before(b_road: np.ndarray, b_to: np.ndarray, road_key: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """For each crash, how many stretches end before it.

    Parameters
    ----------
    b_road, b_to
        The stretches' road keys (whole numbers from 0) and end chainages,
        sorted by road, then end.
    road_key, chain
        Each crash's road key and chainage.

    Returns
    -------
    numpy.ndarray
        The number of stretches on an earlier road, or on the crash's road
        ending before its chainage: the position of the first stretch on its
        road ending at or after it, if any. Exact comparisons, no combined key.

    Examples
    --------
    >>> ends_before(np.array([0, 0, 2]), np.array([100.0, 300.0, 50.0]),
    ...             np.array([0, 0, 0, 1, 2, 2]), np.array([50.0, 100.0, 500.0, 7.0, 50.0, 60.0])).tolist()
    [0, 0, 2, 2, 2, 3]
    """
    b_road = np.asarray(b_road, dtype=np.int64)
    road_key = np.ascontiguousarray(road_key, dtype=np.int64)
    n_roads = int(max(b_road.max(initial=-1), road_key.max(initial=-1))) + 1
    b_start = np.searchsorted(b_road, np.arange(n_roads + 1)).astype(np.int64)
    return _ends_before(
        b_start,
        np.ascontiguousarray(b_to, dtype=np.float64),
        road_key,
        np.ascontiguousarray(chain, dtype=np.float64),
    )
