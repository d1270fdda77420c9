"""The sidebar's filters sit in a panel drawn only when open: closed on a new visit (no filter is set then),
their values kept while it is closed, the filters set listed under it as text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from models.store import Store

SCRIPT = """
import streamlit as st
from app_pages.sidebar import render
with st.sidebar:
    render("vi")
"""


def _filters(at):
    return at.session_state["filters"]  # what every page reads


def test_a_closed_panel_keeps_the_filters_and_lists_them(demo_url):
    from services.filters import Filters

    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    # a new visit: the panel closed, none of its widgets drawn, no filter set
    assert not at.sidebar.multiselect and not at.sidebar.selectbox and not at.sidebar.date_input
    assert _filters(at) == Filters(ruleset=_filters(at).ruleset) and not at.sidebar.caption
    at.session_state["filters_open"] = True
    at.run()
    roads = at.sidebar.multiselect(key="f_roads").options
    assert "QL24" in roads
    at.sidebar.multiselect(key="f_roads").set_value(["QL24"]).run()
    at.sidebar.radio(key="f_alcohol").set_value("yes").run()
    period = at.sidebar.date_input(key="f_period").value
    at.sidebar.date_input(key="f_period").set_value((period[0], period[0].replace(year=period[0].year + 1))).run()
    chosen = _filters(at)
    assert chosen.roads == ("QL24",) and chosen.alcohol == "yes" and chosen.date_from == period[0]

    # the period's caption counts the crashes the period alone leaves out (QL24's with alcohol, not the whole
    # store's)
    crashes = Store(demo_url).crashes_frame()
    mine = crashes.loc[(crashes["road_code"] == "QL24") & crashes["alcohol"].astype(bool), "occurred_at"].dt.date
    outside = int(((mine < chosen.date_from) | (mine > chosen.date_to)).sum())
    assert 0 < outside < len(crashes)
    assert any(c.value.startswith(f"{outside} vụ nằm ngoài") for c in at.sidebar.caption)

    # closed: the same filters hold, and the sidebar lists them
    at.session_state["filters_open"] = False
    at.run()
    assert not at.exception, at.exception
    assert not at.sidebar.multiselect and _filters(at) == chosen
    listed = next(c.value for c in at.sidebar.caption if c.value.startswith("Đang lọc"))
    assert "Tuyến đường: QL24" in listed and "Rượu bia: Có rượu bia" in listed
    assert f"{chosen.date_from:%d/%m/%Y} – {chosen.date_to:%d/%m/%Y}" in listed

    # opened again: the widgets are sent with what was chosen (a widget drawn anew shows what it is sent, or
    # its default, which the browser would then send back), and the filters hold on the next runs
    at.session_state["filters_open"] = True
    at.run()
    road = at.sidebar.multiselect(key="f_roads")
    assert road.value == ["QL24"] and road.proto.set_value and list(road.proto.raw_values) == ["QL24"]
    alcohol = at.sidebar.radio(key="f_alcohol")
    assert alcohol.value == "yes" and alcohol.proto.set_value
    assert _filters(at) == chosen and not any(c.value.startswith("Đang lọc") for c in at.sidebar.caption)
    at.run()
    assert not at.sidebar.multiselect(key="f_roads").proto.set_value  # open: the browser holds them now
    assert _filters(at) == chosen

    # closed for several runs, then opened: still the same
    at.session_state["filters_open"] = False
    at.run()
    at.run()
    at.session_state["filters_open"] = True
    at.run()
    assert at.sidebar.multiselect(key="f_roads").value == ["QL24"] and _filters(at) == chosen


def test_the_listed_filters_show_names_from_the_data_as_text(monkeypatch):
    """A commune named like Markdown (a link, an image) is listed as its own text."""
    import settings
    from app_pages import sidebar
    from services.filters import Filters

    hostile = "![x](http://evil.example/a.png) **Xã**"
    monkeypatch.setattr(sidebar, "tr", lambda text: text)
    out = sidebar._active(Filters(communes=(hostile,), ruleset=settings.DEFAULT_RULESET), "vi", {})
    from app_pages.common import md_text

    assert out == [f"Xã/phường: {md_text(hostile)}"] and "![x](" not in out[0]
