"""Black-spot service: screening the store's crashes, saving and ranking spots,
density clusters. No UI here."""
from __future__ import annotations

import pandas as pd

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
                  user: str | None = None, save: bool = True) -> tuple[ScreeningResult, dict[str, int]]:
    """Screen every crash in the store and (by default) save the spots."""
    roads = store.roads_frame()
    data = screening_input(store.crashes_frame(), roads)
    result = screen(data, ruleset=ruleset, window_m=window_m, urban_window_m=urban_window_m,
                    date_from=date_from, date_to=date_to)
    counts = {}
    if save:
        counts = store.save_screening(result, crashes=data, roads=roads, user=user)
    return result, counts


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


def clusters(store: Store, *, eps: float, min_samples: int, method: str = "dbscan", date_from=None, date_to=None,
             only_without_road: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Density clusters of the store's crashes; returns (crashes with labels, clusters)."""
    crashes = store.crashes_frame(date_from=date_from, date_to=date_to)
    if only_without_road:
        crashes = crashes.loc[crashes["chainage_m"].isna()]
    labels, table = cluster_crashes(crashes, eps=eps, min_samples=min_samples, method=method)
    return crashes.assign(cluster=labels), table
