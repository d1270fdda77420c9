"""Screening the store (issue 18.1): ``services.blackspots.run_screening`` on a
SQLite store, timed in its phases (read, screen, communes and geometries,
save), the save on a fresh store (every spot new) and again with nothing
changed, and end to end (the first screening; again with nothing changed;
again after someone changed a spot's status, so the spots are read back; and
after the next month's crashes, 1/48 more, came in as an import batch, so the
kept crashes take that batch's and spots grow and appear). Baseline in the same run: the ORM save as it was
before (one object per spot, per-object audit rows; kept as the reference in
``tests/models/test_save_screening_bulk.py``) on a copy of the same store, and
both saves must report the same.

The crashes are shaped like ``bench_blackspots_file.py``'s: on 3 000 roads of
60 km, 70 % of them in hotspots (σ 200 m; 50 000 hotspots at 1 000 000
crashes, as many per crash below that), over four years, 1.2 % fatal, 0–2
injured. They are written straight into the crash table (the import is not
what is measured).

    cd bench && ../.venv/bin/python bench_screen_store.py [--crashes 200000] [--no-baseline]

1 000 000 crashes (``--crashes 1000000``) give about 140 000 spots.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import insert, text

import settings
from common import ROOT, insert_crashes  # noqa: F401  (ROOT: puts the project's tests on the path)

N_ROADS = 3_000
LENGTH_M = 60_000.0


def build_store(path: Path, n: int, seed: int = 7):
    """A migrated SQLite store with the roads and ``n`` crashes."""
    from models.orm import Road
    from models.store import Store

    rng = np.random.default_rng(seed)
    store = Store(f"sqlite:///{path}")
    # 3 000 straight roads of ~60 km (0.55° of longitude at 10–22° N), side by side
    k = np.arange(N_ROADS)
    lon0, lat0 = 102.5 + (k % 10) * 0.6, 9.0 + (k // 10) * 0.04
    roads = pd.DataFrame(
        {
            "code": [f"QL{i + 1}" for i in k],
            "geometry": [shapely.LineString([(x, y), (x + 0.56, y)]) for x, y in zip(lon0, lat0)],
            "road_class": "III",
            "km_start_m": 0.0,
        }
    )
    with store.engine.begin() as conn:  # (add_roads measures each line in metres: slow for 3 000 roads)
        conn.execute(
            insert(Road.__table__),
            [
                {"code": c, "geom": g, "road_class": "III", "km_start_m": 0.0, "length_m": LENGTH_M, "is_urban": False}
                for c, g in zip(roads["code"], roads["geometry"])
            ],
        )
    hotspots = max(1, int(50_000 * n / 1_000_000))
    hot_road = rng.integers(0, N_ROADS, hotspots)
    hot_at = rng.uniform(0, LENGTH_M, hotspots)

    def crashes(count: int, first_day: str, days: int, key: str) -> dict:
        """``count`` crashes of this shape over ``days`` from ``first_day``."""
        in_hot = rng.random(count) < 0.7
        which = rng.integers(0, hotspots, count)
        road = np.where(in_hot, hot_road[which], rng.integers(0, N_ROADS, count))
        ch = np.where(in_hot, hot_at[which] + rng.normal(0, 200, count), rng.uniform(0, LENGTH_M, count))
        ch = ch.clip(0, LENGTH_M).round(1)
        day = pd.Timestamp(first_day) + pd.to_timedelta(rng.integers(0, days, count), unit="D")
        return {
            "dedup_key": [hashlib.md5(f"{key}{i}".encode()).hexdigest() for i in range(count)],
            "occurred_at": day.to_pydatetime(),
            "lon": lon0[road] + 0.56 * ch / LENGTH_M,
            "lat": lat0[road],
            "road_code": [f"QL{r + 1}" for r in road],
            "chainage_m": ch,
            "located_by": "chainage",
            "commune": [f"Xã {r % 700}" for r in road],
            "deaths": (rng.random(count) < 0.012).astype(int),
            "injured": rng.integers(0, 3, count),
        }

    insert_crashes(store.engine, crashes(n, "2021-01-01", 4 * 365, ""), batch="bon-nam.csv")  # four years, one file
    # the next month's crashes, imported later (1/48 of the four years'), kept for run_again
    store.next_month = crashes(max(1, n // 48), "2025-01-01", 31, "next")
    return store


def _copy(store, src: Path, dst: Path):
    from models.store import Store

    with store.engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    shutil.copy(src, dst)
    return Store(f"sqlite:///{dst}", migrate_schema=False)


def phases(store, save):
    """run_screening's steps, timed; ``save`` saves (the store's method or the ORM reference)."""
    from geo.screening import screen, spot_communes, spot_geometries
    from services.blackspots import get_rules, screening_input

    out = {}
    t = time.perf_counter()
    roads = store.roads_frame()
    data = screening_input(store.crashes_frame(), roads)
    out["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    result = screen(data, ruleset=get_rules(None), epdo_weights=settings.EPDO_WEIGHTS, workers=settings.SCREEN_WORKERS)
    rs = result.ruleset
    in_town = set(roads.loc[roads["is_urban"].eq(True), "code"])
    rural, urban = float(rs.segment_length_m["rural"]), float(rs.segment_length_m["urban"])
    result.spots["window_m"] = [urban if r in in_town else rural for r in result.spots["road"]]
    out["screen_s"] = time.perf_counter() - t
    t = time.perf_counter()
    kw = dict(
        communes=spot_communes(result, data),
        geometries=spot_geometries(result, data, roads),
        road_ids=dict(zip(roads["code"], roads["id"])),
        user="bench",
    )
    out["geometries_s"] = time.perf_counter() - t
    t = time.perf_counter()
    diff = save(store, result, **kw)
    out["first_save_s"] = time.perf_counter() - t
    t = time.perf_counter()
    again = save(store, result, **kw)
    out["second_save_s"] = time.perf_counter() - t
    out["spots"] = len(result.spots)
    return out, diff, again


def run_again(store, next_month: dict) -> dict:
    """The re-screens a planner meets after the first: after someone changed a spot's status (the spots are
    read again), and after the next month's crashes came in (the crashes read again, new and grown spots)."""
    from services.blackspots import run_screening, set_blackspot_status

    out = {}
    spot = store.blackspots_frame().iloc[0]
    set_blackspot_status(store, int(spot["id"]), "confirmed", expected_version=int(spot["version"]), user="bench")
    t = time.perf_counter()
    run_screening(store, user="bench")
    out["run_screening_after_a_status_s"] = round(time.perf_counter() - t, 2)
    insert_crashes(store.engine, next_month, batch="thang-1-2025.csv")  # an import: its batch named in the audit log
    t = time.perf_counter()
    store.crashes_frame()
    out["after_a_month_read_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    _, diff = run_screening(store, user="bench")
    out["run_screening_after_a_month_s"] = round(time.perf_counter() - t, 2)
    out["after_a_month"] = {k: len(v) for k, v in diff.items()}
    return out


def main(n: int = 200_000, baseline: bool = True) -> dict:
    from services.blackspots import run_screening

    res: dict = {"crashes": n}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_ = Path(tmp)
        t = time.perf_counter()
        built = build_store(tmp_ / "built.sqlite", n)
        res["build_store_s"] = round(time.perf_counter() - t, 1)

        bulk = _copy(built, tmp_ / "built.sqlite", tmp_ / "bulk.sqlite")
        got, diff, again = phases(bulk, lambda st, r, **kw: st.save_screening(r, **kw))
        res["spots"] = got.pop("spots")
        res |= {f"bulk_{k}": round(v, 2) for k, v in got.items()}
        res["bulk_second_unchanged"] = len(again["unchanged"])

        e2e = _copy(built, tmp_ / "built.sqlite", tmp_ / "e2e.sqlite")
        for label in ("first", "second"):
            t = time.perf_counter()
            run_screening(e2e, user="bench")
            res[f"run_screening_{label}_s"] = round(time.perf_counter() - t, 2)
        res |= run_again(e2e, built.next_month)

        if baseline:
            from tests.models.test_save_screening_bulk import _orm_save_screening

            orm = _copy(built, tmp_ / "built.sqlite", tmp_ / "orm.sqlite")
            got, odiff, oagain = phases(orm, lambda st, r, **kw: _orm_save_screening(st, r, **kw))
            res["orm_first_save_s"] = round(got["first_save_s"], 2)
            res["orm_second_save_s"] = round(got["second_save_s"], 2)
            res["first_save_speedup"] = round(got["first_save_s"] / res["bulk_first_save_s"], 1)
            res["second_save_speedup"] = round(got["second_save_s"] / res["bulk_second_save_s"], 1)
            res["same_report"] = odiff == diff and oagain == again
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--crashes", type=int, default=200_000)
    ap.add_argument("--no-baseline", action="store_true", help="skip the ORM save (slow at 1 000 000 crashes)")
    a = ap.parse_args()
    print(main(a.crashes, baseline=not a.no_baseline))
