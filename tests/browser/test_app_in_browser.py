"""The app in a real browser: Debian's Chromium driven by Playwright, headless,
against Streamlit on a free port with a small demo store. Map tiles cannot load
here (no internet): the tests look at the layers, not the tiles. Screenshots go
to docs/screenshots for the README."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import IN_CI, ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("CI needs Debian's chromium at /usr/bin/chromium")
        pytest.skip("chromium not installed")
    from data.demo import load_demo
    from models.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.sqlite'}"
    load_demo(Store(url), hk_limit=3000)
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.headless", "true", "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(base + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start")
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("chrome-profile")),
                                                   executable_path=CHROMIUM, headless=True, args=ARGS)
        yield ctx
        ctx.close()


def test_home_page_renders_title_figures_and_map_layers(app_url, browser):
    page = browser.new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    served = []
    page.on("response", lambda r: served.append((r.url, r.status)) if "/app/static/vendor/" in r.url else None)
    page.goto(app_url + "/home")
    page.get_by_role("heading", name="Quản lý điểm đen tai nạn giao thông").wait_for(timeout=60000)
    page.get_by_text("Điểm đen", exact=True).first.wait_for()
    frame = page.frame_locator("iframe[title='streamlit_folium.st_folium']")
    frame.locator(".leaflet-container").wait_for(timeout=60000)
    # Leaflet came from the app's own static folder, and the layers are drawn
    frame.locator(".leaflet-control-layers").wait_for()
    assert "Vụ TNGT / Crashes" in frame.locator(".leaflet-control-layers").inner_text()
    frame.locator(".marker-cluster").first.wait_for(timeout=30000)
    # roads, boundaries and black spots are drawn on a canvas (prefer_canvas)
    assert frame.locator(".leaflet-overlay-pane canvas").count() >= 1
    assert any(u.endswith("/leaflet/leaflet.js") and st == 200 for u, st in served)
    assert any(u.endswith("/markercluster/leaflet.markercluster.js") and st == 200 for u, st in served)
    time.sleep(1.5)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)
    page.close()


def test_import_page_renders_with_its_vietnamese_title(app_url, browser):
    page = browser.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(app_url + "/import")
    page.get_by_role("heading", name="Nhập dữ liệu").wait_for(timeout=60000)
    page.get_by_text("Các lần nhập / Import batches").wait_for()
    uploader = page.locator("[data-testid='stFileUploader']")
    uploader.wait_for(timeout=30000)
    assert uploader.count() == 1
    time.sleep(1)
    page.screenshot(path=str(SHOTS / "import.png"), full_page=True)
    page.close()


def test_blackspots_page_shows_the_ranked_list(app_url, browser):
    page = browser.new_page()
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.goto(app_url + "/blackspots")
    page.get_by_role("heading", name="Điểm đen và điểm tiềm ẩn").wait_for(timeout=60000)
    page.get_by_text("Vì sao / Why").wait_for(timeout=30000)
    time.sleep(1)
    page.screenshot(path=str(SHOTS / "blackspots.png"), full_page=True)
    page.close()
