"""Any item (black spot, encroachment case, remediation work) as the detail
panel shows it, and the actions on it. No UI here."""

from __future__ import annotations

import io

from collections.abc import Iterable, Mapping, Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from errors import InputFileError, NotFoundError
from geo.chainage import format_chainage
from geo.corridor import ZONE_LABELS
from geo.severity import labels as severity_labels
from i18n import pick, t
from models.enums import BlackspotStatus, CaseStatus, ItemType, LabelledEnum, SpotKind, WorkStatus, WorkType
from models.orm import Blackspot, EncroachmentCase, RemediationWork
from models.store import Store
from services.blackspots import set_blackspot_status, stretch_text
from services.communes import current_units, with_current
from services.corridor import set_case_status
from services.history import item_history
from services.lifecycle import BLACKSPOT_TRANSITIONS, CASE_TRANSITIONS, WORK_TRANSITIONS
from services.works import set_work_status


@dataclass
class ItemDetail:
    kind: str
    id: int
    title: str
    status: str
    status_label: str
    version: int
    allowed: list[tuple[str, str]]
    facts: list[tuple[str, str]]
    why: str | None = None
    crashes: pd.DataFrame = field(default_factory=pd.DataFrame)
    link: dict[str, Any] | None = None
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    attachments: pd.DataFrame = field(default_factory=pd.DataFrame)
    row: dict[str, Any] = field(default_factory=dict)


def forward_first(
    status: LabelledEnum, transitions: Mapping[Any, AbstractSet[LabelledEnum]], lang: str
) -> list[tuple[str, str]]:
    """The statuses an item may move to, the next ones forward first (the
    choice a form offers by default), then the ones back, in lifecycle order.

    >>> [v for v, _ in forward_first(BlackspotStatus.REMEDIATION_PLANNED, BLACKSPOT_TRANSITIONS, "vi")]
    ['under_works', 'confirmed']
    """
    order = list(type(status))
    here = order.index(status)
    nxt = sorted(transitions[status], key=lambda s: (order.index(s) < here, order.index(s)))
    return [(s.value, s.label(lang)) for s in nxt]


def _dmy(v: Any) -> str:
    return "" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%d/%m/%Y")


def item_detail(
    store: Store,
    kind: str,
    item_id: int,
    *,
    lang: str = "vi",
    crashes: pd.DataFrame | None = None,
    rulesets: dict[str, str] | None = None,
) -> ItemDetail:
    if kind == ItemType.BLACKSPOT:
        frame = store.blackspots_frame()
    elif kind == ItemType.CASE:
        frame = store.cases_frame()
    elif kind == ItemType.WORK:
        frame = store.works_frame()
    else:
        raise NotFoundError(kind)
    frame = frame.set_index("id") if len(frame) else frame
    if item_id not in getattr(frame, "index", []):
        raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
    r = {str(k): v for k, v in frame.loc[item_id].to_dict().items()}
    r["id"] = item_id
    facts: list[tuple[str, str]] = []
    why = None
    crash_rows = pd.DataFrame()
    if kind == ItemType.BLACKSPOT:
        st: LabelledEnum = BlackspotStatus(r["status"])
        allowed = forward_first(st, BLACKSPOT_TRANSITIONS, lang)
        title = (
            f"#{item_id} · {SpotKind(r['kind']).label(lang)} · {r['road_code'] or ''} "
            f"{format_chainage(r['from_m'])} – {format_chainage(r['to_m'])}"
        )
        stretch = stretch_text(r, vi=lang == "vi")
        facts = [(t("Đoạn", lang), stretch)] if stretch else []
        now = current_units(crashes).get(str(r.get("commune"))) if crashes is not None and r.get("commune") else None
        facts += [
            (t("Xã/phường", lang), with_current(r.get("commune"), now) if r.get("commune") else "—"),
            (t("Số vụ / chết / bị thương", lang), f"{r['n_crashes']} / {r['deaths']} / {r['injured']}"),
            ("EPDO", f"{r['epdo']:g}"),
        ]
        if r.get("manual"):
            why = t("Gắn cờ thủ công: ", lang) + (r.get("manual_reason") or "")
        else:
            rs_name = (rulesets or {}).get(r["ruleset"], r["ruleset"])
            why = (
                f"{r['test_labels']} ({r['tests']}; {rs_name}) — "
                + t("trong 12 tháng ", lang)
                + f"{_dmy(r['window_start'])} – {_dmy(r['window_end'])}"
            )
        if crashes is not None and r.get("crash_ids"):
            crash_rows = crashes.loc[crashes["id"].isin([int(i) for i in r["crash_ids"]])].copy()
            win = {int(i) for i in (r.get("window_crash_ids") or [])}
            crash_rows["in_window"] = crash_rows["id"].isin(win)
    elif kind == ItemType.CASE:
        st = CaseStatus(r["status"])
        allowed = forward_first(st, CASE_TRANSITIONS, lang)
        title = f"#{item_id} · {t('Lấn chiếm hành lang', lang)} · {r.get('kind') or ''}"
        zone = ZONE_LABELS.get(str(r.get("zone")), ("—", "—"))
        facts = [
            (
                t("item_location", lang),
                f"{r.get('road_code') or '—'} {format_chainage(r.get('chainage_m'))}, "
                f"{'bên trái' if r.get('side') == 'left' else 'bên phải' if r.get('side') == 'right' else ''}",
            ),
            (t("Vùng", lang), pick(zone, lang)),
            (
                t("Lấn vào hành lang (m)", lang),
                f"{r['distance_inside_m']:.1f}" if pd.notna(r.get("distance_inside_m")) else "—",
            ),
            (t("Biên bản", lang), f"{r.get('record_no') or '—'} {_dmy(r.get('record_date'))}"),
            (
                t("Thời hạn", lang),
                _dmy(r.get("deadline"))
                + (" " + t("— QUÁ HẠN {n} ngày", lang).format(n=r["days_overdue"]) if r.get("overdue") else ""),
            ),
            (t("Mô tả", lang), r.get("description") or ""),
        ]
    else:
        st = WorkStatus(r["status"])
        allowed = forward_first(st, WORK_TRANSITIONS, lang)
        title = f"#{item_id} · {WorkType(r['work_type']).label(lang)} · {r.get('name') or ''}"
        facts = [
            (
                t("item_location", lang),
                f"{r.get('road_code') or ''} {format_chainage(r.get('from_m'))} – {format_chainage(r.get('to_m'))}",
            ),
            (
                t("Kinh phí (đồng)", lang),
                f"{r['cost_vnd']:,.0f}".replace(",", ".") if pd.notna(r.get("cost_vnd")) else "—",
            ),
            (t("item_funding", lang), r.get("funding_source") or "—"),
            (t("item_planned", lang), f"{_dmy(r.get('planned_start'))} – {_dmy(r.get('planned_end'))}"),
            (t("Thực tế", lang), f"{_dmy(r.get('actual_start'))} – {_dmy(r.get('actual_end'))}"),
        ]
        if pd.notna(r.get("blackspot_id")):
            facts.insert(0, (t("Điểm", lang), f"#{int(r['blackspot_id'])}"))
    links = store.links_frame()
    link: dict[str, Any] | None = None
    if len(links):
        hit = links.loc[(links["item_type"] == kind) & (links["item_id"] == item_id)]
        if len(hit):
            link = {str(k): v for k, v in hit.iloc[0].to_dict().items()}
    if kind == ItemType.WORK and pd.notna(r.get("agency_id")):
        # a work's lead agency is one field: the one in the list is the one in its plan link
        link = (link or {"section_id": None, "cooperating_agency_ids": []}) | {"lead_agency_id": int(r["agency_id"])}
    return ItemDetail(
        kind=kind,
        id=item_id,
        title=title,
        status=st.value,
        status_label=st.label(lang),
        version=int(r["version"]),
        allowed=allowed,
        facts=facts,
        why=why,
        crashes=crash_rows,
        link=link,
        history=item_history(store, kind, item_id),
        attachments=store.attachments(kind, item_id),
        row=r,
    )


@dataclass
class CrashDetail:
    """One crash as the map's panel shows it: a title, facts, and the black
    spots and potential points whose crash list holds it."""

    id: int
    title: str
    facts: list[tuple[str, str]]
    spots: list[tuple[int, str]]
    same_place: int
    #: the others at the same place (the police often log an intersection's point): (id, "date · severity"),
    #: the latest first, at most :data:`SAME_PLACE_LISTED`
    others: list[tuple[int, str]] = field(default_factory=list)


#: A crash's panel lists at most this many others at its place; a description is shown up to this many characters.
SAME_PLACE_LISTED = 200
DESCRIPTION_SHOWN = 2_000


def crash_detail(
    crashes: pd.DataFrame, crash_id: int, *, spots: pd.DataFrame | None = None, lang: str = "vi"
) -> CrashDetail:
    """The facts of one crash (from the frame the map drew), the spots that
    count it, and how many other crashes share its exact place.

    Raises
    ------
    NotFoundError
        When no crash has this id in ``crashes``.
    """
    hit = crashes.loc[crashes["id"].eq(crash_id)] if len(crashes) else crashes
    if not len(hit):
        raise NotFoundError(f"Không tìm thấy vụ số {crash_id} / Crash {crash_id} not found")
    r = hit.iloc[0]
    when = pd.Timestamp(r["occurred_at"]) if pd.notna(r.get("occurred_at")) else None
    labels = severity_labels(lang)
    sev = labels.get(str(r.get("severity")), "—")
    facts = [
        (t("Thời điểm", lang), when.strftime("%d/%m/%Y %H:%M") if when is not None else "—"),
        (t("Mức độ", lang), sev),
        (t("Chết / bị thương", lang), f"{int(r['deaths'])} / {int(r['injured'])}"),
        (t("item_location", lang), f"{r.get('road_code') or '—'} {format_chainage(r.get('chainage_m'))}".strip()),
        (t("Xã/phường", lang), str(r.get("commune") or "—")),
        (t("Tọa độ", lang), f"{float(r['lat']):.6f}, {float(r['lon']):.6f}" if pd.notna(r.get("lat")) else "—"),
        (t("Nguồn", lang), f"{r.get('source') or '—'} · {r.get('source_id') or '—'}"),
    ]
    if r.get("description"):
        text = str(r["description"])
        if len(text) > DESCRIPTION_SHOWN:  # the whole text stays in the store and the exports
            text = text[:DESCRIPTION_SHOWN] + f" … ({len(text):,} ký tự / characters)".replace(",", ".")
        facts.append((t("Mô tả", lang), text))
    within: list[tuple[int, str]] = []
    if spots is not None and len(spots) and "crash_ids" in spots:
        wanted = (int(crash_id), str(crash_id))  # the lists hold the ids as numbers (or as text, from old stores)
        for sid, kind, road, ids in zip(spots["id"], spots["kind"], spots["road_code"], spots["crash_ids"]):
            if isinstance(ids, list) and (wanted[0] in ids or wanted[1] in ids):  # a list scan each: no set built
                within.append((int(sid), f"{SpotKind(kind).label(lang)} #{sid} {road or ''}".strip()))
    same, others = 0, []
    if pd.notna(r.get("lat")) and pd.notna(r.get("lon")):
        here = crashes.loc[crashes["lat"].eq(r["lat"]) & crashes["lon"].eq(r["lon"]) & crashes["id"].ne(crash_id)]
        same = len(here)
        for oid, at, sv in (
            here.sort_values(["occurred_at", "id"], ascending=False)
            .head(SAME_PLACE_LISTED)[["id", "occurred_at", "severity"]]
            .itertuples(index=False)
        ):
            day = pd.Timestamp(at).strftime("%d/%m/%Y") if pd.notna(at) else "—"
            others.append((int(oid), f"#{oid} · {day} · {labels.get(str(sv), '—')}"))
    title = f"{t('crash_one', lang)} #{crash_id}" + (f" · {when.strftime('%d/%m/%Y')}" if when is not None else "")
    return CrashDetail(id=int(crash_id), title=title, facts=facts, spots=within, same_place=same, others=others)


def change_status(
    store: Store,
    kind: str,
    item_id: int,
    new_status: str,
    *,
    version: int,
    user: str,
    note: str | None = None,
    **extra: Any,
) -> Blackspot | EncroachmentCase | RemediationWork:
    """One entry point for the status change of any item."""
    if kind == ItemType.BLACKSPOT:
        return set_blackspot_status(store, item_id, new_status, expected_version=version, user=user, note=note)
    if kind == ItemType.CASE:
        return set_case_status(store, item_id, new_status, expected_version=version, user=user, note=note, **extra)
    if kind == ItemType.WORK:
        return set_work_status(store, item_id, new_status, expected_version=version, user=user, **extra)
    raise NotFoundError(kind)


def link_with_agency(
    store: Store,
    kind: str,
    item_id: int,
    *,
    section_id: int | None,
    lead_agency_id: int | None,
    new_lead_name: str | None = None,
    cooperating_agency_ids: Iterable[int] = (),
    user: str | None = None,
) -> int | None:
    """Link an item to its plan section and agencies, adding the lead agency
    first when it is new (a name not in the list; an existing name is reused,
    case and spaces aside). Returns the lead agency's id."""
    name = " ".join(str(new_lead_name or "").split())
    if name:
        agencies = store.agencies_frame()
        same = (
            agencies.loc[agencies["name"].str.casefold().str.split().str.join(" ") == name.casefold()]
            if len(agencies)
            else agencies
        )
        lead_agency_id = int(same["id"].iloc[0]) if len(same) else store.add_agency(name=name, user=user)
    store.link_item(
        kind,
        item_id,
        section_id=None if section_id is None else int(section_id),
        lead_agency_id=None if lead_agency_id is None else int(lead_agency_id),
        cooperating_agency_ids=[int(a) for a in cooperating_agency_ids],
        user=user,
    )
    return lead_agency_id


# ------------------------------------------------------------- the items' other writes (pages and CLI call these)
def add_note(store: Store, kind: str, item_id: int, text: str, *, user: str | None = None) -> int:
    """A note on an item (in its history)."""
    return store.add_note(kind, item_id, text, user=user)


#: The largest photo accepted, in pixels (a 60-megapixel camera is far beyond a phone's; a small file that says it is
#: 20 000 × 20 000 pixels would unpack to gigabytes on every view)
PHOTO_MAX_PIXELS = 60_000_000


def check_image(data: bytes) -> None:
    """Refuse bytes that are not a whole JPG, PNG or WEBP image of at most
    :data:`PHOTO_MAX_PIXELS` (decoded once here, so what is kept can be shown).

    >>> check_image(b"\\xff\\xd8\\xff\\xe0<html><script>alert(1)</script>")
    Traceback (most recent call last):
    errors.InputFileError: Ảnh hỏng hoặc không phải ảnh / The photo is damaged or not an image
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format not in ("JPEG", "PNG", "WEBP"):
                raise InputFileError("Ảnh phải là JPG, PNG hoặc WEBP / A photo must be JPG, PNG or WEBP")
            w, h = im.size
            if w * h > PHOTO_MAX_PIXELS:
                raise InputFileError(f"Ảnh quá lớn ({w} × {h} điểm ảnh) / The photo is too large ({w} × {h} pixels)")
            im.load()
    except InputFileError:
        raise
    except Image.DecompressionBombError:
        raise InputFileError("Ảnh quá lớn (số điểm ảnh) / The photo is too large (pixels)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise InputFileError("Ảnh hỏng hoặc không phải ảnh / The photo is damaged or not an image") from None


def add_photo(store: Store, kind: str, item_id: int, filename: str, data: bytes, *, user: str | None = None) -> int:
    """A site photo on an item (a whole JPG, PNG or WEBP image, checked by
    :func:`check_image`; kept in the store)."""
    check_image(data)
    return store.add_photo(kind, item_id, filename, data, user=user)


def delete_item(store: Store, kind: str, item_id: int, *, version: int, user: str | None = None) -> None:
    """Mark an item deleted (an admin can restore it)."""
    store.delete_item(kind, item_id, expected_version=version, user=user)


def restore_item(store: Store, kind: str, item_id: int, *, user: str | None = None) -> None:
    store.restore_item(kind, item_id, user=user)


def flag_potential_point(
    store: Store,
    *,
    lon: float,
    lat: float,
    reason: str,
    commune: str | None = None,
    road_code: str | None = None,
    chainage_m: float | None = None,
    user: str | None = None,
) -> int:
    """A potential crash point flagged by hand at a place, with its reason."""
    return store.flag_potential_point(
        lon=lon, lat=lat, reason=reason, commune=commune, road_code=road_code, chainage_m=chainage_m, user=user
    )
