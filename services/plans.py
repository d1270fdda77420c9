"""Plans service: targets year on year, progress by section and agency. No UI."""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.enums import BlackspotStatus, CaseStatus, ItemType, WorkStatus
from models.store import Store

CRITERIA = (("crashes", "Số vụ", "Crashes"), ("deaths", "Số người chết", "Deaths"),
            ("injured", "Số người bị thương", "Injured"))
DEFAULT_BAND = (5.0, 10.0)
MOTORCYCLE = r"(?i)mô tô|xe máy|gắn máy|motor"
VERY_SERIOUS = ("rat_nghiem_trong", "dac_biet_nghiem_trong")


def plan_band(targets: list[dict] | None) -> tuple[float, float, bool]:
    """(min %, max %, from the plan?) of the three-criteria target."""
    for t in targets or []:
        if t.get("code") == "three_criteria" and t.get("min_pct") is not None:
            return float(t["min_pct"]), float(t["max_pct"] or t["min_pct"]), True
    return DEFAULT_BAND[0], DEFAULT_BAND[1], False


def _totals(df: pd.DataFrame) -> dict[str, int]:
    return {"crashes": len(df), "deaths": int(df["deaths"].sum()), "injured": int(df["injured"].sum())}


def _status(prev: int, cur: int, min_pct: float) -> tuple[float | None, str]:
    if prev == 0:
        return None, ("on_track" if cur == 0 else "off_track")
    change = 100.0 * (cur - prev) / prev
    return round(change, 1), ("on_track" if change <= -min_pct + 1e-9 else "off_track")


def target_table(crashes: pd.DataFrame, *, period_from, period_to, band=DEFAULT_BAND, lang: str = "vi") -> pd.DataFrame:
    """The three criteria for the period against the same period a year
    earlier, in total and per commune, with the target band and an on/off
    track mark (on track: reduced by at least the band's lower bound)."""
    p_from, p_to = pd.Timestamp(period_from), pd.Timestamp(period_to)
    q_from, q_to = p_from - pd.DateOffset(years=1), p_to - pd.DateOffset(years=1)
    t = crashes["occurred_at"]
    day = t.dt.normalize()
    cur = crashes.loc[(day >= p_from) & (day <= p_to)]
    prev = crashes.loc[(day >= q_from) & (day <= q_to)]
    total_label = "Toàn địa bàn" if lang == "vi" else "Whole area"
    scopes = [(total_label, cur, prev)]
    communes = sorted(set(cur["commune"].dropna()) | set(prev["commune"].dropna()))
    scopes += [(c, cur.loc[cur["commune"] == c], prev.loc[prev["commune"] == c]) for c in communes]
    rows = []
    for scope, c, p in scopes:
        tc, tp = _totals(c), _totals(p)
        for key, vi, en in CRITERIA:
            change, status = _status(tp[key], tc[key], band[0])
            rows.append({"scope": scope, "criterion": key, "criterion_label": vi if lang == "vi" else en,
                         "previous": tp[key], "current": tc[key], "change_pct": change,
                         "target_from_pct": -band[0], "target_to_pct": -band[1], "status": status})
    return pd.DataFrame(rows)


def secondary_aims(crashes: pd.DataFrame, *, period_from, period_to, lang: str = "vi") -> pd.DataFrame:
    """The plan's other aims: drink-driving, motorcycle and very serious
    crashes reduced; no especially serious crash."""
    p_from, p_to = pd.Timestamp(period_from), pd.Timestamp(period_to)
    q_from, q_to = p_from - pd.DateOffset(years=1), p_to - pd.DateOffset(years=1)
    day = crashes["occurred_at"].dt.normalize()
    cur = crashes.loc[(day >= p_from) & (day <= p_to)]
    prev = crashes.loc[(day >= q_from) & (day <= q_to)]
    veh = lambda d: d["vehicle_types"].fillna("").str.contains(MOTORCYCLE, regex=True)  # noqa: E731
    aims = [("drink_driving", "TNGT liên quan rượu, bia", "Drink-driving crashes", lambda d: d["alcohol"].astype(bool)),
            ("motorcycle", "TNGT liên quan xe mô tô, xe máy", "Motorcycle crashes", veh),
            ("very_serious", "TNGT rất nghiêm trọng trở lên", "Very serious or worse",
             lambda d: d["severity"].isin(VERY_SERIOUS))]
    rows = []
    for code, vi, en, f in aims:
        a, b = int(f(prev).sum()), int(f(cur).sum())
        change, _ = _status(a, b, 0)
        rows.append({"aim": code, "label": vi if lang == "vi" else en, "previous": a, "current": b,
                     "change_pct": change, "status": "on_track" if (b < a or a == b == 0) else "off_track"})
    n = int((cur["severity"] == "dac_biet_nghiem_trong").sum())
    rows.append({"aim": "no_especially_serious", "label": "Không để xảy ra TNGT đặc biệt nghiêm trọng" if lang == "vi"
                 else "No especially serious crash", "previous": int((prev["severity"] == "dac_biet_nghiem_trong").sum()),
                 "current": n, "change_pct": None, "status": "on_track" if n == 0 else "off_track"})
    return pd.DataFrame(rows)


def monthly(crashes: pd.DataFrame, *, year: int) -> pd.DataFrame:
    """Crashes, deaths, injured per month of ``year`` and of the year before."""
    d = crashes.assign(year=crashes["occurred_at"].dt.year, month=crashes["occurred_at"].dt.month)
    d = d.loc[d["year"].isin([year - 1, year])]
    g = d.groupby(["year", "month"]).agg(crashes=("id", "count"), deaths=("deaths", "sum"),
                                          injured=("injured", "sum"))
    full = pd.MultiIndex.from_product([[year - 1, year], range(1, 13)], names=["year", "month"])
    return g.reindex(full, fill_value=0).reset_index()


def progress(store: Store, *, plan_id: int | None = None, lang: str = "vi") -> pd.DataFrame:
    """Every linked item with its plan section, lead and cooperating agencies and status."""
    links = store.links_frame()
    cols = ["section_code", "section_title", "lead_agency", "cooperating", "item_type", "item_id", "item",
            "status", "done"]
    if links.empty:
        return pd.DataFrame(columns=cols)
    sections = store.sections_frame(plan_id).set_index("id")
    agencies = store.agencies_frame().set_index("id")["name"].to_dict()
    spots = store.blackspots_frame().set_index("id") if len(store.blackspots_frame()) else pd.DataFrame()
    cases = store.cases_frame().set_index("id")
    works = store.works_frame().set_index("id")
    done_status = {ItemType.BLACKSPOT.value: {BlackspotStatus.FIXED.value, BlackspotStatus.MONITORING.value,
                                              BlackspotStatus.REMOVED.value},
                   ItemType.CASE.value: {CaseStatus.CLEARED.value, CaseStatus.ENFORCED.value},
                   ItemType.WORK.value: {WorkStatus.DONE.value}}
    enum_of = {ItemType.BLACKSPOT.value: BlackspotStatus, ItemType.CASE.value: CaseStatus,
               ItemType.WORK.value: WorkStatus}
    rows = []
    for rec in links.to_dict("records"):
        if plan_id is not None and rec["section_id"] not in sections.index:
            continue
        it = rec["item_type"]
        table = {"blackspot": spots, "case": cases, "work": works}[it]
        if rec["item_id"] not in table.index:
            continue
        item = table.loc[rec["item_id"]]
        if it == "blackspot":
            label = f"{item['road_code'] or ''} {item['from_m'] or ''}".strip()
        elif it == "case":
            label = f"{item['kind'] or ''} {item['road_code'] or ''}".strip()
        else:
            label = str(item["name"] or item["work_type"])
        sec = sections.loc[rec["section_id"]] if rec["section_id"] in sections.index else None
        rows.append({"section_code": sec["code"] if sec is not None else "—",
                     "section_title": sec["title"] if sec is not None else "",
                     "lead_agency": agencies.get(rec["lead_agency_id"], "—"),
                     "cooperating": "; ".join(agencies.get(a, "?") for a in rec["cooperating_agency_ids"] or []),
                     "item_type": ItemType(it).label(lang), "item_id": rec["item_id"], "item": label,
                     "status": enum_of[it](item["status"]).label(lang), "done": item["status"] in done_status[it]})
    return pd.DataFrame(rows, columns=cols)


def progress_summary(progress_frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Items and share done per section (``by="section_code"``) or agency (``"lead_agency"``)."""
    if progress_frame.empty:
        return pd.DataFrame(columns=[by, "items", "done", "done_pct"])
    g = progress_frame.groupby(by).agg(items=("item_id", "count"), done=("done", "sum")).reset_index()
    g["done_pct"] = np.round(100.0 * g["done"] / g["items"], 0)
    return g
