"""The regulation's tests at every threshold edge (Thông tư 41/2024 Điều 14 and
Thông tư 26/2012 Điều 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.screening import screen


def crashes(*rows, urban=False):
    """rows: (chainage_m, 'YYYY-MM-DD', deaths, injured[, not_infra])"""
    recs = []
    for i, r in enumerate(rows, start=1):
        recs.append(
            {
                "crash_id": i,
                "road": "QL24",
                "chainage_m": r[0],
                "occurred_at": pd.Timestamp(r[1]),
                "deaths": r[2],
                "injured": r[3],
                "not_infrastructure": r[4] if len(r) > 4 else False,
                "urban": urban,
            }
        )
    return pd.DataFrame(recs)


def kinds(result):
    return sorted(result.spots["kind"])


def test_two_fatal_crashes_make_a_black_spot_one_does_not():
    one = screen(crashes((1000, "2024-01-10", 1, 0)))
    assert one.black_spots.empty and list(one.potential_points["tests"]) == ["T2"]
    two = screen(crashes((1000, "2024-01-10", 1, 0), (1300, "2024-06-10", 2, 1)))
    assert len(two.black_spots) == 1
    bs = two.black_spots.iloc[0]
    assert bs["tests"] == "D1" and bs["deaths"] == 3 and (bs["from_m"], bs["to_m"]) == (1000, 1300)
    assert sorted(two.crash_ids(bs["spot"])) == [1, 2]


def test_three_crashes_with_and_without_a_death():
    with_death = screen(crashes((0, "2024-01-01", 1, 0), (100, "2024-02-01", 0, 1), (200, "2024-03-01", 0, 2)))
    assert with_death.black_spots["tests"].tolist() == ["D2"]
    without = screen(crashes((0, "2024-01-01", 0, 1), (100, "2024-02-01", 0, 1), (200, "2024-03-01", 0, 2)))
    assert without.black_spots.empty and not without.potential_points.empty


def test_four_injury_only_crashes():
    three = screen(crashes(*[(i * 100, f"2024-0{i + 1}-01", 0, 1) for i in range(3)]))
    assert three.black_spots.empty
    four = screen(crashes(*[(i * 100, f"2024-0{i + 1}-01", 0, 1) for i in range(4)]))
    assert four.black_spots["tests"].tolist() == ["D3"]


def test_twelve_month_window_boundary_by_one_day():
    inside = screen(crashes((0, "2024-01-01", 1, 0), (10, "2024-12-31", 1, 0)))
    assert len(inside.black_spots) == 1
    bs = inside.black_spots.iloc[0]
    assert (bs["window_start"], bs["window_end"]) == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))
    outside = screen(crashes((0, "2024-01-01", 1, 0), (10, "2025-01-01", 1, 0)))
    assert outside.black_spots.empty


def test_window_length_boundary_by_one_metre():
    assert len(screen(crashes((1000, "2024-01-01", 1, 0), (1500, "2024-02-01", 1, 0))).black_spots) == 1
    assert screen(crashes((1000, "2024-01-01", 1, 0), (1501, "2024-02-01", 1, 0))).black_spots.empty


def test_urban_segments_are_shorter():
    pair = ((1000, "2024-01-01", 1, 0), (1300, "2024-02-01", 1, 0))
    assert len(screen(crashes(*pair, urban=False)).black_spots) == 1
    assert screen(crashes(*pair, urban=True)).black_spots.empty
    assert len(screen(crashes((1000, "2024-01-01", 1, 0), (1200, "2024-02-01", 1, 0), urban=True)).black_spots) == 1


def test_window_length_is_configurable():
    pair = crashes((1000, "2024-01-01", 1, 0), (1300, "2024-02-01", 1, 0))
    assert screen(pair, window_m=250).black_spots.empty


def test_not_infrastructure_crashes_are_excluded_under_2024_rules_only():
    data = crashes((0, "2024-01-01", 1, 0), (50, "2024-03-01", 1, 0, True))
    new = screen(data, ruleset="tt41-2024")
    assert new.black_spots.empty and new.n_excluded_not_infrastructure == 1
    old = screen(data, ruleset="tt26-2012")
    assert len(old.black_spots) == 1 and old.n_excluded_not_infrastructure == 0


def test_five_collisions_make_a_potential_point():
    four = screen(crashes(*[(i * 10, "2024-05-01", 0, 0) for i in range(4)]))
    assert four.spots.empty
    five = screen(crashes(*[(i * 10, "2024-05-01", 0, 0) for i in range(5)]))
    assert five.potential_points["tests"].tolist() == ["T1"]


def test_overlapping_windows_merge_and_separate_roads_do_not():
    data = crashes((0, "2024-01-01", 1, 0), (400, "2024-02-01", 1, 0), (800, "2024-03-01", 1, 0))
    res = screen(data)
    assert len(res.black_spots) == 1
    bs = res.black_spots.iloc[0]
    assert (bs["from_m"], bs["to_m"]) == (0, 800) and bs["n_windows"] == 2
    assert sorted(res.crash_ids(bs["spot"])) == [1, 2, 3]
    data.loc[2, "road"] = "QL14"
    assert res.black_spots.shape[0] == 1 and screen(data).black_spots["to_m"].tolist() == [400]


def test_potential_points_do_not_swallow_a_black_spot():
    data = crashes((0, "2024-01-01", 1, 0), (100, "2024-02-01", 1, 0), (3000, "2024-03-01", 0, 1))
    res = screen(data)
    assert len(res.black_spots) == 1 and res.potential_points["from_m"].tolist() == [3000]


def test_date_filter_and_crashes_without_chainage():
    data = crashes((0, "2023-01-01", 1, 0), (100, "2023-02-01", 1, 0))
    data.loc[len(data)] = {
        "crash_id": 9,
        "road": None,
        "chainage_m": np.nan,
        "occurred_at": pd.Timestamp("2023-01-01"),
        "deaths": 1,
        "injured": 0,
        "not_infrastructure": False,
        "urban": False,
    }
    res = screen(data, date_from="2023-01-15")
    assert res.black_spots.empty and res.n_without_chainage == 2


def test_worst_window_is_reported_when_several_years_qualify():
    data = crashes(
        (0, "2021-01-01", 1, 0),
        (10, "2021-03-01", 1, 0),
        (20, "2023-01-01", 1, 0),
        (30, "2023-02-01", 1, 0),
        (40, "2023-03-01", 1, 2),
    )
    bs = screen(data).black_spots.iloc[0]
    assert bs["window_start"] == pd.Timestamp("2023-01-01") and bs["deaths"] == 3
    assert bs["tests"] == "D1,D2"


def test_road_names_are_text_and_blank_roads_are_not_screened():
    """Roads given as numbers or text are the same road; a blank or missing road
    cannot be screened; spots on several roads come out in road order."""
    data = pd.concat(
        [
            crashes((0, "2024-01-01", 1, 0), (100, "2024-02-01", 1, 0)).assign(road=[24, "24"]),
            crashes((0, "2024-01-01", 1, 0), (100, "2024-02-01", 1, 0)).assign(road=["", None]),
            crashes((0, "2024-01-01", 1, 0), (100, "2024-02-01", 1, 0)).assign(road="QL1A"),
            crashes((0, "2024-01-01", 1, 0), (100, "2024-02-01", 1, 0)).assign(road="DT671"),
        ],
        ignore_index=True,
    )
    data["crash_id"] = range(len(data))
    res = screen(data)
    assert res.n_without_chainage == 2
    assert res.black_spots["road"].tolist() == ["24", "DT671", "QL1A"]
    assert sorted(res.crash_ids(res.black_spots.index[0])) == [0, 1]


def test_a_screen_in_parts_of_roads_gives_the_screen_in_one_part(monkeypatch):
    """Dense crashes are screened road by road in parts of a bounded number of
    pairs (memory stays bounded): the spots, their numbers and their crash lists
    are those of the screen in one part."""
    import geo.screening as screening

    rng = np.random.default_rng(3)
    n = 4_000
    road = rng.integers(0, 40, n)
    hot = rng.random(n) < 0.7
    chain = np.where(hot, rng.choice(rng.uniform(0, 20_000, 60), n) + rng.normal(0, 150, n), rng.uniform(0, 20_000, n))
    df = pd.DataFrame(
        {
            "crash_id": np.arange(n) + 100,
            "road": "QL" + pd.Series(road).astype(str),
            "chainage_m": chain.clip(0),
            "occurred_at": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            "deaths": (rng.random(n) < 0.05).astype(int),
            "injured": rng.integers(0, 3, n),
        }
    )
    whole = screen(df)
    monkeypatch.setattr(screening, "PAIRS_PER_PART", 1_000)
    calls = []
    windows = screening._windows
    monkeypatch.setattr(screening, "_windows", lambda *a, **k: calls.append(len(a[1])) or windows(*a, **k))
    parts = screen(df)
    assert len(calls) > 10 and sum(calls) > n  # many parts (the black spots' pass and the potential points')
    assert len(whole.spots) > 50 and set(whole.spots["kind"]) == {"black_spot", "potential"}
    pd.testing.assert_frame_equal(parts.spots, whole.spots)
    pd.testing.assert_frame_equal(parts.with_crash_lists(), whole.with_crash_lists())
    pd.testing.assert_frame_equal(parts.members, whole.members)
    # each spot's crash lists as lists are its text lists split
    lists, window_lists = whole.crash_id_lists()
    table = whole.with_crash_lists()
    assert lists == [[int(v) for v in t.split(";")] for t in table["crash_ids"]]
    assert window_lists == [[int(v) for v in t.split(";")] for t in table["window_crash_ids"]]
    assert sum(map(len, lists)) == len(whole.members) > sum(map(len, window_lists)) > 0
    # the parts worked by three threads side by side: the same screen
    calls.clear()
    threaded = screen(df, workers=3)
    assert len(calls) > 10
    pd.testing.assert_frame_equal(threaded.spots, whole.spots)
    pd.testing.assert_frame_equal(threaded.members, whole.members)


def _spot_communes_by_groupby(result, crashes):
    """The grouped count ``spot_communes`` used to make (the reference)."""
    key = "crash_id" if "crash_id" in crashes else "id"
    m = result.members.join(crashes.set_index(key)["commune"], on="crash_id").dropna(subset=["commune"])
    m = m.loc[m["commune"].astype(str).str.strip() != ""]
    if m.empty:
        return {}
    top = (
        m.groupby(["spot", "commune"]).size().reset_index(name="n").sort_values(["spot", "n"], ascending=[True, False])
    )
    best = top.drop_duplicates("spot")
    return dict(zip(best["spot"].astype(int).tolist(), best["commune"].tolist()))


def test_spot_communes_counts_as_the_grouped_count_did():
    """Each spot's commune, counted on arrays, is what a grouped count gives,
    ties to the first name, blank and missing communes left out, on random
    roads where spots straddle commune lines."""
    from geo.screening import screen, spot_communes

    rng = np.random.default_rng(11)
    for trial in range(6):
        n = 4000
        names = np.array(["Xã Đăk Tô", "Xã Ngọc Hồi", "Phường 1", "Xã Ia Chim", " ", ""], dtype=object)
        commune = names[rng.integers(0, len(names), n)]
        commune[rng.random(n) < 0.05] = None
        crashes = pd.DataFrame(
            {
                "crash_id": rng.permutation(n) + 1,
                "road": rng.choice([f"QL{k}" for k in range(1, 41)], n),
                # half of them around 150 hot places, the rest anywhere on 50 km
                "chainage_m": np.where(
                    rng.random(n) < 0.5,
                    np.clip(rng.integers(0, 50, n) * 1000.0 + rng.normal(0, 60, n), 0, None),
                    rng.uniform(0, 50_000, n),
                ).round(),
                "deaths": (rng.random(n) < 0.1).astype(int),
                "injured": rng.integers(0, 3, n),
                "occurred_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
                "commune": commune,
            }
        )
        result = screen(crashes, ruleset="tt41-2024")
        want = _spot_communes_by_groupby(result, crashes)
        assert len(result.spots) > 20 and len(want) > 20
        assert spot_communes(result, crashes) == want


def test_crashes_piled_on_one_place_are_refused_naming_the_road(monkeypatch):
    """A file that writes every missing chainage as Km 0+000 piles its crashes on one place: every pair
    of them shares every window, more pairs than memory holds on a province's file. The screen refuses
    before it enumerates them, naming the road and the place (the cap lowered here to keep the test
    small)."""
    import geo.screening as screening
    from errors import ValueOutOfRange

    n = 3000
    df = pd.DataFrame(
        {
            "crash_id": np.arange(n),
            "road": np.where(np.arange(n) < 2900, "QL1", "QL14"),
            "chainage_m": np.where(np.arange(n) < 2900, 0.0, np.arange(n) * 100.0),
            "occurred_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) % 300, unit="D"),
            "deaths": 0,
            "injured": 1,
        }
    )
    monkeypatch.setattr(screening, "MAX_ROAD_PAIRS", 1_000_000)  # QL1: 2 900 crashes, ~4.2 M pairs
    with pytest.raises(ValueOutOfRange, match="QL1: .*lý trình 0 m.*/ Road QL1: too many crashes"):
        screen(df)
    monkeypatch.setattr(screening, "MAX_ROAD_PAIRS", 10_000_000)
    assert len(screen(df).spots) > 0
