"""Parts of road lines by chainage, all at once (geo.chainage.line_substrings)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.ops import substring

from geo.chainage import line_substrings


def test_parts_of_lines_are_shapelys_substrings_and_clipped_to_the_line():
    rng = np.random.default_rng(5)
    lines = [shapely.LineString(np.cumsum(rng.normal(0, 100, (rng.integers(2, 30), 2)), axis=0)) for _ in range(20)]
    which = rng.integers(0, len(lines), 500)
    length = shapely.length(np.asarray(lines, dtype=object))[which]
    a = rng.uniform(0, 1, 500) * length
    b = np.minimum(a + rng.uniform(1, 3000, 500), length)
    got = line_substrings(lines, which, a, b)
    for k in range(500):
        want = substring(lines[which[k]], a[k], b[k])
        assert shapely.equals_exact(got[k], want, 1e-6), (k, got[k].wkt, want.wkt)
    # a part starting before the line (a spot before the road's first chainage) starts at the line's start,
    # never at its end (shapely counts a negative distance from the end)
    line = shapely.LineString([(0, 0), (1000, 0)])
    before = line_substrings([line], [0], [-300.0], [200.0])[0]
    assert before.wkt == "LINESTRING (0 0, 200 0)"
    assert line_substrings([line], [0], [900.0], [1500.0])[0].wkt == "LINESTRING (900 0, 1000 0)"


def test_a_road_in_two_pieces_under_one_code_is_found_not_a_crash_of_the_pages():
    """A real roads file holds some roads in pieces under one code (two QL22B segments in the national roads):
    once imported, every crash file naming a road failed its preview, and the works page too
    ("Reindexing only valid with uniquely valued Index objects"). A code names its longest piece."""
    import pandas as pd
    import shapely

    from geo.chainage import RoadNetwork
    from geo.io import RawTable
    from geo.validate import validate_crashes

    short = shapely.LineString([(106.0, 16.0), (106.001, 16.0)])
    long = shapely.LineString([(106.1, 16.0), (106.2, 16.0)])
    net = RoadNetwork.from_wgs84(["QL22B", "QL1", "QL22B"], [short, shapely.LineString([(107, 16), (107.1, 16)]), long])
    assert net.index_of(["QL22B", "ql1", "QL9"]).tolist() == [2, 1, -1]
    rows = pd.DataFrame(
        {
            "Ngày": ["05/02/2024"],
            "Tuyến đường": ["QL22B"],
            "Lý trình": ["Km 2+000"],
            "Số người chết": ["1"],
            "Số người bị thương": ["0"],
        }
    )
    res = validate_crashes(RawTable(frame=rows, fmt="csv"), roads=net, today="2026-01-01")
    assert res.n_valid == 1
    lon, lat = res.rows.loc[0, ["lon", "lat"]]
    assert shapely.Point(lon, lat).distance(long) < 1e-4  # on the long piece (within ~10 m), 2 km from its start
    assert abs(lon - 106.1) > 0.01
