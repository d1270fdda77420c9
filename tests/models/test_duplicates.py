"""Issue 19.4 in the store: candidate pairs of the live crashes, "not a duplicate" kept, a merge by a
person (values chosen, audit naming both sources, the merged crash gone from the kept reads), refusals
that change nothing, and the undo."""

from __future__ import annotations

import pandas as pd
import pytest

from errors import ConflictError, NotFoundError, PermissionDenied, TransitionError
from geo.io import RawTable
from geo.validate import validate_crashes
from models.enums import Role
from models.permissions import Principal
from services.duplicates import duplicate_pairs, merge_pair, not_duplicate, pair_detail, undo_decision


def _table(rows: list[dict]) -> RawTable:
    return RawTable(frame=pd.DataFrame(rows).astype(str), fmt="csv")


POLICE = [
    {
        "Mã vụ": "CA-1",
        "Ngày giờ": "01/05/2024 08:00",
        "Kinh độ": "107.95",
        "Vĩ độ": "14.55",
        "Xã": "Đăk Ruồng",
        "Số người chết": "1",
        "Số người bị thương": "0",
        "Nguyên nhân": "Vượt ẩu",
        "Mô tả": "Xe tải va xe máy",
    },
    {
        "Mã vụ": "CA-2",
        "Ngày giờ": "03/05/2024 17:30",
        "Kinh độ": "107.97",
        "Vĩ độ": "14.56",
        "Xã": "Tân Lập",
        "Số người chết": "0",
        "Số người bị thương": "2",
        "Nguyên nhân": "Say rượu",
        "Mô tả": "Hai xe máy",
    },
]
HEALTH = [  # the same two crashes as the health service saw them: ~15 m and 20 minutes off, other counts
    {
        "Mã vụ": "YT-7",
        "Ngày giờ": "01/05/2024 08:20",
        "Kinh độ": "107.95012",
        "Vĩ độ": "14.55005",
        "Xã": "Đăk Ruồng",
        "Số người chết": "1",
        "Số người bị thương": "2",
        "Nguyên nhân": "",
        "Mô tả": "Cấp cứu 2 người",
    },
    {
        "Mã vụ": "YT-8",
        "Ngày giờ": "03/05/2024 17:45",
        "Kinh độ": "107.9701",
        "Vĩ độ": "14.5601",
        "Xã": "Tân Lập",
        "Số người chết": "0",
        "Số người bị thương": "3",
        "Nguyên nhân": "",
        "Mô tả": "Ba người bị thương",
    },
]


@pytest.fixture
def two_sources(store):
    for rows, source in ((POLICE, "Công an huyện"), (HEALTH, "Trung tâm y tế")):
        res = validate_crashes(_table(rows))
        assert res.n_errors == 0, res.errors
        store.import_crashes(res, filename=f"{source}.csv", source=source)
    crashes = store.crashes_frame()
    ids = dict(zip(crashes["source_id"], crashes["id"].astype(int)))
    return store, ids


def test_pairs_are_the_two_sources_reports(two_sources):
    store, ids = two_sources
    pairs = duplicate_pairs(store)
    assert {(int(a), int(b)) for a, b in zip(pairs["id_a"], pairs["id_b"])} == {
        tuple(sorted((ids["CA-1"], ids["YT-7"]))),
        tuple(sorted((ids["CA-2"], ids["YT-8"]))),
    }
    assert set(pairs["source_a"]) | set(pairs["source_b"]) == {"Công an huyện", "Trung tâm y tế"}
    assert pairs["score"].is_monotonic_decreasing
    # a tighter time limit leaves the 15-minute pair only
    tight = duplicate_pairs(store, minutes=16)
    assert len(tight) == 1 and set(tight[["id_a", "id_b"]].iloc[0]) == {ids["CA-2"], ids["YT-8"]}


def test_not_a_duplicate_is_kept_and_undone(two_sources):
    store, ids = two_sources
    not_duplicate(store, ids["YT-7"], ids["CA-1"], user="lan")
    pairs = duplicate_pairs(store)
    assert len(pairs) == 1 and ids["CA-1"] not in set(pairs["id_a"]) | set(pairs["id_b"])
    with pytest.raises(TransitionError):
        not_duplicate(store, ids["CA-1"], ids["YT-7"])
    undo_decision(store, ids["CA-1"], ids["YT-7"], user="lan")
    assert len(duplicate_pairs(store)) == 2


def test_merge_takes_the_chosen_values_and_audits_both_sources(two_sources):
    store, ids = two_sources
    keep, drop = ids["CA-1"], ids["YT-7"]
    before = store.crashes_frame()
    assert len(before) == 4 and duplicate_pairs(store).shape[0] == 2  # the kept reads are warm
    d = pair_detail(store, keep, drop)
    assert d.sources == ("Công an huyện", "Trung tâm y tế")
    assert set(d.choices) == {"occurred_at", "place", "injured", "cause", "description"}
    changed = merge_pair(store, keep, drop, fields=["injured", "description"], versions=d.versions, user="lan")
    assert changed["injured"] == [0, 2] and changed["description"] == ["Xe tải va xe máy", "Cấp cứu 2 người"]
    crashes = store.crashes_frame()
    assert drop not in set(crashes["id"]) and len(crashes) == 3
    kept = crashes.set_index("id").loc[keep]
    assert (kept["injured"], kept["deaths"], kept["cause"], kept["description"]) == (2, 1, "Vượt ẩu", "Cấp cứu 2 người")
    assert kept["occurred_at"] == pd.Timestamp("2024-05-01 08:00")  # not chosen: its own value
    rec = store.crash_records([drop]).iloc[0]
    assert bool(rec["deleted"]) and int(rec["merged_into"]) == keep
    # the audit: both crashes, both sources and ids, every changed value old → new
    h_keep, h_drop = store.history("crash", keep), store.history("crash", drop)
    mk = h_keep.loc[h_keep["action"] == "merge", "changes"].iloc[-1]
    md = h_drop.loc[h_drop["action"] == "merge", "changes"].iloc[-1]
    for ch in (mk, md):
        assert ch["kept_source"][1] == "Công an huyện" and ch["merged_source"][1] == "Trung tâm y tế"
        assert ch["kept_source_id"][1] == "CA-1" and ch["merged_source_id"][1] == "YT-7"
        assert ch["kept_id"][1] == keep and ch["merged_id"][1] == drop
    assert mk["injured"] == [0, 2] and mk["description"] == ["Xe tải va xe máy", "Cấp cứu 2 người"]
    assert md["deleted"] == [False, True] and md["merged_into"] == [None, keep]
    # the merged pair is no longer offered, the other one is
    pairs = duplicate_pairs(store)
    assert len(pairs) == 1 and {ids["CA-2"], ids["YT-8"]} == set(pairs[["id_a", "id_b"]].iloc[0])


def test_merge_place_moves_the_point(two_sources):
    store, ids = two_sources
    merge_pair(store, ids["CA-2"], ids["YT-8"], fields=["place", "occurred_at"])
    kept = store.crashes_frame().set_index("id").loc[ids["CA-2"]]
    assert (round(kept["lon"], 5), round(kept["lat"], 5)) == (107.9701, 14.5601)
    assert kept["occurred_at"] == pd.Timestamp("2024-05-03 17:45")


def _snapshot(store):
    frame = store.crash_records(store.crashes_frame()["id"].tolist() + [0])
    return frame.to_dict("records"), len(store.pair_decisions_frame()), store.data_version()


@pytest.mark.parametrize("bad", ["same", "stale", "field", "gone", "viewer", "other_commune"])
def test_a_refused_merge_changes_nothing(two_sources, bad):
    store, ids = two_sources
    keep, drop = ids["CA-1"], ids["YT-7"]
    versions = pair_detail(store, keep, drop).versions
    if bad == "gone":
        merge_pair(store, ids["CA-2"], ids["YT-8"])
    before = _snapshot(store)
    actor, kw = store, {"versions": versions}
    if bad == "same":
        kw["drop_id"] = keep
    elif bad == "stale":
        kw["versions"] = (versions[0] - 1, versions[1])
    elif bad == "field":
        kw["fields"] = ["source_id"]
    elif bad == "gone":
        kw["drop_id"], kw["keep_id"], kw["versions"] = ids["YT-8"], ids["CA-1"], None
    elif bad == "viewer":
        actor = store.with_principal(Principal("xem", Role.VIEWER))
    elif bad == "other_commune":
        actor = store.with_principal(Principal("lan", Role.COMMUNE_EDITOR, commune="Tân Lập"))
    errors = {
        "same": TransitionError,
        "stale": ConflictError,
        "field": TransitionError,
        "gone": NotFoundError,
        "viewer": PermissionDenied,
        "other_commune": PermissionDenied,
    }
    with pytest.raises(errors[bad]):
        merge_pair(actor, kw.pop("keep_id", keep), kw.pop("drop_id", drop), **kw)
    assert _snapshot(store) == before


def test_commune_editor_merges_in_its_commune(two_sources):
    store, ids = two_sources
    lan = store.with_principal(Principal("lan", Role.COMMUNE_EDITOR, commune="Tân Lập"))
    merge_pair(lan, ids["CA-2"], ids["YT-8"], fields=["injured"])
    assert store.history("crash", ids["CA-2"])["user"].iloc[-1] == "lan"


def test_undo_merge_puts_both_back(two_sources):
    store, ids = two_sources
    keep, drop = ids["CA-1"], ids["YT-7"]
    original = store.crashes_frame().sort_values("id").reset_index(drop=True)
    merge_pair(store, keep, drop, fields=["injured", "place", "occurred_at", "description"])
    assert len(store.crashes_frame()) == 3
    undo_decision(store, keep, drop, user="lan")
    after = store.crashes_frame().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(after, original)
    assert len(duplicate_pairs(store)) == 2
    assert store.history("crash", keep)["action"].iloc[-1] == "unmerge"


def test_undo_merge_is_refused_once_the_kept_crash_changed(two_sources):
    store, ids = two_sources
    keep, drop = ids["CA-1"], ids["YT-7"]
    merge_pair(store, keep, drop, fields=["injured"])
    with store.engine.begin() as conn:  # the kept crash corrected after the merge
        from models._store_crashes import _update_crash

        _update_crash(conn, keep, {"cause": "Sửa tay"}, user="an")
    with pytest.raises(ConflictError):
        undo_decision(store, keep, drop)
    assert drop not in set(store.crashes_frame()["id"])


@pytest.mark.filterwarnings("ignore:Did not recognize type")
def test_the_migration_gives_the_orms_table_and_column(store):
    """Migration 0008 on both back-ends: the decisions table and ``crash.merged_into`` as the ORM has them."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models.orm import Base

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert MigrationContext.configure(conn).get_current_revision() == "0008"
    mine = [d for d in diffs if "crash_pair_decision" in repr(d) or "merged_into" in repr(d)]
    assert not mine, mine


def test_undoing_the_kept_crashs_import_brings_the_merged_report_back(two_sources):
    """The police batch of the kept crash is undone: the health service's
    report merged into it is a crash again (it was never wrong), and says so
    in its history; it is offered in no pair (its partner is gone)."""
    store, ids = two_sources
    keep, drop = ids["CA-1"], ids["YT-7"]
    d = pair_detail(store, keep, drop)
    merge_pair(store, keep, drop, fields=["injured"], versions=d.versions, user="lan")
    police = int(store.crash_records([keep]).iloc[0]["batch_id"])
    store.undo_batch(police, user="lan")
    crashes = store.crashes_frame()
    assert set(crashes["source_id"]) == {"YT-7", "YT-8"}
    rec = store.crash_records([drop]).iloc[0]
    assert not bool(rec["deleted"]) and pd.isna(rec["merged_into"])
    h = store.history("crash", drop)
    assert h["action"].iloc[-1] == "restore" and h["changes"].iloc[-1]["merged_into"] == [keep, None]
    assert duplicate_pairs(store).empty


def test_two_people_merging_one_pair_from_opposite_sides_lose_no_crash(two_sources, monkeypatch):
    """A into B here while someone else merges B into A between our read and our write: ours is refused
    (the versions moved on), and exactly one of the two reports stays a crash. (On PostgreSQL the rows are
    locked while read, so the second merge waits instead: a same-thread test would wait on itself.)"""
    from models._store_duplicates import DuplicatesMixin
    from models.store import Store

    store, ids = two_sources
    if store.postgres:
        pytest.skip("SQLite check: PostgreSQL locks the two rows while a merge reads them")
    a, b = ids["CA-1"], ids["YT-7"]
    other = Store(str(store.engine.url))
    real = DuplicatesMixin._live_pair
    calls = []

    def read_then_let_the_other_merge(self, conn, x, y, versions):
        rows = real(self, conn, x, y, versions)
        if not calls:
            calls.append(1)
            merge_pair(other, b, a, fields=["description"], versions=None, user="binh")
        return rows

    monkeypatch.setattr(DuplicatesMixin, "_live_pair", read_then_let_the_other_merge)
    with pytest.raises(ConflictError):
        merge_pair(store, a, b, fields=["injured"], versions=None, user="lan")
    rec = store.crash_records([a, b]).set_index("id")
    assert not bool(rec.loc[b, "deleted"]) and bool(rec.loc[a, "deleted"]) and int(rec.loc[a, "merged_into"]) == b
    assert len(store.crashes_frame()) == 3


def test_a_pair_marked_not_a_duplicate_is_not_merged_until_that_is_undone(two_sources):
    """From the hostile-input probe: a merge overrode an earlier "not a duplicate" silently."""
    store, ids = two_sources
    a, b = ids["CA-1"], ids["YT-7"]
    not_duplicate(store, a, b, user="lan")
    with pytest.raises(TransitionError, match="not a duplicate"):
        merge_pair(store, a, b, fields=["injured"], versions=None, user="binh")
    assert len(store.crashes_frame()) == 4
    undo_decision(store, a, b, user="lan")
    merge_pair(store, a, b, fields=["injured"], versions=None, user="binh")
    assert len(store.crashes_frame()) == 3
