"""Home tells a newcomer what to do next (issue 15.11), from the store's state."""

from __future__ import annotations

import pandas as pd

from services.blackspots import run_screening, set_blackspot_status
from services.overview import next_steps


def _keys(store):
    return [s.key for s in next_steps(store)]


def test_next_steps_follow_the_years_work(store, ql24, tmp_path):
    from data.demo import simulated_ql24
    from geo.validate import validate_crashes
    from services.organisation import Organisation, save_organisation

    assert _keys(store) == ["roads", "crashes", "organisation"]
    store.add_roads(ql24, user="an")
    assert _keys(store) == ["crashes", "organisation"]
    net = store.road_network()
    res = validate_crashes(simulated_ql24(), roads=net)
    store.import_crashes(res, filename="sim.csv", roads=net)
    steps = {s.key: s for s in next_steps(store)}
    assert list(steps) == ["screen", "organisation"]
    assert steps["screen"].count == res.n_valid and f"{res.n_valid} vụ chưa được rà soát" in steps["screen"].vi
    assert steps["screen"].page == "blackspots.py"

    _, diff = run_screening(store, user="an")
    steps = {s.key: s for s in next_steps(store)}
    assert "screen" not in steps
    assert steps["review"].count == len(diff["new"]) and steps["review"].page == "blackspots.py"

    # crashes imported after the screen: screen again, with how many
    more = res.rows.copy()
    more["source_id"] = "N" + more.index.astype(str)
    more["occurred_at"] = more["occurred_at"] - pd.Timedelta(days=1)
    from geo.validate import dedup_keys

    more["dedup_key"] = dedup_keys(more)
    res.rows = more.head(5)
    res.n_file_rows = 5
    store.import_crashes(res, filename="more.csv", roads=net)
    assert next_steps(store)[0].key == "screen" and next_steps(store)[0].count == 5
    run_screening(store, user="an")

    spot = store.blackspots_frame(kind="black_spot").iloc[0]
    set_blackspot_status(store, int(spot["id"]), "confirmed", expected_version=int(spot["version"]), user="an")
    steps = {s.key: s for s in next_steps(store)}
    assert steps["works"].count == 1 and steps["works"].page == "works.py"
    store.add_work(work_type="signs", blackspot_id=int(spot["id"]), user="an")
    steps = {s.key: s for s in next_steps(store)}
    assert "works" not in steps and steps["propose"].page == "exports.py"
    assert "Tờ trình" in steps["propose"].en

    save_organisation(
        store,
        Organisation(
            name="Ban An toàn giao thông xã A",
            parent="UBND xã A",
            place="A",
            receiver="Ban An toàn giao thông tỉnh B",
            signer="Nguyễn Văn C",
            signer_title="TRƯỞNG BAN",
        ),
        user="an",
    )
    assert "organisation" not in _keys(store)
