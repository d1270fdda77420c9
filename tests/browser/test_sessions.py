"""Sign-in as a planner lives it, in Chromium: a deep link survives the
sign-in, a reload (F5) and a new tab stay signed in, sign-out ends the
session everywhere, and open mode ends as soon as the first account exists."""

from __future__ import annotations


import pytest

from services.auth import add_user
from tests.apprunner import running_app
from tests.browser.chrome import demo_store, launch, require_chromium

TITLE = "Quản lý điểm đen tai nạn giao thông"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    require_chromium()
    return demo_store(tmp_path_factory.mktemp("sessions"), hk_limit=150)[0]


@pytest.fixture(scope="module")
def app(store_url):
    with running_app(store_url) as base:
        yield base


@pytest.fixture
def context(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = launch(p, tmp_path / "profile", viewport={"width": 1300, "height": 900})
        yield ctx
        ctx.close()


def _login_form(page):
    return page.get_by_role("heading", name="Đăng nhập")


def _sign_in(page, name, password):
    _login_form(page).wait_for(timeout=60000)
    page.get_by_label("Tên đăng nhập").fill(name)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def _cookies_once_written(context, timeout_s: float = 15) -> dict:
    """The browser's cookies once the page's script has written the session cookie (it runs as the page draws)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        cookies = {c["name"]: c for c in context.cookies()}
        if cookies.get("blackspot_session", {}).get("value") or time.monotonic() > deadline:
            return cookies
        time.sleep(0.2)


def _signed_in_as(page, name) -> None:
    page.get_by_text(f"👤 {name}").first.wait_for(timeout=60000)


def test_open_mode_then_deep_link_reload_new_tab_and_sign_out(app, store_url, context):
    from models.store import Store

    page = context.new_page()
    page.goto(app + "/works")
    page.get_by_role("heading", name="Công trình xử lý").wait_for(timeout=60000)
    assert page.get_by_text("chế độ mở").count() == 1  # open mode: no accounts yet
    # the first admin is created (as from the command line): open mode ends on the very next run
    store = Store(store_url)
    add_user(store, username="quantri", password="mat-khau-dai-1", role="admin")
    page.reload()
    _login_form(page).wait_for(timeout=30000)
    assert page.get_by_role("heading", name="Công trình xử lý").count() == 0
    assert page.get_by_text("chế độ mở").count() == 0
    # a deep link is kept through the sign-in
    page.goto(app + "/corridor")
    _sign_in(page, "quantri", "mat-khau-dai-1")
    page.get_by_role("heading", name="Hành lang an toàn đường bộ").wait_for(timeout=60000)
    _signed_in_as(page, "quantri")
    assert page.url.endswith("/corridor")
    cookies = _cookies_once_written(context)
    token = cookies["blackspot_session"]["value"]
    assert len(token) >= 40 and cookies["blackspot_session"]["sameSite"] == "Strict"
    with store.engine.connect() as c:
        from sqlalchemy import text

        held = c.execute(text("select token_hash from web_session")).scalars().all()
    assert token not in held and len(held) == 1  # the store keeps only the hash
    # F5 keeps the session and the page
    page.reload()
    page.get_by_role("heading", name="Hành lang an toàn đường bộ").wait_for(timeout=60000)
    _signed_in_as(page, "quantri")
    assert _login_form(page).count() == 0
    # a new tab of the same browser is signed in too
    tab = context.new_page()
    tab.goto(app + "/plans")
    tab.get_by_role("heading", name="Kế hoạch và chỉ tiêu").wait_for(timeout=60000)
    _signed_in_as(tab, "quantri")
    # sign-out ends the session: this tab, a reload, and the other tab on its next run all ask again
    tab.get_by_role("button", name="Đăng xuất").click()
    _login_form(tab).wait_for(timeout=30000)
    tab.reload()
    _login_form(tab).wait_for(timeout=30000)
    assert "blackspot_session" not in {c["name"] for c in context.cookies() if c["value"]}
    page.reload()
    _login_form(page).wait_for(timeout=30000)
    # a wrong password is said plainly, and nothing is shown
    _sign_in(page, "quantri", "sai")
    page.get_by_text("Sai tên đăng nhập hoặc mật khẩu").wait_for(timeout=30000)
    assert page.get_by_role("heading", name=TITLE).count() == 0


def test_a_stolen_or_ended_cookie_does_not_sign_in(app, store_url, context):
    from models.store import Store

    store = Store(store_url)
    if store.user_count() == 0:
        add_user(store, username="quantri", password="mat-khau-dai-1", role="admin")
    host = app.split("//")[1].split(":")[0]
    context.add_cookies([{"name": "blackspot_session", "value": "x" * 43, "domain": host, "path": "/"}])
    page = context.new_page()
    page.goto(app + "/")
    _login_form(page).wait_for(timeout=60000)
    assert page.get_by_role("heading", name=TITLE).count() == 0
