"""Crash files as police and commune offices make them, imported through the
command line into a store holding QL24: every crash checked for its count,
deaths, injured, date, time, road, chainage and commune."""

from __future__ import annotations

import io
import json
from datetime import datetime, time

import openpyxl
import pandas as pd
import pytest

import cli
from geo.io import encode_cp1258

# crash → (date, time, location, deaths, injured, cause, vehicles)
CRASHES = [
    ("05/02/2024", "13:28", "Km 161+600 QL24, xã Đăk Ruồng", 1, 0, "Đi không đúng phần đường", "Xe máy; ô tô tải"),
    ("17/03/2024", "07:05", "QL24 Km160+950 thôn 3, xã Tân Lập", 0, 2, "Phóng nhanh", "Xe máy"),
    ("30/10/2024", "18:40", "Km 155+200 QL24, TT Đăk Rve", 2, 1, "Sử dụng rượu bia", "Ô tô con; xe máy"),
]


@pytest.fixture
def store_env(ql24_store, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", ql24_store.engine.url.render_as_string(hide_password=False))
    return ql24_store


def _new_crashes(store, before: set) -> pd.DataFrame:
    c = store.crashes_frame()
    return c.loc[~c["id"].isin(before)].sort_values("occurred_at").reset_index(drop=True)


def _check(got: pd.DataFrame, expected=CRASHES):
    assert len(got) == len(expected)
    for (d, t, loc, deaths, injured, cause, _), r in zip(expected, got.to_dict("records")):
        assert r["occurred_at"] == datetime.strptime(f"{d} {t}", "%d/%m/%Y %H:%M")
        assert (r["deaths"], r["injured"]) == (deaths, injured)
        assert r["road_code"] == "QL24"
        km = loc.split("Km")[1].strip().split()[0].rstrip(",")
        assert r["chainage_m"] == pytest.approx(int(km.split("+")[0]) * 1000 + int(km.split("+")[1]), abs=0.5)
        written = loc.split(", ")[-1]  # "xã Đăk Ruồng", "TT Đăk Rve": kept with the unit word written out
        assert r["commune"] == written.replace("xã ", "Xã ").replace("TT ", "Thị trấn ")
        assert r["cause"] == cause


def _workbook(path, *, table_sheet_first=False):
    """The statistics workbook: a notes sheet, then the table with a title,
    a subtitle, a two-row merged header, column numbers, a totals row and
    signatures; dates and times as Excel cells."""
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Hướng dẫn"
    notes["A1"] = "Số liệu do Công an xã cung cấp"
    ws = wb.create_sheet("TNGT 2024", 0 if table_sheet_first else 1)
    ws["A1"] = "BẢNG THỐNG KÊ TNGT NĂM 2024"
    ws.merge_cells("A1:I1")
    ws["A2"] = "(Kèm theo Báo cáo số 15/BC-CAX ngày 05/01/2025)"
    ws.merge_cells("A2:I2")
    heads = [
        "STT",
        "Ngày xảy ra",
        "Giờ",
        "Địa điểm xảy ra",
        "Thiệt hại về người",
        None,
        "Nguyên nhân",
        "Phương tiện liên quan",
        "Ghi chú",
    ]
    for j, h in enumerate(heads, start=1):
        ws.cell(4, j, h)
    ws.cell(5, 5, "Số người chết")
    ws.cell(5, 6, "Số người bị thương")
    ws.merge_cells("E4:F4")
    for col in "ABCDGHI":
        ws.merge_cells(f"{col}4:{col}5")
    for j in range(1, 10):
        ws.cell(6, j, f"({j})")
    for i, (d, t, loc, deaths, injured, cause, veh) in enumerate(CRASHES):
        r = 7 + i
        ws.cell(r, 1, i + 1)
        ws.cell(r, 2, datetime.strptime(d, "%d/%m/%Y")).number_format = "dd/mm/yyyy"
        ws.cell(r, 3, time(*map(int, t.split(":")))).number_format = "hh:mm"
        ws.cell(r, 4, loc)
        ws.cell(r, 5, deaths)
        ws.cell(r, 6, injured)
        ws.cell(r, 7, cause)
        ws.cell(r, 8, veh)
    last = 7 + len(CRASHES)
    ws.cell(last, 1, "Tổng cộng")
    ws.merge_cells(f"A{last}:D{last}")
    ws.cell(last, 5, sum(c[3] for c in CRASHES))
    ws.cell(last, 6, sum(c[4] for c in CRASHES))
    ws.cell(last + 2, 2, "Người lập biểu")
    ws.cell(last + 2, 7, "TRƯỞNG CÔNG AN XÃ")
    ws.cell(last + 5, 2, "Nguyễn Văn Bình")
    ws.cell(last + 5, 7, "Đại úy Trần Văn Cường")
    wb.save(path)
    return last


def test_police_workbook_with_title_merged_header_totals_and_signatures(store_env, tmp_path, capsys):
    store = store_env
    before = set(store.crashes_frame()["id"])
    path = tmp_path / "thong_ke_tngt_2024.xlsx"
    last = _workbook(path)
    report = tmp_path / "bao_cao.csv"
    assert cli.main(["import", "crashes", str(path), "--report", str(report), "--all-or-nothing"]) == 0, (
        capsys.readouterr()
    )
    _check(_new_crashes(store, before))
    got = _new_crashes(store, before)
    assert got["vehicle_types"].tolist()[0] == "Xe máy; ô tô tải"
    rep = pd.read_csv(report, encoding="utf-8-sig")
    skipped = rep.loc[rep["level"] == "skipped"]
    # the column numbers, the totals row and the signature rows are "not a crash row", at their sheet rows
    assert {6, last, last + 2, last + 5} <= set(skipped["row"])
    assert (rep["level"] != "error").all()
    out = capsys.readouterr().out
    assert "TNGT 2024" in out  # the sheet the table was found on


def test_sheet_can_be_chosen(store_env, tmp_path, capsys):
    path = tmp_path / "tk.xlsx"
    _workbook(path)
    assert cli.main(["import", "crashes", str(path), "--sheet", "Hướng dẫn"]) == 2
    assert "Hướng dẫn" in capsys.readouterr().err
    assert cli.main(["import", "crashes", str(path), "--sheet", "TNGT 2024"]) == 0


def test_cp1258_csv_with_title_rows_serial_dates_and_vietnamese_times(store_env, tmp_path, capsys):
    store = store_env
    before = set(store.crashes_frame()["id"])
    serial = lambda d: (datetime.strptime(d, "%d/%m/%Y") - datetime(1899, 12, 30)).days  # noqa: E731
    times = {"13:28": "13 giờ 28", "07:05": "7h05", "18:40": "1840"}
    lines = [
        "DANH SÁCH VỤ TAI NẠN GIAO THÔNG",
        "Đơn vị: Công an xã",
        "",
        "STT;Ngày;Giờ;Vị trí;Số người chết;Số người bị thương;Nguyên nhân",
    ]
    for i, (d, t, loc, deaths, injured, cause, _) in enumerate(CRASHES, start=1):
        day = str(serial(d)) if i == 1 else d
        lines.append(f"{i};{day};{times[t]};{loc};{deaths};{injured};{cause}")
    lines += ["Cộng;;;;3;3;", ""]
    path = tmp_path / "vu_1258.csv"
    path.write_bytes(encode_cp1258("\r\n".join(lines)))
    assert cli.main(["import", "crashes", str(path), "--all-or-nothing"]) == 0, capsys.readouterr()
    _check(_new_crashes(store, before))


def test_one_row_per_casualty_becomes_one_crash(store_env, tmp_path, capsys):
    store = store_env
    before = set(store.crashes_frame()["id"])
    rows = [
        ("V01", "05/02/2024 13:28", "Km 161+600 QL24, xã Đăk Ruồng", "Tử vong", "Đi không đúng phần đường"),
        ("V02", "17/03/2024 07:05", "QL24 Km160+950 thôn 3, xã Tân Lập", "Bị thương nặng", "Phóng nhanh"),
        ("V02", "17/03/2024 07:05", "QL24 Km160+950 thôn 3, xã Tân Lập", "Bị thương nhẹ", "Phóng nhanh"),
        ("V03", "30/10/2024 18:40", "Km 155+200 QL24, TT Đăk Rve", "Chết", "Sử dụng rượu bia"),
        ("V03", "30/10/2024 18:40", "Km 155+200 QL24, TT Đăk Rve", "Chết", "Sử dụng rượu bia"),
        ("V03", "30/10/2024 18:40", "Km 155+200 QL24, TT Đăk Rve", "Bị thương", "Sử dụng rượu bia"),
    ]
    f = pd.DataFrame(rows, columns=["Mã vụ", "Thời gian", "Nơi xảy ra", "Mức độ thương tích", "Nguyên nhân"])
    f.insert(1, "Họ tên nạn nhân", [f"Nạn nhân {i}" for i in range(len(f))])
    path = tmp_path / "nan_nhan.csv"
    f.to_csv(path, index=False)
    assert cli.main(["import", "crashes", str(path), "--all-or-nothing"]) == 0, capsys.readouterr()
    assert "6 dòng / rows → 3 vụ / crashes" in capsys.readouterr().out
    got = _new_crashes(store, before)
    _check(got)
    assert got["source_id"].tolist() == ["V01", "V02", "V03"]


def test_month_first_file_is_read_month_first_and_said(store_env, tmp_path, capsys):
    store = store_env
    before = set(store.crashes_frame()["id"])
    f = pd.DataFrame(
        {
            "Date": [
                datetime.strptime(f"{d} {t}", "%d/%m/%Y %H:%M").strftime("%m/%d/%Y %H:%M") for d, t, *_ in CRASHES
            ],
            "Location": [c[2] for c in CRASHES],
            "Killed": [c[3] for c in CRASHES],
            "Injured": [c[4] for c in CRASHES],
            "Cause": [c[5] for c in CRASHES],
        }
    )
    path = tmp_path / "mdy.csv"
    f.to_csv(path, index=False)
    report = tmp_path / "r.csv"
    assert cli.main(["import", "crashes", str(path), "--report", str(report)]) == 0, capsys.readouterr()
    _check(_new_crashes(store, before))
    rep = pd.read_csv(report, encoding="utf-8-sig")
    assert rep["reason"].str.contains("tháng/ngày/năm").any()  # the order found is said


def test_no_proof_is_read_day_first_and_said_and_the_order_can_be_forced(store_env, tmp_path, capsys):
    store = store_env
    f = pd.DataFrame(
        {
            "Ngày": ["02/03/2024 08:00"],
            "Địa điểm": ["Km 150+000 QL24, xã Tân Lập"],
            "Số người chết": [0],
            "Số người bị thương": [1],
        }
    )
    path = tmp_path / "mo_ho.csv"
    f.to_csv(path, index=False)
    report = tmp_path / "r.csv"
    before = set(store.crashes_frame()["id"])
    assert cli.main(["import", "crashes", str(path), "--report", str(report)]) == 0
    assert _new_crashes(store, before)["occurred_at"].iloc[0] == datetime(2024, 3, 2, 8, 0)
    assert pd.read_csv(report, encoding="utf-8-sig")["reason"].str.contains("ngày/tháng/năm").any()
    f.assign(**{"Số người bị thương": [2]}).to_csv(path, index=False)
    before = set(store.crashes_frame()["id"])
    assert cli.main(["import", "crashes", str(path), "--date-order", "mdy"]) == 0
    assert _new_crashes(store, before)["occurred_at"].iloc[0] == datetime(2024, 2, 3, 8, 0)


def test_a_row_contradicting_the_proven_order_is_an_error(store_env, tmp_path, capsys):
    f = pd.DataFrame(
        {
            "Ngày": ["25/03/2024", "03/26/2024"],
            "Địa điểm": ["Km 150+000 QL24"] * 2,
            "Số người chết": [0, 0],
            "Số người bị thương": [1, 1],
        }
    )
    path = tmp_path / "tron.csv"
    f.to_csv(path, index=False)
    report = tmp_path / "r.csv"
    assert cli.main(["import", "crashes", str(path), "--report", str(report), "--all-or-nothing"]) == 1
    rep = pd.read_csv(report, encoding="utf-8-sig")
    err = rep.loc[rep["level"] == "error"]
    assert err["row"].tolist() == [3]


def test_corrected_reimport_updates_in_place(store_env, tmp_path, capsys):
    """An injured person later died: the crash is updated, not stored twice; old → new is in the history."""
    store = store_env
    f = pd.DataFrame(
        {
            "Mã vụ": ["V10", "V11"],
            "Ngày": ["05/02/2024 13:28", "06/02/2024 09:00"],
            "Địa điểm": ["Km 161+600 QL24, xã Đăk Ruồng", "Km 150+000 QL24, xã Tân Lập"],
            "Số người chết": [0, 0],
            "Số người bị thương": [2, 1],
        }
    )
    path = tmp_path / "lan1.csv"
    f.to_csv(path, index=False)
    n0 = store.crash_count()
    assert cli.main(["import", "crashes", str(path)]) == 0
    assert store.crash_count() == n0 + 2
    batches = len(store.batches_frame())
    assert cli.main(["import", "crashes", str(path)]) == 0  # unchanged: nothing, and no empty batch
    assert store.crash_count() == n0 + 2 and len(store.batches_frame()) == batches
    f.loc[0, ["Số người chết", "Số người bị thương"]] = [1, 1]
    f.to_csv(tmp_path / "lan2.csv", index=False)
    capsys.readouterr()
    assert cli.main(["import", "crashes", str(tmp_path / "lan2.csv")]) == 0
    assert "cập nhật / updated 1" in capsys.readouterr().out
    c = store.crashes_frame().set_index("source_id")
    assert store.crash_count() == n0 + 2 and (c.loc["V10", "deaths"], c.loc["V10", "injured"]) == (1, 1)
    hist = store.history("crash", int(c.loc["V10", "id"]))
    last = hist["changes"].iloc[-1]
    assert last["deaths"] == [0, 1] and last["injured"] == [2, 1]
    # the same id twice in one file with different content is a row error
    g = pd.concat([f.iloc[[1]], f.iloc[[1]].assign(**{"Số người bị thương": [3]})])
    g.to_csv(tmp_path / "lan3.csv", index=False)
    report = tmp_path / "r.csv"
    assert cli.main(["import", "crashes", str(tmp_path / "lan3.csv"), "--report", str(report), "--all-or-nothing"]) == 1
    rep = pd.read_csv(report, encoding="utf-8-sig")
    assert (rep.loc[rep["level"] == "error", "row"] == 3).any()


def test_mapping_on_the_command_line_and_in_a_profile(store_env, tmp_path, capsys):
    store = store_env
    f = pd.DataFrame(
        {
            "So hieu": ["A1"],
            "Khi nao": ["05/02/2024 13:28"],
            "Cho nao": ["Km 161+600 QL24"],
            "Xa": ["Đăk Ruồng"],
            "Tu vong": [1],
            "Thuong": [0],
            "Vi sao": ["Phóng nhanh"],
            "Khac": ["x"],
        }
    )
    path = tmp_path / "la.csv"
    f.to_csv(path, index=False)
    args = [
        "--map",
        "So hieu=id",
        "--map",
        "Khi nao=date",
        "--map",
        "Cho nao=location",
        "--map",
        "Xa=commune",
        "--map",
        "Tu vong=deaths",
        "--map",
        "Thuong=injured",
        "--map",
        "Vi sao=cause",
    ]
    report = tmp_path / "r.csv"
    assert cli.main(["import", "crashes", str(path), "--report", str(report), *args]) == 0, capsys.readouterr()
    c = store.crashes_frame().set_index("source_id")
    assert c.loc["A1", "cause"] == "Phóng nhanh" and c.loc["A1", "deaths"] == 1
    rep = pd.read_csv(report, encoding="utf-8-sig")
    assert rep["reason"].str.contains("Khac").any()  # the unmapped column is listed
    profile = tmp_path / "cong_an_xa.json"
    profile.write_text(json.dumps({"map": {a.split("=")[0]: a.split("=")[1] for a in args[1::2]}}), encoding="utf-8")
    f.assign(**{"So hieu": ["A2"]}).to_csv(path, index=False)
    assert cli.main(["import", "crashes", str(path), "--profile", str(profile)]) == 0
    assert "A2" in set(store.crashes_frame()["source_id"])
    assert cli.main(["import", "crashes", str(path), "--map", "Khong co=deaths"]) == 2
    assert cli.main(["import", "crashes", str(path), "--map", "So hieu=nonsense"]) == 2


def test_counts_are_whole_numbers_not_exponents(store_env, tmp_path):
    f = pd.DataFrame(
        {"Ngày": ["05/02/2024"], "Địa điểm": ["Km 150+000 QL24"], "Số người chết": ["1e2"], "Số người bị thương": [0]}
    )
    f.to_csv(tmp_path / "e.csv", index=False)
    report = tmp_path / "r.csv"
    assert cli.main(["import", "crashes", str(tmp_path / "e.csv"), "--report", str(report)]) == 1
    rep = pd.read_csv(report, encoding="utf-8-sig")
    assert (rep.loc[rep["level"] == "error", "field"] == "deaths").any()


def test_vn2000_with_x_as_northing_is_detected_and_said(store_env, tmp_path):
    """A surveyor's file: X is the northing, Y the easting (VN-2000 / TM-3 Kon Tum, EPSG:9216)."""
    from geo.crs import WGS84, transform

    store = store_env
    lon, lat = 107.93, 14.55
    e, n = transform([lon], [lat], WGS84, "EPSG:9216")
    f = pd.DataFrame(
        {
            "Ngày": ["05/02/2024 10:00"],
            "X": [round(n[0], 2)],
            "Y": [round(e[0], 2)],
            "Số người chết": [0],
            "Số người bị thương": [1],
        }
    )
    f.to_csv(tmp_path / "vn2000.csv", index=False)
    report = tmp_path / "r.csv"
    before = set(store.crashes_frame()["id"])
    assert cli.main(["import", "crashes", str(tmp_path / "vn2000.csv"), "--crs", "9216", "--report", str(report)]) == 0
    got = _new_crashes(store, before)
    assert got["lon"].iloc[0] == pytest.approx(lon, abs=1e-5) and got["lat"].iloc[0] == pytest.approx(lat, abs=1e-5)
    assert pd.read_csv(report, encoding="utf-8-sig")["reason"].str.contains("X").any()


def test_messages_name_the_options_to_use(store_env, tmp_path, capsys):
    f = pd.DataFrame(
        {"Ngày": ["05/02/2024"], "X": [1_600_000.0], "Y": [500_000.0], "Số người chết": [0], "Số người bị thương": [1]}
    )
    f.to_csv(tmp_path / "m.csv", index=False)
    assert cli.main(["import", "crashes", str(tmp_path / "m.csv")]) == 2
    assert "--crs" in capsys.readouterr().err
    g = pd.DataFrame(
        {"Ngày": ["05/02/2024"], "Kinh độ": [2.35], "Vĩ độ": [48.85], "Số người chết": [0], "Số người bị thương": [1]}
    )
    g.to_csv(tmp_path / "paris.csv", index=False)
    report = tmp_path / "r.csv"
    assert cli.main(["import", "crashes", str(tmp_path / "paris.csv"), "--report", str(report)]) == 1
    assert pd.read_csv(report, encoding="utf-8-sig")["reason"].str.contains("--bounds").any()


def test_workbook_through_the_preview_service_reports_rows_to_crashes(ql24_store):
    """The app's path (preview then commit) on the same workbook: the table, its sheet and the skipped rows."""
    from services.importing import commit_crashes, preview_crashes

    buf = io.BytesIO()
    _workbook(buf, table_sheet_first=True)
    prev = preview_crashes(ql24_store, buf.getvalue(), "tk.xlsx")
    assert prev.table.sheet == "TNGT 2024" and prev.result.n_rows == 3 and prev.result.n_errors == 0
    s = commit_crashes(ql24_store, prev, valid_only=False)
    assert s.n_imported == 3


def test_same_id_from_another_office_is_not_a_correction_and_undo_reverts_a_correction(store_env, tmp_path, capsys):
    """Police ids repeat between offices: without a named source, the same id with another day and place is
    another crash. Undoing a correcting batch puts the old values back."""
    store = store_env
    a = pd.DataFrame(
        {
            "Mã vụ": ["VU-01"],
            "Ngày": ["03/01/2025 10:00"],
            "Địa điểm": ["Km 161+600 QL24"],
            "Số người chết": [1],
            "Số người bị thương": [0],
        }
    )
    a.to_csv(tmp_path / "a.csv", index=False)
    assert cli.main(["import", "crashes", str(tmp_path / "a.csv")]) == 0
    b = pd.DataFrame(
        {
            "Mã vụ": ["VU-01"],
            "Ngày": ["09/09/2025 08:00"],
            "Địa điểm": ["Km 135+000 QL24"],
            "Số người chết": [0],
            "Số người bị thương": [1],
        }
    )
    b.to_csv(tmp_path / "b.csv", index=False)
    assert cli.main(["import", "crashes", str(tmp_path / "b.csv")]) == 0
    c = store.crashes_frame()
    vu = c.loc[c["source_id"] == "VU-01"].sort_values("occurred_at")
    assert len(vu) == 2 and vu["deaths"].tolist() == [1, 0]  # nothing overwritten
    # a real correction of the first (same day and place), then undone
    a.assign(**{"Số người chết": [2]}).to_csv(tmp_path / "a2.csv", index=False)
    capsys.readouterr()
    assert cli.main(["import", "crashes", str(tmp_path / "a2.csv")]) == 0
    assert "cập nhật / updated 1" in capsys.readouterr().out
    batch = int(store.batches_frame()["id"].max())
    first = int(vu["id"].iloc[0])
    assert store.crashes_frame().set_index("id").loc[first, "deaths"] == 2
    assert cli.main(["undo", str(batch)]) == 0
    assert store.crashes_frame().set_index("id").loc[first, "deaths"] == 1


def test_a_second_table_below_on_the_same_sheet_is_not_read_as_crashes(store_env, tmp_path):
    """Below the crash table, a second table (property-damage collisions) with its own title and header:
    its rows are 'another table', never crashes with the damage read as deaths."""
    path = tmp_path / "hai_bang.xlsx"
    last = _workbook(path, table_sheet_first=True)
    wb = openpyxl.load_workbook(path)
    ws = wb["TNGT 2024"]
    ws.delete_rows(last + 1, 10)  # drop the signatures: the second table follows the first
    start = last + 2
    ws.cell(start, 1, "Bảng 2: Các vụ va chạm chỉ thiệt hại tài sản")
    for j, h in enumerate(
        ["STT", "Ngày xảy ra", "Giờ", "Địa điểm xảy ra", "Thiệt hại tài sản (triệu đồng)", "Ghi chú"], start=1
    ):
        ws.cell(start + 1, j, h)
    ws.cell(start + 2, 1, 1)
    ws.cell(start + 2, 2, datetime(2024, 6, 1))
    ws.cell(start + 2, 4, "Km 150+000 QL24")
    ws.cell(start + 2, 5, 12)
    wb.save(path)
    report = tmp_path / "r.csv"
    before = set(store_env.crashes_frame()["id"])
    assert cli.main(["import", "crashes", str(path), "--report", str(report), "--all-or-nothing"]) == 0
    got = _new_crashes(store_env, before)
    assert len(got) == 3 and got["deaths"].max() == 2
    rep = pd.read_csv(report, encoding="utf-8-sig")
    assert {start, start + 1, start + 2} <= set(rep.loc[rep["level"] == "skipped", "row"])


def _metres_csv(path, chainages: list[str]) -> None:
    """The CSV a commune exports from Vietnamese Excel: semicolons, Windows-1258, road and chainage in
    metres in their own columns (Excel writes 161 600 as "161.600": a dot between thousands)."""
    lines = [
        "DANH SÁCH VỤ TAI NẠN GIAO THÔNG",
        "",
        "STT;Ngày;Giờ;Tuyến đường;Lý trình (m);Số người chết;Số người bị thương",
    ]
    for i, ((d, t, _, deaths, injured, _, _), ch) in enumerate(zip(CRASHES, chainages), start=1):
        lines.append(f"{i};{d};{t};QL24;{ch};{deaths};{injured}")
    path.write_bytes(encode_cp1258("\r\n".join(lines)))


@pytest.mark.parametrize(
    "written, metres, grouped",
    [
        (["161.600", "160.950", "155.200,5"], [161600.0, 160950.0, 155200.5], True),  # dots between thousands
        (["161600.5", "160950", "155200.25"], [161600.5, 160950.0, 155200.25], False),  # decimal dots
    ],
    ids=["thousands", "decimals"],
)
def test_chainage_in_metres_is_read_as_the_column_writes_it_and_said(
    store_env, tmp_path, capsys, written, metres, grouped
):
    """A chainage of 161 600 m written "161.600" was read as 161.6 m, silently, by the import and the file
    commands. The column decides: dots only ever before three digits are thousands (and said so)."""
    store = store_env
    before = set(store.crashes_frame()["id"])
    path = tmp_path / "ly_trinh_m.csv"
    _metres_csv(path, written)
    assert cli.main(["import", "crashes", str(path), "--all-or-nothing"]) == 0, capsys.readouterr()
    out = capsys.readouterr()
    got = _new_crashes(store, before)
    assert got["chainage_m"].tolist() == metres
    assert got["road_code"].tolist() == ["QL24"] * 3
    said = "142.372 là 142 372 m"
    assert (said in out.out + out.err) is grouped
    read = cli._read_crash_file(path)  # the file commands (blackspots, cluster, kde) read it the same way
    assert read["chainage_m"].tolist() == metres
    assert (said in capsys.readouterr().err) is grouped
