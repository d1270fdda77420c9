"""Issue 19.4: candidate pairs of duplicates across sources (geo/duplicates.py), checked by hand-made pairs
at the limits and against brute force on random data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from geo.duplicates import PAIR_COLUMNS, candidate_pairs

GEOD = Geod(ellps="WGS84")
T0 = pd.Timestamp("2024-05-01 08:00")


def _at(lon: float, lat: float, metres: float, azimuth: float = 90.0) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return lon2, lat2


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """rows of (id, source, minutes after T0, lon, lat)."""
    return pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "source": [r[1] for r in rows],
            "occurred_at": [T0 + pd.Timedelta(minutes=r[2]) for r in rows],
            "lon": [r[3] for r in rows],
            "lat": [r[4] for r in rows],
        }
    )


def _pairs(df: pd.DataFrame, **kw) -> set[tuple[int, int]]:
    out = candidate_pairs(df, **kw)
    return {(int(a), int(b)) for a, b in zip(out["id_a"], out["id_b"])}


@pytest.mark.parametrize("lat", [10.5, 21.0, 45.0])
def test_49_metres_pairs_51_does_not(lat):
    lon = 105.8
    rows = [
        (1, "police", 0, lon, lat),
        (2, "health", 0, *_at(lon, lat, 49.0)),
        (11, "police", 0, lon, lat + 0.01),
        (12, "health", 0, *_at(lon, lat + 0.01, 51.0, azimuth=30)),
    ]
    out = candidate_pairs(_frame(rows))
    assert _pairs(_frame(rows)) == {(1, 2)}
    assert out["distance_m"].iloc[0] == pytest.approx(49.0, abs=0.01)


def test_59_minutes_pairs_61_does_not():
    rows = [
        (1, "police", 0, 105.8, 21.0),
        (2, "commune", 59, 105.8, 21.0),
        (11, "police", 0, 106.0, 21.0),
        (12, "commune", 61, 106.0, 21.0),
        (21, "police", 0, 106.2, 21.0),
        (22, "health", 60, 106.2, 21.0),
    ]  # the limits are inclusive
    assert _pairs(_frame(rows)) == {(1, 2), (21, 22)}


def test_the_limits_are_parameters():
    rows = [(1, "police", 0, 105.8, 21.0), (2, "health", 100, *_at(105.8, 21.0, 80.0))]
    assert _pairs(_frame(rows)) == set()
    assert _pairs(_frame(rows), distance_m=100, minutes=120) == {(1, 2)}
    with pytest.raises(ValueError):
        candidate_pairs(_frame(rows), minutes=0)


def test_same_source_is_not_a_pair():
    rows = [
        (1, "police", 0, 105.8, 21.0),
        (2, "police", 5, *_at(105.8, 21.0, 5.0)),
        (3, None, 0, 106.0, 21.0),
        (4, None, 1, 106.0, 21.0),
        (5, "health", 2, 106.0, 21.0),
    ]
    assert _pairs(_frame(rows)) == {(3, 5), (4, 5)}


def test_no_time_no_pair_and_small_inputs():
    df = _frame([(1, "police", 0, 105.8, 21.0), (2, "health", 0, 105.8, 21.0)])
    df.loc[1, "occurred_at"] = pd.NaT
    assert _pairs(df) == set()
    assert candidate_pairs(df.iloc[:1]).columns.tolist() == PAIR_COLUMNS
    assert candidate_pairs(df.iloc[:0]).empty


def test_without_coordinates_pairs_by_road_and_chainage():
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "source": ["police", "health", "health", "health", "commune", "commune"],
            "occurred_at": [T0, T0 + pd.Timedelta(minutes=30), T0, T0, T0, T0],
            "lon": [105.8, np.nan, np.nan, np.nan, 105.8, np.nan],
            "lat": [21.0, np.nan, np.nan, np.nan, 21.0, np.nan],
            "road_code": ["QL24", "QL24", "QL24", "QL14", "QL24", "QL24"],
            "chainage_m": [140_000.0, 140_049.0, 140_051.0, 140_000.0, 200_000.0, 300_000.0],
        }
    )
    # 1–2: 49 m along QL24 (2 has no point); 1–3: 51 m; 1–4: another road; 1–5 both with points: by place
    out = candidate_pairs(df)
    got = {(int(a), int(b)): by for a, b, by in zip(out["id_a"], out["id_b"], out["by"])}
    # not 1–3 (51 m), 1–4 (QL14), 2–3 (one source), 5–6 (100 km apart)
    assert got == {(1, 2): "chainage", (1, 5): "place"}
    assert out.set_index(["id_a", "id_b"]).loc[(1, 2), "distance_m"] == pytest.approx(49.0)


def test_score_prefers_closer_and_agreeing_reports():
    df = _frame(
        [
            (1, "police", 0, 105.8, 21.0),
            (2, "health", 2, *_at(105.8, 21.0, 3.0)),
            (3, "commune", 45, *_at(105.8, 21.0, 40.0)),
        ]
    )
    df["deaths"], df["injured"] = [1, 1, 0], [2, 2, 5]
    out = candidate_pairs(df)
    assert out[["id_a", "id_b"]].iloc[0].tolist() == [1, 2]
    assert out["score"].is_monotonic_decreasing and out["score"].between(0, 1).all()


def _brute(df: pd.DataFrame, distance_m: float, minutes: float) -> set[tuple[int, int]]:
    lon, lat = df["lon"].to_numpy(), df["lat"].to_numpy()
    t = df["occurred_at"].to_numpy().astype("datetime64[s]").astype(np.int64) / 60.0
    src, ids = df["source"].to_numpy(), df["id"].to_numpy()
    out = set()
    n = len(df)
    for i in range(n):
        j = np.arange(i + 1, n)
        near_t = np.abs(t[j] - t[i]) <= minutes
        j = j[near_t & (src[j] != src[i])]
        if not len(j):
            continue
        _, _, d = GEOD.inv(np.full(len(j), lon[i]), np.full(len(j), lat[i]), lon[j], lat[j])
        for k in j[d <= distance_m]:
            out.add((min(ids[i], ids[k]), max(ids[i], ids[k])))
    return {(int(a), int(b)) for a, b in out}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_pairs_as_brute_force_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    # a dense town (1.5 km square, two days) so that many pairs lie near both limits
    df = pd.DataFrame(
        {
            "id": rng.permutation(n) + 1000,
            "source": rng.choice(["police", "health", "commune"], n),
            "occurred_at": T0 + pd.to_timedelta(rng.integers(0, 2 * 24 * 60 * 60, n), unit="s"),
            "lon": 107.95 + rng.uniform(0, 0.014, n),
            "lat": 14.55 + rng.uniform(0, 0.014, n),
        }
    )
    for d, m in ((50.0, 60.0), (120.0, 15.0)):
        got = candidate_pairs(df, distance_m=d, minutes=m)
        want = _brute(df, d, m)
        assert len(want) > 20
        assert {(int(a), int(b)) for a, b in zip(got["id_a"], got["id_b"])} == want
        assert (got["id_a"] < got["id_b"]).all() and (got["source_a"] != got["source_b"]).all()
