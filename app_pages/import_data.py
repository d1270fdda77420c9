"""Trang nhập dữ liệu / Import: upload, map columns, validate, then import the
valid rows or nothing; undo a batch."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from errors import BlackspotError, ColumnMappingError, CRSError
from geo.columns import CRASH_FIELD_LABELS, auto_map
from geo.crs import KNOWN_CRS
from i18n import t
from models.enums import BatchStatus
from app_pages.common import current_user, get_store, invalidate, lang, tr
from services.tabular import to_csv_bytes
from services.importing import commit_crashes, preview_crashes, roads_from_table

L = lang()
st.title(t("import", L))
store = get_store()

KINDS = {"crashes": tr("Vụ TNGT"), "roads": tr("Tuyến đường"), "boundaries": tr("Ranh giới hành chính"),
         "cases": tr("Điểm lấn chiếm")}
kind = st.radio(tr("Loại dữ liệu"), list(KINDS), format_func=KINDS.get, horizontal=True, key="import_kind")
def _geometry_report(frame: pd.DataFrame) -> None:
    """The features repaired or refused while reading, as plain lines."""
    if lines := frame.attrs.get("report"):
        with st.expander(tr("Hình học đã sửa hoặc bỏ qua") + f" ({len(lines)})", expanded=True):
            st.text("\n".join(lines[:200]))


upload = st.file_uploader(tr("Chọn tệp") + " (CSV, XLSX, GeoJSON, GPKG, SHP .zip, KML)",
                          type=["csv", "txt", "xlsx", "geojson", "json", "gpkg", "zip", "kml"], key="upload")

if upload is None:
    st.caption(tr("Cột tiếng Việt hoặc tiếng Anh được nhận tự động; ngày dạng dd/mm/yyyy; tọa độ WGS 84 hoặc "
                  "VN-2000."))
else:
    data = upload.getvalue()
    if kind in ("boundaries", "cases"):
        from geo._io import read_table
        from services.importing import boundaries_from_table, cases_from_table

        try:
            table = read_table(data, filename=upload.name)
            if kind == "boundaries":
                levels = {"commune": tr("Xã/phường"), "district": tr("Huyện/Quận"), "province": tr("Tỉnh/Thành phố")}
                level = st.selectbox(tr("Cấp"), list(levels), key="import_level", format_func=levels.get)
                items = boundaries_from_table(table, level=level)
            else:
                items = cases_from_table(table)
        except BlackspotError as exc:
            st.error(str(exc))
        else:
            _geometry_report(items)
            st.dataframe(items.drop(columns="geometry"), width="stretch")
            if st.button(tr("Nhập {n} mục").format(n=len(items)), type="primary", key="import_other"):
                try:
                    if kind == "boundaries":
                        store.add_admin_units(items, user=current_user())
                    else:
                        store.add_cases(items, user=current_user())
                except BlackspotError as exc:
                    st.error(str(exc))
                else:
                    invalidate()
                    st.success(tr("Đã nhập {n} mục").format(n=len(items)))
    elif kind == "roads":
        from geo._io import read_table

        try:
            roads = roads_from_table(read_table(data, filename=upload.name))
        except BlackspotError as exc:
            st.error(str(exc))
        else:
            _geometry_report(roads)
            st.dataframe(roads.drop(columns="geometry"), width="stretch")
            if st.button(tr("Nhập {n} tuyến đường").format(n=len(roads)), type="primary"):
                try:
                    store.add_roads(roads, user=current_user(), source=upload.name)
                except BlackspotError as exc:
                    st.error(str(exc))
                else:
                    invalidate()
                    st.success(tr("Đã nhập"))
    else:
        with st.expander(tr("Tùy chọn"), expanded=False):
            crs_labels = {tr("Tự nhận"): None} | {f"EPSG:{k} – {v}": k for k, v in KNOWN_CRS.items()}
            crs_choice = st.selectbox(tr("Hệ tọa độ"), list(crs_labels), key="crs")
            areas = {"vn": "Việt Nam", "other": tr("Khác")}
            area = st.radio(tr("Phạm vi tọa độ hợp lệ"), list(areas), format_func=areas.get, horizontal=True)
            bounds = settings.VIETNAM_BOUNDS
            if area != "vn":
                txt = st.text_input("minlon,minlat,maxlon,maxlat", "113.8,22.1,114.5,22.6")
                try:
                    bounds = tuple(float(v) for v in txt.split(","))
                except ValueError:
                    st.error(tr("Phạm vi sai"))
        mapping_state = st.session_state.setdefault("mapping", {})
        mapping = mapping_state.get(upload.name)
        try:
            preview = preview_crashes(store, data, upload.name, mapping=mapping, source_crs=crs_labels[crs_choice],
                                      bounds=bounds)
        except ColumnMappingError as exc:
            st.error(str(exc))
            preview = None
            columns = exc.columns
        except CRSError as exc:
            st.warning(str(exc))
            preview = None
            columns = None
        except BlackspotError as exc:
            st.error(str(exc))
            st.stop()
        if preview is not None:
            columns = list(preview.table.frame.columns)
        if columns:
            with st.expander(tr("Ghép cột"), expanded=preview is None):
                current = mapping or (preview.result.mapping if preview else auto_map(columns))
                new_map = {}
                opts = ["—"] + columns
                cols = st.columns(2)
                for k, (field, label) in enumerate(CRASH_FIELD_LABELS.items()):
                    default = current.get(field)
                    new_map[field] = cols[k % 2].selectbox(label, opts, index=opts.index(default) if default in opts else 0,
                                                           key=f"map_{field}")
                if st.button(tr("Áp dụng ghép cột")):
                    mapping_state[upload.name] = {f: c for f, c in new_map.items() if c != "—"}
                    st.rerun()
        if preview is not None:
            res = preview.result
            m = st.columns(4)
            m[0].metric(tr("Số dòng"), res.n_rows)
            m[1].metric(tr("Hợp lệ"), res.n_valid)
            m[2].metric(tr("Lỗi"), res.n_errors)
            m[3].metric(tr("Trùng trong tệp"), int(res.rows["duplicate_in_file"].sum()))
            if len(res.report):
                st.subheader(tr("Báo cáo kiểm tra"))
                rep = res.report.rename(columns={"row": tr("Dòng"), "field": tr("Trường"), "value": tr("Giá trị"),
                                                 "reason": tr("Lý do"), "level": tr("Mức")})
                st.dataframe(rep, width="stretch", hide_index=True, height=260)
                st.download_button(tr("Tải báo cáo (CSV)"),
                                   to_csv_bytes(res.report),
                                   file_name=f"{upload.name}.report.csv", mime="text/csv")
            with st.expander(tr("Xem trước dữ liệu")):
                st.dataframe(res.rows.head(200), width="stretch")
            b1, b2 = st.columns(2)
            if b1.button(tr("Nhập {n} dòng hợp lệ").format(n=res.n_valid), type="primary",
                         disabled=res.n_valid == 0):
                bar = st.progress(0.0, text=tr("Đang ghi…"))
                try:
                    summary = commit_crashes(store, preview, valid_only=True, user=current_user(),
                                             progress=lambda f: bar.progress(f, text=tr("Đang ghi…")))
                except BlackspotError as exc:
                    st.error(str(exc))
                else:
                    invalidate()
                    st.success(tr("Lần nhập {b}: {n} vụ mới; {k} đã có.").format(
                        b=summary.batch_id, n=summary.n_imported, k=summary.n_already_in_store))
            if b2.button(tr("Không nhập gì")):
                st.session_state.pop("upload", None)
                st.info(tr("Không nhập gì; kho không đổi."))

st.divider()
st.subheader(tr("Các lần nhập"))
batches = store.batches_frame()
if batches.empty:
    st.caption(tr("Chưa có"))
else:
    status_labels = {b.value: b.label(L) for b in BatchStatus}
    show = pd.DataFrame({tr("Lần nhập"): batches["id"], tr("Tệp"): batches["filename"],
                         tr("Lúc"): batches["created_at"].dt.strftime("%d/%m/%Y %H:%M"),
                         tr("Người nhập"): batches["created_by"], tr("Số dòng"): batches["n_rows"],
                         tr("Đã nhập"): batches["n_imported"], tr("Trạng thái"): batches["status"].map(status_labels)})
    st.dataframe(show, width="stretch", hide_index=True)
    active = batches.loc[batches["status"] == "active", "id"].tolist()
    if active:
        c1, c2 = st.columns([1, 3])
        bid = c1.selectbox(tr("Lần nhập"), active, key="undo_batch")
        if c2.button(tr("Hoàn tác lần nhập này")):
            try:
                n = store.undo_batch(int(bid), user=current_user())
            except BlackspotError as exc:
                st.error(str(exc))
            else:
                invalidate()
                st.success(tr("Đã xóa {n} vụ").format(n=n))
                st.rerun()
