"""Plans in the store (both back-ends): save, agencies, links, progress; and the targets table."""
from __future__ import annotations

import pandas as pd
import pytest

from errors import NotFoundError, TransitionError
from services.blackspots import run_screening
from services.plan_parser import parse_plan, read_plan_text
from services.plans import plan_band, progress, progress_summary, secondary_aims, target_table
from tests.conftest import SHARED

KON_RAY = SHARED.parent / "plans" / "kon-ray-2024-kh-batgt.md"


def test_save_plan_seeds_agencies_and_links_items(ql24_store):
    draft = parse_plan(read_plan_text(KON_RAY.read_bytes(), KON_RAY.name))
    pid = ql24_store.save_plan(draft, user="an")
    secs = ql24_store.sections_frame(pid)
    assert secs["code"].tolist() == [f"II.{i}" for i in range(1, 8)]
    ag = ql24_store.agencies_frame()
    assert "Ban ATGT tỉnh" in ag["name"].tolist() and "UBND huyện" in ag["name"].tolist()
    standing = ag.loc[ag["is_standing_body"], "name"].tolist()
    assert standing == ["Công an huyện"]
    assert not any(n.startswith("Lưu") for n in ag["name"])
    run_screening(ql24_store)
    spot = int(ql24_store.blackspots_frame(kind="black_spot")["id"].iloc[0])
    infra = int(secs.loc[secs["code"] == "II.3", "id"].iloc[0])
    lead = int(ag.loc[ag["is_standing_body"], "id"].iloc[0])
    coop = ag["id"].head(2).astype(int).tolist()
    ql24_store.link_item("blackspot", spot, section_id=infra, lead_agency_id=lead, cooperating_agency_ids=coop,
                         user="an")
    wid = ql24_store.add_work(work_type="signs", blackspot_id=spot)
    ql24_store.link_item("work", wid, section_id=infra, lead_agency_id=lead)
    # a second link of the same item replaces the first
    ql24_store.link_item("work", wid, section_id=infra, lead_agency_id=coop[0])
    assert len(ql24_store.links_frame()) == 2
    prog = progress(ql24_store, plan_id=pid)
    assert set(prog["section_code"]) == {"II.3"} and len(prog) == 2
    assert not prog["done"].any()
    by_agency = progress_summary(prog, "lead_agency")
    assert by_agency["items"].sum() == 2
    with pytest.raises(NotFoundError):
        ql24_store.link_item("case", 999, section_id=infra, lead_agency_id=lead)
    with pytest.raises(TransitionError):
        ql24_store.save_plan(type(draft)(title="", sections=[]))


def _crashes(rows):
    return pd.DataFrame(rows, columns=["id", "occurred_at", "commune", "deaths", "injured", "alcohol",
                                       "vehicle_types", "severity"]).assign(
        occurred_at=lambda d: pd.to_datetime(d["occurred_at"]))


def test_target_table_year_on_year_with_band():
    rows = [(i, "2023-05-01", "A", 1, 1, False, "Xe mô tô", "nghiem_trong") for i in range(10)] + \
           [(100 + i, "2024-05-01", "A", 1 if i < 8 else 0, 1, i < 2, "Ô tô", "nghiem_trong") for i in range(9)] + \
           [(200, "2024-12-31", "B", 0, 2, False, "Xe mô tô", "dac_biet_nghiem_trong")]
    df = _crashes(rows)
    band = plan_band([{"code": "three_criteria", "min_pct": 5.0, "max_pct": 10.0}])
    assert band == (5.0, 10.0, True) and plan_band([])[2] is False
    t = target_table(df, period_from="2024-01-01", period_to="2024-12-31", band=band[:2]).set_index(
        ["scope", "criterion"])
    tot = t.loc["Toàn địa bàn"]
    assert tot.loc["crashes", ["previous", "current"]].tolist() == [10, 10]
    assert tot.loc["crashes", "status"] == "off_track"  # 0 % is not a 5 % cut
    assert tot.loc["deaths", "change_pct"] == -20.0 and tot.loc["deaths", "status"] == "on_track"
    assert t.loc[("A", "crashes"), "change_pct"] == -10.0 and t.loc[("A", "crashes"), "status"] == "on_track"
    assert t.loc[("B", "crashes"), "status"] == "off_track"  # from 0 to 1
    aims = secondary_aims(df, period_from="2024-01-01", period_to="2024-12-31").set_index("aim")
    assert aims.loc["drink_driving", ["previous", "current"]].tolist() == [0, 2]
    assert aims.loc["motorcycle", ["previous", "current"]].tolist() == [10, 1]
    assert aims.loc["no_especially_serious", "status"] == "off_track"
