"""The planner's whole journey in Chromium (issue 15): import a small police
crash file → re-run the screening → the new black spot is reported → link it
to the plan and a lead agency → make the proposal (tờ trình) for it.

One fresh demo store, one browser page that walks through the app as a planner
does; every step asserts what the planner sees on the page, then a screenshot
goes to journey_<n>_<step>.png (chrome.pictures_dir). No network beyond the app's
own server: every other request is aborted (and must not happen).

The file: a title row, a subtitle, the Vietnamese header, three crashes located
by free text ("Km 148+300 QL24, xã Tân Lập"), a totals row and a signature
row. Three crashes within 240 m and 18 days, two of them fatal, on a stretch of
QL24 (Km 148+300 – Km 148+540) between two of the demo's black spots (ending at
Km 144+987, starting at Km 149+411): a black spot by Thông tư 41/2024 (D1: two
fatal crashes; D2: three crashes, one fatal) that was not there before.

The steps run in order and share the page; a step skips when the one before it failed.
"""

from __future__ import annotations

import io
import re
import time

import pytest

from tests.apprunner import running_app
from tests.browser.chrome import demo_store, launch_offline, pictures_dir, require_chromium

SHOTS = pictures_dir()

pytestmark = pytest.mark.browser

#: (chainage m, crash id, date, time, deaths, injured, cause): June 2025, inside the demo's data (2018 – 10/2025).
CRASHES = [
    (148_300, "CA-2025-061", "10/06/2025", "07:30", 1, 1, "Đi không đúng phần đường"),
    (148_420, "CA-2025-074", "22/06/2025", "18:15", 0, 2, "Vượt xe không đúng quy định"),
    (148_540, "CA-2025-080", "28/06/2025", "21:40", 1, 0, "Chạy quá tốc độ"),
]
FIRST, LAST = CRASHES[0][0], CRASHES[-1][0]
NEW_LEAD = "Hạt Quản lý đường bộ Kon Rẫy"
SECTION = "II.3"
STATE: dict = {}


def _km(m: float) -> str:
    return f"Km {int(m // 1000)}+{int(round(m % 1000)):03d}"


def _metres(km: str) -> int:
    a, b = re.fullmatch(r"Km (\d+)\+(\d{3})", km).groups()
    return int(a) * 1000 + int(b)


def _police_csv(path) -> None:
    """The monthly statistics table as a commune police office exports it to CSV."""
    rows = [
        "BẢNG THỐNG KÊ TNGT,,,,,,,",
        '"(Tuyến QL24 qua địa bàn xã, tháng 6/2025)",,,,,,,',
        "STT,Mã vụ,Ngày xảy ra,Giờ,Địa điểm,Số người chết,Số người bị thương,Nguyên nhân",
    ]
    for k, (ch, ref, day, hour, dead, hurt, cause) in enumerate(CRASHES, start=1):
        rows.append(f'{k},{ref},{day},{hour},"{_km(ch)} QL24, xã Tân Lập",{dead},{hurt},{cause}')
    rows += [f"Cộng,,,,,{sum(c[4] for c in CRASHES)},{sum(c[5] for c in CRASHES)},", ",,,,Người lập biểu,,,"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    require_chromium()
    url, store = demo_store(tmp_path_factory.mktemp("journey"), hk_limit=150)
    spots = store.blackspots_frame()
    black = spots.loc[(spots["kind"] == "black_spot") & (spots["road_code"] == "QL24")]
    # the stretch is free of black spots, 300 m either side: whatever the screen finds there is new
    assert not ((black["from_m"] <= LAST + 300) & (black["to_m"] >= FIRST - 300)).any()
    STATE.update(url=url, spot_ids=set(spots["id"].astype(int)), n_crashes=store.crash_count())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BLACKSPOT_OFFLINE_MAP", "1")  # the plain base layer: nothing to fetch from outside
        with running_app(url) as base:
            yield base


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """One page of a Chromium that reaches only the app's server."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx, external = launch_offline(
            p,
            tmp_path_factory.mktemp("chrome-profile"),
            accept_downloads=True,
            viewport={"width": 1400, "height": 1300},
        )
        pg = ctx.new_page()
        yield pg
        ctx.close()
    assert external == [], external


def _metrics(page) -> dict[str, str]:
    return {
        m.locator("[data-testid='stMetricLabel']").inner_text().strip(): m.locator("[data-testid='stMetricValue']")
        .inner_text()
        .strip()
        for m in page.locator("[data-testid='stMetric']").all()
    }


def _pick(page, label: str, text: str) -> None:
    """Choose the option of the selectbox ``label`` that contains ``text``, by typing it."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    box.click()
    page.keyboard.type(text)
    page.get_by_role("option").filter(has_text=text).first.click()


def _shot(page, name: str, element=None) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    if element is not None:
        element.scroll_into_view_if_needed()
    time.sleep(1)  # let the page finish drawing (fonts, tables)
    page.screenshot(path=str(SHOTS / name))


def _no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Traceback").count() == 0


def test_1_import_the_police_file(app_url, page, tmp_path):
    from models.store import Store

    path = tmp_path / "thong_ke_tngt_thang_6_2025.csv"
    _police_csv(path)
    page.goto(app_url + "/import")
    page.get_by_role("heading", name="Nhập dữ liệu").wait_for(timeout=60000)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(path))
    # the check: three crash rows read, all valid; the title, totals and signature rows said, not counted as errors
    page.get_by_text("Báo cáo kiểm tra", exact=True).wait_for(timeout=60000)
    page.locator("[data-testid='stMetric']").nth(4).wait_for(timeout=30000)
    metrics = _metrics(page)
    assert metrics["Số dòng"] == "3" and metrics["Số vụ"] == "3", metrics
    assert metrics["Hợp lệ"] == "3" and metrics["Lỗi"] == "0", metrics
    assert metrics["Không phải dòng vụ TNGT"] == "2", metrics  # "Cộng" and "Người lập biểu"
    report = page.locator("[data-testid='stDataFrame']").first
    assert page.get_by_role("button", name="Nhập 3 dòng hợp lệ").is_enabled()
    page.get_by_text("Xem trước dữ liệu").click()
    preview = page.locator("[data-testid='stExpander']").filter(has_text="Xem trước dữ liệu")
    preview.locator("[data-testid='stDataFrame']").wait_for(timeout=30000)
    preview.locator("[role='gridcell']").first.wait_for(state="attached", timeout=30000)
    _shot(page, "journey_1_import.png", report)
    # the data frames draw on a canvas: their text is read from the grid's accessible cells
    cells = preview.locator("[role='gridcell']").all_inner_texts()
    for ch, ref, *_ in CRASHES:
        assert ref in cells, (ref, cells[:40])
        assert _km(ch) in cells, (ch, cells[:40])  # the chainage as the police write it
    # the old commune name is read and its 2025 commune said (a warning, not an error); the totals row said
    rep_cells = report.locator("[role='gridcell']").all_inner_texts()
    assert any("nay thuộc xã Kon Braih" in c for c in rep_cells), rep_cells
    assert any("dòng tổng cộng" in c for c in rep_cells), rep_cells

    page.get_by_role("button", name="Nhập 3 dòng hợp lệ").click()
    done = page.get_by_text(re.compile(r"Lần nhập \d+: 3 vụ mới; 0 vụ được cập nhật; 0 đã có\."))
    done.wait_for(timeout=60000)
    _no_exception(page)
    batch = re.match(r"Lần nhập (\d+):", done.inner_text()).group(1)
    # the list of imports below shows the file with its three rows, and the undo offers this import first
    batches = page.locator("[data-testid='stDataFrame']").last
    batches.locator("[role='gridcell']").filter(has_text=path.name).first.wait_for(state="attached", timeout=30000)
    undo = page.locator("[data-testid='stSelectbox']").filter(has_text="Lần nhập")
    assert undo.get_by_role("combobox", name="Lần nhập").input_value() == batch
    _shot(page, "journey_1_import_done.png", done)

    store = Store(STATE["url"])
    assert store.crash_count() == STATE["n_crashes"] + 3
    crashes = store.crashes_frame()
    mine = crashes.loc[crashes["source_id"].isin([c[1] for c in CRASHES])].sort_values("chainage_m")
    assert mine["road_code"].tolist() == ["QL24"] * 3
    assert mine["chainage_m"].tolist() == [float(c[0]) for c in CRASHES]
    STATE["imported"] = True


def _after(step: str) -> None:
    if step not in STATE:
        pytest.skip(f"the step before did not get to {step}")


def test_2_screen_reports_the_new_black_spot(app_url, page):
    _after("imported")
    page.goto(app_url + "/blackspots")
    page.get_by_role("heading", name="Điểm đen và điểm tiềm ẩn").wait_for(timeout=60000)
    page.get_by_role("button", name="Rà soát lại").click()
    summary = page.locator("[data-testid='stAlertContentSuccess']").filter(has_text="Thông tư 41/2024")
    summary.wait_for(timeout=120000)
    text = summary.inner_text()
    assert "Mới 1, " in text and "không còn đạt 0" in text, text
    changes = page.locator("[data-testid='stExpander']").filter(has_text="Những gì đã thay đổi")
    changes.wait_for(timeout=30000)
    lines = [x.strip() for x in changes.locator("li").all_inner_texts()]
    new = [x for x in lines if x.startswith("Mới:")]
    assert len(new) == 1, lines
    m = re.match(r"Mới: #(\d+) điểm đen QL24 (Km \d+\+\d{3}) – (Km \d+\+\d{3}) — (\S+);", new[0])
    assert m, new[0]
    sid = int(m.group(1))
    assert sid not in STATE["spot_ids"]
    # the new spot is the stretch of the imported crashes
    assert _metres(m.group(2)) <= FIRST and _metres(m.group(3)) >= LAST, new[0]
    assert LAST - 500 <= _metres(m.group(2)) and _metres(m.group(3)) <= FIRST + 1000, new[0]
    assert set(m.group(4).split(",")) >= {"D1", "D2"}, new[0]  # two fatal crashes; three with one fatal
    assert "10/06/2025" in new[0], new[0]  # its 12-month window opens with the first imported crash
    STATE.update(spot=sid, stretch=(m.group(2), m.group(3)))
    _shot(page, "journey_2_screen.png", summary)
    _no_exception(page)


def test_3_link_the_spot_to_the_plan_and_a_lead_agency(app_url, page):
    from models.store import Store

    _after("spot")
    sid, (a, b) = STATE["spot"], STATE["stretch"]
    # still on the black-spot page: choose the new spot in the list, read why it is one, open it on the map
    _pick(page, "Xem chi tiết điểm", f"#{sid} ")
    page.get_by_role("heading", name=f"#{sid} · Điểm đen · QL24 {a} – {b}").wait_for(timeout=30000)
    page.get_by_text(re.compile(r"Vì sao:.*trong 12 tháng 10/06/2025")).first.wait_for(timeout=30000)
    page.get_by_role("button", name="Mở trên bản đồ").click()
    page.get_by_role("heading", name="Bản đồ").wait_for(timeout=60000)
    panel = page.get_by_role("heading", name=f"#{sid} · Điểm đen")
    panel.wait_for(timeout=60000)
    page.get_by_role("tab", name="Kế hoạch").click()
    form = page.locator("[data-testid='stForm']").filter(has_text="Mục kế hoạch")
    form.wait_for(timeout=30000)
    _pick(page, "Mục kế hoạch", SECTION + " ")
    form.get_by_label("Hoặc thêm cơ quan chủ trì mới").fill(NEW_LEAD)
    form.get_by_role("button", name="Gắn", exact=True).click()
    # the page reruns and says so; the panel now shows the section and the lead agency
    done = page.get_by_text(f"Đã gắn với kế hoạch · Cơ quan chủ trì: {NEW_LEAD}")
    done.wait_for(timeout=60000)
    page.get_by_role("heading", name=f"#{sid} · Điểm đen").wait_for(timeout=60000)
    linked = page.get_by_text(re.compile(rf"Mục kế hoạch: {re.escape(SECTION)} Bảo đảm tiến độ"))
    linked.wait_for(timeout=30000)
    assert f"Chủ trì: {NEW_LEAD}" in linked.inner_text()
    _shot(page, "journey_3_link.png", done)
    _no_exception(page)

    store = Store(STATE["url"])
    links = store.links_frame()
    link = links.loc[(links["item_type"] == "blackspot") & (links["item_id"] == sid)]
    agencies = store.agencies_frame().set_index("id")["name"]
    sections = store.sections_frame().set_index("id")["code"]
    assert len(link) == 1
    assert agencies[int(link["lead_agency_id"].iloc[0])] == NEW_LEAD
    assert sections[int(link["section_id"].iloc[0])] == SECTION
    STATE["linked"] = True


def test_4_propose_the_spot_to_the_higher_level(app_url, page, tmp_path):
    from docx import Document
    from playwright.sync_api import expect

    _after("linked")
    sid, (a, b) = STATE["spot"], STATE["stretch"]
    page.goto(app_url + "/exports")
    page.get_by_role("heading", name="Xuất dữ liệu").wait_for(timeout=60000)
    page.get_by_role("tab", name="Tờ trình đề xuất").click()
    chooser = page.locator("[data-testid='stMultiSelect']").filter(has_text="Điểm đưa vào tờ trình")
    chooser.wait_for(timeout=30000)
    # the three worst spots come chosen: take them out, and put the new one in
    tags = chooser.locator(".react-aria-ComboBox [data-tag]")
    tags.first.wait_for(timeout=30000)
    assert tags.count() == 3 and not any(t.startswith(f"#{sid} ") for t in tags.all_inner_texts())
    chooser.get_by_role("button", name="Clear all").click()
    expect(tags).to_have_count(0, timeout=30000)
    chooser.get_by_role("combobox", name="Điểm đưa vào tờ trình").click()
    page.keyboard.type(f"#{sid} ")
    page.get_by_role("option").filter(has_text=f"#{sid} QL24 {a}").first.click()
    page.keyboard.press("Escape")
    expect(tags).to_have_count(1, timeout=30000)
    time.sleep(1)  # the page reruns with the choice
    assert tags.count() == 1 and re.search(rf"#{sid} QL24 {re.escape(a)} · \d+ vụ, 2 chết", tags.first.inner_text()), (
        tags.all_inner_texts()
    )
    page.get_by_role("button", name="Tạo tờ trình").click()
    download = page.get_by_role("button", name="Tải tờ trình (.docx)")
    download.wait_for(timeout=120000)
    _no_exception(page)
    _shot(page, "journey_4_propose.png", download)
    with page.expect_download(timeout=60000) as got:
        download.click()
    dl = got.value
    assert dl.suggested_filename == "to_trinh_diem_den.docx"
    path = tmp_path / dl.suggested_filename
    dl.save_as(str(path))

    doc = Document(io.BytesIO(path.read_bytes()))
    text = "\n".join(p.text for p in doc.paragraphs)
    # the table keeps "Km" with its number (a no-break space)
    cells = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells).replace("\xa0", " ")
    assert "TỜ TRÌNH" in text.upper()
    assert "QL24" in cells and a in cells and b in cells, cells[:2000]
    assert NEW_LEAD in cells  # the lead agency linked in step 3
    assert f"Điểm 1: QL24 {a}" in text  # the site map's caption
