"""Matching a file's column headers, Vietnamese or English, to the fields the
tool needs."""

from __future__ import annotations

import re
import unicodedata

from errors import ColumnMappingError

#: Crash fields and the headers (normalised: no accents, lower case, words
#: joined by ``_``) that name them. The first match wins.
CRASH_ALIASES: dict[str, list[str]] = {
    "source_id": [
        "crash_id",
        "ma_vu",
        "ma_vu_viec",
        "so_vu",
        "so_vu_viec",
        "ma_so",
        "ma_ho_so",
        "id",
        "report_no",
        "reference_number",
        "reference",
        "accident_index",
        "ref",
    ],
    "occurred_at": [
        "ngay_gio",
        "ngay_gio_xay_ra",
        "ngay_thang_xay_ra",
        "thoi_gian",
        "ngay_xay_ra",
        "ngay",
        "ngay_thang",
        "ngay_thang_nam",
        "thoi_gian_xay_ra",
        "thoi_diem_xay_ra",
        "datetime_local",
        "datetime",
        "date_time",
        "date",
        "occurred_at",
        "thoi_diem",
        "date_of_accident",
        "accident_date",
    ],
    "time": ["gio_xay_ra", "gio", "time", "gio_phut", "thoi_gian_gio", "accident_time"],
    "minute": ["phut", "minute"],
    "lon": ["kinh_do", "lon", "lng", "long", "longitude", "x", "toa_do_x", "easting"],
    "lat": ["vi_do", "lat", "latitude", "y", "toa_do_y", "northing"],
    "location": [
        "dia_diem",
        "dia_diem_xay_ra",
        "vi_tri",
        "vi_tri_xay_ra",
        "noi_xay_ra",
        "dia_chi",
        "location",
        "place",
        "address",
    ],
    "road": ["tuyen_duong", "tuyen", "ten_duong", "duong", "road", "route", "street_name", "street"],
    "chainage": ["ly_trinh", "km", "chainage_m", "chainage", "ly_trinh_m"],
    "commune": ["xa_phuong", "xa", "phuong", "xa_phuong_thi_tran", "don_vi_hanh_chinh", "commune", "ward", "district"],
    "deaths": [
        "so_nguoi_chet",
        "nguoi_chet",
        "so_chet",
        "chet",
        "so_nguoi_tu_vong",
        "tu_vong",
        "deaths",
        "killed",
        "n_killed",
        "fatalities",
        "no_killed",
    ],
    "injured": [
        "so_nguoi_bi_thuong",
        "nguoi_bi_thuong",
        "bi_thuong",
        "so_bi_thuong",
        "injured",
        "n_injured",
        "injuries",
        "casualties_injured",
        "no_injured",
    ],
    "severity": [
        "muc_do_thuong_tich",
        "muc_do_ton_thuong",
        "tinh_trang_nan_nhan",
        "tinh_trang",
        "thuong_tich",
        "hau_qua",
        "casualty_severity",
        "severity",
    ],
    "injury_pct": ["tong_ty_le_ton_thuong", "ty_le_ton_thuong", "ton_thuong", "injury_pct", "injury_percent"],
    "damage_vnd": ["thiet_hai_tai_san", "thiet_hai", "gia_tri_thiet_hai", "damage_vnd", "damage", "property_damage"],
    "vehicle_types": [
        "loai_phuong_tien",
        "phuong_tien",
        "phuong_tien_lien_quan",
        "loai_xe",
        "xe_lien_quan",
        "vehicle_types",
        "vehicles",
        "vehicle",
    ],
    "cause": ["nguyen_nhan", "nguyen_nhan_chinh", "nguyen_nhan_vu_tai_nan", "cause", "causes", "contributory_factors"],
    "alcohol": ["co_nong_do_con", "nong_do_con", "ruou_bia", "alcohol", "drink_driving"],
    "not_infrastructure": [
        "khong_do_ha_tang",
        "nguyen_nhan_khong_do_ha_tang",
        "not_infra",
        "not_infrastructure",
        "cause_not_infrastructure",
    ],
    "description": ["mo_ta", "dien_bien", "tom_tat", "tom_tat_vu_viec", "description", "notes", "ghi_chu"],
}

#: Columns that describe one victim or one vehicle: rows sharing a crash
#: reference in a file with such a column are one crash.
CASUALTY_MARKERS = (
    "ho_ten",
    "ho_va_ten",
    "nan_nhan",
    "ten_nan_nhan",
    "ho_ten_nan_nhan",
    "tuoi",
    "nam_sinh",
    "gioi_tinh",
    "casualty",
    "casualty_ref",
    "victim",
    "vehicle_ref",
    "bien_so",
    "bien_kiem_soat",
)

#: The field names of a mapping (``--map "COLUMN=field"``, profiles) → the tool's fields.
FIELD_NAMES = {
    "id": "source_id",
    "date": "occurred_at",
    "time": "time",
    "minute": "minute",
    "road": "road",
    "chainage": "chainage",
    "location": "location",
    "commune": "commune",
    "deaths": "deaths",
    "injured": "injured",
    "severity": "severity",
    "lon": "lon",
    "lat": "lat",
    "x": "lon",
    "y": "lat",
    "cause": "cause",
    "vehicle": "vehicle_types",
    "description": "description",
    "not_infra": "not_infrastructure",
    "alcohol": "alcohol",
    "injury_pct": "injury_pct",
    "damage": "damage_vnd",
}


#: Labels shown in the manual mapping step.
CRASH_FIELD_LABELS = {
    "source_id": "Mã vụ / Crash id",
    "occurred_at": "Ngày (giờ) xảy ra / Date (time)",
    "time": "Giờ / Time",
    "minute": "Phút / Minute",
    "location": "Địa điểm (Km, tuyến, xã) / Location (free text)",
    "severity": "Mức độ thương tích (mỗi nạn nhân) / Casualty severity",
    "cause": "Nguyên nhân / Cause",
    "lon": "Kinh độ hoặc X / Longitude or X",
    "lat": "Vĩ độ hoặc Y / Latitude or Y",
    "road": "Tuyến đường / Road",
    "chainage": "Lý trình / Chainage (Km 105+500)",
    "commune": "Xã, phường / Commune",
    "deaths": "Số người chết / Deaths",
    "injured": "Số người bị thương / Injured",
    "injury_pct": "Tổng tỷ lệ tổn thương (%) / Body injury %",
    "damage_vnd": "Thiệt hại tài sản (VNĐ) / Property damage (VND)",
    "vehicle_types": "Loại phương tiện / Vehicle types",
    "alcohol": "Có nồng độ cồn / Alcohol involved",
    "not_infrastructure": "Nguyên nhân không do hạ tầng / Cause not infrastructure",
    "description": "Mô tả / Description",
}

ROAD_ALIASES: dict[str, list[str]] = {
    "code": ["so_hieu", "ma_duong", "code", "ref", "ten", "name"],
    "name": ["ten_duong", "ten", "name"],
    "road_class": ["cap_ky_thuat", "cap_duong", "cap", "class", "road_class"],
    "is_urban": ["do_thi", "urban", "is_urban"],
    "carriageway_width_m": ["be_rong_mat_duong", "carriageway_width_m", "width_m"],
    "road_land_half_width_m": ["nua_be_rong_dat_duong", "road_land_half_width_m"],
    "km_start_m": ["ly_trinh_dau", "km_start_m", "chainage_start_m"],
    "kind": ["loai_duong", "kind", "highway"],
}


def normalise_header(text: str) -> str:
    """Fold a header to ascii words joined by ``_``.

    Parameters
    ----------
    text
        A header (any object: it is read as text).

    Returns
    -------
    str
        The header without tone marks (``đ`` as ``d``), lower case, each run
        of other characters made one ``_``, none at either end.

    Examples
    --------
    >>> normalise_header("Số người  bị thương")
    'so_nguoi_bi_thuong'
    >>> normalise_header("Lý trình (Km)")
    'ly_trinh_km'
    """
    text = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def auto_map(columns: list[str], aliases: dict[str, list[str]] = CRASH_ALIASES) -> dict[str, str]:
    """Map fields to the file's columns by their headers.

    Exact normalised matches come first, then headers that end with an alias
    (a two-row header "Thiệt hại về người Số người chết", whose child names
    the field), then headers that start with one (``so_nguoi_chet_vu`` for
    ``so_nguoi_chet``). A column is used once.

    Parameters
    ----------
    columns
        The file's headers.
    aliases
        Field → the normalised headers that name it, in order of preference
        (:data:`CRASH_ALIASES`, or :data:`ROAD_ALIASES` for a road table).

    Returns
    -------
    dict of str to str
        Field → column, in the order of ``aliases``; a field no header names
        is left out.

    Examples
    --------
    >>> auto_map(["so_hieu", "ten_duong", "cap"], ROAD_ALIASES)
    {'code': 'so_hieu', 'name': 'ten_duong', 'road_class': 'cap'}
    >>> auto_map(["Ngày xảy ra", "Kinh độ", "Vĩ độ", "Số người chết", "Bị thương"])
    {'occurred_at': 'Ngày xảy ra', 'lon': 'Kinh độ', 'lat': 'Vĩ độ', 'deaths': 'Số người chết', 'injured': 'Bị thương'}
    """
    norm = {c: normalise_header(c) for c in columns}
    used: set[str] = set()
    out: dict[str, str] = {}

    def fits(n: str, alias: str, how: int) -> bool:
        if how == 0:
            return n == alias
        if len(alias) <= 2:
            return False
        return n.endswith("_" + alias) if how == 1 else n.startswith(alias + "_")

    for how in (0, 1, 2):  # exact, then a header ending with an alias (a merged header's child), then starting
        for field, names in aliases.items():
            if field in out:
                continue
            for alias in names:
                hit = next((c for c in columns if c not in used and fits(norm[c], alias, how)), None)
                if hit is not None:
                    out[field] = hit
                    used.add(hit)
                    break
    return {f: out[f] for f in aliases if f in out}


def require_crash_fields(mapping: dict[str, str], columns: list[str], *, has_geometry: bool = False) -> None:
    """Raise :class:`ColumnMappingError` unless a crash table can be read with
    this mapping: a date, the two counts, and a place (coordinates, a geometry or
    road + chainage).

    Parameters
    ----------
    mapping
        Field → column (:func:`auto_map`, a profile or the user's choice).
    columns
        The file's headers, named in the message.
    has_geometry
        Whether the file brings a geometry per row (GeoJSON, GPKG …): then no
        coordinate or chainage column is needed.

    Raises
    ------
    ColumnMappingError
        If a needed field has no column: its ``missing`` lists them (a
        ``severity`` column stands for the two counts; ``location`` for the
        chainage).

    Examples
    --------
    >>> mapping = {"occurred_at": "Ngày xảy ra", "deaths": "Số người chết", "injured": "Bị thương"}
    >>> require_crash_fields(mapping, list(mapping.values()), has_geometry=True)
    >>> require_crash_fields(mapping, list(mapping.values()))
    Traceback (most recent call last):
    ...
    errors.ColumnMappingError: Không nhận ra cột cho / No column found for: lon+lat / chainage / location. Các cột trong tệp / Columns in the file: Ngày xảy ra, Số người chết, Bị thương
    """
    missing = [f for f in ("occurred_at",) if f not in mapping]
    if "severity" not in mapping:
        missing += [f for f in ("deaths", "injured") if f not in mapping]
    has_xy = "lon" in mapping and "lat" in mapping
    has_chainage = "chainage" in mapping or "location" in mapping
    if not (has_xy or has_chainage or has_geometry):
        missing.append("lon+lat / chainage / location")
    if missing:
        labels = [CRASH_FIELD_LABELS.get(m, m) for m in missing]
        raise ColumnMappingError(
            "Không nhận ra cột cho / No column found for: "
            + "; ".join(labels)
            + ". Các cột trong tệp / Columns in the file: "
            + ", ".join(map(str, columns)),
            missing=missing,
            columns=list(columns),
        )
