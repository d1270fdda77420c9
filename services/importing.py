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
from geo.geometry import repair_geometries, report_lines
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
                    source_crs=None, bounds=settings.VIETNAM_BOUNDS, sheet: str | None = None,
                    date_order: str | None = None, overlay: bool = False) -> CrashPreview:
    """Read and validate a crash file against the store's roads and
    administrative units; writes nothing.

    The stages: read → find the table (:mod:`geo.tablefind`) → map columns
    (:func:`geo.columns.auto_map`, or ``mapping``) → parse values
    (:mod:`geo.dates`, :mod:`geo.location`) → group casualty rows
    (:mod:`geo.casualties`) → place (coordinates or chainage) → check
    (:func:`geo.validate.validate_crashes`) → match the communes to the
    store's units (:func:`services.communes.match_communes`); earlier imports
    are matched at commit. With ``overlay`` the ``mapping`` given adds to (and
    overrides) the one found from the headers, instead of replacing it."""
    table = read_table(data, filename=filename, sheet=sheet)
    if mapping and overlay:
        from geo.columns import auto_map

        given = dict(mapping)
        missing = [c for c in given.values() if c not in table.frame.columns]
        if missing:
            raise InputFileError(f"Cột không có trong tệp / Columns not in the file: {', '.join(missing)}. "
                                 f"Các cột / Columns: {', '.join(map(str, table.frame.columns))}")
        mapping = {f: c for f, c in auto_map(list(table.frame.columns)).items()
                   if c not in set(given.values()) and f not in given} | given
    roads = store.road_network()
    result = validate_crashes(table, mapping=mapping, source_crs=source_crs, bounds=bounds, roads=roads,
                              date_order=date_order)
    match_result_communes(store, result)
    return CrashPreview(table=table, result=result, sha256=hashlib.sha256(data).hexdigest(), filename=filename,
                        roads=roads)


# ------------------------------------------------------ mapping profiles
PROFILES_KEY = "import_profiles"


def field_of(name: str) -> str:
    """The tool's field for a profile's field name (``id``, ``date``, ``x`` …)."""
    from geo.columns import FIELD_NAMES

    key = str(name).strip().lower()
    if key in FIELD_NAMES:
        return FIELD_NAMES[key]
    if key in FIELD_NAMES.values():
        return key
    raise InputFileError(f"Trường '{name}' không có; dùng: {', '.join(FIELD_NAMES)} / Unknown field '{name}'; use: "
                         f"{', '.join(FIELD_NAMES)}")


def mapping_from_profile(profile: dict) -> dict[str, str]:
    """Field → column of a profile ``{"map": {"SOURCE COLUMN": "field"}, …}``.

    >>> mapping_from_profile({"map": {"Mã vụ": "id", "Khi nào": "date", "X": "x"}})
    {'source_id': 'Mã vụ', 'occurred_at': 'Khi nào', 'lon': 'X'}
    """
    if not isinstance(profile, dict) or not isinstance(profile.get("map", {}), dict):
        raise InputFileError('Hồ sơ ánh xạ cần khóa "map" là một đối tượng / A profile needs a "map" object')
    return {field_of(f): str(c) for c, f in (profile.get("map") or {}).items()}


def profile_from_mapping(mapping: dict[str, str], *, sheet: str | None = None, date_order: str | None = None,
                         crs=None) -> dict:
    """The JSON profile of a mapping (field names as documented: id, date, …).

    >>> profile_from_mapping({"source_id": "Mã vụ", "lon": "X"}, date_order="dmy")
    {'map': {'Mã vụ': 'id', 'X': 'lon'}, 'date_order': 'dmy'}
    """
    from geo.columns import FIELD_NAMES

    back = {}
    for short, full in FIELD_NAMES.items():
        back.setdefault(full, short)
    prof: dict = {"map": {col: back.get(f, f) for f, col in mapping.items() if col}}
    for k, v in (("sheet", sheet), ("date_order", date_order), ("crs", crs)):
        if v:
            prof[k] = v
    return prof


def load_profiles(store: Store) -> dict[str, dict]:
    return dict(store.get_setting(PROFILES_KEY) or {})


def save_profile(store: Store, name: str, profile: dict, *, user: str | None = None) -> None:
    """Keep a mapping profile under ``name`` in the store (who may import may save one)."""
    from models.permissions import Action

    name = " ".join(str(name).split())
    if not name:
        raise InputFileError("Cần tên hồ sơ / A profile needs a name")
    mapping_from_profile(profile)  # checked before it is kept
    profiles = load_profiles(store)
    profiles[name] = profile
    store.set_setting(PROFILES_KEY, profiles, user=user, action=Action.IMPORT)


def match_result_communes(store: Store, result: ValidationResult) -> None:
    """Communes as the store's units name them; old (pre-2025) names keep the
    recorded unit and gain the unit they now belong to; unknown names are
    reported with the closest units, never created."""
    from services.communes import match_communes, old_to_new_table

    units = store.admin_unit_names()
    rows = result.rows
    if units.empty or (units["level"] != "commune").all() or rows.empty:
        rows["commune_now"] = None
        return
    m = match_communes(rows["commune"].fillna(""), units, old_to_new_table())
    rows["commune"] = m["commune"].to_numpy()
    rows["commune_now"] = m["commune_now"].to_numpy()
    flagged = m["how"].isin(["ascii", "old", "unknown"]).to_numpy()
    if flagged.any():
        extra = pd.DataFrame({"row": rows["row"].to_numpy()[flagged], "field": "commune",
                              "value": rows["commune"].to_numpy()[flagged], "reason": m["note"].to_numpy()[flagged],
                              "level": "warning"})
        result.report = pd.concat([result.report, extra], ignore_index=True).sort_values(
            ["row", "field"], kind="stable").reset_index(drop=True)


def commit_crashes(store: Store, preview: CrashPreview, *, valid_only: bool, user: str | None = None,
                   source: str | None = None, is_simulated: bool = False, progress=None) -> ImportSummary:
    """Write a previewed crash file as one batch (see :meth:`Store.import_crashes`)."""
    return store.import_crashes(preview.result, filename=preview.filename, file_sha256=preview.sha256,
                                user=user, source=source, valid_only=valid_only, roads=preview.roads,
                                is_simulated=is_simulated, progress=progress)


def _checked(table: RawTable, geoms, *, kind: str, what_vi: str, what_en: str, keep=None):
    """Repair what can be repaired, drop what cannot; raises when nothing is left.
    Returns (rows kept, geometries, report lines)."""
    check = repair_geometries(geoms, kind=kind)
    names = _feature_labels(table.frame)
    ok = (check["status"] != "refused").to_numpy()
    if keep is not None:
        ok &= keep
    report = report_lines(check.loc[keep] if keep is not None else check,
                          names[keep] if keep is not None else names)
    if not ok.any():
        raise InputFileError(f"Tệp không có {what_vi} nào dùng được / The file holds no usable {what_en}"
                             + (f": {report[0]}" if report else ""))
    return ok, check["geometry"].to_numpy()[ok], report


def _feature_labels(frame: pd.DataFrame) -> np.ndarray:
    from geo.columns import normalise_header

    heads = {normalise_header(c): c for c in frame.columns}
    col = next((heads[h] for h in ("ten", "name", "ma", "code", "id", "ten_xa") if h in heads), None)
    return frame[col].astype(str).str.slice(0, 60).to_numpy() if col else np.full(len(frame), "", dtype=object)


def roads_from_table(table: RawTable, *, exclude_railways: bool = True) -> pd.DataFrame:
    """Roads from a spatial table: code (QL24 ...), name, class, geometry in WGS 84.
    Railways (``loai_duong`` = Đường sắt) are left out; broken lines are
    repaired or refused one by one (``.attrs["report"]`` says which)."""
    if table.geometry is None:
        raise InputFileError("Tệp đường cần có hình học (GeoJSON, GPKG, SHP, KML) / A road file needs "
                             "geometries (GeoJSON, GPKG, SHP, KML)")
    frame = table.frame.copy()
    m = auto_map(list(frame.columns), ROAD_ALIASES)
    keep = np.ones(len(frame), dtype=bool)
    if exclude_railways and "kind" in m:
        keep &= ~frame[m["kind"]].str.lower().str.contains("sắt|rail", regex=True).to_numpy()
    ok, geoms, report = _checked(table, table.geometry, kind="line", what_vi="đường (LineString)",
                                 what_en="road lines", keep=keep)
    frame = frame.loc[ok].reset_index(drop=True)
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
    out.attrs["report"] = report
    return out


def boundaries_from_table(table: RawTable, *, level: str = "commune") -> pd.DataFrame:
    """Administrative units (name, level, polygon in WGS 84) from a spatial
    table; invalid polygons repaired or refused (``.attrs["report"]``)."""
    if table.geometry is None:
        raise InputFileError("Tệp ranh giới cần có hình học (GeoJSON, GPKG, SHP, KML) / A boundary file needs "
                             "geometries")
    keep, geoms, report = _checked(table, table.geometry, kind="polygon", what_vi="vùng (Polygon)",
                                   what_en="polygons")
    if table.crs and table.crs not in (WGS84, "OGC:CRS84"):
        cx = shapely.get_coordinates(geoms)
        x, y = transform(cx[:, 0], cx[:, 1], table.crs, WGS84)
        geoms = shapely.set_coordinates(geoms.copy(), np.column_stack([x, y]))
    frame = table.frame.loc[keep].reset_index(drop=True)
    if frame.shape[1] == 0:
        raise InputFileError("Tệp ranh giới không có cột thuộc tính nào (cần tên đơn vị) / The boundary file has no "
                             "attribute columns (the unit's name is needed)")
    names = {c.lower(): c for c in frame.columns}
    name_col = next((names[c] for c in ("ten", "name", "ten_xa", "ten_huyen", "ten_tinh") if c in names),
                    frame.columns[0])
    code_col = next((names[c] for c in ("ma", "code", "ma_xa", "ma_huyen") if c in names), None)
    out = pd.DataFrame({"name": frame[name_col].to_numpy(), "level": level,
                        "code": frame[code_col].to_numpy() if code_col else None, "geometry": geoms})
    out.attrs["report"] = report
    return out


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
    if bad.all():
        rows = (np.flatnonzero(bad) + 2)[:10].tolist()
        raise InputFileError(f"Không dòng nào có vị trí dùng được / No row has a usable location: {rows}")
    report = list(feats.attrs.get("report", []))
    out = out.loc[~bad].reset_index(drop=True)
    out.attrs["report"] = report
    return out
