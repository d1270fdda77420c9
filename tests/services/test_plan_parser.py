"""The plan parser on the two real plans and on a hand-made .docx of one."""
from __future__ import annotations

import io
import json
from datetime import date

import pytest

import cli
from errors import InputFileError
from services.plan_parser import parse_plan, read_plan_text
from tests.conftest import SHARED

PLANS = SHARED.parent / "plans"
KON_RAY = PLANS / "kon-ray-2024-kh-batgt.md"
LIEN_MINH = PLANS / "lien-minh-2022-kh53.txt"


def _parse(path):
    return parse_plan(read_plan_text(path.read_bytes(), path.name))


def test_kon_ray_plan():
    p = _parse(KON_RAY)
    assert (p.number, p.issued_on, p.place) == ("M/KH-BATGT", date(2024, 4, 11), "Kon Rẫy")
    assert p.issuer == "Ban An toàn giao thông huyện Kon Rẫy"
    assert p.title == "Phát động phong trào thi đua bảo đảm trật tự, an toàn giao thông năm 2024"
    assert (p.period_from, p.period_to) == (date(2024, 4, 11), date(2024, 12, 31))
    assert [s.code for s in p.sections] == [f"II.{i}" for i in range(1, 8)]
    assert p.sections[2].title == "Bảo đảm tiến độ, chất lượng các dự án đầu tư kết cấu hạ tầng giao thông"
    assert "lấn chiếm hành lang an toàn đường bộ" in p.sections[2].text
    assert p.sections[6].title.startswith("Nâng cao năng lực cứu hộ, cứu nạn")
    three = p.targets[0]
    assert three["code"] == "three_criteria" and three["baseline_year"] == 2023 and three["min_pct"] is None
    assert {t["code"] for t in p.targets[1:]} == {"drink_driving", "very_serious", "no_especially_serious",
                                                  "motorcycle", "remote_areas"}
    assert len(p.recipients) == 7 and p.recipients[0].startswith("Ban ATGT tỉnh")
    assert p.signer == "Thượng tá La Ngọc Đức" and p.signer_title.startswith("KT. TRƯỞNG BAN")


def test_lien_minh_plan_read_out_of_order():
    p = _parse(LIEN_MINH)
    assert (p.number, p.issued_on, p.place) == ("53/KH-UBLM", date(2022, 3, 24), "Liên Minh")
    assert p.issuer == "Ban An toàn giao thông xã Liên Minh"
    assert p.title == "Phát động phong trào thi đua bảo đảm trật tự an toàn giao thông năm 2022"
    assert (p.period_from, p.period_to) == (date(2022, 3, 15), date(2022, 12, 31))
    assert [s.code for s in p.sections] == [f"II.{i}" for i in range(1, 6)]
    assert p.sections[3].title == ("Đẩy mạnh công tác Tuần tra kiểm soát, xử lý vi phạm về TTATGT nhất là hành vi "
                                   "lấn chiếm, xây dựng vi phạm hành lang ATGT")
    three = p.targets[0]
    assert (three["min_pct"], three["max_pct"], three["baseline_year"]) == (5.0, 10.0, 2021)
    assert p.recipients == ["Ban ANGT huyện;", "Các ban, ngành, đoàn thể;", "Lưu: VT."]
    assert p.signer == "Nguyễn Quốc Hoạt" and p.signer_title == "TRƯỞNG BAN"
    assert p.warnings == []


def test_docx_version_gives_the_same_plan():
    import docx

    doc = docx.Document()
    text = LIEN_MINH.read_text(encoding="utf-8")
    # a Word file in the usual order: header in a 2-column table, then the body
    header, body = text.split("Số: 53 /KH-UBLM")
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "UBND XÃ LIÊN MINH\nBAN AN TOÀN GIAO THÔNG\nSố: 53 /KH-UBLM"
    table.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    for line in (body + header).split("\n"):
        doc.add_paragraph(line)
    buf = io.BytesIO()
    doc.save(buf)
    from_docx = parse_plan(read_plan_text(buf.getvalue(), "kh53.docx"))
    from_txt = _parse(LIEN_MINH)
    assert from_docx.to_json_dict() == from_txt.to_json_dict()


def test_bad_plan_files_give_clear_errors():
    with pytest.raises(InputFileError, match="rỗng"):
        read_plan_text(b"", "x.txt")
    with pytest.raises(InputFileError, match="Word"):
        read_plan_text(b"not a zip", "x.docx")
    with pytest.raises(InputFileError, match="không hỗ trợ"):
        read_plan_text(b"%PDF", "x.pdf")
    p = parse_plan("Một văn bản không phải kế hoạch")
    assert p.sections == [] and any("II" in w for w in p.warnings)


def test_cli_plan_parse_json(capsys):
    assert cli.main(["plan", "parse", str(LIEN_MINH), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["number"] == "53/KH-UBLM" and d["issued_on"] == "2022-03-24"
    assert d["period_from"] == "2022-03-15" and d["period_to"] == "2022-12-31"
    assert [s["code"] for s in d["sections"]] == ["II.1", "II.2", "II.3", "II.4", "II.5"]
    assert set(d) >= {"issuer", "place", "title", "targets", "recipients", "signer"}
