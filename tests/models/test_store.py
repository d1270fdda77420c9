"""The store on both back-ends (SQLite and PostGIS): batches, dedup, undo,
lifecycle, optimistic locking and the audit trail."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from errors import ConflictError, ImportRejected, TransitionError
from geo.validate import validate_crashes
from services.blackspots import run_screening, set_blackspot_status
from tests.conftest import HK_BOUNDS


def test_import_is_one_batch_reimport_adds_nothing_and_undo_removes_it(store, hk_slice):
    res = validate_crashes(hk_slice, bounds=HK_BOUNDS)
    first = store.import_crashes(res, filename="hk.csv", user="an")
    assert first.n_imported == res.n_valid and store.crash_count() == res.n_valid
    again = store.import_crashes(res, filename="hk.csv", user="an")
    assert again.n_imported == 0 and again.n_already_in_store == res.n_valid
    assert store.crash_count() == res.n_valid
    assert store.undo_batch(first.batch_id, user="an") == (res.n_valid, 0)  # (removed, reverted)
    assert store.crash_count() == 0
    with pytest.raises(TransitionError):
        store.undo_batch(first.batch_id)
    audit = store.history("import_batch", first.batch_id)
    assert audit["action"].tolist() == ["import", "undo"] and set(audit["user"]) == {"an"}


def test_all_or_nothing_leaves_the_store_unchanged(store, hk_slice):
    res = validate_crashes(hk_slice, bounds=HK_BOUNDS)
    assert res.n_errors > 0
    with pytest.raises(ImportRejected):
        store.import_crashes(res, filename="hk.csv", valid_only=False)
    assert store.crash_count() == 0 and store.batches_frame().empty


def test_a_failure_mid_import_rolls_back_the_batch(store, hk_slice, monkeypatch):

    res = validate_crashes(hk_slice, bounds=HK_BOUNDS)
    calls = {"n": 0}

    def boom(fraction):
        calls["n"] += 1
        raise RuntimeError("killed mid-way")

    with pytest.raises(RuntimeError):
        store.import_crashes(res, filename="hk.csv", progress=boom)
    assert calls["n"] == 1
    assert store.crash_count() == 0 and store.batches_frame().empty


def test_crash_round_trip_keeps_values(store, hk_slice):
    res = validate_crashes(hk_slice, bounds=HK_BOUNDS)
    store.import_crashes(res, filename="hk.csv")
    df = store.crashes_frame().sort_values("source_id").reset_index(drop=True)
    want = res.valid.sort_values("source_id").reset_index(drop=True)
    assert df["source_id"].tolist() == want["source_id"].tolist()
    assert np.allclose(df["lon"], want["lon"]) and (df["deaths"].to_numpy() == want["deaths"].to_numpy()).all()
    assert (df["occurred_at"].to_numpy() == want["occurred_at"].to_numpy()).all()


def test_crash_frame_read_from_the_driver_is_what_pandas_reads(store, hk_slice):
    """The crash frame read from the driver's own values (dates parsed at once,
    0/1 as booleans) is, column for column and type for type, what
    ``pandas.read_sql`` through SQLAlchemy's per-value conversions gave, on
    both back-ends: times of day, missing values and true flags included."""
    import pandas as pd
    from sqlalchemy import select, update

    from models._store_crashes import CRASH_FRAME_COLUMNS
    from models.orm import Crash

    res = validate_crashes(hk_slice, bounds=HK_BOUNDS)
    store.import_crashes(res, filename="hk.csv")
    with store.engine.begin() as conn:
        conn.execute(update(Crash).where(Crash.id % 3 == 0).values(alcohol=True, description="Xe tải `<b>`"))
        conn.execute(update(Crash).where(Crash.id % 5 == 0).values(is_simulated=True, injury_pct=12.5))
    got = store.crashes_frame()
    with store.engine.connect() as conn:
        want = pd.read_sql(
            select(*[getattr(Crash, c) for c in CRASH_FRAME_COLUMNS]).where(Crash.deleted.is_(False)), conn
        )
    want["occurred_at"] = pd.to_datetime(want["occurred_at"])
    for c in ("alcohol", "not_infrastructure", "is_simulated"):
        want[c] = want[c].astype(bool)
    assert len(got) > 100 and got["alcohol"].any() and got["is_simulated"].any()
    assert (got["occurred_at"].dt.hour > 0).any()
    pd.testing.assert_frame_equal(
        got.sort_values("id").reset_index(drop=True), want.sort_values("id").reset_index(drop=True)
    )


def test_screening_saves_spots_and_rerun_updates_rather_than_duplicates(ql24_store):
    result, counts = run_screening(ql24_store, user="an")
    assert len(counts["new"]) == len(result.spots) > 5
    spots = ql24_store.blackspots_frame()
    assert len(spots) == len(result.spots)
    bs = spots.loc[spots["kind"] == "black_spot"].iloc[0]
    assert bs["geometry"] is not None and bs["geometry"].geom_type in ("LineString", "Point")
    assert bs["tests"] and bs["crash_ids"]
    _, counts2 = run_screening(ql24_store, user="an")
    assert not counts2["new"] and not counts2["grown"] and not counts2["changed"] and not counts2["no_longer_met"]
    assert sorted(d["id"] for d in counts2["unchanged"]) == sorted(spots["id"])
    assert len(ql24_store.blackspots_frame()) == len(spots)


def test_lifecycle_rules_conflicts_and_history(ql24_store):
    run_screening(ql24_store, user="an")
    spots = ql24_store.blackspots_frame(kind="black_spot")
    sid, v = int(spots.iloc[0]["id"]), int(spots.iloc[0]["version"])
    with pytest.raises(TransitionError, match="Không thể chuyển"):
        set_blackspot_status(ql24_store, sid, "fixed", expected_version=v, user="an")
    b = set_blackspot_status(ql24_store, sid, "confirmed", expected_version=v, user="an", note="khảo sát hiện trường")
    assert b.status.value == "confirmed" and b.version == v + 1
    with pytest.raises(ConflictError, match="an"):
        set_blackspot_status(ql24_store, sid, "remediation_planned", expected_version=v, user="binh")
    with pytest.raises(TransitionError, match="vẫn đạt"):
        set_blackspot_status(ql24_store, sid, "removed", expected_version=v + 1, user="an")
    hist = ql24_store.history("blackspot", sid)
    changes = hist.loc[hist["action"] == "update", "changes"].iloc[0]
    assert changes["status"] == ["candidate", "confirmed"] and hist["user"].iloc[-1] == "an"


def test_concurrent_update_is_refused_by_the_version_check(ql24_store):
    from models.db import session_scope
    from models.orm import Blackspot

    run_screening(ql24_store)
    sid = int(ql24_store.blackspots_frame().iloc[0]["id"])
    with session_scope(ql24_store.engine, user="an") as s1:
        b1 = s1.get(Blackspot, sid)
        with session_scope(ql24_store.engine, user="binh") as s2:
            s2.get(Blackspot, sid).notes = "binh was here"
        b1.notes = "an overwrites?"
        from sqlalchemy.orm.exc import StaleDataError

        with pytest.raises(StaleDataError):
            s1.flush()
        s1.rollback()
    assert ql24_store.get_blackspot(sid).notes == "binh was here"


def test_manual_potential_point_needs_a_reason(store):
    with pytest.raises(TransitionError):
        store.flag_potential_point(lon=107.9, lat=14.6, reason=" ")
    sid = store.flag_potential_point(
        lon=107.9, lat=14.6, reason="Khuất tầm nhìn ở khúc cua", road_code="QL24", chainage_m=145_000, user="an"
    )
    row = store.blackspots_frame().set_index("id").loc[sid]
    assert row["manual"] and row["kind"] == "potential" and row["geometry"].x == 107.9


def test_postgis_has_real_geometry_columns_and_spatial_indexes(store, hk_slice):
    if not store.postgres:
        pytest.skip("PostGIS-only check: nothing to check on the SQLite run")
    store.import_crashes(validate_crashes(hk_slice, bounds=HK_BOUNDS), filename="hk.csv")
    with store.engine.connect() as c:
        srid, gtype = c.execute(text("select ST_SRID(geom), GeometryType(geom) from crash limit 1")).one()
        idx = c.execute(text("select count(*) from pg_indexes where indexname = 'ix_crash_geom'")).scalar()
    assert (srid, gtype, idx) == (4326, "POINT", 1)
