"""Black-spot service: screening the store's crashes, saving and ranking spots,
their lifecycle, density clusters. No UI here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import settings
from errors import TransitionError
from geo.chainage import format_chainage
from geo.cluster import cluster_crashes
from geo.kde import (
    DEFAULT_ALPHA,
    DEFAULT_BANDWIDTH_M,
    DEFAULT_MIN_CRASHES,
    DEFAULT_N_SIM,
    DEFAULT_STEP_M,
    KdeResult,
    kde_plus,
)
from geo.ranking import spot_profile
from geo.rules import RuleSet, get_ruleset
from geo.screening import ScreeningResult, screen, spot_communes, spot_geometries
from i18n import lang_of, pick, t
from models.enums import BlackspotStatus, ItemType, SpotKind, WorkStatus
from models.orm import Blackspot
from models.store import Store
from services.lifecycle import check_transition

if TYPE_CHECKING:
    from services.filters import Filters


#: The crash columns a screening of the store reads (the screen's, and those of each spot's commune and hull).
SCREENED = ("id", "road_code", "chainage_m", "occurred_at", "deaths", "injured", "not_infrastructure", "commune")


def screening_input(crashes: pd.DataFrame, roads: pd.DataFrame) -> pd.DataFrame:
    """Crashes with road, chainage and the road's urban flag, as the screen
    wants: the columns it and the spots' communes and geometries read, as a
    new frame (``crashes`` may be the store's kept read, not to be changed)."""
    urban = dict(zip(roads["code"], roads["is_urban"])) if len(roads) else {}
    out = crashes[[c for c in (*SCREENED, "lon", "lat") if c in crashes]].copy(deep=False)  # (not a view: its own)
    out.columns = [{"id": "crash_id", "road_code": "road"}.get(c, c) for c in out.columns]  # renamed, not copied
    out["urban"] = out["road"].map(urban).eq(True)
    return out


def run_screening(
    store: Store,
    *,
    ruleset: str | None = None,
    window_m: float | None = None,
    urban_window_m: float | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    user: str | None = None,
    save: bool = True,
) -> tuple[ScreeningResult, dict[str, list[Any]]]:
    """Screen every crash in the store and (by default) save the spots.

    Returns the result and what changed against the rule set's earlier spots
    (see :meth:`Store.save_screening`: ``new``, ``grown``, ``changed``,
    ``unchanged``, ``no_longer_met``); empty lists when not saved."""
    roads = store.roads_frame()
    data = screening_input(store.crashes_frame(shared=True), roads)
    result = screen(
        data,
        ruleset=get_rules(ruleset),
        window_m=window_m,
        urban_window_m=urban_window_m,
        date_from=date_from,
        date_to=date_to,
        epdo_weights=settings.EPDO_WEIGHTS,
        workers=settings.SCREEN_WORKERS,
    )
    if len(result.spots):  # the window length each spot was screened with (in town or outside)
        rs = result.ruleset
        rural = float(window_m if window_m is not None else rs.segment_length_m["rural"])
        urban = float(urban_window_m if urban_window_m is not None else rs.segment_length_m["urban"])
        in_town = set(roads.loc[roads["is_urban"].eq(True), "code"]) if len(roads) else set()
        result.spots["window_m"] = [urban if r in in_town else rural for r in result.spots["road"]]
    diff: dict[str, list[Any]] = {k: [] for k in SCREEN_CHANGES}
    if save:
        diff = store.save_screening(
            result,
            communes=spot_communes(result, data),
            geometries=lambda spots: spot_geometries(result, data, roads, spots=spots),  # those written only
            road_ids=dict(zip(roads["code"], roads["id"])) if len(roads) else {},
            user=user,
        )
    return result, diff


def get_rules(ruleset: str | RuleSet | None = None) -> RuleSet:
    """A black-spot rule set by id (default ``settings.DEFAULT_RULESET``) from
    the settings' rule folder."""
    return get_ruleset(ruleset or settings.DEFAULT_RULESET, rules_dir=settings.RULES_DIR)


def set_blackspot_status(
    store: Store,
    spot_id: int,
    new_status: BlackspotStatus | str,
    *,
    expected_version: int,
    user: str | None = None,
    note: str | None = None,
) -> Blackspot:
    """Change a spot's status along the allowed lifecycle.

    Raises :class:`TransitionError` for a jump the lifecycle does not allow, for
    removing a black spot the latest screening still finds, or one whose
    works' after period is not over or still meets a black-spot test; and
    :class:`ConflictError` when someone saved the spot since the user loaded
    version ``expected_version``.
    """
    new_status = BlackspotStatus(new_status)
    b: Blackspot = store.item_for_edit(ItemType.BLACKSPOT, spot_id, expected_version=expected_version)
    if new_status == b.status:
        return b
    check_transition(ItemType.BLACKSPOT, b.status, new_status)
    if new_status == BlackspotStatus.REMOVED and b.kind == SpotKind.BLACK_SPOT and b.still_qualifies:
        raise TransitionError(
            "Điểm vẫn đạt tiêu chí điểm đen trong lần rà soát mới nhất; chưa thể đưa ra khỏi danh sách / "
            "The spot still meets a black-spot test in the latest screening; it cannot be removed"
        )
    if new_status == BlackspotStatus.REMOVED:
        check_after_period(store, b)
    saved: Blackspot = store.save_status(
        ItemType.BLACKSPOT,
        spot_id,
        new_status,
        expected_status=b.status,
        expected_version=expected_version,
        user=user,
        note=note,
    )
    return saved


def check_after_period(store: Store, spot: Blackspot) -> None:
    """A spot with finished works leaves the list only when the full after
    period (``settings.EVALUATION_MONTHS``) is over and its crashes in it meet
    none of the black-spot tests of the spot's rule set."""
    works = store.works_frame()
    done = (
        works.loc[works["blackspot_id"].eq(spot.id) & works["status"].eq(WorkStatus.DONE.value)]
        if len(works)
        else works
    )
    ends = [e for e in done["actual_end"] if e is not None and pd.notna(e)] if len(done) else []
    if not ends:
        return
    start = pd.Timestamp(max(ends)) + pd.Timedelta(days=1)
    end = start + pd.DateOffset(months=settings.EVALUATION_MONTHS)
    if pd.Timestamp.today() < end:
        raise TransitionError(
            f"Thời gian theo dõi sau xử lý chưa đủ {settings.EVALUATION_MONTHS} tháng (đến {end:%d/%m/%Y}) / "
            f"The after period of {settings.EVALUATION_MONTHS} months is not over (until {end:%d/%m/%Y})"
        )
    crashes = store.crashes_frame(date_from=start, date_to=end - pd.Timedelta(days=1), road_code=spot.road_code)
    assert spot.from_m is not None and spot.to_m is not None, "a spot has its stretch"
    crashes = crashes.loc[crashes["chainage_m"].between(spot.from_m - 1, spot.to_m + 1)]
    if crashes.empty:
        return
    result = screen(
        crashes.rename(columns={"id": "crash_id", "road_code": "road"}),
        ruleset=get_rules(spot.ruleset),
        epdo_weights=settings.EPDO_WEIGHTS,
    )
    if len(result.black_spots):
        raise TransitionError(
            "Trong thời gian sau xử lý điểm vẫn đạt tiêu chí điểm đen ("
            + ", ".join(result.black_spots["tests"].astype(str))
            + "); chưa thể đưa ra khỏi danh sách / "
            "In the after period the spot still meets a black-spot test; it cannot be removed"
        )


#: What a screen reports against the rule set's earlier spots, in order.
SCREEN_CHANGES = ("new", "grown", "changed", "unchanged", "no_longer_met")


def is_stretch(from_m: float | str | None, to_m: float | str | None, window_m: float | str | None) -> bool:
    """A spot longer than twice its window chains windows: a stretch (đoạn)."""
    if not window_m or from_m is None or to_m is None:
        return False
    try:
        return float(to_m) - float(from_m) > 2 * float(window_m)
    except (TypeError, ValueError):
        return False


def stretch_text(spot: Mapping[Any, Any], *, vi: bool = True) -> str:
    """ "Đoạn 1,33 km (nối 5 cửa sổ 300 m)" for a stretch, "" for a spot.

    >>> stretch_text({"from_m": 1000, "to_m": 2330, "window_m": 300, "n_windows": 5})
    'Đoạn 1,33 km (nối 5 cửa sổ 300 m)'
    >>> stretch_text({"from_m": 1000, "to_m": 1200, "window_m": 300, "n_windows": 2})
    ''
    """
    if not is_stretch(spot.get("from_m"), spot.get("to_m"), spot.get("window_m")):
        return ""
    km = f"{(float(spot['to_m']) - float(spot['from_m'])) / 1000:.2f}"
    n = int(spot.get("n_windows") or 0)
    w = f"{float(spot['window_m']):g}"
    lang = lang_of(vi)
    return t("Đoạn {km} km (nối {n} cửa sổ {w} m)", lang).format(km=pick((km.replace(".", ","), km), lang), n=n, w=w)


_CHANGE_WORDS = {
    "new": ("Mới", "New"),
    "grown": ("Mở rộng", "Grown"),
    "changed": ("Thay đổi", "Changed"),
    "unchanged": ("Không đổi", "Unchanged"),
    "no_longer_met": ("Không còn đạt", "No longer met"),
}
_KIND_WORDS = {"black_spot": ("điểm đen", "black spot"), "potential": ("điểm tiềm ẩn", "potential point")}


def screen_summary(diff: dict[str, list[Any]], *, vi: bool = True) -> str:
    """ "Mới 1, mở rộng 1, thay đổi 0, không đổi 9, không còn đạt 0".

    >>> screen_summary({"new": [{}], "grown": [], "changed": [], "unchanged": [{}, {}], "no_longer_met": []})
    'Mới 1, mở rộng 0, thay đổi 0, không đổi 2, không còn đạt 0'
    """
    parts = [f"{pick(_CHANGE_WORDS[k], lang_of(vi))} {len(diff.get(k, []))}" for k in SCREEN_CHANGES]
    return ", ".join(p if i == 0 else p[0].lower() + p[1:] for i, p in enumerate(parts))


def _stretch(d: dict[str, Any]) -> str:
    return f"{d.get('road') or ''} {format_chainage(d['from_m'])} – {format_chainage(d['to_m'])}"


def _why(d: dict[str, Any], vi: bool) -> str:
    win = ""
    if d.get("window_start") and d.get("window_end"):
        a, b = (
            pd.Timestamp(d["window_start"]).strftime("%d/%m/%Y"),
            pd.Timestamp(d["window_end"]).strftime("%d/%m/%Y"),
        )
        win = t("cửa sổ {a} – {b}: {n} vụ, {d} chết, {i} bị thương", lang_of(vi)).format(
            a=a, b=b, n=d["n_crashes"], d=d["deaths"], i=d["injured"]
        )
    extra = stretch_text(d, vi=vi)
    return "; ".join(x for x in (d.get("tests") or "", win, extra) if x)


def screen_lines(diff: dict[str, list[Any]], *, vi: bool = True) -> list[str]:
    """One line per spot that is new, grown, changed or no longer met, with
    its stretch (the earlier one too) and why it qualifies now."""
    out = []
    lang = lang_of(vi)
    for key in ("new", "grown", "changed", "no_longer_met"):
        for d in diff.get(key, []):
            kind = pick(_KIND_WORDS.get(d.get("kind"), ("", "")), lang)
            where = _stretch(d)
            if d.get("before") and key in ("grown", "changed"):
                b = d["before"]
                if (b["from_m"], b["to_m"]) != (d["from_m"], d["to_m"]):
                    where = f"{_stretch(b)} → {format_chainage(d['from_m'])} – {format_chainage(d['to_m'])}"
                n_before = " " + t("({b} → {n} vụ)", lang).format(b=b["n_crashes"], n=d["n_crashes"])
                where += n_before if b["n_crashes"] != d["n_crashes"] else ""
            why = "" if key == "no_longer_met" else f" — {_why(d, vi)}"
            out.append(f"{pick(_CHANGE_WORDS[key], lang)}: #{d['id']} {kind} {where}{why}")
    return out


def ranked_spots(
    store: Store,
    *,
    kind: str | None = None,
    road: str | None = None,
    commune: str | None = None,
    ruleset: str | None = None,
    statuses: list[str] | None = None,
) -> pd.DataFrame:
    """Stored spots, filtered and ranked by EPDO, deaths, crash count, with
    severity mix and trend columns."""
    spots = store.blackspots_frame(kind=kind)
    if spots.empty:
        return spots
    if road:
        spots = spots.loc[spots["road_code"] == road]
    if commune:
        spots = spots.loc[spots["commune"] == commune]
    if ruleset:
        spots = spots.loc[(spots["ruleset"] == ruleset) | spots["manual"]]
    if statuses:
        spots = spots.loc[spots["status"].isin(statuses)]
    if spots.empty:
        return spots
    members = (
        spots[["id", "crash_ids"]].explode("crash_ids").dropna().rename(columns={"id": "spot", "crash_ids": "crash_id"})
    )
    crashes = store.crashes_frame().rename(columns={"id": "crash_id"})
    members["crash_id"] = pd.to_numeric(members["crash_id"], errors="coerce")
    prof = spot_profile(
        members, crashes[["crash_id", "occurred_at", "deaths", "injured", "severity"]], weights=settings.EPDO_WEIGHTS
    )
    spots = spots.join(prof, on="id")
    return spots.sort_values(["kind", "epdo", "deaths", "n_crashes"], ascending=[True, False, False, False])


def cluster_label(cluster: int) -> str:
    """A density cluster's id as the list, the map and every export show it.

    >>> cluster_label(0)
    'C1'
    """
    return f"C{int(cluster) + 1}"


def clusters(
    store: Store,
    *,
    eps: float,
    min_samples: int,
    method: str = "dbscan",
    filters: Filters | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    only_without_road: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Density clusters of the store's crashes, of those the ``filters``
    (:class:`services.filters.Filters`: period, roads, communes …) keep;
    returns (crashes with their ``cluster`` number and ``label``, clusters with
    their ``label``, ranked by EPDO). The label (C1, C2 …) is the cluster's id
    everywhere."""
    from services.filters import filter_crashes

    crashes = store.crashes_frame(date_from=date_from, date_to=date_to)
    if filters is not None:
        crashes = filter_crashes(crashes, filters)
    if only_without_road:
        crashes = crashes.loc[crashes["chainage_m"].isna()]
    labels, table = cluster_crashes(
        crashes, eps=eps, min_samples=min_samples, method=method, epdo_weights=settings.EPDO_WEIGHTS
    )
    # numbered by rank: C1 is the cluster of highest EPDO, in the list and on every export
    rank = dict(zip(table["cluster"].astype(int), range(len(table))))
    labels = labels.map(lambda c: rank.get(int(c), -1))
    table = table.assign(cluster=np.arange(len(table)), label=[cluster_label(c) for c in range(len(table))])
    out = crashes.assign(cluster=labels.to_numpy())
    out["label"] = [cluster_label(c) if c >= 0 else "" for c in out["cluster"]]
    return out, table


#: KDE+ defaults, for the pages' inputs.
KDE_BANDWIDTH_M = DEFAULT_BANDWIDTH_M
KDE_N_SIM = DEFAULT_N_SIM
KDE_MIN_CRASHES = DEFAULT_MIN_CRASHES


def kde_label(cluster: int) -> str:
    """A KDE+ cluster's id, by strength (K1 the strongest).

    >>> kde_label(0)
    'K1'
    """
    return f"K{int(cluster) + 1}"


def road_extents(roads: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each road's chainage extent (from_m, to_m) from its start chainage and length,
    for the roads whose length is known.

    >>> road_extents(pd.DataFrame({"code": ["QL1", "QL2"], "km_start_m": [1000.0, None], "length_m": [5000.0, None]}))
    {'QL1': (1000.0, 6000.0)}
    """
    if roads.empty:
        return {}
    start = pd.to_numeric(roads["km_start_m"], errors="coerce").fillna(0.0)
    length = pd.to_numeric(roads["length_m"], errors="coerce")
    ok = length.notna() & (length > 0)
    return {str(c): (float(a), float(a + n)) for c, a, n in zip(roads["code"][ok], start[ok], length[ok])}


def kde_clusters(
    store: Store,
    *,
    bandwidth_m: float = DEFAULT_BANDWIDTH_M,
    n_sim: int = DEFAULT_N_SIM,
    alpha: float = DEFAULT_ALPHA,
    min_crashes: int = DEFAULT_MIN_CRASHES,
    step_m: float = DEFAULT_STEP_M,
    seed: int = 0,
    filters: Filters | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
) -> KdeResult:
    """KDE+ clusters (:func:`geo.kde.kde_plus`) of the store's crashes along their
    roads, of those the ``filters`` keep: an analysis beside the regulation's
    list, never a replacement of it. A road's extent is its stored start
    chainage and length (the span of its crashes when unknown). The clusters
    come strongest first with their ``label`` (K1, K2 …), ``deaths`` and
    ``injured``; the result's ``params`` say the method's parameters."""
    from services.filters import filter_crashes

    crashes = store.crashes_frame(date_from=date_from, date_to=date_to)
    if filters is not None:
        crashes = filter_crashes(crashes, filters)
    data = crashes.rename(columns={"id": "crash_id", "road_code": "road"})
    result = kde_plus(
        data,
        bandwidth_m=bandwidth_m,
        step_m=step_m,
        n_sim=n_sim,
        alpha=alpha,
        min_crashes=min_crashes,
        seed=seed,
        road_lengths=road_extents(store.roads_frame()),
    )
    table = result.clusters
    members = table[["crash_ids"]].explode("crash_ids").rename(columns={"crash_ids": "crash_id"})
    per = data.drop_duplicates("crash_id").set_index("crash_id")[["deaths", "injured"]]
    sums = members.join(per, on="crash_id")[["deaths", "injured"]].apply(pd.to_numeric).fillna(0)
    sums = sums.groupby(level=0).sum().reindex(table.index, fill_value=0)
    result.clusters = table.assign(
        label=[kde_label(i) for i in range(len(table))],
        deaths=sums["deaths"].astype(int).to_numpy(),
        injured=sums["injured"].astype(int).to_numpy(),
    )
    return result
