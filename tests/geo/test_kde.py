"""KDE+ along roads (geo.kde) against hand-worked densities and crash patterns
whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.kde import KDE_COLUMNS, kde_density, kde_plus


def _frame(road, chainages, first_id=1):
    return pd.DataFrame({"crash_id": range(first_id, first_id + len(chainages)), "road": road, "chainage_m": chainages})


def _at(profiles, road, chainage):
    p = profiles.loc[(profiles["road"] == road) & np.isclose(profiles["chainage_m"], chainage)]
    assert len(p) == 1
    return p.iloc[0]


# The kernel: K_h(d) = exp(-d² / 2h²) / (h √(2π)) for |d| <= 3h, else 0; density = 1000 · Σ w_i K_h(s - x_i)
# (crashes per km). With h = 100 m: 1000 / (100 · √(2π)) = 1000 / 250.6628 = 3.989423.
NORM = 1000 / (100 * math.sqrt(2 * math.pi))


def test_density_at_a_point_is_the_hand_worked_sum():
    # Road A, 1 km long, crashes at 0, 50, 200 and 450 m; the density at s = 100 m with h = 100 m:
    #   d = 100 - 0   = 100 → exp(-0.5 · 1²)    = 0.606531
    #   d = 100 - 50  =  50 → exp(-0.5 · 0.5²)  = 0.882497
    #   d = 100 - 200 = -100 → exp(-0.5 · 1²)   = 0.606531
    #   d = 100 - 450 = -350 → beyond 3h = 300 m: 0 (untruncated it would add exp(-6.125) = 0.002187)
    #   sum = 2.095558; × 3.989423 = 8.360068 crashes per km
    hand = (math.exp(-0.5) + math.exp(-0.125) + math.exp(-0.5)) * NORM
    assert hand == pytest.approx(8.360068, abs=1e-6)
    r = kde_plus(_frame("A", [0, 50, 200, 450]), road_lengths={"A": 1000}, profiles=True, n_sim=20)
    assert r.profiles is not None
    assert _at(r.profiles, "A", 100)["density"] == pytest.approx(hand, rel=1e-12)
    # at s = 0 (the road's start): d = 0, -50, -200, -450 → exp(0) + exp(-0.125) + exp(-2) + 0
    #   = 1 + 0.882497 + 0.135335 = 2.017832; × 3.989423 = 8.049986
    assert _at(r.profiles, "A", 0)["density"] == pytest.approx((1 + math.exp(-0.125) + math.exp(-2)) * NORM)
    assert _at(r.profiles, "A", 0)["density"] == pytest.approx(8.049986, abs=1e-6)
    # the grid: every 10 m from 0 to 1000
    assert r.profiles["chainage_m"].tolist() == [10.0 * k for k in range(101)]
    assert kde_density([0, 50, 200, 450], [100])[0] == pytest.approx(hand)


def test_weighted_density_counts_each_crash_by_its_weight():
    # the same road with the crash at 50 m weighing 2: (0.606531 + 2 · 0.882497 + 0.606531) · 3.989423
    #   = 2.978055 · 3.989423 = 11.880721
    crashes = _frame("A", [0, 50, 200, 450]).assign(epdo=[1.0, 2.0, 1.0, 1.0])
    r = kde_plus(crashes, weights="epdo", road_lengths={"A": 1000}, profiles=True, n_sim=20)
    hand = (math.exp(-0.5) + 2 * math.exp(-0.125) + math.exp(-0.5)) * NORM
    assert hand == pytest.approx(11.880721, abs=1e-6)
    assert _at(r.profiles, "A", 100)["density"] == pytest.approx(hand, rel=1e-12)
    # a wider bandwidth, h = 200 m: d/h = 0.5, 0.25, -0.5, -1.75 (inside 3h = 600 m)
    r2 = kde_plus(_frame("A", [0, 50, 200, 450]), bandwidth_m=200, road_lengths={"A": 1000}, profiles=True, n_sim=20)
    hand2 = (
        (math.exp(-0.125) + math.exp(-0.03125) + math.exp(-0.125) + math.exp(-1.53125))
        * 1000
        / (200 * math.sqrt(2 * math.pi))
    )
    assert _at(r2.profiles, "A", 100)["density"] == pytest.approx(hand2, rel=1e-12)


def test_a_tight_group_on_a_long_road_is_the_one_cluster():
    scattered = [1000, 4000, 8000, 13000, 17500]
    group = [10000, 10010, 10025, 10040, 10060, 10075]
    crashes = _frame("QL14", scattered + group)  # ids 1-5 scattered, 6-11 the group
    r = kde_plus(crashes, road_lengths={"QL14": 20000}, seed=3)
    assert list(r.clusters.columns) == KDE_COLUMNS
    assert len(r.clusters) == 1
    c = r.clusters.iloc[0]
    assert c["road"] == "QL14"
    assert c["crash_ids"] == [6, 7, 8, 9, 10, 11] and c["n_crashes"] == 6
    # the run starts and ends within the kernel's reach (3h = 300 m) of the group, around all of it
    assert 9700 <= c["from_m"] <= 10000 and 10075 <= c["to_m"] <= 10375
    assert 0 < c["strength"] <= 1
    assert r.n_analysed == 11 and r.n_without_chainage == 0


def test_strength_is_the_share_of_the_density_above_the_level():
    crashes = _frame("QL14", [1000, 4000, 8000, 10000, 10010, 10025, 10040, 13000, 17500])
    r = kde_plus(crashes, road_lengths={"QL14": 20000}, seed=3, profiles=True)
    c = r.clusters.iloc[0]
    p = r.profiles
    run = p.loc[(p["chainage_m"] >= c["from_m"]) & (p["chainage_m"] <= c["to_m"])]
    assert (run["density"] > run["level"]).all()
    i_c, i_mc = run["density"].sum(), run["level"].sum()
    assert c["strength"] == pytest.approx((i_c - i_mc) / i_c)
    # the points just outside the run are below their level (the run is maximal)
    step = r.params["step_m"]
    for s in (run["chainage_m"].min() - step, run["chainage_m"].max() + step):
        q = _at(p, "QL14", s)
        assert q["density"] <= q["level"]


def test_an_even_spread_gives_no_cluster():
    # 101 crashes every 150 m over 15 km: overlapping kernels, a flat density of about 6.7 per km,
    # below what uniform redistribution exceeds with probability 5 %
    crashes = _frame("QL1", np.arange(0, 15001, 150.0))
    r = kde_plus(crashes, seed=11)
    assert r.clusters.empty and r.n_analysed == 101
    assert list(r.clusters.columns) == KDE_COLUMNS


def test_the_level_is_exceeded_with_probability_alpha_under_uniform_placement():
    # 20 crashes on a 20 km road; the interior level, checked against 4000 fresh uniform placements
    rng = np.random.default_rng(5)
    crashes = _frame("R", rng.uniform(0, 20000, 20))
    r = kde_plus(crashes, road_lengths={"R": 20000}, seed=2, n_sim=400, profiles=True)
    level = _at(r.profiles, "R", 10000)["level"]
    fresh = rng.uniform(0, 20000, (4000, 20))
    dens = np.array([kde_density(row, [10000])[0] for row in fresh])
    assert (dens > level).mean() == pytest.approx(0.05, abs=0.02)
    # and a stricter alpha gives a higher level
    r1 = kde_plus(crashes, road_lengths={"R": 20000}, seed=2, n_sim=400, alpha=0.01, profiles=True)
    assert _at(r1.profiles, "R", 10000)["level"] > level


def test_same_seed_same_result_and_roads_do_not_affect_each_other():
    rng = np.random.default_rng(1)
    a = _frame("A", np.r_[rng.uniform(0, 30000, 40), 15000 + rng.uniform(0, 80, 5)])
    b = _frame("B", rng.uniform(0, 30000, 60), first_id=100)
    one = kde_plus(a, seed=4, profiles=True)
    again = kde_plus(a, seed=4, profiles=True)
    pd.testing.assert_frame_equal(one.clusters, again.clusters)
    pd.testing.assert_frame_equal(one.profiles, again.profiles)
    other = kde_plus(a, seed=5, profiles=True)
    assert not np.array_equal(one.profiles["level"], other.profiles["level"])
    both = kde_plus(pd.concat([b, a], ignore_index=True), seed=4)
    pd.testing.assert_frame_equal(both.clusters.loc[both.clusters["road"] == "A"].reset_index(drop=True), one.clusters)


def test_crashes_without_road_or_chainage_are_left_out_and_counted():
    crashes = pd.DataFrame(
        {
            "crash_id": [1, 2, 3, 4, 5, 6, 7, 8, 9],
            "road": ["QL1", "QL1", "QL1", None, "", "QL1", "QL1", "QL1", "QL1"],
            "chainage_m": [5000, 5010, 5020, 5005, 5015, np.nan, "abc", 0, 20000],
        }
    )
    r = kde_plus(crashes, seed=0)
    assert r.n_without_chainage == 4 and r.n_analysed == 5
    assert len(r.clusters) == 1 and r.clusters.iloc[0]["crash_ids"] == [1, 2, 3]


def test_min_crashes_and_small_roads():
    crashes = pd.concat(
        [
            _frame("A", [1000, 1005, 9000, 20000]),
            _frame("B", [50], first_id=10),
            _frame("C", [700, 700, 700], first_id=20),
        ],
        ignore_index=True,
    )
    r = kde_plus(crashes, seed=0)
    assert r.clusters["crash_ids"].tolist() == [[1, 2]]
    assert kde_plus(crashes, seed=0, min_crashes=3).clusters.empty
    # road C: three crashes at one chainage and no extent given: nothing to compare with; given one, a cluster
    r = kde_plus(crashes, seed=0, min_crashes=3, road_lengths={"C": 10000})
    assert r.clusters["crash_ids"].tolist() == [[20, 21, 22]]


def test_empty_input_and_bad_parameters():
    r = kde_plus(pd.DataFrame({"road": [], "chainage_m": []}))
    assert r.clusters.empty and r.n_analysed == 0 and list(r.clusters.columns) == KDE_COLUMNS
    crashes = _frame("A", [0, 10, 20])
    for bad in ({"bandwidth_m": 0}, {"step_m": -1}, {"n_sim": 0}, {"alpha": 1.0}, {"alpha": 0}):
        with pytest.raises(ValueError):
            kde_plus(crashes, **bad)
    with pytest.raises(ValueError):
        kde_plus(crashes, weights=[1, -1, 1])


def test_a_bandwidth_and_step_that_would_fill_the_memory_are_refused():
    """--bandwidth 1e9 --step 0.0005 took 3.5 GB (the hostile-input probe): refused with a reason instead."""
    with pytest.raises(ValueError, match="too many"):
        kde_plus(_frame("A", [0, 500, 1000]), bandwidth_m=1e9, step_m=0.0005, n_sim=200)
    assert len(kde_plus(_frame("A", [0, 500, 1000]), n_sim=20).clusters.columns) >= 5  # ordinary use unchanged
