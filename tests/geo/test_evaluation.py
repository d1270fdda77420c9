"""Before/after evaluation and the Empirical Bayes correction, on hand-built crash sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.evaluation import before_after, eb_expected, overdispersion, segment_counts


def _crashes(rows):
    return pd.DataFrame(rows, columns=["road", "chainage_m", "occurred_at", "deaths", "injured"]).assign(
        occurred_at=lambda d: pd.to_datetime(d["occurred_at"])
    )


def test_before_after_counts_same_windows_and_change():
    rows = [
        ("QL24", 1000, "2023-03-01", 1, 0),
        ("QL24", 1100, "2023-09-01", 0, 2),
        ("QL24", 1200, "2023-12-31", 0, 1),
        ("QL24", 1050, "2022-12-31", 1, 0),  # before the 12-month window: left out
        ("QL24", 1100, "2024-07-01", 0, 1),  # after
        ("QL24", 5000, "2024-07-01", 1, 0),  # elsewhere on the road
        ("QL8A", 1100, "2024-07-01", 1, 0),
    ]  # another road
    res = before_after(
        _crashes(rows),
        road="QL24",
        from_m=1000,
        to_m=1200,
        work_start="2024-01-01",
        work_end="2024-03-31",
        months=12,
        today="2026-01-01",
    )
    assert res.before == {"crashes": 3, "deaths": 1, "injured": 3}
    assert res.after == {"crashes": 1, "deaths": 0, "injured": 1}
    assert res.change_pct == {"crashes": pytest.approx(-66.7), "deaths": -100.0, "injured": pytest.approx(-66.7)}
    assert res.after_complete and res.note == ""
    assert res.after_from == pd.Timestamp("2024-04-01") and res.after_to == pd.Timestamp("2025-04-01")


def test_short_after_period_is_flagged():
    res = before_after(
        _crashes([("QL24", 10, "2024-01-05", 0, 1)]),
        road="QL24",
        from_m=0,
        to_m=100,
        work_start="2024-06-01",
        work_end="2024-06-30",
        today="2024-10-01",
    )
    assert not res.after_complete and "3.0/12" in res.note
    assert res.change_pct["crashes"] == -100.0


def test_eb_pulls_a_bad_year_towards_the_reference_mean():
    ref = np.r_[np.zeros(90), np.full(10, 5)]  # mean 0.5, very overdispersed
    m, alpha = overdispersion(ref)
    assert (m, alpha) == (0.5, pytest.approx(7.0))  # var 2.25 = 0.5 + 7 * 0.25
    exp = eb_expected(before=6, mean=m, alpha=alpha)
    assert m < exp < 6  # between the reference mean and the site's own count
    rows = (
        [("QL24", 1000 + i, "2023-06-01", 0, 1) for i in range(6)]
        + [("QL24", 50_000 + i, "2023-06-01", 0, 1) for i in range(20)]
        + [("QL24", 50_000 + i, "2024-09-01", 0, 1) for i in range(10)]
        + [("QL24", 1000, "2024-09-01", 0, 1)]
    )
    res = before_after(
        _crashes(rows),
        road="QL24",
        from_m=1000,
        to_m=1200,
        work_start="2024-01-01",
        work_end="2024-02-01",
        today="2026-01-01",
        reference=ref,
    )
    assert res.trend_ratio == 0.5  # the general trend halved crashes off the site
    assert res.eb_expected_after == pytest.approx(exp * 0.5, abs=0.01)
    assert res.eb_index == pytest.approx(1 / res.eb_expected_after, abs=0.01)
    # naive before/after says -83 %; the corrected index is much less flattering
    assert res.change_pct["crashes"] == pytest.approx(-83.3) and res.eb_index > 1 / 6


def test_segment_counts_include_empty_segments():
    c = segment_counts(
        [0, 0, 1, -1],
        [100.0, 600.0, 2_050.0, 5.0],
        road_start=[0.0, 2_000.0],
        road_length=[1_000.0, 700.0],
        segment_m=500,
    )
    assert c.tolist() == [1, 1, 1, 0]
