"""Every export opens with its standard reader, Vietnamese intact, and the
spatial ones round-trip."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

from geo.io import read_table
from services.blackspots import run_screening
from services.exports import crashes_per_spot, export, hotspot_table


@pytest.fixture
def spots_and_crashes(ql24_store):
    run_screening(ql24_store)
    spots = ql24_store.blackspots_frame()
    spots.loc[spots.index[0], "commune"] = "Đăk Tơ Lung <script>alert(1)</script>"
    return spots, ql24_store.crashes_frame()


def test_csv_has_bom_and_vietnamese_headers(spots_and_crashes):
    spots, _ = spots_and_crashes
    data = export(hotspot_table(spots), "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(df.columns[:5]) == ["Mã", "Loại", "Trạng thái", "Tuyến", "Lý trình"]
    assert len(df) == len(spots) and df["Xã/phường"].iloc[0].startswith("Đăk Tơ Lung")
    assert df["Lý trình"].str.startswith("Km ").all()


def test_xlsx_frozen_header_widths_and_crash_sheet(spots_and_crashes):
    spots, crashes = spots_and_crashes
    per = crashes_per_spot(spots, crashes)
    wb = openpyxl.load_workbook(io.BytesIO(export(hotspot_table(spots), "xlsx", crashes=per)))
    ws = wb["Danh sách điểm"]
    assert ws.freeze_panes == "A2" and ws["A1"].value == "Mã" and ws["A1"].font.bold
    assert ws.column_dimensions["J"].width > 20  # the test description column is wide
    assert ws.max_row == len(spots) + 1
    sheet2 = wb["Các vụ theo điểm"]
    assert sheet2.max_row == sum(len(v) for v in spots["crash_ids"]) + 1


@pytest.mark.parametrize("fmt, name", [("geojson", "x.geojson"), ("gpkg", "x.gpkg")])
def test_spatial_exports_round_trip(spots_and_crashes, fmt, name):
    spots, _ = spots_and_crashes
    table = hotspot_table(spots)
    back = read_table(export(table, fmt), filename=name)
    assert back.frame["id"].astype(int).tolist() == table["id"].tolist()
    assert back.frame["commune"].tolist()[0] == table["commune"].iloc[0]
    assert back.frame["road_code"].tolist() == table["road_code"].tolist()
    np.testing.assert_allclose(back.frame["from_m"].astype(float), table["from_m"].astype(float))
    for a, b in zip(back.geometry, table["geometry"]):
        assert a.equals_exact(b, 1e-7)
    if fmt == "gpkg":
        assert pyogrio.list_layers(io.BytesIO(export(table, fmt)))[0][0] == "hotspots"


def test_kml_parses_and_escapes(spots_and_crashes):
    spots, _ = spots_and_crashes
    data = export(hotspot_table(spots), "kml")
    root = ET.fromstring(data)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = root.findall(".//k:Placemark", ns)
    assert len(marks) == len(spots)
    values = [d.find("k:value", ns).text for d in marks[0].findall(".//k:Data", ns)]
    assert "Đăk Tơ Lung <script>alert(1)</script>" in values  # escaped in the file, intact when read
    assert b"<script>" not in data
    back = read_table(data, filename="x.kml")
    assert len(back.geometry) == len(spots)


def test_cause_is_a_filter_from_the_data():
    import pandas as pd

    from services.filters import Filters, filter_crashes, options

    c = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "commune": ["A", "A", "B"],
            "road_code": ["QL24"] * 3,
            "severity": ["nghiem_trong"] * 3,
            "vehicle_types": ["Xe máy", "", "Ô tô"],
            "alcohol": [False] * 3,
            "cause": ["Phóng nhanh; Sử dụng rượu bia", None, "Phóng nhanh"],
        }
    )
    assert options(c)["causes"] == ["Phóng nhanh", "Sử dụng rượu bia"]
    assert filter_crashes(c, Filters(cause="Phóng nhanh")).index.tolist() == [0, 2]
    assert filter_crashes(c, Filters(cause="Sử dụng rượu bia")).index.tolist() == [0]
