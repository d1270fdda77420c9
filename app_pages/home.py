"""Trang tổng quan / Overview: figures and the map of crashes and black spots."""

from __future__ import annotations

import streamlit as st
from app_pages.folium_map import show_map

import settings
from i18n import t
from app_pages.common import (
    filters,
    get_store,
    lang,
    load_boundaries,
    load_crashes,
    load_roads,
    load_spots,
    md_text,
    page_link,
    tr,
)
from services.filters import filter_crashes, filter_spots
from services.maps import overview_map
from services.overview import data_areas, next_steps, simulated_crashes

L = lang()
st.title(t("app_title", L))
store = get_store()
url = settings.database_url()
all_crashes = load_crashes(url)
crashes = filter_crashes(all_crashes, filters())
spots = filter_spots(load_spots(url), filters())

steps = next_steps(store, ruleset=filters().ruleset)
if steps:
    with st.container(border=True):
        st.markdown("**" + tr("Việc cần làm tiếp") + "**")
        for i, step in enumerate(steps, start=1):
            c1, c2 = st.columns([5, 2])
            c1.markdown(f"{i}. {md_text(step.text(L))}")
            page_link(c2, f"app_pages/{step.page}", tr("Mở trang"))
if all_crashes.empty:
    st.info(t("no_data", L))
    st.stop()

c = st.columns(5)
c[0].metric(t("crashes", L), f"{len(crashes):,}".replace(",", "."))
c[1].metric(t("deaths", L), int(crashes["deaths"].sum()))
c[2].metric(t("injured", L), f"{int(crashes['injured'].sum()):,}".replace(",", "."))
n_black = int((spots["kind"] == "black_spot").sum()) if len(spots) else 0
n_pot = int((spots["kind"] == "potential").sum()) if len(spots) else 0
c[3].metric(t("black_spots", L), n_black)
c[4].metric(t("potential", L), n_pot)
n_simulated, simulated_sources = simulated_crashes(crashes)
if n_simulated:  # only where simulated crashes (the demo's) are loaded: what they are, from their batch's source
    st.caption(
        "⚠️ "
        + t("simulated_note", L).format(
            n=f"{n_simulated:,}".replace(",", "."), sources=md_text("; ".join(simulated_sources) or "—")
        )
    )

areas = {"all": tr("Tất cả")} | data_areas(all_crashes)  # the data's own sources, largest first


@st.fragment
def map_panel():
    cols = st.columns([2, 1])
    area = "all"
    if len(areas) > 2:
        area = cols[0].radio(tr("Nguồn dữ liệu"), list(areas), format_func=areas.get, horizontal=True, key="home_area")
    heat = cols[1].toggle(t("heat", L), key="home_heat")
    sel = crashes if area == "all" else crashes.loc[crashes["source"] == area]
    m = overview_map(
        crashes=sel,
        spots=spots,
        roads=load_roads(url),
        boundaries=load_boundaries(url),
        heat=heat,
        lang=L,
        offline=settings.OFFLINE_MAP,
    )
    show_map(
        m, height=560, use_container_width=True, returned_objects=[], key=f"home_map_{abs(hash(area)) % 10**8}_{heat}"
    )


map_panel()
