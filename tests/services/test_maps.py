"""The planners' map as the browser gets it: crash rows sent once, as data,
with every user text escaped."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from geo.validate import validate_crashes
from services.map_points import TIP_LIMIT, crash_at, crash_colours, unpack
from services.maps import SEVERITY_COLOURS, pack_crashes, parse_item_tag, planner_map
from tests.conftest import HK_BOUNDS


@pytest.fixture(scope="module")
def hk_crashes(hk_slice):
    rows = validate_crashes(hk_slice, bounds=HK_BOUNDS, today="2026-01-01").rows
    rows = rows.loc[rows["lon"].notna()].copy()
    rows["description"] = rows["description"].fillna("")
    rows.loc[rows.index[0], "description"] = "</script><script>alert('x')</script> & co"
    rows["severity"] = None
    rows["id"] = np.arange(101, 101 + len(rows))  # as the store gives them
    return rows


def _packed_of(page: str) -> tuple[dict, dict]:
    """The crash layer's payload and options, as the page declares them (JSON literals)."""
    m = re.search(r"var (crash_points_\w+) = L\.crashPoints\(", page)
    assert m, "no crash layer in the page"
    dec = json.JSONDecoder()
    data, end = dec.raw_decode(page, m.end())
    assert page[end : end + 2] == ", "
    options, _ = dec.raw_decode(page, end + 2)
    assert page.count("L.crashPoints(") == 1  # declared once
    return data, options


def test_crashes_reach_the_page_once_packed_at_their_places(hk_crashes):
    crashes = hk_crashes.copy()
    crashes["severity"] = np.resize(list(SEVERITY_COLOURS) + [None], len(crashes))
    page = planner_map(crashes=crashes).get_root().render()
    data, options = _packed_of(page)
    assert data["n"] == len(crashes) > 1000
    lon, lat, colour = unpack(data)
    # every crash at its place (24-bit planes over the bounding box: well under a metre), with its severity's colour
    want = crashes.assign(c=crash_colours(crashes["severity"], list(SEVERITY_COLOURS)))
    got = pd.DataFrame({"lon": lon, "lat": lat, "c": colour}).sort_values(["lon", "lat", "c"], ignore_index=True)
    want = want[["lon", "lat", "c"]].sort_values(["lon", "lat", "c"], ignore_index=True)
    assert np.abs(got[["lon", "lat"]].to_numpy() - want[["lon", "lat"]].to_numpy()).max() < 1e-6
    assert (got["c"].to_numpy() == want["c"].to_numpy()).all()
    assert options["colours"] == list(SEVERITY_COLOURS.values())
    # the least severe first (drawn under the rest); a crash without a severity takes the plain colour
    assert [g[0] for g in data["groups"]] == sorted({g[0] for g in data["groups"]}, reverse=True)
    assert (
        dict(map(tuple, data["groups"]))[len(SEVERITY_COLOURS) - 1] == crashes["severity"].isin([None, "va_cham"]).sum()
    )


def test_a_click_on_the_layer_names_a_crash_of_this_packing_only(hk_crashes):
    packed = pack_crashes(hk_crashes)
    lon, lat, _ = unpack(packed.data)
    for row in (0, 17, len(packed.ids) - 1):
        cid = crash_at(packed, f"[CR-{row}@{packed.digest}]")
        crash = hk_crashes.loc[hk_crashes["id"].eq(cid)].iloc[0]
        assert abs(crash["lon"] - lon[row]) < 1e-6 and abs(crash["lat"] - lat[row]) < 1e-6
    other = pack_crashes(hk_crashes.iloc[1:])
    assert other.digest != packed.digest
    assert crash_at(other, f"[CR-0@{packed.digest}]") is None  # drawn from other data: no crash
    assert crash_at(packed, f"[CR-{len(packed.ids)}@{packed.digest}]") is None
    assert crash_at(packed, "[BS-3] Điểm đen") is None


def test_hostile_description_stays_text_in_the_hover(hk_crashes):
    page = planner_map(crashes=hk_crashes).get_root().render()
    assert "alert('x')" not in page and "</script><script>alert" not in page
    data, _ = _packed_of(page)
    assert len(data["tips"]) == data["n"]
    # the hover shows the text as text (the layer sets textContent): the JSON holds it as typed
    assert sum("</script><script>alert('x')</script> & co" in t for t in data["tips"]) == 1


def test_large_sets_send_a_few_bytes_a_crash_and_no_hover_text(hk_crashes):
    big = pd.concat([hk_crashes] * (TIP_LIMIT // len(hk_crashes) + 1), ignore_index=True)
    big["id"] = np.arange(1, len(big) + 1)
    big["lon"] += np.random.default_rng(3).normal(0, 1e-4, len(big))  # not the same places again
    data, _ = _packed_of(planner_map(crashes=big).get_root().render())
    assert data["n"] == len(big) and "tips" not in data
    assert len(data["points"]) < 8 * len(big)  # base64 characters; the marker rows before took 23


# ------------------------------------------------------------ every layer, hostile names, no CDN
#: Names that run as script if spliced into code: inside a template literal
#: (``${...}``), breaking out of one (a backtick), or out of the script and
#: into HTML (``</script>``, ``<img onerror>``).
HOSTILE = (
    "`${document.body.dataset.pwned=1}`+(document.body.dataset.pwned=1)+`"
    "</script><img src=x onerror=document.body.dataset.pwned2=1>'\"&"
)
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def _all_layers(crashes: pd.DataFrame, HOSTILE: str = HOSTILE) -> dict:
    """Every kind of layer the planners' map draws, each item named ``HOSTILE``."""
    import shapely

    x, y = 114.17, 22.30  # among the Hong Kong crashes

    def line(dx):
        return shapely.LineString([(x + dx, y), (x + dx + 0.01, y + 0.01)])

    def square(dx, d=0.002):
        return shapely.box(x + dx, y, x + dx + d, y + d)

    roads = pd.DataFrame({"code": [HOSTILE, "QL1"], "name": [HOSTILE, None], "geometry": [line(0), line(0.02)]})
    boundaries = pd.DataFrame(
        {"name": [HOSTILE], "level": ["district"], "geometry": [shapely.MultiPolygon([square(-0.1, 0.3)])]}
    )
    corridors = pd.DataFrame({"geometry": [line(0).buffer(0.0005), None]})
    spots = pd.DataFrame(
        {
            "id": [11, 12],
            "kind": ["black_spot", "potential"],
            "status": ["candidate", "confirmed"],
            "road_code": [HOSTILE, HOSTILE],
            "from_m": [100.0, 250.0],
            "to_m": [300.0, 250.0],
            "n_crashes": [4, 0],
            "deaths": [1, 0],
            "geometry": [line(0.001), shapely.Point(x + 0.004, y + 0.004)],
        }
    )
    cases = pd.DataFrame(
        {
            "id": [21, 22],
            "kind": [HOSTILE, HOSTILE],
            "status": ["detected", "deadline_set"],
            "overdue": [False, True],
            "days_overdue": [0, 5],
            "road_code": [HOSTILE, "QL1"],
            "chainage_m": [120.0, 80.0],
            "description": [HOSTILE, HOSTILE],
            "geometry": [shapely.Point(x + 0.003, y + 0.001), square(0.005)],
        }
    )
    works = pd.DataFrame(
        {
            "id": [31, 32],
            "work_type": ["signs", "lighting"],
            "status": ["proposed", "in_progress"],
            "name": [HOSTILE, HOSTILE],
            "blackspot_id": [None, 11],
            # a road stretch's midpoint (no spot) and a spot's line
            "geometry": [shapely.Point(x + 0.006, y + 0.006), line(0.001)],
        }
    )
    crashes = crashes.copy()
    crashes.loc[crashes.index[:3], "description"] = HOSTILE
    return dict(
        crashes=crashes,
        roads=roads,
        boundaries=boundaries,
        corridors=corridors,
        spots=spots,
        cases=cases,
        works=works,
        draw=True,
    )


def _json_spans(page: str) -> tuple[list[str], str]:
    """The tooltips of the page (first argument of every ``bindTooltip``, which
    must be a JSON string) and the page with them and the crash layer's payload cut out."""
    dec = json.JSONDecoder()
    tips, spans = [], []
    for m in re.finditer(r"\.bindTooltip\(\s*", page):
        value, end = dec.raw_decode(page, m.end())  # fails unless a JSON literal
        assert isinstance(value, str) and page[m.end()] == '"', page[m.start() : m.start() + 200]
        tips.append(value)
        spans.append((m.end(), end))
    for m in re.finditer(r"var crash_points_\w+ = L\.crashPoints\(", page):
        value, end = dec.raw_decode(page, m.end())
        assert isinstance(value, dict)
        spans.append((m.end(), end))
    rest, last = [], 0
    for a, b in sorted(spans):
        rest.append(page[last:a])
        last = b
    rest.append(page[last:])
    return tips, "".join(rest)


def _text_of(tooltip_html: str) -> str:
    """What the browser shows, and what streamlit-folium returns for a click
    (the text content of the tooltip's HTML)."""
    assert "<" not in re.sub(r"</?div>", "", tooltip_html)  # no markup but the wrapper
    return html.unescape(re.sub(r"</?div>", "", tooltip_html)).strip()


def _external_assets(m, page: str) -> list[str]:
    """Script and stylesheet links that are not served by the app, both as
    rendered and as streamlit-folium collects them (``default_js``/``_css``)."""
    links = re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", page)
    links += re.findall(r"<link[^>]*\bhref=[\"']([^\"']+)", page)
    links += re.findall(r"@import\s+(?:url\()?[\"']?([^\"')\s]+)", page)
    stack = [m]
    while stack:
        el = stack.pop()
        links += [u for _, u in getattr(el, "default_js", [])] + [u for _, u in getattr(el, "default_css", [])]
        stack.extend(getattr(el, "_children", {}).values())
    assert links
    return [u for u in links if not u.startswith(("/app/static/vendor/", "/app/static/js/"))]


@pytest.mark.parametrize("variant", ["tooltips", "compact", "heat"])
def test_every_layer_loads_nothing_from_outside_and_hostile_names_stay_data(hk_crashes, variant):
    layers = _all_layers(hk_crashes)
    if variant == "compact":
        layers["crashes"] = pd.concat([layers["crashes"]] * (TIP_LIMIT // len(hk_crashes) + 1), ignore_index=True)
    m = planner_map(**layers, heat=variant == "heat", offline=True)
    page = m.get_root().render()

    # offline means offline: every script and stylesheet from the app; the only
    # address outside is the OpenStreetMap base layer (its tiles, and its credit)
    assert _external_assets(m, page) == []
    assert "leaflet-dvf" not in page and "RegularPolygonMarker" not in page
    assert set(re.findall(r"https?://[^\s\"'<>\\]+", page)) <= {OSM_TILES, "https://www.openstreetmap.org/copyright"}
    assert {
        "tooltips": "/app/static/js/crash_points.js",
        "compact": "/app/static/js/crash_points.js",
        "heat": "leaflet-heat.js",
    }[variant] in page
    assert "leaflet.draw.js" in page

    # every tooltip is a JSON string; cut those and the crash payload out and no
    # trace of the hostile names is left: nothing of them is code
    tips, code = _json_spans(page)
    assert "pwned" not in code and "onerror" not in code and "`" not in code and "${" not in code
    assert code.count("</script>") == code.count("<script")
    assert "pwned" in page  # (they are in the page, as data)

    # tooltips read as the plain text, so a click still finds its item
    texts = [_text_of(t) for t in tips]
    tagged = {parse_item_tag(t): t for t in texts if parse_item_tag(t)}
    assert set(tagged) == {("blackspot", 11), ("blackspot", 12), ("case", 21), ("case", 22), ("work", 31), ("work", 32)}
    assert all(HOSTILE in t for t in tagged.values())
    assert texts.count(f"{HOSTILE} {HOSTILE}") == 1 and texts.count(HOSTILE) == 1  # the road and the boundary
    if variant == "tooltips":
        data, _ = _packed_of(page)  # crash hover texts: in the payload (data), shown as text
        assert sum(HOSTILE[:80] in t for t in data["tips"]) == 3


def test_a_work_without_a_spot_is_a_plain_circle_marker(hk_crashes):
    """No leaflet-dvf (RegularPolygonMarker), which only exists on a CDN."""
    import folium

    layers = _all_layers(hk_crashes)
    m = planner_map(crashes=hk_crashes.iloc[:0], works=layers["works"], roads=layers["roads"])
    fg = next(c for c in m._children.values() if getattr(c, "layer_name", "").startswith("Công trình"))
    point, line = fg._children.values()
    assert type(point) is folium.CircleMarker and type(line) is folium.PolyLine
    assert [type(c).__name__ for c in point._children.values()] == ["SafeTooltip"]


def test_spots_draw_last_potential_points_stand_apart_and_the_view_is_kept(hk_crashes):
    """Issue 15.8: spots above works (a click there is the spot's; the small case markers on top), a potential point in its own
    dashed colour with its own legend row, and the user's view kept when asked."""
    from services.maps import POTENTIAL_COLOUR, STATUS_COLOURS

    layers = _all_layers(hk_crashes)
    layers["spots"].loc[1, "status"] = "candidate"  # a candidate black spot and a candidate potential point
    m = planner_map(**{k: v for k, v in layers.items() if k in ("crashes", "roads", "spots", "cases", "works")})
    names = [getattr(c, "layer_name", "") for c in m._children.values()]
    groups = [n for n in names if n.startswith(("Điểm đen", "Lấn chiếm", "Công trình"))]
    assert [g.split(" ")[0] for g in groups] == ["Công", "Điểm", "Lấn"]  # works, then spots above them, then cases
    fg = next(c for c in m._children.values() if getattr(c, "layer_name", "").startswith("Điểm đen"))
    black, potential = fg._children.values()
    assert black.options["color"] == STATUS_COLOURS["candidate"] and not black.options.get("dashArray")
    assert potential.options["color"] == POTENTIAL_COLOUR != STATUS_COLOURS["candidate"]
    assert potential.options["dashArray"]
    page = m.get_root().render()
    assert "Điểm tiềm ẩn (nét đứt)" in page and POTENTIAL_COLOUR in page
    assert ".fitBounds(" in page and "blackspot_map_view" not in page
    kept = (
        planner_map(
            crashes=layers["crashes"],
            spots=layers["spots"],
            selected=("blackspot", 11),
            view_key="('blackspot', 11) filters",
        )
        .get_root()
        .render()
    )
    fit = kept.index(".fitBounds(")
    keep = kept.index('var KEY = "blackspot_map_view"')
    assert fit < keep  # the kept view, when it applies, wins over the fit
    other = (
        planner_map(
            crashes=layers["crashes"],
            spots=layers["spots"],
            selected=("blackspot", 12),
            view_key="('blackspot', 12) filters",
        )
        .get_root()
        .render()
    )
    key_of = re.compile(r'\}\)\(map_\w+, "([0-9a-f]+)"\);')
    assert key_of.search(kept).group(1) != key_of.search(other).group(1)  # another item: fitted, not kept


def test_the_layers_switched_off_stay_off_when_the_map_is_drawn_again(hk_crashes):
    """Issue 15.8: the layer control's choices are kept by the browser (local storage) and applied to the
    next map; the script is static (no data in it)."""
    layers = _all_layers(hk_crashes)
    page = (
        planner_map(**{k: v for k, v in layers.items() if k in ("crashes", "roads", "spots", "works")})
        .get_root()
        .render()
    )
    script = page[page.index('var KEY = "blackspot_hidden_layers"') :]
    script = script[: script.index("</script>")]
    assert 'map.on("overlayadd overlayremove"' in script and "localStorage.setItem(KEY" in script
    decl = re.search(r"(?:var|let) (layer_control_[0-9a-f]+) = L\.control\.layers", page)
    ctl = decl.group(1)
    assert f", {ctl});" in script
    assert decl.start() < page.index('var KEY = "blackspot_hidden_layers"')  # after the control exists
    assert HOSTILE not in script


#: Text that Jinja would run on the server if any of it were made a template: an expression with a side effect
#: reached without quotes (``dict(a=1)|first`` is ``"a"``), arithmetic, a block, a comment, and broken syntax.
JINJA = (
    "{{ lipsum.__globals__.os.environ.setdefault(dict(BLACKSPOT_MAP_PWNED=1)|first, dict(yes=1)|first) }}"
    "{{ 7*7 }}{% if 1 %}if{% endif %}{# note #}"
)
JINJA_BROKEN = "Km {{ 1 + }} {% endif %} {{ x.y('"


@pytest.mark.parametrize("text", [JINJA, JINJA_BROKEN], ids=["expression", "broken"])
def test_a_name_written_as_a_template_stays_text_and_runs_nothing_on_the_server(hk_crashes, text, monkeypatch):
    """folium rendered each element's output a second time as a new Jinja template, so a road or case named
    ``{{ ... }}`` ran as Python on the server (a shell command from an imported road name), and a name with
    broken template syntax stopped the map. Every text now reaches the page once, as text: through the whole
    page and through streamlit-folium's own copy (header, html, script), with every layer drawn."""
    import os

    import jinja2
    from streamlit_folium import st_folium

    monkeypatch.delenv("BLACKSPOT_MAP_PWNED", raising=False)
    sources: list[str] = []
    real = jinja2.Environment._tokenize

    def tokenize(self, source, *args, **kwargs):
        sources.append(source)
        return real(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "_tokenize", tokenize)
    for heat in (False, True):
        layers = _all_layers(hk_crashes, text)
        m = planner_map(**layers, heat=heat, offline=True, selected=("case", 21))
        page = m.get_root().render()
        st_folium(planner_map(**layers, heat=heat), key=f"jinja{heat}", returned_objects=[])  # (bare: no page)
        assert "BLACKSPOT_MAP_PWNED" not in os.environ
        assert not [s for s in sources if "BLACKSPOT_MAP_PWNED" in s or "{{ 1 + }}" in s]  # never a template
        tips, _ = _json_spans(page)
        texts = [_text_of(t) for t in tips]
        assert texts.count(f"{text} {text}") == 1 and texts.count(text) == 1  # the road and the boundary, verbatim
        tagged = [t for t in texts if parse_item_tag(t)]
        assert len(tagged) == 6 and all(text in t for t in tagged)
        if not heat:
            data, _ = _packed_of(page)
            assert sum(text[:60] in t for t in data["tips"]) == 3  # (a hover text is cut short)
        assert "49" not in "".join(texts)


def test_streamlit_folium_gets_the_crash_layer_its_script_and_no_template_of_the_payload(hk_crashes):
    """streamlit-folium builds its own copy of the map from each element's template and gathers the scripts
    of every JSCSSMixin: the crash layer must be in both; and the page's copy takes the payload as text (folium
    makes every rendered script a Jinja template: a million crashes' base64 lexed on every rerun)."""
    import jinja2
    from streamlit_folium import generate_leaflet_string

    from services.map_points import SCRIPT_URL, CrashPointsLayer

    m = planner_map(crashes=hk_crashes)
    compiled: list[int] = []
    real = jinja2.Environment._tokenize

    def counting(self, source, *args, **kwargs):
        compiled.append(len(source))
        return real(self, source, *args, **kwargs)

    jinja2.Environment._tokenize = counting
    try:
        m.get_root().render()
    finally:
        jinja2.Environment._tokenize = real
    data, _ = _packed_of(m.get_root().render())
    assert max(compiled, default=0) < len(data["points"])  # no template made of the payload
    script = generate_leaflet_string(m)
    assert "L.crashPoints(" in script and ".addTo(map_div)" in script
    layer = next(c for c in m._children.values() if isinstance(c, CrashPointsLayer))
    assert SCRIPT_URL in [u for _, u in layer.default_js]


def test_the_chosen_crash_ring_is_at_the_crash_and_takes_no_click():
    import folium
    import numpy as np
    import pandas as pd

    from services.map_points import RING_COLOUR
    from services.maps import chosen_crash_ring

    crashes = pd.DataFrame({"id": [7, 8, 9], "lon": [107.5, 107.6, np.nan], "lat": [14.5, 14.6, np.nan]})
    assert chosen_crash_ring(crashes, None) is None
    assert chosen_crash_ring(crashes, 99) is None  # filtered out since it was chosen
    assert chosen_crash_ring(crashes, 9) is None  # no position
    assert chosen_crash_ring(crashes.iloc[:0], 7) is None
    ring = chosen_crash_ring(crashes, 8)
    assert isinstance(ring, folium.FeatureGroup) and ring.control is False
    (marker,) = ring._children.values()
    assert isinstance(marker, folium.CircleMarker) and marker.location == [14.6, 107.6]
    assert marker.options["color"] == RING_COLOUR and marker.options["interactive"] is False
