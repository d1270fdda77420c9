"""Saving a screening set-based (issue 18.1) gives exactly what the ORM did:
same diff, same rows, same versions, same audit rows, on both back-ends.

``_orm_save_screening`` below is the method as it was before the rewrite (one
ORM object per spot, the ``after_flush`` listener writing the audit rows),
kept as the reference: each test runs the same seeded, randomised sequence of
screenings through it on one store and through ``Store.save_screening`` on
another, and compares everything after each save.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import select, update

import models._store_spots as store_spots
from geo.screening import ScreeningResult
from models._store_base import _py
from models._store_spots import SCREENED_AT
from models.enums import BlackspotStatus, SpotKind
from models.orm import AuditLog, Blackspot
from models.permissions import Action
from services.blackspots import get_rules

T0 = datetime(2025, 3, 1, 8, 30, 15, 123456)
SENTINEL = datetime(2000, 1, 1, 0, 0, 0)
ROADS = ["R1", "R2", "R3", "X9"]  # X9: a road the store does not know (no road id)


# ------------------------------------------------------------ the reference
def _spot_summary(b: Blackspot) -> dict:
    """A spot as a screen's report names it."""
    return {
        "id": b.id,
        "kind": b.kind.value if hasattr(b.kind, "value") else b.kind,
        "road": b.road_code,
        "from_m": b.from_m,
        "to_m": b.to_m,
        "n_crashes": b.n_crashes,
        "deaths": b.deaths,
        "injured": b.injured,
        "tests": b.tests,
        "n_windows": b.n_windows,
        "window_m": b.window_m,
        "window_start": str(b.window_start) if b.window_start else None,
        "window_end": str(b.window_end) if b.window_end else None,
        "status": getattr(b.status, "value", b.status),
    }


def _orm_save_screening(
    self, result, *, communes=None, geometries=None, road_ids=None, user=None, now=None
) -> dict[str, list]:
    """``SpotsMixin.save_screening`` before issue 18.1, verbatim but for ``now``
    (given, so both paths stamp the same time) and ``order_by(Blackspot.id)``
    (the old query had no order: SQLite walked the rows by id, PostgreSQL in
    its heap's order; the set-based path walks them by id on both)."""
    self._check(Action.SCREEN)
    spots = result.with_crash_lists() if len(result.spots) else result.spots
    now = now or datetime.now()
    commune_of = communes or {}
    geoms = geometries or {}
    road_ids = road_ids or {}
    diff: dict[str, list] = {"new": [], "grown": [], "changed": [], "unchanged": [], "no_longer_met": []}
    with self.session(user) as s:
        existing = (
            s.execute(
                select(Blackspot)
                .where(
                    Blackspot.manual.is_(False),
                    Blackspot.deleted.is_(False),
                    Blackspot.ruleset == result.ruleset.id,
                    Blackspot.kind.in_([SpotKind.BLACK_SPOT, SpotKind.POTENTIAL]),
                )
                .order_by(Blackspot.id)
            )
            .scalars()
            .all()
        )
        by_road: dict[tuple, list[Blackspot]] = {}
        for b in existing:
            by_road.setdefault((b.kind.value, b.road_code), []).append(b)
        seen: set[int] = set()
        created = []
        for rec in spots.to_dict("records"):
            ids = [_py(v) for v in str(rec["crash_ids"]).split(";")]
            wids = [_py(v) for v in str(rec["window_crash_ids"]).split(";")]
            values = dict(
                road_code=rec["road"],
                road_id=road_ids.get(rec["road"]),
                from_m=float(rec["from_m"]),
                to_m=float(rec["to_m"]),
                ruleset=result.ruleset.id,
                tests=rec["tests"],
                test_labels=rec["test_labels"],
                window_start=pd.Timestamp(rec["window_start"]).date(),
                window_end=pd.Timestamp(rec["window_end"]).date(),
                n_crashes=int(rec["n_crashes"]),
                deaths=int(rec["deaths"]),
                injured=int(rec["injured"]),
                epdo=float(rec["epdo"]),
                n_windows=int(rec.get("n_windows") or 1),
                window_m=float(rec["window_m"]) if pd.notna(rec.get("window_m")) else None,
                crash_ids=ids,
                window_crash_ids=wids,
                still_qualifies=True,
                last_run_at=now,
                commune=commune_of.get(int(rec["spot"])),
                geom=geoms.get(int(rec["spot"])),
                updated_by=user,
            )
            match = None
            for b in by_road.get((rec["kind"], rec["road"]), []):
                if b.id not in seen and b.from_m <= values["to_m"] + 1 and b.to_m >= values["from_m"] - 1:
                    match = b
                    break
            if match is None:
                b = Blackspot(
                    kind=SpotKind(rec["kind"]), status=BlackspotStatus.CANDIDATE, first_detected_at=now, **values
                )
                s.add(b)
                created.append(b)
                continue
            seen.add(match.id)
            before = _spot_summary(match)
            grown = (
                values["from_m"] < match.from_m - 0.5
                or values["to_m"] > match.to_m + 0.5
                or len(set(ids) - set(match.crash_ids or [])) > 0
            )
            changed = False
            for k, v in values.items():
                if k in ("last_run_at", "updated_by", "geom"):
                    continue
                if getattr(match, k) != v:
                    setattr(match, k, v)
                    changed = True
            if changed:
                match.last_run_at = now
                if values["geom"] is not None:
                    match.geom = values["geom"]
            entry = _spot_summary(match) | {"before": before}
            diff["grown" if changed and grown else "changed" if changed else "unchanged"].append(entry)
        for b in existing:
            if b.id not in seen and b.still_qualifies:
                b.still_qualifies = False
                b.last_run_at = now
                diff["no_longer_met"].append(_spot_summary(b))
        s.flush()
        diff["new"] = [_spot_summary(b) for b in created]
    screened = self.screened_at()
    screened[result.ruleset.id] = now.isoformat()
    self.set_setting(SCREENED_AT, screened, user=user, action=Action.SCREEN)
    return diff


# ------------------------------------------------------------ the inputs
class _Clock(datetime):
    """``datetime`` whose ``now()`` is the test's clock (patched into the module under test)."""

    at = T0

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return cls.at


def _spot(rng, spot_id: int) -> dict:
    """One random spot: on a 100 m grid with jitter, so stretches touch, overlap and nest."""
    start = float(rng.integers(0, 30) * 100 + rng.choice([0.0, 0.4, 0.75, 1.0, 1.5, 37.25]))
    length = float(rng.choice([0.0, 50.0, 100.0, 300.0, 1000.0]))
    ws = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 400)))
    n_ids = int(rng.integers(1, 6))
    ids = sorted({int(v) for v in rng.integers(1, 60, n_ids)})
    if rng.random() < 0.05:
        ids.append(f"hk-{int(rng.integers(0, 9))}")  # a text crash id
    return {
        "uid": spot_id,  # the test's own identity of a spot, to perturb it later
        "kind": str(rng.choice(["black_spot", "potential"])),
        "road": str(rng.choice(ROADS)),
        "from_m": start,
        "to_m": start + length,
        "tests": str(rng.choice(["a", "b", "a,b"])),
        "test_labels": str(rng.choice(["Hai vụ chết", "Ba vụ"])),
        "window_start": ws,
        "window_end": ws + pd.Timedelta(days=364),
        "n_crashes": len(ids),
        "deaths": int(rng.integers(0, 3)),
        "injured": int(rng.integers(0, 5)),
        "epdo": float(rng.integers(0, 50)) + 0.5,
        "n_windows": int(rng.integers(1, 4)),
        "window_m": float(rng.choice([300.0, 500.0])) if rng.random() < 0.9 else np.nan,
        "ids": ids,
        "window_ids": ids[: max(1, len(ids) - 1)],
        "commune": str(rng.choice(["Đăk Tô", "Ngọc Hồi"])) if rng.random() < 0.8 else None,
        "geom": shapely.LineString([(107.5 + start / 1e5, 14.6), (107.5 + (start + length + 1) / 1e5, 14.6)])
        if rng.random() < 0.85
        else None,
    }


def _perturb(rng, spots: list[dict], next_id: int) -> tuple[list[dict], int]:
    """The next screening: spots kept, grown, changed, moved, dropped, back, and new ones."""
    out = []
    for sp in spots:
        r = rng.random()
        sp = dict(sp)
        if r < 0.12:  # no longer found
            continue
        if r < 0.18:  # grows (a longer stretch and a new crash)
            sp["to_m"] += float(rng.choice([0.3, 120.0]))
            sp["ids"] = sp["ids"] + [int(rng.integers(60, 90))]
            sp["n_crashes"] = len(sp["ids"])
        elif r < 0.25:  # its stretch alone moves by about half a metre (grown only past 0.5 m)
            side = str(rng.choice(["from_m", "to_m"]))
            sp[side] += float(rng.choice([-0.5, -0.5625, 0.5, 0.5625]))
        elif r < 0.35:  # other values change
            sp["deaths"] += 1
            sp["epdo"] += 10.0
            sp["commune"] = None if sp["commune"] else "Đăk Hà"
            sp["window_m"] = np.nan if pd.notna(sp["window_m"]) else 300.0
        elif r < 0.42:  # shrinks at its start, loses a crash (its worst window keeps one at least, as a screen's)
            sp["from_m"] += 20.0
            sp["ids"] = sp["ids"][1:] or sp["ids"]
            sp["window_ids"] = [i for i in sp["window_ids"] if i in sp["ids"]] or sp["ids"][:1]
        elif r < 0.48:  # a new geometry only (no other change: not saved)
            sp["geom"] = shapely.Point(107.6, 14.7)
        elif r < 0.52:  # changed and its geometry goes (not given: kept)
            sp["tests"] = sp["tests"] + ",c"
            sp["geom"] = None
        elif r < 0.56:  # changed, same geometry given again
            sp["injured"] += 2
        out.append(sp)
    for _ in range(int(rng.integers(2, 8))):
        out.append(_spot(rng, next_id))
        next_id += 1
    for sp in [spots[int(k)] for k in rng.integers(0, len(spots), 4)] if spots else []:
        # a new spot just touching an earlier one's ends: 1 m apart matches, a little more does not
        gap = float(rng.choice([1.0, 1.125]))
        if rng.random() < 0.5:
            out.append(dict(sp, uid=next_id, from_m=sp["to_m"] + gap, to_m=sp["to_m"] + gap + 50.0))
        else:
            out.append(dict(sp, uid=next_id, from_m=sp["from_m"] - gap - 50.0, to_m=sp["from_m"] - gap))
        next_id += 1
    order = rng.permutation(len(out))
    return [out[i] for i in order], next_id


def _result(spots: list[dict], ruleset: str = "tt41-2024") -> tuple[ScreeningResult, dict, dict]:
    """A screening result of these spots, with its communes and geometries by spot number."""
    cols = [
        "kind",
        "road",
        "from_m",
        "to_m",
        "tests",
        "test_labels",
        "window_start",
        "window_end",
        "n_crashes",
        "deaths",
        "injured",
        "epdo",
        "n_windows",
        "window_m",
    ]
    frame = pd.DataFrame([{c: sp[c] for c in cols} for sp in spots], columns=cols)
    frame.insert(0, "spot", np.arange(len(frame)))
    members = pd.DataFrame(
        [
            {"spot": i, "crash_id": cid, "in_window": cid in sp["window_ids"]}
            for i, sp in enumerate(spots)
            for cid in sp["ids"]
        ],
        columns=["spot", "crash_id", "in_window"],
    )
    res = ScreeningResult(
        spots=frame,
        members=members,
        ruleset=get_rules(ruleset),
        n_screened=0,
        n_excluded_not_infrastructure=0,
        n_without_chainage=0,
    )
    communes = {i: sp["commune"] for i, sp in enumerate(spots) if sp["commune"] is not None}
    geoms = {i: sp["geom"] for i, sp in enumerate(spots) if sp["geom"] is not None}
    return res, communes, geoms


# ------------------------------------------------------------ the stores
@pytest.fixture
def reference_store(store, request, tmp_path):
    """A second, empty store on the same back-end as ``store``."""
    from models.store import Store

    if not store.postgres:
        yield Store(f"sqlite:///{tmp_path / 'reference.sqlite'}")
        return
    from tests.conftest import pg_database

    with pg_database(request.getfixturevalue("postgis_template")) as url:
        yield Store(url)


def _prepare(store) -> dict[str, int]:
    roads = pd.DataFrame(
        {
            "code": ["R1", "R2", "R3"],
            "name": ["Road 1", "Road 2", "Road 3"],
            "geometry": [shapely.LineString([(107.5, 14.5 + k / 10), (107.6, 14.5 + k / 10)]) for k in range(3)],
            "road_class": ["III"] * 3,
            "km_start_m": [0.0] * 3,
        }
    )
    ids = store.add_roads(roads, user="an")
    # a hand-flagged point and a deleted spot on R1: a screen never touches them
    store.flag_potential_point(lon=107.55, lat=14.5, reason="khúc cua", road_code="R1", chainage_m=150.0, user="an")
    with store.engine.begin() as conn:  # stamped by the database's clock: the same in both stores
        conn.execute(update(Blackspot.__table__).values(first_detected_at=SENTINEL))
    return dict(zip(roads["code"], ids))


def _state(store, audit_after: int) -> tuple[list, list, int]:
    """(blackspot rows but updated_at, whether updated_at moved, audit rows since ``audit_after``)."""
    t = Blackspot.__table__
    cols = [c for c in t.columns if c.key != "updated_at"]
    with store.engine.connect() as conn:
        rows = [
            tuple(shapely.to_wkt(v) if isinstance(v, shapely.Geometry) else v for v in r)
            for r in conn.execute(select(*cols).order_by(t.c.id))
        ]
        touched = [r[0] != SENTINEL for r in conn.execute(select(t.c.updated_at).order_by(t.c.id))]
        a = AuditLog.__table__
        audit = conn.execute(
            select(a.c.id, a.c.user, a.c.table_name, a.c.row_id, a.c.action, a.c.changes, a.c.os_user)
            .where(a.c.id > audit_after)
            .order_by(a.c.id)
        ).all()
    last = max([audit_after] + [r[0] for r in audit])
    # the ORM wrote the update rows in its identity map's order (a set's): compare them as a multiset
    spots_audit = sorted(
        (r[1], r[2], r[3], r[4], json.dumps(r[5], ensure_ascii=False), r[6]) for r in audit if r[2] == "blackspot"
    )
    creates = [r[3] for r in audit if r[2] == "blackspot" and r[4] == "create"]
    assert creates == sorted(creates)  # created in the screening's order
    others = [(r[1], r[2], r[4]) for r in audit if r[2] != "blackspot"]
    return rows, [touched, spots_audit, others], last


def _reset_updated_at(store) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(Blackspot.__table__).values(updated_at=SENTINEL))


def _save_both(store, ref, spots, road_ids, *, ruleset="tt41-2024", user="an", now=T0, monkeypatch=None):
    res, communes, geoms = _result(spots, ruleset)
    kw = dict(communes=communes, geometries=geoms, road_ids=road_ids, user=user)
    monkeypatch.setattr(_Clock, "at", now)
    got = store.save_screening(res, **kw)
    want = _orm_save_screening(ref, res, now=now, **kw)
    return got, want


def _others_write(rng, stores, ruleset: str) -> None:
    """The same writes by other planners on each store: one spot confirmed, one deleted, one point flagged."""
    from services.blackspots import set_blackspot_status

    spots = stores[0].blackspots_frame()
    spots = spots.loc[(spots["ruleset"] == ruleset) & ~spots["manual"].astype(bool)].sort_values("id")
    a, b = (spots.iloc[int(k)] for k in rng.choice(len(spots), 2, replace=False))
    for st in stores:
        set_blackspot_status(st, int(a["id"]), "confirmed", expected_version=int(a["version"]), user="binh")
        st.delete_item("blackspot", int(b["id"]), expected_version=int(b["version"]), user="binh")
        st.flag_potential_point(lon=107.52, lat=14.6, reason="cua gấp", road_code="R2", chainage_m=80.0, user="binh")
        with st.engine.begin() as conn:  # stamped by each clock: the same in both stores
            t = Blackspot.__table__
            conn.execute(update(t).where(t.c.manual.is_(True)).values(first_detected_at=SENTINEL))


def _assert_kept_is_the_store(store, ruleset: str) -> None:
    """What the save kept for the next screening is what reading the spots gives, value and type."""
    with store.engine.connect() as conn:
        kept = store._kept_in(conn, f"earlier_spots:{ruleset}", ("blackspot",), store._state_in(conn)[0])
        fresh = store_spots._earlier_spots(conn, ruleset)
    assert kept is not None, "the save kept its spots"
    assert list(kept) == list(fresh)
    for k in fresh:
        assert [(type(v), v) for v in kept[k]] == [(type(v), v) for v in fresh[k]], k


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_set_based_save_does_what_the_orm_did(store, reference_store, monkeypatch, seed):
    monkeypatch.setattr(store_spots, "datetime", _Clock)
    patched = []  # the kept spots brought up to date by reading again those others wrote
    monkeypatch.setattr(store_spots, "PATCH_SHARE", 0.5)
    patch = store_spots._patched
    monkeypatch.setattr(
        store_spots, "_patched", lambda conn, kept, rs, rows: patched.append(rows) or patch(conn, kept, rs, rows)
    )
    rng = np.random.default_rng(seed)
    road_ids = _prepare(store)
    assert _prepare(reference_store) == road_ids
    spots = [_spot(rng, i) for i in range(40)]
    next_id = 40
    audit_at = {id(store): store.data_version(), id(reference_store): reference_store.data_version()}
    plan = [("tt41-2024", "an"), ("tt41-2024", "an"), ("tt26-2012", "binh"), ("tt41-2024", None), ("tt41-2024", "an")]
    for step, (ruleset, user) in enumerate(plan):
        if step:
            spots, next_id = _perturb(rng, spots, next_id)
        if step == 3:  # spots dropped two screens ago come back
            spots = spots + [dict(sp, uid=-1) for sp in spots[:3]]
        if step in (3, 4):  # between screenings, others write spots: a status, a deletion, a hand-flagged point
            _others_write(rng, (store, reference_store), ruleset)
            audit_at = {id(st): st.data_version() for st in (store, reference_store)}  # the saves' rows compared
        for st in (store, reference_store):
            _reset_updated_at(st)
        now = T0 + timedelta(days=step, microseconds=step)
        got, want = _save_both(
            store, reference_store, spots, road_ids, ruleset=ruleset, user=user, now=now, monkeypatch=monkeypatch
        )
        assert got == want, f"diff differs at step {step}"
        assert [len(got[k]) for k in got] == [len(want[k]) for k in want]
        rows, extra, last = _state(store, audit_at[id(store)])
        rows_ref, extra_ref, last_ref = _state(reference_store, audit_at[id(reference_store)])
        audit_at[id(store)], audit_at[id(reference_store)] = last, last_ref
        for a, b in zip(rows, rows_ref):
            assert a == b, f"row differs at step {step}"
        assert len(rows) == len(rows_ref)
        assert extra[0] == extra_ref[0], f"updated_at moved on other rows at step {step}"
        for a, b in zip(extra[1], extra_ref[1]):
            assert a == b, f"audit row differs at step {step}"
        assert len(extra[1]) == len(extra_ref[1])
        assert extra[2] == extra_ref[2]
        assert store.screened_at() == reference_store.screened_at()
        _assert_kept_is_the_store(store, ruleset)
    assert patched and all(len(rows) == 3 for rows in patched), patched  # a status, a deletion, a flag (step 4)
    # the sequence did exercise every kind of change
    assert (
        rows
        and max(r[[c.key for c in Blackspot.__table__.columns if c.key != "updated_at"].index("version")] for r in rows)
        >= 3
    )


def test_a_screening_saved_twice(store, monkeypatch):
    """The concrete case: a spot grows, one disappears, one is new, one is unchanged."""
    monkeypatch.setattr(store_spots, "datetime", _Clock)
    road_ids = _prepare(store)
    base = dict(
        kind="black_spot",
        tests="a",
        test_labels="Hai vụ chết",
        window_start=pd.Timestamp("2024-01-01"),
        window_end=pd.Timestamp("2024-12-31"),
        deaths=2,
        injured=1,
        epdo=21.5,
        n_windows=1,
        window_m=300.0,
        commune="Đăk Tô",
        geom=None,
    )
    grows = base | dict(
        uid=1,
        road="R1",
        from_m=1000.0,
        to_m=1300.0,
        ids=[1, 2, 3],
        window_ids=[1, 2],
        n_crashes=3,
        geom=shapely.LineString([(107.51, 14.5), (107.52, 14.5)]),
    )
    goes = base | dict(uid=2, road="R2", from_m=500.0, to_m=800.0, ids=[4, 5], window_ids=[4, 5], n_crashes=2)
    stays = base | dict(
        uid=3, road="R1", from_m=5000.0, to_m=5300.0, ids=[6, 7], window_ids=[6, 7], n_crashes=2, kind="potential"
    )
    res, communes, geoms = _result([grows, goes, stays])
    monkeypatch.setattr(_Clock, "at", T0)
    first = store.save_screening(res, communes=communes, geometries=geoms, road_ids=road_ids, user="an")
    assert [d["road"] for d in first["new"]] == ["R1", "R2", "R1"] and not first["unchanged"]
    ids = [d["id"] for d in first["new"]]
    assert all(d["status"] == "candidate" for d in first["new"])

    grown = grows | dict(
        to_m=1450.0, ids=[1, 2, 3, 8], n_crashes=4, geom=shapely.LineString([(107.51, 14.5), (107.53, 14.5)])
    )
    new = base | dict(
        uid=4, road="X9", from_m=0.0, to_m=0.0, ids=[9], window_ids=[9], n_crashes=1, window_m=np.nan, commune=None
    )
    _reset_updated_at(store)
    res, communes, geoms = _result([stays, grown, new])
    t1 = T0 + timedelta(days=1)
    monkeypatch.setattr(_Clock, "at", t1)
    diff = store.save_screening(res, communes=communes, geometries=geoms, road_ids=road_ids, user="binh")

    assert [d["id"] for d in diff["grown"]] == [ids[0]]
    g = diff["grown"][0]
    assert (g["from_m"], g["to_m"], g["n_crashes"]) == (1000.0, 1450.0, 4)
    assert g["before"] == first["new"][0]
    assert [d["id"] for d in diff["unchanged"]] == [ids[2]] and diff["unchanged"][0]["before"] == first["new"][2]
    assert [d["id"] for d in diff["no_longer_met"]] == [ids[1]] and diff["no_longer_met"][0] == first["new"][1]
    assert not diff["changed"]
    assert len(diff["new"]) == 1 and diff["new"][0]["road"] == "X9" and diff["new"][0]["window_m"] is None
    new_id = diff["new"][0]["id"]

    rows = store.blackspots_frame().set_index("id")
    assert rows.loc[ids[0], "version"] == 2 and rows.loc[ids[1], "version"] == 2 and rows.loc[ids[2], "version"] == 1
    assert rows.loc[new_id, "version"] == 1
    assert not rows.loc[ids[1], "still_qualifies"] and rows.loc[ids[0], "still_qualifies"]
    assert rows.loc[ids[0], "geometry"].equals(grown["geom"])
    assert rows.loc[ids[0], "crash_ids"] == [1, 2, 3, 8] and rows.loc[ids[0], "updated_by"] == "an"
    assert pd.Timestamp(rows.loc[ids[2], "last_run_at"]) == pd.Timestamp(T0)
    assert pd.Timestamp(rows.loc[ids[0], "last_run_at"]) == pd.Timestamp(t1)
    assert pd.isna(rows.loc[new_id, "road_id"]) and rows.loc[ids[0], "road_id"] == road_ids["R1"]
    with store.engine.connect() as conn:
        moved = dict(conn.execute(select(Blackspot.id, Blackspot.updated_at)).all())
    assert moved[ids[2]] == SENTINEL and moved[ids[0]] != SENTINEL and moved[ids[1]] != SENTINEL

    h = {i: store.history("blackspot", i) for i in (*ids, new_id)}
    assert list(h[ids[2]]["action"]) == ["create"]  # unchanged: no history line
    assert list(h[ids[0]]["action"]) == ["create", "update"]
    assert list(h[ids[0]]["user"]) == ["an", "binh"]
    upd = h[ids[0]]["changes"].iloc[1]
    assert list(upd) == ["to_m", "geom", "n_crashes", "crash_ids", "last_run_at"]
    assert upd["to_m"] == [1300.0, 1450.0] and upd["n_crashes"] == [3, 4]
    assert upd["crash_ids"] == [[1, 2, 3], [1, 2, 3, 8]]
    assert upd["last_run_at"] == [T0.isoformat(), t1.isoformat()]
    assert upd["geom"] == [grows["geom"].wkt, grown["geom"].wkt]
    gone = h[ids[1]]["changes"].iloc[1]
    assert gone == {"still_qualifies": [True, False], "last_run_at": [T0.isoformat(), t1.isoformat()]}
    created = h[new_id]["changes"].iloc[0]
    assert list(created) == [
        "id",
        "kind",
        "status",
        "road_code",
        "from_m",
        "to_m",
        "ruleset",
        "tests",
        "test_labels",
        "window_start",
        "window_end",
        "n_crashes",
        "deaths",
        "injured",
        "epdo",
        "n_windows",
        "crash_ids",
        "window_crash_ids",
        "manual",
        "still_qualifies",
        "first_detected_at",
        "last_run_at",
        "deleted",
    ]
    assert created["id"] == [None, new_id] and created["kind"] == [None, "black_spot"]
    assert created["window_start"] == [None, "2024-01-01"] and created["crash_ids"] == [None, [9]]
    assert created["first_detected_at"] == [None, t1.isoformat()]
    assert list(h[new_id]["user"]) == ["binh"] and list(h[new_id]["table_name"]) == ["blackspot"]
    assert store.screened_at() == {"tt41-2024": t1.isoformat()}


def test_a_failed_save_leaves_the_store_as_it_was(store, monkeypatch):
    monkeypatch.setattr(store_spots, "datetime", _Clock)
    road_ids = _prepare(store)
    rng = np.random.default_rng(5)
    spots = [_spot(rng, i) for i in range(20)]
    res, communes, geoms = _result(spots)
    store.save_screening(res, communes=communes, geometries=geoms, road_ids=road_ids, user="an")
    before = _state(store, 0)
    spots2, _ = _perturb(rng, spots, 20)
    res, communes, geoms = _result(spots2)
    with pytest.raises(Exception):  # a road id the store does not have: the insert breaks its foreign key
        store.save_screening(res, communes=communes, geometries=geoms, road_ids=road_ids | {"X9": 99_999}, user="an")
    assert _state(store, 0) == before
