"""The detail panel of an item (black spot, case or work) with its actions.
Shared by the map, corridor and works pages; all writes go through services."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from errors import BlackspotError
from geo.chainage import format_chainage
from geo.rules import load_rulesets
from i18n import pick, t
from models.enums import WorkType
from app_pages.common import (
    current_user,
    get_store,
    invalidate,
    load_agencies,
    load_crashes,
    load_spots,
    md_text,
    show_error,
    tr,
    url,
)
from services.history import history_names, history_table
from services.items import add_note, add_photo, change_status, delete_item, item_detail, link_with_agency
from services.works import add_work


def _done(msg: str) -> None:
    invalidate()
    st.session_state["flash"] = msg
    st.rerun(scope="app")


def dossier_button(spot_id: int, *, key: str) -> None:
    """Make the spot's hồ sơ điểm đen and offer it for download."""
    if st.button(tr("Lập hồ sơ điểm đen"), key=f"{key}_dossier_{spot_id}"):
        from services.reports import dossier

        try:
            with st.spinner(tr("Đang tạo…")):
                st.session_state[f"dossier_{spot_id}"] = dossier(get_store(), int(spot_id))
        except BlackspotError as exc:
            show_error(exc)
    if st.session_state.get(f"dossier_{spot_id}"):
        st.download_button(
            tr("Tải hồ sơ (.docx)"),
            st.session_state[f"dossier_{spot_id}"],
            f"ho_so_diem_{int(spot_id)}.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            key=f"{key}_dossier_dl_{spot_id}",
        )


def render_item_panel(kind: str, item_id: int, *, lang: str, key: str = "panel") -> None:
    store = get_store()
    try:
        d = item_detail(
            store,
            kind,
            item_id,
            lang=lang,
            crashes=load_crashes(url()),
            rulesets={k: r.name for k, r in load_rulesets().items()},
        )
    except BlackspotError as exc:
        show_error(exc)
        return
    st.subheader(md_text(d.title))  # a case's kind or a work's name, as typed
    st.markdown(f"**{tr('Trạng thái')}:** {d.status_label}")
    if d.why:
        st.markdown(f"**{tr('Vì sao')}:** " + md_text(d.why))
    st.markdown("  \n".join(f"**{md_text(k)}:** {md_text(str(v))}" for k, v in d.facts))
    agencies = load_agencies(url())
    names = dict(zip(agencies["id"], agencies["name"])) if len(agencies) else {}
    sections = store.sections_frame()
    sec_names = {int(r["id"]): f"{r['code']} {r['title'][:70]}" for r in sections.to_dict("records")}
    if d.link:
        coop = ", ".join(names.get(a, "?") for a in d.link.get("cooperating_agency_ids") or [])
        st.markdown(
            f"**{tr('Mục kế hoạch')}:** "
            f"{md_text(sec_names.get(d.link.get('section_id'), '—'))}  \n"
            f"**{tr('Chủ trì')}:** {md_text(names.get(d.link.get('lead_agency_id'), '—'))}"
            + (f"  \n**{tr('Phối hợp')}:** {md_text(coop)}" if coop else "")
        )
    if not d.crashes.empty:
        with st.expander(f"{tr('Các vụ')} ({len(d.crashes)})", expanded=False):
            c = d.crashes
            st.dataframe(
                pd.DataFrame(
                    {
                        "ID": c["id"],
                        tr("Ngày"): c["occurred_at"].dt.strftime("%d/%m/%Y"),
                        tr("Lý trình"): c["chainage_m"].map(format_chainage),
                        tr("Chết"): c["deaths"],
                        tr("Bị thương"): c["injured"],
                        tr("Trong 12 tháng"): c["in_window"],
                        tr("Nguyên nhân"): c["cause"] if "cause" in c else None,
                        tr("Phương tiện"): c["vehicle_types"] if "vehicle_types" in c else None,
                        tr("Mô tả"): c["description"],
                    }
                ),
                hide_index=True,
                width="stretch",
            )

    if kind == "blackspot":
        dossier_button(item_id, key=key)

    tabs = st.tabs(
        [tr("Trạng thái"), tr("Kế hoạch"), tr("Ghi chú, ảnh"), tr("Lịch sử")]
        + ([tr("Công trình")] if kind == "blackspot" else [])
        + ([tr("Điểm đen")] if kind == "work" else [])
    )
    with tabs[0]:
        if not d.allowed:
            st.info(tr("Trạng thái cuối"))
        else:
            with st.form(f"{key}_status_{kind}_{item_id}", clear_on_submit=True):
                new = st.selectbox(
                    tr("Chuyển sang"),
                    [a for a, _ in d.allowed],
                    format_func=dict(d.allowed).get,
                    key=f"{key}_status_new",
                )
                extra = {}
                if kind == "case":
                    c1, c2, c3 = st.columns(3)
                    extra["record_no"] = c1.text_input(tr("Số biên bản"), value=d.row.get("record_no") or "")
                    extra["record_date"] = c2.date_input(tr("Ngày biên bản"), value=None, format="DD/MM/YYYY")
                    extra["deadline"] = c3.date_input(tr("Thời hạn giải tỏa"), value=None, format="DD/MM/YYYY")
                if kind == "work":
                    extra["on"] = st.date_input(tr("Ngày"), value=date.today(), format="DD/MM/YYYY")
                note = st.text_input(tr("Ghi chú")) if kind != "work" else None
                if st.form_submit_button(tr("Lưu"), type="primary"):
                    try:
                        change_status(
                            store,
                            kind,
                            item_id,
                            new,
                            version=d.version,
                            user=current_user(),
                            note=note or None,
                            **extra,
                        )
                    except BlackspotError as exc:
                        show_error(exc)
                    else:
                        _done(tr("Đã lưu trạng thái"))
    with tabs[1]:
        # the plan link: a section (when a plan is saved), the lead agency and the cooperating ones; an agency
        # not in the list yet is added here, where it is chosen
        with st.form(f"{key}_link_{kind}_{item_id}"):
            cur = d.link or {}
            sec_ids = [None] + list(sec_names)
            sec = st.selectbox(
                tr("Mục kế hoạch"),
                sec_ids,
                format_func=lambda i: sec_names.get(i, "—"),
                index=sec_ids.index(cur.get("section_id")) if cur.get("section_id") in sec_ids else 0,
            )
            ag_ids = [None] + list(names)
            lead = st.selectbox(
                tr("Cơ quan chủ trì"),
                ag_ids,
                format_func=lambda i: names.get(i, "—"),
                index=ag_ids.index(cur.get("lead_agency_id")) if cur.get("lead_agency_id") in ag_ids else 0,
            )
            new_lead = st.text_input(
                tr("Hoặc thêm cơ quan chủ trì mới"),
                key=f"{key}_new_lead_{kind}_{item_id}",
                placeholder=tr("vd. Phòng Kinh tế – Hạ tầng"),
            )
            coop = st.multiselect(
                tr("Cơ quan phối hợp"),
                list(names),
                default=[a for a in cur.get("cooperating_agency_ids") or [] if a in names],
                format_func=names.get,
                placeholder=tr("Chọn"),
            )
            if st.form_submit_button(tr("Gắn")):
                try:
                    lead_id = link_with_agency(
                        store,
                        kind,
                        item_id,
                        section_id=sec,
                        lead_agency_id=lead,
                        new_lead_name=new_lead,
                        cooperating_agency_ids=coop,
                        user=current_user(),
                    )
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    _done(
                        tr("Đã gắn với kế hoạch")
                        + (f" · {tr('Cơ quan chủ trì')}: {new_lead.strip()}" if new_lead.strip() and lead_id else "")
                    )
    with tabs[2]:
        for a in d.attachments.to_dict("records"):
            when = pd.Timestamp(a["at"]).strftime("%d/%m/%Y %H:%M")
            if a["kind"] == "note":
                st.markdown(f"*{when} · {md_text(a['user'] or '')}:* {md_text(a['text'] or '')}")
            else:
                data = store.photo_bytes(int(a["id"]))
                if data:
                    try:
                        st.image(data, caption=f"{when} · {a['filename']}", width=320)
                    except Exception:  # noqa: BLE001 - a photo kept before photos were checked: said, not raised
                        st.caption(
                            f"{when} · {md_text(a['filename'] or '')}: " + tr("ảnh không hiển thị được (tệp hỏng)")
                        )
        with st.form(f"{key}_note_{kind}_{item_id}", clear_on_submit=True):
            text = st.text_area(tr("Ghi chú"), height=80)
            photo = st.file_uploader(tr("Ảnh hiện trường"), type=["jpg", "jpeg", "png", "webp"])
            if st.form_submit_button(tr("Thêm")):
                try:
                    if text.strip():
                        add_note(store, kind, item_id, text, user=current_user())
                    if photo is not None:
                        add_photo(store, kind, item_id, photo.name, photo.getvalue(), user=current_user())
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    _done(tr("Đã thêm"))
    with tabs[3]:
        st.dataframe(history_table(d.history, lang=lang, names=history_names(store)), hide_index=True, width="stretch")
        if st.button(tr("Xóa mục này (quản trị có thể khôi phục)"), key=f"{key}_delete_{kind}_{item_id}"):
            try:
                delete_item(store, kind, item_id, version=d.version, user=current_user())
            except BlackspotError as exc:
                show_error(exc)
            else:
                st.session_state.pop("map_selected", None)
                _done(tr("Đã xóa"))
    if kind == "blackspot":
        with tabs[4]:
            with st.form(f"{key}_work_{item_id}"):
                types = [w.value for w in WorkType]
                wt = st.selectbox(tr("Loại công trình"), types, format_func=lambda v: WorkType(v).label(lang))
                name = st.text_input(tr("Tên / mô tả"))
                c1, c2 = st.columns(2)
                cost = c1.number_input(tr("Kinh phí dự kiến (đồng)"), min_value=0.0, step=1_000_000.0, format="%.0f")
                funding = c2.text_input(tr("Nguồn vốn"))
                lead = st.selectbox(
                    tr("Cơ quan chủ trì"), [None] + list(names), format_func=lambda a: "—" if a is None else names[a]
                )
                if st.form_submit_button(tr("Tạo công trình")):
                    try:
                        add_work(
                            store,
                            work_type=wt,
                            blackspot_id=item_id,
                            name=name or None,
                            description=name or None,
                            cost_vnd=cost or None,
                            funding_source=funding or None,
                            agency_id=lead,
                            user=current_user(),
                        )
                    except BlackspotError as exc:
                        show_error(exc)
                    else:
                        _done(tr("Đã tạo công trình"))
    if kind == "work":
        with tabs[4]:
            _work_spot_tab(d, item_id=item_id, key=key, lang=lang)


def _work_spot_tab(d, *, item_id: int, key: str, lang: str) -> None:
    """Link a work to a black spot: the spots nearest its stretch first."""
    from services.works import link_work_to_spot, nearest_spots, spot_choices

    r = d.row
    spots = load_spots(url())
    near = nearest_spots(spots, road=r.get("road_code"), from_m=r.get("from_m"), to_m=r.get("to_m"))
    current = int(r["blackspot_id"]) if pd.notna(r.get("blackspot_id")) else None
    labels = spot_choices(near, lang=lang)
    ids = list(labels)
    with st.form(f"{key}_workspot_{item_id}"):
        pick = st.selectbox(
            tr("Gắn với điểm đen / điểm tiềm ẩn"),
            ids,
            index=ids.index(current) if current in ids else (1 if len(ids) > 1 else 0),
            format_func=lambda i: labels.get(i, f"#{i}"),
        )
        if st.form_submit_button(tr("Gắn")):
            try:
                link_work_to_spot(get_store(), item_id, pick, expected_version=d.version, user=current_user())
            except BlackspotError as exc:
                show_error(exc)
            else:
                _done(tr("Đã gắn công trình với điểm") + (f" #{pick}" if pick else ""))


def record_case_form(
    *,
    lang: str,
    key: str,
    point: tuple[float, float] | None = None,
    outline=None,
    on_saved=None,
    roads: list[str] | None = None,
) -> None:
    """The form that records an encroachment case: the ``outline`` drawn on
    the map (a polygon), else at ``point`` (lon, lat), else where the user
    says: by road, chainage, side and distance from the centreline (``roads``
    given), or by coordinates typed in."""
    import shapely

    from services.corridor import point_at_chainage

    by_chainage = False
    if point is None and outline is None and roads:
        by_chainage = (
            st.radio(
                tr("Vị trí theo"),
                [True, False],
                horizontal=True,
                key=f"{key}_by",
                format_func=lambda b: tr("Lý trình") if b else tr("Tọa độ"),
            )
            is True
        )
    with st.form(key, clear_on_submit=True):
        st.markdown(t("**Ghi nhận lấn chiếm tại đây**", lang) if point else tr("**Ghi nhận vụ lấn chiếm**"))
        if by_chainage:
            c1, c2, c3, c4 = st.columns(4)
            road = c1.selectbox(tr("Tuyến"), roads, key=f"{key}_road")
            chain = c2.text_input(tr("Lý trình (Km 140+250)"), key=f"{key}_chain")
            side = c3.selectbox(
                tr("Bên"),
                ["right", "left"],
                key=f"{key}_side",
                format_func=lambda v: tr("phải") if v == "right" else tr("trái"),
            )
            offset = c4.number_input(
                tr("Cách tim đường (m)"), min_value=0.0, max_value=500.0, value=10.0, step=1.0, key=f"{key}_offset"
            )
        elif point is None:
            c1, c2 = st.columns(2)
            lat = c1.number_input("Vĩ độ / Latitude", value=14.5, format="%.6f")
            lon = c2.number_input("Kinh độ / Longitude", value=108.0, format="%.6f")
        else:
            lon, lat = point
        kind = st.text_input(tr("Loại (quán, lều, hàng rào, biển quảng cáo…)"))
        desc = st.text_area(tr("Mô tả"), height=70)
        commune = st.text_input(tr("Xã/phường"))
        if st.form_submit_button(tr("Ghi nhận"), type="primary"):
            try:
                if by_chainage:
                    geom = point_at_chainage(get_store(), road=road, chainage=chain, side=side, offset_m=offset)
                else:
                    geom = outline if outline is not None else shapely.Point(float(lon), float(lat))
                cid = get_store().add_case(
                    geometry=geom,
                    kind=kind or None,
                    description=desc or None,
                    commune=commune or None,
                    user=current_user(),
                )
            except BlackspotError as exc:
                show_error(exc)
            else:
                if on_saved:
                    on_saved(cid)
                _done(_case_confirmation(cid, lang))


def _case_confirmation(case_id: int, lang: str) -> str:
    """What a new case is: where it is and whether it lies inside the corridor."""
    cases = get_store().cases_frame().set_index("id")
    recorded = t("Đã ghi nhận vụ #{id}", lang).format(id=case_id)
    if case_id not in cases.index:
        return recorded
    c = cases.loc[case_id]
    zone = {
        "road_land": ("trong đất của đường bộ", "on road land"),
        "corridor": ("trong hành lang an toàn", "inside the safety corridor"),
        "outside": ("ngoài hành lang an toàn", "outside the safety corridor"),
    }.get(c.get("zone"))
    where = (
        f" {c['road_code']} {format_chainage(c['chainage_m'])}"
        if isinstance(c.get("road_code"), str) and pd.notna(c.get("chainage_m"))
        else ""
    )
    side = {"left": ("bên trái", "left side"), "right": ("bên phải", "right side")}.get(c.get("side"))
    parts = [where.strip()] + ([pick(side, lang)] if side and where else []) + ([pick(zone, lang)] if zone else [])
    detail = ", ".join(p for p in parts if p)
    return recorded + (f": {detail}" if detail else "")


def list_and_panel(kind: str, table, ids, *, basename: str, sheet: str, lang: str, key: str, styled=None) -> None:
    """A list with its CSV and Excel downloads, and the detail panel of the chosen row."""
    from services.exports import table_export

    st.dataframe(styled if styled is not None else table, hide_index=True, width="stretch", key=f"{key}_table")
    e1, e2, _ = st.columns([1, 1, 4])
    # the files are built when asked for, not on every run of the page
    e1.download_button("CSV", lambda: table_export(table, "csv"), f"{basename}.csv", "text/csv", key=f"{key}_csv")
    e2.download_button("Excel", lambda: table_export(table, "xlsx", sheet=sheet), f"{basename}.xlsx", key=f"{key}_xlsx")
    pick = st.selectbox(tr("Xem chi tiết"), list(ids), key=f"{key}_pick", format_func=lambda i: f"#{i}")
    render_item_panel(kind, int(pick), lang=lang, key=key)
