"""Assemble the documents sent up from the store (see services.documents)."""
from __future__ import annotations

import pandas as pd

from models.enums import CaseStatus, WorkStatus, WorkType
from models.store import Store
from services.documents import DocumentInfo, proposal_docx, spot_map_png, summary_docx
from services.plans import plan_band, progress, progress_summary, secondary_aims, target_table


def proposal_rows(store: Store, spot_ids: list[int]) -> pd.DataFrame:
    """The selected spots with their proposed works (types, description, cost)
    and lead agency, in the order given."""
    spots = store.blackspots_frame().set_index("id")
    missing = [i for i in spot_ids if i not in spots.index]
    if missing:
        raise ValueError(f"Không có điểm / No spots: {missing}")
    spots = spots.loc[spot_ids].reset_index()
    works = store.works_frame()
    agencies = store.agencies_frame().set_index("id")["name"].to_dict()
    links = store.links_frame()
    lead = {}
    if len(links):
        bl = links.loc[links["item_type"] == "blackspot"]
        lead = {int(i): agencies.get(a) for i, a in zip(bl["item_id"], bl["lead_agency_id"]) if pd.notna(a)}
    proposals, costs, leads = [], [], []
    for sid in spots["id"]:
        w = works.loc[works["blackspot_id"] == sid] if len(works) else works
        parts = [WorkType(t).vi + (f": {d}" if d else "") for t, d in zip(w.get("work_type", []), w.get("description", []))]
        proposals.append("\n".join(parts))
        costs.append(w["cost_vnd"].sum() if len(w) and w["cost_vnd"].notna().any() else None)
        wl = [agencies.get(a) for a in w.get("agency_id", []) if pd.notna(a)]
        leads.append(lead.get(int(sid)) or (wl[0] if wl else None))
    return spots.assign(proposal=proposals, cost_vnd=costs, lead_agency=leads,
                        cause=spots["notes"].where(spots["notes"].notna(), None))


def proposal(store: Store, spot_ids: list[int], info: DocumentInfo, *, with_maps: bool = True) -> bytes:
    rows = proposal_rows(store, spot_ids)
    maps = {}
    if with_maps:
        crashes = store.crashes_frame()
        roads = store.roads_frame()["geometry"].tolist()
        for r in rows.to_dict("records"):
            if r.get("geometry") is None:
                continue
            ids = set(r.get("crash_ids") or [])
            maps[int(r["id"])] = spot_map_png(r["geometry"], crashes=crashes.loc[crashes["id"].isin(ids)].dropna(
                subset=["lon", "lat"]), roads=roads)
    return proposal_docx(rows, info, maps=maps)


def year_end_summary(store: Store, plan_id: int, info: DocumentInfo) -> bytes:
    plans = store.plans_frame().set_index("id")
    plan = plans.loc[plan_id].to_dict()
    crashes = store.crashes_frame()
    band = plan_band(plan.get("targets"))
    p_from = plan.get("period_from") or pd.Timestamp(f"{pd.Timestamp.today().year}-01-01")
    p_to = plan.get("period_to") or pd.Timestamp(f"{pd.Timestamp(p_from).year}-12-31")
    targets = target_table(crashes, period_from=p_from, period_to=p_to, band=band[:2])
    aims = secondary_aims(crashes, period_from=p_from, period_to=p_to)
    prog = progress(store, plan_id=plan_id)
    secs = store.sections_frame(plan_id)
    by_section = progress_summary(prog, "section_code")
    by_section = secs[["code", "title"]].rename(columns={"code": "section_code", "title": "section_title"}).merge(
        by_section, on="section_code", how="left").fillna({"items": 0, "done": 0, "done_pct": 0}).astype(
        {"items": int, "done": int})
    by_agency = progress_summary(prog, "lead_agency")
    spots = store.blackspots_frame()
    cases = store.cases_frame()
    works = store.works_frame()
    counts = {
        "black_spots": int((spots["kind"] == "black_spot").sum()) if len(spots) else 0,
        "potential": int((spots["kind"] == "potential").sum()) if len(spots) else 0,
        "cases": len(cases),
        "cases_closed": int(cases["status"].isin([CaseStatus.CLEARED.value, CaseStatus.ENFORCED.value]).sum()),
        "works": len(works), "works_done": int((works["status"] == WorkStatus.DONE.value).sum()),
    }
    return summary_docx(plan=plan, targets=targets, aims=aims, by_section=by_section, by_agency=by_agency,
                        counts=counts, info=info)
