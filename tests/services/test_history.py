"""An item's history is complete and readable (issue 15.6): status, plan link,
agencies, notes, photos and works all appear, in the user's language, with no
raw field names, "None" or "nan"."""

from __future__ import annotations

import re

from services.blackspots import run_screening, set_blackspot_status
from services.history import FIELDS, history_names, history_table, item_history
from services.plan_parser import parse_plan, read_plan_text
from tests.conftest import SHARED

PLAN = SHARED.parent / "plans"


def _raw_keys(text: str) -> list[str]:
    """Field names of the store (snake_case or known keys) showing in a text."""
    keys = set(FIELDS) | {"None", "nan", "NaT"}
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    return sorted(w for w in words if w in keys and ("_" in w or w in ("None", "nan", "NaT", "geom")))


def test_a_spots_history_has_every_change_in_each_language(ql24_store):
    store = ql24_store
    run_screening(store, user="an")
    spot = store.blackspots_frame(kind="black_spot").iloc[0]
    sid = int(spot["id"])
    set_blackspot_status(store, sid, "confirmed", expected_version=int(spot["version"]), user="an")
    plan_file = PLAN / "kon-ray-2024-kh-batgt.md"
    draft = parse_plan(read_plan_text(plan_file.read_bytes(), plan_file.name))
    store.save_plan(draft, user="an")
    lead = store.add_agency(name="Phòng Kinh tế – Hạ tầng", user="an")
    coop = store.add_agency(name="Công an xã", user="an")
    section = int(store.sections_frame().iloc[0]["id"])
    store.link_item("blackspot", sid, section_id=section, lead_agency_id=lead, cooperating_agency_ids=[coop], user="an")
    store.add_note("blackspot", sid, "Đã khảo sát hiện trường", user="an")
    wid = store.add_work(work_type="signs", blackspot_id=sid, name="Biển cảnh báo", cost_vnd=85_000_000, user="an")

    hist = item_history(store, "blackspot", sid)
    assert set(hist["what"]) >= {"item", "plan", "note", f"work:{wid}"}
    names = history_names(store)
    vi = history_table(hist, lang="vi", names=names)
    en = history_table(hist, lang="en", names=names)
    assert list(vi.columns) == ["Thời điểm", "Người", "Mục", "Thao tác", "Thay đổi"]
    assert list(en.columns) == ["When", "By", "Item", "Action", "Changes"]
    text_vi = " | ".join(vi.astype(str).agg(" ".join, axis=1))
    text_en = " | ".join(en.astype(str).agg(" ".join, axis=1))
    assert "Trạng thái: Đề xuất (ứng viên) → Đã xác định" in text_vi
    assert "Status: Candidate → Confirmed" in text_en
    assert "Cơ quan chủ trì: Phòng Kinh tế – Hạ tầng" in text_vi and "Cơ quan phối hợp: Công an xã" in text_vi
    assert "Nội dung: Đã khảo sát hiện trường" in text_vi
    assert f"Công trình #{wid}" in text_vi and "Kinh phí (đồng): 85.000.000" in text_vi
    assert f"Work #{wid}" in text_en and "Cost (VND): 85.000.000" in text_en
    assert not _raw_keys(text_vi), _raw_keys(text_vi)
    assert not _raw_keys(text_en), _raw_keys(text_en)
    # Vietnamese mode shows no English field label, and the reverse
    labels_vi = set(re.findall(r"(?:^|; |\| )([^:;|]+?): ", text_vi))
    labels_en = set(re.findall(r"(?:^|; |\| )([^:;|]+?): ", text_en))
    en_only = {v[1] for v in FIELDS.values() if v[0] != v[1]}
    vi_only = {v[0] for v in FIELDS.values() if v[0] != v[1]}
    assert not {lab.split(" ")[-1] for lab in labels_vi} & {w for w in en_only if " " not in w}
    assert not {lab.strip() for lab in labels_en} & vi_only
