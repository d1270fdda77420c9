"""The pages' maps: streamlit-folium's component, drawn once per page open.

streamlit-folium's map sends its value back as soon as it is drawn when that
value differs from the default Python gave it. The default says ``None``
clicks where the map's script counts ``0``, so the map page (which asks for
the click count) ran a second time on every open, while the browser was still
drawing: a second map built on the server, the page's messages handled again
in the browser during the first draw. :func:`show_map` gives the default the
map's own count.
"""

from __future__ import annotations

from typing import Any

import streamlit_folium

__all__ = ["show_map"]

_component = streamlit_folium._component_func


def _component_counting_from_zero(*args: Any, default: dict | None = None, **kwargs: Any) -> Any:
    if default and "last_object_clicked_count" in default and default["last_object_clicked_count"] is None:
        default = {**default, "last_object_clicked_count": 0}  # as the map's script starts counting
    return _component(*args, default=default, **kwargs)


streamlit_folium._component_func = _component_counting_from_zero


def show_map(m: Any, **kwargs: Any) -> dict | None:
    """:func:`streamlit_folium.st_folium` (same arguments), without the second run on every open."""
    return streamlit_folium.st_folium(m, **kwargs)
