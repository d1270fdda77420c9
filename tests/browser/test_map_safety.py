"""The map page in a real browser, with hostile names in every layer and no
network beyond the app's own server (an offline intranet).

Every request the page makes (the Streamlit page, the map's iframe, the
scripts and stylesheets it loads, tiles) is routed: a request to any host but
the app's is aborted and recorded. The app runs with BLACKSPOT_OFFLINE_MAP=1,
so the plain base layer (a data: image) is shown and nothing has a reason to
leave the server.

Names of a road, a boundary, a crash, a spot, cases (a point and an outline)
and works (on a spot, a line; on a road stretch, a point) are made to run as
script if spliced into code: inside a JavaScript template literal (``${...}``),
breaking out of one (a backtick) or out of the markup (``<img onerror>``). If
any runs, it sets a ``data-pwned…`` attribute on the page's body.
"""

from __future__ import annotations

import time

import pytest

from tests.apprunner import running_app
from tests.browser.chrome import demo_store, launch_offline, pictures_dir, require_chromium


pytestmark = pytest.mark.browser


def payload(key: str) -> str:
    """Sets ``data-pwned<key>`` on the body if it runs inside a template
    literal, and ``data-pwned2<key>`` if it runs as markup. Valid JavaScript
    inside a template literal, so that one such name cannot hide the others
    behind a syntax error."""
    return (
        f"`+(document.body.dataset.pwned{key}=1)+`${{document.body.dataset.pwned{key}=1}}"
        f"</script><img src=x onerror=document.body.dataset.pwned2{key}=1>"
    )


ROAD_CODE = "QL99`+(document.body.dataset.pwned=1)+`"  # a road code (64 characters at most)
ROAD_NAME = payload("Road")
NAMES = {
    "boundary": payload("Boundary"),
    "crash": payload("Crash"),
    "spot": payload("Spot"),
    "case_kind": payload("Case"),
    # (and a template: folium made every rendered script a Jinja template, run on the server)
    "case_description": "${document.body.dataset.pwnedCaseNote=1}{{ 7*7 }}{% if 1 %}if{% endif %}",
    "outline_kind": payload("Outline"),
    "work_on_spot": payload("WorkOnSpot"),
    "work_on_road": payload("WorkOnRoad"),
}
STATE: dict = {}

#: Names of ``data-pwned…`` attributes set in every frame of the page.
PWNED_JS = "() => Object.keys(document.body ? document.body.dataset : {}).filter(k => k.startsWith('pwned'))"


def _hostile_items(store) -> None:
    """Add one item of every kind, with a hostile name, near QL24 (Kon Rẫy)."""
    import pandas as pd
    import shapely

    from geo.io import RawTable
    from geo.crs import WGS84, transform
    from geo.validate import validate_crashes

    net = store.road_network()
    qi = int(net.index_of(["QL24"])[0])

    def lonlat(chainage, dx=0.0, dy=0.0):
        p = net.lines[qi].interpolate(chainage - net.km_start[qi])
        lon, lat = transform([p.x + dx], [p.y + dy], net.crs.to_wkt(), WGS84)
        return float(lon[0]), float(lat[0])

    road = shapely.LineString([lonlat(150_000, 40, 40), lonlat(150_400, 300, 300)])
    store.add_roads(
        pd.DataFrame(
            {
                "code": [ROAD_CODE],
                "name": [ROAD_NAME],
                "geometry": [road],
                "road_class": ["IV"],
                "carriageway_width_m": [5.0],
                "km_start_m": [0.0],
            }
        ),
        user="demo",
    )
    (x0, y0), (x1, y1) = lonlat(149_500, -800, -800), lonlat(150_500, 800, 800)
    store.add_admin_units(
        pd.DataFrame(
            {
                "name": [NAMES["boundary"]],
                "level": ["commune"],
                "geometry": [shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))],
            }
        ),
        user="demo",
    )
    lon, lat = lonlat(150_100)
    crash = RawTable(
        frame=pd.DataFrame(
            {
                "Mã vụ": ["HOSTILE-1"],
                "Ngày giờ": ["15/06/2024 10:00"],
                "Kinh độ": [str(lon)],
                "Vĩ độ": [str(lat)],
                "Số người chết": ["0"],
                "Số người bị thương": ["1"],
                "Mô tả": [NAMES["crash"]],
            }
        ),
        fmt="csv",
    )
    res = validate_crashes(crash, roads=net)
    assert res.n_errors == 0
    store.import_crashes(res, filename="hostile.csv", roads=net, user="demo")
    lon, lat = lonlat(150_200, 20, 20)
    STATE["spot"] = store.flag_potential_point(
        lon=lon, lat=lat, reason=NAMES["spot"], road_code=ROAD_CODE, chainage_m=200.0, user="demo"
    )
    lon, lat = lonlat(151_000, 0, 14)
    STATE["case"] = store.add_case(
        geometry=shapely.Point(lon, lat), kind=NAMES["case_kind"], description=NAMES["case_description"], user="demo"
    )
    (x0, y0), (x1, y1) = lonlat(152_000, 12, 12), lonlat(152_000, 30, 30)
    STATE["outline"] = store.add_case(
        geometry=shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
        kind=NAMES["outline_kind"],
        user="demo",
    )
    spots = store.blackspots_frame(kind="black_spot")
    lines = spots.loc[spots["geometry"].map(lambda g: g is not None and g.geom_type != "Point"), "id"]
    STATE["work_on_spot"] = store.add_work(
        work_type="signs", blackspot_id=int(lines.iloc[0]), name=NAMES["work_on_spot"], user="demo"
    )
    STATE["work_on_road"] = store.add_work(
        work_type="lighting", road_code="QL24", from_m=153_000, to_m=153_200, name=NAMES["work_on_road"], user="demo"
    )


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    require_chromium()
    url, store = demo_store(tmp_path_factory.mktemp("map-safety"), hk_limit=200)
    _hostile_items(store)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BLACKSPOT_OFFLINE_MAP", "1")  # the app's process inherits it
        with running_app(url) as base:
            yield base


@pytest.fixture(scope="module")
def offline_browser(tmp_path_factory):
    """Chromium with every request outside the app's server aborted and recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx, external = launch_offline(p, tmp_path_factory.mktemp("chrome-profile"))
        yield ctx, external
        ctx.close()


def _map_frame(page):
    """The (visible) streamlit-folium iframe, once Leaflet drew the map in it.
    A rerun of the page may replace the frame while it is awaited: then the new one is awaited."""
    from playwright.sync_api import Error

    for attempt in range(20):
        try:
            handle = page.locator("iframe[title='streamlit_folium.st_folium'] >> visible=true").last
            handle.wait_for(timeout=60000)
            frame = handle.element_handle().content_frame()
            if frame is None:  # a new frame, its document not there yet
                time.sleep(0.5)
                continue
            frame.locator(".leaflet-container").wait_for(timeout=60000)
            frame.locator(".leaflet-control-layers").wait_for(timeout=30000)
            return frame
        except Error as exc:
            if "detached" not in str(exc) or attempt == 19:
                raise
            time.sleep(2)
    raise AssertionError("the map's frame never showed its document")


#: Every layer that has a tooltip: its tooltip as text (what the browser shows,
#: and what streamlit-folium returns for a click).
TOOLTIPS_JS = """() => {
    const out = [];
    window.map.eachLayer(l => {
        const t = l.getTooltip && l.getTooltip();
        const c = t && t.getContent();
        if (typeof c !== 'string') return;
        const d = document.createElement('template');  // parsed, never run
        d.innerHTML = c;
        out.push(d.content.textContent.trim());
    });
    return out;
}"""

#: Centre the map on the layer whose tooltip starts with the tag; its point in the frame.
CENTRE_ON_JS = """(tag) => {
    let out = null;
    window.map.eachLayer(l => {
        const t = l.getTooltip && l.getTooltip();
        const c = t && t.getContent();
        if (out || typeof c !== 'string') return;
        const d = document.createElement('template');
        d.innerHTML = c;
        if (!d.content.textContent.trim().startsWith(tag)) return;
        const where = l.getCenter ? l.getCenter() : l.getLatLng();
        window.map.setView(where, 17, {animate: false});
        const p = window.map.latLngToContainerPoint(where);
        out = [p.x, p.y];
    });
    return out;
}"""


def _pwned(page) -> dict[str, list[str]]:
    out = {}
    for f in page.frames:
        try:
            keys = f.evaluate(PWNED_JS)
        except Exception:  # a frame gone while the page reran
            continue
        if keys:
            out[f.url] = keys
    return out


def _point_of(page, frame, tag: str):
    """Page coordinates of the item ``tag``, centred and zoomed in."""
    box = frame.locator(".leaflet-container").bounding_box()
    pt = frame.evaluate(CENTRE_ON_JS, tag)
    assert pt, f"no layer {tag} on the map"
    time.sleep(1)
    pt = frame.evaluate(CENTRE_ON_JS, tag)
    return box["x"] + pt[0], box["y"] + pt[1]


def _texts_with(tooltips: list[str], name: str) -> int:
    return sum(name in t for t in tooltips)


def test_hostile_names_are_shown_as_text_and_nothing_leaves_the_server(app_url, offline_browser):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    ctx, external = offline_browser
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.goto(app_url + "/map")
    page.get_by_role("heading", name="Bản đồ").wait_for(timeout=60000)
    try:
        frame = _map_frame(page)
        frame.locator("canvas.leaflet-crash-points[data-in-view]").wait_for(timeout=30000)
        frame.locator(".leaflet-overlay-pane canvas").first.wait_for(timeout=30000)  # the vector layers (canvas)
    except PlaywrightTimeout:  # (a script that cannot load leaves the map blank)
        pytest.fail(f"the map did not draw; requests outside the server: {external}")
    time.sleep(1.5)
    assert _pwned(page) == {}  # no name ran as script
    assert dialogs == [] and external == []

    # the map drew every layer, each hostile name as the text of a tooltip
    tips = frame.evaluate(TOOLTIPS_JS)
    tags = {
        f"[BS-{STATE['spot']}]",
        f"[CASE-{STATE['case']}]",
        f"[CASE-{STATE['outline']}]",
        f"[WORK-{STATE['work_on_spot']}]",
        f"[WORK-{STATE['work_on_road']}]",
    }
    assert tags <= {t.split(" ", 1)[0] for t in tips}
    assert _texts_with(tips, f"{ROAD_CODE} {ROAD_NAME}") == 1  # the road
    assert _texts_with(tips, ROAD_CODE) >= 2  # and the spot flagged on it
    for key in ("boundary", "case_kind", "case_description", "outline_kind", "work_on_spot", "work_on_road"):
        assert _texts_with(tips, NAMES[key]) == 1, key
    assert frame.locator("img[src='x']").count() == 0
    legend = frame.locator("#map-legend").inner_text()
    assert "Công trình xử lý" in legend and "Lấn chiếm hành lang" in legend

    # the hostile case, hovered: its name shown as it is; clicked: its panel opens
    frame.locator(".leaflet-control-layers").hover()  # the crash clusters could cover it
    frame.locator(".leaflet-control-layers label").filter(has_text="Vụ TNGT").locator("input").uncheck()
    page.mouse.move(5, 5)
    tag = f"[CASE-{STATE['case']}]"
    x, y = _point_of(page, frame, tag)
    page.mouse.move(x, y)
    tip = frame.locator(".leaflet-tooltip").filter(has_text=tag)
    tip.wait_for(timeout=15000)
    assert NAMES["case_kind"] in tip.inner_text() and NAMES["case_description"] in tip.inner_text()
    page.mouse.click(x, y)
    page.get_by_role("heading", name=f"#{STATE['case']} · Lấn chiếm hành lang").wait_for(timeout=30000)
    time.sleep(1)

    # the heat map instead of the crash clusters: drawn from the app's own leaflet-heat
    page.get_by_text("Bản đồ nhiệt", exact=True).click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        frame = _map_frame(page)
        if frame.locator(".leaflet-heatmap-layer").count():
            break
        time.sleep(0.5)
    assert frame.locator(".leaflet-heatmap-layer").count() == 1
    assert tags <= {t.split(" ", 1)[0] for t in frame.evaluate(TOOLTIPS_JS)}
    # the heat map's canvas lies above the items' and took their clicks (a click on a spot's line was an
    # empty place): what is under the case's point is not the heat map
    pt = frame.evaluate(CENTRE_ON_JS, tag)
    under = frame.evaluate(
        "([x, y]) => { const r = window.map.getContainer().getBoundingClientRect();"
        " return String(document.elementFromPoint(r.left + x, r.top + y).className); }",
        pt,
    )
    assert "leaflet-heatmap-layer" not in under, under
    time.sleep(1.5)

    assert _pwned(page) == {}
    assert dialogs == []
    assert external == []
    page.close()


def test_the_map_page_runs_once_when_opened(app_url, offline_browser):
    """The map sent its value back as soon as it was drawn (its default said None clicks where it counts 0), so
    every open of the map page ran the page twice, the second time while the browser was still drawing."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    ctx, _ = offline_browser
    page = ctx.new_page()
    runs: list[str] = []

    def on_socket(ws):
        def sent(payload):
            msg = BackMsg()
            msg.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
            if msg.WhichOneof("type") == "rerun_script":
                runs.append(msg.rerun_script.page_script_hash)

        ws.on("framesent", sent)

    page.on("websocket", on_socket)
    page.goto(app_url + "/map")
    _map_frame(page)  # (the crash layer may be switched off: the choice is kept in the browser)
    time.sleep(2)  # (the map's value goes back 250 ms after it is drawn, when it goes)
    assert len(runs) == 1
    page.close()


#: Put the layer whose tooltip holds ``tag`` under the legend's centre and open its hover text there.
UNDER_LEGEND_JS = """(tag) => {
    const box = document.getElementById('map-legend').getBoundingClientRect();
    const mapBox = window.map.getContainer().getBoundingClientRect();
    let done = false;
    window.map.eachLayer(l => {
        const t = l.getTooltip && l.getTooltip();
        const c = t && t.getContent();
        if (done || typeof c !== 'string' || !c.includes(tag)) return;
        const where = l.getCenter ? l.getCenter() : l.getLatLng();
        const p = window.map.latLngToContainerPoint(where);
        const target = L.point(box.left + box.width / 2 - mapBox.left, box.top + box.height / 2 - mapBox.top);
        window.map.panBy(p.subtract(target), {animate: false});
        l.openTooltip(where);
        done = true;
    });
    return done;
}"""


def test_a_hover_text_opening_under_the_legend_fades_the_legend(app_url, offline_browser):
    """The legend sits above the map's panes: a hover text opening where it is was covered by it."""
    ctx, _ = offline_browser
    page = ctx.new_page()
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.goto(app_url + "/map")
    frame = _map_frame(page)
    opacity = "() => getComputedStyle(document.getElementById('map-legend')).opacity"
    assert frame.evaluate(opacity) == "1"
    assert frame.evaluate(UNDER_LEGEND_JS, f"[CASE-{STATE['case']}]")
    frame.locator(".leaflet-tooltip").filter(has_text=f"[CASE-{STATE['case']}]").wait_for(timeout=10000)
    assert float(frame.evaluate(opacity)) < 0.5
    page.screenshot(path=str(pictures_dir() / "map_hover_over_legend.png"))
    frame.evaluate("() => { window.map.eachLayer(l => l.closeTooltip && l.closeTooltip()); }")
    assert frame.evaluate(opacity) == "1"
    page.close()
