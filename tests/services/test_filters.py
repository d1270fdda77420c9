"""The area filter: crashes, spots, cases and works kept inside a polygon
drawn on the map (with its holes), or a multipolygon; anything else refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

from errors import AreaError
from services.filters import Filters, area_text, filter_crashes, filter_items, filter_spots

SQUARE = "POLYGON ((108 14, 108.1 14, 108.1 14.1, 108 14.1, 108 14))"
WITH_HOLE = (
    "POLYGON ((108 14, 108.1 14, 108.1 14.1, 108 14.1, 108 14), "
    "(108.04 14.04, 108.06 14.04, 108.06 14.06, 108.04 14.06, 108.04 14.04))"
)
TWO = (
    "MULTIPOLYGON (((108 14, 108.1 14, 108.1 14.1, 108 14.1, 108 14)), "
    "((108.2 14, 108.3 14, 108.3 14.1, 108.2 14.1, 108.2 14)))"
)


@pytest.fixture
def crashes():
    # 1 inside, 2 in the hole's middle, 3 outside east, 4 in the second square, 5 no place
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "lon": [108.02, 108.05, 108.15, 108.25, None],
            "lat": [14.02, 14.05, 14.05, 14.05, None],
            "occurred_at": pd.to_datetime(["2025-01-01"] * 5),
            "commune": ["A"] * 5,
            "road_code": ["QL1"] * 5,
            "severity": ["nhe"] * 5,
            "vehicle_types": ["xe máy"] * 5,
            "alcohol": [False] * 5,
        }
    )


@pytest.fixture
def spots():
    return pd.DataFrame(
        {
            "id": [10, 11, 12, 13],
            "road_code": ["QL1"] * 4,
            "commune": ["A"] * 4,
            "ruleset": ["r"] * 4,
            "manual": [False] * 4,
            "window_start": [None] * 4,
            "window_end": [None] * 4,
            "geometry": [
                shapely.LineString([(107.95, 14.02), (108.02, 14.02)]),  # enters the square
                shapely.LineString([(108.045, 14.05), (108.055, 14.05)]),  # inside the hole only
                shapely.Point(108.5, 14.5),  # far away
                None,
            ],
        }
    )  # no place: outside


def _ids(frame):
    return sorted(frame["id"].tolist())


def test_crashes_and_spots_inside_a_polygon(crashes, spots):
    f = Filters(area=area_text(SQUARE))
    assert _ids(filter_crashes(crashes, f)) == [1, 2]
    assert _ids(filter_spots(spots, f)) == [10, 11]
    assert f.active and not Filters().active


def test_a_hole_is_outside(crashes, spots):
    f = Filters(area=area_text(WITH_HOLE))
    assert _ids(filter_crashes(crashes, f)) == [1]
    assert _ids(filter_spots(spots, f)) == [10]


def test_a_multipolygon_keeps_both_parts(crashes):
    assert _ids(filter_crashes(crashes, Filters(area=area_text(TWO)))) == [1, 2, 4]


def test_the_area_joins_the_other_filters(crashes):
    crashes.loc[crashes["id"] == 1, "commune"] = "B"
    assert _ids(filter_crashes(crashes, Filters(communes=("A",), area=area_text(SQUARE)))) == [2]


def test_cases_and_works_by_their_geometry():
    cases = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "road_code": ["QL1"] * 3,
            "commune": ["A"] * 3,
            "geometry": [shapely.Point(108.05, 14.05), shapely.Point(109, 15), shapely.box(108.09, 14.09, 108.2, 14.2)],
        }
    )  # an outline across the edge
    f = Filters(area=area_text(SQUARE))
    assert _ids(filter_items(cases, f)) == [1, 3]
    works = pd.DataFrame({"id": [7, 8], "road_code": ["QL1"] * 2})  # placed by the caller (work_geometries)
    assert _ids(filter_items(works, f, geometry=pd.Series([None, shapely.Point(108.01, 14.01)]))) == [8]
    with pytest.raises(AreaError):
        filter_items(works, f)  # no place at all: said, not guessed


def test_geojson_in_every_shape_gives_the_same_area():
    poly = shapely.from_wkt(SQUARE)
    gj = json.loads(shapely.to_geojson(poly))
    want = shapely.from_wkt(area_text(SQUARE))
    for given in (
        json.dumps(gj),
        gj,
        {"type": "Feature", "properties": {}, "geometry": gj},
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": gj}]},
        poly,
    ):
        assert shapely.equals(shapely.from_wkt(area_text(given)), want)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a polygon",
        "LINESTRING (108 14, 108.1 14.1)",
        '{"type": "Point", "coordinates": [108, 14]}',
        "POLYGON ((108 14, 108.1 14.1, 108.1 14, 108 14.1, 108 14))",  # a bow tie: edges crossing
        "POLYGON ((500000 1500000, 510000 1500000, 510000 1510000, 500000 1500000))",  # metres, not lon/lat
        "POLYGON EMPTY",
        '{"type": "FeatureCollection", "features": []}',
        "{not json",
        # a collection nested 100 000 deep crashed the process inside GEOS (hostile-input probe)
        "GEOMETRYCOLLECTION (" * 100_000 + "POINT (1 1)" + ")" * 100_000,
    ],
    ids=lambda v: v[:30],
)
def test_anything_but_a_polygon_in_lon_lat_is_refused(bad):
    with pytest.raises(AreaError, match=" / "):
        area_text(bad)


def test_a_bad_area_in_the_filters_is_refused_when_applied(crashes):
    with pytest.raises(AreaError):
        filter_crashes(crashes, Filters(area="LINESTRING (108 14, 108.1 14.1)"))


def test_no_filter_keeps_every_crash_in_a_frame_of_its_own(crashes):
    """Every row kept: the same values in a new frame; a column set on it
    (as a page adds its own) leaves the input as it was."""
    kept = filter_crashes(crashes, Filters())
    assert kept is not crashes
    pd.testing.assert_frame_equal(kept, crashes)
    kept["label"] = "x"
    kept["commune"] = "B"
    assert "label" not in crashes and crashes["commune"].tolist() == ["A"] * 5
    assert _ids(filter_crashes(crashes, Filters(communes=["A"]))) == [1, 2, 3, 4, 5]
