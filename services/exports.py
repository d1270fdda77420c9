"""Exports of hotspot lists (black spots, potential points, clusters):
CSV (UTF-8 with BOM, for Excel), XLSX (Vietnamese headers, frozen header,
column widths, a sheet of crashes per spot), GeoJSON, KML and GeoPackage.
No UI here; each function returns bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import shapely

from geo.chainage import format_chainage
from i18n import pick, t
from models.enums import BlackspotStatus, SpotKind
from services.tabular import to_csv_bytes, to_xlsx_bytes, xml_safe

if TYPE_CHECKING:
    import geopandas as gpd

    from models.store import Store

#: Export columns and their Vietnamese / English headers.
COLUMNS = [
    ("id", "Mã", "ID"),
    ("kind", "Loại", "Kind"),
    ("status", "Trạng thái", "Status"),
    ("road_code", "Tuyến", "Road"),
    ("ly_trinh", "Lý trình", "Chainage"),
    ("from_m", "Từ (m)", "From (m)"),
    ("to_m", "Đến (m)", "To (m)"),
    ("commune", "Xã/phường", "Commune"),
    ("tests", "Tiêu chí", "Test met"),
    ("test_labels", "Diễn giải tiêu chí", "Test description"),
    ("window_start", "Từ ngày", "Window start"),
    ("window_end", "Đến ngày", "Window end"),
    ("n_crashes", "Số vụ", "Crashes"),
    ("deaths", "Số người chết", "Deaths"),
    ("injured", "Số người bị thương", "Injured"),
    ("epdo", "EPDO", "EPDO"),
    ("crash_ids", "Các vụ", "Crash ids"),
]
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
    "gpkg": "application/geopackage+sqlite3",
}


def hotspot_table(spots: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame:
    """The export columns (machine names) of a spots frame, labels translated."""
    df = spots.copy()
    for col, *_ in COLUMNS:
        if col not in df:
            df[col] = None
    df["ly_trinh"] = [
        f"{format_chainage(a)} – {format_chainage(b)}"
        if pd.notna(a) and pd.notna(b) and a != b
        else format_chainage(a)
        if pd.notna(a)
        else ""
        for a, b in zip(df["from_m"], df["to_m"])
    ]
    df["kind"] = df["kind"].map(lambda v: SpotKind(v).label(lang) if v in SpotKind._value2member_map_ else v)
    df["status"] = df["status"].map(
        lambda v: BlackspotStatus(v).label(lang) if v in BlackspotStatus._value2member_map_ else v
    )
    df["crash_ids"] = df["crash_ids"].map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    for c in ("window_start", "window_end"):
        df[c] = pd.to_datetime(df[c]).dt.strftime("%d/%m/%Y")
    out = df[[c for c, *_ in COLUMNS]].copy()
    if "geometry" in spots:
        out["geometry"] = spots["geometry"].to_numpy()
    return out


def _headers(lang: str) -> dict[str, str]:
    return {c: pick((vi, en), lang) for c, vi, en in COLUMNS}


def to_csv(table: pd.DataFrame, *, lang: str = "vi") -> bytes:
    return to_csv_bytes(table.rename(columns=_headers(lang)))


def to_xlsx(table: pd.DataFrame, *, crashes: pd.DataFrame | None = None, lang: str = "vi") -> bytes:
    """Workbook: the list (frozen header, widths, auto filter) and a sheet of
    the crashes of every spot."""
    sheets = {t("sheet_spots", lang): table.rename(columns=_headers(lang))}
    if crashes is not None and len(crashes):
        sheets[t("Các vụ theo điểm", lang)] = crashes
    return to_xlsx_bytes(sheets)


def _geo_frame(table: pd.DataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    df = table.copy()
    geoms = df.pop("geometry") if "geometry" in df else pd.Series([None] * len(df))
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return gpd.GeoDataFrame(df, geometry=list(geoms), crs="EPSG:4326")


def to_geojson(table: pd.DataFrame) -> bytes:
    gdf = _geo_frame(table)
    text: str = gdf.to_json(drop_id=True, ensure_ascii=False)
    return text.encode("utf-8")


def to_gpkg(table: pd.DataFrame, *, layer: str = "hotspots") -> bytes:
    gdf = _geo_frame(table)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hotspots.gpkg"
        gdf.to_file(path, layer=layer, driver="GPKG")
        return path.read_bytes()


def _kml_geometry(g: shapely.Geometry | None) -> str:
    if g is None or g.is_empty:
        return ""
    if g.geom_type == "Point":
        return f"<Point><coordinates>{g.x:.7f},{g.y:.7f}</coordinates></Point>"
    if g.geom_type == "LineString":
        return (
            "<LineString><coordinates>"
            + " ".join(f"{x:.7f},{y:.7f}" for x, y in g.coords)
            + "</coordinates></LineString>"
        )
    if g.geom_type == "Polygon":
        ring = " ".join(f"{x:.7f},{y:.7f}" for x, y in g.exterior.coords)
        return (
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing>"
            f"</outerBoundaryIs></Polygon>"
        )
    parts = "".join(_kml_geometry(p) for p in getattr(g, "geoms", []))
    return f"<MultiGeometry>{parts}</MultiGeometry>"


def to_kml(table: pd.DataFrame, *, name: str = "Điểm đen", lang: str = "vi") -> bytes:
    """KML for Google Earth: one placemark per spot with its data; every text escaped."""
    heads = _headers(lang)
    marks = []
    for rec in table.to_dict("records"):
        title = f"{rec.get('kind') or ''} {rec.get('road_code') or ''} {rec.get('ly_trinh') or ''}".strip()
        data = "".join(
            f'<Data name="{escape(str(k))}"><displayName>{escape(heads.get(str(k), str(k)))}</displayName>'
            f"<value>{escape('' if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))}</value></Data>"
            for k, v in rec.items()
            if k != "geometry"
        )
        marks.append(
            f"<Placemark><name>{escape(title)}</name><ExtendedData>{data}</ExtendedData>"
            f"{_kml_geometry(rec.get('geometry'))}</Placemark>"
        )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(name)}</name>" + "".join(marks) + "</Document></kml>"
    )
    return xml_safe(doc).encode("utf-8")  # (a control character from the data would break the XML)


def export(table: pd.DataFrame, fmt: str, *, crashes: pd.DataFrame | None = None, lang: str = "vi") -> bytes:
    """Bytes of ``table`` in ``fmt`` (csv, xlsx, geojson, kml, gpkg)."""
    if fmt == "csv":
        return to_csv(table, lang=lang)
    if fmt == "xlsx":
        return to_xlsx(table, crashes=crashes, lang=lang)
    if fmt == "geojson":
        return to_geojson(table)
    if fmt == "kml":
        return to_kml(table, lang=lang)
    if fmt == "gpkg":
        return to_gpkg(table)
    raise ValueError(fmt)


def crashes_per_spot(spots: pd.DataFrame, crashes: pd.DataFrame) -> pd.DataFrame:
    """One row per (spot, crash) with the crash's date, chainage, deaths, injured."""
    rows = [(sid, cid) for sid, ids in zip(spots["id"], spots["crash_ids"]) for cid in (ids or [])]
    pairs = pd.DataFrame(rows, columns=["spot_id", "crash_id"])
    c = crashes.rename(columns={"id": "crash_id"})
    keep = [
        k
        for k in (
            "crash_id",
            "source_id",
            "occurred_at",
            "road_code",
            "chainage_m",
            "commune",
            "deaths",
            "injured",
            "severity",
            "description",
        )
        if k in c
    ]
    out = pairs.merge(c[keep], on="crash_id", how="left")
    if "occurred_at" in out:
        out["occurred_at"] = pd.to_datetime(out["occurred_at"]).dt.strftime("%d/%m/%Y %H:%M")
    if "chainage_m" in out:
        out["ly_trinh"] = out["chainage_m"].map(format_chainage)
    return out


def table_export(frame: pd.DataFrame, fmt: str, *, sheet: str = "Danh sách") -> bytes:
    """Any list (cases, works, targets) as CSV (UTF-8 with BOM) or XLSX
    (frozen header, widths)."""
    if fmt == "csv":
        return to_csv_bytes(frame)
    if fmt != "xlsx":
        raise ValueError(fmt)
    return to_xlsx_bytes({sheet: frame})


def clusters_as_spots(clusters: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """Density clusters in the shape of the spots frame, for one export list.
    ``members`` (crashes with a ``cluster`` label) gives each cluster's crash ids."""
    from services.blackspots import cluster_label

    ids = {}
    if members is not None and len(members):
        m = members.loc[members["cluster"] >= 0]
        ids = m.groupby("cluster")["id"].apply(lambda s: [int(v) for v in s]).to_dict()
    return pd.DataFrame(
        {
            "id": [cluster_label(c) for c in clusters["cluster"]],
            "kind": "cluster",
            "status": None,
            "road_code": None,
            "from_m": None,
            "to_m": None,
            "commune": None,
            "tests": None,
            "test_labels": None,
            "window_start": clusters["first"],
            "window_end": clusters["last"],
            "n_crashes": clusters["n_crashes"],
            "deaths": clusters["deaths"],
            "injured": clusters["injured"],
            "epdo": clusters["epdo"].round(1),
            "crash_ids": [ids.get(c, []) for c in clusters["cluster"]],
            "geometry": shapely.points(clusters["lon"].to_numpy(float), clusters["lat"].to_numpy(float)),
        }
    )


# ------------------------------------------------ the store's tables out
FILE_FORMATS = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".kml": "kml",
}


def store_table(store: Store, kind: str) -> pd.DataFrame:
    """A table of the store's ``kind`` (crashes, spots, cases, works) with a
    ``geometry`` column (WGS 84), dates as ISO text."""
    if kind == "crashes":
        c = store.crashes_frame()
        t = pd.to_datetime(c["occurred_at"])
        out = pd.DataFrame(
            {
                "id": c["id"],
                "source_id": c["source_id"],
                "date": t.dt.strftime("%Y-%m-%d"),
                "time": t.dt.strftime("%H:%M"),
                "road": c["road_code"],
                "chainage_m": c["chainage_m"].round(1),
                "commune": c["commune"],
                "commune_now": c["commune_now"],
                "deaths": c["deaths"],
                "injured": c["injured"],
                "severity": c["severity"],
                "cause": c["cause"],
                "vehicle_types": c["vehicle_types"],
                "alcohol": c["alcohol"],
                "not_infrastructure": c["not_infrastructure"],
                "description": c["description"],
                "lon": c["lon"],
                "lat": c["lat"],
                "source": c["source"],
            }
        )
        lon, lat = c["lon"].to_numpy(float), c["lat"].to_numpy(float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        geoms = np.full(len(c), None, dtype=object)
        geoms[ok] = shapely.points(lon[ok], lat[ok])
        out["geometry"] = geoms
        return out
    if kind == "spots":
        spots = store.blackspots_frame()
        return hotspot_table(spots)
    frame = store.cases_frame() if kind == "cases" else store.works_frame() if kind == "works" else None
    if frame is None:
        raise ValueError(kind)
    out = frame.drop(columns=[c for c in ("version", "updated_at", "deleted") if c in frame]).copy()
    for col in out.columns:
        if col != "geometry" and (
            pd.api.types.is_datetime64_any_dtype(out[col]) or out[col].map(lambda v: hasattr(v, "isoformat")).any()
        ):
            out[col] = out[col].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    return out


def write_file(table: pd.DataFrame, path: str | Path, *, layer: str = "data") -> None:
    """Write ``table`` to ``path`` in the format its extension names (.csv,
    .xlsx, .geojson, .gpkg, .kml); spreadsheet cells are made safe."""
    from errors import InputFileError

    path = Path(path)
    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputFileError(
            f"Định dạng đầu ra không hỗ trợ '{path.suffix}' (dùng .csv, .xlsx, .geojson, .gpkg, .kml) / "
            f"Unsupported output '{path.suffix}' (use .csv, .xlsx, .geojson, .gpkg, .kml)"
        )
    if fmt == "csv":
        data = to_csv_bytes(table)
    elif fmt == "xlsx":
        data = to_xlsx_bytes({layer: table})
    elif fmt == "geojson":
        data = to_geojson(table)
    elif fmt == "gpkg":
        data = to_gpkg(table, layer=layer)
    else:
        data = to_kml(table, name=layer)
    path.write_bytes(data)
