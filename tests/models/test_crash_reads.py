"""The kept crash frame brought up to date by reading again only what was written (issue 18.1): after each
kind of write, the frame every page gets is exactly a whole read's, on both back-ends; writes it cannot
follow row by row make it read the table whole."""

from __future__ import annotations

import pandas as pd
import pytest

import models._store_crashes as store_crashes
from geo.chainage import format_chainage
from geo.io import RawTable
from geo.validate import validate_crashes


def _import(store, rows: list[tuple[str, str, float, int, int]], name: str) -> int:
    """Crashes on QL24: (police id, dd/mm/yyyy, chainage in metres, deaths, injured); the batch id."""
    frame = pd.DataFrame(
        {
            "Mã vụ": [r[0] for r in rows],
            "Ngày xảy ra": [r[1] for r in rows],
            "Lý trình": [format_chainage(r[2]) for r in rows],
            "Tuyến đường": "QL24",
            "Số người chết": [str(r[3]) for r in rows],
            "Số người bị thương": [str(r[4]) for r in rows],
        }
    )
    net = store.road_network()
    res = validate_crashes(RawTable(frame=frame, fmt="csv"), roads=net)
    assert res.n_errors == 0, res.report
    return store.import_crashes(res, filename=name, roads=net, source="CA tỉnh").batch_id


@pytest.fixture
def patches(monkeypatch):
    """What each patch gave: a frame (patched) or None (read whole)."""
    got: list[bool] = []
    patch = store_crashes.CrashesMixin._crashes_patch

    def spy(self, kept, after, upto):
        out = patch(self, kept, after, upto)
        got.append(out is not None)
        return out

    monkeypatch.setattr(store_crashes.CrashesMixin, "_crashes_patch", spy)
    return got


def _same_as_a_whole_read(store) -> pd.DataFrame:
    kept = store.crashes_frame()
    pd.testing.assert_frame_equal(kept, store._crashes_read())
    return kept


def test_each_write_is_followed_as_a_whole_read_gives_it(ql24_store, patches):
    store = ql24_store
    before = _same_as_a_whole_read(store)
    n0 = len(before)
    assert n0 > 100 and not patches

    # a new batch: its crashes added
    _import(store, [("A1", "15/03/2024", 140_000.0, 1, 0), ("A2", "16/03/2024", 140_100.0, 0, 2)], "a.csv")
    after = _same_as_a_whole_read(store)
    assert patches == [True] and len(after) == n0 + 2
    assert after["id"].is_monotonic_increasing

    # a batch that corrects one of them (same police id, another count) and adds one
    _import(store, [("A1", "15/03/2024", 140_000.0, 2, 0), ("A3", "17/03/2024", 142_000.0, 0, 1)], "b.csv")
    after = _same_as_a_whole_read(store)
    assert patches == [True, True] and len(after) == n0 + 3
    assert after.loc[after["source_id"].eq("A1"), "deaths"].tolist() == [2]

    # a crash edited by hand, two reports merged into one
    a2, a3 = (int(after.loc[after["source_id"].eq(s), "id"].iloc[0]) for s in ("A2", "A3"))
    store.merge_crashes(a2, a3, user="an")
    after = _same_as_a_whole_read(store)
    assert patches == [True, True, True] and len(after) == n0 + 2 and a3 not in set(after["id"])

    # a batch undone: read whole
    batch = int(store.batches_frame()["id"].max())
    assert store.undo_batch(batch, user="an") == (1, 1)  # A3 removed, A1's correction reverted
    after = _same_as_a_whole_read(store)
    assert patches[-1] is False
    assert "A3" not in set(after["source_id"]) and after.loc[after["source_id"].eq("A1"), "deaths"].tolist() == [1]


def test_a_large_share_written_is_read_whole(ql24_store, patches, monkeypatch):
    store = ql24_store
    _same_as_a_whole_read(store)
    monkeypatch.setattr(store_crashes, "PATCH_SHARE", 0.001)
    _import(store, [(f"B{i}", "15/03/2024", 140_000.0 + 10 * i, 0, 1) for i in range(5)], "c.csv")
    after = _same_as_a_whole_read(store)
    assert patches == [False] and after["source_id"].isin([f"B{i}" for i in range(5)]).sum() == 5


def test_a_frame_read_while_another_writer_runs_is_not_patched_from(ql24_store, patches):
    """PostgreSQL numbers an audit row when it is written and shows it at commit: a frame read while an
    import is writing may be at a version above that import's first rows. Brought up to date row by row
    from that version, it would never see them; it is read whole instead (found by a helper)."""
    from sqlalchemy import insert, update

    from models.orm import AuditLog, Crash

    store = ql24_store
    if not store.postgres:
        pytest.skip("PostGIS-only check: SQLite has one writer at a time")
    kept = _same_as_a_whole_read(store)
    target, other = int(kept["id"].iloc[0]), int(kept["id"].iloc[1])
    slow = store.engine.connect()  # an import correcting a crash, not committed yet
    tx = slow.begin()
    slow.execute(update(Crash).where(Crash.id == target).values(deaths=7, version=Crash.version + 1))
    slow.execute(insert(AuditLog).values(table_name="crash", row_id=target, action="update", changes={}))
    _import(store, [("C1", "15/03/2024", 140_000.0, 0, 1)], "c.csv")  # another write commits meanwhile
    mid = store.crashes_frame()  # read while the import runs: its correction not visible yet
    assert mid.loc[mid["id"].eq(target), "deaths"].tolist() == kept.loc[kept["id"].eq(target), "deaths"].tolist()
    calls = len(patches)
    tx.commit()
    slow.close()
    with store.session("an") as s:  # a later write moves the version on
        s.get(Crash, other).injured = 5
    after = _same_as_a_whole_read(store)
    assert after.loc[after["id"].eq(target), "deaths"].tolist() == [7]
    assert len(patches) == calls  # read whole: the frame before was read while a writer was in progress


def test_a_corrected_commune_takes_the_unit_it_now_belongs_to(ql24_store):
    """A correction that moves a crash to another old (pre-2025) commune also sets the commune it belongs
    to now, and an undo puts both back (found by a helper: the earlier commune's new unit stayed)."""
    from data.demo import communes_2025_of_demo_areas
    from services.importing import match_result_communes

    store = ql24_store
    store.add_admin_units(communes_2025_of_demo_areas(), user="an")
    net = store.road_network()
    want, ids = [], []
    for k, name in enumerate(("Xã Đăk Tờ Re", "Thị trấn Đăk Rve")):  # two old communes of Kon Rẫy
        frame = pd.DataFrame(
            {
                "Mã vụ": ["X1"],
                "Ngày xảy ra": ["15/03/2024"],
                "Lý trình": ["Km 141+100"],
                "Tuyến đường": ["QL24"],
                "Xã": [name],
                "Số người chết": ["0"],
                "Số người bị thương": ["1"],
            }
        )
        res = validate_crashes(RawTable(frame=frame, fmt="csv"), roads=net)
        match_result_communes(store, res)
        want.append(res.rows[["commune", "commune_now"]].iloc[0].tolist())
        ids.append(store.import_crashes(res, filename=f"x{k}.csv", roads=net, source="CA huyện").batch_id)
    assert want[0][1] and want[1][1] and want[0][1] != want[1][1]  # each in another unit now
    assert store.crashes_frame().query("source_id == 'X1'")[["commune", "commune_now"]].values.tolist() == [want[1]]
    store.undo_batch(ids[1], user="an")
    assert store.crashes_frame().query("source_id == 'X1'")[["commune", "commune_now"]].values.tolist() == [want[0]]


def test_a_frame_read_while_another_writer_runs_is_read_again_once_it_is_done(ql24_store):
    """The same race, with nothing written after the slow writer: its rows are numbered below the version
    the frame was kept at, and its commit does not move the version. Once no writer is in progress, the
    frame read while one was is read again."""
    from sqlalchemy import insert, update

    from models.orm import AuditLog, Crash

    store = ql24_store
    if not store.postgres:
        pytest.skip("PostGIS-only check: SQLite has one writer at a time")
    kept = _same_as_a_whole_read(store)
    target = int(kept["id"].iloc[0])
    slow = store.engine.connect()
    tx = slow.begin()
    slow.execute(update(Crash).where(Crash.id == target).values(deaths=8, version=Crash.version + 1))
    slow.execute(insert(AuditLog).values(table_name="crash", row_id=target, action="update", changes={}))
    _import(store, [("C2", "15/03/2024", 140_500.0, 0, 1)], "d.csv")  # numbered after the slow writer's row
    version = store.data_version()
    store.crashes_frame()  # kept while the slow writer runs
    tx.commit()
    slow.close()
    assert store.data_version() == version  # its commit shows a row numbered below: the version stays
    after = _same_as_a_whole_read(store)
    assert after.loc[after["id"].eq(target), "deaths"].tolist() == [8]
