"""Xuất dữ liệu, tờ trình / Exports and proposals: the filtered hotspot list
in five formats, the proposal to the higher level and the year-end summary."""

from __future__ import annotations

from datetime import date

import streamlit as st

import settings
from errors import BlackspotError
from geo.chainage import format_chainage
from i18n import pick, t
from models.enums import SpotKind
from app_pages.common import filters, get_store, lang, load_crashes, load_spots, show_error, tr, url
from services.blackspots import clusters
from services.documents import DocumentInfo, libreoffice, to_pdf
from services.organisation import load_organisation
from services.exports import COLUMNS, FORMATS, clusters_as_spots, crashes_per_spot, export, hotspot_table
from services.filters import filter_spots
from services.reports import proposal, proposal_info, year_end_summary

L = lang()
st.title(t("exports", L))
store = get_store()
f = filters()
spots = filter_spots(load_spots(url()), f)
tab_list, tab_prop, tab_sum = st.tabs([tr("Danh sách điểm"), tr("Tờ trình đề xuất"), tr("Báo cáo tổng kết")])


def _built(make, *args, **kwargs) -> bytes:
    """A file built when its button is pressed; an export that fails gives a
    file saying why instead of breaking the download."""
    try:
        return make(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - an export must never break the page
        return f"Không xuất được / Export failed: {exc}\n".encode("utf-8")


with tab_list:
    kinds = {
        "black_spot": SpotKind.BLACK_SPOT.label(L),
        "potential": SpotKind.POTENTIAL.label(L),
        "cluster": SpotKind.CLUSTER.label(L),
    }
    chosen = st.multiselect(
        tr("Gồm"),
        list(kinds),
        default=["black_spot", "potential"],
        format_func=kinds.get,
        key="export_kinds",
        placeholder=tr("Chọn"),
    )
    sel = spots.loc[spots["kind"].isin(chosen)] if len(spots) else spots
    table = hotspot_table(sel, lang=L) if len(sel) else None
    crashes = load_crashes(url())
    per = crashes_per_spot(sel, crashes) if len(sel) else None
    if "cluster" in chosen:
        # the clusters the black-spot page shows (its parameters), under the same filters: the same ids
        params = st.session_state.get("cluster_params") or dict(
            eps=settings.CLUSTER_EPS_M, min_samples=settings.CLUSTER_MIN_SAMPLES
        )
        members, cl = clusters(store, filters=f, **params)
        if len(cl):
            import pandas as pd

            ct = hotspot_table(clusters_as_spots(cl, members), lang=L)
            table = ct if table is None else pd.concat([table, ct], ignore_index=True)
    if table is None or table.empty:
        st.info(tr("Không có điểm nào theo bộ lọc"))
    else:
        st.write(f"{len(table)} {tr('điểm')}")
        heads = {c: pick((vi_name, en_name), L) for c, vi_name, en_name in COLUMNS}
        st.dataframe(table.drop(columns=["geometry"]).rename(columns=heads), hide_index=True, width="stretch")
        cols = st.columns(len(FORMATS))
        names = {"csv": "CSV", "xlsx": "Excel", "geojson": "GeoJSON", "kml": "KML (Google Earth)", "gpkg": "GeoPackage"}
        for col, (fmt, mime) in zip(cols, FORMATS.items()):
            # each file is built when its button is pressed, not on every run of the page
            col.download_button(
                names[fmt],
                lambda fmt=fmt: _built(export, table, fmt, crashes=per, lang=L),
                f"diem_den.{fmt}",
                mime,
                key=f"dl_{fmt}",
            )

with tab_prop:
    black = spots.loc[spots["kind"].isin(["black_spot", "potential"])] if len(spots) else spots
    if black.empty:
        st.info(tr("Chưa có điểm đen"))
    else:
        label = {
            int(r["id"]): f"#{r['id']} {r['road_code'] or ''} {format_chainage(r['from_m'])} · "
            f"{r['n_crashes']} vụ, {r['deaths']} chết"
            for r in black.to_dict("records")
        }
        ids = st.multiselect(
            tr("Điểm đưa vào tờ trình"),
            list(label),
            default=list(label)[: min(3, len(label))],
            format_func=label.get,
            key="prop_ids",
            placeholder=tr("Chọn"),
        )
        d = proposal_info(store, [int(i) for i in ids])
        org = load_organisation(store)
        if org.missing():
            st.warning(
                tr("Thông tin cơ quan chưa đủ (quản trị điền ở trang Tài khoản → Cơ quan): ") + ", ".join(org.missing())
            )
        with st.form("prop_info"):
            c1, c2, c3 = st.columns(3)
            parent = c1.text_input(tr("Cơ quan cấp trên trực tiếp"), d.parent_body)
            body = c2.text_input(tr("Cơ quan ban hành"), d.issuing_body)
            number = c3.text_input(tr("Số"), d.number)
            sender = st.text_input(tr("Tên cơ quan trong văn bản"), d.sender)
            c4, c5, c6 = st.columns(3)
            place = c4.text_input(tr("Địa danh"), d.place)
            on = c5.date_input(tr("Ngày"), date.today(), format="DD/MM/YYYY")
            to = c6.text_input(tr("Kính gửi"), d.addressee)
            basis_text = st.text_area(tr("Căn cứ (mỗi dòng một căn cứ)"), "\n".join(d.basis))
            c7, c8 = st.columns(2)
            s_title = c7.text_area(tr("Chức vụ người ký"), d.signer_title, height=68)
            s_name = c8.text_input(tr("Họ tên người ký"), d.signer_name)
            recips = st.text_area(tr("Nơi nhận"), "Như trên;\nLưu: VT.")
            go = st.form_submit_button(tr("Tạo tờ trình"), type="primary")
        if go:
            info = DocumentInfo(
                parent_body=parent,
                issuing_body=body,
                sender=sender,
                number=number,
                place=place,
                on=on,
                addressee=to,
                basis=[b for b in basis_text.split("\n") if b.strip()],
                signer_title=s_title,
                signer_name=s_name,
                recipients=[r for r in recips.split("\n") if r.strip()],
            )
            try:
                with st.spinner(tr("Đang tạo…")):
                    st.session_state["proposal_docx"] = proposal(store, [int(i) for i in ids], info)
            except (BlackspotError, ValueError) as exc:
                show_error(exc)
        if st.session_state.get("proposal_docx"):
            data = st.session_state["proposal_docx"]
            c1, c2 = st.columns(2)
            c1.download_button(
                tr("Tải tờ trình (.docx)"),
                data,
                "to_trinh_diem_den.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                key="dl_prop",
            )
            if libreoffice():
                if c2.button(tr("Tạo PDF"), key="prop_pdf"):
                    st.session_state["proposal_pdf"] = to_pdf(data)
                if st.session_state.get("proposal_pdf"):
                    c2.download_button(
                        "PDF",
                        st.session_state["proposal_pdf"],
                        "to_trinh_diem_den.pdf",
                        "application/pdf",
                        key="dl_prop_pdf",
                    )
            else:
                c2.caption("Cài LibreOffice để xuất PDF / Install LibreOffice for PDF")

with tab_sum:
    plans = store.plans_frame()
    if plans.empty:
        st.info(tr("Chưa có kế hoạch; thêm ở trang Kế hoạch"))
    else:
        pid = st.selectbox(
            tr("Kế hoạch"),
            plans["id"].tolist(),
            key="sum_plan",
            format_func=lambda i: plans.set_index("id").loc[i, "title"][:90],
        )
        p = plans.set_index("id").loc[pid]
        if st.button(tr("Tạo báo cáo tổng kết"), key="sum_go"):
            info = load_organisation(store).document_info(
                kind="BC", recipients=list(p["recipients"] or []) or ["Lưu: VT."]
            )
            try:
                st.session_state["summary_docx"] = year_end_summary(store, int(pid), info)
            except (BlackspotError, ValueError) as exc:
                show_error(exc)
        if st.session_state.get("summary_docx"):
            c1, c2 = st.columns(2)
            c1.download_button(
                tr("Tải báo cáo (.docx)"), st.session_state["summary_docx"], "bao_cao_tong_ket.docx", key="dl_sum"
            )
            if libreoffice():
                if c2.button(tr("Tạo PDF"), key="sum_pdf"):
                    st.session_state["summary_pdf"] = to_pdf(st.session_state["summary_docx"])
                if st.session_state.get("summary_pdf"):
                    c2.download_button(
                        "PDF",
                        st.session_state["summary_pdf"],
                        "bao_cao_tong_ket.pdf",
                        "application/pdf",
                        key="dl_sum_pdf",
                    )
