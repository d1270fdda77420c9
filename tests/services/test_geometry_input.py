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


def _units_file(rows: list[dict]) -> bytes:
    """A boundary file with the attribute columns ``rows`` give, one square a row."""
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": r, "geometry": {"type": "Polygon", "coordinates": SQUARE}}
                for r in rows
            ],
        }
    ).encode()


def test_the_national_portals_district_files_name_each_district():
    """Found in session 11: the national GIS portal's files (level1_id, province, level2_id, district) named
    every district by the first column, the province's code ("62")."""
    from tests.conftest import SHARED

    one = boundaries_from_table(read_table(SHARED / "vietnam" / "kon_ray_district.geojson"), level="district")
    assert one["name"].tolist() == ["Huyện Kon Rẫy"] and one["code"].tolist() == ["614"]
    assert one.attrs["report"] == []
    every = boundaries_from_table(read_table(SHARED / "vietnam" / "kontum_districts.geojson"), level="district")
    raw = json.loads((SHARED / "vietnam" / "kontum_districts.geojson").read_text(encoding="utf-8"))
    props = [f["properties"] for f in raw["features"]]
    assert every["name"].tolist() == [p["district"] for p in props]
    assert every["code"].tolist() == [p["level2_id"] for p in props]
    assert every["name"].nunique() == len(props) > 5
    # the same file taken as communes: no commune column, so the most varied text column, said so
    as_communes = boundaries_from_table(read_table(SHARED / "vietnam" / "kontum_districts.geojson"), level="commune")
    assert as_communes["name"].tolist() == [p["district"] for p in props]
    assert "«district»" in as_communes.attrs["report"][-1]


def test_the_2025_communes_and_other_publishers_headers():
    from tests.conftest import SHARED

    communes = boundaries_from_table(read_table(SHARED / "vietnam" / "2025" / "vn_communes_2025.gpkg"))
    assert len(communes) == 3321 and communes["code"].nunique() == 3321
    assert {"Xã Đăk Kôi", "Xã Kon Braih", "Xã Đức Minh"} <= set(communes["name"])
    assert not communes["name"].str.fullmatch(r"\d+").any()
    # GADM (NAME_1, NAME_2, GID_2) and OCHA (ADM1_VI, ADM2_VI, ADM2_PCODE): the level's own column
    gadm = _units_file([{"GID_2": "VNM.33.5_1", "NAME_1": "Kon Tum", "NAME_2": "Kon Rẫy"}])
    units = boundaries_from_table(read_table(gadm, filename="gadm.geojson"), level="district")
    assert units[["name", "code"]].values.tolist() == [["Kon Rẫy", "VNM.33.5_1"]]
    ocha = _units_file([{"ADM1_VI": "Hà Tĩnh", "ADM2_VI": "Đức Thọ", "ADM2_PCODE": "VN405"}])
    units = boundaries_from_table(read_table(ocha, filename="ocha.geojson"), level="district")
    assert units[["name", "code"]].values.tolist() == [["Đức Thọ", "VN405"]]
    units = boundaries_from_table(read_table(ocha, filename="ocha.geojson"), level="province")
    assert units["name"].tolist() == ["Hà Tĩnh"]
    # headers with tone marks and spaces, as typed in a spreadsheet exported to a shapefile
    typed = _units_file([{"Mã xã": "18244", "Tên xã": "Đức Minh"}])
    units = boundaries_from_table(read_table(typed, filename="xa.geojson"))
    assert units[["name", "code"]].values.tolist() == [["Đức Minh", "18244"]]


def test_a_boundary_file_with_only_codes_is_refused_plainly():
    only_codes = _units_file([{"id": 1, "ma": "001"}, {"id": 2, "ma": "002"}])
    from errors import InputFileError

    with pytest.raises(InputFileError) as err:
        boundaries_from_table(read_table(only_codes, filename="ma.geojson"))
    assert "không có cột tên đơn vị" in str(err.value) and "id, ma" in str(err.value)
