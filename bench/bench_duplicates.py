"""Duplicates across sources (issue 19.4): candidate pairs of 100 000 crashes.

The crashes: the first 90 909 real crashes of the Japanese police file (``../shared/data/crashes``,
twelve prefectures, 2019–2021), each given one of three sources at random, and 9 091 of them (10 %)
reported again by another source: the point moved a few metres (a random direction, distance Rayleigh
with σ = 12 m: mean 15 m), the time a few minutes (normal, σ = 20 min, whole minutes), the injured count
different in one report of ten. 100 000 crashes in all.

Timed: :func:`geo.duplicates.candidate_pairs` (geocentric points and scaled time in one k-d tree),
against a baseline in the same run: scikit-learn's ``BallTree`` (haversine) radius query around every
crash, then the time and the sources checked on the neighbours (a spatial index on the place only, as a
first implementation would do). Both must give the same pairs. Then recall and precision of the planted
duplicates at the default limits (50 m, 60 minutes). With ``--store``, the service's whole path too:
the crashes imported into a fresh SQLite store, then ``services.duplicates.duplicate_pairs`` read cold
(the crash table read, the pairs, the decisions left out) and warm (kept per data version).

Run: ``.venv/bin/python bench/bench_duplicates.py [--store]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

import settings
from geo.duplicates import candidate_pairs

N_TOTAL = 100_000
SHARE = 0.10
SOURCES = np.array(["Công an", "Y tế", "UBND xã"])


def make_crashes(seed: int = 19) -> tuple[pd.DataFrame, set[tuple[int, int]]]:
    n_dup = int(round(N_TOTAL * SHARE / (1 + SHARE)))  # 10 % of the originals reported again
    n_orig = N_TOTAL - n_dup
    src = pd.read_csv(settings.SHARED_DATA_DIR / "crashes" / "japan_npa_2019_2021_41pref.csv.gz", nrows=n_orig)
    rng = np.random.default_rng(seed)
    orig = pd.DataFrame(
        {
            "id": np.arange(1, n_orig + 1),
            "source": SOURCES[rng.integers(0, 3, n_orig)],
            "occurred_at": pd.to_datetime(src["datetime_local"]),
            "lon": src["longitude"].to_numpy(float),
            "lat": src["latitude"].to_numpy(float),
            "deaths": src["n_killed"].to_numpy(int),
            "injured": src["n_injured"].to_numpy(int),
        }
    )
    k = np.sort(rng.choice(n_orig, n_dup, replace=False))
    base = orig.iloc[k]
    r = rng.rayleigh(12.0, n_dup)
    az = rng.uniform(0, 2 * np.pi, n_dup)
    lat = base["lat"].to_numpy()
    shift = (base["source"].map({s: i for i, s in enumerate(SOURCES)}).to_numpy() + rng.integers(1, 3, n_dup)) % 3
    dup = pd.DataFrame(
        {
            "id": np.arange(n_orig + 1, N_TOTAL + 1),
            "source": SOURCES[shift],
            "occurred_at": base["occurred_at"].to_numpy()
            + pd.to_timedelta(np.round(rng.normal(0, 20, n_dup)), unit="min"),
            "lon": base["lon"].to_numpy() + r * np.sin(az) / (111_320.0 * np.cos(np.radians(lat))),
            "lat": lat + r * np.cos(az) / 110_574.0,
            "deaths": base["deaths"].to_numpy(),
            "injured": base["injured"].to_numpy() + (rng.random(n_dup) < 0.1),
        }
    )
    planted = {(int(a), int(b)) for a, b in zip(base["id"], dup["id"])}
    return pd.concat([orig, dup], ignore_index=True), planted


def balltree_pairs(df: pd.DataFrame, distance_m: float, minutes: float) -> set[tuple[int, int]]:
    """The baseline: every crash's neighbours within ``distance_m`` (haversine BallTree), then time and sources."""
    from sklearn.neighbors import BallTree

    rad = np.radians(df[["lat", "lon"]].to_numpy())
    tree = BallTree(rad, metric="haversine")
    nb = tree.query_radius(rad, r=distance_m / 6_371_008.8)
    counts = np.fromiter((len(x) for x in nb), dtype=np.int64, count=len(nb))
    i = np.repeat(np.arange(len(df)), counts)
    j = np.concatenate(nb)
    t = df["occurred_at"].to_numpy().astype("datetime64[s]").astype(np.int64) / 60.0
    src = pd.factorize(df["source"])[0]
    ok = (i < j) & (src[i] != src[j]) & (np.abs(t[i] - t[j]) <= minutes)
    ids = df["id"].to_numpy()
    return {(int(min(a, b)), int(max(a, b))) for a, b in zip(ids[i[ok]], ids[j[ok]])}


def best_of(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def store_path(df: pd.DataFrame) -> dict:
    """The service's whole path on a fresh SQLite store holding the crashes."""
    import tempfile
    from pathlib import Path

    from geo.io import RawTable
    from geo.validate import validate_crashes
    from models.store import Store
    from services.duplicates import duplicate_pairs

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'dup.sqlite'}")
        for name, part in df.groupby("source"):
            frame = pd.DataFrame(
                {
                    "Mã vụ": part["id"].astype(str),
                    "Ngày giờ": part["occurred_at"].dt.strftime("%d/%m/%Y %H:%M"),
                    "Kinh độ": part["lon"].round(7).astype(str),
                    "Vĩ độ": part["lat"].round(7).astype(str),
                    "Số người chết": part["deaths"].astype(str),
                    "Số người bị thương": part["injured"].astype(str),
                }
            )
            res = validate_crashes(RawTable(frame=frame, fmt="csv"), bounds=(120.0, 20.0, 155.0, 50.0))
            store.import_crashes(res, filename=f"{name}.csv", source=str(name))
        t = time.perf_counter()
        pairs = duplicate_pairs(store)
        out["service_cold_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        duplicate_pairs(store)
        out["service_warm_s"] = round(time.perf_counter() - t, 3)
        out["service_pairs"] = len(pairs)
        out["crashes_in_store"] = store.crash_count()
    return out


def main(store: bool = False) -> dict:
    df, planted = make_crashes()
    d, m = settings.DUPLICATE_DISTANCE_M, settings.DUPLICATE_MINUTES
    candidate_pairs(df.iloc[:1000], distance_m=d, minutes=m)  # imports warm
    secs, pairs = best_of(lambda: candidate_pairs(df, distance_m=d, minutes=m))
    base_s, base = best_of(lambda: balltree_pairs(df, d, m), repeat=1)
    found = {(int(a), int(b)) for a, b in zip(pairs["id_a"], pairs["id_b"])}
    hit = len(found & planted)
    out = {
        "crashes": len(df),
        "planted_duplicates": len(planted),
        "distance_m": d,
        "minutes": m,
        "candidate_pairs_s": round(secs, 3),
        "baseline_balltree_s": round(base_s, 2),
        "speed_up": round(base_s / secs, 1),
        "same_pairs_as_baseline": found == base,
        "pairs_found": len(found),
        "recall": round(hit / len(planted), 4),
        "precision": round(hit / max(1, len(found)), 4),
        "planted_outside_limits": int(len(planted) - hit),
    }
    if store:
        out |= store_path(df)
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Duplicates across sources: candidate pairs of 100 000 crashes")
    ap.add_argument("--store", action="store_true", help="also the service's path through a SQLite store")
    sys.exit(0 if main(store=ap.parse_args().store) else 1)
