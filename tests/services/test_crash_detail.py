"""A crash chosen on the map: its facts as the panel shows them."""

from __future__ import annotations

import pandas as pd
import pytest

from errors import NotFoundError
from services.items import DESCRIPTION_SHOWN, SAME_PLACE_LISTED, crash_detail


def _crashes(n_same: int, description: str = "") -> pd.DataFrame:
    n = n_same + 2
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "occurred_at": pd.date_range("2024-01-01 07:30", periods=n, freq="D"),
            "lon": [108.1] * (n_same + 1) + [108.2],
            "lat": [14.4] * (n_same + 1) + [14.5],
            "severity": ["rat_nghiem_trong"] + ["va_cham"] * (n - 1),
            "deaths": [2] + [0] * (n - 1),
            "injured": [1] * n,
            "road_code": ["QL24"] * n,
            "chainage_m": [140_250.0] * n,
            "commune": ["Đăk Ruồng"] * n,
            "source": ["CSGT"] * n,
            "source_id": [f"A{i}" for i in range(n)],
            "description": [description] + [""] * (n - 1),
        }
    )


def test_facts_others_at_the_place_and_the_spots_that_count_it():
    crashes = _crashes(3)
    spots = pd.DataFrame(
        {"id": [7, 8], "kind": ["black_spot", "potential"], "road_code": ["QL24", "QL24"], "crash_ids": [[1, 2], [3]]}
    )
    d = crash_detail(crashes, 1, spots=spots)
    facts = dict(d.facts)
    assert d.title == "Vụ TNGT #1 · 01/01/2024"
    assert facts["Thời điểm"] == "01/01/2024 07:30" and facts["Chết / bị thương"] == "2 / 1"
    assert facts["Vị trí"] == "QL24 Km 140+250" and facts["Tọa độ"] == "14.400000, 108.100000"
    assert d.spots == [(7, "Điểm đen #7 QL24")]
    # three others at its place (not the fifth crash, elsewhere), the latest first
    assert d.same_place == 3 and [i for i, _ in d.others] == [4, 3, 2]
    assert d.others[0][1] == "#4 · 04/01/2024 · Va chạm giao thông"
    with pytest.raises(NotFoundError):
        crash_detail(crashes, 99)


def test_a_long_description_is_cut_for_the_panel_and_a_crowded_place_listed_up_to_a_limit():
    d = crash_detail(_crashes(SAME_PLACE_LISTED + 50, description="x" * 100_000), 1)
    text = dict(d.facts)["Mô tả"]
    assert text.startswith("x" * DESCRIPTION_SHOWN) and text.endswith("(100.000 ký tự / characters)")
    assert len(text) < DESCRIPTION_SHOWN + 40
    assert d.same_place == SAME_PLACE_LISTED + 50 and len(d.others) == SAME_PLACE_LISTED
