"""Matching a file's column headers, Vietnamese or English, to the fields the
tool needs."""
from __future__ import annotations

import re
import unicodedata

from errors import ColumnMappingError

#: Crash fields and the headers (normalised: no accents, lower case, words
#: joined by ``_``) that name them. The first match wins.
CRASH_ALIASES: dict[str, list[str]] = {
    "source_id": ["crash_id", "ma_vu", "so_vu_viec", "ma_so", "id", "stt", "report_no"],
    "occurred_at": ["ngay_gio", "thoi_gian", "ngay_xay_ra", "ngay", "datetime_local", "datetime",
                    "date_time", "date", "occurred_at", "thoi_diem"],
    "time": ["gio_xay_ra", "gio", "time"],
    "lon": ["kinh_do", "lon", "lng", "long", "longitude", "x", "toa_do_x", "easting"],
    "lat": ["vi_do", "lat", "latitude", "y", "toa_do_y", "northing"],
    "road": ["tuyen_duong", "tuyen", "ten_duong", "duong", "road", "route", "street_name", "street"],
    "chainage": ["ly_trinh", "km", "chainage_m", "chainage", "ly_trinh_m", "vi_tri"],
    "commune": ["xa_phuong", "xa", "phuong", "commune", "ward", "district"],
    "deaths": ["so_nguoi_chet", "nguoi_chet", "so_chet", "chet", "deaths", "killed", "n_killed",
               "fatalities"],
    "injured": ["so_nguoi_bi_thuong", "nguoi_bi_thuong", "bi_thuong", "so_bi_thuong", "injured",
                "n_injured", "injuries", "casualties_injured"],
    "injury_pct": ["tong_ty_le_ton_thuong", "ty_le_ton_thuong", "ton_thuong", "injury_pct",
                   "injury_percent"],
    "damage_vnd": ["thiet_hai_tai_san", "thiet_hai", "gia_tri_thiet_hai", "damage_vnd", "damage",
                   "property_damage"],
    "vehicle_types": ["loai_phuong_tien", "phuong_tien", "vehicle_types", "vehicles", "vehicle"],
    "alcohol": ["co_nong_do_con", "nong_do_con", "ruou_bia", "alcohol", "drink_driving"],
    "not_infrastructure": ["khong_do_ha_tang", "nguyen_nhan_khong_do_ha_tang", "not_infra",
                           "not_infrastructure", "cause_not_infrastructure"],
    "description": ["mo_ta", "dien_bien", "tom_tat", "description", "notes", "ghi_chu"],
}

#: Labels shown in the manual mapping step.
CRASH_FIELD_LABELS = {
    "source_id": "Mã vụ / Crash id",
    "occurred_at": "Ngày (giờ) xảy ra / Date (time)",
    "time": "Giờ / Time",
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

    Exact normalised matches come first, then headers that start with an alias
    (``so_nguoi_chet_vu`` for ``so_nguoi_chet``). A column is used once.

    >>> auto_map(["Ngày xảy ra", "Kinh độ", "Vĩ độ", "Số người chết", "Bị thương"])
    {'occurred_at': 'Ngày xảy ra', 'lon': 'Kinh độ', 'lat': 'Vĩ độ', 'deaths': 'Số người chết', 'injured': 'Bị thương'}
    """
    norm = {c: normalise_header(c) for c in columns}
    used: set[str] = set()
    out: dict[str, str] = {}
    for exact in (True, False):
        for field, names in aliases.items():
            if field in out:
                continue
            for alias in names:
                hit = next((c for c in columns if c not in used and (
                    norm[c] == alias if exact else (len(alias) > 2 and norm[c].startswith(alias + "_")))), None)
                if hit is not None:
                    out[field] = hit
                    used.add(hit)
                    break
    return {f: out[f] for f in aliases if f in out}


def require_crash_fields(mapping: dict[str, str], columns: list[str], *, has_geometry: bool = False) -> None:
    """Raise :class:`ColumnMappingError` unless a crash table can be read with
    this mapping: a date, the two counts, and a place (coordinates, a geometry or
    road + chainage)."""
    missing = [f for f in ("occurred_at", "deaths", "injured") if f not in mapping]
    has_xy = "lon" in mapping and "lat" in mapping
    has_chainage = "chainage" in mapping
    if not (has_xy or has_chainage or has_geometry):
        missing.append("lon+lat / chainage")
    if missing:
        labels = [CRASH_FIELD_LABELS.get(m, m) for m in missing]
        raise ColumnMappingError(
            "Không nhận ra cột cho / No column found for: " + "; ".join(labels)
            + ". Các cột trong tệp / Columns in the file: " + ", ".join(map(str, columns)),
            missing=missing, columns=list(columns))
