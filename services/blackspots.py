"""Black-spot service: screening the store's crashes, saving and ranking spots,
density clusters. No UI here."""
from __future__ import annotations

import numpy as np
import pandas as pd

from geo.chainage import format_chainage
from geo.cluster import cluster_crashes
from geo.ranking import spot_profile
from geo.screening import ScreeningResult, screen
from models.store import Store


def screening_input(crashes: pd.DataFrame, roads: pd.DataFrame) -> pd.DataFrame:
    """Crashes with road, chainage and the road's urban flag, as the screen wants."""
    urban = dict(zip(roads["code"], roads["is_urban"])) if len(roads) else {}
    out = crashes.rename(columns={"id": "crash_id", "road_code": "road"})
    out["urban"] = out["road"].map(urban).eq(True)
    return out


def run_screening(store: Store, *, ruleset: str | None = None, window_m: float | None = None,
                  urban_window_m: float | None = None, date_from=None, date_to=None,
                  user: str | None = None, save: bool = True) -> tuple[ScreeningResult, dict[str, list]]:
    """Screen every crash in the store and (by default) save the spots.

    Returns the result and what changed against the rule set's earlier spots
    (see :meth:`Store.save_screening`: ``new``, ``grown``, ``changed``,
    ``unchanged``, ``no_longer_met``); empty lists when not saved."""
    roads = store.roads_frame()
    data = screening_input(store.crashes_frame(), roads)
    result = screen(data, ruleset=ruleset, window_m=window_m, urban_window_m=urban_window_m,
                    date_from=date_from, date_to=date_to)
    if len(result.spots):  # the window length each spot was screened with (in town or outside)
        rs = result.ruleset
        rural = float(window_m if window_m is not None else rs.segment_length_m["rural"])
        urban = float(urban_window_m if urban_window_m is not None else rs.segment_length_m["urban"])
        in_town = set(roads.loc[roads["is_urban"].eq(True), "code"]) if len(roads) else set()
        result.spots["window_m"] = [urban if r in in_town else rural for r in result.spots["road"]]
    diff = {k: [] for k in SCREEN_CHANGES}
    if save:
        diff = store.save_screening(result, crashes=data, roads=roads, user=user)
    return result, diff


#: What a screen reports against the rule set's earlier spots, in order.
SCREEN_CHANGES = ("new", "grown", "changed", "unchanged", "no_longer_met")


def is_stretch(from_m, to_m, window_m) -> bool:
    """A spot longer than twice its window chains windows: a stretch (đoạn)."""
    try:
        return bool(window_m) and float(to_m) - float(from_m) > 2 * float(window_m)
    except (TypeError, ValueError):
        return False


def stretch_text(spot, *, vi: bool = True) -> str:
    """"Đoạn 1,33 km (nối 5 cửa sổ 300 m)" for a stretch, "" for a spot.

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
    if vi:
        return f"Đoạn {km.replace('.', ',')} km (nối {n} cửa sổ {w} m)"
    return f"Stretch of {km} km (chaining {n} windows of {w} m)"


_CHANGE_WORDS = {"new": ("Mới", "New"), "grown": ("Mở rộng", "Grown"), "changed": ("Thay đổi", "Changed"),
                 "unchanged": ("Không đổi", "Unchanged"), "no_longer_met": ("Không còn đạt", "No longer met")}
_KIND_WORDS = {"black_spot": ("điểm đen", "black spot"), "potential": ("điểm tiềm ẩn", "potential point")}


def screen_summary(diff: dict, *, vi: bool = True) -> str:
    """"Mới 1, mở rộng 1, thay đổi 0, không đổi 9, không còn đạt 0".

    >>> screen_summary({"new": [{}], "grown": [], "changed": [], "unchanged": [{}, {}], "no_longer_met": []})
    'Mới 1, mở rộng 0, thay đổi 0, không đổi 2, không còn đạt 0'
    """
    parts = [f"{_CHANGE_WORDS[k][0 if vi else 1]} {len(diff.get(k, []))}" for k in SCREEN_CHANGES]
    return ", ".join(p if i == 0 else p[0].lower() + p[1:] for i, p in enumerate(parts))


def _stretch(d: dict) -> str:
    return f"{d.get('road') or ''} {format_chainage(d['from_m'])} – {format_chainage(d['to_m'])}"


def _why(d: dict, vi: bool) -> str:
    win = ""
    if d.get("window_start") and d.get("window_end"):
        a, b = (pd.Timestamp(d["window_start"]).strftime("%d/%m/%Y"), pd.Timestamp(d["window_end"]).strftime("%d/%m/%Y"))
        win = (f"cửa sổ {a} – {b}: {d['n_crashes']} vụ, {d['deaths']} chết, {d['injured']} bị thương" if vi else
               f"window {a} – {b}: {d['n_crashes']} crashes, {d['deaths']} dead, {d['injured']} injured")
    extra = stretch_text(d, vi=vi)
    return "; ".join(x for x in (d.get("tests") or "", win, extra) if x)


def screen_lines(diff: dict, *, vi: bool = True) -> list[str]:
    """One line per spot that is new, grown, changed or no longer met, with
    its stretch (the earlier one too) and why it qualifies now."""
    out = []
    for key in ("new", "grown", "changed", "no_longer_met"):
        for d in diff.get(key, []):
            kind = _KIND_WORDS.get(d.get("kind"), ("", ""))[0 if vi else 1]
            where = _stretch(d)
            if d.get("before") and key in ("grown", "changed"):
                b = d["before"]
                if (b["from_m"], b["to_m"]) != (d["from_m"], d["to_m"]):
                    where = f"{_stretch(b)} → {format_chainage(d['from_m'])} – {format_chainage(d['to_m'])}"
                n_before = f" ({b['n_crashes']} → {d['n_crashes']} vụ)" if vi else \
                    f" ({b['n_crashes']} → {d['n_crashes']} crashes)"
                where += n_before if b["n_crashes"] != d["n_crashes"] else ""
            why = "" if key == "no_longer_met" else f" — {_why(d, vi)}"
            out.append(f"{_CHANGE_WORDS[key][0 if vi else 1]}: #{d['id']} {kind} {where}{why}")
    return out


def ranked_spots(store: Store, *, kind: str | None = None, road: str | None = None, commune: str | None = None,
                 ruleset: str | None = None, statuses: list[str] | None = None) -> pd.DataFrame:
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
    members = spots[["id", "crash_ids"]].explode("crash_ids").dropna().rename(
        columns={"id": "spot", "crash_ids": "crash_id"})
    crashes = store.crashes_frame().rename(columns={"id": "crash_id"})
    members["crash_id"] = pd.to_numeric(members["crash_id"], errors="coerce")
    prof = spot_profile(members, crashes[["crash_id", "occurred_at", "deaths", "injured", "severity"]])
    spots = spots.join(prof, on="id")
    return spots.sort_values(["kind", "epdo", "deaths", "n_crashes"], ascending=[True, False, False, False])


def cluster_label(cluster: int) -> str:
    """A density cluster's id as the list, the map and every export show it.

    >>> cluster_label(0)
    'C1'
    """
    return f"C{int(cluster) + 1}"


def clusters(store: Store, *, eps: float, min_samples: int, method: str = "dbscan", filters=None,
             date_from=None, date_to=None, only_without_road: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    labels, table = cluster_crashes(crashes, eps=eps, min_samples=min_samples, method=method)
    # numbered by rank: C1 is the cluster of highest EPDO, in the list and on every export
    rank = dict(zip(table["cluster"].astype(int), range(len(table))))
    labels = labels.map(lambda c: rank.get(int(c), -1))
    table = table.assign(cluster=np.arange(len(table)), label=[cluster_label(c) for c in range(len(table))])
    out = crashes.assign(cluster=labels.to_numpy())
    out["label"] = [cluster_label(c) if c >= 0 else "" for c in out["cluster"]]
    return out, table
