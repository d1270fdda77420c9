"""The pages' maps: streamlit-folium's component, drawn once per page open.

streamlit-folium's map sends its value back as soon as it is drawn when that
value differs from the default Python gave it. The default says ``None``
clicks where the map's script counts ``0``, so the map page (which asks for
the click count) ran a second time on every open, while the browser was still
drawing: a second map built on the server, the page's messages handled again
in the browser during the first draw. :func:`show_map` gives the default the
map's own count.

streamlit-folium names each map by a digest of its script: a map drawn
differently (another selection shown) is a new component, and the value the
old one sent (the click that changed the selection) is read from its name
before the new map is built: :func:`last_map_value`.
"""

from __future__ import annotations

import threading
from typing import Any

import streamlit as st
import streamlit_folium

__all__ = ["last_map_value", "show_map"]

_component = streamlit_folium._component_func
_drawn = threading.local()  # the component name of the map this thread (one session's run) drew last


def _component_counting_from_zero(*args: Any, default: dict | None = None, **kwargs: Any) -> Any:
    _drawn.name = kwargs.get("key")
    if default and "last_object_clicked_count" in default and default["last_object_clicked_count"] is None:
        default = {**default, "last_object_clicked_count": 0}  # as the map's script starts counting
    return _component(*args, default=default, **kwargs)


streamlit_folium._component_func = _component_counting_from_zero


def _name_key(key: str) -> str:
    return f"_map_component_{key}"


def show_map(m: Any, *, key: str, **kwargs: Any) -> dict | None:
    """:func:`streamlit_folium.st_folium` (same arguments), without the second run on every open; remembers
    the component the map under ``key`` is (for :func:`last_map_value`).

    The map is rendered once: st_folium renders the whole page of the map first (``render=True``), then the
    map again, the only render it uses (every layer's data dumped to JSON both times); and it walks every
    coordinate of every layer for the map's bounds, a value sent back only when ``returned_objects`` asks
    for ``"bounds"``."""
    kwargs.setdefault("render", False)
    asked = kwargs.get("returned_objects")
    if asked is not None and "bounds" not in asked:
        m.get_bounds = lambda: [[None, None], [None, None]]  # what st_folium says when a map has none
    _drawn.name = None
    out = streamlit_folium.st_folium(m, key=key, **kwargs)
    st.session_state[_name_key(key)] = _drawn.name
    return out


def last_map_value(key: str) -> dict | None:
    """What the map last drawn under ``key`` sent back (its clicks and drawings), read before a new map
    is built; ``None`` before any."""
    name = st.session_state.get(_name_key(key))
    value = st.session_state.get(name) if name else None
    return value if isinstance(value, dict) else None
