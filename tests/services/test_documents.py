"""The proposal and the year-end summary, checked structurally (Nghị định 30/2020 format)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import docx
import pytest

from services.blackspots import run_screening
from services.documents import libreoffice, to_pdf
from services.organisation import Organisation
from services.plan_parser import parse_plan, read_plan_text
from services.reports import proposal, year_end_summary
from tests.conftest import SHARED

KON_RAY = SHARED.parent / "plans" / "kon-ray-2024-kh-batgt.md"
ORG = Organisation(
    name="Ban An toàn giao thông huyện Kon Rẫy",
    level="district",
    parent="UBND huyện Kon Rẫy",
    place="Kon Rẫy",
    receiver="Ban An toàn giao thông tỉnh Kon Tum",
    signer="La Ngọc Đức",
)
INFO = replace(
    ORG.document_info(on=date(2025, 2, 5)),
    number="12/TTr-BATGT",
    recipients=["Như trên;", "UBND huyện (b/c);", "Lưu: VT."],
)


@pytest.fixture
def proposal_doc(ql24_store):
    run_screening(ql24_store)
    spots = ql24_store.blackspots_frame(kind="black_spot")
    ids = spots["id"].astype(int).tolist()[:2]
    ql24_store.add_work(
        work_type="signs", blackspot_id=ids[0], description="biển W.207 & <cảnh báo>", cost_vnd=120_000_000
    )
    ql24_store.add_work(work_type="markings", blackspot_id=ids[0], cost_vnd=80_000_000)
    return docx.Document(io.BytesIO(proposal(ql24_store, ids, INFO))), ids, spots


def _runs(doc):
    for p in doc.paragraphs:
        yield from p.runs
    for t in doc.tables:
        for row in t.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    yield from p.runs


def test_page_margins_and_font(proposal_doc):
    doc, _, _ = proposal_doc
    sec = doc.sections[0]
    mm = lambda v: round(v.mm, 1)  # noqa: E731 (stored in twips)
    assert (mm(sec.page_width), mm(sec.page_height)) == (210.0, 297.0)
    assert tuple(map(mm, (sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin))) == (20, 20, 30, 15)
    assert doc.styles["Normal"].font.name == "Times New Roman"
    assert all(r.font.name in (None, "Times New Roman") for r in _runs(doc))
    # page number from page 2: a PAGE field in the header, first page different
    assert sec.different_first_page_header_footer
    assert "PAGE" in sec.header._element.xml


def test_header_title_table_and_signature(proposal_doc):
    doc, ids, spots = proposal_doc
    head = doc.tables[0]
    left = [p.text for p in head.cell(0, 0).paragraphs]
    right = head.cell(0, 1).paragraphs
    assert left == ["UBND HUYỆN KON RẪY", "BAN AN TOÀN GIAO THÔNG", "Số: 12/TTr-BATGT"]
    assert head.cell(0, 0).paragraphs[1].runs[0].bold
    assert right[0].text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" and right[0].runs[0].bold
    assert right[1].text == "Độc lập - Tự do - Hạnh phúc" and right[1].runs[0].underline and right[1].runs[0].bold
    date_p = [p for p in right if "ngày" in p.text][0]
    assert date_p.text == "Kon Rẫy, ngày 05 tháng 02 năm 2025" and date_p.runs[0].italic
    title = [p for p in doc.paragraphs if p.text == "TỜ TRÌNH"][0]
    assert title.runs[0].bold
    assert any(p.text.startswith("Kính gửi: Ban An toàn giao thông tỉnh Kon Tum") for p in doc.paragraphs)
    table = doc.tables[1]
    assert len(table.rows) == 1 + len(ids) + 1  # header, one row per spot, totals
    first = spots.set_index("id").loc[ids[0]]
    assert table.cell(1, 1).text.replace("\xa0", " ").startswith(f"QL24\nKm {int(first['from_m']) // 1000}+")
    # the table has a landscape page of its own, the text around it is portrait
    orient = [(round(s.page_width.mm), round(s.page_height.mm)) for s in doc.sections]
    assert orient == [(210, 297), (297, 210), (210, 297)]
    assert table.cell(1, 5).text.startswith("Biển báo: biển W.207 & <cảnh báo>")
    assert table.cell(1, 6).text == "200.000.000"
    assert (
        sum(sec.page_width.mm - sec.left_margin.mm - sec.right_margin.mm for sec in doc.sections[1:2])
        >= sum(c.width.mm for c in table.rows[0].cells) - 1
    )  # the table fits between the margins
    assert table.cell(len(ids) + 1, 1).text == "Tổng cộng"
    assert len(doc.inline_shapes) == len(ids)  # a map image per spot
    sig = doc.tables[-1]
    noi_nhan = sig.cell(0, 0).paragraphs[0]
    assert noi_nhan.text == "Nơi nhận:" and noi_nhan.runs[0].bold and noi_nhan.runs[0].italic
    assert noi_nhan.runs[0].font.size.pt == 12 and sig.cell(0, 0).paragraphs[1].runs[0].font.size.pt == 11
    assert sig.cell(0, 1).paragraphs[-1].text == "La Ngọc Đức"


def test_proposal_has_the_benefit_cost_ratio_of_each_spots_works(proposal_doc, ql24_store):
    """Issue 19.1: a B/C column: the spot's works' PV of benefits over their cost (the first spot has signs and
    markings, the second none), the ratio of the whole list in the totals row, and a line saying what it is."""
    from services.appraisal import appraise_works
    from services.documents import PROPOSAL_HEADER, bcr_text

    doc, ids, _ = proposal_doc
    table = doc.tables[1]
    header = [c.text for c in table.rows[0].cells]
    assert header == PROPOSAL_HEADER and header[7] == "B/C" and header[6] == "Kinh phí (đồng)"
    works = appraise_works(ql24_store, statuses=None).table
    mine = works.loc[works["blackspot_id"] == ids[0]]
    assert len(mine) == 2
    ratio = mine["pv_benefit_vnd"].sum() / mine["cost_vnd"].sum()
    assert ratio > 0 and table.cell(1, 7).text == bcr_text(ratio)
    assert table.cell(2, 7).text == ""  # no work, no ratio
    assert table.cell(len(ids) + 1, 7).text == bcr_text(ratio)  # the totals row: the only appraised spot
    note = [p.text for p in doc.paragraphs if p.text.startswith("B/C:")]
    assert note and "70 lần GDP bình quân đầu người năm 2024" in note[0] and "10 %/năm" in note[0]


def test_year_end_summary(ql24_store):
    draft = parse_plan(read_plan_text(KON_RAY.read_bytes(), KON_RAY.name))
    pid = ql24_store.save_plan(draft)
    run_screening(ql24_store)
    spot = int(ql24_store.blackspots_frame()["id"].iloc[0])
    secs = ql24_store.sections_frame(pid)
    ag = ql24_store.agencies_frame()
    ql24_store.link_item("blackspot", spot, section_id=int(secs["id"].iloc[2]), lead_agency_id=int(ag["id"].iloc[0]))
    doc = docx.Document(io.BytesIO(year_end_summary(ql24_store, pid, INFO)))
    texts = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in texts and any(t.startswith("Thực hiện Kế hoạch số M/KH-BATGT") for t in texts)
    targets = doc.tables[1]
    assert [targets.cell(i, 1).text for i in (1, 2, 3)] == ["Số vụ", "Số người chết", "Số người bị thương"]
    sections = doc.tables[3]
    assert len(sections.rows) == 1 + 7 and sections.cell(3, 0).text == "II.3" and sections.cell(3, 2).text == "1"


def test_pdf_table_keeps_every_number_and_date_whole(proposal_doc, ql24_store, tmp_path):
    """Rendered by LibreOffice, read back with pdftotext: no number, amount or
    date of the table is broken across lines, and the STT header is whole."""
    if libreoffice() is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI needs LibreOffice and pdftotext (poppler-utils)")
        pytest.skip("LibreOffice or pdftotext not installed")
    _, ids, spots = proposal_doc
    pdf = to_pdf(proposal(ql24_store, ids, INFO))
    assert pdf.startswith(b"%PDF")
    (tmp_path / "p.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "p.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "200.000.000" in text  # the amount of the first spot, in one piece
    chosen = spots.set_index("id").loc[ids]
    for d in list(chosen["window_start"]) + list(chosen["window_end"]):
        assert f"{d:%d/%m/%Y}" in text
    assert re.search(r"\bSTT\b", text)
    assert re.search(r"\bB/C\b", text)  # the appraisal's column fits beside the others
    # no date or amount cut at a line end: a line ending in digits and a separator
    assert not re.search(r"\d[./]\s*\n\s*\d", text)
    assert not re.search(r"\d{1,3}(\.\d{3})*\.\d{1,2}\s*$", text, re.M)


def test_dossier_of_a_black_spot(ql24_store, tmp_path, monkeypatch):
    """The hồ sơ điểm đen: location, the test met, a row per crash with its date, chainage and counts,
    damage, causes, the proposed work, the site sketch and the photo; by the CLI as DOCX and as a zip."""
    import zipfile

    import cli
    from services.organisation import save_organisation
    from services.reports import dossier

    run_screening(ql24_store)
    save_organisation(ql24_store, ORG)
    spot = ql24_store.blackspots_frame(kind="black_spot").iloc[0]
    sid = int(spot["id"])
    ql24_store.add_work(work_type="signs", blackspot_id=sid, description="biển W.207", cost_vnd=85_000_000)
    from services.documents import spot_map_png

    png = spot_map_png(spot["geometry"])
    monkeypatch.setattr("settings.DATA_DIR", tmp_path)
    ql24_store.add_photo("blackspot", sid, "hien_truong.png", png, caption="Hiện trường nhìn từ phía Bắc")
    doc = docx.Document(io.BytesIO(dossier(ql24_store, sid)))
    texts = [p.text for p in doc.paragraphs]
    assert "HỒ SƠ ĐIỂM ĐEN TAI NẠN GIAO THÔNG" in texts
    assert any(t.startswith("Tuyến QL24, lý trình Km") for t in texts)
    crashes = doc.tables[1]
    members = ql24_store.crashes_frame().set_index("id").loc[list(spot["crash_ids"])]
    assert len(crashes.rows) == 1 + len(members) + 1  # header, one row per crash of the spot, total
    assert crashes.cell(len(crashes.rows) - 1, 4).text == str(int(members["deaths"].sum()))
    first = members.sort_values("occurred_at").iloc[0]
    t0 = first["occurred_at"]  # a time is shown when one was recorded (midnight reads as no time)
    assert crashes.cell(1, 2).text == f"{t0:%d/%m/%Y}" + ("" if (t0.hour, t0.minute) == (0, 0) else f"\n{t0:%H:%M}")
    assert any("biển W.207" in t and "85.000.000" in t.replace("\xa0", " ") for t in texts)
    assert len(doc.inline_shapes) == 2  # the site sketch and the photo
    assert "Hiện trường nhìn từ phía Bắc" in texts
    assert [p.text for p in doc.tables[0].cell(0, 0).paragraphs][0] == "UBND HUYỆN KON RẪY"
    monkeypatch.setenv("DATABASE_URL", ql24_store.engine.url.render_as_string(hide_password=False))
    assert cli.main(["dossier", str(sid), "--out", str(tmp_path / "hs.docx")]) == 0
    assert docx.Document(str(tmp_path / "hs.docx")).paragraphs
    other = int(ql24_store.blackspots_frame(kind="black_spot").iloc[1]["id"])
    assert cli.main(["dossier", f"{sid},{other}", "--out", str(tmp_path / "hs.zip")]) == 0
    assert sorted(zipfile.ZipFile(tmp_path / "hs.zip").namelist()) == sorted(
        [f"ho_so_diem_{sid}.docx", f"ho_so_diem_{other}.docx"]
    )
    assert cli.main(["dossier", "999999", "--out", str(tmp_path / "x.docx")]) == 2


def test_old_and_new_units_both_named(tmp_path):
    """The demo's crashes keep the commune they were recorded in and gain the 2025 unit; the proposal names
    both ("Xã Đăk Ruồng (nay thuộc xã Kon Braih)")."""
    from data.demo import load_demo
    from models.store import Store

    store = Store(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    load_demo(store, hk_limit=0)
    c = store.crashes_frame()
    pairs = set(zip(c["commune"], c["commune_now"]))
    assert ("Xã Đăk Ruồng", "Xã Kon Braih") in pairs and ("Xã Đăk Tơ Lung", "Xã Đăk Kôi") in pairs
    assert ("Thị trấn Đăk Rve", "Xã Đăk Rve") in pairs
    spots = store.blackspots_frame(kind="black_spot")
    sid = int(spots.loc[spots["commune"] == "Xã Đăk Ruồng", "id"].iloc[0])
    doc = docx.Document(io.BytesIO(proposal(store, [sid], INFO, with_maps=False)))
    assert "Xã Đăk Ruồng (nay thuộc xã Kon Braih)" in doc.tables[1].cell(1, 1).text


def test_a_control_character_in_the_data_leaves_documents_and_workbooks_whole(ql24_store):
    """A control character pasted into a cell (\\x01, an escape sequence) was imported, and then every .xlsx
    export, KML and document holding it failed (python-docx: 'All strings must be XML compatible'), the
    proposal of every spot with it. They are now written without it."""
    from xml.etree import ElementTree as ET

    import openpyxl
    import pandas as pd

    from services.exports import to_kml
    from services.tabular import to_xlsx_bytes

    run_screening(ql24_store)
    spots = ql24_store.blackspots_frame(kind="black_spot")
    ids = spots["id"].astype(int).tolist()[:1]
    ql24_store.add_work(work_type="signs", blackspot_id=ids[0], description="biển\x01 W.207 \x1b[31mđỏ\x0b", cost_vnd=1)
    doc = docx.Document(io.BytesIO(proposal(ql24_store, ids, INFO)))
    texts = " ".join(r.text for r in _runs(doc))
    assert "biển W.207 [31mđỏ" in texts
    frame = pd.DataFrame({"mô tả": ["biển\x01 W.207\x1f", None, 3], "n": [1, 2, 3]})
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"vụ": frame})))
    assert [c.value for c in wb["vụ"]["A"]] == ["mô tả", "biển W.207", None, 3]
    kml = to_kml(pd.DataFrame({"kind": ["điểm\x01 đen"], "road_code": ["QL24"], "geometry": [None]}))
    ns = "{http://www.opengis.net/kml/2.2}"
    assert ET.fromstring(kml).find(f".//{ns}Placemark/{ns}name").text == "điểm đen QL24"
