"""A map element's output reaches the page once, as text, never as a template.

branca (under folium) renders each element's template, then wraps the output
in a new ``Element``, and an ``Element`` made from a string compiles that
string as a Jinja template and renders it again when the page is put together.
Everything an element writes is in that output, data included: a road, case
or work named ``{{ ... }}`` was Python run on the server (a shell command from
an imported road name), and a name with broken template syntax stopped the
map. Compiling the output also cost most of the map page's run on the server
(a hundred kilobytes of GeoJSON lexed as a template, twice a run).

Importing this module makes branca's :meth:`MacroElement.render` and folium's
:meth:`Popup.render` (the two that wrap their output, for every element the
app's maps draw) add :class:`Text` instead: the output as it is. Nothing else
changes: each element's own template still renders once, with its data
escaped as folium escapes it. :mod:`services.maps` imports it;
``tests/services/test_maps.py`` checks that no text of the data is ever
compiled, on every layer, through the whole page and streamlit-folium's copy.
"""

from __future__ import annotations

from typing import Any

import branca.element
import folium.map

__all__ = ["Text"]


class Text(branca.element.Element):
    """Text put on the page as it is (rendered output: never a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = str(text)

    def render(self, **kwargs: Any) -> str:
        return self.text


def _figure(element: branca.element.Element) -> branca.element.Figure:
    figure = element.get_root()
    if not isinstance(figure, branca.element.Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    return figure


def _macro_render(self: branca.element.MacroElement, **kwargs: Any) -> None:
    """:meth:`branca.element.MacroElement.render`, its header, html and script added as :class:`Text`."""
    figure = _figure(self)
    macros = self._template.module.__dict__
    for part, box in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
        macro = macros.get(part)
        if macro is not None:
            box.add_child(Text(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def _popup_render(self: folium.map.Popup, **kwargs: Any) -> None:
    """:meth:`folium.map.Popup.render`, its script added as :class:`Text`."""
    for child in self._children.values():
        child.render(**kwargs)
    _figure(self).script.add_child(Text(self._template.render(this=self, kwargs=kwargs)), name=self.get_name())


branca.element.MacroElement.render = _macro_render  # type: ignore[method-assign]
folium.map.Popup.render = _popup_render  # type: ignore[method-assign]
