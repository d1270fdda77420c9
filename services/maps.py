"""Folium maps built from the store's frames, with Leaflet and its plugins
served from the app's own static folder (no CDN)."""

from __future__ import annotations

import hashlib
import html
import json
import random
import re
from collections.abc import Iterable, Sequence
from typing import Any, cast

import branca.element
import folium
import numpy as np
import pandas as pd
import shapely
from folium import plugins

from geo.chainage import format_chainage
from i18n import pick, t
from models.enums import ItemType
from services import map_text  # noqa: F401  # a map element's output reaches the page as text, never as a template
from services.map_points import RING_COLOUR, TIP_LIMIT, CrashPointsLayer, PackedPoints, crash_colours, pack_points

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
    "leaflet.draw.js": "leaflet-draw/leaflet.draw.js",
    "leaflet.draw.css": "leaflet-draw/leaflet.draw.css",
}
#: Assets folium asks for that the maps do not use (no marker icons, no jQuery or Bootstrap widgets): each script
#: left out is one request less before the map draws (streamlit-folium loads the scripts one after another).
#: Bootstrap's stylesheet stays: the legend and the layer list are set in its type.
_DROP = {
    "bootstrap-glyphicons.css",
    "leaflet.awesome.rotate.min.css",
    "jquery-3.7.1.min.js",
    "bootstrap.bundle.min.js",
    "leaflet.awesome-markers.js",
    "leaflet.awesome-markers.css",
    "all.min.css",
}

SEVERITY_COLOURS = {
    "dac_biet_nghiem_trong": "#4a0000",
    "rat_nghiem_trong": "#b71c1c",
    "nghiem_trong": "#e65100",
    "it_nghiem_trong": "#f9a825",
    "va_cham": "#607d8b",
}
STATUS_COLOURS = {
    "candidate": "#ff6f00",
    "confirmed": "#c62828",
    "remediation_planned": "#6a1b9a",
    "under_works": "#1565c0",
    "fixed": "#2e7d32",
    "monitoring": "#00838f",
    "removed": "#9e9e9e",
}


#: Colours of encroachment cases: overdue, open, closed.
CASE_COLOURS = {"overdue": "#d50000", "open": "#ef6c00", "closed": "#78909c"}
WORK_COLOUR = "#1565c0"
#: Potential crash points, whatever their status (dashed): apart from the black spots' status colours.
POTENTIAL_COLOUR = "#fbc02d"
#: A blank 1×1 PNG used as the offline base layer (no tile server needed).
_BLANK_TILE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII="
)

_TAG_RE = re.compile(r"\[(BS|CASE|WORK)-(\d+)\]")
_TAG_KIND = {"BS": ItemType.BLACKSPOT.value, "CASE": ItemType.CASE.value, "WORK": ItemType.WORK.value}


def item_tag(kind: str, item_id: int) -> str:
    """The tag that starts an item's tooltip, so a click can be traced back.

    >>> item_tag("case", 7)
    '[CASE-7]'
    >>> parse_item_tag("[CASE-7] Lấn chiếm <b>")
    ('case', 7)
    >>> parse_item_tag("QL24") is None
    True
    """
    code = {v: k for k, v in _TAG_KIND.items()}[kind]
    return f"[{code}-{int(item_id)}]"


def parse_item_tag(text: str | None) -> tuple[str, int] | None:
    m = _TAG_RE.search(text or "")
    return (_TAG_KIND[m.group(1)], int(m.group(2))) if m else None


class SafeTooltip(folium.Tooltip):
    """A tooltip whose text reaches the page as data, never as code.

    folium's :class:`~folium.Tooltip` splices its text into a JavaScript
    template literal (backticks): a name holding ``${...}`` or a backtick would
    run as script when the map loads. Here the text is HTML-escaped (so
    ``<img onerror=...>`` is shown as text) and the whole tooltip goes into the
    page as a JSON string literal (Jinja's ``tojson``: no quote, backtick,
    ``${`` or ``</script>`` can end it).

    The tooltip reads as the same plain text as before, which is what
    streamlit-folium returns for a click (``last_object_clicked_tooltip``: the
    text content of the tooltip's HTML) and :func:`parse_item_tag` reads.

    >>> t = SafeTooltip("[CASE-7] `${x}` <b>")
    >>> t.html
    '<div>[CASE-7] `${x}` &lt;b&gt;</div>'
    """

    _template = folium.template.Template("""
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip({{ this.html|tojson }}, {{ this.options|tojavascript }});
        {% endmacro %}
    """)

    def __init__(self, text: str, *, sticky: bool = True, **kwargs: Any) -> None:
        super().__init__(text, sticky=sticky, **kwargs)
        self.html = f"<div>{html.escape(self.text)}</div>"


def localise_assets(element: branca.element.Element) -> None:
    """Point every JS/CSS link of a folium element tree at ``/app/static/vendor``."""
    stack: list[Any] = [element]
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


def _bounds(lon: pd.Series | np.ndarray, lat: pd.Series | np.ndarray) -> list[list[float]] | None:
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    return [
        [float(np.nanpercentile(y[ok], 1)), float(np.nanpercentile(x[ok], 1))],
        [float(np.nanpercentile(y[ok], 99)), float(np.nanpercentile(x[ok], 99))],
    ]


#: The kind a crash chosen on the map is kept under (``("crash", id)``), beside the items' kinds.
CRASH = "crash"


def pack_crashes(crashes: pd.DataFrame) -> PackedPoints:
    """The crashes with coordinates packed for the map's crash layer, coloured
    by severity (the most severe drawn on top): what :func:`planner_map` sends
    and what a click on it is read against (:func:`services.map_points.crash_at`)."""
    return pack_points(
        crashes["lon"].to_numpy(float),
        crashes["lat"].to_numpy(float),
        crash_colours(crashes["severity"], list(SEVERITY_COLOURS)),
        crashes["id"].to_numpy(np.int64),
    )


def chosen_crash_ring(crashes: pd.DataFrame, crash_id: int | None) -> folium.FeatureGroup | None:
    """The chosen crash's ring as a layer streamlit-folium adds to the map
    without drawing the map again (``feature_group_to_add``): the crash layer
    rings a crash in the browser on a click, but a map drawn again (a filter,
    a layer switched) forgot it while the page still showed the crash. None
    when no crash with a position is chosen. The ring takes no clicks."""
    if crash_id is None or not len(crashes):
        return None
    row = crashes.loc[crashes["id"] == crash_id, ["lon", "lat"]]
    if row.empty or not np.isfinite(row.to_numpy(float)).all():
        return None
    lon, lat = (float(v) for v in row.iloc[0])
    ring = folium.FeatureGroup(name="chosen crash", control=False)
    marker = folium.CircleMarker([lat, lon], radius=10, color=RING_COLOUR, weight=3, fill=False)
    marker.options["interactive"] = False  # (folium keeps only the path options it knows)
    marker.add_to(ring)
    return ring


#: The colour of the place chosen on the map or by its coordinates
PLACE_COLOUR = "#d81b60"  # (no item or status is drawn in it)


def chosen_place_mark(point: tuple[float, float] | None) -> folium.FeatureGroup | None:
    """The place chosen on the map or by its coordinates (lon, lat), marked on the map without drawing the
    map again (``feature_group_to_add``, as :func:`chosen_crash_ring`); None for no place. The mark takes no
    clicks (a click beside it chooses another place)."""
    if point is None or not np.isfinite(np.asarray(point, dtype=float)).all():
        return None
    lon, lat = (float(v) for v in point)
    mark = folium.FeatureGroup(name="chosen place", control=False)
    dot = folium.CircleMarker([lat, lon], radius=7, color=PLACE_COLOUR, weight=3, fill=True, fill_opacity=0.4)
    dot.options["interactive"] = False
    dot.add_to(mark)
    return mark


def _records(frame: pd.DataFrame, *columns: str) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts of the ``columns`` it has (only those: the items' dates, one
    ``Timestamp`` a cell in ``to_dict``, were most of the time the map spent on its items)."""
    return cast(list[dict[str, Any]], frame[[c for c in columns if c in frame.columns]].to_dict("records"))


def _latlon(coords: Iterable[Sequence[float]]) -> list[list[float]]:
    return [[round(y, 7), round(x, 7)] for x, y, *_ in coords]


def _vector(
    g: shapely.Geometry,
    *,
    tooltip: str,
    colour: str,
    weight: float = 4,
    fill_opacity: float = 0.3,
    dash: str | None = None,
    opacity: float = 0.85,
) -> folium.MacroElement:
    """One Leaflet layer per item (PolyLine / Polygon / CircleMarker), so a
    click on it reports its own tooltip (a GeoJSON group would not).
    ``tooltip`` is plain text (see :class:`SafeTooltip`)."""
    kw: dict[str, Any] = dict(tooltip=SafeTooltip(tooltip), color=colour, weight=weight, opacity=opacity)
    if dash:
        kw["dash_array"] = dash
    gt = g.geom_type
    if gt == "Point":
        return folium.CircleMarker([g.y, g.x], radius=max(6, weight), fill=True, fill_opacity=0.5, **kw)
    if gt in ("LineString", "LinearRing", "MultiLineString"):
        lines = [_latlon(p.coords) for p in g.geoms] if gt == "MultiLineString" else _latlon(g.coords)
        return folium.PolyLine(lines, **kw)  # type: ignore[no-untyped-call]  # folium's constructor is unannotated
    if gt == "Polygon":
        return folium.Polygon(_latlon(g.exterior.coords), fill=True, fill_color=colour, fill_opacity=fill_opacity, **kw)
    if gt == "MultiPolygon":
        return folium.Polygon(
            [_latlon(p.exterior.coords) for p in g.geoms], fill=True, fill_color=colour, fill_opacity=fill_opacity, **kw
        )
    c = g.centroid
    return folium.CircleMarker([c.y, c.x], radius=8, fill=True, fill_opacity=0.5, **kw)


def _element_id(cls: type[branca.element.Element]) -> str:
    """An id for a map element, unique within a page: 128 random bits from
    Python's generator instead of the system's (branca asks the system for
    each of the hundreds of elements a map renders, one system call each)."""
    return f"{random.getrandbits(128):032x}"


# replaces branca's classmethod (setattr: a method assigned on a class, which mypy refuses to check)
setattr(branca.element.Element, "_generate_id", classmethod(_element_id))


class _Macro(folium.MacroElement):
    """folium's :class:`~folium.MacroElement` with an annotated constructor
    (branca's is not), the base of this module's own elements."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]


class _MetricScale(_Macro):
    """Leaflet's scale bar in metres and kilometres only (no miles), bottom
    right, clear of the legend."""

    _template = folium.template.Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, position: "bottomright"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


class _KeepLayerChoices(_Macro):
    """The overlays the user switched off in the layer control stay off when
    the map is drawn again (after a save, a filter): kept in the browser's
    local storage by layer name. Static script: no data in it."""

    _template = folium.template.Template("""
        {% macro script(this, kwargs) %}
        (function (map, ctl) {
            var KEY = "blackspot_hidden_layers", hidden = [];
            try { hidden = JSON.parse(window.localStorage.getItem(KEY) || "[]"); } catch (e) { hidden = []; }
            // after this script: streamlit-folium then has put its click listener on every layer on the map, and a
            // layer hidden here and shown again later still reports its clicks
            setTimeout(function () {
                ctl._layers.forEach(function (o) {
                    if (o.overlay && hidden.indexOf(o.name) >= 0 && map.hasLayer(o.layer)) { map.removeLayer(o.layer); }
                });
            }, 0);
            map.on("overlayadd overlayremove", function () {
                var h = [];
                ctl._layers.forEach(function (o) { if (o.overlay && !map.hasLayer(o.layer)) { h.push(o.name); } });
                try { window.localStorage.setItem(KEY, JSON.stringify(h)); } catch (e) {}
            });
        })({{ this._parent.get_name() }}, {{ this.control.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, control: folium.LayerControl) -> None:
        super().__init__()
        self.control = control


class _FoldLegend(_Macro):
    """On a narrow map (a phone) the legend starts folded: open, it covered the map's centre, and a tap there
    hit the legend instead of a crash. And a hover text that opens where the legend is fades the legend
    (the legend sits above the map's panes, so it covered the text). Static script: no data in it."""

    _template = folium.template.Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            var legend = document.getElementById("map-legend");
            var d = document.querySelector("#map-legend details");
            if (d && map.getSize().x < 640) { d.open = false; }
            if (!legend) { return; }
            map.on("tooltipopen", function (e) {
                var el = e.tooltip.getElement();
                if (!el) { return; }
                var a = el.getBoundingClientRect(), b = legend.getBoundingClientRect();
                var over = a.left < b.right && a.right > b.left && a.top < b.bottom && a.bottom > b.top;
                legend.style.opacity = over ? "0.15" : "";
            });
            map.on("tooltipclose", function () { legend.style.opacity = ""; });
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)


class _KeepView(_Macro):
    """The user's view (centre, zoom) kept by the browser while the map shows
    the same thing (``key``: a digest of the chosen item and filters), so a map
    drawn again after a save does not jump; another key fits as drawn."""

    _template = folium.template.Template("""
        {% macro script(this, kwargs) %}
        (function (map, key) {
            var KEY = "blackspot_map_view", saved = null;
            try { saved = JSON.parse(window.localStorage.getItem(KEY) || "null"); } catch (e) { saved = null; }
            if (saved && saved.key === key && saved.zoom) { map.setView(saved.center, saved.zoom, {animate: false}); }
            map.on("moveend", function () {
                var c = map.getCenter();
                try {
                    window.localStorage.setItem(KEY, JSON.stringify({key: key, center: [c.lat, c.lng],
                                                                     zoom: map.getZoom()}));
                } catch (e) {}
            });
        })({{ this._parent.get_name() }}, "{{ this.key }}");
        {% endmacro %}
    """)

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = "".join(ch for ch in key if ch.isalnum())  # a hex digest: nothing to escape


def _legend(lang: str, *, cases: bool, works: bool) -> str:
    sev_labels = {
        "dac_biet_nghiem_trong": ("Đặc biệt nghiêm trọng", "Especially serious"),
        "rat_nghiem_trong": ("Rất nghiêm trọng", "Very serious"),
        "nghiem_trong": ("Nghiêm trọng", "Serious"),
        "it_nghiem_trong": ("Ít nghiêm trọng", "Less serious"),
        "va_cham": ("Va chạm", "Collision"),
    }
    from models.enums import BlackspotStatus

    rows = [f"<b>{t('Vụ TNGT theo mức độ', lang)}</b>"]
    rows += [
        f'<span style="background:{c}" class="lg-dot"></span>{html.escape(pick(sev_labels[k], lang))}'
        for k, c in SEVERITY_COLOURS.items()
    ]
    rows.append(f"<b>{t('Điểm đen theo trạng thái', lang)}</b>")
    rows += [
        f'<span style="background:{c}" class="lg-bar"></span>{html.escape(BlackspotStatus(k).label(lang))}'
        for k, c in STATUS_COLOURS.items()
    ]
    rows.append(
        f'<span style="background:repeating-linear-gradient(90deg,{POTENTIAL_COLOUR} 0 6px,transparent 6px 9px)"'
        f' class="lg-bar"></span>{t("Điểm tiềm ẩn (nét đứt)", lang)}'
    )
    if cases:
        rows.append(f"<b>{t('Lấn chiếm hành lang', lang)}</b>")
        for k, pair in {
            "overdue": ("Quá hạn", "Overdue"),
            "open": ("Đang xử lý", "Open"),
            "closed": ("Đã xong", "Closed"),
        }.items():
            rows.append(f'<span style="background:{CASE_COLOURS[k]}" class="lg-dot"></span>{pick(pair, lang)}')
    if works:
        rows.append(
            f'<span style="background:{WORK_COLOUR}" class="lg-bar"></span>'
            f'<span style="border-color:{WORK_COLOUR}" class="lg-ring"></span>'
            f"{t('Công trình xử lý', lang)}"
        )
    rows.append(
        f'<span style="background:#ffd54f;opacity:.6" class="lg-bar"></span>{t("Hành lang an toàn đường bộ", lang)}'
    )
    return (
        # (the heat map's canvas lies above the items' and took their clicks: clicks go through it)
        "<style>.leaflet-heatmap-layer{pointer-events:none}"
        ".lg-dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px}"
        ".lg-bar{display:inline-block;width:16px;height:5px;margin-right:5px;vertical-align:middle}"
        ".lg-ring{display:inline-block;width:8px;height:8px;border:2px dashed;border-radius:50%;background:#fff;"
        "margin-right:5px;vertical-align:middle}</style>"
        '<div id="map-legend" style="position:absolute;bottom:24px;left:10px;z-index:9999;background:white;'
        "padding:4px 8px;border:1px solid #999;border-radius:4px;font:11px/1.4 sans-serif;max-height:55%;"
        f'overflow:auto"><details open><summary>{t("Chú giải", lang)}</summary>'
        + "<br>".join(rows)
        + "</details></div>"
    )


def planner_map(
    *,
    crashes: pd.DataFrame,
    spots: pd.DataFrame | None = None,
    roads: pd.DataFrame | None = None,
    boundaries: pd.DataFrame | None = None,
    corridors: pd.DataFrame | None = None,
    cases: pd.DataFrame | None = None,
    works: pd.DataFrame | None = None,
    heat: bool = False,
    offline: bool = False,
    lang: str = "vi",
    selected: tuple[str, int] | None = None,
    draw: bool = False,
    view_key: str | None = None,
    area: shapely.Geometry | None = None,
) -> folium.Map:
    """The planners' map: base layers (OpenStreetMap, and a plain offline base
    that needs no tile server), and toggled layers: boundaries, roads,
    corridor strips, crashes (clustered by severity, or a heat map), black
    spots and potential points (by status), encroachment cases (overdue
    stand out) and remediation works; a legend.

    Tooltips start with an item tag (:func:`item_tag`) so a click selects
    the item. Every user-supplied text reaches the page as data: HTML-escaped
    inside a JSON string (:class:`SafeTooltip`, and the crash rows), never
    spliced into script. Every script and stylesheet is served by the app
    (:func:`localise_assets`); only the OpenStreetMap base layer's tiles come
    from outside. With ``view_key`` (what the map shows: the chosen item and
    the filters) the browser keeps the user's view while the key is the same
    (the map drawn again after a save); a new key fits the chosen item, else
    the data. ``area`` (the area every page is filtered by) is outlined,
    dashed and unfilled, so a click inside it still reaches the map.
    """
    b: list[list[float]] | None = _bounds(crashes["lon"], crashes["lat"]) if len(crashes) else None
    if b is None and roads is not None and len(roads):
        x0, y0, x1, y1 = shapely.total_bounds(roads["geometry"].to_numpy())
        b = [[y0, x0], [y1, x1]]
    if b is None and boundaries is not None and len(boundaries):
        x0, y0, x1, y1 = shapely.total_bounds(boundaries["geometry"].to_numpy())
        b = [[y0, x0], [y1, x1]]
    m = folium.Map(location=[16.0, 106.0], zoom_start=6, tiles=None, prefer_canvas=True)
    _MetricScale().add_to(m)
    plain = folium.TileLayer(
        tiles=_BLANK_TILE,
        attr="—",
        name="Nền trống (ngoại tuyến) / Plain (offline)",
        overlay=False,
        control=True,
        max_zoom=22,
        show=offline,
    )
    osm = folium.TileLayer("OpenStreetMap", name="OpenStreetMap", overlay=False, control=True, show=not offline)
    for layer in (plain, osm) if offline else (osm, plain):
        layer.add_to(m)
    if boundaries is not None and len(boundaries):
        fg = folium.FeatureGroup(name="Ranh giới hành chính / Boundaries", show=True)
        for rec in _records(boundaries, "name", "geometry"):
            if rec["geometry"] is None:
                continue
            folium.GeoJson(
                shapely.to_geojson(rec["geometry"]),
                style_function=lambda _: {"color": "#37474f", "weight": 2, "fillOpacity": 0.03},
                tooltip=SafeTooltip(rec["name"]),
            ).add_to(fg)
        fg.add_to(m)
    if corridors is not None and len(corridors):
        fg = folium.FeatureGroup(name="Hành lang an toàn / Safety corridor", show=True)
        folium.GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)), "properties": {}}
                    for g in corridors["geometry"]
                    if g is not None and not g.is_empty
                ],
            },
            style_function=lambda _: {"color": "#ffb300", "weight": 0, "fillColor": "#ffd54f", "fillOpacity": 0.45},
        ).add_to(fg)
        fg.add_to(m)
    if roads is not None and len(roads):
        fg = folium.FeatureGroup(name="Tuyến đường / Roads", show=True)
        for rec in _records(roads, "code", "name", "geometry"):
            folium.GeoJson(
                shapely.to_geojson(rec["geometry"]),
                style_function=lambda _: {"color": "#424242", "weight": 4, "opacity": 0.7},
                tooltip=SafeTooltip(f"{rec['code']} {rec.get('name') or ''}"),
            ).add_to(fg)
        fg.add_to(m)
    ok = crashes["lon"].notna() & crashes["lat"].notna() if len(crashes) else pd.Series(dtype=bool)
    placed = int(ok.sum())  # (not crashes.loc[ok]: every column of a million rows, to count them)
    if heat and placed:
        plugins.HeatMap(
            crashes.loc[ok, ["lat", "lon"]].round(5).to_numpy().tolist(),
            name="Bản đồ nhiệt / Heat map",
            radius=12,
            blur=15,
            min_opacity=0.3,
        ).add_to(m)  # type: ignore[no-untyped-call]
    elif placed:
        tips = None
        if len(crashes) <= TIP_LIMIT:  # a hover text per crash (plain text, shown as text by the layer)
            tips = (
                crashes["occurred_at"].dt.strftime("%d/%m/%Y").fillna("")
                + " · "
                + crashes["deaths"].astype(str)
                + f" {t('chết', lang)} / "
                + crashes["injured"].astype(str)
                + f" {t('bị thương', lang)}"
                + crashes["description"].fillna("").map(lambda d: f" · {d[:80]}" if d else "")
            ).tolist()
        CrashPointsLayer(
            pack_crashes(crashes),
            name="Vụ TNGT / Crashes",
            colours=list(SEVERITY_COLOURS.values()),
            items=_TAG_RE.pattern,
            tips=tips,
        ).add_to(m)
    if works is not None and len(works) and "geometry" in works:
        from models.enums import WorkStatus, WorkType

        fg = folium.FeatureGroup(name="Công trình xử lý / Works", show=True)
        for rec in _records(works, "id", "work_type", "status", "name", "geometry"):
            g = rec.get("geometry")
            if g is None:
                continue
            tip = (
                item_tag(ItemType.WORK, rec["id"])
                + " "
                + (
                    f"{WorkType(rec['work_type']).label(lang)} · {WorkStatus(rec['status']).label(lang)}"
                    + (f" · {rec['name']}" if rec.get("name") else "")
                )
            )
            if g.geom_type == "Point":  # a blue ring, dashed like a work's stretch (no plugin, no CDN)
                folium.CircleMarker(
                    [g.y, g.x],
                    radius=8,
                    color=WORK_COLOUR,
                    weight=3,
                    dash_array="4 3",
                    fill=True,
                    fill_color="#ffffff",
                    fill_opacity=0.9,
                    tooltip=SafeTooltip(tip),
                ).add_to(fg)
            else:
                _vector(g, tooltip=tip, colour=WORK_COLOUR, weight=4, dash="6 6").add_to(fg)
        fg.add_to(m)
    if spots is not None and len(spots):  # above the works: a click there is the spot's
        fg = folium.FeatureGroup(name="Điểm đen, điểm tiềm ẩn / Black spots", show=True)
        for rec in _records(
            spots, "id", "kind", "status", "road_code", "from_m", "to_m", "n_crashes", "deaths", "geometry"
        ):
            g = rec.get("geometry")
            if g is None:
                continue
            potential = rec["kind"] == "potential" and rec["status"] != "removed"
            colour = POTENTIAL_COLOUR if potential else STATUS_COLOURS.get(rec["status"], "#ff6f00")
            kind = t("Điểm đen" if rec["kind"] == "black_spot" else "Điểm tiềm ẩn", lang)
            tip = (
                item_tag(ItemType.BLACKSPOT, rec["id"])
                + " "
                + (
                    f"{kind} {rec.get('road_code') or ''} {format_chainage(rec.get('from_m'))}–"
                    f"{format_chainage(rec.get('to_m'))} · {rec.get('n_crashes', 0)} vụ, {rec.get('deaths', 0)} chết"
                )
            )
            chosen = selected == (ItemType.BLACKSPOT, rec["id"])
            _vector(
                g,
                tooltip=tip,
                colour=colour,
                weight=14 if chosen else 9,
                dash="8 6" if potential else None,
                opacity=1.0 if chosen else 0.85,
            ).add_to(fg)
        fg.add_to(m)
    if cases is not None and len(cases):  # small markers, last: a case is never hidden under a spot's line
        from models.enums import CASE_OPEN, CaseStatus

        fg = folium.FeatureGroup(name="Lấn chiếm hành lang / Encroachment", show=True)
        open_values = {c.value for c in CASE_OPEN}
        for rec in _records(
            cases,
            "id",
            "kind",
            "status",
            "overdue",
            "days_overdue",
            "road_code",
            "chainage_m",
            "description",
            "geometry",
        ):
            g = rec.get("geometry")
            if g is None:
                continue
            state = "overdue" if rec.get("overdue") else ("open" if rec["status"] in open_values else "closed")
            colour = CASE_COLOURS[state]
            tip = (
                item_tag(ItemType.CASE, rec["id"])
                + " "
                + (
                    f"{rec.get('kind') or t('case_kind', lang)} · "
                    f"{CaseStatus(rec['status']).label(lang)}"
                    + (f" · QUÁ HẠN {rec.get('days_overdue')} ngày" if state == "overdue" else "")
                    + f" · {rec.get('road_code') or ''} {format_chainage(rec.get('chainage_m'))}"
                    + (f" · {rec['description'][:80]}" if rec.get("description") else "")
                )
            )
            if g.geom_type == "Point":
                folium.CircleMarker(
                    [g.y, g.x],
                    radius=7,
                    color="#000",
                    weight=1,
                    fill=True,
                    fill_color=colour,
                    fill_opacity=0.95,
                    tooltip=SafeTooltip(tip),
                ).add_to(fg)
            else:
                _vector(g, tooltip=tip, colour=colour, weight=2, fill_opacity=0.6).add_to(fg)
        fg.add_to(m)
    if area is not None and not area.is_empty:
        folium.GeoJson(
            shapely.to_geojson(area),
            name="Vùng lọc / Area filter",
            style_function=lambda _: {"color": "#6a1b9a", "weight": 2, "dashArray": "6 4", "fill": False},
        ).add_to(m)
    if draw:  # draw a structure's outline to record it as an encroachment
        plugins.Draw(
            export=False,
            position="topleft",
            draw_options={
                "polyline": False,
                "circle": False,
                "circlemarker": False,
                "marker": False,
                "rectangle": True,
                "polygon": {"allowIntersection": False},
            },
            edit_options={"edit": False, "remove": False},
        ).add_to(m)  # type: ignore[no-untyped-call]
    control = folium.LayerControl(collapsed=True)  # opens on hover; the map stays visible
    control.add_to(m)
    _KeepLayerChoices(control).add_to(m)
    _FoldLegend().add_to(m)
    cast(branca.element.Figure, m.get_root()).html.add_child(
        map_text.Text(
            _legend(lang, cases=cases is not None and len(cases) > 0, works=works is not None and len(works) > 0)
        )
    )
    focus = _selected_bounds(selected, spots=spots, cases=cases, works=works)
    if focus is not None:
        m.fit_bounds(focus)  # the chosen item in view
    elif b is not None:
        m.fit_bounds(b)
    if view_key is not None:
        _KeepView(hashlib.sha256(view_key.encode()).hexdigest()[:16]).add_to(m)  # after the fit: it wins
    localise_assets(m)
    return m


def _selected_bounds(
    selected: tuple[str, int] | None,
    *,
    spots: pd.DataFrame | None,
    cases: pd.DataFrame | None,
    works: pd.DataFrame | None,
    pad_deg: float = 0.004,
) -> list[list[float]] | None:
    if not selected:
        return None
    kind, item_id = selected
    frames: dict[str, pd.DataFrame | None] = {ItemType.BLACKSPOT: spots, ItemType.CASE: cases, ItemType.WORK: works}
    frame = frames.get(kind)
    if frame is None or not len(frame) or "geometry" not in frame:
        return None
    hit = frame.loc[frame["id"] == item_id, "geometry"]
    if hit.empty or hit.iloc[0] is None:
        return None
    x0, y0, x1, y1 = hit.iloc[0].bounds
    return [[y0 - pad_deg, x0 - pad_deg], [y1 + pad_deg, x1 + pad_deg]]


def overview_map(
    *,
    crashes: pd.DataFrame,
    spots: pd.DataFrame | None = None,
    roads: pd.DataFrame | None = None,
    boundaries: pd.DataFrame | None = None,
    heat: bool = False,
    lang: str = "vi",
    offline: bool = False,
    **_: Any,
) -> folium.Map:
    """The home page's map: crashes, spots, roads and boundaries."""
    return planner_map(
        crashes=crashes, spots=spots, roads=roads, boundaries=boundaries, heat=heat, lang=lang, offline=offline
    )
