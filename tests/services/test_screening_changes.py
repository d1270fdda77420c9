"""A re-screen says what changed (issue 15.1), and each rule set's results are
kept apart (issue 15.3)."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

import cli
import models._store_spots
import services.blackspots
from geo.io import RawTable
from geo.chainage import format_chainage
from geo.validate import validate_crashes
from services.blackspots import (
    SCREEN_CHANGES,
    run_screening,
    screen_lines,
    screen_summary,
    set_blackspot_status,
    stretch_text,
)


def _second_road(store) -> str:
    """A provincial road with no crashes yet: QL24's line moved 20 km north, from Km 0."""
    import shapely

    ql24 = store.roads_frame().iloc[0]
    line = shapely.transform(ql24["geometry"], lambda xy: xy + [0.0, 0.18])
    store.add_roads(
        pd.DataFrame(
            {
                "code": ["ĐT999"],
                "name": ["Đường tỉnh 999"],
                "geometry": [line],
                "road_class": ["IV"],
                "km_start_m": [0.0],
            }
        ),
        user="an",
    )
    return "ĐT999"


def _add_crashes(store, rows: list[tuple[str, float, int, int]], name: str, road: str = "QL24") -> None:
    """Crashes on a road: (dd/mm/yyyy, chainage in metres, deaths, injured)."""
    frame = pd.DataFrame(
        {
            "Ngày xảy ra": [r[0] for r in rows],
            "Lý trình": [format_chainage(r[1]) for r in rows],
            "Tuyến đường": road,
            "Số người chết": [str(r[2]) for r in rows],
            "Số người bị thương": [str(r[3]) for r in rows],
        }
    )
    net = store.road_network()
    res = validate_crashes(RawTable(frame=frame, fmt="csv"), roads=net)
    assert res.n_errors == 0, res.report
    store.import_crashes(res, filename=name, roads=net)


def test_a_rescreen_reports_new_grown_unchanged_and_the_why_is_the_current_worst_window(ql24_store, monkeypatch):
    store = ql24_store
    asked: list[list[int]] = []
    made = services.blackspots.spot_geometries

    def spot_geometries(*a, spots=None, **kw):
        asked.append(list(spots))
        return made(*a, spots=spots, **kw)

    monkeypatch.setattr(services.blackspots, "spot_geometries", spot_geometries)
    _, first = run_screening(store, user="an")
    assert set(first) == set(SCREEN_CHANGES)
    assert first["new"] and not first["grown"] and not first["unchanged"]
    spots = store.blackspots_frame(kind="black_spot")
    spot = spots.sort_values("to_m").iloc[-1]  # the black spot furthest along the road
    geom_before = store.blackspots_frame().set_index("id").loc[int(spot["id"]), "geometry"]
    ws = pd.Timestamp(spot["window_start"])
    # three crashes, one fatal, 100–250 m past its end and inside its 12 months
    day = (ws + pd.Timedelta(days=40)).strftime("%d/%m/%Y")
    end = float(spot["to_m"])
    _add_crashes(store, [(day, end + 100, 1, 0), (day, end + 180, 0, 1), (day, end + 250, 0, 2)], "them.csv")
    # and on another road, a new one: three fatal crashes within 300 m in a month
    far = 5_000.0
    _add_crashes(
        store,
        [("05/03/2024", far, 1, 0), ("12/03/2024", far + 120, 1, 1), ("20/03/2024", far + 200, 1, 0)],
        "new.csv",
        road=_second_road(store),
    )
    _, diff = run_screening(store, user="an")

    grown = {d["id"]: d for d in diff["grown"]}
    assert int(spot["id"]) in grown, diff
    g = grown[int(spot["id"])]
    assert g["before"]["to_m"] == pytest.approx(end) and g["to_m"] >= end + 250 - 0.5
    new_black = [d for d in diff["new"] if d["kind"] == "black_spot"]
    assert any(d["from_m"] == pytest.approx(far) for d in new_black), diff["new"]
    assert not diff["no_longer_met"]
    # geometries are made for the spots written only (new or changed), and written for them
    assert len(asked) == 2 and len(asked[0]) == len(first["new"])
    assert len(asked[1]) == len(diff["new"]) + len(diff["grown"]) + len(diff["changed"]) < len(asked[0])
    shapes = store.blackspots_frame().set_index("id")["geometry"]
    assert shapes.loc[int(spot["id"])].length > geom_before.length
    assert all(shapes.loc[d["id"]] is not None and not shapes.loc[d["id"]].is_empty for d in diff["new"])
    # every other spot is reported unchanged: nothing falls out of the report
    reported = [d["id"] for k in SCREEN_CHANGES for d in diff[k]]
    assert sorted(reported) == sorted(store.blackspots_frame()["id"])
    assert screen_summary(diff).startswith(f"Mới {len(diff['new'])}, mở rộng {len(diff['grown'])}")
    lines = screen_lines(diff)
    assert any(line.startswith(f"Mở rộng: #{spot['id']} ") and "→" in line for line in lines)

    # the why is the current worst window: its counts are those of the crashes in it, all dated inside it
    after = store.blackspots_frame().set_index("id").loc[int(spot["id"])]
    crashes = store.crashes_frame().set_index("id")
    in_win = crashes.loc[[int(i) for i in after["window_crash_ids"]]]
    assert len(in_win) == after["n_crashes"]
    assert (in_win["deaths"].sum(), in_win["injured"].sum()) == (after["deaths"], after["injured"])
    day_ = in_win["occurred_at"].dt.normalize()
    assert day_.min() >= pd.Timestamp(after["window_start"]) and day_.max() <= pd.Timestamp(after["window_end"])


def test_a_long_stretch_is_shown_as_a_stretch_with_its_windows(ql24_store):
    store = ql24_store
    # fatal crashes every 250 m over 1.5 km in one year: windows of 300 m chained into one stretch
    start = 2_000.0
    _add_crashes(
        store,
        [(f"{d:02d}/05/2024", start + k * 250, 1, 0) for k, d in enumerate(range(1, 8))],
        "s.csv",
        road=_second_road(store),
    )
    run_screening(store, user="an")
    spots = store.blackspots_frame(kind="black_spot")
    s = spots.loc[(spots["from_m"] - start).abs() < 1].iloc[0]
    from geo.rules import get_ruleset

    w = get_ruleset("tt41-2024").segment_length_m["rural"]
    assert s["to_m"] == pytest.approx(start + 1500) and s["window_m"] == w and s["n_windows"] >= 2
    text = stretch_text(s.to_dict())
    assert text == f"Đoạn 1,50 km (nối {s['n_windows']} cửa sổ {w:g} m)"
    assert stretch_text(s.to_dict(), vi=False) == f"Stretch of 1.50 km (chaining {s['n_windows']} windows of {w:g} m)"
    from services.items import item_detail

    d = item_detail(store, "blackspot", int(s["id"]), lang="vi")
    assert ("Đoạn", text) in d.facts


def test_screen_json_on_the_command_line(ql24_store, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", ql24_store.engine.url.render_as_string(hide_password=False))
    assert cli.main(["screen", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"new", "grown", "changed", "unchanged", "no_longer_met", "ruleset"}
    assert len(out["new"]) == out["black_spots"] + out["potential_points"] > 0
    assert cli.main(["screen", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert not again["new"] and len(again["unchanged"]) == len(out["new"])
    assert cli.main(["screen"]) == 0
    assert "Mới 0, mở rộng 0, thay đổi 0, không đổi" in capsys.readouterr().out


def test_each_rule_set_keeps_its_own_results(ql24_store):
    store = ql24_store
    run_screening(store, ruleset="tt41-2024", user="an")
    before = store.blackspots_frame().set_index("id")
    sid = int(before.index[0])
    set_blackspot_status(store, sid, "confirmed", expected_version=int(before.loc[sid, "version"]), user="an")
    before = store.blackspots_frame().set_index("id")
    _, diff = run_screening(store, ruleset="tt26-2012", user="an")
    after = store.blackspots_frame().set_index("id")
    kept = after.loc[before.index]
    # the TT41 spots are untouched: same rule set, status, stretch and version
    cols = ["ruleset", "status", "from_m", "to_m", "version", "still_qualifies"]
    pd.testing.assert_frame_equal(kept[cols], before[cols])
    assert set(after.loc[~after.index.isin(before.index), "ruleset"]) == {"tt26-2012"}
    assert not diff["no_longer_met"] and not diff["grown"] and not diff["unchanged"]
    # and TT41 again reports its own spots unchanged
    _, again = run_screening(store, ruleset="tt41-2024", user="an")
    assert sorted(d["id"] for d in again["unchanged"]) == sorted(before.index)


def test_a_rescreen_reads_the_spots_again_only_after_someone_wrote_one(ql24_store, monkeypatch):
    """A save keeps the spots as it left them for the next screening of the process (issue 18.1); a spot
    written since, by anyone, is read again (the few written, or all of them when many were), and the
    report shows the write."""
    from models.store import Store

    store = ql24_store
    run_screening(store, user="an")
    reads = []
    read = models._store_spots._earlier_spots
    spy = lambda *a: reads.append(a[2] if len(a) > 2 else "all") or read(*a)  # noqa: E731
    monkeypatch.setattr(models._store_spots, "_earlier_spots", spy)
    monkeypatch.setattr(models._store_spots, "PATCH_SHARE", 0.5)  # (a few spots here: one is a large share)
    _, diff = run_screening(store, user="an")
    assert not reads and len(diff["unchanged"]) == len(store.blackspots_frame()) > 0
    spot = store.blackspots_frame().iloc[0]
    other = Store(str(store.engine.url.render_as_string(hide_password=False)))  # another planner's store
    set_blackspot_status(other, int(spot["id"]), "confirmed", expected_version=int(spot["version"]), user="binh")
    _, diff = run_screening(store, user="an")
    assert reads == [[int(spot["id"])]]  # that spot alone read again
    statuses = {d["id"]: d["status"] for d in diff["unchanged"]}
    assert statuses[int(spot["id"])] == "confirmed"
    # a failed save forgets what it kept: the next screening reads the spots again
    monkeypatch.setattr(models._store_spots, "_write_audit", lambda *a: 1 / 0)
    _add_crashes(
        store,
        [("05/03/2024", 5_000.0, 1, 0), ("12/03/2024", 5_120.0, 1, 1), ("20/03/2024", 5_200.0, 1, 0)],
        "new.csv",
        road=_second_road(store),
    )
    with pytest.raises(ZeroDivisionError):
        run_screening(store, user="an")
    monkeypatch.undo()
    monkeypatch.setattr(models._store_spots, "_earlier_spots", spy)
    _, diff = run_screening(store, user="an")
    assert reads[1:] == ["all"] and diff["new"]  # (new crashes alone do not make it read them: no spot was written)
    # many spots written since (a share over PATCH_SHARE): all read again
    monkeypatch.setattr(models._store_spots, "PATCH_SHARE", 0.0)
    spot = store.blackspots_frame().query("status == 'candidate'").iloc[0]
    set_blackspot_status(other, int(spot["id"]), "confirmed", expected_version=int(spot["version"]), user="binh")
    run_screening(store, user="an")
    assert reads[2:] == ["all"]


def test_a_screening_reads_the_kept_crashes_without_changing_them(ql24_store):
    """The screening reads the store's kept crash frame itself (no copy of a million rows): the frame every
    page reads afterwards is the one before, column for column."""
    store = ql24_store
    before = store.crashes_frame()
    kept = store.crashes_frame(shared=True)
    assert kept is store.crashes_frame(shared=True) and before is not kept
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.SettingWithCopyWarning)  # its frame is its own, not a view
        run_screening(store, user="an")
    pd.testing.assert_frame_equal(store.crashes_frame(), before)
    assert list(kept.columns) == list(before.columns)


def test_a_rescreen_that_changes_nothing_leaves_the_spots_as_they_are(ql24_store):
    """No new version and no history line on a spot a re-screen finds unchanged (a planner's open panel stays
    valid, and the history shows real changes only); when it screened is kept per rule set."""
    store = ql24_store
    run_screening(store, user="an")
    before = store.blackspots_frame().set_index("id")
    lines = {i: len(store.history("blackspot", int(i))) for i in before.index}
    _, diff = run_screening(store, user="an")
    after = store.blackspots_frame().set_index("id")
    assert len(diff["unchanged"]) == len(before) and not diff["changed"]
    assert (after["version"] == before["version"]).all()
    assert {i: len(store.history("blackspot", int(i))) for i in after.index} == lines
    assert set(store.get_setting("screened_at")) == {"tt41-2024"}
