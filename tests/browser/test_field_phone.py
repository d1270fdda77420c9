"""Field entry on a phone (issue 19.2), in Chromium at a phone's size with the
location granted: a tap on the component's button gives the phone's place,
the page shows the road and chainage found there, the user records a hazard
with a photo, and the store has it. The page fits the phone's width (no
sideways scrolling) and nothing is asked of any server but the app's own."""

from __future__ import annotations

import io

import pytest

from tests.apprunner import running_app
from tests.browser.chrome import demo_store, launch_offline, pictures_dir, require_chromium

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
QL24_M = 136_500.0  # Km 136+500 of the demo's QL24, 6 m right of the centreline
FITS_JS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
#: Elements of the page's main part (the sidebar is folded away on a phone) that scroll sideways
#: (Streamlit's page scrolls inside its own container, not the document), and visible ones reaching
#: past the screen's right edge.
WIDE_JS = """() => {
    const w = window.innerWidth, out = [];
    for (const e of document.querySelectorAll('[data-testid=stMain], [data-testid=stMain] *')) {
        const s = getComputedStyle(e), r = e.getBoundingClientRect();
        if (['auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1)
            out.push('scrolls: ' + (e.dataset.testid || e.className || e.tagName));
        if (r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && r.right > w + 1)
            out.push('past the edge: ' + (e.dataset.testid || e.className || e.tagName) + ' ' + r.right);
    }
    return out;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    require_chromium()
    from services.corridor import point_at_chainage

    url, store = demo_store(tmp_path_factory.mktemp("field-phone"), hk_limit=100)
    p = point_at_chainage(store, road="QL24", chainage=QL24_M, side="right", offset_m=6.0)
    return url, {"latitude": p.y, "longitude": p.x, "accuracy": 5}


@pytest.fixture(scope="module")
def app_url(demo):
    with running_app(demo[0]) as base:
        yield base


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def phone(demo, playwright, tmp_path):
    """Chromium as a phone, its location granted and set at the demo place; requests outside the server aborted."""
    ctx, external = launch_offline(
        playwright,
        tmp_path / "phone-profile",
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation=demo[1],
        permissions=["geolocation"],
        locale="vi-VN",
    )
    yield ctx, external
    ctx.close()


@pytest.fixture
def phone_refused(playwright, tmp_path):
    """The same phone without the permission: the browser refuses the location."""
    ctx, external = launch_offline(
        playwright,
        tmp_path / "phone-profile",
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        permissions=[],
        locale="vi-VN",
    )
    yield ctx, external
    ctx.close()


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 60)).save(out, format="JPEG")
    return out.getvalue()


def test_a_hazard_recorded_from_a_phone_at_its_location(app_url, phone, demo):
    from models.store import Store

    ctx, external = phone
    page = ctx.new_page()
    page.goto(app_url + "/field")
    page.get_by_role("heading", name="Ghi nhận hiện trường").wait_for(timeout=60000)
    # the component: its button asks the browser for the place, granted here
    button = page.frame_locator("iframe[title*='geolocation']").get_by_role("button", name="Lấy vị trí của tôi")
    button.wait_for(timeout=30000)
    button.tap()
    page.get_by_role("heading", name="QL24 Km 136+500").wait_for(timeout=30000)
    assert page.get_by_text("từ điện thoại").count() == 1
    assert page.get_by_text("Không trên tuyến đường nào đã biết").count() == 0

    page.get_by_text("Điểm tiềm ẩn (nguy cơ tai nạn)").tap()
    page.get_by_label("Mô tả ngắn").fill("Ổ gà sâu giữa làn xe máy")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "o_ga.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    page.get_by_text("o_ga.jpg").wait_for(timeout=30000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(pictures_dir() / "field_phone_form.png"))
    page.get_by_role("heading", name="Ghi nhận hiện trường").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(pictures_dir() / "field_phone.png"))
    scroll_w, inner_w = page.evaluate(FITS_JS)
    assert scroll_w <= inner_w, (scroll_w, inner_w)  # no sideways scrolling on the phone
    assert page.evaluate(WIDE_JS) == []

    page.get_by_role("button", name="Lưu ghi nhận").tap()
    page.get_by_text("Đã gắn cờ điểm tiềm ẩn #").wait_for(timeout=30000)
    page.get_by_role("heading", name="Ghi nhận hiện trường").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(pictures_dir() / "field_phone_saved.png"))
    scroll_w, inner_w = page.evaluate(FITS_JS)
    assert scroll_w <= inner_w, (scroll_w, inner_w)
    assert page.evaluate(WIDE_JS) == []

    store = Store(demo[0])
    spots = store.blackspots_frame()
    new = spots.loc[spots["manual_reason"] == "Ổ gà sâu giữa làn xe máy"]
    assert len(new) == 1
    new = new.iloc[0]
    assert new["kind"] == "potential" and new["road_code"] == "QL24"
    assert new["from_m"] == pytest.approx(QL24_M, abs=1.0)
    assert new["geometry"].y == pytest.approx(demo[1]["latitude"], abs=1e-6)
    assert new["geometry"].x == pytest.approx(demo[1]["longitude"], abs=1e-6)
    photos = store.attachments("blackspot", int(new["id"]))
    assert photos["kind"].tolist() == ["photo"] and photos["filename"].tolist() == ["o_ga.jpg"]
    assert external == []  # nothing asked of any other server
    page.close()


def test_location_refused_says_so_and_the_place_is_typed_by_hand(app_url, phone_refused):
    """Without the permission the page says plainly that the browser refused, and a place typed as road and
    chainage gives the road and chainage as the phone's would."""
    ctx, external = phone_refused
    page = ctx.new_page()
    page.goto(app_url + "/field")
    page.get_by_role("heading", name="Ghi nhận hiện trường").wait_for(timeout=60000)
    page.frame_locator("iframe[title*='geolocation']").get_by_role("button", name="Lấy vị trí của tôi").tap()
    page.get_by_text("Trình duyệt không cho phép lấy vị trí. Hãy cho phép").wait_for(timeout=30000)
    page.get_by_text("Lý trình", exact=True).tap()
    page.get_by_label("Lý trình (Km 140+250)").fill("Km 140+250")
    page.locator("[data-testid=stMain]").get_by_role("combobox", name="Tuyến").click()
    page.get_by_role("option", name="QL24", exact=True).click()
    page.get_by_role("button", name="Dùng vị trí này").tap()
    page.get_by_role("heading", name="QL24 Km 140+250").wait_for(timeout=30000)
    assert page.get_by_text("nhập bằng tay").count() == 1
    scroll_w, inner_w = page.evaluate(FITS_JS)
    assert scroll_w <= inner_w and page.evaluate(WIDE_JS) == []
    page.screenshot(path=str(pictures_dir() / "field_phone_manual.png"))
    assert external == []
    page.close()
