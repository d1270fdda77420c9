"""Roads, cases and boundaries with broken geometries: each feature is
repaired with a report line or refused with a plain message; the rest import."""

from __future__ import annotations

import json

import pytest
import shapely

import cli
from geo.io import read_table
from services.importing import boundaries_from_table, cases_from_table, roads_from_table

LINE = [[108.10, 14.40], [108.12, 14.41]]
BOWTIE = [[[108.0, 14.0], [108.1, 14.1], [108.1, 14.0], [108.0, 14.1], [108.0, 14.0]]]
SQUARE = [[[108.2, 14.2], [108.3, 14.2], [108.3, 14.3], [108.2, 14.3], [108.2, 14.2]]]


def _fc(*features) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"ten": name}, "geometry": {"type": t, "coordinates": c}}
                for name, t, c in features
            ],
        }
    ).encode()


ROADS = _fc(
    ("QL1 một điểm", "LineString", [[108.1, 14.4]]),
    ("QL2 ba chiều", "LineString", [[108.1, 14.4, 5.0], [108.2, 14.5, 6.0]]),
    ("QL3 trùng điểm", "LineString", [[108.1, 14.4], [108.1, 14.4]]),
    ("QL4 tốt", "LineString", LINE),
    ("QL5 vùng", "Polygon", SQUARE),
)


def test_roads_repaired_or_refused_one_by_one():
    roads = roads_from_table(read_table(ROADS, filename="duong.geojson"))
    assert roads["code"].tolist() == ["QL2", "QL4"]
    assert not any(shapely.has_z(roads["geometry"]))
    report = roads.attrs["report"]
    assert len(report) == 4
    assert "QL1 một điểm" in report[0] and "bỏ qua" in report[0]
    assert "QL2 ba chiều" in report[1] and "Z" in report[1] and "đã sửa" in report[1]
    assert "QL3 trùng điểm" in report[2] and "một điểm" in report[2]
    assert "QL5 vùng" in report[3]
    assert not any("Exception" in r or "GEOS" in r for r in report)


def test_boundaries_bowtie_repaired_and_lines_refused():
    units = boundaries_from_table(
        read_table(
            _fc(("Xã Nơ", "Polygon", BOWTIE), ("Xã Vuông", "Polygon", SQUARE), ("Đường", "LineString", LINE)),
            filename="xa.geojson",
        )
    )
    assert units["name"].tolist() == ["Xã Nơ", "Xã Vuông"]
    assert all(units["geometry"].map(lambda g: g.is_valid))
    assert units["geometry"].iloc[0].area == pytest.approx(0.005, rel=1e-6)  # both lobes of the bow-tie kept
    assert "tự cắt" in units.attrs["report"][0] and "self-intersecting" in units.attrs["report"][0]


def test_cases_with_broken_geometries():
    cases = cases_from_table(
        read_table(
            _fc(
                ("Lều", "Point", [108.1, 14.4]),
                ("Nhà nơ", "Polygon", BOWTIE),
                ("Mái 3D", "Point", [108.1, 14.4, 3.0]),
                ("Đường", "LineString", LINE),
            ),
            filename="lc.geojson",
        )
    )
    assert len(cases) == 3 and all(cases["geometry"].map(lambda g: g.is_valid and not g.has_z))
    assert len(cases.attrs["report"]) == 3  # bow-tie and 3-D repaired, the line refused


def test_nothing_usable_is_a_plain_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kho.sqlite'}")
    f = tmp_path / "hong.geojson"
    f.write_bytes(_fc(("QL1", "LineString", [[108.1, 14.4]])))
    assert cli.main(["import", "roads", str(f)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "QL1" in err and "no readable geometry" in err, err
    assert "GEOSException" not in err and "IllegalArgument" not in err and "Traceback" not in err
    g = tmp_path / "duong.geojson"
    g.write_bytes(ROADS)
    assert cli.main(["import", "roads", str(g)]) == 0
    out = capsys.readouterr()
    assert "Imported 2 roads" in out.out and out.err.count("  ! ") == 4


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["import", "crashes", "/no/such/file.csv"], "/no/such/file.csv"),
        (["import", "crashes", "{csv}", "--bounds", "105,abc"], "--bounds"),
        (["import", "crashes", "{csv}", "--bounds", "110,8,102,24"], "--bounds"),
        (["import", "crashes", "{csv}", "--report", "/proc/no/such/dir/r.csv"], "r.csv"),
        (["restore", "{csv}", "--force"], "bản sao lưu"),
        (["blackspots", "--crashes", "/no/such.csv", "--out", "x.csv"], "/no/such.csv"),
        (["plan", "parse", "/no/plan.docx"], "/no/plan.docx"),
        (["corridor", "check", "--roads", "/no/r.geojson", "--points", "/no/p.csv", "--out", "o.csv"], "/no/r.geojson"),
    ],
)
def test_every_cli_error_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, argv, needle):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kho.sqlite'}")
    csv = tmp_path / "vu.csv"
    csv.write_text("Mã vụ,Ngày giờ,Kinh độ,Vĩ độ,Số người chết,Số người bị thương\n1,01/02/2024,105.1,14.5,0,1\n")
    argv = [a.replace("{csv}", str(csv)) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err and "Traceback" not in err
