"""Assemble the documents sent up from the store (see services.documents)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from models.enums import CaseStatus, ItemType, WorkStatus, WorkType
from models.store import Store
from services.documents import DocumentInfo, as_timestamp, proposal_docx, spot_map_png, summary_docx, vnd
from services.plans import plan_band, plan_by_number, progress, progress_summary, secondary_aims, target_table


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
        bl = links.loc[links["item_type"] == ItemType.BLACKSPOT]
        lead = {int(i): agencies.get(a) for i, a in zip(bl["item_id"], bl["lead_agency_id"]) if pd.notna(a)}
    crashes = store.crashes_frame()
    from services.communes import current_units, with_current

    now_of = current_units(crashes)
    spots["commune"] = [with_current(c, now_of.get(c)) or None for c in spots["commune"]]
    cause_of = crashes.set_index("id")["cause"] if len(crashes) else pd.Series(dtype=object)
    causes = []
    for ids, note in zip(spots["crash_ids"], spots["notes"]):
        found = [c for c in cause_of.reindex(list(ids or [])).dropna().astype(str).str.strip() if c]
        uniq = list(dict.fromkeys(found))
        text = "; ".join(uniq[:4]) + (f" (+{len(uniq) - 4})" if len(uniq) > 4 else "")
        causes.append("\n".join(t for t in (text, note if isinstance(note, str) else "") if t) or None)
    proposals, costs, leads = [], [], []
    for sid in spots["id"]:
        w = works.loc[works["blackspot_id"] == sid] if len(works) else works
        parts = [
            WorkType(t).vi + (f": {d}" if d else "") for t, d in zip(w.get("work_type", []), w.get("description", []))
        ]
        proposals.append("\n".join(parts))
        costs.append(w["cost_vnd"].sum() if len(w) and w["cost_vnd"].notna().any() else None)
        wl = [agencies.get(a) for a in w.get("agency_id", []) if pd.notna(a)]
        leads.append(lead.get(int(sid)) or (wl[0] if wl else None))
    from services.appraisal import spot_benefits

    benefit = spot_benefits(store, [int(i) for i in spots["id"]])
    return spots.assign(
        proposal=proposals,
        cost_vnd=pd.Series(costs, index=spots.index),
        lead_agency=pd.Series(leads, index=spots.index),
        cause=pd.Series(causes, index=spots.index),
        pv_benefit_vnd=spots["id"].astype(int).map(benefit["pv_benefit_vnd"]).astype(float),
        bcr=spots["id"].astype(int).map(benefit["bcr"]).astype(float),
    )


def covering_plan(
    store: Store, spots: pd.DataFrame, *, number: str | None = None, on: date | None = None
) -> dict[str, Any] | None:
    """The plan a proposal cites: the one numbered ``number``, else the plan
    whose period holds the day of the proposal or overlaps a spot's 12 months
    and whose place or issuer names a commune of the spots or the
    organisation's place; the most recent such plan."""
    from services.organisation import load_organisation

    if number:
        return plan_by_number(store, number)
    plans = store.plans_frame()
    if plans.empty:
        return None
    day = pd.Timestamp(on or pd.Timestamp.today()).normalize()
    p_from = pd.to_datetime(plans["period_from"])
    p_to = pd.to_datetime(plans["period_to"])
    in_period = (p_from.isna() | (p_from <= day)) & (p_to.isna() | (p_to >= day))
    if "window_end" in spots and spots["window_end"].notna().any():  # a spot's 12 months overlap the plan's period
        for ws, we in zip(pd.to_datetime(spots["window_start"]), pd.to_datetime(spots["window_end"])):
            if pd.notna(ws) and pd.notna(we):
                in_period |= (p_from.isna() | (p_from <= we)) & (p_to.isna() | (p_to >= ws))
    names = {
        str(c).strip().casefold() for c in spots.get("commune", pd.Series(dtype=object)).dropna() if str(c).strip()
    }
    org_place = load_organisation(store).place.strip().casefold()
    if org_place:
        names.add(org_place)
    text = (plans["place"].fillna("") + " " + plans["issuer"].fillna("")).str.casefold()
    in_area = text.map(lambda t: any(n and n in t for n in names)) if names else pd.Series(True, index=plans.index)
    for mask in (in_period & in_area, in_period, in_area):
        if mask.any():
            latest = plans.loc[mask].sort_values("issued_on", na_position="first").iloc[-1]
            return {str(k): v for k, v in latest.to_dict().items()}
    return None


#: The regulation a proposal cites first.
REGULATION_BASIS = (
    "Thông tư số 41/2024/TT-BGTVT ngày 15/11/2024 của Bộ trưởng Bộ Giao thông vận tải quy định về tổ "
    "chức giao thông, báo hiệu đường bộ và xác định, xử lý điểm đen, điểm tiềm ẩn tai nạn giao thông"
)


def plan_basis(plan: dict[str, Any] | None) -> str | None:
    if not plan:
        return None
    issued = as_timestamp(plan.get("issued_on"))
    return (
        f"Kế hoạch số {plan.get('number') or '…'}"
        + (f" ngày {issued:%d/%m/%Y}" if pd.notna(issued) else "")
        + (f" của {plan['issuer']}" if plan.get("issuer") else "")
        + (f" về {plan['title']}" if plan.get("title") else "")
    )


def proposal_info(
    store: Store, spot_ids: list[int], *, plan_number: str | None = None, on: date | None = None
) -> DocumentInfo:
    """The proposal's header, basis, addressee and signature: from the
    organisation profile and the plan that covers the spots."""
    from services.organisation import load_organisation

    spots = store.blackspots_frame().set_index("id").reindex(spot_ids).reset_index()
    plan = covering_plan(store, spots, number=plan_number, on=on)
    basis = [REGULATION_BASIS] + ([plan_basis(plan)] if plan else [])
    return load_organisation(store).document_info(kind="TTr", on=on, basis=basis)


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
            maps[int(r["id"])] = spot_map_png(
                r["geometry"], crashes=crashes.loc[crashes["id"].isin(ids)].dropna(subset=["lon", "lat"]), roads=roads
            )
    return proposal_docx(rows, info, maps=maps, appraisal_note=appraisal_note(store))


def appraisal_note(store: Store) -> str:
    """The line under the proposal's table that says what B/C is and on what figures."""
    from services.appraisal import assumptions

    a = assumptions(store)
    rate = f"{a['discount_rate'] * 100:.1f}".replace(".0", "").replace(".", ",")
    return (
        f"B/C: tỷ số lợi ích/chi phí của giải pháp: thiệt hại do tai nạn tránh được trong tuổi thọ công trình "
        f"(số vụ dự kiến theo phương pháp Bayes thực nghiệm × hệ số giảm tai nạn theo loại công trình), quy về "
        f"hiện giá với tỷ lệ chiết khấu {rate} %/năm, chia cho kinh phí; giá trị một sinh mạng bằng 70 lần GDP "
        f"bình quân đầu người năm {a['gdp_year']} ({vnd(a['gdp_per_capita_vnd'])} đồng), một người bị thương "
        f"bằng 25 % giá trị đó (quy ước iRAP)."
    )


def year_end_summary(store: Store, plan_id: int, info: DocumentInfo) -> bytes:
    plans = store.plans_frame().set_index("id")
    plan = {str(k): v for k, v in plans.loc[plan_id].to_dict().items()}
    crashes = store.crashes_frame()
    band = plan_band(plan.get("targets"))
    p_from = plan.get("period_from") or pd.Timestamp(f"{pd.Timestamp.today().year}-01-01")
    p_to = plan.get("period_to") or pd.Timestamp(f"{pd.Timestamp(p_from).year}-12-31")
    targets = target_table(crashes, period_from=p_from, period_to=p_to, band=band[:2])
    aims = secondary_aims(crashes, period_from=p_from, period_to=p_to)
    prog = progress(store, plan_id=plan_id)
    secs = store.sections_frame(plan_id)
    by_section = progress_summary(prog, "section_code")
    by_section = (
        secs[["code", "title"]]
        .rename(columns={"code": "section_code", "title": "section_title"})
        .merge(by_section, on="section_code", how="left")
        .fillna({"items": 0, "done": 0, "done_pct": 0})
        .astype({"items": int, "done": int})
    )
    by_agency = progress_summary(prog, "lead_agency")
    spots = store.blackspots_frame()
    cases = store.cases_frame()
    works = store.works_frame()
    counts = {
        "black_spots": int((spots["kind"] == "black_spot").sum()) if len(spots) else 0,
        "potential": int((spots["kind"] == "potential").sum()) if len(spots) else 0,
        "cases": len(cases),
        "cases_closed": int(cases["status"].isin([CaseStatus.CLEARED.value, CaseStatus.ENFORCED.value]).sum()),
        "works": len(works),
        "works_done": int((works["status"] == WorkStatus.DONE.value).sum()),
    }
    return summary_docx(
        plan=plan, targets=targets, aims=aims, by_section=by_section, by_agency=by_agency, counts=counts, info=info
    )


def dossier(store: Store, spot_id: int, *, info: DocumentInfo | None = None) -> bytes:
    """The hồ sơ điểm đen of one spot (DOCX), with its crashes, site sketch,
    photos and proposed works; header and signature from the organisation."""
    from errors import NotFoundError
    from services.documents import dossier_docx
    from services.organisation import load_organisation

    spots = store.blackspots_frame().set_index("id")
    if spot_id not in spots.index:
        raise NotFoundError(f"Không có điểm số {spot_id} / No spot {spot_id}")
    spot = {str(k): v for k, v in spots.loc[spot_id].to_dict().items()} | {"id": spot_id}
    crashes = store.crashes_frame()
    from services.communes import current_units, with_current

    spot["commune"] = with_current(spot.get("commune"), current_units(crashes).get(str(spot.get("commune")))) or None
    mine = crashes.loc[crashes["id"].isin([int(i) for i in spot.get("crash_ids") or []])]
    works = store.works_frame()
    works = works.loc[works["blackspot_id"] == spot_id] if len(works) else works
    site = None
    if spot.get("geometry") is not None:
        site = spot_map_png(
            spot["geometry"], crashes=mine.dropna(subset=["lon", "lat"]), roads=store.roads_frame()["geometry"].tolist()
        )
    photos = []
    att = store.attachments(ItemType.BLACKSPOT, spot_id)
    for r in att.loc[att["kind"] == "photo"].to_dict("records") if len(att) else []:
        data = store.photo_bytes(int(r["id"]))
        if data:
            photos.append((r.get("text") or r.get("filename") or f"#{int(r['id'])}", data))
    info = info or load_organisation(store).document_info(kind="HS")
    return dossier_docx(spot, mine, info, site_png=site, photos=photos, works=works)


def dossiers_zip(store: Store, spot_ids: list[int], *, pdf: bool = False) -> bytes:
    """One dossier per spot in a zip (DOCX, or PDF when ``pdf`` and LibreOffice is there)."""
    import io
    import zipfile

    from services.documents import to_pdf

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for sid in spot_ids:
            data = dossier(store, int(sid))
            converted = to_pdf(data) if pdf else None  # None: no LibreOffice here, the DOCX goes in
            if converted is not None:
                z.writestr(f"ho_so_diem_{int(sid)}.pdf", converted)
            else:
                z.writestr(f"ho_so_diem_{int(sid)}.docx", data)
    return buf.getvalue()
