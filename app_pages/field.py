"""Field entry on a phone (issue 19.2): a hazard (a potential crash point) or
an encroachment of the road safety corridor, at the phone's location (or a
place typed in), with a short description and a photo. One column, large
buttons, no table: laid out for a phone's width.

Road and chainage come from the location (``services.field.road_place``:
the nearest road within the snap distance); the entry is saved through
``services.field.record_field_entry`` as a flagged point or a case, with the
user and time in the audit log."""

from __future__ import annotations

import time

import streamlit as st

from app_pages.common import current_user, get_store, load_roads, md_text, show_error, show_flash, tr, url
from app_pages.geolocation import phone_location
from app_pages.panel import _done
from errors import BlackspotError
from geo.chainage import format_chainage
from models.permissions import ROLE_ACTIONS, Action
from services.field import ENCROACHMENT, HAZARD, PHOTO_MAX_MB, PHOTO_TYPES, record_field_entry, road_place

#: Where the page keeps the chosen location: ``{lat, lon, accuracy_m, source}`` (source: phone or manual).
LOCATION = "field_location"
#: a place from the phone older than this is taken again (the user has walked on)
STALE_SECONDS = 300

KIND_LABELS = {HAZARD: "Điểm tiềm ẩn (nguy cơ tai nạn)", ENCROACHMENT: "Lấn chiếm hành lang an toàn"}
GEO_ERRORS = {
    "denied": "Trình duyệt không cho phép lấy vị trí. Hãy cho phép trong cài đặt trình duyệt, hoặc nhập vị "
    "trí bằng tay bên dưới.",
    "unavailable": "Không xác định được vị trí. Hãy thử lại ngoài trời, hoặc nhập vị trí bằng tay bên dưới.",
    "timeout": "Quá thời gian chờ vị trí. Hãy thử lại, hoặc nhập vị trí bằng tay bên dưới.",
    "unsupported": "Trình duyệt này không lấy được vị trí. Hãy nhập vị trí bằng tay bên dưới.",
    "insecure": "Trình duyệt chỉ cho lấy vị trí khi trang mở qua HTTPS. Hãy nhập vị trí bằng tay bên dưới, "
    "hoặc nhờ quản trị bật HTTPS.",
}

# larger touch targets: the choices and buttons of this page only (no data in this markup)
st.html("""<style>
.st-key-field_kind label { min-height: 44px; align-items: center; font-size: 1.05rem; }
.st-key-field_page button { min-height: 52px; font-size: 1.05rem; }
</style>""")

st.title(tr("Ghi nhận hiện trường"))
show_flash()
principal = st.session_state.get("principal")
if principal is not None and Action.CREATE_ITEM not in ROLE_ACTIONS[principal.role]:
    st.info(tr("Tài khoản của bạn chỉ được xem; không ghi nhận được."))
    st.stop()


def _take_phone_answer(answer: dict | None) -> None:
    """A new answer of the component (its ``ts`` not seen yet) becomes the location or the error."""
    if not answer or answer.get("ts") == st.session_state.get("field_geo_ts"):
        return
    st.session_state["field_geo_ts"] = answer.get("ts")
    if answer.get("error"):
        st.session_state["field_geo_error"] = str(answer["error"])
        return
    st.session_state.pop("field_geo_error", None)
    st.session_state[LOCATION] = {
        "lat": answer.get("lat"),
        "lon": answer.get("lon"),
        "accuracy_m": answer.get("accuracy_m"),
        "source": "phone",
        "at": time.time(),
    }


def _manual_place() -> None:
    """The fallback: a place typed as coordinates, or as road and chainage (a Km post)."""
    from services.corridor import point_at_chainage

    roads = sorted(load_roads(url())["code"].dropna().unique().tolist())
    by = st.radio(
        tr("Vị trí theo"),
        ["coords", "chainage"] if roads else ["coords"],
        key="field_manual_by",
        format_func=lambda v: tr("Tọa độ") if v == "coords" else tr("Lý trình"),
    )
    if by == "chainage":
        road = st.selectbox(tr("Tuyến"), roads, key="field_manual_road")
        chain = st.text_input(tr("Lý trình (Km 140+250)"), key="field_manual_chain")
    else:
        lat = st.number_input(
            "Vĩ độ / Latitude", value=None, format="%.6f", key="field_manual_lat", placeholder="14.512345"
        )
        lon = st.number_input(
            "Kinh độ / Longitude", value=None, format="%.6f", key="field_manual_lon", placeholder="107.987654"
        )
    if st.button(tr("Dùng vị trí này"), key="field_manual_use", width="stretch"):
        try:
            if by == "chainage":
                p = point_at_chainage(get_store(), road=road, chainage=chain)
                lon, lat = p.x, p.y
            if lat is None or lon is None:
                raise BlackspotError(tr("Hãy nhập cả vĩ độ và kinh độ"))
        except BlackspotError as exc:
            show_error(exc)
        else:
            st.session_state[LOCATION] = {"lat": float(lat), "lon": float(lon), "accuracy_m": None, "source": "manual"}
            st.session_state.pop("field_geo_error", None)  # answered: the place is known
            st.rerun()


def _show_place(loc: dict) -> None:
    """Where the entry will be: the coordinates, and the road and chainage found (or that none is near)."""
    lat, lon = float(loc["lat"]), float(loc["lon"])
    acc = loc.get("accuracy_m")
    how = tr("từ điện thoại") if loc.get("source") == "phone" else tr("nhập bằng tay")
    st.caption(f"{lat:.6f}, {lon:.6f} · {how}" + (f" · ±{float(acc):.0f} m" if acc is not None else ""))
    place = road_place(get_store(), lon, lat)
    with st.container(border=True, key="field_place"):
        if place is None:
            st.warning(tr("Không trên tuyến đường nào đã biết: sẽ lưu theo tọa độ."))
        else:
            side = (
                {"left": tr("bên trái"), "right": tr("bên phải")}.get(str(place.side), "")
                if place.distance_m >= 0.5
                else ""
            )  # on the centreline: no side
            st.markdown(f"### {md_text(place.road)} {md_text(format_chainage(place.chainage_m))}")
            st.caption(f"{side}, {place.distance_m:.0f} m {tr('từ tim đường')}".strip(", "))
    if acc is not None and float(acc) > 50:
        st.warning(tr("Vị trí kém chính xác (±{n} m): hãy thử lại ở chỗ thoáng.").format(n=f"{float(acc):.0f}"))


with st.container(key="field_page"):
    kind = st.radio(
        tr("Ghi nhận gì?"), [HAZARD, ENCROACHMENT], key="field_kind", format_func=lambda k: tr(KIND_LABELS[k])
    )

    st.subheader(tr("Vị trí"))
    _take_phone_answer(phone_location("field_geo"))
    if code := st.session_state.get("field_geo_error"):
        st.warning(tr(GEO_ERRORS.get(code, GEO_ERRORS["unavailable"])))
    loc = st.session_state.get(LOCATION)
    if loc and loc.get("source") == "phone" and time.time() - float(loc.get("at", time.time())) > STALE_SECONDS:
        # a place taken minutes ago is not where the user stands now: take it again
        st.session_state.pop(LOCATION, None)
        loc = None
        st.info(tr("Vị trí đã lấy quá 5 phút trước; hãy bấm lấy vị trí lại."))
    if loc:
        _show_place(loc)
    with st.expander(tr("Nhập vị trí bằng tay"), expanded=bool(st.session_state.get("field_geo_error"))):
        _manual_place()

    st.subheader(tr("Mô tả và ảnh"))
    n = st.session_state.setdefault("field_form_n", 0)  # a new form after each save: empty fields, no old photo
    camera = st.toggle(tr("Chụp bằng camera trong trang"), key="field_camera_on")
    with st.form(f"field_form_{n}", border=False):
        desc = st.text_area(
            tr("Mô tả ngắn"),
            key=f"field_desc_{n}",
            height=90,
            max_chars=500,
            placeholder=tr("vd. ổ gà sâu giữa làn, khuất tầm nhìn ở khúc cua"),
        )
        shot = st.camera_input(tr("Ảnh"), key=f"field_shot_{n}") if camera else None
        upload = st.file_uploader(
            tr("Ảnh hiện trường (chụp hoặc chọn ảnh)"),
            type=list(PHOTO_TYPES),
            key=f"field_photo_{n}",
            max_upload_size=int(PHOTO_MAX_MB),
        )
        saved = st.form_submit_button(tr("Lưu ghi nhận"), type="primary", width="stretch")
    if saved:
        photo = shot if shot is not None else upload
        p = st.session_state.get(LOCATION) or {}
        try:
            entry = record_field_entry(
                get_store(),
                kind=kind,
                lon=p.get("lon"),
                lat=p.get("lat"),
                description=desc,
                photo=(photo.name, photo.getvalue()) if photo is not None else None,
                default_commune=getattr(principal, "commune", None),
                user=current_user(),
            )
        except BlackspotError as exc:
            show_error(exc)
        else:
            where = (
                f"{entry.road} {format_chainage(entry.chainage_m)}"
                if entry.road
                else tr("không trên tuyến đường nào đã biết")
            )
            what = (
                tr("Đã gắn cờ điểm tiềm ẩn #{id}")
                if entry.item_type == "blackspot"
                else tr("Đã ghi nhận vụ lấn chiếm #{id}")
            )
            st.session_state["field_form_n"] = n + 1
            for k in (LOCATION, "field_geo_error"):
                st.session_state.pop(k, None)
            _done(what.format(id=entry.item_id) + f": {where}" + (f" · {tr('có ảnh')}" if entry.photo_id else ""))
