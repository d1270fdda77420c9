"""No crash falls between the lists (issue 15, point 2): properties of
:func:`geo.screening.screen` on random roads, under both rule sets.

Under both rule sets a single crash with a death or an injury meets a
potential-point test on its own window (T2: one fatal crash, T3: one
injury-only crash; DOMAIN.md, Thông tư 41/2024 Điều 14 k3), so the invariant is:

* every casualty crash (deaths + injured > 0) that was screened (road,
  chainage, date inside the date range, not excluded as not-infrastructure by
  the rule set) and whose own window meets a potential test (checked here by
  brute force, not taken from the screen) is a member of a potential point or
  lies within ``[from_m, to_m]`` of a black spot on its road;
* no potential point overlaps a black spot's stretch (ends included);
* each potential point describes its own crashes: interval, window dates,
  counts, EPDO and tests met agree with the crashes listed in its worst window;
* black spots are what the regulation's tests give, computed here by brute
  force (every window, merged when their road intervals meet), and are the
  same rows, crash for crash, as a screen with the potential tests switched off.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import settings
from geo.rules import COUNTERS, get_ruleset
from geo.screening import BLACK_SPOT, crash_counters, screen

RULESETS = ("tt41-2024", "tt26-2012")
DAY0 = pd.Timestamp("2023-01-01")
ROADS = ("QL24", "DT671")


@st.composite
def crash_tables(draw):
    """1–2 roads of 0.6–3 km, up to 50 crashes over 2 years (chainage in half
    metres, so crashes exactly one window length apart happen), deaths and
    injured mostly zero, some not caused by the road; sometimes a date range."""
    n = draw(st.integers(0, 50))
    length = draw(st.sampled_from((600, 1500, 3000)))
    urban = {r: draw(st.booleans()) for r in ROADS}
    rows = []
    for i in range(n):
        road = draw(st.sampled_from(ROADS[:1] * 3 + ROADS[1:]))
        rows.append(
            {
                "crash_id": 100 + i,
                "road": road,
                "chainage_m": draw(st.integers(0, 2 * length)) / 2,
                "occurred_at": DAY0 + pd.Timedelta(days=draw(st.integers(0, 730))),
                "deaths": draw(st.sampled_from((0, 0, 0, 0, 1, 1, 2))),
                "injured": draw(st.sampled_from((0, 0, 0, 1, 1, 2, 3))),
                "not_infrastructure": draw(st.sampled_from((False, False, False, False, True))),
                "urban": urban[road],
            }
        )
    df = pd.DataFrame(
        rows,
        columns=["crash_id", "road", "chainage_m", "occurred_at", "deaths", "injured", "not_infrastructure", "urban"],
    )
    date_from = date_to = None
    if draw(st.integers(0, 3)) == 0:
        date_from = DAY0 + pd.Timedelta(days=draw(st.integers(0, 300)))
        date_to = date_from + pd.Timedelta(days=draw(st.integers(0, 500)))
    return df, draw(st.sampled_from(RULESETS)), date_from, date_to


def screened(df, rs, date_from=None, date_to=None) -> pd.DataFrame:
    """The crashes the screen must consider (road, chainage, date in range, not
    excluded as not caused by the road)."""
    keep = df["road"].notna() & df["chainage_m"].notna() & df["occurred_at"].notna()
    if date_from is not None:
        keep &= df["occurred_at"] >= date_from
    if date_to is not None:
        keep &= df["occurred_at"] < date_to + pd.Timedelta(days=1)
    if rs.exclude_not_infrastructure:
        keep &= ~df["not_infrastructure"].astype(bool)
    return df.loc[keep].reset_index(drop=True)


class Brute:
    """The screened crashes as arrays, for brute-force windows."""

    def __init__(self, d: pd.DataFrame, rs):
        self.rs = rs
        self.ids = d["crash_id"].to_numpy()
        self.road = d["road"].astype(str).to_numpy()
        self.c = d["chainage_m"].to_numpy(float)
        self.t = d["occurred_at"].to_numpy("datetime64[D]")
        self.end = (d["occurred_at"] + pd.DateOffset(months=rs.window_months)).to_numpy("datetime64[D]")
        self.length = np.where(d["urban"].to_numpy(bool), rs.segment_length_m["urban"], rs.segment_length_m["rural"])
        cnt = crash_counters(d["deaths"], d["injured"])
        self.ind = np.stack([cnt[k] for k in COUNTERS])

    def counters(self, m) -> dict[str, int]:
        return dict(zip(COUNTERS, self.ind[:, m].sum(axis=1).tolist()))

    def stretch(self, a):
        """Crashes on the ``L`` metres of road from crash ``a``'s chainage."""
        return (self.road == self.road[a]) & (self.c >= self.c[a]) & (self.c <= self.c[a] + self.length[a])

    def window(self, a, s):
        """Crashes of the window starting at crash ``a``'s chainage and crash ``s``'s date."""
        return self.stretch(a) & (self.t >= self.t[s]) & (self.t < self.end[s])

    def black_spots(self) -> set:
        """(road, from_m, to_m, crash ids) of the black spots: every window
        meeting a black-spot test, merged while their road intervals meet."""
        qual = []
        for a in range(len(self.c)):
            for s in np.flatnonzero(self.stretch(a)):
                m = self.window(a, s)
                if meets(self.rs.blackspot_tests, self.counters(m)):
                    qual.append((self.road[a], self.c[a], self.c[m].max(), m))
        qual.sort(key=lambda x: (x[0], x[1]))
        groups, reach = [], (None, -np.inf)
        for road, a, b, m in qual:
            if road != reach[0] or a > reach[1]:
                groups.append(np.zeros(len(self.c), bool))
                reach = (road, -np.inf)
            groups[-1] |= m
            reach = (road, max(reach[1], b))
        return {
            (self.road[m][0], float(self.c[m].min()), float(self.c[m].max()), frozenset(self.ids[m])) for m in groups
        }

    def own_window_qualifies(self) -> np.ndarray:
        """Crashes whose own window (their chainage and date as start) meets a
        potential test, black spots ignored."""
        return np.array(
            [bool(meets(self.rs.potential_tests, self.counters(self.window(i, i)))) for i in range(len(self.c))],
            dtype=bool,
        )


def meets(tests, c: dict[str, int]) -> list[str]:
    return [t.code for t in tests if all(c[k] >= v for k, v in t.min.items())]


def spot_sets(res, kind) -> set:
    spots = res.spots.loc[res.spots["kind"] == kind]
    return {(r.road, float(r.from_m), float(r.to_m), frozenset(res.crash_ids(r.spot))) for r in spots.itertuples()}


def inside_black(res, road, chainage) -> bool:
    b = res.black_spots
    b = b.loc[b["road"] == str(road)]
    return bool(((b["from_m"] <= chainage) & (chainage <= b["to_m"])).any())


def check(df, ruleset, date_from=None, date_to=None):
    rs = get_ruleset(ruleset)
    res = screen(df, ruleset=rs, date_from=date_from, date_to=date_to)
    d = screened(df, rs, date_from, date_to)
    assert res.n_screened == len(d)
    by_id = d.set_index("crash_id")
    brute = Brute(d, rs)

    # black spots: the regulation's, crash for crash, and untouched by the potential points
    assert spot_sets(res, BLACK_SPOT) == brute.black_spots()
    alone = screen(df, ruleset=dataclasses.replace(rs, potential_tests=()), date_from=date_from, date_to=date_to)
    assert alone.potential_points.empty
    n_black = len(alone.spots)
    assert len(res.black_spots) == n_black
    if n_black:  # (an empty result is a bare frame of object columns)
        pd.testing.assert_frame_equal(res.black_spots.reset_index(drop=True), alone.spots)
        pd.testing.assert_frame_equal(
            res.members.loc[res.members["spot"] < n_black].reset_index(drop=True), alone.members
        )

    # no casualty crash falls between the lists
    pot = res.potential_points
    pot_members = set(res.members.loc[res.members["spot"].isin(pot["spot"]), "crash_id"])
    casualty = (d["deaths"] + d["injured"]).to_numpy() > 0
    qualifies = brute.own_window_qualifies()
    assert (qualifies | ~casualty).all(), "under both rule sets one casualty crash meets T2 or T3 by itself"
    lost = [
        r.crash_id
        for r, q in zip(d.itertuples(), qualifies & casualty)
        if q and r.crash_id not in pot_members and not inside_black(res, r.road, r.chainage_m)
    ]
    assert not lost, f"on no list: {lost}"

    # potential points never overlap a black spot, nor each other, and describe their own crashes
    merged = pot.merge(res.spots, on="road", suffixes=("", "_o"))
    touch = (merged["from_m"] <= merged["to_m_o"]) & (merged["to_m"] >= merged["from_m_o"])
    assert not (touch & (merged["spot"] != merged["spot_o"])).any()
    w = settings.EPDO_WEIGHTS
    for p in pot.itertuples():
        crashes = by_id.loc[res.crash_ids(p.spot)]
        assert (crashes["road"].astype(str) == p.road).all()
        assert (p.from_m, p.to_m) == (crashes["chainage_m"].min(), crashes["chainage_m"].max())
        assert not any(inside_black(res, p.road, x) for x in crashes["chainage_m"])
        win = by_id.loc[res.crash_ids(p.spot, window_only=True)]
        c = {k: int(v.sum()) for k, v in crash_counters(win["deaths"], win["injured"]).items()}
        assert (p.n_crashes, p.fatal_crashes, p.injury_crashes, p.collisions) == (
            len(win),
            c["fatal"],
            c["injury_only"],
            c["collisions"],
        )
        assert (p.deaths, p.injured) == (win["deaths"].sum(), win["injured"].sum())
        assert p.epdo == w["fatal"] * c["fatal"] + w["injury"] * c["injury_only"] + w["pdo"] * c["collisions"]
        assert p.tests.split(",") == meets(rs.potential_tests, c) and not meets(rs.blackspot_tests, c)
        assert p.window_start == win["occurred_at"].min() and win["occurred_at"].max() <= p.window_end
        assert p.window_end < p.window_start + pd.DateOffset(months=rs.window_months)
    return res


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crash_tables())
def test_no_casualty_crash_falls_between_the_lists(case):
    df, ruleset, date_from, date_to = case
    check(df, ruleset, date_from, date_to)


def rows(*recs):
    """recs: (chainage_m, 'YYYY-MM-DD', deaths, injured)"""
    return pd.DataFrame(
        [
            {
                "crash_id": i,
                "road": "QL24",
                "chainage_m": r[0],
                "occurred_at": pd.Timestamp(r[1]),
                "deaths": r[2],
                "injured": r[3],
                "not_infrastructure": False,
                "urban": False,
            }
            for i, r in enumerate(recs, start=1)
        ]
    )


def test_fatal_crash_between_two_black_spots_is_a_potential_point():
    """The reported case: a crash with 2 deaths 250 m after one black spot and
    300 m before another, more than 12 months after both, was on no list (each
    window holding it also reached into a black spot's stretch)."""
    data = rows(
        (0, "2023-01-10", 1, 0),
        (100, "2023-02-10", 1, 0),  # black spot [0, 100]
        (350, "2024-06-01", 2, 0),  # the fatal crash
        (650, "2023-03-10", 1, 0),
        (700, "2023-04-10", 1, 1),
    )  # black spot [650, 700]
    for ruleset in RULESETS:
        res = check(data, ruleset)
        assert res.black_spots[["from_m", "to_m"]].values.tolist() == [[0, 100], [650, 700]]
        assert len(res.potential_points) == 1
        p = res.potential_points.iloc[0]
        assert (p["from_m"], p["to_m"], p["tests"], p["deaths"]) == (350, 350, "T2", 2)
        assert res.crash_ids(p["spot"]) == [3]


def test_potential_point_is_split_by_a_black_spot_and_keeps_the_crashes_beside_it():
    """Injury crashes 100 m either side of a black spot, after its 12 months:
    the window from 900 m holds both and crosses the black spot, so it was
    dropped and the crash at 900 m was on no list. Now one potential point on
    each side, none over the black spot; the black spot is as without them."""
    data = rows(
        (1000, "2024-01-10", 1, 0),
        (1100, "2024-02-10", 1, 0),  # black spot [1000, 1100]
        (900, "2025-06-01", 0, 1),
        (1200, "2025-06-01", 0, 2),
        (1250, "2025-07-01", 0, 0),
    )
    res = check(data, "tt41-2024")
    assert res.black_spots[["from_m", "to_m"]].values.tolist() == [[1000, 1100]]
    assert sorted(res.black_spots.pipe(lambda b: res.crash_ids(b["spot"].iloc[0]))) == [1, 2]
    pot = res.potential_points.sort_values("from_m")
    assert pot[["from_m", "to_m", "tests", "n_crashes"]].values.tolist() == [[900, 900, "T3", 1], [1200, 1250, "T3", 2]]
    assert sorted(res.crash_ids(pot["spot"].iloc[1])) == [4, 5]


def test_crash_inside_a_black_spots_stretch_but_outside_its_window_stays_with_the_black_spot():
    """A crash years before the black spot's window but inside its stretch is no
    potential point of its own: the black spot covers that stretch."""
    data = rows((1000, "2024-01-10", 1, 0), (1100, "2024-02-10", 1, 0), (1050, "2021-05-01", 0, 1))
    res = check(data, "tt41-2024")
    assert len(res.black_spots) == 1 and res.potential_points.empty
