"""Trang nhập dữ liệu / Import: upload, map columns, validate, then import the
valid rows or nothing; undo a batch."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import settings
from errors import BlackspotError, ColumnMappingError, CRSError
from geo.chainage import format_chainage
from geo.columns import CRASH_FIELD_LABELS, auto_map
from geo.crs import KNOWN_CRS
from i18n import pick, t
from models.enums import BatchStatus
from app_pages.common import current_user, get_store, invalidate, lang, show_error, show_warning, tr
from services.importing import load_profiles, mapping_from_profile, profile_from_mapping, save_profile
from services.communes import with_current
from services.tabular import to_csv_bytes
from services.importing import (
    commit_crashes,
    import_boundaries,
    import_cases,
    import_roads,
    preview_crashes,
    roads_from_table,
    undo_import,
)

L = lang()
st.title(t("import", L))
store = get_store()

KINDS = {
    "crashes": tr("Vụ TNGT"),
    "roads": tr("Tuyến đường"),
    "boundaries": tr("Ranh giới hành chính"),
    "cases": tr("Điểm lấn chiếm"),
}
kind = st.radio(tr("Loại dữ liệu"), list(KINDS), format_func=KINDS.get, horizontal=True, key="import_kind")


def _reading_notes(frame: pd.DataFrame) -> None:
    """What reading the file noted (features repaired or refused, the column the names were taken from), as
    plain lines."""
    if lines := frame.attrs.get("report"):
        with st.expander(tr("Ghi chú khi đọc tệp") + f" ({len(lines)})", expanded=True):
            st.text("\n".join(lines[:200]))


upload = st.file_uploader(
    tr("Chọn tệp") + " (CSV, XLSX, GeoJSON, GPKG, SHP .zip, KML)",
    type=["csv", "txt", "xlsx", "geojson", "json", "gpkg", "zip", "kml"],
    key="upload",
)

if upload is None:
    st.caption(tr("Cột tiếng Việt hoặc tiếng Anh được nhận tự động; ngày dạng dd/mm/yyyy; tọa độ WGS 84 hoặc VN-2000."))
else:
    data = upload.getvalue()
    if kind in ("boundaries", "cases"):
        from services.importing import read_file
        from services.importing import boundaries_from_table, cases_from_table

        try:
            table = read_file(data, filename=upload.name)
            if kind == "boundaries":
                levels = {"commune": tr("Xã/phường"), "district": tr("Huyện/Quận"), "province": tr("Tỉnh/Thành phố")}
                level = st.selectbox(tr("Cấp"), list(levels), key="import_level", format_func=levels.get)
                items = boundaries_from_table(table, level=level)
            else:
                items = cases_from_table(table)
        except BlackspotError as exc:
            show_error(exc)
        else:
            _reading_notes(items)
            st.dataframe(items.drop(columns="geometry"), width="stretch")
            if st.button(tr("Nhập {n} mục").format(n=len(items)), type="primary", key="import_other"):
                try:
                    if kind == "boundaries":
                        import_boundaries(store, items, user=current_user())
                    else:
                        import_cases(store, items, user=current_user())
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    invalidate()
                    st.success(tr("Đã nhập {n} mục").format(n=len(items)))
    elif kind == "roads":
        from services.importing import read_file

        try:
            roads = roads_from_table(read_file(data, filename=upload.name))
        except BlackspotError as exc:
            show_error(exc)
        else:
            _reading_notes(roads)
            st.dataframe(roads.drop(columns="geometry"), width="stretch")
            if st.button(tr("Nhập {n} tuyến đường").format(n=len(roads)), type="primary"):
                try:
                    import_roads(store, roads, user=current_user(), source=upload.name)
                except BlackspotError as exc:
                    show_error(exc)
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
            orders = {
                None: tr("Tự xác định (không rõ thì ngày/tháng/năm)"),
                "dmy": tr("ngày/tháng/năm"),
                "mdy": tr("tháng/ngày/năm"),
                "ymd": tr("năm/tháng/ngày"),
            }
            date_order = st.selectbox(tr("Thứ tự ngày"), list(orders), format_func=orders.get, key="date_order")
            sheets = st.session_state.get("sheets", {}).get(upload.name) or []
            sheet = (
                st.selectbox(
                    tr("Trang tính"),
                    [None] + sheets,
                    key="sheet",
                    format_func=lambda v: tr("Tự tìm bảng") if v is None else v,
                )
                if sheets
                else None
            )
        mapping_state = st.session_state.setdefault("mapping", {})
        mapping = mapping_state.get(upload.name)
        profiles = load_profiles(store)
        with st.expander(tr("Hồ sơ ghép cột") + (f" ({len(profiles)})" if profiles else ""), expanded=False):
            st.caption(
                tr(
                    "Một hồ sơ ghi cách ghép cột của một nguồn (vd công an xã) để dùng lại; cùng định dạng JSON "
                    "với --profile của dòng lệnh."
                )
            )
            p1, p2 = st.columns(2)
            if profiles:
                pick = p1.selectbox(tr("Hồ sơ đã lưu"), list(profiles), key="profile_pick")
                if p1.button(tr("Dùng hồ sơ này"), key="profile_use"):
                    try:
                        mapping_state[upload.name] = mapping_from_profile(profiles[pick])
                    except BlackspotError as exc:
                        show_error(exc)
                    else:
                        st.rerun()
            up = p2.file_uploader(tr("Hoặc tải hồ sơ (JSON)"), type=["json"], key="profile_file")
            if up is not None and p2.button(tr("Dùng hồ sơ tải lên"), key="profile_upload_use"):
                try:
                    mapping_state[upload.name] = mapping_from_profile(json.loads(up.getvalue().decode("utf-8-sig")))
                except (BlackspotError, ValueError) as exc:
                    show_error(exc)
                else:
                    st.rerun()
        try:
            preview = preview_crashes(
                store,
                data,
                upload.name,
                mapping=mapping,
                source_crs=crs_labels[crs_choice],
                bounds=bounds,
                sheet=sheet,
                date_order=date_order,
            )
        except ColumnMappingError as exc:
            show_error(exc)
            preview = None
            columns = exc.columns
        except CRSError as exc:
            show_warning(exc)
            preview = None
            columns = None
        except BlackspotError as exc:
            show_error(exc)
            st.stop()
        if preview is not None:
            columns = list(preview.table.frame.columns)
            if preview.table.sheets and len(preview.table.sheets) > 1:
                if st.session_state.setdefault("sheets", {}).get(upload.name) != preview.table.sheets:
                    st.session_state["sheets"][upload.name] = preview.table.sheets
                    st.rerun()
                st.caption(tr("Bảng đọc từ trang tính: {s}").format(s=preview.table.sheet))
        if columns:
            with st.expander(tr("Ghép cột"), expanded=preview is None):
                current = mapping or (preview.result.mapping if preview else auto_map(columns))
                new_map = {}
                opts = ["—"] + columns
                cols = st.columns(2)
                for k, (field, label) in enumerate(CRASH_FIELD_LABELS.items()):
                    default = current.get(field)
                    new_map[field] = cols[k % 2].selectbox(
                        label, opts, index=opts.index(default) if default in opts else 0, key=f"map_{field}"
                    )
                b1, b2, b3 = st.columns([2, 2, 3])
                chosen = {f: c for f, c in new_map.items() if c != "—"}
                if b1.button(tr("Áp dụng ghép cột")):
                    mapping_state[upload.name] = chosen
                    st.rerun()
                prof = profile_from_mapping(chosen, date_order=date_order)
                b2.download_button(
                    tr("Tải hồ sơ (JSON)"),
                    json.dumps(prof, ensure_ascii=False, indent=2),
                    file_name="ho_so_ghep_cot.json",
                    mime="application/json",
                    key="profile_dl",
                )
                pname = b3.text_input(tr("Lưu thành hồ sơ tên"), key="profile_name")
                if b3.button(tr("Lưu hồ sơ"), key="profile_save", disabled=not pname.strip()):
                    try:
                        save_profile(store, pname, prof, user=current_user())
                    except BlackspotError as exc:
                        show_error(exc)
                    else:
                        st.success(tr("Đã lưu hồ sơ {n}").format(n=pname.strip()))
        if preview is not None:
            res = preview.result
            m = st.columns(5)
            m[0].metric(tr("Số dòng"), res.n_rows)
            m[1].metric(tr("Số vụ"), res.n_crashes, help=tr("Các dòng cùng mã vụ (mỗi nạn nhân một dòng) là một vụ"))
            m[2].metric(tr("Hợp lệ"), res.n_valid)
            m[3].metric(tr("Lỗi"), res.n_errors)
            m[4].metric(
                tr("Không phải dòng vụ TNGT"),
                len(preview.table.skipped),
                help=tr("Dòng tiêu đề, tổng cộng, chữ ký, dòng trống: không nhập, không phải lỗi"),
            )
            if len(res.report):
                st.subheader(tr("Báo cáo kiểm tra"))
                levels = {"error": tr("Lỗi"), "warning": tr("Cảnh báo"), "skipped": tr("Bỏ qua")}
                fields = {f: pick(lbl.split(" / "), L) for f, lbl in CRASH_FIELD_LABELS.items()}
                fields |= {"row": tr("Dòng"), "columns": tr("Cột"), "place": tr("Vị trí")}
                rep = res.report.assign(
                    level=res.report["level"].map(levels).fillna(res.report["level"]),
                    field=res.report["field"].map(fields).fillna(res.report["field"]),
                    row=res.report["row"].map(lambda r: "—" if pd.isna(r) or r <= 0 else str(int(r))),
                )
                rep = rep.rename(
                    columns={
                        "row": tr("Dòng"),
                        "field": tr("Trường"),
                        "value": tr("Giá trị"),
                        "reason": tr("Lý do"),
                        "level": tr("Mức"),
                    }
                )
                st.dataframe(rep, width="stretch", hide_index=True, height=260)
                st.download_button(
                    tr("Tải báo cáo (CSV)"),
                    to_csv_bytes(res.report),
                    file_name=f"{upload.name}.report.csv",
                    mime="text/csv",
                )
            with st.expander(tr("Xem trước dữ liệu")):
                head = res.rows.head(200)
                st.dataframe(
                    pd.DataFrame(
                        {
                            tr("Dòng"): head["row"],
                            tr("Mã vụ"): head["source_id"].fillna(""),
                            tr("Thời điểm"): head["occurred_at"].dt.strftime("%d/%m/%Y %H:%M").fillna("—"),
                            tr("Tuyến"): head["road_code"].fillna("—"),
                            tr("Lý trình"): head["chainage_m"].map(lambda v: "—" if pd.isna(v) else format_chainage(v)),
                            tr("Xã/phường"): [
                                with_current(a, b)
                                for a, b in zip(head["commune"].fillna(""), head.get("commune_now", [None] * len(head)))
                            ],
                            tr("Chết"): head["deaths"],
                            tr("Bị thương"): head["injured"],
                            tr("Nguyên nhân"): head["cause"].fillna(""),
                            tr("Hợp lệ"): head["ok"],
                        }
                    ),
                    width="stretch",
                    hide_index=True,
                )
            b1, b2 = st.columns(2)
            if b1.button(tr("Nhập {n} dòng hợp lệ").format(n=res.n_valid), type="primary", disabled=res.n_valid == 0):
                bar = st.progress(0.0, text=tr("Đang ghi…"))
                try:
                    summary = commit_crashes(
                        store,
                        preview,
                        valid_only=True,
                        user=current_user(),
                        progress=lambda f: bar.progress(f, text=tr("Đang ghi…")),
                    )
                except BlackspotError as exc:
                    bar.empty()
                    show_error(exc)
                else:
                    bar.empty()  # the write is done: no "writing…" left on screen beside the result
                    invalidate()
                    if summary.batch_id is not None:  # the undo below names this import, not one chosen before
                        st.session_state["undo_batch"] = int(summary.batch_id)
                    st.success(
                        tr("Lần nhập {b}: {n} vụ mới; {u} vụ được cập nhật; {k} đã có.").format(
                            b=summary.batch_id or "—",
                            n=summary.n_imported,
                            u=summary.n_updated,
                            k=summary.n_already_in_store,
                        )
                    )
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
    show = pd.DataFrame(
        {
            tr("Lần nhập"): batches["id"],
            tr("Tệp"): batches["filename"],
            tr("Lúc"): batches["created_at"].dt.strftime("%d/%m/%Y %H:%M"),
            tr("Người nhập"): batches["created_by"],
            tr("Số dòng"): batches["n_rows"],
            tr("Đã nhập"): batches["n_imported"],
            tr("Trạng thái"): batches["status"].map(status_labels),
        }
    )
    st.dataframe(show, width="stretch", hide_index=True)
    active = batches.loc[batches["status"] == "active", "id"].tolist()
    if active:
        c1, c2 = st.columns([1, 3])
        bid = c1.selectbox(tr("Lần nhập"), active, key="undo_batch")
        if c2.button(tr("Hoàn tác lần nhập này")):
            try:
                done = undo_import(store, int(bid), user=current_user())
            except BlackspotError as exc:
                show_error(exc)
            else:
                invalidate()
                st.success(
                    tr("Đã xóa {n} vụ, trả lại giá trị cũ cho {m} vụ đã sửa").format(n=done.removed, m=done.reverted)
                )
                st.rerun()
