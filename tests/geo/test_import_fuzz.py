"""Fuzz test of the import (hypothesis).

Random bytes under every supported file name, and valid crash, road, boundary
and case files in every format (CSV UTF-8 / BOM / CP1258 / semicolons, XLSX,
GeoJSON, GeoPackage, zipped Shapefile, KML) mutated byte by byte, inside their
zip members, cell by cell or JSON node by JSON node. Whatever the bytes:

* reading, previewing and committing either work or raise one of the tool's
  own errors (:class:`errors.BlackspotError`), never a raw library exception;
* a refused file (preview or commit raises, ``--all-or-nothing`` with bad
  rows) leaves the store exactly as it was (:func:`services.backup.store_snapshot`);
* ``cli.py import crashes`` returns 0, 1 or 2 and never raises.

``BLACKSPOT_FUZZ_SCALE=10`` runs ten times as many examples (a deeper,
slower search); the default keeps the file well under a minute.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import cli
import settings
from errors import BlackspotError
from geo.io import encode_cp1258, read_table
from services.backup import store_snapshot
from services.importing import (
    boundaries_from_table,
    cases_from_table,
    commit_crashes,
    preview_crashes,
    roads_from_table,
)
from tests.conftest import HK_BOUNDS, SHARED

_SCALE = float(os.environ.get("BLACKSPOT_FUZZ_SCALE", "1") or 1)


def fuzz(n: int):
    """Hypothesis settings of one fuzz test: ``n`` examples (times the scale),
    no deadline (the first read of a format loads GDAL), module-scoped stores."""
    return hsettings(
        max_examples=max(1, int(n * _SCALE)),
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


EXTENSIONS = [".csv", ".txt", ".xlsx", ".geojson", ".json", ".gpkg", ".zip", ".kml"]
#: Starts of real files, so random bytes reach past each format's first check.
MAGICS = [
    b"",
    b"PK\x03\x04",
    b"PK\x05\x06" + b"\x00" * 18,
    b"SQLite format 3\x00",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"<?xml version='1.0'?><kml xmlns='http://www.opengis.net/kml/2.2'><Placemark>",
    b'{"type":"FeatureCollection","features":[',
    "Ngày,Số người chết,Kinh độ,Vĩ độ\n".encode(),
]

HOSTILE = [
    "",
    " ",
    "nan",
    "NaN",
    "NULL",
    "None",
    "NaT",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "-1e308",
    "1e309",
    "-0",
    "-0.0",
    "0x1F",
    "1,5",
    "1.234.567",
    "1 234",
    "12,345,678",
    "1.000,5",
    "9" * 400,
    "x" * 5000,
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    '=HYPERLINK("http://x")',
    "31/02/2024",
    "29/02/2023",
    "00/00/0000",
    "45534",
    "45534.5",
    "2024-13-45",
    "05/02/2024 25:61",
    "01/01/1900",
    "01/01/1677",
    "31/12/9999",
    "12/04/2262",
    "05/02/24",
    "11/04/2262",
    "11/04/2262 23:59",
    "23:59",
    "25:00",
    "7h30",
    "Km 105+500",
    "Km 99999999999999999999+5",
    "Km 1+99999999999999999999999",
    "999999999999999999999",
    "QL24",
    "Quốc lộ 24",
    "ĐT 552",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "\u200b",
    "🚗",
    "Xã Đăk Tờ Re",
    "\r\n",
    "\n\n",
    '"',
    '""',
    "'",
    ";",
    ",",
    "\t",
    "|",
    "501",
    "1.5",
    "1e3",
    "1_000",
    "٣",
    "１２",
    "True",
    "x",
    "<b>",
    "&amp;",
    "]]>",
    "\\",
    "%s%n",
    "${x}",
    "Không",
    "có",
]


def cell_values():
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.datetimes().map(lambda d: d.strftime("%d/%m/%Y %H:%M")),
    )


#: A header edit: a new name, or a variant of another column's header (which
#: may collide with it once spaces are trimmed and accents composed).
HEADER_EDIT = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "Unnamed: 0",
            "Ngày giờ",
            "Số người chết",
            "Kinh độ",
            "Lý trình",
            "x",
            "y",
            "id",
            "0",
            "geometry",
            "Giờ",
            "ly_trinh",
        ]
    ),
    st.text(max_size=12),
    st.tuples(st.integers(0, 15), st.sampled_from(["{} ", " {}", "{}\t", "NFD", "UPPER", "{}.1", "{}_2"])),
)


def header_variant(cols: list[str], edit) -> str:
    if isinstance(edit, str):
        return edit
    other, how = edit
    name = cols[other % len(cols)]
    if how == "NFD":
        return unicodedata.normalize("NFD", name)
    return name.upper() if how == "UPPER" else how.format(name)


# ----------------------------------------------------------------------------- mutations of bytes
_INSERTS = [
    b"\x00",
    b"\xff",
    b",",
    b";",
    b"\t",
    b'"',
    b"\n",
    b"\r",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"{",
    b"}",
    b"[",
    b"]",
    b"<",
    b">",
    b"&",
    b"'",
    b"-",
    b"e308",
    b"9" * 30,
    b"NaN",
    b"Infinity",
    b"\xc3",
    b"\xe1\xba",
    "Đ".encode(),
    b"null",
    b"<Placemark>",
    b"</coordinates>",
    b",,,,",
    b'"type":"Polygon"',
]
_POS = st.integers(min_value=0, max_value=1 << 20)
BYTE_OP = st.one_of(
    st.tuples(st.just("flip"), _POS, st.integers(0, 7)),
    st.tuples(st.just("set"), _POS, st.integers(0, 255)),
    st.tuples(st.just("insert"), _POS, st.one_of(st.sampled_from(_INSERTS), st.binary(min_size=1, max_size=16))),
    st.tuples(st.just("delete"), _POS, st.integers(1, 64)),
    st.tuples(st.just("truncate"), _POS),
    st.tuples(st.just("duplicate"), _POS, st.integers(1, 512), _POS),
)
BYTE_OPS = st.lists(BYTE_OP, min_size=1, max_size=4)


def mutate(data: bytes, ops) -> bytes:
    """Apply byte mutations; positions wrap around the current length."""
    b = bytearray(data)
    for op in ops:
        kind, n = op[0], len(b)
        pos = op[1] % (n + 1)
        if kind == "insert":
            b[pos:pos] = op[2]
        elif n == 0:
            continue
        elif kind == "flip":
            b[pos % n] ^= 1 << op[2]
        elif kind == "set":
            b[pos % n] = op[2]
        elif kind == "delete":
            del b[pos : pos + op[2]]
        elif kind == "truncate":
            del b[pos:]
        elif kind == "duplicate":
            chunk = bytes(b[pos : pos + op[2]])
            at = op[3] % (n + 1)
            b[at:at] = chunk
    return bytes(b)


def mutate_zip_member(data: bytes, member: int, ops) -> bytes:
    """Mutate the bytes of one member of a zip (xlsx, zipped shapefile) and zip
    it again, so the damage reaches the parser instead of the zip CRC check."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        infos = zin.infolist()
        target = infos[member % len(infos)].filename
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in infos:
                body = zin.read(info.filename)
                zout.writestr(info.filename, mutate(body, ops) if info.filename == target else body)
    return out.getvalue()


#: CRS names a GeoJSON "crs" member may carry: usual, projected, geocentric,
#: vertical, unknown, and not of the Earth.
CRS_NAMES = [
    "EPSG:4326",
    "urn:ogc:def:crs:OGC:1.3:CRS84",
    "EPSG:3405",
    "EPSG:9216",
    "EPSG:3857",
    "EPSG:4978",
    "EPSG:5773",
    "EPSG:4979",
    "urn:ogc:def:crs:EPSG::9999",
    "IAU_2015:30100",
    "IAU_2015:49900",
    "ESRI:53077",
    "EPSG:32761",
    "+proj=longlat +R=1",
    'ENGCRS["x"]',
    "",
]

JSON_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HOSTILE),
        st.text(max_size=12),
        st.sampled_from(
            ["Point", "LineString", "Polygon", "MultiPolygon", "GeometryCollection", "Feature", "FeatureCollection"]
        ),
        st.sampled_from(CRS_NAMES),
    ),
    lambda c: st.one_of(
        st.lists(c, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(["type", "coordinates", "geometry", "properties", "features", "crs", "name"]),
                st.text(max_size=6),
            ),
            c,
            max_size=3,
        ),
    ),
    max_leaves=10,
)
JSON_OP = st.tuples(
    st.sampled_from(["replace", "delete", "duplicate", "crs"]), st.booleans(), st.integers(0, 1 << 16), JSON_VALUE
)
JSON_OPS = st.lists(JSON_OP, min_size=1, max_size=3)


def _json_paths(node, path=(), *, structure: bool):
    """Paths to the nodes of a JSON document: with ``structure`` only those
    outside coordinate arrays (members, features, properties, the CRS), else
    the coordinates too (which outnumber everything else)."""
    yield path
    if structure and path and path[-1] == "coordinates":
        return
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _json_paths(v, path + (k,), structure=structure)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _json_paths(v, path + (i,), structure=structure)


def mutate_json(data: bytes, ops) -> bytes:
    """Replace, delete or duplicate nodes of a JSON document (NaN and Infinity
    written as such): the file stays JSON, its meaning goes wrong."""
    doc = json.loads(data)
    for kind, structure, pick, value in ops:
        if kind == "crs" and isinstance(doc, dict):  # the file declares another CRS
            doc["crs"] = {"type": "name", "properties": {"name": CRS_NAMES[pick % len(CRS_NAMES)]}}
            continue
        paths = [p for p in _json_paths(doc, structure=structure) if p]
        if not paths:
            doc = value
            continue
        path = paths[pick % len(paths)]
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        if kind in ("replace", "crs"):
            parent[key] = value
        elif kind == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(parent[key])))
        else:
            parent[str(key) + "_"] = parent[key]
    return json.dumps(doc, ensure_ascii=bool(pick % 2)).encode()


# ----------------------------------------------------------------------------- valid seed files
HK_BOUNDS_ARG = ",".join(map(str, HK_BOUNDS))
GEO_NAMES = {
    "Mã vụ": "id",
    "Ngày giờ": "date",
    "Số người chết": "deaths",
    "Số người bị thương": "injured",
    "Tuyến đường": "road",
    "Lý trình": "ly_trinh",
    "Xã phường": "xa",
    "Có nồng độ cồn": "ruou_bia",
    "Giờ xảy ra": "gio",
}
TABULAR_FORMATS = ["csv", "csv-bom", "csv-cp1258", "csv-semicolon", "xlsx", "xlsx-typed"]
GEO_FORMATS = ["geojson", "gpkg", "shp.zip", "kml"]
FORMATS = TABULAR_FORMATS + GEO_FORMATS
SUFFIX = {
    "csv": ".csv",
    "csv-bom": ".csv",
    "csv-cp1258": ".txt",
    "csv-semicolon": ".csv",
    "xlsx": ".xlsx",
    "xlsx-typed": ".xlsx",
    "geojson": ".geojson",
    "gpkg": ".gpkg",
    "shp.zip": ".zip",
    "kml": ".kml",
}


def _hk_rows(hk_slice, n=8) -> pd.DataFrame:
    """Real Hong Kong crashes inside HK_BOUNDS, two of them broken on purpose."""
    f = hk_slice.frame.head(60)
    f = f.loc[pd.to_numeric(f["Kinh độ"], errors="coerce").between(113.8, 114.5)].head(n).reset_index(drop=True)
    f.loc[3, "Số người chết"] = "-1"
    f.loc[5, "Ngày giờ"] = "31/02/2019"
    return f


def _vn_rows(ql24) -> pd.DataFrame:
    """Hand-written crashes on QL24 (Kon Rẫy): by coordinates, by chainage, one
    on an unknown road, one with no such date; a separate time column."""
    line = ql24["geometry"].iloc[0]
    a, b = line.interpolate(0.3, normalized=True), line.interpolate(0.6, normalized=True)
    rows = [
        [
            "VN-1",
            "05/02/2024 14:30",
            f"{a.x:.6f}",
            f"{a.y:.6f}",
            "1",
            "0",
            "QL24",
            "",
            "Xã Đăk Ruồng",
            "có",
            "15.000.000",
            "12",
            "",
        ],
        ["VN-2", "12/03/2024", "", "", "0", "2", "Quốc lộ 24", "Km 140+250", "Xã Tân Lập", "không", "", "", "08:15"],
        ["VN-3", "2024-04-01 07:15", "", "", "0", "1", "", "Km 145+100 QL24", "Xã Đăk Tờ Re", "", "2000000", "", ""],
        ["VN-4", "31/02/2024", f"{b.x:.6f}", f"{b.y:.6f}", "0", "1", "", "", "", "", "", "", "7h30"],
        ["VN-5", "20/05/2023", f"{b.x + 0.01:.6f}", f"{b.y:.6f}", "2", "3", "", "", "Xã Đăk Pne", "x", "", "150", ""],
        ["VN-6", "01/06/2024", "", "", "0", "0", "ĐT 675", "Km 5+000", "", "", "", "", "23:00"],
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "Mã vụ",
            "Ngày giờ",
            "Kinh độ",
            "Vĩ độ",
            "Số người chết",
            "Số người bị thương",
            "Tuyến đường",
            "Lý trình",
            "Xã phường",
            "Có nồng độ cồn",
            "Thiệt hại tài sản",
            "Tổng tỷ lệ tổn thương",
            "Giờ xảy ra",
        ],
    )


def _typed_cell(v: str):
    """What Excel would hold for a cell typed by hand: numbers and dates as such."""
    try:
        return pd.to_datetime(v, format="%d/%m/%Y %H:%M").to_pydatetime()
    except (ValueError, OverflowError):
        pass
    try:
        x = float(v.replace(",", "."))
        return x if np.isfinite(x) else v
    except ValueError:
        return v


def encode(fmt: str, frame: pd.DataFrame) -> bytes:
    """A crash table written in one of the supported formats (what a user would send)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if fmt.startswith("csv"):
        text = frame.to_csv(index=False, sep=";" if fmt == "csv-semicolon" else ",")
        if fmt == "csv-cp1258":
            try:
                return encode_cp1258(text)
            except UnicodeEncodeError:  # emoji and the like have no CP1258 form
                return text.encode("utf-8")
        return text.encode("utf-8-sig" if fmt == "csv-bom" else "utf-8")
    if fmt.startswith("xlsx"):
        f = frame.map(lambda v: ILLEGAL_CHARACTERS_RE.sub("", str(v)))
        f.columns = [ILLEGAL_CHARACTERS_RE.sub("", str(c)) for c in f.columns]
        if fmt == "xlsx-typed":
            f = f.map(_typed_cell)
        buf = io.BytesIO()
        f.to_excel(buf, index=False)
        return buf.getvalue()
    lon = pd.to_numeric(frame["Kinh độ"], errors="coerce").to_numpy() if "Kinh độ" in frame else np.nan
    lat = pd.to_numeric(frame["Vĩ độ"], errors="coerce").to_numpy() if "Vĩ độ" in frame else np.nan
    lon, lat = np.broadcast_to(lon, len(frame)), np.broadcast_to(lat, len(frame))
    ok = np.isfinite(lon) & np.isfinite(lat)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    props = frame[[c for c in frame.columns if c in GEO_NAMES]].rename(columns=GEO_NAMES)
    props = props.map(lambda v: str(v).replace("\x00", ""))  # OGR strings end at NUL
    if fmt == "kml":

        def text(v):
            return xml_escape(ILLEGAL_CHARACTERS_RE.sub("", str(v)))

        marks = []
        for i, r in enumerate(props.to_dict("records")):
            data = "".join(f"<Data name='{text(k)}'><value>{text(v)}</value></Data>" for k, v in r.items())
            point = f"<Point><coordinates>{lon[i]},{lat[i]}</coordinates></Point>" if ok[i] else ""
            marks.append(
                f"<Placemark><name>{text(r.get('id', ''))}</name><ExtendedData>{data}</ExtendedData>{point}</Placemark>"
            )
        return (
            f"<?xml version='1.0' encoding='UTF-8'?><kml xmlns='http://www.opengis.net/kml/2.2'><Document>"
            f"{''.join(marks)}</Document></kml>"
        ).encode()
    gdf = gpd.GeoDataFrame(props, geometry=list(geoms), crs=4326)
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "geojson":
            gdf.to_file(Path(tmp) / "vu.geojson", driver="GeoJSON")
            return (Path(tmp) / "vu.geojson").read_bytes()
        if fmt == "gpkg":
            gdf.to_file(Path(tmp) / "vu.gpkg", driver="GPKG")
            return (Path(tmp) / "vu.gpkg").read_bytes()
        gdf.to_file(Path(tmp) / "vu.shp", encoding="utf-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(Path(tmp).iterdir()):
                z.write(f, f.name)
        return buf.getvalue()


class Seeds(dict):
    """Seed files or frames; a short repr, so a falsifying example stays readable."""

    def __repr__(self):
        return f"<seeds {', '.join(self)}>"


@pytest.fixture(scope="module")
def frames(hk_slice, ql24):
    return Seeds({"hk": (_hk_rows(hk_slice), HK_BOUNDS), "vn": (_vn_rows(ql24), settings.VIETNAM_BOUNDS)})


@pytest.fixture(scope="module")
def seeds(frames):
    """name → (file name, bytes, bounds): each seed crash table in each format."""
    out = Seeds()
    for base, (frame, bounds) in frames.items():
        for fmt in FORMATS:
            out[f"{base}-{fmt}"] = (f"vu{SUFFIX[fmt]}", encode(fmt, frame), bounds)
    return out


SEED_NAMES = [f"{b}-{f}" for b in ("hk", "vn") for f in FORMATS]


def _preload(store, seeds):
    """Import the seed crash files once, so the store holds rows a broken import could damage."""
    for name in ("hk-csv", "vn-csv"):
        filename, data, bounds = seeds[name]
        commit_crashes(store, preview_crashes(store, data, filename, bounds=bounds), valid_only=True)


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory, ql24, seeds):
    """A store with QL24 and a few crashes, for the previews and commits."""
    from models.store import Store

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'x.sqlite'}")
    store.add_roads(ql24, user="fuzz")
    _preload(store, seeds)
    assert store.crash_count() > 0
    return store


# ----------------------------------------------------------------------------- the checks
def tool_errors_only(fn, *args, **kwargs):
    """Call ``fn``; the tool's own errors are a fine answer (returns None), any
    other exception fails the test with hypothesis's smallest input."""
    try:
        return fn(*args, **kwargs)
    except BlackspotError:
        return None


def import_file(store, data: bytes, filename: str, bounds, *, valid_only: bool = True) -> str:
    """Preview then commit a file; returns ``"refused"`` or ``"imported"``.
    Raises whatever escapes that is not a :class:`BlackspotError`."""
    prev = tool_errors_only(preview_crashes, store, data, filename, bounds=bounds)
    if prev is None:
        return "refused"
    assert prev.result.n_rows == len(prev.table.frame)
    assert len(prev.result.rows) == prev.result.n_rows
    summary = tool_errors_only(commit_crashes, store, prev, valid_only=valid_only)
    return "refused" if summary is None else "imported"


@fuzz(150)
@given(ext=st.sampled_from(EXTENSIONS), magic=st.sampled_from(MAGICS), body=st.binary(max_size=2048))
def test_random_bytes_give_only_the_tools_errors(fuzz_store, ext, magic, body):
    data = magic + body
    tool_errors_only(read_table, data, filename=f"tep{ext}")
    tool_errors_only(preview_crashes, fuzz_store, data, f"tep{ext}")


@fuzz(150)
@given(
    seed=st.sampled_from(SEED_NAMES),
    inner=st.booleans(),
    member=st.integers(0, 64),
    ops=BYTE_OPS,
    valid_only=st.booleans(),
)
def test_mutated_files_preview_and_commit_give_only_the_tools_errors(
    fuzz_store, seeds, seed, inner, member, ops, valid_only
):
    filename, data, bounds = seeds[seed]
    if inner and data.startswith(b"PK"):
        data = mutate_zip_member(data, member, ops)
    else:
        data = mutate(data, ops)
    import_file(fuzz_store, data, filename, bounds, valid_only=valid_only)


@fuzz(120)
@given(
    base=st.sampled_from(["hk", "vn"]),
    fmt=st.sampled_from(FORMATS),
    edits=st.lists(st.tuples(st.integers(0, 63), st.integers(0, 15), cell_values()), min_size=1, max_size=6),
    headers=st.lists(st.tuples(st.integers(0, 15), HEADER_EDIT), max_size=3),
    valid_only=st.booleans(),
)
def test_hostile_cell_values_give_only_the_tools_errors(fuzz_store, frames, base, fmt, edits, headers, valid_only):
    frame, bounds = frames[base]
    frame = frame.copy()
    for r, c, value in edits:
        frame.iat[r % len(frame), c % frame.shape[1]] = value
    cols = list(frame.columns)
    for c, edit in headers:
        cols[c % len(cols)] = header_variant(list(frame.columns), edit)
    frame.columns = cols
    if fmt in GEO_FORMATS and frame.columns.duplicated().any():
        frame = frame.loc[:, ~frame.columns.duplicated()]
    data = encode(fmt, frame)
    import_file(fuzz_store, data, f"vu{SUFFIX[fmt]}", bounds, valid_only=valid_only)


@fuzz(80)
@given(
    seed=st.sampled_from(SEED_NAMES),
    inner=st.booleans(),
    member=st.integers(0, 64),
    ops=BYTE_OPS,
    valid_only=st.booleans(),
)
def test_a_refused_file_leaves_the_store_unchanged(fuzz_store, seeds, seed, inner, member, ops, valid_only):
    filename, data, bounds = seeds[seed]
    data = mutate_zip_member(data, member, ops) if inner and data.startswith(b"PK") else mutate(data, ops)
    before = store_snapshot(fuzz_store)
    if import_file(fuzz_store, data, filename, bounds, valid_only=valid_only) == "refused":
        assert store_snapshot(fuzz_store) == before


def test_all_or_nothing_refusal_leaves_the_store_unchanged(fuzz_store, seeds):
    """The seed files have invalid rows on purpose: all-or-nothing imports none of them."""
    for name in SEED_NAMES:
        filename, data, bounds = seeds[name]
        before = store_snapshot(fuzz_store)
        prev = preview_crashes(fuzz_store, data, filename, bounds=bounds)
        assert prev.result.n_errors > 0, name
        with pytest.raises(BlackspotError):
            commit_crashes(fuzz_store, prev, valid_only=False)
        assert store_snapshot(fuzz_store) == before


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory, ql24, seeds):
    from models.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz_cli') / 'kho.sqlite'}"
    store = Store(url)
    store.add_roads(ql24, user="fuzz")
    _preload(store, seeds)
    return url, store


@fuzz(60)
@given(
    seed=st.sampled_from(SEED_NAMES),
    mutated=st.booleans(),
    inner=st.booleans(),
    member=st.integers(0, 64),
    ops=BYTE_OPS,
    all_or_nothing=st.booleans(),
)
def test_cli_import_returns_0_1_or_2_and_a_refusal_changes_nothing(
    cli_store, seeds, tmp_path, monkeypatch, capsys, seed, mutated, inner, member, ops, all_or_nothing
):
    url, store = cli_store
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("BLACKSPOT_TOKEN", raising=False)
    monkeypatch.delenv("BLACKSPOT_DEBUG", raising=False)
    caught: list[BaseException] = []
    one_line = cli._one_line

    def record(exc):
        caught.append(exc)
        return one_line(exc)

    monkeypatch.setattr(cli, "_one_line", record)
    filename, data, bounds = seeds[seed]
    if mutated:
        data = mutate_zip_member(data, member, ops) if inner and data.startswith(b"PK") else mutate(data, ops)
    path = tmp_path / filename
    path.write_bytes(data)
    argv = ["import", "crashes", str(path), "--report", str(tmp_path / "bao_cao.csv")]
    if bounds == HK_BOUNDS:
        argv += ["--bounds", HK_BOUNDS_ARG]
    if all_or_nothing:
        argv.append("--all-or-nothing")
    before = store_snapshot(store)
    rc = cli.main(argv)
    capsys.readouterr()
    assert rc in (0, 1, 2)
    assert all(isinstance(e, BlackspotError) for e in caught), [f"{type(e).__name__}: {e}" for e in caught]
    if rc != 0:
        assert store_snapshot(store) == before
    if all_or_nothing and not mutated:
        assert rc == 1  # every seed has invalid rows


# ----------------------------------------------------------------------------- roads, boundaries, cases
def _cases_geojson(ql24) -> bytes:
    line = ql24["geometry"].iloc[0]
    p = [line.interpolate(f, normalized=True) for f in (0.2, 0.4, 0.7)]
    gdf = gpd.GeoDataFrame(
        {
            "ma": ["LC1", "LC2", "LC3"],
            "loai": ["quán", "lều", "nhà"],
            "mo_ta": ["Quán nước lấn hành lang", "", "Nhà tạm"],
            "xa": ["Xã Đăk Ruồng", "", ""],
        },
        geometry=[p[0], p[1], p[2].buffer(0.0002)],
        crs=4326,
    )
    with tempfile.TemporaryDirectory() as tmp:
        gdf.to_file(Path(tmp) / "lc.geojson", driver="GeoJSON")
        return (Path(tmp) / "lc.geojson").read_bytes()


@pytest.fixture(scope="module")
def spatial_seeds(ql24):
    return Seeds(
        {
            "roads": (SHARED / "vietnam" / "kon_ray_roads_clip.geojson").read_bytes(),
            "boundaries": (SHARED / "vietnam" / "duc_tho_district.geojson").read_bytes(),
            "cases": _cases_geojson(ql24),
        }
    )


def test_spatial_seeds_are_read(spatial_seeds):
    assert len(roads_from_table(read_table(spatial_seeds["roads"], filename="r.geojson"))) == 1
    assert len(boundaries_from_table(read_table(spatial_seeds["boundaries"], filename="b.geojson"))) >= 1
    assert len(cases_from_table(read_table(spatial_seeds["cases"], filename="c.geojson"))) == 3


@fuzz(150)
@given(
    seed=st.sampled_from(["roads", "boundaries", "cases"]),
    as_json=st.booleans(),
    json_ops=JSON_OPS,
    byte_ops=BYTE_OPS,
    source_crs=st.sampled_from([None, 4326, 3405, "EPSG:9210"]),
)
def test_roads_boundaries_and_cases_from_mutated_geojson_give_only_the_tools_errors(
    spatial_seeds, seed, as_json, json_ops, byte_ops, source_crs
):
    data = spatial_seeds[seed]
    data = mutate_json(data, json_ops) if as_json else mutate(data, byte_ops)
    table = tool_errors_only(read_table, data, filename=f"{seed}.geojson")
    if table is None:
        return
    tool_errors_only(roads_from_table, table)
    tool_errors_only(boundaries_from_table, table)
    tool_errors_only(cases_from_table, table, source_crs=source_crs)


# ----------------------------------------------------------------------------- what the fuzzer found, pinned
def _zip_with_broken_member_header() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in ("vu.shp", "vu.shx", "vu.dbf"):
            z.writestr(name, b"x" * 10)
    return b"Q" + buf.getvalue()[1:]  # the central directory is fine, the first member's header is not


def _zip_with_a_nameless_entry() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a", b"x")
    data = bytearray(buf.getvalue())
    cd = data.rfind(b"PK\x01\x02")  # the central directory entry: name length 0, name gone
    data[cd + 28 : cd + 30] = b"\x00\x00"
    del data[cd + 46]
    eocd = data.rfind(b"PK\x05\x06")
    size = int.from_bytes(data[eocd + 12 : eocd + 16], "little") - 1
    data[eocd + 12 : eocd + 16] = size.to_bytes(4, "little")
    return bytes(data)


def _geojson(features, crs=None) -> bytes:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc).encode()


_PT = {"type": "Point", "coordinates": [107.9, 14.6]}
_SQUARE = {"type": "Polygon", "coordinates": [[[107, 14], [108, 14], [108, 15], [107, 14]]]}
_CRASH_PROPS = {"date": "05/02/2024", "deaths": 1, "injured": 0}


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"\xef\xbb\xbf\x80", "vu.csv", "UTF-8-SIG"),  # UnicodeDecodeError
        (b"\xff\xfeN\x00g", "vu.csv", "UTF-16"),  # UnicodeDecodeError (odd length)
        (_zip_with_broken_member_header(), "vu.zip", "zip hỏng"),  # zipfile.BadZipFile from extraction
        (_zip_with_a_nameless_entry(), "vu.zip", "không tên"),  # IndexError in ZipInfo.is_dir()
        (
            _geojson([{"type": "Feature", "properties": _CRASH_PROPS, "geometry": _PT}], "IAU_2015:30100"),
            "vu.geojson",
            "WGS 84",
        ),  # pyproj ProjError (a CRS of the Moon)
    ],
)
def test_broken_files_found_by_the_fuzzer_are_refused_clearly(data, filename, message):
    with pytest.raises(BlackspotError, match=message):
        read_table(data, filename=filename)


def test_headers_equal_once_trimmed_keep_a_column_each():
    """``Số người chết`` and ``Số người chết `` were two columns with one name
    after trimming: ``frame[name]`` was a DataFrame (AttributeError)."""
    data = (
        "Ngày giờ,Kinh độ,Vĩ độ,Số người chết,Số người bị thương,Số người chết \n05/02/2024,107.9,14.6,1,0,2\n"
    ).encode()
    t = read_table(data, filename="vu.csv")
    assert list(t.frame.columns)[-1] == "Số người chết.1"
    from geo.validate import validate_crashes

    assert validate_crashes(t).rows["deaths"].tolist() == [1]
    gj = _geojson([{"type": "Feature", "properties": {**_CRASH_PROPS, "deaths ": 2}, "geometry": _PT}])
    assert validate_crashes(read_table(gj, filename="vu.geojson")).n_rows == 1


def test_a_time_on_the_last_day_a_timestamp_holds_is_a_future_date_not_an_overflow():
    from geo.validate import validate_crashes

    data = "Ngày giờ,Giờ,Kinh độ,Vĩ độ,Số người chết,Số người bị thương\n11/04/2262,23:59,107.9,14.6,1,0\n"
    res = validate_crashes(read_table(data.encode(), filename="vu.csv"))
    assert res.n_errors == 1 and "tương lai" in res.errors["reason"].iloc[0]


def test_a_boundary_file_without_attributes_is_refused_clearly():
    table = read_table(_geojson([{"type": "Feature", "properties": {}, "geometry": _SQUARE}]), filename="b.geojson")
    with pytest.raises(BlackspotError, match="không có cột thuộc tính"):
        boundaries_from_table(table)
