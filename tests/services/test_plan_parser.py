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
    assert {t["code"] for t in p.targets[1:]} == {
        "drink_driving",
        "very_serious",
        "no_especially_serious",
        "motorcycle",
        "remote_areas",
    }
    assert len(p.recipients) == 7 and p.recipients[0].startswith("Ban ATGT tỉnh")
    assert p.signer == "Thượng tá La Ngọc Đức" and p.signer_title.startswith("KT. TRƯỞNG BAN")


def test_lien_minh_plan_read_out_of_order():
    p = _parse(LIEN_MINH)
    assert (p.number, p.issued_on, p.place) == ("53/KH-UBLM", date(2022, 3, 24), "Liên Minh")
    assert p.issuer == "Ban An toàn giao thông xã Liên Minh"
    assert p.title == "Phát động phong trào thi đua bảo đảm trật tự an toàn giao thông năm 2022"
    assert (p.period_from, p.period_to) == (date(2022, 3, 15), date(2022, 12, 31))
    assert [s.code for s in p.sections] == [f"II.{i}" for i in range(1, 6)]
    assert p.sections[3].title == (
        "Đẩy mạnh công tác Tuần tra kiểm soát, xử lý vi phạm về TTATGT nhất là hành vi "
        "lấn chiếm, xây dựng vi phạm hành lang ATGT"
    )
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


PROVINCE_PASTED = """ỦY BAN NHÂN DÂN | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
TỈNH BÌNH ĐỊNH | Độc lập - Tự do - Hạnh phúc
------- | ---------------
Số: 45/KH-UBND | Bình Định, ngày 12 tháng 3 năm 2024

KẾ HOẠCH
Thực hiện công tác bảo đảm trật tự, an toàn giao thông
trên địa bàn tỉnh năm 2024

Căn cứ Nghị quyết số 48/NQ-CP ngày 05/4/2023 của Chính phủ;

I. MỤC ĐÍCH, YÊU CẦU
1. Kéo giảm tai nạn giao thông từ 5% đến 10% trên cả 03 tiêu chí so với năm 2023.
II. NHIỆM VỤ, GIẢI PHÁP
III. TỔ CHỨC THỰC HIỆN
Các sở, ngành, địa phương triển khai thực hiện kế hoạch này từ ngày 12/3/2024 đến ngày 31/12/2024.

Nơi nhận:
- Ủy ban An toàn giao thông quốc gia;
- Lưu: VT.
TM. ỦY BAN NHÂN DÂN
KT. CHỦ TỊCH
PHÓ CHỦ TỊCH
Nguyễn Tự Công Hoàng
"""

COMMUNE_WORD = """UBND XÃ ĐĂK KÔI
BAN AN TOÀN GIAO THÔNG
Số: 07/KH-BATGT
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Đăk Kôi, ngày 20 tháng 01 năm 2026
KẾ HOẠCH
Bảo đảm trật tự, an toàn giao thông năm 2026
Thực hiện Kế hoạch số 12/KH-BATGT của Ban An toàn giao thông tỉnh;
I. MỤC TIÊU
Kéo giảm từ 5% - 10% số vụ, số người chết, số người bị thương so với năm 2025.
II. NHIỆM VỤ
1. Tuyên truyền, phổ biến pháp luật về trật tự, an toàn giao thông.
2. Rà soát, xử lý điểm đen, điểm tiềm ẩn tai nạn giao thông trên QL24.
III. TỔ CHỨC THỰC HIỆN
Thời gian thực hiện: đến hết ngày 31/12/2026.
"""


def test_provincial_plan_pasted_from_a_legal_website():
    """A header broken over two lines and pasted with column separators, a two-line title, parts I–III
    with nothing numbered under II: issuer, number, date, place, title and period all read."""
    d = parse_plan(PROVINCE_PASTED)
    assert d.issuer == "Ủy ban nhân dân tỉnh Bình Định"
    assert d.number == "45/KH-UBND" and d.place == "Bình Định" and str(d.issued_on) == "2024-03-12"
    assert d.title == ("Thực hiện công tác bảo đảm trật tự, an toàn giao thông trên địa bàn tỉnh năm 2024")
    assert (str(d.period_from), str(d.period_to)) == ("2024-03-12", "2024-12-31")
    assert [s.code for s in d.sections] == ["I", "II", "III"]
    assert d.targets[0]["min_pct"] == 5 and d.targets[0]["max_pct"] == 10
    assert d.recipients[0].startswith("Ủy ban An toàn giao thông quốc gia")


def test_commune_plan_with_the_committee_in_its_header():
    d = parse_plan(COMMUNE_WORD)
    assert d.issuer == "Ban An toàn giao thông xã Đăk Kôi"
    assert d.number == "07/KH-BATGT" and d.place == "Đăk Kôi"
    assert d.title == "Bảo đảm trật tự, an toàn giao thông năm 2026"
    assert [s.code for s in d.sections] == ["II.1", "II.2"]
    assert str(d.period_to) == "2026-12-31"


def test_text_made_to_stall_the_patterns_reads_in_linear_time_and_a_huge_text_is_refused():
    """A plan's patterns were tried from every position of the text ("[^.;]*aim[^.;]*", a lazy number before
    a run of spaces, an issuer's name before one): a page without a full stop took seconds, 400 000 characters
    minutes to hours, holding the interpreter (every planner's page stalled). Each text below, a million
    characters, is parsed in a child process that must finish in a minute (the old code: an hour and more)."""
    import subprocess
    import sys

    from services.plan_parser import MAX_PLAN_CHARS
    from tests.conftest import ROOT

    n = 1_000_000
    texts = {
        "no stop": '"xyz " * (n // 4)',
        "number": '"Số: 12" + " " * n + "/KH"',
        "issuer": '"Ban an toàn giao thông tỉnh X" + " " * n + "y"',
        "issuers": '("Ban an toàn giao thông tỉnh X" + " " * 200) * (n // 230)',
    }
    code = f"from services.plan_parser import parse_plan\nn = {n}\n" + "".join(
        f"parse_plan({t})\nprint({k!r})\n" for k, t in texts.items()
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:4] == list(texts)
    assert parse_plan("Số: 12 / KH-BATGT\n").number == "12/KH-BATGT"
    with pytest.raises(InputFileError, match="too long"):
        parse_plan("x" * (MAX_PLAN_CHARS + 1))
