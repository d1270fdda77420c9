"""app_pages.folium_map: the map the pages send is streamlit-folium's own, rendered once."""

from __future__ import annotations

import streamlit_folium

import settings
from app_pages import folium_map
from models.store import Store
from services.corridor import corridor_polygons
from services.maps import chosen_crash_ring, planner_map
from services.works import work_geometries


def _sent(monkeypatch, show) -> dict:
    """What the component is given when ``show`` draws the map page's map of the demo (a crash chosen)."""
    sent: dict = {}
    monkeypatch.setattr(folium_map, "_component", lambda *a, **k: sent.update(k) or k.get("default"))
    show()
    return sent


def test_the_map_sent_is_the_one_st_folium_sends_rendered_once(demo_url, monkeypatch):
    store = Store(demo_url)
    crashes, spots, roads = store.crashes_frame(), store.blackspots_frame(), store.roads_frame()
    layers = dict(
        crashes=crashes,
        spots=spots,
        roads=roads,
        boundaries=store.admin_units_frame(),
        corridors=corridor_polygons(roads, rules=settings.CORRIDOR_RULESET),
        cases=store.cases_frame(),
        works=work_geometries(store.works_frame(), spots, roads),
        draw=True,
    )
    chosen = int(crashes["id"].iloc[0])
    returned = ["last_clicked", "last_object_clicked_count", "last_object_clicked_tooltip", "all_drawings"]
    renders = []
    real_render = type(planner_map(**layers).get_root()).render

    def counting(self, **kw):
        renders.append(1)
        return real_render(self, **kw)

    def draw(show):
        m = planner_map(**layers)
        return show(m, feature_group_to_add=chosen_crash_ring(crashes, chosen), height=660, returned_objects=returned)

    theirs = _sent(monkeypatch, lambda: draw(lambda m, **kw: streamlit_folium.st_folium(m, key="k", **kw)))
    monkeypatch.setattr(type(planner_map(**layers).get_root()), "render", counting)
    ours = _sent(monkeypatch, lambda: draw(lambda m, **kw: folium_map.show_map(m, key="k", **kw)))
    # the same map, the same ring, the same links and the same name (a new name would be a new component)
    for part in ("script", "html", "header", "css_links", "js_links", "feature_group", "layer_control", "key"):
        assert ours[part] == theirs[part], part
    assert len(ours["script"]) > 50_000 and ours["feature_group"]
    assert ours["default"] == theirs["default"] | {"last_object_clicked_count": 0}  # (counting from zero)
    assert renders == []  # the page of the map is never rendered whole: only the map, once
