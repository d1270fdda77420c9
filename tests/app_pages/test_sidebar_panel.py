"""The sidebar's filters sit in a panel drawn only when open: closed on a new visit (no filter is set then),
their values kept while it is closed, the filters set listed under it as text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

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

    # closed: the same filters hold, run after run, and the sidebar lists them
    at.session_state["filters_open"] = False
    at.run()
    at.run()
    assert not at.exception, at.exception
    assert not at.sidebar.multiselect and _filters(at) == chosen
    listed = next(c.value for c in at.sidebar.caption if c.value.startswith("Đang lọc"))
    assert "Tuyến đường: QL24" in listed and "Rượu bia: Có rượu bia" in listed
    assert f"{chosen.date_from:%d/%m/%Y} – {chosen.date_to:%d/%m/%Y}" in listed

    # opened again: the widgets show what was chosen, and the filters are unchanged
    at.session_state["filters_open"] = True
    at.run()
    assert at.sidebar.multiselect(key="f_roads").value == ["QL24"]
    assert at.sidebar.radio(key="f_alcohol").value == "yes"
    assert _filters(at) == chosen and not any(c.value.startswith("Đang lọc") for c in at.sidebar.caption)


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
