"""The sidebar shared by every page: language and the filters. Drawn once,
by app.py; the values live in st.session_state["filters"]."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from geo.rules import load_rulesets
from geo.severity import labels as severity_labels
from app_pages.common import AREA_KEY, clear_area, load_crashes, load_roads, tr, url
from services.filters import Filters, options


def _follow_the_data(data_range: tuple) -> None:
    """The period widget's value before it is drawn: the data's whole range,
    moving with new data, until the user chooses a period; a chosen period
    stays as chosen (kept inside the data's range)."""
    state = st.session_state
    before = state.get("f_period_range")
    if before == data_range and "f_period" in state:
        return
    chosen = state.get("f_period")
    if chosen is None or before is None or len(chosen) != 2 or tuple(chosen) == tuple(before):
        state["f_period"] = data_range
    else:
        a, b = max(chosen[0], data_range[0]), min(chosen[1], data_range[1])
        state["f_period"] = (a, b) if a <= b else data_range
    state["f_period_range"] = data_range


def render(lang: str) -> Filters:
    crashes = load_crashes(url())
    opts = (
        options(crashes, load_roads(url()))
        if len(crashes)
        else {"communes": [], "roads": [], "vehicles": [], "causes": [], "date_min": None, "date_max": None}
    )
    st.subheader(tr("Bộ lọc"))
    if st.session_state.get("_filters_lang") != lang:
        # a choice reaches the browser as its label: after a switch of language the chosen values are
        # sent again, so their chips read in the new language (the browser kept the old labels)
        for key in ("f_severity", "f_alcohol", "f_ruleset"):
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]
        st.session_state["_filters_lang"] = lang
    period = None
    if opts["date_min"]:
        _follow_the_data((opts["date_min"], opts["date_max"]))
        period = st.date_input(
            tr("Thời gian"), min_value=opts["date_min"], max_value=opts["date_max"], format="DD/MM/YYYY", key="f_period"
        )
    communes = st.multiselect(tr("Xã/phường"), opts["communes"], key="f_communes", placeholder=tr("Tất cả"))
    roads = st.multiselect(tr("Tuyến đường"), opts["roads"], key="f_roads", placeholder=tr("Tất cả"))
    sev_labels = severity_labels(lang)
    severities = st.multiselect(
        tr("Mức độ"), list(sev_labels), format_func=sev_labels.get, key="f_severity", placeholder=tr("Tất cả")
    )
    vehicle = st.selectbox(tr("Phương tiện"), ["—"] + opts["vehicles"], key="f_vehicle")
    cause = st.selectbox(tr("Nguyên nhân"), ["—"] + opts["causes"], key="f_cause") if opts["causes"] else "—"
    alcohol_opts = {"all": tr("Tất cả"), "yes": tr("Có rượu bia"), "no": tr("Không")}
    alcohol = st.radio(
        tr("Rượu bia"), list(alcohol_opts), format_func=alcohol_opts.get, horizontal=True, key="f_alcohol"
    )
    rulesets = load_rulesets()
    rs = st.selectbox(
        tr("Bộ quy tắc điểm đen"),
        list(rulesets),
        index=list(rulesets).index(settings.DEFAULT_RULESET),
        format_func=lambda k: rulesets[k].name,
        key="f_ruleset",
    )
    d_from = d_to = None
    if period and isinstance(period, (tuple, list)) and len(period) == 2:
        d_from, d_to = period
        if (d_from, d_to) == (opts["date_min"], opts["date_max"]):
            d_from = d_to = None  # the whole range: no period filter
    if d_from is not None and len(crashes):
        day = crashes["occurred_at"].dt.normalize()  # (not .dt.date: a Python date per crash)
        outside = int(((day < pd.Timestamp(d_from)) | (day > pd.Timestamp(d_to))).sum())
        if outside:
            st.caption(
                tr("{n} vụ nằm ngoài khoảng thời gian đã chọn (dữ liệu: {a} – {b})").format(
                    n=outside, a=f"{opts['date_min']:%d/%m/%Y}", b=f"{opts['date_max']:%d/%m/%Y}"
                )
            )
    if st.session_state.get(AREA_KEY):
        st.info(tr("Đang lọc theo vùng vẽ trên bản đồ"))
        st.button(tr("Bỏ lọc vùng"), key="f_area_clear", on_click=clear_area)
    f = Filters(
        date_from=d_from,
        date_to=d_to,
        communes=tuple(communes),
        roads=tuple(roads),
        severities=tuple(severities),
        vehicle=None if vehicle == "—" else vehicle,
        cause=None if cause == "—" else cause,
        alcohol=alcohol,
        ruleset=rs,
        area=st.session_state.get(AREA_KEY) or None,
    )
    st.session_state["filters"] = f
    return f
