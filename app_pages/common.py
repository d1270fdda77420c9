"""Shared helpers of the pages: the store (one per process), cached loaders,
the current user and the shared filters. No business logic here."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

import settings
from models.store import Store
from services.filters import Filters


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def base_store() -> Store:
    """The store without a signed-in principal (for the sign-in itself)."""
    return _store(settings.database_url())


def get_store() -> Store:
    """The store acting for the signed-in user: the store refuses what the
    user's role does not allow."""
    store = _store(settings.database_url())
    p = st.session_state.get("principal")
    return store.with_principal(p) if p is not None else store


def url() -> str:
    return settings.database_url()


def _frame(url: str, what: str) -> pd.DataFrame:
    """A store frame as of this run's data version, from the reads the store
    keeps for every session of the process (:meth:`Store.read_cached`): a
    copy per call, without the serialisation ``st.cache_data`` pays on every
    read, and one data-version query per run."""
    store = _store(url).at_version(run_data_version())
    if what == "corridors":
        from services.corridor import corridor_polygons

        return store.read_cached(
            f"corridors:{settings.CORRIDOR_RULESET}",
            lambda: corridor_polygons(store.roads_frame(), rules=settings.CORRIDOR_RULESET),
        )
    if what in ("roads", "boundaries"):  # the store keeps the other tables itself
        return store.read_cached(what, store.roads_frame if what == "roads" else store.admin_units_frame)
    return {
        "crashes": store.crashes_frame,
        "spots": store.blackspots_frame,
        "cases": store.cases_frame,
        "works": store.works_frame,
        "agencies": store.agencies_frame,
    }[what]()


def run_data_version() -> int:
    """The store's data version, read once per run: one query per run instead
    of one per frame. A run is known by the per-run state Streamlit gives
    each run of a session (its element cursors, new at every run); a write
    (:func:`invalidate`) forgets it, so the rest of that run reads again."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    run = getattr(get_script_run_ctx(), "cursors", None)
    kept = st.session_state.get("_data_version")
    if run is not None and kept is not None and kept[0] is run:
        return kept[1]
    v = _store(settings.database_url()).data_version()
    if run is not None:
        st.session_state["_data_version"] = (run, v)
    return v


def load_crashes(url: str, *, shared: bool = False) -> pd.DataFrame:
    """The store's crashes, the caller's own copy; ``shared``: the frame the process keeps, for a caller that
    only reads it (a copy of a million crashes is ~0.1–0.3 s a run)."""
    if shared:
        return _store(url).at_version(run_data_version()).crashes_frame(shared=True)
    return _frame(url, "crashes")


def load_roads(url: str) -> pd.DataFrame:
    return _frame(url, "roads")


def load_boundaries(url: str) -> pd.DataFrame:
    return _frame(url, "boundaries")


def load_spots(url: str) -> pd.DataFrame:
    return _frame(url, "spots")


def load_cases(url: str) -> pd.DataFrame:
    return _frame(url, "cases")


def load_works(url: str) -> pd.DataFrame:
    return _frame(url, "works")


def load_agencies(url: str) -> pd.DataFrame:
    return _frame(url, "agencies")


def load_corridors(url: str) -> pd.DataFrame:
    return _frame(url, "corridors")


def invalidate() -> None:
    """Forget cached frames after a write (and this run's data version: the
    rest of the run reads the store as the write left it)."""
    st.cache_data.clear()
    st.session_state.pop("_data_version", None)


def lang() -> str:
    return st.session_state.get("lang", "vi")


def tr(text: str) -> str:
    """A page label (its Vietnamese text) in the chosen language, from the one
    translation table in ``i18n.py``."""
    from i18n import t

    return t(text, lang())


def number(x: float | int | None, digits: int = 0) -> str:
    """A number as the user's language writes it (``1.234,57`` in
    Vietnamese, ``1,234.57`` in English); ``—`` for none."""
    from i18n import t

    if x is None or x != x:
        return "—"
    marks = {",": t("thousands_mark", lang()), ".": t("decimal_mark", lang())}
    return f"{x:,.{digits}f}".translate(str.maketrans(marks))


def current_user() -> str:
    """The signed-in user's name (``web`` when no account exists yet)."""
    p = st.session_state.get("principal")
    return p.username if p is not None else "web"


_MD_SIGNS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")


def md_text(value) -> str:
    """Text from data, safe inside ``st.markdown``: HTML escaped, and every
    Markdown sign (links, images, emphasis, headings, and ``$`` that starts
    LaTeX) shown as itself, so a name like ``![x](http://…)`` is never an
    image fetched from outside and "phạt $5 … $10" is not a formula."""
    import html

    return _MD_SIGNS.sub(r"\\\1", html.escape(str(value), quote=False))


def page_link(where, page: str, label: str) -> None:
    """A link to another page of the app (nothing when the page runs alone, as
    in a test, outside the app's navigation)."""
    from streamlit.errors import StreamlitAPIException

    try:
        where.page_link(page, label=label, icon=":material/arrow_forward:")
    except StreamlitAPIException:  # not registered in st.navigation
        pass


AREA_KEY = "filter_area"  # the area drawn on the map that every page filters by (WKT, WGS 84)


def filters() -> Filters:
    """The sidebar's filters, with the area set on the map (``AREA_KEY``); an
    area that is not a valid polygon is dropped with a message."""
    from dataclasses import replace

    from errors import AreaError
    from services.filters import area_text

    f = st.session_state.get("filters") or Filters()
    area = st.session_state.get(AREA_KEY) or None
    if area is not None:
        try:
            area = area_text(area)
        except AreaError as exc:
            st.session_state.pop(AREA_KEY, None)
            show_error(exc)
            area = None
    return f if f.area == area else replace(f, area=area)


def set_area(area) -> None:
    """Filter every page by this area (WKT, GeoJSON or a shapely polygon);
    raises AreaError when it is not a valid polygon in WGS 84."""
    from services.filters import area_text

    st.session_state[AREA_KEY] = area_text(area)


def clear_area() -> None:
    st.session_state.pop(AREA_KEY, None)


def show_flash() -> None:
    """The message a write left for the page it reran (see ``panel._done``)."""
    slot = st.empty()  # always there, so what follows (tabs) keeps its place and the tab the user chose
    if msg := st.session_state.pop("flash", None):
        slot.success(md_text(msg))  # messages carry names from data: shown as text


def show_error(exc: Exception) -> None:
    """An error for the user; its text may quote the user's file (a column's
    name, a road code), so it is shown as text, never as Markdown."""
    st.error(f"⚠️ {md_text(exc)}")


def show_warning(text) -> None:
    """A warning that may quote data, shown as text."""
    st.warning(md_text(text))
