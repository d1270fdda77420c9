"""Bản đồ / Map: every layer, select an item to see and act on it, or pick a
place on a road to record an encroachment or flag a potential crash point."""

from __future__ import annotations

import shapely
import streamlit as st
from app_pages.folium_map import last_map_value, show_map

import settings
from errors import AreaError, BlackspotError, NotFoundError
from geo.chainage import format_chainage
from i18n import t
from models.enums import SpotKind
from app_pages.common import (
    clear_area,
    current_user,
    filters,
    get_store,
    invalidate,
    lang,
    load_boundaries,
    load_cases,
    load_corridors,
    load_crashes,
    load_roads,
    load_spots,
    load_works,
    md_text,
    set_area,
    show_error,
    show_flash,
    tr,
    url,
)
from app_pages.panel import record_case_form, render_item_panel
from services.corridor import locate_point
from services.filters import filter_crashes, filter_items, filter_spots
from services.items import crash_detail, flag_potential_point
from services.map_points import crash_at, parse_crash_tag
from services.maps import CRASH, chosen_crash_ring, chosen_place_mark, pack_crashes, parse_item_tag, planner_map
from services.works import work_geometries

L = lang()
vi = L == "vi"
st.title(t("map", L))
show_flash()
f = filters()
crashes = filter_crashes(load_crashes(url(), shared=True), f)  # a frame of its own (the page only reads it)
spots = filter_spots(load_spots(url()), f)
roads = load_roads(url())
cases = filter_items(load_cases(url()), f)
works = filter_items(work_geometries(load_works(url()), load_spots(url()), roads), f)  # a work where the map shows it

c = st.columns(4)
heat = c[0].toggle(t("heat", L), key="map_heat")
offline = c[1].toggle(tr("Nền ngoại tuyến"), value=settings.OFFLINE_MAP, key="map_offline")
show_corr = c[2].toggle(tr("Hành lang an toàn"), value=True, key="map_corridors")
c[3].caption(
    f"{len(crashes):,} {tr('vụ')} · {len(spots)} {tr('điểm')} · "
    f"{len(cases)} {tr('vụ lấn chiếm')} · {len(works)} {tr('công trình')}".replace(",", ".")
)
unplaced = int((crashes["lon"].isna() | crashes["lat"].isna()).sum()) if len(crashes) else 0
if unplaced:  # counted above, not drawn: say so (a file without coordinates draws an empty map otherwise)
    st.caption(tr("{n} vụ không có tọa độ nên không vẽ trên bản đồ").format(n=f"{unplaced:,}".replace(",", ".")))
if f.area:
    a1, a2 = st.columns([3, 1])
    a1.info(tr("Đang lọc theo vùng vẽ trên bản đồ"))
    a2.button(tr("Bỏ lọc vùng"), key="map_area_clear", on_click=clear_area)

items = (
    [
        ("blackspot", int(i), f"{SpotKind(k).label(L)} #{i} {r or ''} {format_chainage(a)}")
        for i, k, r, a in zip(spots["id"], spots["kind"], spots["road_code"], spots["from_m"])
    ]
    if len(spots)
    else []
)
items += (
    [
        ("case", int(i), f"{tr('Lấn chiếm')} #{i} {r or ''} {format_chainage(ch)}")
        for i, r, ch in zip(cases["id"], cases["road_code"], cases["chainage_m"])
    ]
    if len(cases)
    else []
)
items += (
    [
        ("work", int(i), f"{tr('Công trình')} #{i} {n or w}")
        for i, n, w in zip(works["id"], works["name"], works["work_type"])
    ]
    if len(works)
    else []
)


def _take_map_value(out: dict | None) -> None:
    """What the map sent back (a click on an item or a crash, a click on a place, an outline drawn) becomes
    the selection or the chosen place; a value seen before, or none, changes nothing."""
    if out is None:
        return
    # the map is rebuilt when its data change and its click counter may restart:
    # an item click is new when (counter, tooltip) differs from the last one seen
    obj = (out.get("last_object_clicked_count"), out.get("last_object_clicked_tooltip"))
    clicked = out.get("last_clicked")
    new_object = bool(obj[0]) and obj != st.session_state.get("_map_obj")
    new_place = bool(clicked) and clicked != st.session_state.get("_map_last_click")
    st.session_state["_map_obj"], st.session_state["_map_last_click"] = obj, clicked
    tip = out.get("last_object_clicked_tooltip") if new_object else None
    tag = parse_item_tag(tip)
    if tag is None and parse_crash_tag(tip) is not None:  # a crash: its packed row, read against this map's packing
        cid = crash_at(pack_crashes(crashes), tip)
        if cid is None:
            st.info(tr("Bản đồ vừa được vẽ lại: hãy bấm lại vào vụ cần xem."))
        else:
            tag = (CRASH, cid)
    # shapes drawn with the toolbar (a click on an item is not a drawing)
    drawings = out.get("all_drawings") or []
    new_drawing = len(drawings) > st.session_state.get("_map_n_drawings", 0)
    st.session_state["_map_n_drawings"] = len(drawings)
    if new_drawing:  # an outline drawn on the map: offer to record it as an encroachment
        import json

        st.session_state["map_point"] = shapely.from_geojson(json.dumps(drawings[-1]["geometry"]))
        st.session_state.pop("map_selected", None)
        st.session_state["map_pick"] = None
    elif tag:  # a click on an item or a crash (it also reaches the map: the item wins)
        st.session_state["map_selected"] = tag
        st.session_state["map_pick"] = _item_only(tag)  # the list shows what the click chose (a crash is not listed)
        st.session_state.pop("map_point", None)
    elif new_place:
        st.session_state["map_point"] = (clicked["lng"], clicked["lat"])
        st.session_state.pop("map_selected", None)
        st.session_state["map_pick"] = None


@st.fragment
def map_and_panel():
    left, right = st.columns([2, 1])
    map_key = f"planner_map_{heat}_{offline}_{show_corr}"
    # The click that ran this is taken before the map is built, so the map drawn shows what it chose. Taken
    # after, the map drawn still showed the selection before it; the next run drew the chosen one as a new
    # map, and a click made on the map shown meanwhile (the user's next click) was lost with it.
    _take_map_value(last_map_value(map_key))
    # an item chosen in the list (its value is known before the map is drawn) moves the map to it at once
    pick = st.session_state.get("map_pick")
    if pick is not None and pick != st.session_state.get("map_selected"):
        st.session_state["map_selected"] = pick
        st.session_state.pop("map_point", None)
    with left:
        m = planner_map(
            crashes=crashes,
            spots=spots,
            roads=roads,
            boundaries=load_boundaries(url()),
            corridors=load_corridors(url()) if show_corr else None,
            cases=cases,
            works=works,
            heat=heat,
            offline=offline,
            lang=L,
            selected=st.session_state.get("map_selected"),
            draw=True,
            area=shapely.from_wkt(f.area) if f.area else None,
            # a crash chosen on the map keeps the view (the user is looking at it); a chosen item is fitted
            view_key=repr((_item_only(st.session_state.get("map_selected")), f)),
        )
        chosen = st.session_state.get("map_selected")
        place = st.session_state.get("map_point")
        place = place if isinstance(place, tuple) else None  # (a drawn outline is on the map already)
        typed = st.session_state.get("map_typed_point")
        typed = typed if typed is not None and typed == place else None  # still the place chosen
        out = show_map(
            m,
            # the chosen crash's ring or the chosen place's mark, kept when the map is drawn again (added
            # without redrawing the map)
            feature_group_to_add=chosen_crash_ring(crashes, chosen[1] if chosen and chosen[0] == CRASH else None)
            or chosen_place_mark(place),
            # a place chosen by its coordinates: the map moves to it (a change of centre, not a new map)
            center=(typed[1], typed[0]) if typed else None,
            zoom=16 if typed else None,
            height=660,
            use_container_width=True,
            key=map_key,
            returned_objects=[
                "last_clicked",
                "last_object_clicked_count",
                "last_object_clicked_tooltip",
                "all_drawings",
            ],
        )
    _take_map_value(out)  # the same value again (nothing new), or a new map's first (nothing clicked yet)
    with right:
        labels = {(k, i): lab for k, i, lab in items}
        keys = [None] + list(labels)
        sel = st.session_state.get("map_selected")
        if st.session_state.get("map_pick") not in keys:
            st.session_state["map_pick"] = None
        pick = st.selectbox(
            tr("Chọn mục"),
            keys,
            format_func=lambda k: "—" if k is None else labels[k],
            key="map_pick",
            placeholder=tr("Chọn"),
        )
        if pick is not None and pick != sel:
            st.session_state["map_selected"] = sel = pick
            st.session_state.pop("map_point", None)
        point = st.session_state.get("map_point")
        if sel and sel[0] == CRASH:
            crash_panel(sel[1])
        elif sel and sel in labels:
            render_item_panel(sel[0], sel[1], lang=L, key="map")
        elif point:
            place_actions(point)
        else:
            st.info(
                tr(
                    "Bấm vào một điểm đen, vụ lấn chiếm hoặc công trình để xem chi tiết; bấm vào chỗ trống "
                    "trên đường để ghi nhận lấn chiếm hoặc gắn cờ điểm tiềm ẩn."
                )
            )


def _item_only(selected):
    """What the map chose, unless it is a crash (which has no list entry and keeps the view)."""
    return None if selected is None or selected[0] == CRASH else selected


def crash_panel(crash_id: int) -> None:
    """A crash chosen on the map: its facts, and the spots that count it (a button opens each)."""
    try:
        d = crash_detail(crashes, crash_id, spots=spots, lang=L)
    except NotFoundError:  # the filters changed since it was chosen: not a fault
        st.session_state.pop("map_selected", None)
        st.info(tr("Vụ đã chọn không nằm trong bộ lọc hiện tại."))
        return
    st.subheader(md_text(d.title))
    st.markdown("  \n".join(f"**{md_text(k)}:** {md_text(v)}" for k, v in d.facts))
    if d.same_place > 0:
        st.caption(tr("Cùng vị trí còn {n} vụ khác").format(n=d.same_place))
        st.selectbox(  # the others at this place, to open one (the latest first)
            tr("Xem vụ khác cùng vị trí"),
            [None] + [oid for oid, _ in d.others],
            format_func=lambda k, names=dict(d.others): "—" if k is None else names[k],
            index=0,
            placeholder=tr("Chọn"),
            key=f"map_same_place_{crash_id}",
            on_change=_open_same_place,
            args=(crash_id,),
        )
    if d.spots:
        st.markdown(f"**{tr('Được tính trong')}:**")
        for sid, label in d.spots:
            st.button(
                label,
                key=f"map_crash_spot_{sid}",
                on_click=st.session_state.update,
                kwargs={"map_selected": ("blackspot", sid), "map_pick": ("blackspot", sid)},
            )


def _open_same_place(crash_id: int) -> None:
    chosen = st.session_state.get(f"map_same_place_{crash_id}")
    if chosen is not None:
        st.session_state["map_selected"] = (CRASH, int(chosen))


def place_actions(point):
    """Actions at a clicked place (lon, lat) or for a drawn outline (a polygon)."""
    outline = point if isinstance(point, shapely.Geometry) else None
    if outline is not None:
        c = outline.centroid
        lon, lat = c.x, c.y
    else:
        lon, lat = point
    store = get_store()
    where = locate_point(roads, lon, lat)
    st.subheader(tr("Vùng đã vẽ") if outline is not None else tr("Vị trí đã chọn"))
    st.caption(
        f"{lat:.6f}, {lon:.6f}"
        + (
            f" · {len(outline.exterior.coords) - 1} đỉnh / vertices"
            if outline is not None and outline.geom_type == "Polygon"
            else ""
        )
    )
    if where is None:
        # an outline is placed by its centre: say so (the area itself may well cross a road)
        st.warning(
            tr(
                "Không có tuyến đường nào trong 300 m quanh tâm vùng đã vẽ"
                if outline is not None
                else "Không có tuyến đường nào trong 300 m"
            )
        )
    else:
        zone = {
            "road_land": "đất của đường bộ / road land",
            "corridor": "hành lang an toàn / safety corridor",
            "outside": "ngoài hành lang / outside the corridor",
        }[where["zone"]]
        off = (
            f"{'bên trái' if where['side'] == 'left' else 'bên phải'} / {where['side']}, "
            f"{where['distance_m']:.1f} m {tr('từ tim đường')}"
            if round(where["distance_m"], 1) > 0
            else tr("trên tim đường")  # (no side at 0 m)
        )
        st.markdown(f"**{md_text(where['road'])} {md_text(format_chainage(where['chainage_m']))}**, {off} · {zone}")
    if outline is not None and outline.geom_type in ("Polygon", "MultiPolygon"):
        # the same outline may instead filter every page (and the exports) by the area it draws
        if st.button(tr("Lọc theo vùng đã vẽ"), key="map_area_set", type="primary"):
            try:
                set_area(outline)
            except AreaError as exc:
                show_error(exc)
            else:
                st.rerun(scope="app")
        st.caption(tr("…hoặc ghi nhận vùng này là một vụ lấn chiếm:"))
    record_case_form(
        lang=L,
        key="place_case",
        point=(lon, lat),
        outline=outline,
        on_saved=lambda cid: st.session_state.update(map_selected=("case", cid)),
    )
    if outline is not None:
        return  # a potential crash point is a place, not an outline
    with st.form("place_potential", clear_on_submit=True):
        st.markdown(tr("**Gắn cờ điểm tiềm ẩn tại đây**"))
        reason = st.text_area(tr("Lý do (yếu tố mất an toàn)"), height=70)
        p_commune = st.text_input(tr("Xã/phường"), key="potential_commune")
        if st.form_submit_button(tr("Gắn cờ")):
            try:
                sid = flag_potential_point(
                    store,
                    lon=lon,
                    lat=lat,
                    reason=reason,
                    commune=p_commune or None,
                    road_code=where["road"] if where else None,
                    chainage_m=where["chainage_m"] if where else None,
                    user=current_user(),
                )
            except BlackspotError as exc:
                show_error(exc)
            else:
                invalidate()
                st.session_state["map_selected"] = ("blackspot", sid)
                st.session_state["flash"] = tr("Đã gắn cờ điểm #{id}").format(id=sid)
                st.rerun(scope="app")


coords = st.expander(tr("Chọn vị trí bằng tọa độ"), key="pt_open", on_change="rerun")  # drawn when opened
if coords.open:
    c1, c2, c3 = coords.columns([2, 2, 1])
    lat_in = c1.number_input("Vĩ độ / Latitude", value=14.5, format="%.6f", key="pt_lat")
    lon_in = c2.number_input("Kinh độ / Longitude", value=108.0, format="%.6f", key="pt_lon")
    if c3.button(tr("Chọn"), key="pt_pick"):
        st.session_state["map_point"] = st.session_state["map_typed_point"] = (float(lon_in), float(lat_in))
        st.session_state.pop("map_selected", None)
        st.session_state["map_pick"] = None

map_and_panel()
