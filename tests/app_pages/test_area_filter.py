"""An area drawn on the map filters every page and the exports; clearing it
shows everything again."""

from __future__ import annotations

import shapely
from streamlit.testing.v1 import AppTest

from app_pages.common import AREA_KEY
from tests.conftest import ROOT


def _spots_and_area(url):
    from models.store import Store

    spots = Store(url).blackspots_frame()
    spots = spots.loc[spots["kind"].isin(["black_spot", "potential"]) & spots["geometry"].notna()]
    first = spots["geometry"].iloc[0]
    area = shapely.box(*first.bounds).buffer(0.0005)  # around one spot: the others lie farther away
    inside = {int(i) for i, g in zip(spots["id"], spots["geometry"]) if g.intersects(area)}
    assert 0 < len(inside) < len(spots)
    return spots, area, inside


def _page(name: str, area: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / name), default_timeout=60)
    if area is not None:
        at.session_state[AREA_KEY] = area
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_exports_list_follows_the_area_and_clearing_restores_it(demo_url):
    spots, area, inside = _spots_and_area(demo_url)
    at = _page("exports.py", area.wkt)
    assert set(at.dataframe[0].value["Mã"].astype(int)) == inside
    at.session_state[AREA_KEY] = None  # what "Bỏ lọc vùng" leaves
    at.run()
    assert not at.exception, at.exception
    assert set(at.dataframe[0].value["Mã"].astype(int)) == {int(i) for i in spots["id"]}


def test_the_black_spot_page_and_the_map_show_only_the_area(demo_url):
    _, area, inside = _spots_and_area(demo_url)
    at = _page("blackspots.py", area.wkt)
    assert {int(o.split()[0].lstrip("#")) for o in at.selectbox(key="spot_detail").options} == inside
    assert len(at.dataframe[0].value) == len(inside)
    m = _page("map.py", area.wkt)
    assert any(b.label == "Bỏ lọc vùng" for b in m.button)
    m.button(key="map_area_clear").click().run()
    assert not m.exception and AREA_KEY not in m.session_state
    assert not any(b.label == "Bỏ lọc vùng" for b in m.button)


def test_a_bad_area_is_dropped_with_a_message(demo_url):
    at = _page("exports.py", "LINESTRING (108 14, 108.1 14.1)")
    assert any("đa giác" in e.value for e in at.error)
    assert AREA_KEY not in at.session_state


SIDEBAR = """
import streamlit as st
from app_pages.sidebar import render
with st.sidebar:
    f = render("vi")
st.text(f"area: {f.area}")
"""


def test_the_sidebar_says_the_area_is_on_and_clears_it(demo_url):
    at = AppTest.from_string(SIDEBAR, default_timeout=60)
    at.session_state[AREA_KEY] = "POLYGON ((108 14, 108.1 14, 108.1 14.1, 108 14))"
    at.run()
    assert not at.exception, at.exception
    assert any("vùng vẽ trên bản đồ" in i.value for i in at.sidebar.info)
    assert "POLYGON" in at.text[0].value
    at.sidebar.button(key="f_area_clear").click().run()
    assert not at.exception, at.exception
    assert at.text[0].value == "area: None" and not at.sidebar.info


def test_a_polygon_drawn_on_the_map_becomes_the_area(demo_url):
    _, area, inside = _spots_and_area(demo_url)
    at = AppTest.from_file(str(ROOT / "app_pages" / "map.py"), default_timeout=60)
    at.session_state["map_point"] = area  # what a polygon drawn with the toolbar leaves
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="map_area_set").label == "Lọc theo vùng đã vẽ"
    at.button(key="map_area_set").click().run()
    assert not at.exception, at.exception
    assert shapely.equals(shapely.from_wkt(at.session_state[AREA_KEY]), area)
    labels = at.selectbox(key="map_pick").options
    spot_ids = {
        int(o.split("#")[1].split()[0]) for o in labels if o != "—" and "Lấn chiếm" not in o and "Công trình" not in o
    }
    assert spot_ids == inside
