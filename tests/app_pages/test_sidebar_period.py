"""The period follows the data (issue 15.4): a crash imported after the page
was opened is inside the default period; a period the user chose stays as
chosen, and the sidebar says how many crashes fall outside it."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from streamlit.testing.v1 import AppTest

SCRIPT = """
import streamlit as st
from app_pages.sidebar import render
with st.sidebar:
    f = render("vi")
st.text(f"period: {f.date_from} {f.date_to}")
"""


def _add_crash(url: str, day: date, ref: str) -> None:
    from geo.io import RawTable
    from geo.validate import validate_crashes
    from models.store import Store

    store = Store(url)
    frame = pd.DataFrame(
        {
            "Mã vụ": [ref],
            "Ngày xảy ra": [day.strftime("%d/%m/%Y")],
            "Kinh độ": ["107.9"],
            "Vĩ độ": ["14.6"],
            "Số người chết": ["0"],
            "Số người bị thương": ["1"],
        }
    )
    res = validate_crashes(RawTable(frame=frame, fmt="csv"))
    assert res.n_errors == 0, res.report
    store.import_crashes(res, filename=f"{ref}.csv")


def test_the_default_period_moves_with_new_data_and_a_chosen_one_stays(demo_url):
    import streamlit as st

    from models.store import Store

    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.session_state["filters_open"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.text[0].value == "period: None None"  # the whole range: no period filter
    last = Store(demo_url).crashes_frame()["occurred_at"].max().date()
    assert at.date_input(key="f_period").value == (Store(demo_url).crashes_frame()["occurred_at"].min().date(), last)

    # a crash imported a minute later (after the data's last day) is inside the default period
    newer = last + timedelta(days=3)
    _add_crash(demo_url, newer, "MOI-1")
    st.cache_data.clear()  # what the import page does after a write
    at.run()
    assert at.text[0].value == "period: None None"
    assert at.date_input(key="f_period").value[1] == newer

    # a period the user chooses stays as chosen when more data comes, and the sidebar says what it leaves out
    chosen = (last - timedelta(days=60), last)
    at.date_input(key="f_period").set_value(chosen).run()
    assert at.text[0].value == f"period: {chosen[0]} {chosen[1]}"
    _add_crash(demo_url, newer + timedelta(days=2), "MOI-2")
    st.cache_data.clear()
    at.run()
    assert at.text[0].value == f"period: {chosen[0]} {chosen[1]}"
    crashes = Store(demo_url).crashes_frame()
    day = crashes["occurred_at"].dt.date
    outside = int(((day < chosen[0]) | (day > chosen[1])).sum())
    assert any(c.value.startswith(f"{outside} vụ nằm ngoài khoảng thời gian đã chọn") for c in at.sidebar.caption)
