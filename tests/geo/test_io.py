"""Reading files: encodings and formats, and a clear error for each bad file."""

from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from errors import InputFileError
from geo.io import encode_cp1258, read_table, safe_extract
from tests.conftest import SHARED

CSV = (
    "Ngày xảy ra,Lý trình,Tuyến đường,Xã,Số người chết,Số người bị thương\n"
    "05/02/2024,Km 145+200,QL24,Xã Đăk Tờ Re,1,0\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258"])
def test_csv_encodings_give_the_same_vietnamese_text(encoding):
    data = encode_cp1258(CSV) if encoding == "cp1258" else CSV.encode(encoding)
    t = read_table(data, filename="vu.csv")
    assert list(t.frame.columns) == [
        "Ngày xảy ra",
        "Lý trình",
        "Tuyến đường",
        "Xã",
        "Số người chết",
        "Số người bị thương",
    ]
    assert t.frame.loc[0, "Xã"] == "Xã Đăk Tờ Re"
    assert t.encoding == encoding


def test_semicolon_csv_is_sniffed():
    t = read_table(CSV.replace(",", ";").encode(), filename="vu.csv")
    assert t.frame.shape == (1, 6)


ROWS = [
    ["STT", "Ngày xảy ra", "Vị trí", "Phương tiện", "Số người chết"],
    ["1", "05/02/2024", "Km 161+600 QL24", "Xe máy", "1"],
    ["2", "17/03/2024", "Km 160+950 QL24", "Ô tô con", "0"],
]


@pytest.mark.parametrize("pad", [";\t", "\t;\t", ";\t\t", " \t; "], ids=["after", "around", "two-tabs", "mixed"])
def test_cells_padded_with_tabs_are_read_at_the_real_delimiter(pad):
    """Cells padded with tabs split as evenly at tabs as at the semicolons, and the table came out garbled
    (columns ";", ";.1"; cells "1;"): the delimiter under which the header reads best, leaving no other
    delimiter at a cell's edge, is taken."""
    text = "DANH SÁCH VỤ TNGT\n" + "\n".join(pad.join(r) for r in ROWS) + "\n"
    t = read_table(text.encode(), filename="vu.csv")
    assert list(t.frame.columns) == ROWS[0]
    assert t.frame.to_numpy().tolist() == ROWS[1:]


def test_a_tab_separated_file_with_semicolons_in_its_cells_stays_tab_separated():
    rows = [r[:3] + ["Xe máy; ô tô tải"] + r[4:] for r in ROWS[1:]]
    t = read_table("\n".join("\t".join(r) for r in [ROWS[0], *rows]).encode(), filename="vu.txt")
    assert list(t.frame.columns) == ROWS[0]
    assert t.frame.to_numpy().tolist() == rows


def test_xlsx_date_cells_come_out_unambiguous(tmp_path):
    """A date cell is a date, not text to guess the order of: it comes out ISO (year first)."""
    df = pd.DataFrame({"Ngày": [pd.Timestamp("2024-02-05"), pd.Timestamp("2024-02-06 13:28")], "Số người chết": [1, 0]})
    p = tmp_path / "vu.xlsx"
    df.to_excel(p, index=False)
    t = read_table(p)
    assert t.frame["Ngày"].tolist() == ["2024-02-05", "2024-02-06 13:28"]
    assert t.frame.loc[0, "Số người chết"] == "1"
    assert t.row_numbers.tolist() == [2, 3]


def test_geojson_gpkg_and_zipped_shapefile_read_real_roads(tmp_path):
    src = SHARED / "vietnam" / "kon_ray_roads_clip.geojson"
    g = read_table(src)
    assert g.fmt == "geojson" and len(g.geometry) == 1 and g.frame.loc[0, "ten"]
    gdf = gpd.read_file(src)
    gdf.to_file(tmp_path / "r.gpkg", driver="GPKG")
    assert read_table(tmp_path / "r.gpkg").geometry[0].equals_exact(g.geometry[0], 1e-9)
    gdf.to_file(tmp_path / "r.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for ext in ("shp", "shx", "dbf", "prj"):
            z.write(tmp_path / f"r.{ext}", f"r.{ext}")
        z.writestr("r.shp.xml", "<metadata><idinfo/></metadata>")  # ArcGIS's sidecar: read by nobody
        z.writestr("__MACOSX/._r.shp", b"\x00\x05\x16\x07")  # macOS's resource file beside it
    s = read_table(buf.getvalue(), filename="r.zip")
    assert s.fmt == "shp" and shapely.length(s.geometry[0]) == pytest.approx(shapely.length(g.geometry[0]))


def test_kml_placemarks():
    kml = b"""<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>
    <Placemark><name>Qu\xc3\xa1n n\xc6\xb0\xe1\xbb\x9bc</name><ExtendedData><Data name="loai"><value>kiot</value></Data>
    </ExtendedData><Point><coordinates>107.9,14.6,0</coordinates></Point></Placemark></Document></kml>"""
    t = read_table(kml, filename="lan_chiem.kml")
    assert t.frame.loc[0, "name"] == "Quán nước" and t.frame.loc[0, "loai"] == "kiot"
    assert (t.geometry[0].x, t.geometry[0].y) == (107.9, 14.6)


@pytest.mark.parametrize(
    "data,name,message",
    [
        (b"", "a.csv", "Tệp rỗng"),
        (b"  \n\n", "a.csv", "rỗng"),
        (b"a,b\n", "a.csv", "không có dòng"),
        (b"\x00\x01\x02\xff\xfe\x00garbage" * 10, "a.csv", "không phải văn bản"),
        (b"a,b\n\x81\x8d,1\n", "a.csv", "mã ký tự"),
        (b"x", "a.doc", "không được hỗ trợ"),
        (b"<kml xmlns='http://www.opengis.net/kml/2.2'><Document/></kml>", "a.kml", "không có placemark"),
        (b"<kml", "a.kml", "KML lỗi"),
        (b"not a zip", "a.zip", "zip hỏng"),
        (b"PK\x03\x04broken", "a.xlsx", "Excel"),
    ],
)
def test_bad_files_give_a_specific_message(data, name, message):
    with pytest.raises(InputFileError, match=message):
        read_table(data, filename=name)


def test_zip_without_shp():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "no shapefile here")
    with pytest.raises(InputFileError, match=r"không chứa tệp \.shp"):
        read_table(buf.getvalue(), filename="x.zip")


def test_zip_path_traversal_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../evil.shp", "x")
    with zipfile.ZipFile(buf) as z, pytest.raises(InputFileError, match="không an toàn"):
        safe_extract(z, tmp_path / "out")
    assert not (tmp_path / "evil.shp").exists()


def test_zip_bomb_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.shp", b"\0" * (5 * 1024 * 1024))
    with zipfile.ZipFile(buf) as z, pytest.raises(InputFileError, match="quá lớn"):
        safe_extract(z, tmp_path / "out", max_bytes=1024 * 1024)


def test_a_zip_of_very_many_entries_is_refused_before_any_is_written(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k in range(1001):
            z.writestr(f"e{k}.txt", b"")
    with zipfile.ZipFile(buf) as z, pytest.raises(InputFileError, match="too many entries \\(1001; at most 1000\\)"):
        safe_extract(z, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:  # sparse: 201 MB on paper, nothing on disk
        f.truncate(201 * 1024 * 1024)
    with pytest.raises(InputFileError, match="quá lớn"):
        read_table(big)


def test_a_csv_read_in_parts_is_composed_to_nfc_only_when_it_needs_it(tmp_path):
    """Checking the whole file for NFC while reading it for its encoding spares
    composing every cell of every part; a file in decomposed form (tones as
    combining marks, as Windows-1258 and some Mac tools write) is still composed."""
    import unicodedata

    from geo.io import csv_parts

    text = "Ngày,Xã,Số người chết\n05/02/2024,Xã Đăk Ruồng,1\n06/02/2024,Xã Tân Lập,0\n"
    composed, decomposed = tmp_path / "nfc.csv", tmp_path / "nfd.csv"
    composed.write_text(text, encoding="utf-8")
    decomposed.write_text(unicodedata.normalize("NFD", text), encoding="utf-8")
    a, b = csv_parts(composed), csv_parts(decomposed)
    assert a.nfc and not b.nfc
    for parts in (a, b):
        frame = pd.concat([t.frame for t in parts.tables(chunk_rows=1)], ignore_index=True)
        assert frame["Xã"].tolist() == ["Xã Đăk Ruồng", "Xã Tân Lập"]
        assert all(unicodedata.is_normalized("NFC", v) for v in frame["Xã"])


def test_arrows_csv_reader_gives_pandas_cells_or_steps_aside():
    """The whole-file CSV read goes through Arrow's reader (faster for text
    cells) only where it gives exactly pandas' cells: generated files with
    quotes, quoted line breaks, doubled quotes, separators in quotes, spaces,
    Vietnamese text, other delimiters, a final newline or none, cells padded
    with white space of every kind ``str.strip`` knows, trimmed as it trims.
    Where it would differ (a blank line, a row of another width) it steps
    aside (None)."""
    import io
    import random
    import warnings

    from geo.io import TRIMMED, _arrow_body

    rng = random.Random(3)
    cells = [
        "a",
        "",
        " b ",
        "Xã Đăk Ruồng",
        '"q,uoted"',
        '"multi\nline"',
        "1,5",
        '"say ""hi"""',
        "Km 12+300",
        "  ",
        "x;y",
        "\u3000Xã\xa0",
        "\x1c7\u2028",
        "\u200bA",  # a zero-width space is not white space: kept
    ]
    used = aside = 0
    for _ in range(800):
        width, sep = rng.randint(1, 5), rng.choice([",", ";", "\t"])
        rows = [sep.join(rng.choice(cells) for _ in range(width)) for _ in range(rng.randint(1, 8))]
        text = "\n".join(["BẢNG THỐNG KÊ", sep.join(f"h{k}" for k in range(width)), *rows])
        text += "\n" if rng.random() < 0.7 else ""
        got = _arrow_body(text, sep=sep, skip=2, width=width)
        if got is None:
            aside += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=None,
                names=range(width),
                skiprows=2,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                engine="c",
                index_col=False,
            )
        assert got.attrs[TRIMMED]
        want = want.map(str.strip)
        assert got.shape == want.shape and (got.to_numpy() == want.to_numpy()).all(), repr(text)
        used += 1
    assert used > 200 and aside > 200
    assert _arrow_body("T\nh1,h2\n1,2\n\n3,4\n", sep=",", skip=2, width=2) is None  # a blank line: pandas reads it
    assert _arrow_body("T\nh1,h2\n1,2\n3\n", sep=",", skip=2, width=2) is None  # a short row: pandas pads it


def test_arrow_cells_of_a_long_csv_are_pandas_cells_trimmed_and_repeated_ones_shared():
    """A column of few distinct cells (dates, road codes) becomes one Python string per distinct cell,
    shared by its rows; a column of many keeps one per row; both are pandas' cells, trimmed."""
    import io

    from geo.io import TRIMMED, _arrow_body

    n = 5000
    roads = [" QL 14", "ĐT\u3000675 ", "QL24", "\xa0QL40"]
    lines = [f"{roads[i % 4]},V{i} ,{i % 3}" for i in range(n)]
    text = "BẢNG\nTuyến,Mã,Chết\n" + "\n".join(lines) + "\n"
    got = _arrow_body(text, sep=",", skip=2, width=3)
    want = pd.read_csv(io.StringIO(text), sep=",", header=None, skiprows=2, dtype=str, keep_default_na=False)
    assert got.attrs[TRIMMED] and got.shape == (n, 3)
    assert (got.to_numpy() == want.map(str.strip).to_numpy()).all()
    assert got[0].iloc[:4].tolist() == ["QL 14", "ĐT\u3000675", "QL24", "QL40"]
    assert len({id(v) for v in got[0]}) == 4 and len({id(v) for v in got[2]}) == 3  # shared
    assert len({id(v) for v in got[1]}) == n


def test_arrow_trims_white_space_as_python_does():
    """Every code point at both ends of a letter: Arrow's trim and ``str.strip`` agree (the Arrow
    path trusts it; the check the reader makes at run time covers the white-space range only)."""
    import sys

    import pyarrow as pa
    import pyarrow.compute as pc

    from geo.io import _arrow_strips_as_python

    cells = [c + "x" + c for c in map(chr, range(sys.maxunicode + 1)) if not 0xD800 <= ord(c) <= 0xDFFF]
    trimmed = pc.utf8_trim_whitespace(pa.array(cells)).to_pylist()
    assert [c for c, t in zip(cells, trimmed) if t != c.strip()] == []
    assert _arrow_strips_as_python()


def test_one_column_of_a_large_csv_read_by_arrow_or_pandas_alike(tmp_path):
    """The date column a large import reads first (to decide the date order):
    by Arrow's reader for a UTF-8 file in NFC without blank lines, by pandas
    otherwise (a blank line, Windows-1258), the same cells and row numbers."""
    import unicodedata

    from geo.io import csv_parts, encode_cp1258

    rows = [
        f'V{i},{(i % 28) + 1:02d}/0{(i % 9) + 1}/2024 {i % 24:02d}:15,"Km {i}+100, QL24",{i % 3}' for i in range(1, 40)
    ]
    text = "BẢNG THỐNG KÊ\nMã vụ,Ngày giờ,Địa điểm,Số người chết\n" + "\n".join(rows) + "\n"
    plain, blank, legacy = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    plain.write_text(text, encoding="utf-8")
    blank.write_text(text.replace("\nV20,", "\n\nV20,"), encoding="utf-8")
    legacy.write_bytes(encode_cp1258(text))
    got = {}
    for path in (plain, blank, legacy):
        parts = csv_parts(path)
        assert (parts._arrow_column(1) is not None) == (path == plain)
        cells = [(v, int(n)) for s, ns in parts.column(1, chunk_rows=7) for v, n in zip(s, ns)]
        want = [
            (v, int(n))
            for t in parts.tables(chunk_rows=7, usecols=[1])
            for v, n in zip(t.frame.iloc[:, 0], t.numbers())
        ]
        assert cells == want and all(unicodedata.is_normalized("NFC", v) for v, _ in cells)
        got[path.name] = cells
    assert got["a.csv"][0] == ("02/02/2024 01:15", 3) and len(got["a.csv"]) == 39
    assert ("", 22) in got["b.csv"] and got["b.csv"][-1][1] == 42  # the blank line is a row and is counted


def test_a_header_wrapped_in_its_cells_is_found():
    """Excel's wrap text writes a header cell with a line break inside quotes ("Số người" / "chết"):
    the header is found whole, its columns recognised, and the rows under it read (found by a helper:
    the break was dropped, "Số ngườichết" recognised as nothing)."""
    from geo.columns import auto_map
    from geo.io import read_table

    text = (
        "BÁO CÁO TAI NẠN\n"
        'Mã vụ,Ngày xảy ra,"Số người\nchết","Số người\nbị thương"\n'
        "V1,15/03/2024,1,0\nV2,16/03/2024,0,2\n"
    )
    t = read_table(text.encode("utf-8"), filename="bao_cao.csv")
    mapped = auto_map(list(t.frame.columns))
    assert {"source_id", "occurred_at", "deaths", "injured"} <= set(mapped), t.frame.columns.tolist()
    assert t.frame[mapped["deaths"]].tolist() == ["1", "0"] and t.frame[mapped["injured"]].tolist() == ["0", "2"]
    assert t.frame[mapped["source_id"]].tolist() == ["V1", "V2"]


def _vrt(secret) -> str:
    """A GDAL virtual layer that reads ``secret`` (a server file) as a table of points."""
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="l"><SrcDataSource>CSV:{secret}</SrcDataSource>'
        f'<SrcSQL dialect="SQLITE">SELECT *, MakePoint(108.1, 14.6) AS geom FROM {secret.stem}</SrcSQL>'
        "</OGRVRTLayer></OGRVRTDataSource>"
    )


@pytest.mark.parametrize("name", ["roads.geojson", "roads.json", "roads.gpkg", "roads.zip"])
def test_a_map_file_holding_something_else_is_refused_before_gdal_reads_it(tmp_path, name):
    """GDAL picks its reader by content: a 'GeoJSON' holding a virtual layer (VRT) read any file on the server
    (or an address it can reach) into the table the import page shows. Uploads must begin as their format does
    (a Shapefile's own files too, in a zip)."""
    secret = tmp_path / "secret.csv"
    secret.write_text("name,value\nSECRET-ON-THE-SERVER,1\n")
    content = _vrt(secret).encode()
    if name.endswith(".zip"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for ext in (".shp", ".shx", ".dbf"):
                z.writestr("l" + ext, content)
        content = buf.getvalue()
    with pytest.raises(InputFileError, match="is not") as err:
        read_table(content, filename=name)
    assert "SECRET" not in str(err.value)


def test_gdal_reads_no_virtual_layer_and_no_remote_file_once_the_reader_is_loaded(tmp_path):
    """The same, one level down: with geo.io imported first (as every reading path does), GDAL has no
    virtual-layer reader even when called directly, and its network file system finds nothing."""
    import subprocess
    import sys

    secret = tmp_path / "secret.csv"
    secret.write_text("name,value\nSECRET-ON-THE-SERVER,1\n")
    vrt = tmp_path / "l.vrt"
    vrt.write_text(_vrt(secret))
    code = (
        "import geo.io, pyogrio, sys\n"
        "print('OGR_VRT' in pyogrio.list_drivers(), pyogrio.get_gdal_config_option('CPL_VSIL_CURL_ALLOWED_EXTENSIONS'))\n"
        f"try:\n    print(pyogrio.read_dataframe({str(vrt)!r}).to_csv())\nexcept Exception as e:\n    print('refused')\n"
    )
    from tests.conftest import ROOT

    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", ".no-remote-files", "refused"]


def test_a_cell_too_long_for_the_csv_reader_and_a_layer_without_geometry_are_said_not_raised(tmp_path):
    long = "Ngày;Mô tả\n05/02/2024;" + "x" * 200_000 + "\n"
    with pytest.raises(InputFileError, match="Malformed CSV"):
        read_table(long.encode(), filename="vu.csv")
    import pyogrio

    table_only = tmp_path / "attributes.gpkg"  # a GeoPackage table without geometry
    pyogrio.write_dataframe(pd.DataFrame({"a": [1, 2]}), table_only, driver="GPKG")
    with pytest.raises(InputFileError, match="The layer has no geometry"):
        read_table(table_only.read_bytes(), filename="roads.gpkg")


@pytest.mark.parametrize("kind", ["xlsx", "docx"])
def test_an_office_file_that_unpacks_into_a_bomb_is_refused_before_it_is_opened(kind):
    """A 100 kB workbook whose one cell unpacks to 100 MB took 1.7 GB and 21 s to read (500 MB: all the
    memory); a Word plan likewise. The parts' sizes are read from the zip's directory first."""
    from services.plan_parser import read_plan_text

    part = "xl/worksheets/sheet1.xml" if kind == "xlsx" else "word/document.xml"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(part, "<c><v>" + "A" * (30 << 20) + "</v></c>")
    data = buf.getvalue()
    assert len(data) < 100_000
    with pytest.raises(InputFileError, match=f"unpacks too large \\(31 MB; {part}\\)"):
        read_table(data, filename="vu.xlsx") if kind == "xlsx" else read_plan_text(data, "plan.docx")
