"""Remediation works service: before/after evaluation, timeline and cost
tables. No UI here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from datetime import date, datetime
from typing import Any

import settings
from errors import NotFoundError, TransitionError, ValueOutOfRange
from geo.evaluation import BeforeAfter, before_after, segment_counts
from models.enums import ItemType, WorkStatus
from models.orm import RemediationWork
from models.store import Store
from services.filters import Filters, filter_items
from services.lifecycle import as_date, check_transition


def evaluate_work(
    store: Store, work_id: int, *, today: date | str | None = None, months: int | None = None
) -> BeforeAfter:
    """Crashes, deaths and injured at the work's site in the months before it
    started and after it ended, with the Empirical Bayes correction against
    all segments of the store's roads. The after period counts as observed up
    to the last day with crash data (or today, if earlier)."""
    months = months or settings.EVALUATION_MONTHS
    works = store.works_frame().set_index("id")
    if work_id not in works.index:
        raise NotFoundError(f"Không có công trình số {work_id} / No work {work_id}")
    w = works.loc[work_id]
    if w["status"] != WorkStatus.DONE.value or pd.isna(w["actual_end"]):
        raise NotFoundError("Công trình chưa hoàn thành; chưa đánh giá được / The work is not finished yet")
    crashes = store.crashes_frame().rename(columns={"road_code": "road"})
    # the after period is observed only as far as the crash data goes, not to today
    last_data = crashes["occurred_at"].max().normalize() + pd.Timedelta(days=1) if len(crashes) else None
    today = pd.Timestamp(today or pd.Timestamp.today().normalize())
    if last_data is not None:
        today = min(today, last_data)
    start = w["actual_start"] if pd.notna(w["actual_start"]) else w["actual_end"]
    reference = None
    net = store.road_network()
    if net is not None:
        before = crashes.loc[
            (crashes["occurred_at"] >= pd.Timestamp(start) - pd.DateOffset(months=months))
            & (crashes["occurred_at"] < pd.Timestamp(start))
        ]
        ri = net.index_of(before["road"].to_numpy())
        reference = segment_counts(
            ri,
            before["chainage_m"].to_numpy(),
            road_start=net.km_start,
            road_length=net.lengths,
            segment_m=max(settings.EB_SEGMENT_M, float(w["to_m"] - w["from_m"]) or 1.0),
        )
    return before_after(
        crashes,
        road=w["road_code"],
        from_m=float(w["from_m"]),
        to_m=float(w["to_m"]),
        work_start=start,
        work_end=w["actual_end"],
        months=months,
        today=today,
        reference=reference,
    )


def costs_by_agency(works: pd.DataFrame, agencies: pd.DataFrame) -> pd.DataFrame:
    """Estimated cost (VND) per lead agency and status."""
    if works.empty:
        return pd.DataFrame(columns=["agency", "status", "cost_vnd", "n_works"])
    names = dict(zip(agencies["id"], agencies["name"])) if len(agencies) else {}
    w = works.assign(agency=works["agency_id"].map(lambda a: names.get(a, "—") if pd.notna(a) else "—"))
    return (
        w.groupby(["agency", "status"], dropna=False)
        .agg(cost_vnd=("cost_vnd", "sum"), n_works=("id", "count"))
        .reset_index()
    )


def timeline(works: pd.DataFrame, *, today: date | str | None = None) -> pd.DataFrame:
    """Bars for a Gantt-like chart: start and end per work (actual dates when
    known, else planned; a running work ends today)."""
    today = pd.Timestamp(today or pd.Timestamp.today().normalize())
    if works.empty:
        return pd.DataFrame(columns=["id", "label", "status", "start", "end"])
    start = pd.to_datetime(works["actual_start"]).fillna(pd.to_datetime(works["planned_start"]))
    end = pd.to_datetime(works["actual_end"]).fillna(pd.to_datetime(works["planned_end"]))
    running = works["status"].eq(WorkStatus.IN_PROGRESS.value) & works["actual_end"].isna()
    # pandas-stubs type Series.clip's bounds as numbers and arrays only; a Timestamp bound works on datetimes
    end = end.where(~running, end.fillna(today).clip(lower=today))  # type: ignore[call-overload]
    label = works["id"].astype(str) + " · " + works["name"].fillna(works["work_type"]).astype(str)
    out = pd.DataFrame({"id": works["id"], "label": label, "status": works["status"], "start": start, "end": end})
    return out.dropna(subset=["start"]).assign(end=lambda d: d["end"].fillna(d["start"] + pd.Timedelta(days=1)))


#: A spot this close to a new work's stretch (metres) is offered for it.
NEAR_M = 500.0


def nearest_spots(
    spots: pd.DataFrame, *, road: str | None, from_m: float | None, to_m: float | None = None
) -> pd.DataFrame:
    """Spots on ``road`` by their distance from the stretch ``from_m``–``to_m``
    (0 where they overlap), nearest first; spots on other roads last.

    >>> s = pd.DataFrame({"id": [1, 2, 3], "road_code": ["QL24", "QL24", "QL1"], "from_m": [1000.0, 5000, 0],
    ...                   "to_m": [1300.0, 5200, 100]})
    >>> nearest_spots(s, road="QL24", from_m=1400, to_m=1500)[["id", "gap_m"]].values.tolist()
    [[1.0, 100.0], [2.0, 3500.0], [3.0, nan]]
    """
    out = spots.copy()
    if out.empty:
        return out.assign(gap_m=pd.Series(dtype=float))
    a = float(from_m) if from_m is not None and pd.notna(from_m) else np.nan
    b = float(to_m) if to_m is not None and pd.notna(to_m) else a
    a, b = min(a, b), max(a, b)
    same = out["road_code"].eq(road).to_numpy() if road is not None else np.zeros(len(out), dtype=bool)
    gap = np.maximum(
        0.0, np.maximum(out["from_m"].astype(float).to_numpy() - b, a - out["to_m"].astype(float).to_numpy())
    )
    out["gap_m"] = np.where(same & np.isfinite(gap), gap, np.nan)
    return out.sort_values("gap_m", na_position="last", kind="stable").reset_index(drop=True)


def spot_choices(near: pd.DataFrame, *, lang: str = "vi") -> dict[int | None, str]:
    """Spot id → its label for a choice list (``None``: no spot), nearest first,
    with the distance from the work's stretch.

    >>> s = pd.DataFrame({"id": [1], "kind": ["black_spot"], "road_code": ["QL24"], "from_m": [1000.0],
    ...                   "to_m": [1300.0], "gap_m": [120.0]})
    >>> spot_choices(s)
    {None: '— không gắn với điểm nào —', 1: '#1 Điểm đen QL24 Km 1+000 – Km 1+300 · cách 120 m'}
    """
    from geo.chainage import format_chainage
    from i18n import t
    from models.enums import SpotKind

    out: dict[int | None, str] = {None: t("— không gắn với điểm nào —", lang)}
    for r in near.to_dict("records"):
        gap = (
            ""
            if pd.isna(r["gap_m"])
            else (
                f" · {t('trùng đoạn', lang)}"
                if r["gap_m"] == 0
                else f" · {t('cách', lang)} {r['gap_m']:,.0f} m".replace(",", ".")
            )
        )
        out[int(r["id"])] = (
            f"#{int(r['id'])} {SpotKind(r['kind']).label(lang)} {r['road_code'] or ''} "
            f"{format_chainage(r['from_m'])} – {format_chainage(r['to_m'])}{gap}"
        )
    return out


def link_work_to_spot(
    store: Store, work_id: int, spot_id: int | None, *, expected_version: int, user: str | None = None
) -> None:
    """Link a work to a black spot or potential point (``None``: unlink), so it
    counts for the spot in the Tờ trình, plan progress and "did it work?"."""
    if spot_id is not None:
        spot = store.get_blackspot(int(spot_id))  # raises NotFoundError for an unknown or deleted spot
        if spot.deleted:
            raise NotFoundError(f"Không có điểm số {spot_id} / No spot {spot_id}")
    store.update_work(
        int(work_id),
        expected_version=expected_version,
        user=user,
        blackspot_id=None if spot_id is None else int(spot_id),
    )


def work_geometries(works: pd.DataFrame, spots: pd.DataFrame, roads: pd.DataFrame) -> pd.DataFrame:
    """Works with a geometry for the map: their spot's, else the road stretch's midpoint."""
    import shapely

    from geo.chainage import RoadNetwork
    from geo.crs import WGS84, transform

    out = works.copy()
    geoms = np.full(len(out), None, dtype=object)
    spot_geom = dict(zip(spots["id"], spots["geometry"])) if len(spots) else {}
    for i, sid in enumerate(out["blackspot_id"] if len(out) else []):
        if pd.notna(sid):
            geoms[i] = spot_geom.get(int(sid))
    need = np.flatnonzero([g is None for g in geoms]) if len(out) else np.empty(0, dtype=np.intp)
    if len(need) and len(roads):
        net = RoadNetwork.from_frame(roads)
        sub = out.iloc[need]
        mid = (sub["from_m"].astype(float) + sub["to_m"].astype(float).fillna(sub["from_m"].astype(float))) / 2
        pts, status = net.locate(net.index_of(sub["road_code"].to_numpy()), mid.to_numpy())
        ok = status == 0
        if ok.any():
            x, y = transform(shapely.get_x(pts[ok]), shapely.get_y(pts[ok]), net.crs.to_wkt(), WGS84)
            geoms[np.asarray(need)[ok]] = shapely.points(x, y)
    out["geometry"] = geoms
    return out


#: The largest cost a work may have (a thousand trillion đồng: far beyond any budget)
MAX_COST_VND = 1e15


def add_work(
    store: Store, *, work_type: str, blackspot_id: int | None = None, user: str | None = None, **fields: Any
) -> int:
    """A remediation work for a spot, or for a road stretch (``road_code``, ``from_m``, ``to_m``). Its
    cost, when given, is a number of đồng from 0 to :data:`MAX_COST_VND`
    (:class:`errors.ValueOutOfRange` otherwise, and nothing is written)."""
    cost = fields.get("cost_vnd")
    if cost is not None:
        try:
            ok = math.isfinite(float(cost)) and 0 <= float(cost) <= MAX_COST_VND
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueOutOfRange(
                f"Kinh phí phải là số từ 0 đến {MAX_COST_VND:,.0f} đồng / The cost must be a number from 0 to "
                f"{MAX_COST_VND:,.0f} đồng: {cost!r}".replace(",", ".")
            )
    work_id: int = store.add_work(work_type=work_type, blackspot_id=blackspot_id, user=user, **fields)
    return work_id


def set_work_status(
    store: Store,
    work_id: int,
    new_status: WorkStatus | str,
    *,
    expected_version: int,
    user: str | None = None,
    on: date | str | None = None,
) -> RemediationWork:
    """Move a work along proposed → approved → in progress → done. Starting
    sets the actual start and finishing the actual end (``on``, default
    today)."""
    new_status = WorkStatus(new_status)
    day = as_date(on) or datetime.now().date()
    w: RemediationWork = store.item_for_edit(ItemType.WORK, work_id, expected_version=expected_version)
    if new_status == w.status:
        return w
    check_transition(ItemType.WORK, w.status, new_status)
    actual_start, actual_end = w.actual_start, w.actual_end
    if new_status == WorkStatus.IN_PROGRESS and actual_start is None:
        actual_start = day
    if new_status == WorkStatus.DONE:
        if actual_start and day < actual_start:
            raise TransitionError("Ngày hoàn thành trước ngày bắt đầu / End date before the start date")
        actual_end = day
        actual_start = actual_start or day
    saved: RemediationWork = store.save_status(
        ItemType.WORK,
        work_id,
        new_status,
        expected_status=w.status,
        expected_version=expected_version,
        user=user,
        actual_start=actual_start,
        actual_end=actual_end,
    )
    return saved


def filter_works(works: pd.DataFrame, f: Filters, *, spots: pd.DataFrame, roads: pd.DataFrame) -> pd.DataFrame:
    """Works under the shared filters; with an area, each work placed where
    the map shows it (:func:`work_geometries`: its spot, else its stretch)."""
    geometry = work_geometries(works, spots, roads)["geometry"] if f.area and len(works) else None
    return filter_items(works, f, geometry=geometry)
