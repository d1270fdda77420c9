"""The planners' map as the browser gets it: crash rows sent once, as data,
with every user text escaped."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from geo.validate import validate_crashes
from services.maps import TOOLTIP_LIMIT, planner_map
from tests.conftest import HK_BOUNDS


@pytest.fixture(scope="module")
def hk_crashes(hk_slice):
    rows = validate_crashes(hk_slice, bounds=HK_BOUNDS, today="2026-01-01").rows
    rows = rows.loc[rows["lon"].notna()].copy()
    rows["description"] = rows["description"].fillna("")
    rows.loc[rows.index[0], "description"] = "</script><script>alert('x')</script> & co"
    rows["severity"] = None
    return rows


def _rows_of(page: str) -> list:
    m = re.search(r"var (crash_rows_\w+) = (\[.*?\]);\n", page, flags=re.S)
    assert m, "no crash rows in the page"
    assert f"var data = {m.group(1)};" in page  # the cluster reads the rows it was given
    return json.loads(m.group(2))


def test_crash_rows_reach_the_page_once_as_data(hk_crashes):
    page = planner_map(crashes=hk_crashes).get_root().render()
    rows = _rows_of(page)
    assert len(rows) == len(hk_crashes) > 1000
    assert np.allclose([r[0] for r in rows], hk_crashes["lat"].round(6))
    assert np.allclose([r[1] for r in rows], hk_crashes["lon"].round(6))
    assert page.count("crash_rows_") == 2  # declared once, read once


def test_hostile_description_cannot_close_the_script(hk_crashes):
    page = planner_map(crashes=hk_crashes).get_root().render()
    assert "alert('x')" not in page and "</script><script>alert" not in page
    tip = _rows_of(page)[0][3]
    assert "&lt;/script&gt;" in tip and "&amp; co" in tip  # shown as text in the tooltip


def test_large_sets_send_compact_rows_without_tooltips(hk_crashes):
    big = pd.concat([hk_crashes] * (TOOLTIP_LIMIT // len(hk_crashes) + 1), ignore_index=True)
    rows = _rows_of(planner_map(crashes=big).get_root().render())
    assert len(rows) == len(big) and all(len(r) == 3 for r in rows[:100])
