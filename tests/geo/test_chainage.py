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
