"""Remediation works service: before/after evaluation, timeline and cost
tables. No UI here."""
from __future__ import annotations

import numpy as np
import pandas as pd

import settings
from errors import NotFoundError
from geo.evaluation import BeforeAfter, before_after, segment_counts
from models.enums import WorkStatus, WorkType
from models.store import Store


def evaluate_work(store: Store, work_id: int, *, today=None, months: int | None = None) -> BeforeAfter:
    """Crashes, deaths and injured at the work's site in the months before it
    started and after it ended, with the Empirical Bayes correction against
    all segments of the store's roads."""
    months = months or settings.EVALUATION_MONTHS
    works = store.works_frame().set_index("id")
    if work_id not in works.index:
        raise NotFoundError(f"Không có công trình số {work_id} / No work {work_id}")
    w = works.loc[work_id]
    if w["status"] != WorkStatus.DONE.value or pd.isna(w["actual_end"]):
        raise NotFoundError("Công trình chưa hoàn thành; chưa đánh giá được / The work is not finished yet")
    crashes = store.crashes_frame().rename(columns={"road_code": "road"})
    start = w["actual_start"] if pd.notna(w["actual_start"]) else w["actual_end"]
    reference = None
    net = store.road_network()
    if net is not None:
        before = crashes.loc[(crashes["occurred_at"] >= pd.Timestamp(start) - pd.DateOffset(months=months))
                             & (crashes["occurred_at"] < pd.Timestamp(start))]
        ri = net.index_of(before["road"].to_numpy())
        reference = segment_counts(ri, before["chainage_m"].to_numpy(), road_start=net.km_start,
                                   road_length=net.lengths, segment_m=max(settings.EB_SEGMENT_M,
                                                                          float(w["to_m"] - w["from_m"]) or 1.0))
    return before_after(crashes, road=w["road_code"], from_m=float(w["from_m"]), to_m=float(w["to_m"]),
                        work_start=start, work_end=w["actual_end"], months=months, today=today,
                        reference=reference)


def works_table(store: Store, *, lang: str = "vi") -> pd.DataFrame:
    """Works with labels for type and status, for lists and exports."""
    df = store.works_frame()
    if df.empty:
        return df
    df["work_type_label"] = df["work_type"].map(lambda v: WorkType(v).label(lang))
    df["status_label"] = df["status"].map(lambda v: WorkStatus(v).label(lang))
    return df


def costs_by_agency(works: pd.DataFrame, agencies: pd.DataFrame) -> pd.DataFrame:
    """Estimated cost (VND) per lead agency and status."""
    if works.empty:
        return pd.DataFrame(columns=["agency", "status", "cost_vnd", "n_works"])
    names = dict(zip(agencies["id"], agencies["name"])) if len(agencies) else {}
    w = works.assign(agency=works["agency_id"].map(lambda a: names.get(a, "—") if pd.notna(a) else "—"))
    return (w.groupby(["agency", "status"], dropna=False)
            .agg(cost_vnd=("cost_vnd", "sum"), n_works=("id", "count")).reset_index())


def timeline(works: pd.DataFrame, *, today=None) -> pd.DataFrame:
    """Bars for a Gantt-like chart: start and end per work (actual dates when
    known, else planned; a running work ends today)."""
    today = pd.Timestamp(today or pd.Timestamp.today().normalize())
    if works.empty:
        return pd.DataFrame(columns=["id", "label", "status", "start", "end"])
    start = pd.to_datetime(works["actual_start"]).fillna(pd.to_datetime(works["planned_start"]))
    end = pd.to_datetime(works["actual_end"]).fillna(pd.to_datetime(works["planned_end"]))
    running = works["status"].eq(WorkStatus.IN_PROGRESS.value) & works["actual_end"].isna()
    end = end.where(~running, end.fillna(today).clip(lower=today))
    label = works["id"].astype(str) + " · " + works["name"].fillna(works["work_type"]).astype(str)
    out = pd.DataFrame({"id": works["id"], "label": label, "status": works["status"], "start": start, "end": end})
    return out.dropna(subset=["start"]).assign(end=lambda d: d["end"].fillna(d["start"] + pd.Timedelta(days=1)))


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
    need = np.flatnonzero([g is None for g in geoms]) if len(out) else []
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
