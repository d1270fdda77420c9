"""Corridor geometry on the real QL24 line (Kon Rẫy), in metres."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.chainage import RoadNetwork
from geo.corridor import (
    ZONE_CORRIDOR,
    ZONE_OUTSIDE,
    ZONE_ROAD_LAND,
    bridge_zones,
    check_features,
    corridor_strips,
    load_corridor_rules,
    road_class_key,
    road_widths,
)

RULES = load_corridor_rules()


@pytest.mark.parametrize(
    "cls, corridor",
    [("I", 17), ("II", 17), ("III", 13), ("IV", 9), ("V", 9), ("VI", 4), ("cao tốc", 17), ("GTNT loại C", 4)],
)
def test_corridor_width_by_class(cls, corridor):
    w = road_widths(pd.DataFrame({"road_class": [cls]}), RULES).iloc[0]
    assert w["corridor_m"] == corridor
    assert w["outer_m"] == pytest.approx(w["land_half_m"] + corridor)
    assert w["land_source"] == "class default"


def test_land_width_sources():
    w = road_widths(
        pd.DataFrame(
            {
                "road_class": ["III", "III", "IV"],
                "road_land_half_width_m": [10.0, None, None],
                "carriageway_width_m": [None, 7.0, None],
            }
        ),
        RULES,
    )
    assert w["land_half_m"].tolist() == [10.0, 7.0 / 2 + 2, 9.0 / 2 + 1]
    assert w["land_source"].tolist() == ["road", "carriageway", "class default"]


def test_urban_street_has_no_strip():
    w = road_widths(pd.DataFrame({"road_class": ["đô thị"]}), RULES)
    assert road_class_key("Đô thị") == "urban" and np.isnan(w["corridor_m"].iloc[0])
    left, right = corridor_strips([shapely.LineString([(0, 0), (100, 0)])], w["land_half_m"], w["corridor_m"])
    assert left[0].is_empty and right[0].is_empty


def test_bridge_zones_both_ends():
    z = bridge_zones(
        pd.DataFrame({"road": ["QL24", "QL24"], "from_m": [140_000, 150_500], "to_m": [140_350, 150_510]}), RULES
    )
    first = z[z["from_m"] < 145_000].sort_values("from_m")
    assert first[["from_m", "to_m"]].to_numpy().tolist() == [[139_850, 140_000], [140_350, 140_500]]
    assert sorted(z.loc[z["from_m"] > 145_000, "zone_m"].unique()) == [20.0]


def _straight_stations(line, n=40, straight_m=40.0):
    """Chainages (from the line start) where the line is straight for ±straight_m."""
    length = line.length
    stations = []
    for s in np.linspace(200, length - 200, 400):
        p = [line.interpolate(s + k) for k in (-straight_m, 0, straight_m)]
        d1 = np.array([p[1].x - p[0].x, p[1].y - p[0].y])
        d2 = np.array([p[2].x - p[1].x, p[2].y - p[1].y])
        cos = d1 @ d2 / np.linalg.norm(d1) / np.linalg.norm(d2)
        if cos > 0.99999 and abs(line.project(p[1]) - s) < 1e-6:
            stations.append(s)
        if len(stations) >= n:
            break
    assert len(stations) >= min(n, 5), "QL24 should have straight stretches"
    return np.array(stations)


def _frame(line, s):
    a, b = line.interpolate(s - 1), line.interpolate(s + 1)
    t = np.array([b.x - a.x, b.y - a.y])
    t /= np.linalg.norm(t)
    o = line.interpolate(s)
    return np.array([o.x, o.y]), np.array([-t[1], t[0]])  # origin, left normal


@pytest.fixture(scope="module")
def ql24_net(ql24):
    return RoadNetwork.from_wgs84(
        ql24["code"].to_numpy(), ql24["geometry"].to_numpy(), km_start=ql24["km_start_m"].to_numpy()
    )


def test_strip_widths_to_a_tenth_of_a_metre(ql24, ql24_net):
    w = road_widths(ql24, RULES)
    left, right = corridor_strips(ql24_net.lines, w["land_half_m"], w["corridor_m"])
    line = ql24_net.lines[0]
    land, outer = w["land_half_m"].iloc[0], w["outer_m"].iloc[0]
    assert (land, outer) == (8.0, 21.0)  # class III, class-default road land
    for s in _straight_stations(line):
        o, nrm = _frame(line, s)
        for strip, sign in ((left[0], 1), (right[0], -1)):
            ray = shapely.LineString([o + sign * nrm * 0.01, o + sign * nrm * 60])
            cut = ray.intersection(strip)
            dists = [np.linalg.norm(np.array(c) - o) for c in shapely.get_coordinates(cut)]
            assert min(dists) == pytest.approx(land, abs=0.1)
            assert max(dists) == pytest.approx(outer, abs=0.1)
            assert cut.length == pytest.approx(13.0, abs=0.1)


def test_one_metre_inside_and_outside(ql24, ql24_net):
    w = road_widths(ql24, RULES)
    line = ql24_net.lines[0]
    stations = _straight_stations(line, n=12)
    pts, expect_zone, expect_side, expect_ch = [], [], [], []
    for s in stations:
        o, nrm = _frame(line, s)
        for sign, side in ((1, "left"), (-1, "right")):
            for dist, zone in (
                (7.0, ZONE_ROAD_LAND),
                (9.0, ZONE_CORRIDOR),
                (20.0, ZONE_CORRIDOR),
                (22.0, ZONE_OUTSIDE),
            ):
                pts.append(shapely.Point(o + sign * nrm * dist))
                expect_zone.append(zone)
                expect_side.append(side)
                expect_ch.append(s + 132_000.0)
    res = check_features(ql24_net, w, np.array(pts, dtype=object), search_m=100)
    assert res["zone"].tolist() == expect_zone
    assert res["side"].tolist() == expect_side
    np.testing.assert_allclose(res["chainage_m"], expect_ch, atol=0.1)
    inside = res["zone"] != ZONE_OUTSIDE
    np.testing.assert_allclose(res.loc[inside, "inside_m"] + res.loc[inside, "distance_m"], 21.0, atol=1e-6)


def test_footprint_polygon_uses_its_nearest_edge(ql24, ql24_net):
    w = road_widths(ql24, RULES)
    line = ql24_net.lines[0]
    s = _straight_stations(line, n=1)[0]
    o, nrm = _frame(line, s)
    # a 6 m deep house whose front is 19 m from the centreline: in the corridor by 2 m
    t = np.array([nrm[1], -nrm[0]])
    front, back = o + nrm * 19, o + nrm * 25
    house = shapely.Polygon([front - 3 * t, front + 3 * t, back + 3 * t, back - 3 * t])
    far = shapely.Polygon([o + nrm * 30 - 3 * t, o + nrm * 30 + 3 * t, o + nrm * 36 + 3 * t, o + nrm * 36 - 3 * t])
    res = check_features(ql24_net, w, np.array([house, far, None], dtype=object))
    assert res.loc[0, "zone"] == ZONE_CORRIDOR and res.loc[0, "side"] == "left"
    assert res.loc[0, "inside_m"] == pytest.approx(2.0, abs=1e-6)
    assert res.loc[1, "zone"] == ZONE_OUTSIDE and res.loc[1, "road_idx"] == -1  # no search radius given
    assert res.loc[2, "road_idx"] == -1


def test_feature_takes_the_corridor_it_is_deepest_in():
    net = RoadNetwork(
        codes=np.array(["ĐX1", "QL1"], dtype=object),
        lines=np.array(
            [shapely.LineString([(0, 0), (1000, 0)]), shapely.LineString([(0, 30), (1000, 30)])], dtype=object
        ),
        km_start=np.zeros(2),
        crs=None,
        ids=np.arange(2),
    )
    w = road_widths(pd.DataFrame({"road_class": ["VI", "I"]}), RULES)  # outer 8.25 m and 35.25 m
    res = check_features(net, w, np.array([shapely.Point(500, 5)], dtype=object))
    # 5 m from the commune road (3.25 m inside) but 25 m from QL1 (10.25 m inside its corridor)
    assert res.loc[0, "road_idx"] == 1 and res.loc[0, "zone"] == ZONE_CORRIDOR
    assert res.loc[0, "side"] == "right"
