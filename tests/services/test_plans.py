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
    ql24_store.link_item(
        "blackspot", spot, section_id=infra, lead_agency_id=lead, cooperating_agency_ids=coop, user="an"
    )
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
    return pd.DataFrame(
        rows, columns=["id", "occurred_at", "commune", "deaths", "injured", "alcohol", "vehicle_types", "severity"]
    ).assign(occurred_at=lambda d: pd.to_datetime(d["occurred_at"]))


def test_target_table_year_on_year_with_band():
    rows = (
        [(i, "2023-05-01", "A", 1, 1, False, "Xe mô tô", "nghiem_trong") for i in range(10)]
        + [(100 + i, "2024-05-01", "A", 1 if i < 8 else 0, 1, i < 2, "Ô tô", "nghiem_trong") for i in range(9)]
        + [(200, "2024-12-31", "B", 0, 2, False, "Xe mô tô", "dac_biet_nghiem_trong")]
    )
    df = _crashes(rows)
    band = plan_band([{"code": "three_criteria", "min_pct": 5.0, "max_pct": 10.0}])
    assert band == (5.0, 10.0, True) and plan_band([])[2] is False
    t = target_table(df, period_from="2024-01-01", period_to="2024-12-31", band=band[:2]).set_index(
        ["scope", "criterion"]
    )
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


def _dated(dates, communes=None, lon=None, lat=None):
    n = len(dates)
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "occurred_at": pd.to_datetime(dates),
            "deaths": [1] * n,
            "injured": [1] * n,
            "commune": communes or ["Xã A"] * n,
            "alcohol": [False] * n,
            "vehicle_types": [""] * n,
            "severity": ["nghiem_trong"] * n,
            "lon": lon or [108.0] * n,
            "lat": lat or [14.5] * n,
        }
    )


def test_targets_compare_the_same_months_to_the_last_day_with_data():
    """2024: one crash on the 10th of each month; 2025: one a month to October. Calendar 2025 with data to
    20 October is compared with 1 January – 20 October 2024 (10 against 10: no change, not -17 % 'on track')."""
    d24 = [f"2024-{m:02d}-10" for m in range(1, 13)]
    d25 = [f"2025-{m:02d}-10" for m in range(1, 10)] + ["2025-10-20"]  # the last on 20 October
    c = _dated(d24 + d25)
    t = target_table(c, period_from="2025-01-01", period_to="2025-12-31", band=(5, 10), today="2025-11-23")
    w = t.attrs["windows"]
    assert (str(w["to"].date()), str(w["baseline_to"].date()), w["cut"]) == ("2025-10-20", "2024-10-20", True)
    total = t.loc[(t["scope"] == "Toàn địa bàn") & (t["criterion"] == "crashes")].iloc[0]
    assert (total["previous"], total["current"]) == (10, 10)
    assert total["change_pct"] == 0.0 and total["status"] == "off_track"


def test_no_baseline_reads_no_data_not_off_track():
    c = _dated(["2025-03-01", "2025-04-01"])
    t = target_table(c, period_from="2025-01-01", period_to="2025-12-31", today="2025-11-01")
    assert set(t["status"]) == {"no_data"} and t["change_pct"].isna().all()
    aims = secondary_aims(c, period_from="2025-01-01", period_to="2025-12-31", today="2025-11-01")
    assert set(aims.loc[aims["aim"] != "no_especially_serious", "status"]) == {"no_data"}


def test_targets_report_of_a_plan_counts_only_its_area(ql24_store, monkeypatch, capsys, tmp_path):
    """The Kon Rẫy plan's targets count the crashes inside the Kon Rẫy boundary, not the whole store."""
    import json

    import cli
    from geo.io import read_table
    from services.importing import boundaries_from_table
    from services.plans import targets_report

    import shapely

    store = ql24_store
    # a commune of the same name (after 2025 there is a Xã Kon Rẫy), here drawn around the far crashes: the
    # district's plan must take the district, the level its issuer (UBND HUYỆN …) names
    store.add_admin_units(
        pd.DataFrame(
            {
                "name": ["Xã Kon Rẫy"],
                "level": ["commune"],
                "code": ["X1"],
                "geometry": [shapely.box(114.0, 22.2, 114.2, 22.4)],
            }
        )
    )
    units = boundaries_from_table(read_table(SHARED / "vietnam" / "kon_ray_district.geojson"), level="district")
    assert units["name"].tolist() == ["Huyện Kon Rẫy"]  # as the file names it: the plan's issuer says "HUYỆN KON RẪY"
    store.add_admin_units(units)
    draft = parse_plan(read_plan_text(KON_RAY.read_bytes(), KON_RAY.name))
    store.save_plan(draft)
    # crashes far outside the district (Hong Kong) must not count
    from services.importing import commit_crashes, preview_crashes

    far = _dated(["2024-05-01"] * 5, lon=[114.1] * 5, lat=[22.3] * 5)
    csv = far.rename(
        columns={
            "occurred_at": "Ngày",
            "lon": "Kinh độ",
            "lat": "Vĩ độ",
            "deaths": "Số người chết",
            "injured": "Số người bị thương",
        }
    )[["Ngày", "Kinh độ", "Vĩ độ", "Số người chết", "Số người bị thương"]]
    csv["Ngày"] = csv["Ngày"].dt.strftime("%d/%m/%Y") + [f" 0{i}:00" for i in range(5)]
    prev = preview_crashes(store, csv.to_csv(index=False).encode(), "xa.csv", bounds=(100, 0, 120, 30))
    commit_crashes(store, prev, valid_only=True)
    rep = targets_report(store, plan_number=draft.number, today="2025-11-23")
    inside = store.crashes_frame()
    inside = inside.loc[inside["lon"] < 110]
    day = inside["occurred_at"].dt.normalize()
    expect = int(((day >= rep["period"]["from"]) & (day <= rep["period"]["to"])).sum())
    crashes_row = next(r for r in rep["rows"] if r["criterion"] == "crashes")
    assert rep["area"].startswith("Huyện Kon Rẫy (district)") and crashes_row["current"] == expect
    assert rep["period"]["from"] == str(pd.Timestamp(draft.period_from).date())
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    assert cli.main(["targets", "--plan", draft.number, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"period", "baseline", "area", "rows"} and set(out["period"]) >= {"from", "to"}
    assert {r["criterion"] for r in out["rows"]} >= {"crashes", "deaths", "injured", "drink_driving"}
    assert all({"current", "previous", "change_pct", "band", "status"} <= set(r) for r in out["rows"])


def test_a_plans_area_is_the_unit_its_issuer_names_with_its_own_word(store):
    """A city and the province of the same name, as boundary files name them: the city's committee's plan
    takes the city, the province's the province, a plan naming the place alone the first found."""
    import shapely

    from services.plans import plan_area

    store.add_admin_units(
        pd.DataFrame(
            {
                "name": ["Tỉnh Kon Tum", "Thành phố Kon Tum", "Huyện Quan Hóa"],
                "level": ["province", "district", "district"],
                "geometry": [
                    shapely.box(107, 14, 108.5, 15.5),
                    shapely.box(107.9, 14.3, 108.1, 14.5),
                    shapely.box(1, 1, 2, 2),
                ],
            }
        )
    )
    city = plan_area(store, {"issuer": "ỦY BAN NHÂN DÂN THÀNH PHỐ KON TUM", "place": "Kon Tum"})[0]
    province = plan_area(store, {"issuer": "UBND TỈNH KON TUM", "place": "Kon Tum"})[0]
    district = plan_area(store, {"issuer": "UBND HUYỆN QUAN HÓA", "place": "Quan Hóa"})[0]
    assert (city, province, district) == (
        "Thành phố Kon Tum (district)",
        "Tỉnh Kon Tum (province)",
        "Huyện Quan Hóa (district)",
    )
