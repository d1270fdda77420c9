"""The map with 100 000 and 1 000 000 crashes (issue 18.2): three ways side by side, then the app.

Side by side, each as the page the browser gets (the same Leaflet files, served locally, no outside request),
for the same crashes (real places: the import benchmark's rows):

- **cluster** (the baseline, the map before): folium's FastMarkerCluster over compact JSON rows, one Leaflet
  marker per crash;
- **canvas** (chosen): one packed payload (24-bit coordinates in deflated byte planes) drawn on one canvas by
  ``static/js/crash_points.js`` (``services/map_points.py``);
- **aggregated**: server-side aggregation by zoom and bounds: only the view's crashes, counted in 40-pixel
  cells at the view's zoom, one circle marker per cell. Each pan or zoom needs the server again: the figure
  given is the server's aggregation and map for one view; with streamlit-folium a new map is a new
  component (the whole map drawn again), so every move costs about one first draw more.

For each: the server's build (best of 3), the page's size, and Chromium's time from opening the page to the
crashes drawn (first visit with an empty cache, and the best of two more).

Then the app itself (the chosen way): the map page's script with data cached (AppTest), the map component's
payload, and Chromium from opening ``/map`` to the crash layer drawn, at 100 000 crashes and at 1 000 000, and
the same page with the demo's 288 crashes measured in the same run as the baseline: the page's own time
(Streamlit's shell, the sidebar, the component), which no crash layer can go under. Also the map opened as a
planner opens it, from the sidebar's link with the app open (no page load: Streamlit's shell is there).

``python bench/bench_map.py [--million]``
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import math
import os
import tempfile
import threading
import time
from pathlib import Path

import folium
import numpy as np
import pandas as pd
from folium import plugins

from common import ROOT, insert_crashes, measure
from bench_import import make_csv
from tests.browser.chrome import ARGS

#: Debian's Chromium, as the browser tests start it, with every name but the loopback's unresolvable: nothing
#: leaves the machine, and no request goes through Playwright (routing each request through the driver, as
#: the benchmark did until session 11, also turns the browser's cache off: every "warm" visit fetched every
#: file again, ~0.4 s more a visit than a planner's browser takes)
BROWSER_ARGS = [*ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
W, H = 1000, 660  # the map's size on the page (as on the app's map page)


# ------------------------------------------------------------------ the three ways
def cluster_map(crashes: pd.DataFrame) -> folium.Map:
    """The map before (the baseline): compact rows ``[lat, lon, severity]`` in a FastMarkerCluster."""
    from services.maps import _BLANK_TILE, SEVERITY_COLOURS, _bounds, localise_assets

    order = list(SEVERITY_COLOURS)
    sev = crashes["severity"].map({k: i for i, k in enumerate(order)}).fillna(len(order) - 1).astype(int)
    rows = json.dumps(
        list(map(list, zip(crashes["lat"].round(5).tolist(), crashes["lon"].round(5).tolist(), sev.tolist()))),
        separators=(",", ":"),
    )
    m = folium.Map(location=[16, 106], zoom_start=6, tiles=None, prefer_canvas=True)
    folium.TileLayer(tiles=_BLANK_TILE, attr="—", max_zoom=22).add_to(m)  # the app's offline base
    callback = (
        "function (row) { var colours = %s; return L.circleMarker(new L.LatLng(row[0], row[1]), "
        "{radius: 5, weight: 1, color: '#222', fillColor: colours[row[2]] || '#607d8b', fillOpacity: 0.9}); }"
        % json.dumps(list(SEVERITY_COLOURS.values()))
    )
    cluster = plugins.FastMarkerCluster(
        [], callback=callback, options={"disableClusteringAtZoom": 16, "chunkedLoading": True}
    )
    cluster._template = folium.template.Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function(){ {{ this.callback }}
            var data = """
        + rows
        + """; var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
            for (var i = 0; i < data.length; i++) { callback(data[i]).addTo(cluster); }
            cluster.addTo({{ this._parent.get_name() }}); return cluster; })();
        {% endmacro %}"""
    )
    cluster.add_to(m)
    m.fit_bounds(_bounds(crashes["lon"], crashes["lat"]))
    localise_assets(m)
    return m


def canvas_map(crashes: pd.DataFrame) -> folium.Map:
    """The chosen way: the app's own map builder with only the crash layer."""
    from services.maps import planner_map

    return planner_map(crashes=crashes, offline=True)


def view_of(crashes: pd.DataFrame) -> tuple[list[float], int]:
    """The first view (the crashes' 1–99 % box, as the app fits it): its bounds and Leaflet's zoom for it."""
    from services.maps import _bounds

    (s, w), (n, e) = _bounds(crashes["lon"], crashes["lat"])

    def merc(lat):
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    zx = math.log2(W * 360 / (256 * max(e - w, 1e-9)))
    zy = math.log2(H * 2 * math.pi / (256 * max(merc(n) - merc(s), 1e-12)))
    return [w, s, e, n], int(math.floor(min(zx, zy)))


def aggregate_view(lon, lat, colour, bounds, zoom: int, *, cell_px: int = 40):
    """The crashes in ``bounds`` counted per ``cell_px`` cell at ``zoom``: centre, count and worst colour per cell."""
    w, s, e, n = bounds
    inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    x = (lon[inside] + 180) / 360 * 256 * 2**zoom
    sinl = np.sin(np.radians(lat[inside]))
    y = (0.5 - np.log((1 + sinl) / (1 - sinl)) / (4 * np.pi)) * 256 * 2**zoom
    cx, cy = (x // cell_px).astype(np.int64), (y // cell_px).astype(np.int64)
    key = (cx - cx.min()) * (int(cy.max() - cy.min()) + 1) + (cy - cy.min()) if len(cx) else cx
    cells, inv, count = np.unique(key, return_inverse=True, return_counts=True)
    mlon = np.bincount(inv, lon[inside]) / count
    mlat = np.bincount(inv, lat[inside]) / count
    worst = np.full(len(cells), 99)
    np.minimum.at(worst, inv, colour[inside])
    return mlon, mlat, count, worst


def aggregated_map(crashes: pd.DataFrame) -> folium.Map:
    """Server-side aggregation for the first view: one circle marker per non-empty cell (a tooltip with its count)."""
    from services.map_points import crash_colours
    from services.maps import _BLANK_TILE, SEVERITY_COLOURS, localise_assets

    bounds, zoom = view_of(crashes)
    colour = crash_colours(crashes["severity"], list(SEVERITY_COLOURS))
    mlon, mlat, count, worst = aggregate_view(
        crashes["lon"].to_numpy(float), crashes["lat"].to_numpy(float), colour, bounds, zoom
    )
    m = folium.Map(location=[16, 106], zoom_start=6, tiles=None, prefer_canvas=True)
    folium.TileLayer(tiles=_BLANK_TILE, attr="—", max_zoom=22).add_to(m)  # the app's offline base
    colours = list(SEVERITY_COLOURS.values())
    fg = folium.FeatureGroup(name="Vụ TNGT / Crashes")
    for x, y, c, k in zip(mlon.tolist(), mlat.tolist(), count.tolist(), worst.tolist()):
        folium.CircleMarker(
            [round(y, 5), round(x, 5)],
            radius=4 + 2 * math.log10(c),
            weight=1,
            color="#222",
            fill_color=colours[k],
            fill_opacity=0.85,
            tooltip=f"{c} vụ",
        ).add_to(fg)
    fg.add_to(m)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    localise_assets(m)
    return m


# ------------------------------------------------------------------ measuring in Chromium
#: When each way has drawn its crashes: for the cluster, which adds its markers in chunks after its first clusters
#: show, a script true once every crash is in it; for the others, a selector (READY).
CLUSTER_FULL = """() => { for (const k in window) { if (k.startsWith('fast_marker_cluster_'))
    return window[k].getLayers().length === %d; } return false; }"""
READY = {
    "canvas": "canvas.leaflet-crash-points[data-in-view]",
    "aggregated": ".leaflet-overlay-pane canvas",
}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@functools.cache
def _static_server(root: str) -> str:
    handler = functools.partial(_Quiet, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _browser(p):
    return p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS)


def _note_outside(page, outside: list[str]) -> None:
    """Note every request that tries to leave the machine (the browser cannot resolve its name: it fails)."""
    page.on(
        "request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else outside.append(r.url)
    )


#: Set in every page before its own scripts run: every 10 ms (and on every change of the page), the test
#: ``READY_TEST`` (a function of the page's window) is tried, and the first time it holds, the page's own clock
#: (milliseconds since the navigation started) is kept in ``window.__drawn``
WATCH = """(() => { const ready = %s; const check = () => { if (window.__drawn === undefined) { try {
    if (ready(window)) { window.__drawn = performance.now(); } } catch (e) {} } };
  setInterval(check, 10);
  document.addEventListener('DOMContentLoaded', () => new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true}));
})();"""


def ready_test(ready: str, frame: str | None) -> str:
    """The JS test for ``ready`` (a selector, in ``frame`` when given, or a script ``() => …``)."""
    if ready.startswith("() =>"):
        return "(w) => (%s)()" % ready
    where = "w.document" if frame is None else "w.document.querySelector(%s).contentDocument" % json.dumps(frame)
    return "(w) => !!%s.querySelector(%s)" % (where, json.dumps(ready))


def page_ready_s(url: str, ready: str, *, frame: str | None = None) -> dict:
    """Seconds from opening ``url`` to ``ready`` drawn: the very first visit (a server just started, an empty
    browser cache), a first visit to a warm server (a new browser profile; median of three), and five more
    visits with the browser's cache warm (median and best); and the requests that tried to leave the machine
    (refused).

    Each time is the page's own clock from the navigation's start to the moment the crashes are drawn
    (``WATCH``), not the driver's: Playwright looks for an element in a frame at growing intervals (up to
    0.5 s apart) and answers through two more processes, which added 0.05 to 0.2 s to a visit, varying with
    when the frame appeared. The driver's time is kept beside it (``*_driver_s``)."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    size = {"width": W + (500 if frame else 0), "height": H + (400 if frame else 0)}
    watch = WATCH % ready_test(ready, frame)

    def visit(ctx) -> tuple[float, float]:
        page = ctx.new_page()
        _note_outside(page, outside)
        t = time.perf_counter()
        page.goto(url)
        page.wait_for_function("() => window.__drawn !== undefined", timeout=600_000, polling=50)
        driver = time.perf_counter() - t
        drawn = page.evaluate("() => window.__drawn") / 1000
        page.close()
        return drawn, driver

    def context(b):
        ctx = b.new_context(viewport=size)
        ctx.add_init_script(watch)
        return ctx

    with sync_playwright() as p:
        b = _browser(p)
        ctx = context(b)
        cold = visit(ctx)
        ctx.close()
        firsts, warm = [], []
        for _ in range(3):  # (a 2-core machine is noisy: three new profiles, five visits again, the median said)
            ctx = context(b)
            firsts.append(visit(ctx))
            if not warm:
                warm = [visit(ctx) for _ in range(5)]
            ctx.close()
        b.close()

    def med(rows, k):
        return round(float(np.median([r[k] for r in rows])), 2)

    return {
        "cold_server_s": round(cold[0], 2),
        "first_visit_s": med(firsts, 0),
        "warm_s": med(warm, 0),
        "warm_best_s": round(min(r[0] for r in warm), 2),
        "warm_driver_s": med(warm, 1),
        "first_visit_driver_s": med(firsts, 1),
        "outside": outside,
    }


#: True once a map whose frame was not marked old shows its crash layer drawn (the frames are the page's own
#: origin: the page's script reads them)
NEW_MAP_DRAWN = """() => [...document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]')].some(f => {
    try { return !f.contentWindow.__old && !!f.contentDocument.querySelector('%s'); } catch (e) { return false; } })"""
MARK_OLD = """() => document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]')
    .forEach(f => { f.contentWindow.__old = true; })"""


def sidebar_to_map_s(base: str, *, visits: int = 5) -> dict:
    """Seconds from a click on the sidebar's "Bản đồ" link (the app open on its home page, whose map is drawn)
    to the map page's crash layer drawn: how a planner opens the map, without loading the page again. Median
    and best of ``visits`` (the browser's cache warm)."""
    from playwright.sync_api import sync_playwright

    drawn = NEW_MAP_DRAWN % READY["canvas"]
    times = []
    with sync_playwright() as p:
        b = _browser(p)
        ctx = b.new_context(viewport={"width": W + 500, "height": H + 400})
        for _ in range(visits + 1):  # (the first fills the cache)
            page = ctx.new_page()
            page.goto(base + "/")
            page.wait_for_function(drawn, polling=20, timeout=180_000)
            time.sleep(0.5)
            page.evaluate(MARK_OLD)
            link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Bản đồ")
            t = time.perf_counter()
            link.click()
            page.wait_for_function(drawn, polling=20, timeout=180_000)
            times.append(time.perf_counter() - t)
            page.close()
        b.close()
    return {"median_s": round(float(np.median(times[1:])), 2), "best_s": round(min(times[1:]), 2)}


def side_by_side(crashes: pd.DataFrame, label: str) -> dict:
    root = tempfile.mkdtemp()
    (Path(root) / "app").mkdir()
    (Path(root) / "app" / "static").symlink_to(ROOT / "static")
    base = _static_server(root)
    out: dict = {}
    for name, build in (("cluster", cluster_map), ("canvas", canvas_map), ("aggregated", aggregated_map)):
        build_s, _, m = measure(build, crashes, repeat=3, memory=False)
        html = m.get_root().render()
        (Path(root) / f"{name}.html").write_text(html, encoding="utf-8")
        ready = CLUSTER_FULL % len(crashes) if name == "cluster" else READY[name]
        times = page_ready_s(f"{base}/{name}.html", ready)
        assert not times.pop("outside")
        out[name] = {"build_s": round(build_s, 2), "page_mb": round(len(html.encode()) / 1e6, 2)} | times
        print(label, name, out[name], flush=True)
    return out


# ------------------------------------------------------------------ the app
def build_store(url: str, n: int) -> int:
    """Up to 300 000 crashes: the demo (roads, QL24 crashes, plan, cases, works) and the import benchmark's real
    rows, imported; more: the demo and those rows repeated, written straight into the crash table."""
    from models.store import Store

    if n == 0:  # the demo alone: the page's own time, with its 288 crashes
        from data.demo import load_demo

        load_demo(Store(url), hk_years=())
        return Store(url).crash_count()
    if n > 300_000:  # the demo, and the import benchmark's places repeated (moved a little), written straight in
        import hashlib

        from data.demo import load_demo

        load_demo(Store(url), hk_years=())
        df = synthetic(n)
        insert_crashes(
            Store(url).engine,
            {
                "dedup_key": [hashlib.md5(f"bench{i}".encode()).hexdigest() for i in range(n)],
                "occurred_at": df["occurred_at"].dt.to_pydatetime(),
                "lon": df["lon"],
                "lat": df["lat"],
                "deaths": df["deaths"].fillna(0).astype(int),
                "injured": df["injured"].fillna(0).astype(int),
                "severity": df["severity"],
            },
        )
        return Store(url).crash_count()
    from data.demo import load_demo
    from geo.io import read_table
    from geo.validate import validate_crashes

    store = Store(url)
    load_demo(store, hk_years=())  # no Hong Kong rows
    res = validate_crashes(read_table(make_csv(n - store.crash_count()), filename="bench.csv"))
    store.import_crashes(res, filename="bench.csv")
    return store.crash_count()


def app_figures(n: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from models.store import Store
    from services.maps import planner_map
    from tests.apprunner import running_app

    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/map.sqlite"
    t = time.perf_counter()
    count = build_store(url, n)
    print(f"store of {count} crashes in {time.perf_counter() - t:.0f} s", flush=True)
    os.environ["DATABASE_URL"] = url
    store = Store(url)
    crashes = store.crashes_frame()
    spots, roads = store.blackspots_frame(), store.roads_frame()

    def page_run():
        at = AppTest.from_file(str(ROOT / "app_pages" / "map.py"), default_timeout=300)
        at.run()
        assert not at.exception, at.exception

    page_run()  # fill the caches, as the first visit does
    page_s, _, _ = measure(page_run, repeat=3, memory=False)
    build_s, build_mb, m = measure(lambda: planner_map(crashes=crashes, spots=spots, roads=roads), repeat=3)
    payload = len(m.get_root().render().encode("utf-8"))
    with running_app(url, timeout_s=600) as base:
        times = page_ready_s(base + "/map", READY["canvas"], frame="iframe[title='streamlit_folium.st_folium']")
        from_sidebar = sidebar_to_map_s(base)
    outside = times.pop("outside")
    return {
        "crashes": count,
        "page_script_s": round(page_s, 2),
        "map_build_s": round(build_s, 2),
        "map_build_peak_mb": round(build_mb, 1),
        "payload_mb": round(payload / 1e6, 2),
        "browser_open_map_to_crashes_drawn": times,
        "browser_sidebar_link_to_crashes_drawn": from_sidebar,
        # the OpenStreetMap base layer's tiles (the default base when online), refused here
        "requests_outside": len(outside),
        "requests_outside_not_tiles": [u for u in outside if "tile.openstreetmap.org" not in u],
    }


def synthetic(n: int) -> pd.DataFrame:
    """``n`` crashes at the import benchmark's real places (repeated, moved a little, past its rows)."""
    from geo.io import read_table
    from geo.validate import validate_crashes

    rows = validate_crashes(read_table(make_csv(min(n, 300_000)), filename="bench.csv")).rows
    rows = rows.loc[rows["lon"].notna() & rows["lat"].notna()]  # (the map before left those out itself)
    parts = [rows.assign(lon=rows["lon"] + 0.01 * k) for k in range(math.ceil(n / len(rows)))]
    df = pd.concat(parts, ignore_index=True).iloc[:n]
    rng = np.random.default_rng(0)
    df["id"] = np.arange(1, len(df) + 1)
    df["severity"] = rng.choice(
        ["va_cham", "it_nghiem_trong", "nghiem_trong", "rat_nghiem_trong"], len(df), p=[0.5, 0.3, 0.15, 0.05]
    )
    return df


def main(million: bool = False) -> dict:
    out: dict = {"side_by_side_100k": side_by_side(synthetic(100_000), "100k")}
    if million:
        out["side_by_side_1m"] = side_by_side(synthetic(1_000_000), "1M")
    out["app_demo_baseline"] = app_figures(0)  # the same page with the demo's few crashes: the page's own time
    print("app demo", out["app_demo_baseline"], flush=True)
    out["app_100k"] = app_figures(100_000)
    print("app 100k", out["app_100k"], flush=True)
    if million:
        out["app_1m"] = app_figures(1_000_000)
        print("app 1M", out["app_1m"], flush=True)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--million", action="store_true", help="also 1 000 000 crashes (side by side and in the app)")
    print(json.dumps(main(ap.parse_args().million), indent=1))
