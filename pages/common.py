"""Shared helpers of the pages: the store (one per process) and cached loaders.
No business logic here."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from models.store import Store


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)


def get_store() -> Store:
    return _store(settings.database_url())


@st.cache_data(show_spinner=False)
def load_crashes(url: str) -> pd.DataFrame:
    return _store(url).crashes_frame()


@st.cache_data(show_spinner=False)
def load_roads(url: str) -> pd.DataFrame:
    return _store(url).roads_frame()


@st.cache_data(show_spinner=False)
def load_boundaries(url: str) -> pd.DataFrame:
    return _store(url).admin_units_frame()


def invalidate() -> None:
    """Forget cached frames after a write."""
    st.cache_data.clear()


def lang() -> str:
    return st.session_state.get("lang", "vi")
