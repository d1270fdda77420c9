"""The command line, end to end, on files (and a throw-away SQLite store)."""
from __future__ import annotations

import io
import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cli
from geo.crs import WGS84, transform
from tests.conftest import SHARED


def _offset_points(ql24):
    """lon/lat of points 5, 15 and 30 m left of QL24 at a straight station, in WGS 84."""
    from geo.chainage import RoadNetwork

    net = RoadNetwork.from_wgs84(ql24["code"].to_numpy(), ql24["geometry"].to_numpy(), km_start=[132_000.0])
    line = net.lines[0]
    s = 1000.0
    a, b, o = line.interpolate(s - 1), line.interpolate(s + 1), line.interpolate(s)
    t = np.array([b.x - a.x, b.y - a.y]) / 2.0
    nrm = np.array([-t[1], t[0]]) / np.linalg.norm(t)
    xy = np.array([[o.x, o.y]]) + np.outer([5.0, 15.0, 30.0], nrm)
    lon, lat = transform(xy[:, 0], xy[:, 1], net.crs.to_wkt(), WGS84)
    return lon, lat


def test_corridor_check_on_files(tmp_path, ql24, capsys):
    roads = gpd.GeoDataFrame({"name": ["QL24"], "class": ["III"], "km_start_m": [132_000.0]},
                             geometry=list(ql24["geometry"]), crs=4326)
    roads.to_file(tmp_path / "roads.geojson", driver="GeoJSON")
    lon, lat = _offset_points(ql24)
    pd.DataFrame({"id": ["a", "b", "c"], "lon": lon, "lat": lat}).to_csv(tmp_path / "pts.csv", index=False)
    rc = cli.main(["corridor", "check", "--roads", str(tmp_path / "roads.geojson"), "--points",
                   str(tmp_path / "pts.csv"), "--out", str(tmp_path / "out.csv")])
    assert rc == 0
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig")
    assert list(out.columns[:6]) == ["id", "road", "chainage_m", "side", "distance_from_centreline_m", "zone"]
    assert out["zone"].tolist() == ["road_land", "corridor", "outside"]
    assert out["side"].tolist() == ["left"] * 3
    np.testing.assert_allclose(out["chainage_m"], 133_000.0, atol=0.2)
    np.testing.assert_allclose(out["distance_from_centreline_m"], [5, 15, 30], atol=0.05)
    assert "1 trong hành lang" in capsys.readouterr().out


def test_corridor_check_rejects_points_without_coordinates(tmp_path, ql24, capsys):
    gpd.GeoDataFrame({"name": ["QL24"]}, geometry=list(ql24["geometry"]), crs=4326).to_file(
        tmp_path / "roads.geojson", driver="GeoJSON")
    (tmp_path / "pts.csv").write_text("id,ghi_chu\n1,quán nước\n", encoding="utf-8")
    rc = cli.main(["corridor", "check", "--roads", str(tmp_path / "roads.geojson"), "--points",
                   str(tmp_path / "pts.csv"), "--out", str(tmp_path / "out.csv")])
    assert rc == 1
    assert "lon/lat" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()
