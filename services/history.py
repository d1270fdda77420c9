"""An item's history, complete and in the user's language: its own changes,
its plan link, notes and photos, and (for a spot) the works made for it; field
names and values translated, never a raw key, "None" or "nan". No UI here."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

import settings
from geo.corridor import ZONE_LABELS
from i18n import pick
from models.enums import BlackspotStatus, CaseStatus, ItemType, LabelledEnum, SpotKind, WorkStatus, WorkType
from models.store import Store

#: An item kind → its table in the audit log.
#: Item kind (an ItemType or its value) → the table its audit rows name.
#: ("agency" or "section", id) → its name, for the ids a history row holds.
Names = dict[tuple[str, int], str]

TABLES: dict[str, str] = {
    ItemType.BLACKSPOT: "blackspot",
    ItemType.CASE: "encroachment_case",
    ItemType.WORK: "remediation_work",
}

#: Field → (Vietnamese, English), for every field an item's history can show.
FIELDS: dict[str, tuple[str, str]] = {
    "kind": ("Loại", "Kind"),
    "status": ("Trạng thái", "Status"),
    "name": ("Tên", "Name"),
    "road_id": ("Tuyến (mã số)", "Road (number)"),
    "road_code": ("Tuyến", "Road"),
    "from_m": ("Từ lý trình", "From"),
    "to_m": ("Đến lý trình", "To"),
    "chainage_m": ("Lý trình", "Chainage"),
    "commune": ("Xã/phường", "Commune"),
    "commune_now": ("Xã/phường sau sắp xếp 2025", "Commune after the 2025 reform"),
    "geom": ("Vị trí trên bản đồ", "Map position"),
    "ruleset": ("Bộ quy tắc", "Rule set"),
    "tests": ("Tiêu chí", "Tests"),
    "test_labels": ("Diễn giải tiêu chí", "Test description"),
    "window_start": ("Cửa sổ từ", "Window from"),
    "window_end": ("Cửa sổ đến", "Window to"),
    "n_crashes": ("Số vụ", "Crashes"),
    "deaths": ("Số người chết", "Deaths"),
    "injured": ("Số người bị thương", "Injured"),
    "epdo": ("EPDO", "EPDO"),
    "n_windows": ("Số cửa sổ nối nhau", "Windows chained"),
    "window_m": ("Chiều dài cửa sổ (m)", "Window length (m)"),
    "crash_ids": ("Các vụ", "Crashes listed"),
    "window_crash_ids": ("Các vụ trong cửa sổ", "Crashes in the window"),
    "manual": ("Gắn cờ thủ công", "Flagged by hand"),
    "manual_reason": ("Lý do gắn cờ", "Reason flagged"),
    "still_qualifies": ("Còn đạt tiêu chí", "Still qualifies"),
    "first_detected_at": ("Phát hiện lần đầu", "First detected"),
    "last_run_at": ("Rà soát gần nhất", "Last screened"),
    "notes": ("Ghi chú", "Notes"),
    "deleted": ("Đã xóa", "Deleted"),
    "description": ("Mô tả", "Description"),
    "side": ("Bên đường", "Side"),
    "distance_inside_m": ("Lấn vào hành lang (m)", "Inside the corridor (m)"),
    "record_no": ("Số biên bản", "Record no."),
    "record_date": ("Ngày biên bản", "Record date"),
    "deadline": ("Thời hạn giải tỏa", "Deadline"),
    "agency_id": ("Cơ quan chủ trì", "Lead agency"),
    "batch_id": ("Lần nhập", "Import batch"),
    "zone": ("Vùng", "Zone"),
    "distance_m": ("Cách tim đường (m)", "From the centreline (m)"),
    "detected_on": ("Ngày phát hiện", "Detected on"),
    "closed_on": ("Ngày kết thúc", "Closed on"),
    "blackspot_id": ("Điểm đen", "Black spot"),
    "work_type": ("Loại công trình", "Work type"),
    "cost_vnd": ("Kinh phí (đồng)", "Cost (VND)"),
    "funding_source": ("Nguồn vốn", "Funding"),
    "planned_start": ("Dự kiến bắt đầu", "Planned start"),
    "planned_end": ("Dự kiến xong", "Planned end"),
    "actual_start": ("Bắt đầu", "Started"),
    "actual_end": ("Hoàn thành", "Finished"),
    "item_type": ("Loại mục", "Item type"),
    "item_id": ("Mục", "Item"),
    "section_id": ("Mục kế hoạch", "Plan section"),
    "lead_agency_id": ("Cơ quan chủ trì", "Lead agency"),
    "cooperating_agency_ids": ("Cơ quan phối hợp", "Cooperating agencies"),
    "text": ("Nội dung", "Text"),
    "filename": ("Tệp", "File"),
    "path": ("Nơi lưu", "Stored at"),
    "at": ("Lúc", "At"),
    "user": ("Người", "By"),
}
ACTIONS = {
    "create": ("Tạo", "Created"),
    "update": ("Sửa", "Changed"),
    "delete": ("Xóa", "Deleted"),
    "restore": ("Khôi phục", "Restored"),
    "import": ("Nhập", "Imported"),
    "merge": ("Gộp vụ trùng", "Merged duplicates"),
    "unmerge": ("Hoàn tác gộp", "Merge undone"),
}
HEADERS = {
    "at": ("Thời điểm", "When"),
    "user": ("Người", "By"),
    "what": ("Mục", "Item"),
    "action": ("Thao tác", "Action"),
    "changes": ("Thay đổi", "Changes"),
}
_ENUMS: dict[str, dict[str, type[LabelledEnum]]] = {
    "blackspot": {"status": BlackspotStatus, "kind": SpotKind},
    "encroachment_case": {"status": CaseStatus},
    "remediation_work": {"status": WorkStatus, "work_type": WorkType},
}
_HIDDEN = {"id", "item_type", "item_id", "path", "road_id", "geom", "at", "user"}
_SIDES = {"left": ("trái", "left"), "right": ("phải", "right")}


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v in ("", "nan", "None"))


def value_text(table: str, field: str, v: Any, *, lang: str = "vi", names: Names | None = None) -> str:
    """One recorded value as the user reads it.

    >>> value_text("blackspot", "status", "confirmed", lang="en")
    'Confirmed'
    >>> value_text("remediation_work", "cost_vnd", 85000000.0)
    '85.000.000'
    >>> value_text("blackspot", "still_qualifies", False), value_text("blackspot", "notes", None)
    ('Không', '—')
    """
    names = names or {}
    if _blank(v):
        return "—"
    enum = _ENUMS.get(table, {}).get(field)
    if enum is not None:
        try:
            return enum(v).label(lang)
        except ValueError:
            return str(v)
    if isinstance(v, bool):
        return pick(("Có", "Yes") if v else ("Không", "No"), lang)
    if field in ("from_m", "to_m", "chainage_m"):
        from geo.chainage import format_chainage

        return format_chainage(float(v))
    if field == "cost_vnd":
        return f"{float(v):,.0f}".replace(",", ".")
    if field in ("agency_id", "lead_agency_id"):
        return str(names.get(("agency", int(v)), f"#{int(v)}"))
    if field == "cooperating_agency_ids":
        return ", ".join(names.get(("agency", int(a)), f"#{int(a)}") for a in v) or "—"
    if field == "section_id":
        return str(names.get(("section", int(v)), f"#{int(v)}"))
    if field == "blackspot_id":
        return f"#{int(v)}"
    if field in ("crash_ids", "window_crash_ids") and isinstance(v, list):
        return f"{len(v)} {pick(('vụ', 'crashes'), lang)}"
    if field == "zone":
        return str(pick(ZONE_LABELS.get(v, (v, v)), lang))
    if field == "side":
        return str(pick(_SIDES.get(v, (v, v)), lang))
    if field == "ruleset":
        from geo.rules import load_rulesets

        rs = load_rulesets(rules_dir=settings.RULES_DIR)
        return rs[v].name if v in rs else str(v)
    if isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-":  # an ISO date or time
        try:
            t = pd.Timestamp(v)
        except ValueError:
            return v[:300]
        return t.strftime("%d/%m/%Y") if len(v) == 10 or (t.hour, t.minute) == (0, 0) else t.strftime("%d/%m/%Y %H:%M")
    if isinstance(v, float):
        return pick((f"{v:g}".replace(".", ","), f"{v:g}"), lang)
    if isinstance(v, (list, dict)):
        return ", ".join(map(str, v))[:300] if isinstance(v, list) else "…"
    return str(v)[:300]


def changes_text(table: str, changes: object, *, lang: str = "vi", names: Names | None = None) -> str:
    """``{"status": ["candidate", "confirmed"]}`` → "Trạng thái: Ứng viên → Đã xác nhận"."""
    if not isinstance(changes, dict):
        return ""
    parts = []
    for f, v in changes.items():
        if f in _HIDDEN or f in ("version", "updated_at", "updated_by"):
            continue
        label = pick(FIELDS.get(f, (f.replace("_", " "), f.replace("_", " "))), lang)
        if isinstance(v, list) and len(v) == 2:
            old, new = (value_text(table, f, x, lang=lang, names=names) for x in v)
            parts.append(f"{label}: {new}" if _blank(v[0]) else f"{label}: {old} → {new}")
        else:
            parts.append(f"{label}: {value_text(table, f, v, lang=lang, names=names)}")
    return "; ".join(parts)


def item_history(store: Store, kind: str, item_id: int) -> pd.DataFrame:
    """Every audit row about an item: its own, its plan link's, its notes' and
    photos', and for a spot the works made for it; oldest first, with the
    part each row is about (``what``: item, plan, note, work #id)."""
    parts = [store.history(TABLES[kind], item_id).assign(what="item")]
    links = store.links_frame()
    if len(links):
        ids = links.loc[(links["item_type"] == kind) & (links["item_id"] == item_id), "id"]
        parts += [store.history("plan_link", int(i)).assign(what="plan") for i in ids]
    att = store.attachments(kind, item_id)
    parts += [
        store.history("attachment", int(i)).assign(what=k) for i, k in zip(att.get("id", []), att.get("kind", []))
    ]
    if kind == ItemType.BLACKSPOT:
        works = store.works_frame()
        if len(works):
            for wid in works.loc[works["blackspot_id"] == item_id, "id"]:
                parts.append(store.history("remediation_work", int(wid)).assign(what=f"work:{int(wid)}"))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    return out.sort_values(["at", "id"], kind="stable").reset_index(drop=True) if len(out) else out


def history_table(history: pd.DataFrame, *, lang: str = "vi", names: Names | None = None) -> pd.DataFrame:
    """Audit rows as when / who / which part / action / what changed, every
    name and value in ``lang``."""
    cols = [pick(HEADERS[c], lang) for c in ("at", "user", "what", "action", "changes")]
    if history.empty:
        return pd.DataFrame(columns=cols)
    what_words = {
        "item": ("Mục này", "This item"),
        "plan": ("Kế hoạch", "Plan link"),
        "note": ("Ghi chú", "Note"),
        "photo": ("Ảnh", "Photo"),
    }

    def what(w: str) -> str:
        if str(w).startswith("work:"):
            return f"{pick(('Công trình', 'Work'), lang)} #{w.split(':')[1]}"
        return pick(what_words.get(w, (w, w)), lang)

    table_of = history["table_name"].to_numpy()
    return pd.DataFrame(
        {
            cols[0]: pd.to_datetime(history["at"]).dt.strftime("%d/%m/%Y %H:%M"),
            cols[1]: history["user"].map(lambda u: "—" if _blank(u) else str(u)),
            cols[2]: history.get("what", pd.Series("item", index=history.index)).map(what),
            cols[3]: history["action"].map(lambda a: pick(ACTIONS.get(a, (a, a)), lang)),
            cols[4]: [changes_text(t, c, lang=lang, names=names) for t, c in zip(table_of, history["changes"])],
        }
    )


def history_names(store: Store) -> Names:
    """The names history values refer to: agencies and plan sections."""
    names: Names = {}
    ag = store.agencies_frame()
    for r in ag.to_dict("records") if len(ag) else []:
        names[("agency", int(r["id"]))] = r["name"]
    sec = store.sections_frame()
    for r in sec.to_dict("records") if len(sec) else []:
        names[("section", int(r["id"]))] = f"{r['code']} {str(r['title'])[:60]}"
    return names
