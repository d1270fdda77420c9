"""The scale-out recipe (``scripts/cluster.py``), in Chromium: two Streamlit
processes behind nginx on one PostGIS store. Each browser stays on its
process (every request, the websocket included), and an agency added
through one process shows through the other on its next page load."""

from __future__ import annotations

import shutil
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.apprunner import free_port
from tests.browser.chrome import launch_offline, pictures_dir, require_chromium
from tests.conftest import IN_CI, ROOT, pg_database

sys.path.insert(0, str(ROOT / "scripts"))
import cluster  # noqa: E402

pytestmark = pytest.mark.browser


def _require_nginx() -> None:
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        if IN_CI:
            pytest.fail("CI needs Debian's nginx for the scale-out test")
        pytest.skip("nginx not installed")


@pytest.fixture(scope="module")
def running_cluster(postgis_template, tmp_path_factory):
    require_chromium()
    _require_nginx()
    from data.demo import load_demo
    from models.store import Store

    with pg_database(postgis_template) as url:
        load_demo(Store(url), hk_limit=150)
        run = tmp_path_factory.mktemp("cluster")
        with cluster.running(
            url, processes=2, port=free_port(), ports=[free_port(), free_port()], run_dir=run, pool=2, overflow=3
        ) as (proxy, backends, run_dir):
            yield proxy, backends, run_dir, url


def _process_of(proxy: str, run_dir: Path, key: str) -> str:
    """The process nginx sends the route cookie ``key`` to (read from its log)."""
    req = urllib.request.Request(proxy + "/_stcore/health", headers={"Cookie": f"{cluster.ROUTE_COOKIE}={key}"})
    assert urllib.request.urlopen(req, timeout=10).status == 200
    for _ in range(50):
        seen = [up for k, up, _ in cluster.routes(run_dir) if k == key]
        if seen:
            return seen[-1]
        import time

        time.sleep(0.1)
    raise AssertionError(f"no log line for {key}")


def _agencies_tab(page) -> None:
    page.get_by_role("tab", name="Các cơ quan").click(timeout=90000)
    page.get_by_role("button", name="Thêm cơ quan").wait_for(timeout=30000)


def _parent_options(page) -> list[str]:
    """The agencies offered as "Trực thuộc" (parent) in the add-agency form."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Trực thuộc").first
    box.click()
    opts = page.get_by_role("option")
    opts.first.wait_for(timeout=30000)
    names = [o.inner_text().strip() for o in opts.all()]
    page.keyboard.press("Escape")
    return names


def test_two_processes_behind_nginx_keep_each_browser_and_share_every_write(running_cluster, tmp_path):
    from playwright.sync_api import sync_playwright

    proxy, backends, run_dir, url = running_cluster
    # two browsers' route cookies, one for each process (the consistent hash decides; the log tells)
    keys: dict[str, str] = {}
    for i in range(64):
        key = f"{i:032x}"
        keys.setdefault(_process_of(proxy, run_dir, key), key)
        if len(keys) == 2:
            break
    first, second = sorted(keys)
    assert {first, second} == {b.removeprefix("http://") for b in backends}

    name = f"Đội kiểm tra cụm {uuid.uuid4().hex[:6]}"
    with sync_playwright() as p:
        ctx_a, ext_a = launch_offline(p, tmp_path / "a", viewport={"width": 1300, "height": 900})
        ctx_b, ext_b = launch_offline(p, tmp_path / "b", viewport={"width": 1300, "height": 900})
        try:
            ctx_a.add_cookies([{"name": cluster.ROUTE_COOKIE, "value": keys[first], "url": proxy}])
            ctx_b.add_cookies([{"name": cluster.ROUTE_COOKIE, "value": keys[second], "url": proxy}])
            b = ctx_b.new_page()
            b.goto(proxy + "/plans")
            _agencies_tab(b)
            before = _parent_options(b)
            assert before and name not in before  # the page (and its cached agencies) drawn before the write

            a = ctx_a.new_page()
            a.goto(proxy + "/plans")
            _agencies_tab(a)
            a.get_by_label("Tên cơ quan").fill(name)
            a.get_by_role("button", name="Thêm cơ quan").click()
            a.get_by_text("Đã thêm cơ quan").wait_for(timeout=30000)
            a.screenshot(path=str(pictures_dir() / "cluster_write.png"))

            b.reload()
            _agencies_tab(b)
            after = _parent_options(b)
            assert name in after and set(before) < set(after)
            b.screenshot(path=str(pictures_dir() / "cluster_read.png"))
            assert ext_a == [] and ext_b == []  # nothing from outside the server
        finally:
            ctx_a.close()
            ctx_b.close()

    # every request of each browser went to its own process: the page, its assets and the websocket
    import time

    time.sleep(0.5)
    log = cluster.routes(run_dir)
    for process, key in keys.items():
        served = {up for k, up, _ in log if k == key}
        assert served == {process}, (key, served)
        assert any("/_stcore/stream" in req for k, _, req in log if k == key)  # the websocket, proxied
    # and the write is in the one store
    from models.store import Store

    assert name in set(Store(url).agencies_frame()["name"])
