"""Folium maps built from the store's frames, with Leaflet and its plugins
served from the app's own static folder (no CDN)."""
from __future__ import annotations

import html
import json

import folium
import numpy as np
import pandas as pd
import shapely
from folium import plugins

from geo.chainage import format_chainage

STATIC_PREFIX = "/app/static/vendor"

#: CDN file name → path under static/vendor.
_LOCAL = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "bootstrap.bundle.min.js": "bootstrap/js/bootstrap.bundle.min.js",
    "bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "all.min.css": "fontawesome/css/all.min.css",
    "leaflet.awesome-markers.js": "awesome-markers/leaflet.awesome-markers.js",
    "leaflet.awesome-markers.css": "awesome-markers/leaflet.awesome-markers.css",
    "leaflet.markercluster.js": "markercluster/leaflet.markercluster.js",
    "MarkerCluster.css": "markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "markercluster/MarkerCluster.Default.css",
    "leaflet_heat.min.js": "leaflet-heat/leaflet-heat.js",
}
#: Assets with no local copy that the maps do not need.
_DROP = {"bootstrap-glyphicons.css", "leaflet.awesome.rotate.min.css"}

SEVERITY_COLOURS = {
    "dac_biet_nghiem_trong": "#4a0000", "rat_nghiem_trong": "#b71c1c", "nghiem_trong": "#e65100",
    "it_nghiem_trong": "#f9a825", "va_cham": "#607d8b",
}
STATUS_COLOURS = {
    "candidate": "#ff6f00", "confirmed": "#c62828", "remediation_planned": "#6a1b9a", "under_works": "#1565c0",
    "fixed": "#2e7d32", "monitoring": "#00838f", "removed": "#9e9e9e",
}


def localise_assets(element) -> None:
    """Point every JS/CSS link of a folium element tree at ``/app/static/vendor``."""
    stack = [element]
    while stack:
        el = stack.pop()
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if links:
                new = []
                for name, url in links:
                    fname = url.rsplit("/", 1)[-1]
                    if fname in _DROP:
                        continue
                    new.append((name, f"{STATIC_PREFIX}/{_LOCAL[fname]}" if fname in _LOCAL else url))
                setattr(el, attr, new)
        stack.extend(getattr(el, "_children", {}).values())


def _bounds(lon, lat):
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    return [[float(np.nanpercentile(lat[ok], 1)), float(np.nanpercentile(lon[ok], 1))],
            [float(np.nanpercentile(lat[ok], 99)), float(np.nanpercentile(lon[ok], 99))]]


_CRASH_CALLBACK = """
function (row) {
    var colours = %s;
    var m = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 5, weight: 1, color: '#222', fillColor: colours[row[2]] || '#607d8b', fillOpacity: 0.9});
    m.bindTooltip(row[3]);
    return m;
}
"""


def overview_map(*, crashes: pd.DataFrame, spots: pd.DataFrame | None = None, roads: pd.DataFrame | None = None,
                 boundaries: pd.DataFrame | None = None, heat: bool = False, height_hint: int = 520,
                 lang: str = "vi") -> folium.Map:
    """A map of crashes (clustered markers coloured by severity, or a heat map),
    black spots and potential points (coloured by status), roads and boundaries.

    Every user-supplied text is HTML-escaped before it reaches a tooltip.
    """
    b = _bounds(crashes["lon"], crashes["lat"]) if len(crashes) else None
    if b is None and boundaries is not None and len(boundaries):
        x0, y0, x1, y1 = shapely.total_bounds(boundaries["geometry"].to_numpy())
        b = [[y0, x0], [y1, x1]]
    m = folium.Map(location=[16.0, 106.0], zoom_start=6, tiles=None, prefer_canvas=True, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=True).add_to(m)
    if boundaries is not None and len(boundaries):
        fg = folium.FeatureGroup(name="Ranh giới hành chính / Boundaries", show=True)
        for rec in boundaries.to_dict("records"):
            if rec["geometry"] is None:
                continue
            folium.GeoJson(shapely.to_geojson(rec["geometry"]), name=html.escape(rec["name"]),
                           style_function=lambda _: {"color": "#37474f", "weight": 2, "fillOpacity": 0.03},
                           tooltip=html.escape(rec["name"])).add_to(fg)
        fg.add_to(m)
    if roads is not None and len(roads):
        fg = folium.FeatureGroup(name="Tuyến đường / Roads", show=True)
        for rec in roads.to_dict("records"):
            folium.GeoJson(shapely.to_geojson(rec["geometry"]),
                           style_function=lambda _: {"color": "#424242", "weight": 4, "opacity": 0.7},
                           tooltip=html.escape(f"{rec['code']} {rec.get('name') or ''}")).add_to(fg)
        fg.add_to(m)
    ok = crashes["lon"].notna() & crashes["lat"].notna() if len(crashes) else pd.Series(dtype=bool)
    pts = crashes.loc[ok] if len(crashes) else crashes
    if heat and len(pts):
        plugins.HeatMap(pts[["lat", "lon"]].to_numpy().tolist(), name="Bản đồ nhiệt / Heat map", radius=12,
                        blur=15, min_opacity=0.3).add_to(m)
    elif len(pts):
        tips = (pts["occurred_at"].dt.strftime("%d/%m/%Y").fillna("") + " · "
                + pts["deaths"].astype(str) + " chết / " + pts["injured"].astype(str) + " bị thương")
        data = list(zip(pts["lat"].round(6), pts["lon"].round(6), pts["severity"].fillna("va_cham"),
                        tips.map(html.escape)))
        plugins.FastMarkerCluster(data, name="Vụ TNGT / Crashes",
                                  callback=_CRASH_CALLBACK % json.dumps(SEVERITY_COLOURS),
                                  options={"disableClusteringAtZoom": 16, "chunkedLoading": True}).add_to(m)
    if spots is not None and len(spots):
        fg = folium.FeatureGroup(name="Điểm đen, điểm tiềm ẩn / Black spots", show=True)
        for rec in spots.to_dict("records"):
            g = rec.get("geometry")
            if g is None:
                continue
            colour = STATUS_COLOURS.get(rec["status"], "#ff6f00")
            kind = "Điểm đen" if rec["kind"] == "black_spot" else "Điểm tiềm ẩn"
            tip = html.escape(f"#{rec['id']} {kind} {rec.get('road_code') or ''} "
                              f"{format_chainage(rec.get('from_m'))}–{format_chainage(rec.get('to_m'))} · "
                              f"{rec.get('n_crashes', 0)} vụ, {rec.get('deaths', 0)} chết")
            if g.geom_type == "Point":
                folium.CircleMarker([g.y, g.x], radius=10, color=colour, weight=3, fill=True, fill_opacity=0.4,
                                    tooltip=tip).add_to(fg)
            else:
                folium.GeoJson(shapely.to_geojson(g), tooltip=tip,
                               style_function=lambda _, c=colour: {"color": c, "weight": 9, "opacity": 0.85,
                                                                   "fillColor": c, "fillOpacity": 0.3}).add_to(fg)
        fg.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if b is not None:
        m.fit_bounds(b)
    localise_assets(m)
    return m
