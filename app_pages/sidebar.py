"""The sidebar shared by every page: language and the filters. Drawn once,
by app.py; the values live in st.session_state["filters"].

The filters sit in a panel that is drawn only when open (closed on a new visit, when no filter is set; it stays
as the user left it): a page load draws its page without the filters' widgets, the larger part of the browser's
work on the sidebar. Their values outlive a closed panel, and the active ones are listed under it."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

import settings
from geo.rules import load_rulesets
from geo.severity import labels as severity_labels
from app_pages.common import AREA_KEY, clear_area, load_crashes, load_roads, md_text, tr, url
from services.filters import Filters, filter_crashes, options


#: The filters' widgets (their values are kept in the session while the panel is closed)
FILTER_KEYS = ("f_period", "f_communes", "f_roads", "f_severity", "f_vehicle", "f_cause", "f_alcohol", "f_ruleset")
PANEL_KEY = "filters_open"


def _carry_over(state, lang: str) -> None:
    """The filters' values and the panel's state carried from the last run into this one.

    Streamlit forgets a widget's value after a run that does not draw it (the panel closed), and on a move to
    another page it keeps only the widgets the browser reported (not the panel's own state). And a widget
    drawn anew shows its default, and sends it back, unless its value was given in the run that draws it. So:
    the values are kept (``_filters_saved``) and given again in every run that does not draw the widgets and
    in the run that draws them after one that did not; the panel is opened again on another page, and after
    a switch of language (its title is in the language: a new title is a new panel), as it was left. While
    the panel stays open the browser holds the values, and they are not sent again, except after a switch of
    language: a choice reaches the browser as its label, so the chosen values are sent again and their chips
    read in the new language (the browser kept the old labels)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    page = getattr(get_script_run_ctx(), "page_script_hash", None)
    new_lang = state.get("_filters_lang") != lang
    if (state.get("_filters_page") != page or new_lang) and "_filters_drawn" in state:
        state[PANEL_KEY] = state["_filters_drawn"]
    state["_filters_page"], state["_filters_lang"] = page, lang
    saved = state.get("_filters_saved") or {}
    give_again = new_lang or not state.get(PANEL_KEY) or not state.get("_filters_drawn")
    for key in FILTER_KEYS:
        if key in state:
            if give_again:
                state[key] = state[key]
        elif key in saved:
            state[key] = saved[key]


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
    crashes = load_crashes(url(), shared=True)  # (only read here)
    opts = (
        options(crashes, load_roads(url()))
        if len(crashes)
        else {"communes": [], "roads": [], "vehicles": [], "causes": [], "date_min": None, "date_max": None}
    )
    state = st.session_state
    _carry_over(state, lang)
    if opts["date_min"]:
        _follow_the_data((opts["date_min"], opts["date_max"]))
    rulesets = load_rulesets()
    if state.get("f_ruleset") not in rulesets:
        state["f_ruleset"] = settings.DEFAULT_RULESET
    panel = st.expander(tr("Bộ lọc"), key=PANEL_KEY, on_change="rerun")
    state["_filters_drawn"] = bool(panel.open)
    if panel.open:
        with panel:
            _widgets(opts, lang, rulesets)
    period = state.get("f_period") if opts["date_min"] else None
    d_from = d_to = None
    if period and isinstance(period, (tuple, list)) and len(period) == 2:
        d_from, d_to = period
        if (d_from, d_to) == (opts["date_min"], opts["date_max"]):
            d_from = d_to = None  # the whole range: no period filter
    vehicle = state.get("f_vehicle", "—")
    cause = state.get("f_cause", "—") if opts["causes"] else "—"
    f = Filters(
        date_from=d_from,
        date_to=d_to,
        communes=tuple(state.get("f_communes") or ()),
        roads=tuple(state.get("f_roads") or ()),
        severities=tuple(state.get("f_severity") or ()),
        vehicle=None if vehicle in (None, "—") else vehicle,
        cause=None if cause in (None, "—") else cause,
        alcohol=state.get("f_alcohol") or "all",
        ruleset=state["f_ruleset"],
        area=state.get(AREA_KEY) or None,
    )
    if not panel.open:
        active = _active(f, lang, rulesets)
        if active:
            st.caption(tr("Đang lọc") + ": " + " · ".join(active))
    if d_from is not None and len(crashes):
        # the crashes the period alone leaves out (the other filters' crashes outside it)
        others = filter_crashes(crashes, replace(f, date_from=None, date_to=None))
        day = others["occurred_at"].dt.normalize()  # (not .dt.date: a Python date per crash)
        outside = int(((day < pd.Timestamp(d_from)) | (day > pd.Timestamp(d_to))).sum())
        if outside:
            st.caption(
                tr("{n} vụ nằm ngoài khoảng thời gian đã chọn (dữ liệu: {a} – {b})").format(
                    n=outside, a=f"{opts['date_min']:%d/%m/%Y}", b=f"{opts['date_max']:%d/%m/%Y}"
                )
            )
    if state.get(AREA_KEY):
        st.info(tr("Đang lọc theo vùng vẽ trên bản đồ"))
        st.button(tr("Bỏ lọc vùng"), key="f_area_clear", on_click=clear_area)
    state["_filters_saved"] = {key: state[key] for key in FILTER_KEYS if key in state}
    state["filters"] = f
    return f


def _widgets(opts: dict, lang: str, rulesets: dict) -> None:
    """The filters' widgets (in the open panel); their values are read from the session state."""
    if opts["date_min"]:
        st.date_input(
            tr("Thời gian"), min_value=opts["date_min"], max_value=opts["date_max"], format="DD/MM/YYYY", key="f_period"
        )
    st.multiselect(tr("Xã/phường"), opts["communes"], key="f_communes", placeholder=tr("Tất cả"))
    st.multiselect(tr("Tuyến đường"), opts["roads"], key="f_roads", placeholder=tr("Tất cả"))
    sev_labels = severity_labels(lang)
    st.multiselect(
        tr("Mức độ"), list(sev_labels), format_func=sev_labels.get, key="f_severity", placeholder=tr("Tất cả")
    )
    st.selectbox(tr("Phương tiện"), ["—"] + opts["vehicles"], key="f_vehicle")
    if opts["causes"]:
        st.selectbox(tr("Nguyên nhân"), ["—"] + opts["causes"], key="f_cause")
    alcohol_opts = _alcohol_labels()
    st.radio(tr("Rượu bia"), list(alcohol_opts), format_func=alcohol_opts.get, horizontal=True, key="f_alcohol")
    st.selectbox(tr("Bộ quy tắc điểm đen"), list(rulesets), format_func=lambda k: rulesets[k].name, key="f_ruleset")


def _alcohol_labels() -> dict[str, str]:
    return {"all": tr("Tất cả"), "yes": tr("Có rượu bia"), "no": tr("Không")}


def _active(f: Filters, lang: str, rulesets: dict) -> list[str]:
    """The filters set, as short texts for the closed panel (names from the data made safe for Markdown)."""
    sev = severity_labels(lang)
    out = []
    if f.date_from is not None:
        out.append(f"{f.date_from:%d/%m/%Y} – {f.date_to:%d/%m/%Y}")
    for label, values in ((tr("Xã/phường"), f.communes), (tr("Tuyến đường"), f.roads)):
        if values:
            out.append(f"{label}: " + ", ".join(md_text(v) for v in values))
    if f.severities:
        out.append(f"{tr('Mức độ')}: " + ", ".join(md_text(sev.get(s, s)) for s in f.severities))
    if f.vehicle:
        out.append(f"{tr('Phương tiện')}: {md_text(f.vehicle)}")
    if f.cause:
        out.append(f"{tr('Nguyên nhân')}: {md_text(f.cause)}")
    if f.alcohol != "all":
        out.append(f"{tr('Rượu bia')}: {_alcohol_labels()[f.alcohol]}")
    if f.ruleset != settings.DEFAULT_RULESET:
        out.append(f"{tr('Bộ quy tắc điểm đen')}: {md_text(rulesets[f.ruleset].name)}")
    return out
