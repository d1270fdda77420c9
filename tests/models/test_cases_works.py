"""Encroachment cases and remediation works in the store, on both back-ends:
corridor position, workflows, audit, overdue, conflicts, removal rule."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
import shapely

from errors import ConflictError, TransitionError
from geo.crs import WGS84, transform
from services.blackspots import run_screening, set_blackspot_status
from services.corridor import set_case_status
from services.works import set_work_status


def _point_left_of_ql24(store, chainage_m: float, offset_m: float):
    net = store.road_network()
    line = net.lines[0]
    s = chainage_m - net.km_start[0]
    a, b, o = line.interpolate(s - 1), line.interpolate(s + 1), line.interpolate(s)
    t = np.array([b.x - a.x, b.y - a.y])
    t /= np.linalg.norm(t)
    p = np.array([o.x, o.y]) + offset_m * np.array([-t[1], t[0]])
    lon, lat = transform([p[0]], [p[1]], net.crs.to_wkt(), WGS84)
    return shapely.Point(lon[0], lat[0])


def test_case_gets_road_chainage_side_and_depth(ql24_store):
    cid = ql24_store.add_case(
        geometry=_point_left_of_ql24(ql24_store, 140_000, 15.0),
        kind="Quán nước",
        description="<b>lều</b> bán hàng",
        commune="Đăk Ruồng",
        user="an",
    )
    row = ql24_store.cases_frame().set_index("id").loc[cid]
    assert row["road_code"] == "QL24" and row["side"] == "left" and row["zone"] == "corridor"
    assert row["chainage_m"] == pytest.approx(140_000, abs=0.5)
    assert row["distance_inside_m"] == pytest.approx(21.0 - 15.0, abs=0.05)
    assert row["status"] == "detected" and row["description"] == "<b>lều</b> bán hàng"


def test_case_workflow_needs_a_record_and_is_audited(ql24_store):
    cid = ql24_store.add_case(geometry=_point_left_of_ql24(ql24_store, 141_000, 10.0), user="an")
    with pytest.raises(TransitionError, match="biên bản"):
        set_case_status(ql24_store, cid, "cleared", expected_version=1, user="an")
    with pytest.raises(TransitionError, match="số và ngày"):
        set_case_status(ql24_store, cid, "recorded", expected_version=1, user="an", record_no="12/BB")
    c = set_case_status(
        ql24_store, cid, "recorded", expected_version=1, user="an", record_no="12/BB", record_date="05/02/2025"
    )
    assert c.record_date == date(2025, 2, 5) and c.version == 2
    with pytest.raises(TransitionError, match="Không thể chuyển"):
        set_case_status(ql24_store, cid, "enforced", expected_version=2, user="an")
    with pytest.raises(TransitionError, match="hết hạn"):
        set_case_status(ql24_store, cid, "deadline_set", expected_version=2, user="an")
    set_case_status(ql24_store, cid, "deadline_set", expected_version=2, user="binh", deadline="2025-03-01")
    with pytest.raises(ConflictError, match="binh"):
        set_case_status(ql24_store, cid, "cleared", expected_version=2, user="an")
    done = set_case_status(ql24_store, cid, "enforced", expected_version=3, user="an")
    assert done.closed_on is not None
    with pytest.raises(TransitionError, match="Không thể chuyển"):
        set_case_status(ql24_store, cid, "detected", expected_version=4, user="an")
    hist = ql24_store.history("encroachment_case", cid)
    steps = [c["status"] for c in hist.loc[hist["action"] == "update", "changes"] if "status" in c]
    assert steps == [["detected", "recorded"], ["recorded", "deadline_set"], ["deadline_set", "enforced"]]
    assert hist["user"].tolist() == ["an", "an", "binh", "an"]


def test_clearing_without_a_record_is_allowed_when_the_rule_is_off(ql24_store, monkeypatch):
    import settings

    monkeypatch.setattr(settings, "CASE_RECORD_REQUIRED", False)
    cid = ql24_store.add_case(geometry=_point_left_of_ql24(ql24_store, 141_500, 10.0))
    assert set_case_status(ql24_store, cid, "cleared", expected_version=1).status.value == "cleared"


def test_overdue_cases_stand_out(ql24_store):
    today = date.today()
    a = ql24_store.add_case(geometry=_point_left_of_ql24(ql24_store, 142_000, 12.0))
    b = ql24_store.add_case(geometry=_point_left_of_ql24(ql24_store, 143_000, 12.0))
    for cid, deadline in ((a, today - timedelta(days=3)), (b, today + timedelta(days=3))):
        set_case_status(
            ql24_store, cid, "recorded", expected_version=1, record_no="1", record_date=today - timedelta(days=10)
        )
        set_case_status(ql24_store, cid, "deadline_set", expected_version=2, deadline=deadline)
    df = ql24_store.cases_frame().set_index("id")
    assert bool(df.loc[a, "overdue"]) and df.loc[a, "days_overdue"] == 3
    assert not bool(df.loc[b, "overdue"])


def test_work_lifecycle_and_dates(ql24_store):
    run_screening(ql24_store)
    spot = ql24_store.blackspots_frame(kind="black_spot").iloc[0]
    wid = ql24_store.add_work(
        work_type="signs", blackspot_id=int(spot["id"]), cost_vnd=150e6, funding_source="Ngân sách huyện", user="an"
    )
    w = ql24_store.works_frame().set_index("id").loc[wid]
    assert w["road_code"] == spot["road_code"] and w["from_m"] == spot["from_m"] and w["status"] == "proposed"
    with pytest.raises(TransitionError, match="Không thể chuyển"):
        set_work_status(ql24_store, wid, "done", expected_version=1)
    set_work_status(ql24_store, wid, "approved", expected_version=1, user="an")
    set_work_status(ql24_store, wid, "in_progress", expected_version=2, user="an", on="01/03/2025")
    with pytest.raises(TransitionError, match="trước ngày bắt đầu"):
        set_work_status(ql24_store, wid, "done", expected_version=3, on="01/02/2025")
    w = set_work_status(ql24_store, wid, "done", expected_version=3, user="an", on="30/04/2025")
    assert (w.actual_start, w.actual_end) == (date(2025, 3, 1), date(2025, 4, 30))
    with pytest.raises(ValueError):
        ql24_store.add_work(work_type="magic", road_code="QL24", from_m=1, to_m=2)


def test_removal_needs_a_clean_full_after_period(ql24_store):
    run_screening(ql24_store)
    spot = ql24_store.blackspots_frame(kind="black_spot").iloc[0]
    sid = int(spot["id"])
    v = int(spot["version"])
    for st in ("confirmed", "remediation_planned", "under_works", "fixed", "monitoring"):
        v = set_blackspot_status(ql24_store, sid, st, expected_version=v).version
    from models.orm import Blackspot

    with ql24_store.session() as s:  # the latest screening no longer finds it
        s.get(Blackspot, sid).still_qualifies = False
    v += 1
    wid = ql24_store.add_work(work_type="markings", blackspot_id=sid)
    for st in ("approved", "in_progress"):
        set_work_status(
            ql24_store,
            wid,
            st,
            expected_version=ql24_store.works_frame().set_index("id").loc[wid, "version"],
            on=date.today() - timedelta(days=60),
        )
    set_work_status(ql24_store, wid, "done", expected_version=3, on=date.today() - timedelta(days=30))
    with pytest.raises(TransitionError, match="chưa đủ"):
        set_blackspot_status(ql24_store, sid, "removed", expected_version=v)
    # the work finished long ago: its after period is over; the simulated data show no black spot there
    ql24_store.update_work(wid, expected_version=4, actual_end=date(2021, 1, 1), actual_start=date(2020, 12, 1))
    assert set_blackspot_status(ql24_store, sid, "removed", expected_version=v).status.value == "removed"


def test_photos_are_kept_in_the_store_and_travel_with_a_backup(ql24_store, tmp_path, monkeypatch):
    """Issue 17.2: a photo is in the store, not the server's folder: another server (another data folder)
    and a restored backup have it; a photo kept in the folder before still shows, never from outside it."""
    import settings
    from services.backup import backup, restore

    monkeypatch.setattr(settings, "DATA_DIR", tmp_path / "server1")
    (tmp_path / "server1").mkdir()
    cid = ql24_store.add_case(geometry=_point_left_of_ql24(ql24_store, 140_500, 12.0), user="an")
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    aid = ql24_store.add_photo("case", cid, "../../etc/hiện trường.png", png, user="an", caption="nhìn từ phía Bắc")
    rec = ql24_store.attachments("case", cid).set_index("id").loc[aid]
    assert rec["filename"] == "../../etc/hiện trường.png" and rec["path"] is None
    assert not any((tmp_path / "server1").rglob("*"))  # nothing written to the server's folder
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path / "server2")  # another server
    assert ql24_store.photo_bytes(aid) == png
    history = ql24_store.history("attachment", aid)
    assert len(history) == 1 and "0000000000" not in str(history["changes"].iloc[0])  # no bytes in the log
    if not ql24_store.postgres:
        from models.store import Store

        backup(ql24_store, tmp_path / "kho.bak")
        other = Store(f"sqlite:///{tmp_path / 'other.sqlite'}")
        restore(other, tmp_path / "kho.bak", force=True)
        assert other.photo_bytes(aid) == png
    # a photo kept in the data folder before: shown from there, but never from outside it
    from sqlalchemy import insert

    from models.orm import Attachment

    (tmp_path / "server2" / "attachments").mkdir(parents=True)
    (tmp_path / "server2" / "attachments" / "old.png").write_bytes(png)
    (tmp_path / "secret.png").write_bytes(png)
    with ql24_store.engine.begin() as conn:
        old = conn.execute(
            insert(Attachment)
            .values(item_type="case", item_id=cid, kind="photo", filename="old.png", path="attachments/old.png")
            .returning(Attachment.id)
        ).scalar_one()
        bad = conn.execute(
            insert(Attachment)
            .values(item_type="case", item_id=cid, kind="photo", filename="x.png", path="../secret.png")
            .returning(Attachment.id)
        ).scalar_one()
    assert ql24_store.photo_bytes(old) == png and ql24_store.photo_bytes(bad) is None
    with pytest.raises(TransitionError, match="JPG, PNG"):
        ql24_store.add_photo("case", cid, "x.exe", b"MZ")
    with pytest.raises(TransitionError, match="20 MB"):
        ql24_store.add_photo("case", cid, "big.jpg", b"0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(TransitionError, match="không phải ảnh"):
        ql24_store.add_photo("case", cid, "fake.jpg", b"<script>alert(1)</script>")
    assert len(ql24_store.attachments("case", cid)) == 3


def test_a_text_longer_than_the_limit_is_refused_and_nothing_is_written(ql24_store):
    """From the hostile-input probe: a 10 MB description was kept (and every page showing the case read it)."""
    import settings
    from errors import ValueOutOfRange

    where = _point_left_of_ql24(ql24_store, 140_000, 15.0)
    cases, audit = len(ql24_store.cases_frame()), ql24_store.data_version()
    with pytest.raises(ValueOutOfRange, match="Văn bản quá dài"):
        ql24_store.add_case(geometry=where, kind="Lều", description="x" * 10_000_000, user="an")
    assert len(ql24_store.cases_frame()) == cases and ql24_store.data_version() == audit
    # at the limit it is kept, as typed
    cid = ql24_store.add_case(geometry=where, kind="Lều", description="y" * settings.MAX_TEXT_CHARS, user="an")
    assert len(ql24_store.cases_frame().set_index("id").loc[cid, "description"]) == settings.MAX_TEXT_CHARS
