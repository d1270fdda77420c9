"""The phone's location, from the browser: a small custom component kept in
the repository (``app_pages/components/geolocation/index.html``, a button
and a few lines of JavaScript; no npm, no React, nothing loaded from outside
the server). Streamlit serves the folder itself and runs the page in an
iframe that may ask for the location (its ``allow`` list names geolocation).

The page and the component speak Streamlit's component messages: the page
says ``streamlit:componentReady``, Streamlit sends ``streamlit:render`` with
the labels, and a tap on the button asks ``navigator.geolocation``; the
answer comes back through ``streamlit:setComponentValue`` as
``{"lat", "lon", "accuracy_m", "ts"}`` or ``{"error", "ts"}`` (``denied``,
``unavailable``, ``timeout``, ``unsupported``, ``insecure``: the browser
gives the location only to a page served over HTTPS or from localhost)."""

from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

from app_pages.common import tr

_FOLDER = Path(__file__).resolve().parent / "components" / "geolocation"
_component = components.declare_component("geolocation", path=str(_FOLDER))

#: What the component says while it asks and when the browser refuses, by error code.
ERRORS = ("denied", "unavailable", "timeout", "unsupported", "insecure")


def labels() -> dict[str, str]:
    """The component's texts in the chosen language (passed to it at each run)."""
    return {
        "button": tr("Lấy vị trí của tôi"),
        "waiting": tr("Đang lấy vị trí…"),
        "denied": tr("Trình duyệt không cho phép lấy vị trí."),
        "unavailable": tr("Không xác định được vị trí."),
        "timeout": tr("Quá thời gian chờ vị trí."),
        "unsupported": tr("Trình duyệt này không lấy được vị trí."),
        "insecure": tr("Trình duyệt chỉ cho lấy vị trí qua HTTPS."),
    }


def phone_location(key: str) -> dict | None:
    """The last answer of the component: ``{lat, lon, accuracy_m, ts}``,
    ``{error, ts}``, or None before the user asked."""
    value = _component(labels=labels(), key=key, default=None)
    return value if isinstance(value, dict) else None
