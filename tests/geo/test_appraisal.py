"""Which fix first: the economic appraisal (issue 19.1), by hand and against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from errors import RuleSetError
from geo.appraisal import (
    CMF_FILE,
    annuity_factor,
    appraise,
    brute_force,
    cmf_table,
    crash_costs,
    eb_rate,
    select_within_budget,
)
from models.enums import WorkType


def test_one_work_worked_by_hand():
    # GDP per capita 114 million đồng (Viet Nam 2024):
    #   VSL = 70 x 114e6 = 7 980e6; a serious injury = 0.25 x 7 980e6 = 1 995e6
    costs = crash_costs(114e6)
    assert costs["death"] == pytest.approx(7_980e6) and costs["injured"] == pytest.approx(1_995e6)
    # the site: 6 crashes in 2 years; the reference segments [0, 0, 0, 4]: mean 1, variance 3,
    #   alpha = (3 - 1) / 1^2 = 2, w = 1 / (1 + 2 x 1) = 1/3,
    #   EB = 1/3 x 1 + 2/3 x 6 = 13/3 crashes in 2 years = 13/6 = 2.1667 a year
    rate = eb_rate(6, [0, 0, 0, 4], years=2)
    assert rate == pytest.approx(13 / 6)
    # the work: a junction redesign (CMF 0.56, 20 years), 500 million đồng; at the site 0.5 deaths, 1.5 injured
    #   and 20 million đồng of damage per crash
    works = pd.DataFrame(
        {
            "id": [7],
            "work_type": ["junction"],
            "cost_vnd": [500e6],
            "crashes_per_year": [rate],
            "deaths_per_crash": [0.5],
            "injured_per_crash": [1.5],
            "damage_per_crash": [20e6],
        }
    )
    r = appraise(works, cmf_table(), costs=costs, discount_rate=0.10).iloc[0]
    # avoided crashes a year = (1 - 0.56) x 13/6 = 0.44 x 2.16667 = 0.953333
    assert r["avoided_crashes"] == pytest.approx(0.44 * 13 / 6)
    # deaths 0.953333 x 0.5 = 0.476667; injured 0.953333 x 1.5 = 1.43
    assert r["avoided_deaths"] == pytest.approx(0.4766667, rel=1e-6)
    assert r["avoided_injured"] == pytest.approx(1.43, rel=1e-6)
    # annual benefit = 0.476667 x 7 980e6 + 1.43 x 1 995e6 + 0.953333 x 20e6
    #                = 3 803.8e6 + 2 852.85e6 + 19.0667e6 = 6 675.7167e6
    assert r["annual_benefit_vnd"] == pytest.approx(6_675.716667e6, rel=1e-9)
    # 20 years at 10 %: (1 - 1.1^-20) / 0.1 = 8.513564; PV = 6 675.7167e6 x 8.513564 = 56 834.1e6
    assert annuity_factor(0.10, 20) == pytest.approx(8.513564, rel=1e-6)
    assert r["pv_benefit_vnd"] == pytest.approx(6_675.716667e6 * 8.5135637, rel=1e-7)
    # NPV = PV - 500e6; B/C = PV / 500e6 = 113.67
    assert r["npv_vnd"] == pytest.approx(r["pv_benefit_vnd"] - 500e6)
    assert r["bcr"] == pytest.approx(113.668, abs=1e-3)


def test_ranked_by_bcr_and_a_work_without_cost_last():
    works = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "work_type": ["signs", "guardrails", "not_a_type"],
            "cost_vnd": [100e6, np.nan, 50e6],
            "crashes_per_year": [1.0, 3.0, 1.0],
            "deaths_per_crash": [0.2] * 3,
            "injured_per_crash": [1.0] * 3,
            "damage_per_crash": [0.0] * 3,
        }
    )
    r = appraise(works, cmf_table(), costs=crash_costs(114e6))
    assert r["id"].tolist() == [1, 3, 2] and r["rank"].tolist() == [1, 2, 3]
    assert np.isnan(r.loc[r["id"] == 2, "bcr"].iloc[0])  # no cost: no ratio
    assert r.loc[r["id"] == 3, "cmf"].iloc[0] == 1.0  # unknown type: "other", no effect
    assert r.loc[r["id"] == 3, "bcr"].iloc[0] == 0.0


def test_the_factor_table_loads_and_every_row_has_a_source():
    t = cmf_table()
    assert set(t["work_type"]) == {w.value for w in WorkType}  # one factor per work type of the tool
    assert t["source"].str.len().gt(20).all()
    assert t["cmf"].between(0, 1).all() and t["life_years"].gt(0).all()
    raw = pd.read_csv(CMF_FILE)
    assert list(raw.columns)[:3] == ["work_type", "cmf", "life_years"] and "source" in raw


@pytest.mark.parametrize(
    "column, value",
    [
        ("source", ""),
        ("cmf", "inf"),
        ("cmf", "0"),
        ("cmf", "1e300"),
        ("life_years", "inf"),
        ("life_years", "0.5"),
        ("life_years", "1e30"),
    ],
)
def test_a_bad_row_is_refused_in_one_message(tmp_path, column, value):
    """A row without its source, a factor or a life that is not a plain positive number (the hostile-input
    probe: an infinite life was a raw IntCastingNaNError, a life of 0.5 silently 0 years)."""
    bad = pd.read_csv(CMF_FILE, dtype=str)
    bad.loc[0, column] = value
    bad.to_csv(tmp_path / "cmf.csv", index=False)
    with pytest.raises(RuleSetError, match="Bad factor rows"):
        cmf_table(tmp_path / "cmf.csv")


def test_a_factor_table_that_is_not_text_is_refused(tmp_path):
    (tmp_path / "cmf.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 50)
    with pytest.raises(RuleSetError, match="cannot be read"):
        cmf_table(tmp_path / "cmf.csv")


@pytest.mark.parametrize("seed", range(60))
def test_knapsack_is_optimal_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    costs = rng.integers(1, 60, n) * 10e6  # whole tens of millions
    values = np.round(rng.gamma(2.0, 1e9, n), 0)
    values[rng.random(n) < 0.1] = 0.0  # some works avoid nothing
    budget = float(rng.integers(0, int(costs.sum() / 1e6) + 10)) * 1e6
    s = select_within_budget(costs, values, budget)
    assert not s.rounded
    assert costs[s.chosen].sum() <= budget
    assert s.total_value == pytest.approx(brute_force(costs, values, budget), rel=1e-12, abs=1e-6)
    assert not (s.chosen & (values <= 0)).any()


@pytest.mark.parametrize("seed", range(30))
def test_knapsack_with_ragged_costs_rounds_and_stays_within_the_budget(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 12))
    costs = rng.integers(1_000_000, 400_000_000, n).astype(float) + 0.5  # not whole units of anything
    values = rng.gamma(2.0, 1e9, n)
    budget = float(rng.uniform(0.2, 0.8) * costs.sum())
    s = select_within_budget(costs, values, budget)
    assert s.rounded and s.unit == 1e6 and "làm tròn" in s.note
    assert costs[s.chosen].sum() <= budget
    # optimal for the rounded costs: brute force over costs rounded up, budget rounded down (in millions)
    assert s.total_value == pytest.approx(brute_force(np.ceil(costs / 1e6), values, np.floor(budget / 1e6)), rel=1e-12)


def test_knapsack_of_a_province_is_quick_and_coarsens_when_the_table_is_too_big():
    import time

    rng = np.random.default_rng(1)
    costs = rng.integers(20, 3000, 300) * 1e6
    values = rng.gamma(2.0, 1e9, 300)
    t0 = time.perf_counter()
    s = select_within_budget(costs, values, 50_000e6)
    assert time.perf_counter() - t0 < 5 and costs[s.chosen].sum() <= 50_000e6
    small = select_within_budget(costs, values, 50_000e6, max_cells=300 * 5_001)
    assert small.unit == 1e7 and costs[small.chosen].sum() <= 50_000e6


def test_no_budget_or_no_cost_chooses_nothing():
    assert not select_within_budget([10e6], [5.0], 0).chosen.any()
    assert not select_within_budget([np.nan], [5.0], 1e9).chosen.any()
    assert select_within_budget([0.0, 10e6], [5.0, 1.0], 1e6).chosen.tolist() == [True, False]


def test_a_huge_budget_keeps_the_table_small():
    """A trillion đồng with costs in whole thousands took 4 GB (the hostile-input probe): the unit grows until
    the table is at most MAX_ROOM wide, and the choice is still right."""
    from geo.appraisal import MAX_ROOM, select_within_budget

    s = select_within_budget([420_000_000, 149_579_999_000], [5.0, 9.0], 1e12)
    assert s.chosen.tolist() == [True, True] and s.unit * MAX_ROOM >= min(1e12, 150e9)
    s = select_within_budget([299_999_999_000], [1.0], 1e12)
    assert s.chosen.tolist() == [True]
