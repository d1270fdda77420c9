"""The screen's compiled kernels against plain NumPy written the obvious way."""

from __future__ import annotations

import numpy as np
import pytest

from geo._screen_kernels import _INSERTION_MAX, ends_before, pairs_by_day


def _pairs_reference(order, counts, start_day, end_day, fatal, injury_only):
    """The pairs as the screen enumerated them before the kernel: a repeat, one stable sort of
    (anchor, date), one search for each pair's end, the windows counted from cumulative sums."""
    n = len(counts)
    total = int(counts.sum())
    anchor = np.repeat(np.arange(n), counts)
    offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    member = order[anchor + offs]
    span = int(end_day.max() + 2)
    tkey = anchor * span + start_day[member]
    o = np.argsort(tkey, kind="stable")
    member, tkey = member[o], tkey[o]
    t_end = np.searchsorted(tkey, anchor * span + end_day[member], side="left")
    pos = np.arange(total)
    win = []
    for c in (fatal, injury_only):
        cs = np.r_[0, np.cumsum(c[member])]
        win.append(cs[t_end] - cs[pos])
    return member, anchor, t_end, win[0], win[1], (t_end - pos) - win[0] - win[1]


@pytest.mark.parametrize("seed", range(6))
def test_pairs_by_day_is_the_stable_sort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    order = rng.permutation(n)
    # groups small and large (over the insertion sort's limit), reaching to the end
    big = rng.random(n) < 0.2
    counts = np.where(big, rng.integers(_INSERTION_MAX, 4 * _INSERTION_MAX, n), rng.integers(1, 6, n))
    counts = np.minimum(counts, n - np.arange(n))
    start = rng.integers(0, 40, n) * (30 if seed % 2 else 1)  # many equal dates: ties keep order's order
    end = start + 365
    fatal = (rng.random(n) < 0.2).astype(int)
    injury_only = ((rng.random(n) < 0.5) & (fatal == 0)).astype(int)
    got = pairs_by_day(order, counts, start, end, fatal, injury_only)
    want = _pairs_reference(order, counts, start, end, fatal, injury_only)
    assert len(got) == len(want) == 6
    for g, w in zip(got, want):
        assert g.tolist() == w.tolist()
    assert len(got[0]) == counts.sum() and counts.max() > _INSERTION_MAX
    assert got[3].sum() > 0 and got[4].sum() > 0 and got[5].sum() > 0


def test_pairs_by_day_empty():
    none = np.array([], int)
    got = pairs_by_day(none, none, none, none, none, none)
    assert [len(a) for a in got] == [0] * 6


@pytest.mark.parametrize("seed", range(6))
def test_ends_before_counts_exactly(seed):
    rng = np.random.default_rng(seed)
    nb = int(rng.integers(1, 30))
    b_road = np.sort(rng.integers(0, 5, nb))
    b_to = np.round(rng.uniform(0, 1000, nb), 1)
    o = np.lexsort((b_to, b_road))
    b_road, b_to = b_road[o], b_to[o]
    n = 500
    road = rng.integers(0, 7, n)  # roads with no stretch, and past the stretches' last road
    chain = np.round(rng.uniform(0, 1000, n), 1)
    at = rng.integers(0, nb, n // 5)  # crashes exactly at a stretch's end: that stretch is not before them
    road[: n // 5], chain[: n // 5] = b_road[at], b_to[at]
    want = [int(np.sum((b_road < r) | ((b_road == r) & (b_to < c)))) for r, c in zip(road, chain)]
    assert ends_before(b_road, b_to, road, chain).tolist() == want
