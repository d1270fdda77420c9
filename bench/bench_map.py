"""The map page with 100 000 crashes in the store.

Measured in one run:
- server side: the map page script with AppTest (data cached, as on every rerun
  after the first), and building the folium map alone;
- payload: the HTML/JS the map component receives;
- in the browser (Debian's Chromium, headless): time from opening /map to the
  Leaflet map with its first cluster drawn;
- baseline: the naive map, one folium CircleMarker per crash (built for 10 000
  and scaled to 100 000; its payload measured likewise).
"""

from __future__ import annotations

import os
import tempfile
import time

import folium

from common import ROOT, measure
from bench_import import make_csv


def build_store(url: str, n: int = 100_000) -> int:
    from data.demo import load_demo
    from geo.io import read_table
    from geo.validate import validate_crashes
    from models.store import Store

    store = Store(url)
    load_demo(store, hk_years=())  # roads, QL24 crashes, plan, cases, works of the demo; no Hong Kong rows
    res = validate_crashes(read_table(make_csv(n - store.crash_count()), filename="bench.csv"))
    store.import_crashes(res, filename="bench.csv")
    return store.crash_count()


def naive_map(crashes) -> folium.Map:
    m = folium.Map(location=[16, 106], zoom_start=6, prefer_canvas=True)
    for lat, lon in zip(crashes["lat"], crashes["lon"]):
        folium.CircleMarker([lat, lon], radius=4, tooltip="vụ").add_to(m)
    return m


def browser_ready_s(url: str) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    from tests.apprunner import running_app

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with running_app(url) as base, sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        times = []
        for _ in range(3):  # the first visit warms the server's caches; report the best of the rest
            page = b.new_page(viewport={"width": 1500, "height": 1000})
            t = time.perf_counter()
            page.goto(base + "/map")
            frame = page.frame_locator("iframe[title='streamlit_folium.st_folium']")
            frame.locator(".leaflet-container").wait_for(timeout=120000)
            frame.locator(".marker-cluster").first.wait_for(timeout=120000)
            times.append(time.perf_counter() - t)
            page.close()
        b.close()
    return min(times[1:]), times[0]


def main() -> dict:
    from streamlit.testing.v1 import AppTest

    from models.store import Store
    from services.maps import planner_map

    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/map.sqlite"
    n = build_store(url)
    os.environ["DATABASE_URL"] = url
    store = Store(url)
    crashes = store.crashes_frame()
    spots, roads = store.blackspots_frame(), store.roads_frame()

    def page_run():
        at = AppTest.from_file(str(ROOT / "app_pages" / "map.py"), default_timeout=120)
        at.run()
        assert not at.exception, at.exception

    page_run()  # fill the caches, as the first visit does
    page_s, _, _ = measure(page_run, repeat=3, memory=False)
    build_s, build_mb, m = measure(lambda: planner_map(crashes=crashes, spots=spots, roads=roads), repeat=3)
    payload = len(m.get_root().render().encode("utf-8"))
    sample = crashes.head(10_000)
    naive_s, _, nm = measure(naive_map, sample, memory=False)
    naive_payload = len(nm.get_root().render().encode("utf-8"))
    scale = n / len(sample)
    ready, first = browser_ready_s(url)
    return {
        "crashes": n,
        "page_script_s": round(page_s, 2),
        "map_build_s": round(build_s, 2),
        "map_build_peak_mb": round(build_mb, 1),
        "payload_mb": round(payload / 1e6, 2),
        "browser_map_ready_s": round(ready, 2),
        "browser_first_visit_s": round(first, 2),
        "naive_build_10k_s": round(naive_s, 2),
        "naive_build_100k_extrapolated_s": round(naive_s * scale, 1),
        "naive_payload_100k_extrapolated_mb": round(naive_payload * scale / 1e6, 1),
        "build_speedup": round(naive_s * scale / build_s, 1),
        "payload_ratio": round(naive_payload * scale / payload, 1),
    }


if __name__ == "__main__":
    print(main())
