"""Import service: read → validate (preview) → commit or discard. No UI here."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

import settings
from errors import InputFileError
from geo._io import RawTable, read_table
from geo.chainage import RoadNetwork, normalise_road_code
from geo.columns import ROAD_ALIASES, auto_map
from geo.crs import WGS84, transform
from geo.validate import ValidationResult, validate_crashes
from models.store import ImportSummary, Store


@dataclass
class CrashPreview:
    table: RawTable
    result: ValidationResult
    sha256: str
    filename: str
    roads: RoadNetwork | None = None  # the network the rows were located on; the commit uses the same


def preview_crashes(store: Store, data: bytes, filename: str, *, mapping: dict[str, str] | None = None,
                    source_crs=None, bounds=settings.VIETNAM_BOUNDS) -> CrashPreview:
    """Read and validate a crash file against the store's roads; writes nothing."""
    table = read_table(data, filename=filename)
    roads = store.road_network()
    result = validate_crashes(table, mapping=mapping, source_crs=source_crs, bounds=bounds, roads=roads)
    return CrashPreview(table=table, result=result, sha256=hashlib.sha256(data).hexdigest(), filename=filename,
                        roads=roads)


def commit_crashes(store: Store, preview: CrashPreview, *, valid_only: bool, user: str | None = None,
                   source: str | None = None, is_simulated: bool = False, progress=None) -> ImportSummary:
    """Write a previewed crash file as one batch (see :meth:`Store.import_crashes`)."""
    return store.import_crashes(preview.result, filename=preview.filename, file_sha256=preview.sha256,
                                user=user, source=source, valid_only=valid_only, roads=preview.roads,
                                is_simulated=is_simulated, progress=progress)


def roads_from_table(table: RawTable, *, exclude_railways: bool = True) -> pd.DataFrame:
    """Roads from a spatial table: code (QL24 ...), name, class, geometry in WGS 84.
    Railways (``loai_duong`` = Đường sắt) are left out."""
    if table.geometry is None:
        raise InputFileError("Tệp đường cần có hình học (GeoJSON, GPKG, SHP, KML) / A road file needs "
                             "geometries (GeoJSON, GPKG, SHP, KML)")
    frame = table.frame.copy()
    m = auto_map(list(frame.columns), ROAD_ALIASES)
    geoms = table.geometry
    gtype = shapely.get_type_id(geoms)
    keep = np.isin(gtype, [1, 5])
    if exclude_railways and "kind" in m:
        keep &= ~frame[m["kind"]].str.lower().str.contains("sắt|rail", regex=True).to_numpy()
    if not keep.any():
        raise InputFileError("Tệp không có đường (LineString) nào / The file holds no road lines")
    frame, geoms = frame.loc[keep].reset_index(drop=True), geoms[keep]
    if table.crs and table.crs not in (WGS84, "OGC:CRS84"):
        cx = shapely.get_coordinates(geoms)
        x, y = transform(cx[:, 0], cx[:, 1], table.crs, WGS84)
        geoms = shapely.set_coordinates(geoms.copy(), np.column_stack([x, y]))
    name = frame[m["name"]] if "name" in m else pd.Series([""] * len(frame))
    code_src = frame[m["code"]] if "code" in m else name
    codes = [normalise_road_code(c) or str(c) for c in code_src]
    out = pd.DataFrame({"code": codes, "name": name.to_numpy(), "geometry": geoms})
    for f in ("road_class", "is_urban", "carriageway_width_m", "road_land_half_width_m", "km_start_m"):
        if f in m:
            out[f] = frame[m[f]].to_numpy()
    return out


def boundaries_from_table(table: RawTable, *, level: str = "commune") -> pd.DataFrame:
    """Administrative units (name, level, polygon in WGS 84) from a spatial table."""
    if table.geometry is None:
        raise InputFileError("Tệp ranh giới cần có hình học (GeoJSON, GPKG, SHP, KML) / A boundary file needs "
                             "geometries")
    geoms = np.asarray(table.geometry, dtype=object)
    keep = np.isin(shapely.get_type_id(geoms), [3, 6])
    if not keep.any():
        raise InputFileError("Tệp không có vùng (Polygon) nào / The file holds no polygons")
    if table.crs and table.crs not in (WGS84, "OGC:CRS84"):
        cx = shapely.get_coordinates(geoms[keep])
        x, y = transform(cx[:, 0], cx[:, 1], table.crs, WGS84)
        geoms[keep] = shapely.set_coordinates(geoms[keep].copy(), np.column_stack([x, y]))
    frame = table.frame.loc[keep].reset_index(drop=True)
    names = {c.lower(): c for c in frame.columns}
    name_col = next((names[c] for c in ("ten", "name", "ten_xa", "ten_huyen", "ten_tinh") if c in names),
                    frame.columns[0])
    code_col = next((names[c] for c in ("ma", "code", "ma_xa", "ma_huyen") if c in names), None)
    return pd.DataFrame({"name": frame[name_col].to_numpy(), "level": level,
                         "code": frame[code_col].to_numpy() if code_col else None, "geometry": geoms[keep]})


def cases_from_table(table: RawTable, *, source_crs=None) -> pd.DataFrame:
    """Encroachment cases (points or polygons) from a file: geometry plus kind,
    description, commune when the file has them."""
    from geo.columns import normalise_header
    from services.corridor import features_from_table

    feats = features_from_table(table, source_crs=source_crs)
    heads = {normalise_header(c): c for c in feats.columns}
    out = pd.DataFrame({"geometry": feats["geometry"].to_numpy()})
    for field, aliases in (("kind", ("loai", "loai_vi_pham", "kind", "type")),
                           ("description", ("mo_ta", "noi_dung", "description", "ghi_chu")),
                           ("commune", ("xa", "xa_phuong", "commune"))):
        col = next((heads[a] for a in aliases if a in heads), None)
        out[field] = feats[col].to_numpy() if col else None
    out["description"] = out["description"].fillna("Nhập từ tệp / imported") if out["description"].notna().any() \
        else "Nhập từ tệp / imported"
    bad = shapely.is_missing(out["geometry"].to_numpy())
    if bad.any():
        rows = (np.flatnonzero(bad) + 2)[:10].tolist()
        raise InputFileError(f"Dòng không có vị trí / Rows without a location: {rows}")
    return out
