"""Hành lang an toàn đường bộ / Road safety corridor: encroachment cases
(list, overdue, workflow), recording a case, and the automatic check of
imported structures against every corridor."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from errors import BlackspotError
from services.importing import read_file
from geo.chainage import format_chainage
from geo.corridor import load_corridor_rules, road_widths
from i18n import t
from models.enums import CaseStatus
from app_pages.common import (
    current_user,
    filters,
    get_store,
    invalidate,
    lang,
    load_cases,
    load_roads,
    show_error,
    show_flash,
    tr,
    url,
)
from app_pages.panel import list_and_panel, record_case_form
from services.corridor import check_against_corridors, encroaching, features_from_table
from services.exports import table_export
from services.filters import filter_items
from services.importing import import_cases

L = lang()
vi = L == "vi"
st.title(t("corridor", L))
show_flash()
store = get_store()
roads = load_roads(url())
rules = load_corridor_rules(settings.CORRIDOR_RULESET)
tab_cases, tab_new, tab_check, tab_rules = st.tabs(
    [tr("Vụ lấn chiếm"), tr("Ghi nhận vụ mới"), tr("Kiểm tra công trình"), tr("Bề rộng hành lang")]
)

with tab_cases:
    cases = filter_items(load_cases(url()), filters())
    c = st.columns(3)
    status_labels = {s.value: s.label(L) for s in CaseStatus}
    statuses = c[0].multiselect(
        tr("Trạng thái"),
        list(status_labels),
        format_func=status_labels.get,
        key="case_status_filter",
        placeholder=tr("Tất cả"),
    )
    overdue_only = c[1].checkbox(tr("Chỉ vụ quá hạn"), key="case_overdue")
    if statuses:
        cases = cases.loc[cases["status"].isin(statuses)]
    if overdue_only:
        cases = cases.loc[cases["overdue"]]
    n_over = int(cases["overdue"].sum()) if len(cases) else 0
    c[2].metric(tr("Quá hạn"), n_over)
    if cases.empty:
        st.info(tr("Chưa có vụ lấn chiếm nào"))
    else:
        table = pd.DataFrame(
            {
                "ID": cases["id"],
                tr("Loại"): cases["kind"].fillna("—"),
                tr("Tuyến"): cases["road_code"].fillna("—"),
                tr("Lý trình"): cases["chainage_m"].map(format_chainage),
                tr("Bên"): cases["side"].map({"left": tr("trái"), "right": tr("phải")}).fillna("—"),
                tr("Lấn vào (m)"): cases["distance_inside_m"].map(lambda v: "—" if pd.isna(v) else f"{v:.1f}"),
                tr("Xã"): cases["commune"].fillna("—"),
                tr("Trạng thái"): cases["status"].map(status_labels),
                tr("Biên bản"): cases["record_no"].fillna("—"),
                tr("Thời hạn"): pd.to_datetime(cases["deadline"]).dt.strftime("%d/%m/%Y").fillna("—"),
                tr("Quá hạn (ngày)"): cases["days_overdue"],
                tr("Mô tả"): cases["description"].fillna(""),
            }
        )
        styled = table.style.apply(
            lambda r: ["color: #d50000; font-weight: bold" if r.iloc[10] > 0 else "" for _ in r], axis=1
        )
        list_and_panel(
            "case",
            table,
            cases["id"],
            basename="vu_lan_chiem",
            sheet="Vụ lấn chiếm",
            lang=L,
            key="corridor",
            styled=styled,
        )

with tab_new:
    st.caption("Hoặc bấm vào bản đồ ở trang Bản đồ / Or click the map on the Map page")
    record_case_form(lang=L, key="new_case", roads=roads["code"].tolist() if len(roads) else None)

with tab_check:
    st.write(
        tr(
            "Tải lên điểm hoặc đa giác công trình (GeoJSON, GPKG, SHP nén, KML, CSV lon/lat); công cụ liệt kê "
            "những công trình nằm trong hành lang an toàn."
        )
    )
    up = st.file_uploader(
        tr("Tệp công trình"), type=["geojson", "json", "gpkg", "zip", "kml", "csv", "xlsx"], key="corr_upload"
    )
    if up is not None and roads.empty:
        st.warning(tr("Chưa có tuyến đường"))
    elif up is not None:
        try:
            feats = features_from_table(read_file(up.getvalue(), filename=up.name))
            with st.spinner(tr("Đang kiểm tra…")):
                res = check_against_corridors(roads, feats, rules=settings.CORRIDOR_RULESET, lang=L)
        except BlackspotError as exc:
            show_error(exc)
        else:
            inside = encroaching(res)
            st.write(
                f"{len(res)} công trình / structures · **{len(inside)}** trong hành lang hoặc đất đường / "
                "inside the corridor or road land"
            )
            st.dataframe(inside, hide_index=True, width="stretch")
            st.download_button("CSV", table_export(res, "csv"), "kiem_tra_hanh_lang.csv", key="check_csv")
            if len(inside) and st.button(tr("Ghi nhận thành vụ việc"), key="check_rec"):
                sel = feats.set_index("id").loc[inside["id"]]
                frame = pd.DataFrame(
                    {
                        "geometry": sel["geometry"].to_numpy(),
                        "description": [f"Từ tệp {up.name}, mã {i}" for i in inside["id"]],
                    }
                )
                try:
                    ids = import_cases(store, frame, user=current_user())
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    invalidate()
                    st.session_state["flash"] = tr("Đã ghi nhận {n} vụ").format(n=len(ids))
                    st.rerun()

with tab_rules:
    st.caption(f"{rules.name} (hiệu lực / effective {pd.Timestamp(rules.effective_from):%d/%m/%Y})")
    if len(roads):
        w = road_widths(roads, rules)
        st.dataframe(
            pd.DataFrame(
                {
                    tr("Tuyến"): roads["code"],
                    tr("Cấp đường"): w["class_key"],
                    tr("Nửa đất đường (m)"): w["land_half_m"].round(2),
                    tr("Nguồn"): w["land_source"],
                    tr("Hành lang mỗi bên (m)"): w["corridor_m"].map(lambda v: "—" if pd.isna(v) else f"{v:g}"),
                    tr("Tổng từ tim (m)"): w["outer_m"].round(2),
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.dataframe(
        pd.DataFrame(
            [
                {tr("Cấp đường"): k, tr("Hành lang mỗi bên (m)"): "—" if v is None or pd.isna(v) else f"{v:g}"}
                for k, v in rules.width_each_side_m.items()
            ]
        ),
        hide_index=True,
    )
