"""The filters shared by every page (period, commune, road, severity, vehicle
type, cause, alcohol, rule set) and how they apply to each kind of item. Pure
pandas; the sidebar in ``app.py`` only collects the values."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    communes: tuple[str, ...] = ()
    roads: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    vehicle: str | None = None
    cause: str | None = None  # a cause recorded by the police (text contained in the crash's cause)
    alcohol: str = "all"  # all | yes | no
    ruleset: str | None = None

    @property
    def active(self) -> bool:
        return self != Filters(ruleset=self.ruleset)


def _parts(values: pd.Series) -> list[str]:
    """The distinct ";"-separated parts of a text column, sorted (each distinct
    text split once: a province's crashes repeat a few hundred texts).

    >>> _parts(pd.Series(["xe máy; ô tô", None, "ô tô", "xe máy;ô tô", " "]))
    ['xe máy', 'ô tô']
    """
    return sorted({v.strip() for s in pd.unique(values.dropna()) for v in str(s).split(";") if v.strip()})


def options(crashes: pd.DataFrame, roads: pd.DataFrame | None = None) -> dict[str, Any]:
    """Choices for the filter widgets, from the data."""
    vehicles = _parts(crashes["vehicle_types"])
    road_codes = set(crashes["road_code"].dropna())
    if roads is not None and len(roads):
        road_codes |= set(roads["code"])
    t = crashes["occurred_at"]
    causes = _parts(crashes["cause"]) if "cause" in crashes else []
    return {"communes": sorted(crashes["commune"].dropna().unique().tolist()),
            "roads": sorted(road_codes), "vehicles": vehicles, "causes": causes,
            "date_min": t.min().date() if len(t) else None, "date_max": t.max().date() if len(t) else None}


def filter_crashes(crashes: pd.DataFrame, f: Filters) -> pd.DataFrame:
    keep = pd.Series(True, index=crashes.index)
    day = crashes["occurred_at"].dt.normalize()
    if f.date_from:
        keep &= day >= pd.Timestamp(f.date_from)
    if f.date_to:
        keep &= day <= pd.Timestamp(f.date_to)
    if f.communes:
        keep &= crashes["commune"].isin(f.communes)
    if f.roads:
        keep &= crashes["road_code"].isin(f.roads)
    if f.severities:
        keep &= crashes["severity"].isin(f.severities)
    if f.vehicle:
        keep &= crashes["vehicle_types"].fillna("").str.contains(f.vehicle, regex=False)
    if f.cause and "cause" in crashes:
        keep &= crashes["cause"].fillna("").str.contains(f.cause, regex=False)
    if f.alcohol == "yes":
        keep &= crashes["alcohol"].astype(bool)
    elif f.alcohol == "no":
        keep &= ~crashes["alcohol"].astype(bool)
    return crashes.loc[keep]


def filter_spots(spots: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Spots on the chosen roads and communes, of the chosen rule set (manual
    flags always kept), whose 12-month window overlaps the period."""
    if spots.empty:
        return spots
    keep = pd.Series(True, index=spots.index)
    if f.roads:
        keep &= spots["road_code"].isin(f.roads)
    if f.communes:
        keep &= spots["commune"].isin(f.communes) | spots["commune"].isna()
    if f.ruleset:
        keep &= (spots["ruleset"] == f.ruleset) | spots["manual"].astype(bool)
    ws = pd.to_datetime(spots["window_start"])
    we = pd.to_datetime(spots["window_end"])
    if f.date_from:
        keep &= we.isna() | (we >= pd.Timestamp(f.date_from))
    if f.date_to:
        keep &= ws.isna() | (ws <= pd.Timestamp(f.date_to))
    return spots.loc[keep]


def filter_items(items: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Cases and works: by road and commune."""
    if items.empty:
        return items
    keep = pd.Series(True, index=items.index)
    if f.roads and "road_code" in items:
        keep &= items["road_code"].isin(f.roads)
    if f.communes and "commune" in items:
        keep &= items["commune"].isin(f.communes) | items["commune"].isna()
    return items.loc[keep]
