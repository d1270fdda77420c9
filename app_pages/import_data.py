"""Trang nhập dữ liệu / Import: upload, map columns, validate, then import the
valid rows or nothing; undo a batch."""
from __future__ import annotations

import streamlit as st

import settings
from errors import BlackspotError, ColumnMappingError, CRSError
from geo.columns import CRASH_FIELD_LABELS, auto_map
from geo.crs import KNOWN_CRS
from i18n import t
from app_pages.common import current_user, get_store, invalidate, lang
from services.importing import commit_crashes, preview_crashes, roads_from_table

L = lang()
st.title(t("import", L))
store = get_store()

kind = st.radio("Loại dữ liệu / Data kind", ["Vụ TNGT / Crashes", "Tuyến đường / Roads",
                                             "Ranh giới hành chính / Boundaries", "Điểm lấn chiếm / Encroachments"],
                horizontal=True, key="import_kind")
upload = st.file_uploader("Chọn tệp / Choose a file (CSV, XLSX, GeoJSON, GPKG, SHP .zip, KML)",
                          type=["csv", "txt", "xlsx", "geojson", "json", "gpkg", "zip", "kml"], key="upload")

if upload is None:
    st.caption("Cột tiếng Việt hoặc tiếng Anh được nhận tự động; ngày dạng dd/mm/yyyy; tọa độ WGS 84 hoặc VN-2000. / "
               "Vietnamese or English headers are recognised; dates dd/mm/yyyy; WGS 84 or VN-2000 coordinates.")
else:
    data = upload.getvalue()
    if kind.startswith("Ranh giới") or kind.startswith("Điểm lấn"):
        from geo._io import read_table
        from services.importing import boundaries_from_table, cases_from_table

        try:
            table = read_table(data, filename=upload.name)
            if kind.startswith("Ranh giới"):
                level = st.selectbox("Cấp / Level", ["commune", "district", "province"], key="import_level",
                                     format_func={"commune": "Xã/Phường", "district": "Huyện/Quận",
                                                  "province": "Tỉnh/Thành phố"}.get)
                items = boundaries_from_table(table, level=level)
            else:
                items = cases_from_table(table)
        except BlackspotError as exc:
            st.error(str(exc))
        else:
            st.dataframe(items.drop(columns="geometry"), width="stretch")
            if st.button(f"Nhập {len(items)} mục / Import {len(items)} items", type="primary", key="import_other"):
                try:
                    if kind.startswith("Ranh giới"):
                        store.add_admin_units(items, user=current_user())
                    else:
                        store.add_cases(items, user=current_user())
                except BlackspotError as exc:
                    st.error(str(exc))
                else:
                    invalidate()
                    st.success(f"Đã nhập {len(items)} mục / Imported {len(items)} items")
    elif kind.startswith("Tuyến"):
        from geo._io import read_table

        try:
            roads = roads_from_table(read_table(data, filename=upload.name))
        except BlackspotError as exc:
            st.error(str(exc))
        else:
            st.dataframe(roads.drop(columns="geometry"), width="stretch")
            if st.button(f"Nhập {len(roads)} tuyến đường / Import {len(roads)} roads", type="primary"):
                try:
                    store.add_roads(roads, user=current_user(), source=upload.name)
                except BlackspotError as exc:
                    st.error(str(exc))
                else:
                    invalidate()
                    st.success("Đã nhập / Imported")
    else:
        with st.expander("Tùy chọn / Options", expanded=False):
            crs_labels = {"Tự nhận / Auto": None} | {f"EPSG:{k} – {v}": k for k, v in KNOWN_CRS.items()}
            crs_choice = st.selectbox("Hệ tọa độ / Coordinate system", list(crs_labels), key="crs")
            area = st.radio("Phạm vi tọa độ hợp lệ / Valid area", ["Việt Nam", "Khác / Other"], horizontal=True)
            bounds = settings.VIETNAM_BOUNDS
            if area != "Việt Nam":
                txt = st.text_input("minlon,minlat,maxlon,maxlat", "113.8,22.1,114.5,22.6")
                try:
                    bounds = tuple(float(v) for v in txt.split(","))
                except ValueError:
                    st.error("Phạm vi sai / Bad bounds")
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
            with st.expander("Ghép cột / Column mapping", expanded=preview is None):
                current = mapping or (preview.result.mapping if preview else auto_map(columns))
                new_map = {}
                opts = ["—"] + columns
                cols = st.columns(2)
                for k, (field, label) in enumerate(CRASH_FIELD_LABELS.items()):
                    default = current.get(field)
                    new_map[field] = cols[k % 2].selectbox(label, opts, index=opts.index(default) if default in opts else 0,
                                                           key=f"map_{field}")
                if st.button("Áp dụng ghép cột / Apply mapping"):
                    mapping_state[upload.name] = {f: c for f, c in new_map.items() if c != "—"}
                    st.rerun()
        if preview is not None:
            res = preview.result
            m = st.columns(4)
            m[0].metric("Số dòng / Rows", res.n_rows)
            m[1].metric("Hợp lệ / Valid", res.n_valid)
            m[2].metric("Lỗi / Errors", res.n_errors)
            m[3].metric("Trùng trong tệp / Duplicates", int(res.rows["duplicate_in_file"].sum()))
            if len(res.report):
                st.subheader("Báo cáo kiểm tra / Validation report")
                rep = res.report.rename(columns={"row": "Dòng / Row", "field": "Trường / Field", "value": "Giá trị / Value",
                                                 "reason": "Lý do / Reason", "level": "Mức / Level"})
                st.dataframe(rep, width="stretch", hide_index=True, height=260)
                st.download_button("Tải báo cáo / Download report (CSV)",
                                   res.report.to_csv(index=False).encode("utf-8-sig"),
                                   file_name=f"{upload.name}.report.csv", mime="text/csv")
            with st.expander("Xem trước dữ liệu / Data preview"):
                st.dataframe(res.rows.head(200), width="stretch")
            b1, b2 = st.columns(2)
            if b1.button(f"Nhập {res.n_valid} dòng hợp lệ / Import valid rows", type="primary",
                         disabled=res.n_valid == 0):
                bar = st.progress(0.0, text="Đang ghi / Writing…")
                try:
                    summary = commit_crashes(store, preview, valid_only=True, user=current_user(),
                                             progress=lambda f: bar.progress(f, text="Đang ghi / Writing…"))
                except BlackspotError as exc:
                    st.error(str(exc))
                else:
                    invalidate()
                    st.success(f"Lần nhập / Batch {summary.batch_id}: {summary.n_imported} vụ mới / new crashes; "
                               f"{summary.n_already_in_store} đã có / already in store.")
            if b2.button("Không nhập gì / Import nothing"):
                st.session_state.pop("upload", None)
                st.info("Không nhập gì; kho không đổi / Nothing imported; the store is unchanged")

st.divider()
st.subheader("Các lần nhập / Import batches")
batches = store.batches_frame()
if batches.empty:
    st.caption("Chưa có / None yet")
else:
    show = batches[["id", "filename", "created_at", "created_by", "n_rows", "n_imported", "status"]]
    st.dataframe(show, width="stretch", hide_index=True)
    active = batches.loc[batches["status"] == "active", "id"].tolist()
    if active:
        c1, c2 = st.columns([1, 3])
        bid = c1.selectbox("Lần nhập / Batch", active, key="undo_batch")
        if c2.button("Hoàn tác lần nhập này / Undo this batch"):
            try:
                n = store.undo_batch(int(bid), user=current_user())
            except BlackspotError as exc:
                st.error(str(exc))
            else:
                invalidate()
                st.success(f"Đã xóa {n} vụ / Removed {n} crashes")
                st.rerun()
