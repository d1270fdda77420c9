"""Corridor service: read features, check them against road corridors, and
record encroachment cases. No UI here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely

import settings
from errors import InputFileError, TransitionError
from geo.io import RawTable
from geo.columns import normalise_header
from geo.corridor import ZONE_LABELS, ZONE_OUTSIDE, corridor_check, load_corridor_rules
from geo.crs import WGS84, looks_geographic, transform
from geo.geometry import repair_geometries
from i18n import pick
from models.enums import CASE_OPEN, CaseStatus, ItemType
from models.orm import EncroachmentCase
from models.store import Store
from services.lifecycle import as_date, check_transition

_ID_NAMES = ("id", "ma", "ma_cong_trinh", "so_hieu", "stt", "fid", "osm_id")
_LON_NAMES = ("lon", "lng", "long", "longitude", "kinh_do", "x")
_LAT_NAMES = ("lat", "latitude", "vi_do", "y")


def features_from_table(table: RawTable, *, source_crs: str | int | None = None) -> pd.DataFrame:
    """Features (points or footprints) of a table as id, geometry (WGS 84) and
    the other columns. A table without geometry needs lon/lat (or x/y with
    ``source_crs``) columns."""
    frame = table.frame.reset_index(drop=True)
    heads = {normalise_header(c): c for c in frame.columns}
    id_col = next((heads[h] for h in _ID_NAMES if h in heads), None)
    ids = frame[id_col].astype(str) if id_col else pd.Series(np.arange(1, len(frame) + 1)).astype(str)
    if table.geometry is not None:
        geoms = np.asarray(table.geometry, dtype=object)
        crs: str | int = table.crs or WGS84
    else:
        xc = next((heads[h] for h in _LON_NAMES if h in heads), None)
        yc = next((heads[h] for h in _LAT_NAMES if h in heads), None)
        if xc is None or yc is None:
            raise InputFileError(
                "Tệp cần có hình học hoặc cột lon/lat (kinh độ/vĩ độ) / The file needs geometries or lon/lat columns"
            )
        x = pd.to_numeric(frame[xc].str.replace(",", ".", regex=False), errors="coerce").to_numpy()
        y = pd.to_numeric(frame[yc].str.replace(",", ".", regex=False), errors="coerce").to_numpy()
        geoms = np.full(len(frame), None, dtype=object)
        ok = np.isfinite(x) & np.isfinite(y)
        geoms[ok] = shapely.points(x[ok], y[ok])
        given = source_crs or (WGS84 if looks_geographic(x[ok], y[ok]) else None)
        if given is None:
            raise InputFileError(
                "Tọa độ không phải kinh độ/vĩ độ; hãy chọn hệ tọa độ (VN-2000 ...) / Coordinates "
                "are not lon/lat; choose their CRS (VN-2000 ...)"
            )
        crs = given
    if crs not in (WGS84, "OGC:CRS84"):
        ok = ~shapely.is_missing(geoms)
        if ok.any():
            cx = shapely.get_coordinates(geoms[ok])
            lx, ly = transform(cx[:, 0], cx[:, 1], crs, WGS84)
            geoms[ok] = shapely.set_coordinates(geoms[ok].copy(), np.column_stack([lx, ly]))
    check = repair_geometries(geoms, kind="point_or_polygon")
    missing = shapely.is_missing(geoms)
    report = [
        f"Dòng {i + 2} ({ids.iloc[i]}): " + ("đã sửa / repaired: " if st == "repaired" else "bỏ qua / refused: ") + nt
        for i, (st, nt) in enumerate(zip(check["status"], check["note"]))
        if st != "ok" and not missing[i]
    ]
    report += [
        f"Dòng {i + 2} ({ids.iloc[i]}): bỏ qua, không có vị trí / refused, no location"
        for i in np.flatnonzero(missing)[:50]
    ]
    out = frame.drop(columns=[id_col] if id_col else []).copy()
    out.insert(0, "id", ids.to_numpy())
    out["geometry"] = check["geometry"].to_numpy()
    out.attrs["report"] = report
    return out


def check_against_corridors(
    roads: pd.DataFrame, features: pd.DataFrame, *, rules: str | None = None, search_m: float = 200.0, lang: str = "vi"
) -> pd.DataFrame:
    """One row per feature: id, road, chainage_m, side, distance_from_centreline_m,
    zone, zone label, inside_m (how far inside the corridor's outer edge)."""
    res = corridor_check(
        roads,
        features["geometry"].to_numpy(),
        rules=load_corridor_rules(rules, rules_dir=settings.RULES_DIR),
        search_m=search_m,
    )
    return pd.DataFrame(
        {
            "id": features["id"].to_numpy(),
            "road": res["road"].to_numpy(),
            "chainage_m": res["chainage_m"].round(1).to_numpy(),
            "side": res["side"].to_numpy(),
            "distance_from_centreline_m": res["distance_m"].round(2).to_numpy(),
            "zone": res["zone"].to_numpy(),
            "zone_label": res["zone"].map(lambda z: pick(ZONE_LABELS[z], lang)).to_numpy(),
            "inside_m": res["inside_m"].round(2).to_numpy(),
        }
    )


def encroaching(check: pd.DataFrame) -> pd.DataFrame:
    """Rows of a corridor check that lie inside a corridor or the road land."""
    return check.loc[check["zone"] != ZONE_OUTSIDE]


def corridor_polygons(roads: pd.DataFrame, *, rules: str | None = None) -> pd.DataFrame:
    """Left and right corridor strips of every road, in WGS 84, for the map."""
    from geo.chainage import RoadNetwork
    from geo.corridor import corridor_strips, road_widths
    from geo.crs import _transformer

    if roads.empty:
        return pd.DataFrame(columns=["code", "side", "geometry"])
    net = RoadNetwork.from_frame(roads)
    w = road_widths(roads.reset_index(drop=True), load_corridor_rules(rules, rules_dir=settings.RULES_DIR))
    left, right = corridor_strips(net.lines, w["land_half_m"], w["corridor_m"])
    tr = _transformer(net.crs.to_wkt(), WGS84)

    def back(g: np.ndarray) -> np.ndarray:
        out: np.ndarray = shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        return out

    return pd.DataFrame(
        {
            "code": np.r_[net.codes, net.codes],
            "side": ["left"] * len(net.codes) + ["right"] * len(net.codes),
            "geometry": np.r_[back(left), back(right)],
        }
    )


def locate_point(roads: pd.DataFrame, lon: float, lat: float, *, search_m: float = 300.0) -> dict[str, Any] | None:
    """Road, chainage, side, distance and corridor zone of a clicked point, or
    None when no road is within ``search_m``."""
    if roads.empty:
        return None
    res = corridor_check(
        roads,
        np.array([shapely.Point(lon, lat)], dtype=object),
        rules=load_corridor_rules(rules_dir=settings.RULES_DIR),
        search_m=search_m,
    ).iloc[0]
    if res["road_idx"] < 0:
        return None
    return {
        "road": res["road"],
        "chainage_m": float(res["chainage_m"]),
        "side": res["side"],
        "distance_m": float(res["distance_m"]),
        "zone": res["zone"],
        "inside_m": float(res["inside_m"]),
    }


def point_at_chainage(
    store: Store, *, road: str, chainage: str | float, side: str = "right", offset_m: float = 0.0
) -> shapely.Point:
    """The place (WGS 84) of a case given by road and chainage (``Km 140+250``
    or metres), side of the road (``left``/``right`` looking in the direction
    of rising chainage) and distance from the centreline."""
    from errors import ChainageError
    from geo.chainage import parse_chainage

    net = store.road_network()
    if net is None:
        raise ChainageError("Chưa có tuyến đường nào / No roads loaded")
    metres = float(chainage) if isinstance(chainage, (int, float)) else parse_chainage(str(chainage))[1]
    if not np.isfinite(metres):
        raise ChainageError(
            f"Lý trình không đọc được: '{chainage}' (viết như Km 140+250) / Unreadable chainage "
            f"'{chainage}' (write Km 140+250)"
        )
    if side not in ("left", "right"):
        raise ChainageError("Bên đường phải là trái hoặc phải / The side must be left or right")
    idx = net.index_of([road])
    pts, status = net.offset_points(idx, [metres], [side], [max(0.0, float(offset_m or 0.0))])
    if status[0] == 1:
        raise ChainageError(f"Không có tuyến '{road}' trong dữ liệu / Road '{road}' is not in the store")
    if status[0] == 2:
        from geo.chainage import format_chainage

        i = int(idx[0])
        a, b = net.km_start[i], net.km_start[i] + net.lengths[i]
        raise ChainageError(
            f"Lý trình ngoài tuyến {road} ({format_chainage(a)} – {format_chainage(b)}) / Chainage "
            f"beyond road {road} ({format_chainage(a)} – {format_chainage(b)})"
        )
    x, y = transform(np.array([shapely.get_x(pts[0])]), np.array([shapely.get_y(pts[0])]), net.crs.to_wkt(), WGS84)
    return shapely.Point(float(x[0]), float(y[0]))


def set_case_status(
    store: Store,
    case_id: int,
    new_status: CaseStatus | str,
    *,
    expected_version: int,
    user: str | None = None,
    record_no: str | None = None,
    record_date: date | str | None = None,
    deadline: date | str | None = None,
    note: str | None = None,
) -> EncroachmentCase:
    """Move a case along its workflow (detected → record made → deadline →
    cleared / enforced / cancelled). A record needs its number and date, a
    deadline its date; closing as cleared needs a record when the rule
    (settings.CASE_RECORD_REQUIRED) says so."""
    new_status = CaseStatus(new_status)
    c: EncroachmentCase = store.item_for_edit(ItemType.CASE, case_id, expected_version=expected_version)
    if new_status == c.status:
        return c
    check_transition(ItemType.CASE, c.status, new_status)
    record_no = (record_no or c.record_no or "").strip() or None
    record_date = as_date(record_date) or c.record_date
    if new_status == CaseStatus.RECORDED and not (record_no and record_date):
        raise TransitionError("Cần số và ngày biên bản / The record (biên bản) needs a number and a date")
    if new_status == CaseStatus.CLEARED and settings.CASE_RECORD_REQUIRED and not (record_no and record_date):
        raise TransitionError(
            "Chưa lập biên bản: phải lập biên bản (số, ngày) trước khi xác nhận đã giải tỏa / No record "
            "made: a record (number, date) is required before the case can be closed as cleared"
        )
    deadline = as_date(deadline) or c.deadline
    if new_status == CaseStatus.DEADLINE_SET and not deadline:
        raise TransitionError("Cần ngày hết hạn giải tỏa / A deadline date is required")
    if deadline and record_date and deadline < record_date:
        raise TransitionError(
            f"Thời hạn giải tỏa {deadline:%d/%m/%Y} trước ngày biên bản {record_date:%d/%m/%Y} / The "
            f"deadline {deadline:%d/%m/%Y} is before the record date {record_date:%d/%m/%Y}"
        )
    if new_status == CaseStatus.ENFORCED and not c.deadline:
        raise TransitionError("Cưỡng chế chỉ sau khi đã ấn định thời hạn / Enforcement needs a deadline first")
    saved: EncroachmentCase = store.save_status(
        ItemType.CASE,
        case_id,
        new_status,
        expected_status=c.status,
        expected_version=expected_version,
        user=user,
        note=note,
        record_no=record_no,
        record_date=record_date,
        deadline=deadline,
        closed_on=datetime.now().date() if new_status not in CASE_OPEN else None,
    )
    return saved
