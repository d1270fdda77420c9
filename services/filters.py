"""The filters shared by every page (period, commune, road, severity, vehicle
type, cause, alcohol, rule set, an area drawn on the map) and how they apply
to each kind of item. Pure pandas and shapely; the sidebar in ``app.py`` only
collects the values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import shapely

from errors import AreaError


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    communes: tuple[str, ...] = ()
    roads: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    vehicle: str | None = None
    cause: str | None = None  # a cause recorded by the police (text contained in the crash's cause)
    alcohol: str = "all"  # all | yes | no
    ruleset: str | None = None
    area: str | None = None  # a polygon or multipolygon in WGS 84 as WKT (see :func:`area_text`)

    @property
    def active(self) -> bool:
        return self != Filters(ruleset=self.ruleset)


def area_text(text: str | dict[str, Any] | shapely.Geometry) -> str:
    """An area for :attr:`Filters.area` from WKT, GeoJSON (text or dict: a
    geometry, a Feature or a FeatureCollection of polygons) or a shapely
    geometry: a valid polygon or multipolygon in WGS 84 (lon/lat), returned
    as WKT. Anything else is refused with
    :class:`AreaError`.

    >>> area_text('{"type": "Polygon", "coordinates": [[[108, 14], [108.1, 14], [108.1, 14.1], [108, 14]]]}')
    'POLYGON ((108 14, 108.1 14, 108.1 14.1, 108 14))'
    """
    return str(_shape(text).wkt if isinstance(text, str) else _check(_parse(text)).wkt)


def _parse(text: str | dict[str, Any] | shapely.Geometry) -> shapely.Geometry:
    if isinstance(text, shapely.Geometry):
        return text
    try:
        if isinstance(text, str) and not text.lstrip().startswith("{"):
            # only a polygon is an area: anything else is refused before GEOS parses it (a collection nested
            # a hundred thousand deep crashed the process)
            if not text.lstrip()[:14].upper().startswith(("POLYGON", "MULTIPOLYGON")):
                raise AreaError(
                    "Vùng lọc phải là đa giác (POLYGON hoặc MULTIPOLYGON) / The area must be a polygon "
                    "(POLYGON or MULTIPOLYGON)"
                )
            return shapely.from_wkt(text)
        gj = json.loads(text) if isinstance(text, str) else text
        if gj.get("type") == "FeatureCollection":
            parts = [_parse(f) for f in gj.get("features") or []]
            return shapely.union_all(parts) if parts else shapely.Polygon()
        if gj.get("type") == "Feature":
            gj = gj.get("geometry") or {}
        return shapely.from_geojson(json.dumps(gj))
    except AreaError:
        raise
    except Exception as exc:  # noqa: BLE001 - shapely and json raise several kinds
        raise AreaError(
            f"Vùng lọc không đọc được (cần đa giác WKT hoặc GeoJSON) / "
            f"The area cannot be read (a polygon as WKT or GeoJSON is needed): {exc}"
        ) from None


def _check(geom: shapely.Geometry) -> shapely.Geometry:
    if geom is None or geom.is_empty:
        raise AreaError("Vùng lọc trống / The area is empty")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise AreaError(
            f"Vùng lọc phải là đa giác, không phải {geom.geom_type} / "
            f"The area must be a polygon, not a {geom.geom_type}"
        )
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90):
        raise AreaError("Vùng lọc phải theo kinh độ, vĩ độ (WGS 84) / The area must be in longitude, latitude (WGS 84)")
    if not geom.is_valid or geom.area == 0:
        raise AreaError(
            f"Vùng lọc không hợp lệ (cạnh cắt nhau?): {shapely.is_valid_reason(geom)} / "
            "The area is not a valid polygon (edges crossing?)"
        )
    return geom


@lru_cache(maxsize=16)
def _shape(area: str) -> shapely.Geometry:
    """The area's polygon, checked and prepared (cached: a filter is applied
    to several frames a run)."""
    geom = _check(_parse(area))
    shapely.prepare(geom)
    return geom


def _inside_xy(lon: pd.Series, lat: pd.Series, area: str) -> np.ndarray:
    x = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float)
    return np.asarray(shapely.contains_xy(_shape(area), x, y), dtype=bool)


def _intersecting(geoms: pd.Series, area: str) -> np.ndarray:
    """Geometries that touch the area (a spot's line that enters it, a case's
    point or outline inside it); a missing geometry is outside."""
    g = np.array([v if isinstance(v, shapely.Geometry) else None for v in geoms], dtype=object)
    return np.asarray(shapely.intersects(_shape(area), g), dtype=bool)


def in_area(table: pd.DataFrame, area: str, *, kind: str) -> np.ndarray:
    """Which rows of an export table of ``kind`` (``services.exports.store_table``)
    lie in the area, as the pages filter: a crash inside it (by its ``lon``,
    ``lat``, as :func:`filter_crashes`), a spot, case or work whose
    ``geometry`` touches it (as :func:`filter_spots`, :func:`filter_items`).

    >>> import shapely
    >>> square = "POLYGON ((108 14, 108.1 14, 108.1 14.1, 108 14.1, 108 14))"
    >>> in_area(pd.DataFrame({"lon": [108.05, 109.0, None], "lat": [14.05, 15.0, None]}), square, kind="crashes").tolist()
    [True, False, False]
    >>> line = shapely.LineString([(107.9, 14.05), (108.01, 14.05)])
    >>> in_area(pd.DataFrame({"geometry": [line, None]}), square, kind="spots").tolist()
    [True, False]
    """
    if kind == "crashes":
        return _inside_xy(table["lon"], table["lat"], area)
    return _intersecting(table["geometry"], area)


def _parts(values: pd.Series) -> list[str]:
    """The distinct ";"-separated parts of a text column, sorted (each distinct
    text split once: a province's crashes repeat a few hundred texts).

    >>> _parts(pd.Series(["xe máy; ô tô", None, "ô tô", "xe máy;ô tô", " "]))
    ['xe máy', 'ô tô']
    """
    return sorted({v.strip() for s in pd.unique(values.dropna()) for v in str(s).split(";") if v.strip()})


def options(crashes: pd.DataFrame, roads: pd.DataFrame | None = None) -> dict[str, Any]:
    """Choices for the filter widgets, from the data."""
    vehicles = _parts(crashes["vehicle_types"])
    road_codes = set(crashes["road_code"].dropna())
    if roads is not None and len(roads):
        road_codes |= set(roads["code"])
    t = crashes["occurred_at"]
    causes = _parts(crashes["cause"]) if "cause" in crashes else []
    return {
        "communes": sorted(crashes["commune"].dropna().unique().tolist()),
        "roads": sorted(road_codes),
        "vehicles": vehicles,
        "causes": causes,
        "date_min": t.min().date() if len(t) else None,
        "date_max": t.max().date() if len(t) else None,
    }


def filter_crashes(crashes: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """The crashes the filters keep: a new frame; when it keeps every row it
    shares the input's columns (no page writes into a crash frame in place)."""
    keep = pd.Series(True, index=crashes.index)
    day = crashes["occurred_at"].dt.normalize()
    if f.date_from:
        keep &= day >= pd.Timestamp(f.date_from)
    if f.date_to:
        keep &= day <= pd.Timestamp(f.date_to)
    if f.communes:
        keep &= crashes["commune"].isin(f.communes)
    if f.roads:
        keep &= crashes["road_code"].isin(f.roads)
    if f.severities:
        keep &= crashes["severity"].isin(f.severities)
    if f.vehicle:
        keep &= crashes["vehicle_types"].fillna("").str.contains(f.vehicle, regex=False)
    if f.cause and "cause" in crashes:
        keep &= crashes["cause"].fillna("").str.contains(f.cause, regex=False)
    if f.alcohol == "yes":
        keep &= crashes["alcohol"].astype(bool)
    elif f.alcohol == "no":
        keep &= ~crashes["alcohol"].astype(bool)
    if f.area:
        keep &= _inside_xy(crashes["lon"], crashes["lat"], f.area)
    if keep.all():
        # every row: a new frame on the same columns (taking a million rows of every
        # column, or copying them, costs a page 0.2–0.4 s; callers own their input)
        return crashes.copy(deep=False)
    return crashes.loc[keep]


def filter_spots(spots: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Spots on the chosen roads and communes, of the chosen rule set (manual
    flags always kept), whose 12-month window overlaps the period."""
    if spots.empty:
        return spots
    keep = pd.Series(True, index=spots.index)
    if f.roads:
        keep &= spots["road_code"].isin(f.roads)
    if f.communes:
        keep &= spots["commune"].isin(f.communes) | spots["commune"].isna()
    if f.ruleset:
        keep &= (spots["ruleset"] == f.ruleset) | spots["manual"].astype(bool)
    ws = pd.to_datetime(spots["window_start"])
    we = pd.to_datetime(spots["window_end"])
    if f.date_from:
        keep &= we.isna() | (we >= pd.Timestamp(f.date_from))
    if f.date_to:
        keep &= ws.isna() | (ws <= pd.Timestamp(f.date_to))
    if f.area:
        keep &= _intersecting(spots["geometry"], f.area)
    return spots.loc[keep]


def filter_items(items: pd.DataFrame, f: Filters, *, geometry: pd.Series | None = None) -> pd.DataFrame:
    """Cases and works: by road and commune, and by the area (their
    ``geometry``, or the ``geometry`` given: a work's is its spot's or its
    stretch's, :func:`services.works.work_geometries`)."""
    if items.empty:
        return items
    keep = pd.Series(True, index=items.index)
    if f.roads and "road_code" in items:
        keep &= items["road_code"].isin(f.roads)
    if f.communes and "commune" in items:
        keep &= items["commune"].isin(f.communes) | items["commune"].isna()
    if f.area:
        geoms = geometry if geometry is not None else items.get("geometry")
        if geoms is None:
            raise AreaError("Không có vị trí để lọc theo vùng / No location to filter by the area")
        keep &= _intersecting(pd.Series(list(geoms), index=items.index), f.area)
    return items.loc[keep]
