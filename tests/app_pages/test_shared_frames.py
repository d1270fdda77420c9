"""The sidebar and the map page read the crash frame the process keeps for every session (no copy of it a
run): neither may change it. Run both with every filter that keeps all rows, a crash chosen (its panel), a
heat map and a drawn area; the kept frame is then still what the store holds."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from models.store import Store
from tests.conftest import ROOT

SCRIPT = f"""
import runpy
import streamlit as st
from app_pages.sidebar import render
with st.sidebar:
    render("vi")
runpy.run_path({str(ROOT / "app_pages" / "map.py")!r}, run_name="__main__")
"""


def test_the_sidebar_and_the_map_leave_the_kept_crash_frame_as_it_was(demo_url, monkeypatch):
    monkeypatch.chdir(ROOT)
    store = Store(demo_url)
    kept = store.crashes_frame(shared=True)
    before = kept.copy()
    at = AppTest.from_string(SCRIPT, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    cid = int(before["id"].iloc[0])
    at.session_state["map_selected"] = ("crash", cid)  # a crash chosen on the map: its panel
    at.session_state["filters_open"] = True
    at.run()
    assert not at.exception, at.exception
    assert any(f"#{cid}" in h.value for h in at.subheader)
    at.toggle(key="map_heat").set_value(True).run()
    assert not at.exception, at.exception
    # the process's kept frame is the one it was, unchanged, and still what a read of the store gives
    assert store.crashes_frame(shared=True) is kept
    pd.testing.assert_frame_equal(kept, before)
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), store._crashes_read().reset_index(drop=True))
