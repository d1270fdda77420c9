"""Regulatory black-spot screening along roads (Thông tư 41/2024 Điều 14, or the
legacy Thông tư 26/2012 Điều 4), fully vectorised.

A window is ``L`` metres of one road (``L`` = 500 m outside towns, 200 m in
towns, by default) by 12 months of time. Every window that can hold a different
set of crashes starts at a crash's chainage and a crash's date, so the screen
enumerates, for each crash ``a`` as the start in space, the crashes ``j`` with
``c_a <= c_j <= c_a + L`` on the same road ("pairs"), sorts each group by date,
and for each pair as the start in time counts the crashes dated before the same
date 12 months later with cumulative sums. A window meets a test when each
counter reaches the test's minimum. Qualifying windows whose road intervals
overlap merge into one black spot; the worst window (highest EPDO) is the one
reported, with every test met and the crash list, so a planner can defend it.

Potential crash points are screened after the black spots, on the crashes
lying outside every black spot's chainage interval ``[from_m, to_m]`` on their
road, with each black spot cutting its road so that no window reaches across
one. A potential point therefore never overlaps a black spot, its counts
describe its own crashes only, and no crash falls between the lists: under
both rule sets one crash with a death or an injury meets a potential test by
itself, so every such crash screened is in a black spot's interval or in a
potential point (issue 15). Black spots do not depend on the potential tests.

Boundaries: a crash exactly ``L`` metres from the start is inside; a crash on
the same calendar date 12 months later is outside (the window is the 12
months ``[d, d + 12 months)``).
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geo._arrays import distinct
from geo._screen_kernels import ends_before, pairs_by_day
from geo.chainage import RoadNetwork, line_substrings
from geo.crs import WGS84, transform
from geo.ranking import DEFAULT_EPDO_WEIGHTS
from geo.rules import COUNTERS, RuleSet, Test, get_ruleset

#: Columns of the spot table.
SPOT_COLUMNS = [
    "kind",
    "road",
    "from_m",
    "to_m",
    "tests",
    "test_labels",
    "window_start",
    "window_end",
    "n_crashes",
    "fatal_crashes",
    "injury_crashes",
    "collisions",
    "deaths",
    "injured",
    "epdo",
    "n_windows",
    "spot",
]

BLACK_SPOT = "black_spot"
POTENTIAL = "potential"


@dataclass
class ScreeningResult:
    """Outcome of a screening run.

    Attributes
    ----------
    spots
        One row per black spot or potential crash point (``kind``), with the
        road, chainage interval, the tests met by its worst window, and that
        window's dates and counts. ``spot`` numbers the rows (0..n-1).
    members
        The crashes of each spot: ``spot``, ``crash_id``, and ``in_window``
        (the crash lies in the worst window). Every crash of every qualifying
        window is listed (for a potential point, its windows are counted over
        the crashes outside the black spots' intervals).
    ruleset
        The rule set applied.
    n_screened
        Crashes that entered the screen (with road, chainage and date).
    n_excluded_not_infrastructure
        Crashes left out because their cause was shown not to be the road.
    n_without_chainage
        Crashes that could not be screened (no road or chainage or date).
    """

    spots: pd.DataFrame
    members: pd.DataFrame
    ruleset: RuleSet
    n_screened: int
    n_excluded_not_infrastructure: int
    n_without_chainage: int

    def crash_ids(self, spot: int, *, window_only: bool = False) -> list[object]:
        """Crash ids of one spot (all qualifying windows, or the worst window).

        Parameters
        ----------
        spot
            The spot's number (the ``spot`` column of :attr:`spots`).
        window_only
            Only the crashes of the spot's worst window.

        Returns
        -------
        list
            The crash ids, in the order of :attr:`members`; empty for a number
            that is no spot.

        Examples
        --------
        >>> crashes = pd.DataFrame({"crash_id": [1, 2, 3, 4], "road": ["QL24"] * 4,
        ...     "chainage_m": [1000.0, 1100.0, 1200.0, 9000.0], "deaths": [1, 1, 0, 0], "injured": [0, 0, 2, 1],
        ...     "occurred_at": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-06-10", "2024-02-01"]),
        ...     "commune": ["Đăk Tô", "Đăk Tô", "Ngọc Hồi", "Ngọc Hồi"]})
        >>> result = screen(crashes, ruleset="tt41-2024")
        >>> result.crash_ids(0), result.crash_ids(1)
        ([1, 2, 3], [4])
        """
        m = self.members
        sel = m["spot"].to_numpy() == spot
        if window_only:
            sel &= m["in_window"].to_numpy()
        ids: list[object] = m.loc[sel, "crash_id"].tolist()
        return ids

    def with_crash_lists(self) -> pd.DataFrame:
        """The spots with ``crash_ids`` and ``window_crash_ids`` as text
        (ids joined by ``;``), for export.

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`spots` with the two columns added.

        Examples
        --------
        >>> crashes = pd.DataFrame({"crash_id": [1, 2, 3, 4], "road": ["QL24"] * 4,
        ...     "chainage_m": [1000.0, 1100.0, 1200.0, 9000.0], "deaths": [1, 1, 0, 0], "injured": [0, 0, 2, 1],
        ...     "occurred_at": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-06-10", "2024-02-01"]),
        ...     "commune": ["Đăk Tô", "Đăk Tô", "Ngọc Hồi", "Ngọc Hồi"]})
        >>> result = screen(crashes, ruleset="tt41-2024")
        >>> result.with_crash_lists()[["spot", "kind", "crash_ids", "window_crash_ids"]].to_dict("records")
        [{'spot': 0, 'kind': 'black_spot', 'crash_ids': '1;2;3', 'window_crash_ids': '1;2;3'},
         {'spot': 1, 'kind': 'potential', 'crash_ids': '4', 'window_crash_ids': '4'}]
        """
        out = self.spots.copy()
        spot = self.members["spot"].to_numpy()
        order = np.argsort(spot, kind="stable")  # members come by spot already; stable keeps each spot's order
        spot = spot[order]
        ids = self.members["crash_id"].astype(str).to_numpy()[order]
        in_window = self.members["in_window"].to_numpy(dtype=bool)[order]
        for name, keep in (("crash_ids", None), ("window_crash_ids", in_window)):
            s, i = (spot, ids) if keep is None else (spot[keep], ids[keep])
            # one join per spot over runs of the sorted ids (a groupby's Python aggregation built a Series each)
            starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.array([], dtype=int)
            ends = np.r_[starts[1:], len(s)]
            listed = i.tolist()
            joined = pd.Series(
                [";".join(listed[a:b]) for a, b in zip(starts.tolist(), ends.tolist())], index=s[starts], dtype=object
            )
            out[name] = joined.reindex(out["spot"]).to_numpy()
        return out

    def crash_id_lists(self) -> tuple[list[list[object]], list[list[object]]]:
        """Each spot's crash ids as lists, in the order of :attr:`spots`: all
        its crashes, and its worst window's (the lists
        :meth:`with_crash_lists` joins as text, without the text).

        Examples
        --------
        >>> crashes = pd.DataFrame({"crash_id": [1, 2, 3, 4], "road": ["QL24"] * 4,
        ...     "chainage_m": [1000.0, 1100.0, 1200.0, 9000.0], "deaths": [1, 1, 0, 0], "injured": [0, 0, 2, 1],
        ...     "occurred_at": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-06-10", "2024-02-01"])})
        >>> screen(crashes, ruleset="tt41-2024").crash_id_lists()
        ([[1, 2, 3], [4]], [[1, 2, 3], [4]])
        """
        at = pd.Index(self.spots["spot"].to_numpy())
        spot = self.members["spot"].to_numpy()
        order = np.argsort(spot, kind="stable")  # members come by spot already; stable keeps each spot's order
        spot = spot[order]
        ids = self.members["crash_id"].to_numpy()[order]
        in_window = self.members["in_window"].to_numpy(dtype=bool)[order]
        out: list[list[list[object]]] = []
        for keep in (None, in_window):
            s, i = (spot, ids) if keep is None else (spot[keep], ids[keep])
            starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.array([], dtype=int)
            ends = np.r_[starts[1:], len(s)]
            listed = i.tolist()
            lists: list[list[object]] = [[] for _ in range(len(at))]
            for row, a, b in zip(at.get_indexer(s[starts]).tolist(), starts.tolist(), ends.tolist()):
                if row >= 0:
                    lists[row] = listed[a:b]
            out.append(lists)
        return out[0], out[1]

    @property
    def black_spots(self) -> pd.DataFrame:
        """The rows of :attr:`spots` that are black spots."""
        return self.spots.loc[self.spots["kind"] == BLACK_SPOT]

    @property
    def potential_points(self) -> pd.DataFrame:
        """The rows of :attr:`spots` that are potential crash points."""
        return self.spots.loc[self.spots["kind"] == POTENTIAL]


def crash_counters(deaths: npt.ArrayLike, injured: npt.ArrayLike) -> dict[str, np.ndarray]:
    """Counter indicators per crash.

    Parameters
    ----------
    deaths, injured
        People killed and injured per crash (NaN counts as 0).

    Returns
    -------
    dict of str to numpy.ndarray
        0/1 per crash for each counter of the rule sets: ``crashes`` (with a
        death or an injury), ``fatal``, ``injury_only`` (injured, no death)
        and ``collisions`` (neither).

    Examples
    --------
    >>> {k: v.tolist() for k, v in crash_counters([1, 0, 0], [0, 2, 0]).items()}
    {'crashes': [1, 1, 0], 'fatal': [1, 0, 0], 'injury_only': [0, 1, 0], 'collisions': [0, 0, 1]}
    """
    d = np.nan_to_num(np.asarray(deaths, dtype=float))
    inj = np.nan_to_num(np.asarray(injured, dtype=float))
    fatal = d > 0
    injury_only = ~fatal & (inj > 0)
    crash = fatal | injury_only
    return {
        "crashes": crash.astype(np.int32),
        "fatal": fatal.astype(np.int32),
        "injury_only": injury_only.astype(np.int32),
        "collisions": (~crash).astype(np.int32),
    }


def _days(values: npt.ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _months_later(days: np.ndarray, months: int) -> np.ndarray:
    """The day ``months`` calendar months after each day (days since 1970, as
    :func:`_days` gives them; a month's missing day falls back to its last),
    computed once per distinct day."""
    if not len(days):
        return days.copy()
    first = int(days.min())
    each = np.arange(first, int(days.max()) + 1)  # dates span years, not millions of days: a table by day
    later = _days(pd.DatetimeIndex(each.astype("datetime64[D]")) + pd.DateOffset(months=months))
    out: np.ndarray = later[days - first]
    return out


def screen(
    crashes: pd.DataFrame,
    *,
    ruleset: str | RuleSet | None = None,
    window_m: float | None = None,
    urban_window_m: float | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    epdo_weights: dict[str, float] | None = None,
    workers: int = 1,
) -> ScreeningResult:
    """Find black spots and potential crash points along roads.

    Parameters
    ----------
    crashes
        Columns ``crash_id``, ``road``, ``chainage_m``, ``occurred_at``,
        ``deaths``, ``injured``; optional ``not_infrastructure`` (bool) and
        ``urban`` (bool, the road runs through a town).
    ruleset
        Rule set id or object (default: the newest, see
        :func:`geo.rules.get_ruleset`; the app passes ``settings.DEFAULT_RULESET``).
    window_m, urban_window_m
        Segment length outside / inside towns, overriding the rule set.
    date_from, date_to
        Keep crashes dated in ``[date_from, date_to]`` only.
    epdo_weights
        Weights ``fatal``, ``injury``, ``pdo`` to pick the worst window
        (default :data:`geo.ranking.DEFAULT_EPDO_WEIGHTS`; the app passes
        ``settings.EPDO_WEIGHTS``).
    workers
        Threads working parts of the screen side by side (the kernels let go
        of the GIL): faster on several cores, with each thread's memory
        besides (the app passes ``settings.SCREEN_WORKERS``).

    Returns
    -------
    ScreeningResult
    """
    rs = get_ruleset(ruleset)
    w = epdo_weights or DEFAULT_EPDO_WEIGHTS
    df = crashes
    occurred = pd.to_datetime(df["occurred_at"], errors="coerce")
    keep = occurred.notna().to_numpy() & np.isfinite(pd.to_numeric(df["chainage_m"], errors="coerce").to_numpy())
    # roads as text, sorted as text: converted per distinct value, not per row
    raw_key, raw_roads = pd.factorize(df["road"])
    road_codes, text_key = np.unique(np.asarray(pd.Index(raw_roads).astype(str), dtype=object), return_inverse=True)
    road_codes = np.asarray(road_codes, dtype=object)
    text_key = np.where(road_codes[text_key.reshape(-1)] == "", -1, text_key.reshape(-1))  # blank: no road
    road_all = np.r_[text_key, -1][raw_key]  # -1 (missing road) picks the -1
    keep &= road_all >= 0
    if date_from is not None:
        keep &= (occurred >= pd.Timestamp(date_from)).to_numpy()
    if date_to is not None:
        keep &= (occurred < pd.Timestamp(date_to) + pd.Timedelta(days=1)).to_numpy()
    n_without = int((~keep).sum())
    n_not_infra = 0
    if rs.exclude_not_infrastructure and "not_infrastructure" in df:
        ni = df["not_infrastructure"].fillna(False).astype(bool).to_numpy()
        n_not_infra = int((keep & ni).sum())
        keep &= ~ni
    sub = df[[c for c in ("crash_id", "chainage_m", "deaths", "injured", "urban") if c in df]].loc[keep]
    ids = sub["crash_id"].to_numpy() if "crash_id" in sub else sub.index.to_numpy()
    occurred = occurred[keep]
    n = len(sub)
    empty = ScreeningResult(
        pd.DataFrame(columns=SPOT_COLUMNS),
        pd.DataFrame(
            {"spot": pd.Series(dtype=int), "crash_id": pd.Series(dtype=object), "in_window": pd.Series(dtype=bool)}
        ),
        rs,
        n,
        n_not_infra,
        n_without,
    )
    if n == 0:
        return empty

    rural_l = float(window_m if window_m is not None else rs.segment_length_m["rural"])
    urban_l = float(urban_window_m if urban_window_m is not None else rs.segment_length_m["urban"])
    urban = sub["urban"].fillna(False).astype(bool).to_numpy() if "urban" in sub else np.zeros(n, bool)
    seg_len = np.where(urban, urban_l, rural_l)

    road_key = road_all[keep]  # codes of road_codes (roads absent from sub leave gaps: harmless)
    chain = pd.to_numeric(sub["chainage_m"]).to_numpy(dtype=float)
    start_day = _days(occurred.to_numpy())
    end_day = _months_later(start_day, rs.window_months)
    cnt = crash_counters(sub["deaths"].to_numpy(), sub["injured"].to_numpy())
    deaths = np.nan_to_num(pd.to_numeric(sub["deaths"]).to_numpy(dtype=float))
    injured = np.nan_to_num(pd.to_numeric(sub["injured"]).to_numpy(dtype=float))

    max_len = max(rural_l, urban_l)
    arrays = dict(
        chain=chain, seg_len=seg_len, start_day=start_day, end_day=end_day, deaths=deaths, injured=injured, **cnt
    )
    order = _space_reach(road_key, chain, seg_len, max_len=max_len)[0]
    black = _screen_parts(
        BLACK_SPOT,
        rs.blackspot_tests,
        (),
        road_key,
        arrays,
        w=w,
        max_len=max_len,
        road_codes=road_codes,
        order=order,
        workers=workers,
    )
    # potential points: the crashes outside every black spot's stretch, screened
    # again with the black spots cutting their roads into pieces, so a potential
    # point never overlaps a black spot and the crashes beside one are kept
    crash_of, p_road_key, p_road_codes = np.arange(n), road_key, road_codes
    if black is not None:
        crash_of, p_road_key, p_road_codes = _outside_black(
            black[0], road_key=road_key, chain=chain, road_codes=road_codes
        )
    pot = None
    if len(crash_of):
        # their (road, chainage) order is the black spots' one without the crashes inside them
        at = np.full(n, -1)
        at[crash_of] = np.arange(len(crash_of))
        p_order = at[order]
        pot = _screen_parts(
            POTENTIAL,
            rs.potential_tests,
            rs.blackspot_tests,
            p_road_key,
            {k: v[crash_of] for k, v in arrays.items()},
            w=w,
            max_len=max_len,
            road_codes=p_road_codes,
            order=p_order[p_order >= 0],
            workers=workers,
        )
    frames, members = [], []
    if black is not None:
        frames.append(black[0])
        members.append(black[1])
    if pot is not None:
        f, m = pot
        m["crash"] = crash_of[m["crash"].to_numpy()]
        offset = len(frames[0]) if frames else 0
        f["spot"] += offset
        m["spot"] += offset
        frames.append(f)
        members.append(m)
    if not frames:
        return empty
    spots = pd.concat(frames, ignore_index=True)
    mem = pd.concat(members, ignore_index=True)
    spots = spots.sort_values(
        ["kind", "epdo", "deaths", "n_crashes"], ascending=[True, False, False, False], kind="stable"
    ).reset_index(drop=True)
    renumber = np.full(int(mem["spot"].max()) + 1, -1)
    renumber[spots["spot"].to_numpy()] = np.arange(len(spots))
    mem["spot"] = renumber[mem["spot"].to_numpy()]
    mem = mem.iloc[np.argsort(mem["spot"].to_numpy() * 2 + ~mem["in_window"].to_numpy(), kind="stable")]
    mem["crash_id"] = ids[mem.pop("crash").to_numpy()]
    spots["spot"] = np.arange(len(spots))
    return ScreeningResult(
        spots[SPOT_COLUMNS],
        mem.reset_index(drop=True)[["spot", "crash_id", "in_window"]],
        rs,
        n,
        n_not_infra,
        n_without,
    )


#: Pairs (a window's space anchor and a crash in its reach) worked at once: the screen goes road by
#: road in parts of about this many pairs, so memory stays bounded however dense the crashes are.
PAIRS_PER_PART = 2_000_000
#: Pairs one road may hold (a part is whole roads; ~140 bytes a pair at the screen's peak when most windows
#: qualify, ~3.5 GB here): more means crashes piled on one place, as a file that writes a missing chainage
#: as Km 0+000 does, and the screen refuses, naming the road. A busy 60 km road of a province's four years
#: holds a few million.
MAX_ROAD_PAIRS = 25_000_000


def _screen_parts(
    kind: str,
    tests: Sequence[Test],
    unless_tests: Sequence[Test],
    road_key: np.ndarray,
    arrays: dict[str, np.ndarray],
    *,
    w: dict[str, float],
    max_len: float,
    road_codes: np.ndarray,
    pairs_per_part: int | None = None,
    order: np.ndarray | None = None,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Spots of ``kind`` (:func:`_windows` then :func:`_merge_qualifying`),
    worked in parts of whole roads of about ``pairs_per_part`` pairs each; the
    parts' spots and members put together as one screen gives them (spots in
    road order, members' ``crash`` indexing ``arrays``). ``order``: the
    crashes' (road, chainage) order, when known (see :func:`_space_reach`);
    ``workers`` threads work the parts.

    ``arrays`` holds per crash ``chain``, ``seg_len``, ``start_day``,
    ``end_day``, ``deaths``, ``injured`` and the counters.
    """
    chain, seg_len = arrays["chain"], arrays["seg_len"]
    n = len(chain)
    # pairs per crash, as _windows counts them, to cut the roads into parts
    order, pairs = _space_reach(road_key, chain, seg_len, max_len=max_len, order=order)
    road_sorted = road_key[order]
    road_start = np.flatnonzero(np.r_[True, road_sorted[1:] != road_sorted[:-1]])
    before = np.r_[0, np.cumsum(pairs)][road_start]  # pairs before each road
    per_road = np.diff(np.r_[before, int(pairs.sum())])
    if len(per_road) and per_road.max() > MAX_ROAD_PAIRS:
        from errors import ValueOutOfRange

        worst = int(per_road.argmax())
        a, b = int(road_start[worst]), int(np.r_[road_start, n][worst + 1])
        code = road_codes[road_sorted[a]]
        at = chain[order[a + int(pairs[a:b].argmax())]]  # where the most crashes lie within one window
        raise ValueOutOfRange(
            f"Đường {code}: quá nhiều vụ dồn vào một chỗ (quanh lý trình {at:.0f} m) để rà soát; lý trình "
            f"thiếu bị ghi thành 0? Hãy kiểm tra lý trình trong dữ liệu / Road {code}: too many crashes piled on "
            f"one place (around chainage {at:.0f} m) to screen; missing chainages written as 0? Check the data's "
            "chainages"
        )
    if pairs_per_part is None:  # PAIRS_PER_PART in work at once, shared by the threads, a part each at least
        threads = max(int(workers), 1)
        pairs_per_part = min(PAIRS_PER_PART // threads, max(-(-int(pairs.sum()) // threads), 250_000))
    part_of_road = before // max(int(pairs_per_part), 1)
    cuts = road_start[np.flatnonzero(np.r_[True, part_of_road[1:] != part_of_road[:-1]])]
    bounds = np.r_[cuts, n]
    counters = {k: arrays[k] for k in COUNTERS}

    def part(a: int, b: int) -> tuple[np.ndarray, tuple[pd.DataFrame, pd.DataFrame] | None]:
        idx = np.sort(order[a:b]) if len(bounds) > 2 else np.arange(n)  # in their original order, as one screen
        # these whole roads' crashes keep the whole screen's (road, chainage) order and reach
        reach = (np.searchsorted(idx, order[a:b]), pairs[a:b])
        found = _windows(
            road_key[idx],
            chain[idx],
            seg_len[idx],
            arrays["start_day"][idx],
            arrays["end_day"][idx],
            {k: v[idx] for k, v in counters.items()},
            w,
            max_len=max_len,
            reach=reach,
        )
        got = _merge_qualifying(
            kind,
            tests,
            unless_tests,
            found,
            chain=chain[idx],
            road_key=road_key[idx],
            road_codes=road_codes,
            start_day=arrays["start_day"][idx],
            end_day=arrays["end_day"][idx],
            deaths=arrays["deaths"][idx],
            injured=arrays["injured"][idx],
        )
        return idx, got

    # parts side by side: the compiled pairs and NumPy's sorts and sums let go of the GIL
    workers = min(max(int(workers), 1), len(bounds) - 1)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(part, bounds[:-1].tolist(), bounds[1:].tolist()))
    else:
        results = [part(a, b) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
    frames, members, offset = [], [], 0
    for idx, got in results:
        if got is None:
            continue
        f, m = got
        m["crash"] = idx[m["crash"].to_numpy()]
        f["spot"] += offset
        m["spot"] += offset
        offset += len(f)
        frames.append(f)
        members.append(m)
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True), pd.concat(members, ignore_index=True)


@dataclass
class _Windows:
    """Every window of a screen, one per pair position (a space anchor crash and
    a start date): ``member`` (crash at the position), ``anchor`` (space anchor
    rank, its crash ``order[anchor]``), ``t_end`` (end of the window's
    positions), ``win`` (counters per window) and the EPDO weights ``w``."""

    member: np.ndarray
    order: np.ndarray
    anchor: np.ndarray
    t_end: np.ndarray
    win: dict[str, np.ndarray]
    w: dict[str, float]

    def epdo(self, at: np.ndarray) -> np.ndarray:
        """The EPDO score of the windows at positions ``at``."""
        win, w = self.win, self.w
        score: np.ndarray = (
            w["fatal"] * win["fatal"][at] + w["injury"] * win["injury_only"][at] + w["pdo"] * win["collisions"][at]
        )
        return score


def _space_reach(
    road_key: np.ndarray, chain: np.ndarray, seg_len: np.ndarray, *, max_len: float, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The crashes in (road, chainage) order, and for each in that order how
    many crashes from it on lie within its window's length on its road (itself
    included): one sort and one search on a combined key. ``order``, the
    order a stable sort would give when known (a subset of an earlier screen's
    order), spares the sort when the key is indeed sorted in it."""
    lo = min(0.0, float(np.nanmin(chain)))
    span = float(np.nanmax(chain) - lo + max_len + 10.0)
    skey = road_key * span + (chain - lo)
    if order is not None and len(order) and bool(np.all(np.diff(sorted_key := skey[order]) >= 0)):
        skey = sorted_key
    else:
        order = np.argsort(skey, kind="stable")
        skey = skey[order]
    reach = np.searchsorted(skey, skey + seg_len[order] + 1e-6, side="right") - np.arange(len(chain))
    return order, reach


def _windows(
    road_key: np.ndarray,
    chain: np.ndarray,
    seg_len: np.ndarray,
    start_day: np.ndarray,
    end_day: np.ndarray,
    cnt: dict[str, np.ndarray],
    w: dict[str, float],
    *,
    max_len: float,
    reach: tuple[np.ndarray, np.ndarray] | None = None,
) -> _Windows:
    """Enumerate every window of ``seg_len`` metres by 12 months and count it
    (``reach``: :func:`_space_reach` of these crashes, when known)."""
    if reach is None:
        reach = _space_reach(road_key, chain, seg_len, max_len=max_len)
    order, counts = reach
    # every crash of a window is fatal, injury-only or a collision (no one hurt)
    member, anchor, t_end, fatal, injury_only, collisions = pairs_by_day(
        order, counts, start_day, end_day, cnt["fatal"], cnt["injury_only"]
    )
    win = {"fatal": fatal, "injury_only": injury_only, "crashes": fatal + injury_only, "collisions": collisions}
    assert set(win) == set(COUNTERS)
    return _Windows(member, order, anchor, t_end, win, w)


def _met(win: dict[str, np.ndarray], tests: Sequence[Test]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Windows meeting any of ``tests``, and each test's mask."""
    total = len(win["crashes"])
    per = []
    for t in tests:
        m = np.ones(total, dtype=bool)
        for k, v in t.min.items():
            m &= win[k] >= v
        per.append(m)
    anym = np.logical_or.reduce(per) if per else np.zeros(total, bool)
    return anym, per


def _merge_qualifying(
    kind: str, tests: Sequence[Test], unless_tests: Sequence[Test], found: _Windows, **crash_arrays: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Spots of the windows meeting one of ``tests`` and none of
    ``unless_tests``; ``None`` when no window qualifies."""
    mask, per = _met(found.win, tests)
    if unless_tests:
        mask &= ~_met(found.win, unless_tests)[0]
    if not mask.any():
        return None
    return _merge_windows(
        kind,
        np.flatnonzero(mask),
        per,
        tests,
        t_end=found.t_end,
        member=found.member,
        order=found.order,
        anchor=found.anchor,
        epdo=found.epdo,
        win=found.win,
        **crash_arrays,
    )


def _outside_black(
    black: pd.DataFrame, *, road_key: np.ndarray, chain: np.ndarray, road_codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The crashes lying outside every black spot's ``[from_m, to_m]`` on their
    road, as (crash indices, road key, road names), where the road key numbers
    the stretches of road between black spots (so no window spans one).

    A crash's stretch is the number of black-spot intervals ending before it in
    (road, chainage) order, found by a binary search of its road's intervals
    (:func:`geo._screen_kernels.ends_before`: exact, no combined float key); a
    crash at ``to_m`` is inside.
    """
    b_road = np.searchsorted(road_codes, black["road"].to_numpy(dtype=object)).astype(np.int64)  # codes are sorted
    b_from = black["from_m"].to_numpy(dtype=float)
    b_to = black["to_m"].to_numpy(dtype=float)
    o = np.lexsort((b_to, b_road))
    b_road, b_from, b_to = b_road[o], b_from[o], b_to[o]
    nb = len(b_road)
    k = ends_before(b_road, b_to, road_key, chain)  # black intervals ending before the crash (or the first after it)
    kc = np.minimum(k, nb - 1)
    inside = (k < nb) & (b_road[kc] == road_key) & (b_from[kc] <= chain)
    crash_of = np.flatnonzero(~inside)
    stretch, p_key = np.unique(road_key[crash_of] * (nb + 1) + k[crash_of], return_inverse=True)
    return crash_of, p_key.reshape(-1), road_codes[stretch // (nb + 1)]


def _merge_windows(
    kind: str,
    q: np.ndarray,
    per: list[np.ndarray],
    tests: Sequence[Test],
    *,
    t_end: np.ndarray,
    member: np.ndarray,
    order: np.ndarray,
    chain: np.ndarray,
    road_key: np.ndarray,
    road_codes: np.ndarray,
    start_day: np.ndarray,
    end_day: np.ndarray,
    epdo: typing.Callable[[np.ndarray], np.ndarray],
    win: dict[str, np.ndarray],
    deaths: np.ndarray,
    injured: np.ndarray,
    anchor: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge qualifying windows (pair positions ``q``) into spots; returns the
    spots and their member crashes (``spot``, ``crash`` index, ``in_window``).

    Windows of one space anchor overlap in time; their union is a few runs of
    consecutive pair positions, so members are expanded per run, not per window.
    """
    # runs: union of the windows [q, t_end[q]) of the same space anchor
    grp = anchor[q]
    new_run = np.ones(len(q), dtype=bool)
    new_run[1:] = (grp[1:] != grp[:-1]) | (q[1:] >= t_end[q[:-1]])
    run_of_window = np.cumsum(new_run) - 1
    run_start = q[new_run]
    run_end = np.maximum.reduceat(t_end[q], np.flatnonzero(new_run))
    lens = run_end - run_start
    rid = np.repeat(np.arange(len(run_start)), lens)
    mpos = np.repeat(run_start, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
    mcrash = member[mpos]
    anchor_crash = order[anchor[run_start]]  # each run's space anchor crash
    r_from = chain[anchor_crash]
    r_to = np.maximum.reduceat(chain[mcrash], np.cumsum(lens) - lens)
    r_road = road_key[anchor_crash]
    # merge overlapping road intervals of the runs into spots. Pair positions are
    # grouped by space anchor in (road, chainage) order, so the runs already are
    # in that order: no sort needed.
    span = float(np.nanmax(np.abs(chain)) * 2 + 10.0)
    k_from = r_road * span + r_from
    k_to = np.maximum.accumulate(r_road * span + r_to)
    new = np.ones(len(run_start), dtype=bool)
    new[1:] = k_from[1:] > k_to[:-1]
    spot_of_run = np.cumsum(new) - 1
    n_spots = int(spot_of_run[-1]) + 1
    spot_of_window = spot_of_run[run_of_window]  # non-decreasing
    w_road = r_road[run_of_window]

    # worst window per spot: max EPDO, then most crashes, then earliest, then first
    # (each spot's windows are one contiguous block of q)
    starts = np.flatnonzero(np.r_[True, spot_of_window[1:] != spot_of_window[:-1]])
    score = epdo(q)
    cand = score == np.maximum.reduceat(score, starts)[spot_of_window]
    ncr = win["crashes"][q] + win["collisions"][q]
    ncr_c = np.where(cand, ncr, -1)
    cand &= ncr_c == np.maximum.reduceat(ncr_c, starts)[spot_of_window]
    day = np.where(cand, start_day[member[q]], np.iinfo(np.int64).max)
    cand &= day == np.minimum.reduceat(day, starts)[spot_of_window]
    ci = np.flatnonzero(cand)
    best = ci[np.r_[True, spot_of_window[ci][1:] != spot_of_window[ci][:-1]]]  # index into q, one per spot
    bq = q[best]

    # crash lists: all qualifying windows, and the worst window
    n_crash = len(chain)
    pair_key = np.sort(spot_of_run[rid].astype(np.int64) * n_crash + mcrash)
    pair_key = pair_key[np.r_[True, pair_key[1:] != pair_key[:-1]]]
    p_spot = pair_key // n_crash
    p_crash = pair_key % n_crash
    bounds = np.flatnonzero(np.r_[True, p_spot[1:] != p_spot[:-1]])
    from_m = np.minimum.reduceat(chain[p_crash], bounds)
    to_m = np.maximum.reduceat(chain[p_crash], bounds)
    # the window positions along the road the spot chains (windows of one position differ only in time)
    n_anchor = int(anchor.max()) + 1
    placed = distinct(spot_of_window.astype(np.int64) * n_anchor + anchor[q])
    n_windows = np.bincount(placed // n_anchor, minlength=n_spots)

    wl = t_end[bq] - bq
    bpos = np.repeat(bq, wl) + (np.arange(wl.sum()) - np.repeat(np.cumsum(wl) - wl, wl))
    bspot = np.repeat(np.arange(n_spots), wl)
    bcrash = member[bpos]
    in_win = np.zeros(len(pair_key), dtype=bool)
    in_win[np.searchsorted(pair_key, bspot.astype(np.int64) * n_crash + bcrash)] = True
    w_deaths = np.bincount(bspot, weights=deaths[bcrash], minlength=n_spots)
    w_injured = np.bincount(bspot, weights=injured[bcrash], minlength=n_spots)

    # tests met by the worst window, as a bit pattern mapped to its codes and labels
    bits = np.zeros(len(bq), dtype=np.int64)
    for i, p in enumerate(per):
        bits |= p[bq].astype(np.int64) << i
    patterns, inv = np.unique(bits, return_inverse=True)
    code_of = np.array(
        [",".join(t.code for i, t in enumerate(tests) if pat >> i & 1) for pat in patterns], dtype=object
    )
    label_of = np.array(
        ["; ".join(t.label_vi for i, t in enumerate(tests) if pat >> i & 1) for pat in patterns], dtype=object
    )
    met_codes = code_of[inv]
    met_labels = label_of[inv]
    members = pd.DataFrame({"spot": p_spot, "crash": p_crash, "in_window": in_win})
    spots = pd.DataFrame(
        {
            "spot": np.arange(n_spots),
            "kind": kind,
            "road": road_codes[w_road[best]],
            "from_m": from_m,
            "to_m": to_m,
            "tests": met_codes,
            "test_labels": met_labels,
            "window_start": pd.to_datetime(start_day[member[bq]], unit="D"),
            "window_end": pd.to_datetime(end_day[member[bq]] - 1, unit="D"),
            "n_crashes": win["crashes"][bq].astype(np.int64) + win["collisions"][bq],
            "fatal_crashes": win["fatal"][bq].astype(np.int64),
            "injury_crashes": win["injury_only"][bq].astype(np.int64),
            "collisions": win["collisions"][bq].astype(np.int64),
            "deaths": w_deaths.astype(int),
            "injured": w_injured.astype(int),
            "epdo": epdo(bq).astype(float),
            "n_windows": n_windows,
        }
    )
    return spots, members


# ------------------------------------------------------- what a saved spot keeps
def spot_communes(result: ScreeningResult, crashes: pd.DataFrame) -> dict[int, str]:
    """The commune most of each spot's crashes are in ({spot: commune}; a spot
    whose crashes name none is left out). ``crashes`` has ``crash_id`` (or
    ``id``) and ``commune``.

    Parameters
    ----------
    result
        A screening run (:func:`screen`).
    crashes
        The crashes screened, with ``crash_id`` (or ``id``) and ``commune``.

    Returns
    -------
    dict of int to str
        The commune of each spot; empty when ``crashes`` has no ``commune``.

    Examples
    --------
    >>> crashes = pd.DataFrame({"crash_id": [1, 2, 3, 4], "road": ["QL24"] * 4,
    ...     "chainage_m": [1000.0, 1100.0, 1200.0, 9000.0], "deaths": [1, 1, 0, 0], "injured": [0, 0, 2, 1],
    ...     "occurred_at": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-06-10", "2024-02-01"]),
    ...     "commune": ["Đăk Tô", "Đăk Tô", "Ngọc Hồi", "Ngọc Hồi"]})
    >>> result = screen(crashes, ruleset="tt41-2024")
    >>> spot_communes(result, crashes)
    {0: 'Đăk Tô', 1: 'Ngọc Hồi'}
    """
    if result.spots.empty or "commune" not in crashes:
        return {}
    key = "crash_id" if "crash_id" in crashes else "id"
    crashes = crashes.drop_duplicates(key)  # a crash listed twice counts once
    # communes as numbers in name order (a tie goes to the first name), each crash's found by position
    named = crashes["commune"].where(crashes["commune"].astype(str).str.strip() != "")
    code, names = pd.factorize(named, sort=True)
    pos = pd.Index(crashes[key]).get_indexer(result.members["crash_id"])
    spot = result.members["spot"].to_numpy(dtype=np.int64)
    c = np.where(pos >= 0, code[np.maximum(pos, 0)], -1) if len(code) else np.full(len(pos), -1)
    spot, c = spot[c >= 0], c[c >= 0]
    if len(c) == 0:
        return {}
    pair, n = np.unique(spot * len(names) + c, return_counts=True)  # sorted by spot, then commune
    p_spot = pair // len(names)
    # per spot, the most crashes; among equals, the first name (a stable sort keeps name order)
    o = np.lexsort((-n, p_spot))
    first = o[np.r_[True, p_spot[o][1:] != p_spot[o][:-1]]]
    return dict(zip(p_spot[first].tolist(), names[pair[first] % len(names)].tolist()))


def spot_geometries(
    result: ScreeningResult,
    crashes: pd.DataFrame,
    roads: pd.DataFrame | None,
    *,
    spots: Sequence[int] | None = None,
) -> dict[int, object]:
    """Each spot's geometry in WGS 84 ({spot: geometry}): a line along its road
    from ``from_m`` to ``to_m`` (a point when they coincide), else the hull of
    its crash points (``crashes`` with ``lon``, ``lat``); only for the spot
    numbers ``spots`` when given.

    Parameters
    ----------
    result
        A screening run (:func:`screen`).
    crashes
        The crashes screened, with ``crash_id`` (or ``id``), ``lon`` and
        ``lat`` (WGS 84) for the spots off the road network.
    roads
        The road network's table (:meth:`geo.chainage.RoadNetwork.from_frame`),
        or ``None``: every spot then takes the hull of its crashes.

    Returns
    -------
    dict of int to shapely.Geometry
        The geometry of each spot that has one (a spot off the network whose
        crashes have no position is left out).

    Examples
    --------
    >>> crashes = pd.DataFrame({"crash_id": [1, 2, 3, 4], "road": ["QL24"] * 4,
    ...     "chainage_m": [1000.0, 1100.0, 1200.0, 9000.0], "deaths": [1, 1, 0, 0], "injured": [0, 0, 2, 1],
    ...     "occurred_at": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-06-10", "2024-02-01"]),
    ...     "commune": ["Đăk Tô", "Đăk Tô", "Ngọc Hồi", "Ngọc Hồi"]})
    >>> result = screen(crashes, ruleset="tt41-2024")
    >>> crashes["lon"], crashes["lat"] = [107.5, 107.501, 107.502, 107.6], [14.6, 14.6, 14.601, 14.7]
    >>> {spot: g.geom_type for spot, g in spot_geometries(result, crashes, None).items()}
    {0: 'Polygon', 1: 'Point'}
    """
    out: dict[int, object] = {}
    table = result.spots
    if spots is not None:
        table = table.loc[table["spot"].isin(np.asarray(spots, dtype=np.int64))]
    if table.empty:
        return out
    numbers = table["spot"].to_numpy(dtype=np.int64)
    if roads is not None and len(roads):
        net = RoadNetwork.from_frame(roads)
        idx = net.index_of(table["road"].to_numpy())
        on = idx >= 0
        ri = idx[on]
        lo = table["from_m"].to_numpy(dtype=float)[on] - net.km_start[ri]
        hi = table["to_m"].to_numpy(dtype=float)[on] - net.km_start[ri]
        geoms = np.empty(len(ri), dtype=object)
        point = hi - lo < 1
        geoms[point] = shapely.line_interpolate_point(net.lines[ri[point]], lo[point])
        geoms[~point] = line_substrings(net.lines, ri[~point], lo[~point], hi[~point])
        if len(geoms):  # every spot's coordinates to WGS 84 in one call
            cx = shapely.get_coordinates(geoms)
            x, y = transform(cx[:, 0], cx[:, 1], net.crs.to_wkt(), WGS84)
            geoms = shapely.set_coordinates(geoms, np.column_stack([x, y]))
        out.update(zip(numbers[on].tolist(), geoms))
    missing = np.setdiff1d(numbers, np.fromiter(out, dtype=np.int64, count=len(out)))
    if len(missing) and {"lon", "lat"} <= set(crashes.columns):
        key = "crash_id" if "crash_id" in crashes else "id"
        pos = crashes.set_index(key)[["lon", "lat"]]
        mem = result.members.loc[result.members["spot"].isin(missing)]
        mem = mem.join(pos, on="crash_id").dropna(subset=["lon", "lat"])
        mem = mem.sort_values("spot", kind="stable")
        which, at = np.unique(mem["spot"].to_numpy(dtype=np.int64), return_inverse=True)
        hulls = shapely.convex_hull(
            shapely.multipoints(mem[["lon", "lat"]].to_numpy(dtype=float), indices=at.reshape(-1))
        )
        out.update(zip(which.tolist(), hulls))
    return out
