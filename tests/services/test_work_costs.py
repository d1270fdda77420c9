"""A work's cost is a number of đồng in range (from the hostile-input probe: an infinite cost was kept and the
Tờ trình then failed with an OverflowError)."""

from __future__ import annotations

import math

import pytest

from errors import ValueOutOfRange
from services.documents import vnd
from services.works import MAX_COST_VND, add_work


@pytest.mark.parametrize("cost", [math.inf, -math.inf, math.nan, -5e8, MAX_COST_VND * 10, "nhiều tiền"])
def test_a_cost_out_of_range_is_refused_and_nothing_is_written(ql24_store, cost):
    before = len(ql24_store.works_frame())
    with pytest.raises(ValueOutOfRange, match=" / "):
        add_work(
            ql24_store, work_type="signs", road_code="QL24", from_m=150_000, to_m=150_500, cost_vnd=cost, user="lan"
        )
    assert len(ql24_store.works_frame()) == before
    wid = add_work(
        ql24_store, work_type="signs", road_code="QL24", from_m=150_000, to_m=150_500, cost_vnd=85_000_000, user="lan"
    )
    assert ql24_store.works_frame().set_index("id").loc[wid, "cost_vnd"] == 85_000_000


def test_money_that_is_not_a_number_is_written_as_nothing():
    assert (vnd(math.inf), vnd(math.nan), vnd(1250000000)) == ("", "", "1.250.000.000")
