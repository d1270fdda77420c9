"""A large CSV is imported a part at a time (issue 13.11: bounded memory). The
parts must give exactly what one read gives: the same crashes, counts, report
lines and date order, whatever the part size, with casualty rows of one crash
split across parts, the proof of the date order far down the file, blank lines,
a totals row, signatures, and duplicates and clashing ids in different parts."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

import cli
import settings
from geo.io import encode_cp1258
from services.backup import store_snapshot
from services.importing import commit_crashes, import_crash_csv, preview_crashes

# crash id → (m/d/yyyy date, time, km, metres, severities of its casualties, cause)
CRASHES = [
    ("V01", "02/05/2024", "13:28", 161, 600, ["Chết"], "Đi không đúng phần đường"),
    ("V02", "03/07/2024", "07:05", 160, 950, ["Bị thương nặng", "Bị thương nhẹ"], "Phóng nhanh"),
    ("V03", "04/01/2024", "18:40", 155, 200, ["Chết", "Chết", "Bị thương nhẹ"], "Sử dụng rượu bia"),
    ("V04", "05/06/2024", "22:10", 158, 100, ["Bị thương nhẹ"], "Vượt ẩu"),
    ("V05", "06/09/2024", "05:55", 159, 300, ["Bị thương nặng", "Chết"], "Không chú ý quan sát"),
    ("V06", "07/11/2024", "11:00", 157, 0, ["Bị thương nhẹ", "Bị thương nhẹ"], "Phóng nhanh"),
    ("V07", "08/25/2024", "16:45", 156, 450, ["Chết"], "Vượt ẩu"),  # the first proof: month first
    ("V08", "09/03/2024", "09:15", 154, 800, ["Bị thương nặng"], "Đi không đúng phần đường"),
]


def _per_casualty_csv() -> bytes:
    """A commune's CP1258 export: title rows, a blank line, one row per
    casualty, a blank line in the table, a totals row and signatures."""
    lines = [
        "BẢNG THỐNG KÊ NẠN NHÂN TNGT NĂM 2024",
        "(Kèm theo Báo cáo số 15/BC-CAX)",
        "",
        "STT,Mã vụ,Ngày xảy ra,Giờ,Địa điểm,Họ tên nạn nhân,Mức độ thương tích,Nguyên nhân",
    ]
    k = 0
    for cid, d, t, km, m, sev, cause in CRASHES:
        for j, s in enumerate(sev):
            k += 1
            lines.append(f'{k},{cid},{d},{t},"Km {km}+{m:03d} QL24",Nạn nhân {k},{s},{cause}')
        if cid == "V04":
            lines.append(",,,,,,,")
    lines += ["Tổng cộng,,,,,,,", "", "Người lập biểu,,,,,TRƯỞNG CÔNG AN XÃ,,"]
    return encode_cp1258("\r\n".join(lines) + "\r\n")


def _crash_table(store) -> pd.DataFrame:
    c = store.crashes_frame()
    c = c.loc[~c["is_simulated"].astype(bool)]  # the fixture's simulated crashes
    return (
        c[["source_id", "occurred_at", "deaths", "injured", "road_code", "chainage_m", "cause"]]
        .sort_values("source_id")
        .reset_index(drop=True)
    )


def _whole(store, path):
    prev = preview_crashes(store, path.read_bytes(), path.name)
    commit_crashes(store, prev, valid_only=True)
    return prev.result


def _lines(report: pd.DataFrame) -> set:
    return {(int(r.row), r.field, r.level, r.reason) for r in report.itertuples()}


@pytest.mark.parametrize("chunk_rows, worker", [(2, True), (3, True), (5, True), (1000, True), (2, False), (5, False)])
def test_parts_give_what_one_read_gives(ql24_store, ql24, tmp_path, chunk_rows, worker):
    """Read and checked in a worker process (or in this one, the write in a thread): the same crashes and report."""
    path = tmp_path / "nan_nhan.csv"
    path.write_bytes(_per_casualty_csv())
    report = tmp_path / "report.csv"
    out = import_crash_csv(ql24_store, path, report_path=report, chunk_rows=chunk_rows, worker=worker)
    got = _crash_table(ql24_store)

    # every crash as the file says it, read month first (proven on row of V07, far down)
    assert len(got) == len(CRASHES)
    for (cid, d, t, km, m, sev, cause), r in zip(CRASHES, got.to_dict("records")):
        assert r["source_id"] == cid
        assert r["occurred_at"] == datetime.strptime(f"{d} {t}", "%m/%d/%Y %H:%M")
        assert (r["deaths"], r["injured"]) == (sev.count("Chết"), len(sev) - sev.count("Chết"))
        assert r["road_code"] == "QL24"
        assert r["chainage_m"] == pytest.approx(km * 1000 + m)
        assert r["cause"] == cause
    n_casualty_rows = sum(len(c[5]) for c in CRASHES)
    assert (out.n_rows, out.n_crashes, out.n_valid, out.n_errors) == (n_casualty_rows, len(CRASHES), len(CRASHES), 0)
    assert out.date_order.order == "mdy" and out.date_order.proof == "proven"
    assert out.summary.n_imported == len(CRASHES)

    # the same file read whole, into another store, gives the same crashes and report
    from models.store import Store

    whole_store = Store(f"sqlite:///{tmp_path}/whole.sqlite")
    whole_store.add_roads(ql24, user="an")
    res = _whole(whole_store, path)
    pd.testing.assert_frame_equal(_crash_table(whole_store), got)
    written = pd.read_csv(report, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    written["row"] = written["row"].astype(int)
    assert _lines(written) == _lines(res.report)
    said = written.loc[written["field"] == "occurred_at", "reason"].tolist()
    row_v07 = 4 + sum(len(c[5]) for c in CRASHES[:6]) + 1 + 1  # header on line 4, a blank line after V04
    assert any(f"dòng {row_v07}" in s for s in said), said


def test_duplicates_and_clashing_ids_in_different_parts(ql24_store, tmp_path):
    rows = ["Mã vụ,Ngày giờ,Lý trình,Số người chết,Số người bị thương"]
    for i in range(12):
        rows.append(f"A{i:02d},{i + 1:02d}/03/2024 08:00,Km 150+{i * 50:03d} QL24,0,1")
    rows.append("A01,02/03/2024 08:00,Km 150+050 QL24,0,1")  # line 14: the same crash as line 3: a duplicate
    rows.append("A02,20/04/2024 09:00,Km 151+000 QL24,1,0")  # line 15: id of line 4, other content: an error
    path = tmp_path / "vu.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = import_crash_csv(ql24_store, path, report_path=tmp_path / "r.csv", chunk_rows=4)
    assert (out.n_rows, out.n_valid, out.n_errors) == (14, 12, 1)
    assert out.summary.n_imported == 12 and out.summary.n_duplicate_in_file == 1
    report = pd.read_csv(tmp_path / "r.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    dup = report.loc[report["row"] == "14"]
    assert dup["level"].tolist() == ["warning"] and dup["value"].tolist() == ["3"]
    clash = report.loc[report["row"] == "15"]
    assert clash["level"].tolist() == ["error"] and "dòng 4" in clash["reason"].iloc[0]
    assert sorted(_crash_table(ql24_store)["source_id"]) == [f"A{i:02d}" for i in range(12)]


def test_a_first_part_of_errors_only_does_not_stop_the_import(ql24_store, tmp_path):
    """A part whose every row is an error (no id or key to remember) was an
    IndexError in the check against earlier parts; the later parts import."""
    rows = ["Mã vụ,Ngày giờ,Lý trình,Số người chết,Số người bị thương"]
    rows += [f"E{i},ngày nào đó,Km 150+{i}00 QL24,0,1" for i in range(4)]  # lines 2-5: no date
    rows += [f"B{i},{i + 1:02d}/05/2024 08:00,Km 152+{i}00 QL24,0,1" for i in range(5)]
    path = tmp_path / "vu.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = import_crash_csv(ql24_store, path, report_path=tmp_path / "r.csv", chunk_rows=4)
    assert (out.n_rows, out.n_valid, out.n_errors) == (9, 5, 4)
    assert sorted(_crash_table(ql24_store)["source_id"]) == [f"B{i}" for i in range(5)]


@pytest.mark.parametrize("worker", [True, False])
def test_all_or_nothing_in_parts_leaves_the_store_unchanged(ql24_store, tmp_path, worker):
    rows = ["Mã vụ,Ngày giờ,Lý trình,Số người chết,Số người bị thương"]
    rows += [f"B{i},{i + 1:02d}/03/2024 08:00,Km 150+{i * 50:03d} QL24,0,1" for i in range(9)]
    rows.append("B9,31/02/2024 08:00,Km 150+900 QL24,0,1")  # the last part: an impossible date
    path = tmp_path / "vu.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = store_snapshot(ql24_store)
    out = import_crash_csv(
        ql24_store, path, report_path=tmp_path / "r.csv", chunk_rows=3, valid_only=False, worker=worker
    )
    assert out.rejected and out.summary is None and out.n_errors == 1
    assert store_snapshot(ql24_store) == before


def test_command_line_reads_a_large_csv_in_parts(ql24_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", ql24_store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr(settings, "STREAM_MB", 0)
    monkeypatch.setattr(settings, "CHUNK_ROWS", 3)
    path = tmp_path / "nan_nhan.csv"
    path.write_bytes(_per_casualty_csv())
    assert cli.main(["import", "crashes", str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"{sum(len(c[5]) for c in CRASHES)} dòng / rows → {len(CRASHES)} vụ / crashes" in out
    assert f"imported {len(CRASHES)}," in out
    assert "dòng đã đọc / rows read" in err  # progress while reading
    assert len(_crash_table(ql24_store)) == len(CRASHES)
    # once more: nothing new, no new batch
    assert cli.main(["import", "crashes", str(path)]) == 0
    assert "imported 0," in capsys.readouterr().out


def test_a_broken_large_file_is_one_line_naming_where_and_the_store_is_unchanged(
    ql24_store, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", ql24_store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr(settings, "STREAM_MB", 0)
    monkeypatch.setattr(settings, "CHUNK_ROWS", 3)
    rows = ["Mã vụ,Ngày giờ,Lý trình,Số người chết,Số người bị thương"]
    rows += [f"Q{i},{i + 1:02d}/03/2024 08:00,Km 150+{i * 50:03d} QL24,0,1" for i in range(8)]
    quote = rows[:6] + ['Q9,"09/03/2024 08:00,Km 150+900 QL24,0,1'] + rows[6:]  # line 7: a quote never closed
    before = store_snapshot(ql24_store)
    path = tmp_path / "ngoac.csv"
    path.write_text("\n".join(quote) + "\n", encoding="utf-8")
    assert cli.main(["import", "crashes", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dòng 7" in err[0] and "ngoặc kép" in err[0], err
    bad = tmp_path / "nhi_phan.csv"
    bad.write_bytes(("\n".join(rows[:4]) + "\n").encode("utf-8") + b"Q9,\x81\x8d\x8e\x8f,Km 1+0,0,1\n")
    assert cli.main(["import", "crashes", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mã ký tự" in err[0] and "Traceback" not in err[0], err
    assert store_snapshot(ql24_store) == before


def test_the_worker_process_checks_and_its_failure_rolls_back(ql24_store, tmp_path, monkeypatch):
    """The parts are checked in another process; an unexpected failure there
    (here in the third part) is raised here, the parts already written are
    rolled back, and no worker is left running."""
    import multiprocessing
    import os

    import services.importing as importing

    rows = ["Mã vụ,Ngày giờ,Lý trình,Số người chết,Số người bị thương"]
    rows += [f"W{i},{i + 1:02d}/03/2024 08:00,Km 150+{i * 50:03d} QL24,0,1" for i in range(9)]
    path = tmp_path / "vu.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    pids = tmp_path / "pids.txt"
    real = importing.validate_crashes

    def validate(table, **kw):
        with open(pids, "a") as f:
            f.write(f"{os.getpid()}\n")
        if "W6" in set(table.frame["Mã vụ"]):
            raise RuntimeError("hỏng / broken")
        return real(table, **kw)

    monkeypatch.setattr(importing, "validate_crashes", validate)
    before = store_snapshot(ql24_store)
    with pytest.raises(RuntimeError, match="hỏng"):
        import_crash_csv(ql24_store, path, report_path=tmp_path / "r.csv", chunk_rows=3, worker=True)
    assert store_snapshot(ql24_store) == before
    seen = set(pids.read_text().split())
    assert len(seen) == 1 and str(os.getpid()) not in seen  # one worker, not this process
    assert multiprocessing.active_children() == []

    monkeypatch.setattr(importing, "validate_crashes", real)
    out = import_crash_csv(ql24_store, path, report_path=tmp_path / "r.csv", chunk_rows=3, worker=True)
    assert out.summary.n_imported == 9 and sorted(_crash_table(ql24_store)["source_id"]) == [f"W{i}" for i in range(9)]


@pytest.mark.parametrize("chunk_rows", [2, 5, 1000])
def test_parts_read_by_arrow_give_what_pandas_parts_give(ql24, tmp_path, chunk_rows, monkeypatch):
    """A UTF-8 file in NFC without blank lines is read part by part by Arrow's
    reader (once its date column read whole by it shows every row fits); the
    same lines in Windows-1258 go through pandas: the same crashes, counts and
    report, row for row."""
    from geo.io import CsvParts, decode_text
    from models.store import Store

    text = decode_text(_per_casualty_csv())[0]
    text = "\r\n".join(line for line in text.split("\r\n") if line) + "\r\n"  # no blank line
    utf8, legacy = tmp_path / "utf8.csv", tmp_path / "cp1258.csv"
    utf8.write_bytes(text.encode("utf-8"))
    legacy.write_bytes(encode_cp1258(text))
    used = []
    real = CsvParts._arrow_parts
    monkeypatch.setattr(CsvParts, "_arrow_parts", lambda self, n: used.append(self.path.name) or real(self, n))
    got = {}
    for path in (utf8, legacy):
        store = Store(f"sqlite:///{tmp_path}/{path.stem}.sqlite")
        store.add_roads(ql24, user="an")
        out = import_crash_csv(
            store, path, report_path=tmp_path / f"{path.stem}.report.csv", chunk_rows=chunk_rows, worker=False
        )
        report = pd.read_csv(
            tmp_path / f"{path.stem}.report.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
        report["row"] = report["row"].astype(int)
        got[path.stem] = (
            _crash_table(store),
            (out.n_rows, out.n_crashes, out.n_valid, out.n_errors, out.n_skipped),
            _lines(report),
        )
    assert used and set(used) == {"utf8.csv"}
    pd.testing.assert_frame_equal(got["utf8"][0], got["cp1258"][0])
    assert len(got["utf8"][0]) == len(CRASHES)
    assert got["utf8"][1] == got["cp1258"][1] and got["utf8"][2] == got["cp1258"][2]
