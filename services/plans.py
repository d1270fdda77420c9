"""Plans service: targets year on year, progress by section and agency. No UI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from i18n import pick, t
from models.enums import BlackspotStatus, CaseStatus, ItemType, WorkStatus
from models.store import Store

if TYPE_CHECKING:
    from services.plan_parser import PlanDraft

#: A day as the plans' functions take it: a date, a Timestamp or ISO text.
When = date | str

CRITERIA = (
    ("crashes", "Số vụ", "Crashes"),
    ("deaths", "Số người chết", "Deaths"),
    ("injured", "Số người bị thương", "Injured"),
)
DEFAULT_BAND = (5.0, 10.0)
MOTORCYCLE = r"(?i)mô tô|xe máy|gắn máy|motor"
VERY_SERIOUS = ("rat_nghiem_trong", "dac_biet_nghiem_trong")


def plan_band(targets: list[dict[str, Any]] | None) -> tuple[float, float, bool]:
    """(min %, max %, from the plan?) of the three-criteria target."""
    for target in targets or []:
        if target.get("code") == "three_criteria" and target.get("min_pct") is not None:
            return float(target["min_pct"]), float(target["max_pct"] or target["min_pct"]), True
    return DEFAULT_BAND[0], DEFAULT_BAND[1], False


def _totals(df: pd.DataFrame) -> dict[str, int]:
    return {"crashes": len(df), "deaths": int(df["deaths"].sum()), "injured": int(df["injured"].sum())}


def _status(prev: int, cur: int, min_pct: float, *, has_baseline: bool = True) -> tuple[float | None, str]:
    if not has_baseline:
        return None, "no_data"
    if prev == 0:
        return None, ("on_track" if cur == 0 else "off_track")
    change = 100.0 * (cur - prev) / prev
    return round(change, 1), ("on_track" if change <= -min_pct + 1e-9 else "off_track")


def comparison_windows(
    crashes: pd.DataFrame, *, period_from: When, period_to: When, today: When | None = None
) -> dict[str, Any]:
    """Like for like: the period cut at the last day with data (or today),
    and the same days of the year before. ``has_baseline`` is False when no
    crash at all is recorded from the baseline's start on (data begin later).

    >>> c = pd.DataFrame({"occurred_at": pd.to_datetime(["2024-03-01", "2025-10-20"])})
    >>> w = comparison_windows(c, period_from="2025-01-01", period_to="2025-12-31", today="2025-11-23")
    >>> [str(w[k].date()) for k in ("from", "to", "baseline_from", "baseline_to")], w["cut"], w["has_baseline"]
    (['2025-01-01', '2025-10-20', '2024-01-01', '2024-10-20'], True, True)
    """
    p_from, p_to = pd.Timestamp(period_from).normalize(), pd.Timestamp(period_to).normalize()
    day = crashes["occurred_at"].dt.normalize() if len(crashes) else pd.Series(dtype="datetime64[ns]")
    today = pd.Timestamp(today or pd.Timestamp.today()).normalize()
    last = day.max() if len(day) else pd.NaT
    end = min(p_to, today, last) if pd.notna(last) else min(p_to, today)
    end = max(end, p_from)
    q_from, q_to = p_from - pd.DateOffset(years=1), end - pd.DateOffset(years=1)
    first = day.min() if len(day) else pd.NaT
    has_data = bool(pd.notna(last) and last >= p_from)  # no crash recorded yet in the period: nothing to judge
    return {
        "from": p_from,
        "to": end,
        "baseline_from": q_from,
        "baseline_to": q_to,
        "cut": bool(end < p_to),
        "last_data": last,
        "has_baseline": bool(has_data and pd.notna(first) and first <= q_to),
        "has_data": has_data,
    }


def _split(crashes: pd.DataFrame, w: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    day = crashes["occurred_at"].dt.normalize()
    cur = crashes.loc[(day >= w["from"]) & (day <= w["to"])]
    prev = crashes.loc[(day >= w["baseline_from"]) & (day <= w["baseline_to"])]
    return cur, prev


def target_table(
    crashes: pd.DataFrame,
    *,
    period_from: When,
    period_to: When,
    band: tuple[float, float] = DEFAULT_BAND,
    lang: str = "vi",
    today: When | None = None,
) -> pd.DataFrame:
    """The three criteria for the period (to the last day with data) against
    the same days a year earlier, in total and per commune, with the target
    band and a mark: on track (reduced by at least the band's lower bound),
    off track, or no data (no baseline). The windows are in ``.attrs``."""
    w = comparison_windows(crashes, period_from=period_from, period_to=period_to, today=today)
    cur, prev = _split(crashes, w)
    total_label = t("Toàn địa bàn", lang)
    scopes = [(total_label, cur, prev)]
    communes = sorted(set(cur["commune"].dropna()) | set(prev["commune"].dropna()))
    scopes += [(c, cur.loc[cur["commune"] == c], prev.loc[prev["commune"] == c]) for c in communes]
    rows = []
    for scope, c, p in scopes:
        tc, tp = _totals(c), _totals(p)
        for key, vi, en in CRITERIA:
            change, status = _status(tp[key], tc[key], band[0], has_baseline=w["has_baseline"])
            rows.append(
                {
                    "scope": scope,
                    "criterion": key,
                    "criterion_label": pick((vi, en), lang),
                    "previous": tp[key],
                    "current": tc[key],
                    "change_pct": change,
                    "target_from_pct": -band[0],
                    "target_to_pct": -band[1],
                    "status": status,
                }
            )
    out = pd.DataFrame(rows)
    out.attrs["windows"] = w
    return out


def secondary_aims(
    crashes: pd.DataFrame, *, period_from: When, period_to: When, lang: str = "vi", today: When | None = None
) -> pd.DataFrame:
    """The plan's other aims, like for like: drink-driving, motorcycle and
    very serious crashes reduced; no especially serious crash."""
    w = comparison_windows(crashes, period_from=period_from, period_to=period_to, today=today)
    cur, prev = _split(crashes, w)

    def veh(d: pd.DataFrame) -> pd.Series:
        return d["vehicle_types"].fillna("").str.contains(MOTORCYCLE, regex=True)

    aims: list[tuple[str, str, str, Callable[[pd.DataFrame], pd.Series]]] = [
        ("drink_driving", "TNGT liên quan rượu, bia", "Drink-driving crashes", lambda d: d["alcohol"].astype(bool)),
        ("motorcycle", "TNGT liên quan xe mô tô, xe máy", "Motorcycle crashes", veh),
        (
            "very_serious",
            "TNGT rất nghiêm trọng trở lên",
            "Very serious or worse",
            lambda d: d["severity"].isin(VERY_SERIOUS),
        ),
    ]
    rows = []
    for code, vi, en, f in aims:
        a, b = int(f(prev).sum()), int(f(cur).sum())
        change, _ = _status(a, b, 0)
        status = "no_data" if not w["has_baseline"] else "on_track" if (b < a or a == b == 0) else "off_track"
        rows.append(
            {
                "aim": code,
                "label": pick((vi, en), lang),
                "previous": a,
                "current": b,
                "change_pct": change if w["has_baseline"] else None,
                "status": status,
            }
        )
    n = int((cur["severity"] == "dac_biet_nghiem_trong").sum())
    rows.append(
        {
            "aim": "no_especially_serious",
            "label": t("Không để xảy ra TNGT đặc biệt nghiêm trọng", lang),
            "previous": int((prev["severity"] == "dac_biet_nghiem_trong").sum()),
            "current": n,
            "change_pct": None,
            "status": "on_track" if n == 0 else "off_track",
        }
    )
    out = pd.DataFrame(rows)
    out.attrs["windows"] = w
    return out


def plan_area(store: Store, plan: dict[str, Any] | None) -> tuple[str, pd.DataFrame]:
    """(area label, the crashes of the plan's area). The area is the
    administrative unit the plan's place names (crashes inside its boundary),
    else the crashes whose commune is that place; a plan of a unit before the
    2025 reform keeps the old unit's area. Without a plan or a match: every
    crash of the store."""
    import re

    import shapely

    from geo.location import unit_key

    crashes = store.crashes_frame()
    if not plan:
        return ("Toàn bộ dữ liệu / All data", crashes)
    place = str(plan.get("place") or "").strip()
    issuer = str(plan.get("issuer") or "")
    # the unit by its name with and without its unit word ("Huyện Kon Rẫy", "Kon Rẫy"), as the place and the
    # issuer (UBND HUYỆN KON RẪY) write it and as a boundary file names it
    keys = {unit_key(place)} if place else set()
    m = re.search(r"(?i)(xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|tỉnh|thành phố)\s+(.+)$", issuer)
    if m:
        keys.add(unit_key(f"{m.group(1)} {m.group(2)}"))
    names = {name for _, name in keys if name}
    units = store.admin_units_frame()
    if len(units) and names:
        unit_keys = units["name"].map(unit_key)
        hit = units.loc[unit_keys.map(lambda k: k[1] in names).to_numpy() & units["geometry"].notna().to_numpy()]
        if len(hit):
            # the unit named with the issuer's own word first ("Thành phố Kon Tum", not "Tỉnh Kon Tum"), then
            # the level the word names (a district's plan: the district, not a commune of that name)
            word = m.group(1).lower() if m else ""
            level = (
                "district"
                if word in ("huyện", "quận", "thị xã")
                else "province"
                if word in ("tỉnh", "thành phố")
                else "commune"
                if word
                else ""
            )
            exact = hit.loc[unit_keys.loc[hit.index].map(lambda k: bool(k[0]) and k in keys).to_numpy()]
            same = hit.loc[hit["level"] == level]
            unit = (exact if len(exact) else same if len(same) else hit).iloc[0]
            ok = crashes["lon"].notna() & crashes["lat"].notna()
            inside = np.zeros(len(crashes), dtype=bool)
            if ok.any():
                pts = shapely.points(crashes.loc[ok, "lon"].to_numpy(float), crashes.loc[ok, "lat"].to_numpy(float))
                inside[np.flatnonzero(ok.to_numpy())] = shapely.contains_xy(
                    unit["geometry"], shapely.get_x(pts), shapely.get_y(pts)
                )
            return (f"{unit['name']} ({unit['level']})", crashes.loc[inside])
    if names and len(crashes):
        communes = crashes["commune"].fillna("")
        by_commune = communes.map({c: unit_key(c)[1] for c in communes.unique()}).isin(names)
        if by_commune.any():
            return (place or issuer, crashes.loc[by_commune])
    return (
        "Toàn bộ dữ liệu (không xác định được địa bàn của kế hoạch) / All data (the plan's area is unknown)",
        crashes,
    )


def plan_by_number(store: Store, number: str) -> dict[str, Any]:
    """The plan numbered ``number`` (the latest saved when several are), or :class:`NotFoundError`."""
    from errors import NotFoundError

    plans = store.plans_frame()
    hit = plans.loc[plans["number"].astype(str).str.strip() == number.strip()] if len(plans) else plans
    if hit.empty:
        raise NotFoundError(f"Không có kế hoạch số {number} / No plan numbered {number}")
    return {str(k): v for k, v in hit.iloc[-1].to_dict().items()}


def targets_report(
    store: Store, *, plan_number: str | None = None, today: When | None = None, lang: str = "vi"
) -> dict[str, Any]:
    """What ``cli.py targets --json`` prints: the period and its baseline
    (like for like), the area, and one row per criterion and secondary aim."""
    plan = plan_by_number(store, plan_number) if plan_number else None
    area, crashes = plan_area(store, plan)
    year = pd.Timestamp(today or pd.Timestamp.today()).year
    p_from = (plan or {}).get("period_from") or pd.Timestamp(f"{year}-01-01")
    p_to = (plan or {}).get("period_to") or pd.Timestamp(f"{pd.Timestamp(p_from).year}-12-31")
    band = plan_band((plan or {}).get("targets"))
    table = target_table(crashes, period_from=p_from, period_to=p_to, band=band[:2], lang=lang, today=today)
    aims = secondary_aims(crashes, period_from=p_from, period_to=p_to, lang=lang, today=today)
    w = table.attrs["windows"]
    total = table.loc[table["scope"] == table["scope"].iloc[0]]

    def iso(d: When) -> str:
        return pd.Timestamp(d).date().isoformat()

    def pct(v: float | None) -> float | None:
        return None if v is None or (isinstance(v, float) and v != v) else float(v)

    rows = [
        {
            "criterion": r["criterion"],
            "label": r["criterion_label"],
            "current": int(r["current"]),
            "previous": int(r["previous"]),
            "change_pct": pct(r["change_pct"]),
            "band": [r["target_from_pct"], r["target_to_pct"]],
            "status": r["status"],
        }
        for r in total.to_dict("records")
    ]
    rows += [
        {
            "criterion": r["aim"],
            "label": r["label"],
            "current": int(r["current"]),
            "previous": int(r["previous"]),
            "change_pct": pct(r["change_pct"]),
            "band": None,
            "status": r["status"] if w["has_data"] else "no_data",
        }
        for r in aims.to_dict("records")
    ]
    return {
        "plan": (plan or {}).get("number"),
        "area": area,
        "period": {"from": iso(w["from"]), "to": iso(w["to"]), "planned_to": iso(p_to)},
        "baseline": {"from": iso(w["baseline_from"]), "to": iso(w["baseline_to"])},
        "last_data": iso(w["last_data"]) if pd.notna(w["last_data"]) else None,
        "band_from_plan": bool(band[2]),
        "rows": rows,
    }


def monthly(crashes: pd.DataFrame, *, year: int) -> pd.DataFrame:
    """Crashes, deaths, injured per month of ``year`` and of the year before."""
    d = crashes.assign(year=crashes["occurred_at"].dt.year, month=crashes["occurred_at"].dt.month)
    d = d.loc[d["year"].isin([year - 1, year])]
    g = d.groupby(["year", "month"]).agg(crashes=("id", "count"), deaths=("deaths", "sum"), injured=("injured", "sum"))
    full = pd.MultiIndex.from_product([[year - 1, year], range(1, 13)], names=["year", "month"])
    return g.reindex(full, fill_value=0).reset_index()


def progress(store: Store, *, plan_id: int | None = None, lang: str = "vi") -> pd.DataFrame:
    """Every linked item with its plan section, lead and cooperating agencies and status."""
    links = store.links_frame()
    cols = [
        "section_code",
        "section_title",
        "lead_agency",
        "cooperating",
        "item_type",
        "item_id",
        "item",
        "status",
        "done",
    ]
    if links.empty:
        return pd.DataFrame(columns=cols)
    sections = store.sections_frame(plan_id).set_index("id")
    agencies = store.agencies_frame().set_index("id")["name"].to_dict()
    spots = store.blackspots_frame().set_index("id") if len(store.blackspots_frame()) else pd.DataFrame()
    cases = store.cases_frame().set_index("id")
    works = store.works_frame().set_index("id")
    done_status = {
        ItemType.BLACKSPOT.value: {
            BlackspotStatus.FIXED.value,
            BlackspotStatus.MONITORING.value,
            BlackspotStatus.REMOVED.value,
        },
        ItemType.CASE.value: {CaseStatus.CLEARED.value, CaseStatus.ENFORCED.value},
        ItemType.WORK.value: {WorkStatus.DONE.value},
    }
    enum_of = {
        ItemType.BLACKSPOT.value: BlackspotStatus,
        ItemType.CASE.value: CaseStatus,
        ItemType.WORK.value: WorkStatus,
    }
    rows = []
    for rec in links.to_dict("records"):
        if plan_id is not None and rec["section_id"] not in sections.index:
            continue
        it = rec["item_type"]
        table = {ItemType.BLACKSPOT: spots, ItemType.CASE: cases, ItemType.WORK: works}[it]
        if rec["item_id"] not in table.index:
            continue
        item = table.loc[rec["item_id"]]
        if it == ItemType.BLACKSPOT:
            label = f"{item['road_code'] or ''} {item['from_m'] or ''}".strip()
        elif it == ItemType.CASE:
            label = f"{item['kind'] or ''} {item['road_code'] or ''}".strip()
        else:
            label = str(item["name"] or item["work_type"])
        sec = sections.loc[rec["section_id"]] if rec["section_id"] in sections.index else None
        rows.append(
            {
                "section_code": sec["code"] if sec is not None else "—",
                "section_title": sec["title"] if sec is not None else "",
                "lead_agency": agencies.get(rec["lead_agency_id"], "—"),
                "cooperating": "; ".join(agencies.get(a, "?") for a in rec["cooperating_agency_ids"] or []),
                "item_type": ItemType(it).label(lang),
                "item_id": rec["item_id"],
                "item": label,
                "status": enum_of[it](item["status"]).label(lang),
                "done": item["status"] in done_status[it],
            }
        )
    return pd.DataFrame(rows, columns=cols)


def progress_summary(progress_frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Items and share done per section (``by="section_code"``) or agency (``"lead_agency"``)."""
    if progress_frame.empty:
        return pd.DataFrame(columns=[by, "items", "done", "done_pct"])
    g = progress_frame.groupby(by).agg(items=("item_id", "count"), done=("done", "sum")).reset_index()
    g["done_pct"] = np.round(100.0 * g["done"] / g["items"], 0)
    return g


def save_plan(store: Store, draft: PlanDraft, *, user: str | None = None) -> int:
    """A plan reviewed by the user, with its sections (and agencies seeded from its recipients)."""
    plan_id: int = store.save_plan(draft, user=user)
    return plan_id


def add_agency(store: Store, *, name: str, user: str | None = None, **fields: Any) -> int:
    agency_id: int = store.add_agency(name=name, user=user, **fields)
    return agency_id
