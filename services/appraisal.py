"""Which fix first: the economic appraisal of the store's proposed works
(the method is in ``geo/appraisal``). No UI here.

Each work is appraised at its site: the linked spot's stretch of road, or
the work's own stretch when it is linked to no spot. The site's expected
crashes a year are its Empirical Bayes estimate over the last ``years``
years of crash data (at most; as far back as the data goes), against all
road segments of the same length (at least ``settings.EB_SEGMENT_M``) in the
store; the GDP per capita, its year and the discount rate come from the
organisation's settings; the factors per work type from
``settings.CMF_FILE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import settings
from geo.appraisal import (
    APPRAISAL_COLUMNS,
    SERIOUS_INJURY_SHARE,
    VN_GDP_SOURCE,
    VSL_GDP_MULTIPLE,
    Selection,
    appraise,
    cmf_table,
    crash_costs,
    eb_rate,
    select_within_budget,
)
from geo.evaluation import segment_counts
from models.enums import WorkStatus
from models.store import Store
from services.organisation import load_organisation

#: The works appraised by default: proposed or approved, not started.
NOT_STARTED = (WorkStatus.PROPOSED.value, WorkStatus.APPROVED.value)
#: Years of crash data behind each site's expected crashes (at most).
YEARS = 3.0

RESULT_COLUMNS = [
    "id",
    "name",
    "work_type",
    "status",
    "blackspot_id",
    "road_code",
    "from_m",
    "to_m",
    "cost_vnd",
    "crashes_observed",
    "years_observed",
    "crashes_per_year",
    "eb",
    *APPRAISAL_COLUMNS,  # what geo.appraisal.appraise adds
]


@dataclass
class Appraisal:
    """The ranked works, the assumptions behind them and the factor table."""

    table: pd.DataFrame  # RESULT_COLUMNS, rank 1 first
    assumptions: dict[str, Any]
    cmf: pd.DataFrame
    selection: Selection | None = None  # set by :func:`within_budget`
    notes: list[str] = field(default_factory=list)


def _sites(works: pd.DataFrame, spots: pd.DataFrame) -> pd.DataFrame:
    """Road, from_m, to_m of each work's site: its spot's stretch, else its own."""
    s = (
        spots.set_index("id")[["road_code", "from_m", "to_m"]]
        if len(spots)
        else pd.DataFrame(columns=["road_code", "from_m", "to_m"])
    )
    sid = works["blackspot_id"]
    linked = sid.notna() & sid.isin(s.index)
    site = works[["road_code", "from_m", "to_m"]].copy()
    for col in ("road_code", "from_m", "to_m"):
        site[col] = site[col].astype(object)
        site.loc[linked, col] = s.loc[sid[linked].astype(int), col].to_numpy()
    site["from_m"] = pd.to_numeric(site["from_m"], errors="coerce")
    site["to_m"] = pd.to_numeric(site["to_m"], errors="coerce").fillna(site["from_m"])
    return site


def site_rates(store: Store, works: pd.DataFrame, *, years: float = YEARS) -> pd.DataFrame:
    """Per work: crashes at its site in the period observed, the years
    observed, Empirical Bayes expected crashes a year (``eb`` False when no
    road network gives a reference group), and the deaths, injured and
    recorded damage per crash at the site (the store's when the site has
    none)."""
    crashes = store.crashes_frame()
    out = pd.DataFrame(
        index=works.index,
        data={
            "crashes_observed": 0,
            "years_observed": np.nan,
            "crashes_per_year": 0.0,
            "eb": False,
            "deaths_per_crash": 0.0,
            "injured_per_crash": 0.0,
            "damage_per_crash": 0.0,
        },
    )
    if crashes.empty or works.empty:
        return out
    t = pd.to_datetime(crashes["occurred_at"])
    end = t.max().normalize() + pd.Timedelta(days=1)
    start = max(
        t.min().normalize(),
        end - pd.DateOffset(years=int(years)) if float(years).is_integer() else end - pd.Timedelta(days=365.25 * years),
    )
    period = crashes.loc[(t >= start) & (t < end)]
    span = max((end - start).days, 1) / 365.25
    out["years_observed"] = span
    dmg = pd.to_numeric(period["damage_vnd"], errors="coerce").fillna(0.0)
    n_all = max(len(period), 1)
    overall = (period["deaths"].sum() / n_all, period["injured"].sum() / n_all, dmg.sum() / n_all)
    site = _sites(works, store.blackspots_frame())
    net = store.road_network()
    refs: dict[float, np.ndarray] = {}
    road = period["road_code"].astype(str).to_numpy()
    ch = pd.to_numeric(period["chainage_m"], errors="coerce").to_numpy()
    for i, (rc, a, b) in zip(site.index, site[["road_code", "from_m", "to_m"]].itertuples(index=False)):
        if rc is None or pd.isna(rc) or pd.isna(a):
            continue
        lo, hi = min(a, b), max(a, b)
        at = (road == str(rc)) & (ch >= lo) & (ch <= hi)
        n = int(at.sum())
        ref = None
        if net is not None:
            seg = max(settings.EB_SEGMENT_M, float(hi - lo) or 1.0)
            if seg not in refs:
                refs[seg] = segment_counts(
                    net.index_of(road), ch, road_start=net.km_start, road_length=net.lengths, segment_m=seg
                )
            ref = refs[seg]
        out.loc[i, "crashes_observed"] = n
        out.loc[i, "crashes_per_year"] = eb_rate(n, ref, years=span)
        out.loc[i, "eb"] = ref is not None and len(ref) > 1
        if n:
            out.loc[i, ["deaths_per_crash", "injured_per_crash", "damage_per_crash"]] = [
                period["deaths"].to_numpy()[at].sum() / n,
                period["injured"].to_numpy()[at].sum() / n,
                dmg.to_numpy()[at].sum() / n,
            ]
        else:
            out.loc[i, ["deaths_per_crash", "injured_per_crash", "damage_per_crash"]] = list(overall)
    return out


def assumptions(store: Store) -> dict[str, Any]:
    """GDP per capita and its year, VSL, serious-injury cost, discount rate, from the organisation's settings."""
    org = load_organisation(store)
    costs = crash_costs(org.gdp_per_capita_vnd)
    return {
        "gdp_per_capita_vnd": float(org.gdp_per_capita_vnd),
        "gdp_year": int(org.gdp_year),
        "gdp_default_source": VN_GDP_SOURCE,
        "vsl_gdp_multiple": VSL_GDP_MULTIPLE,
        "vsl_vnd": float(costs["death"]),
        "serious_injury_share": SERIOUS_INJURY_SHARE,
        "serious_injury_vnd": float(costs["injured"]),
        "discount_rate": float(org.discount_rate_pct) / 100.0,
        "years_of_data": YEARS,
        "cmf_file": str(settings.CMF_FILE),
    }


def appraise_works(
    store: Store,
    *,
    statuses: tuple[str, ...] | None = NOT_STARTED,
    work_ids: list[int] | None = None,
    years: float = YEARS,
) -> Appraisal:
    """The ranked appraisal of the store's works (default: those not started;
    ``work_ids`` a given list; ``statuses=None`` every status)."""
    works = store.works_frame()
    if work_ids is not None:
        works = works.loc[works["id"].isin([int(i) for i in work_ids])]
    elif statuses is not None and len(works):
        works = works.loc[works["status"].isin(list(statuses))]
    works = works.reset_index(drop=True)
    a = assumptions(store)
    a["years_of_data"] = years
    cmf = cmf_table(settings.CMF_FILE)
    if works.empty:
        return Appraisal(pd.DataFrame(columns=RESULT_COLUMNS), a, cmf)
    rates = site_rates(store, works, years=years)
    table = appraise(
        works.join(rates), cmf, costs=crash_costs(a["gdp_per_capita_vnd"]), discount_rate=a["discount_rate"]
    )
    notes = []
    if not table["eb"].all():
        notes.append(
            "Một số công trình chưa có vị trí trên tuyến hoặc chưa có mạng đường: số vụ dự kiến là số vụ "
            "thực tế, không hiệu chỉnh Bayes / Some works have no site on a road, or there is no road "
            "network: their expected crashes are the observed ones, without the Bayes correction"
        )
    return Appraisal(table[RESULT_COLUMNS], a, cmf, notes=notes)


def within_budget(appraisal: Appraisal, budget_vnd: float) -> Appraisal:
    """The works that avoid the most crash cost (total PV of benefits) within
    ``budget_vnd``: ``selected`` added to the table and the selection kept."""
    t = appraisal.table.copy()
    sel = select_within_budget(
        t["cost_vnd"].to_numpy(dtype=float), t["pv_benefit_vnd"].to_numpy(dtype=float), float(budget_vnd)
    )
    t["selected"] = sel.chosen
    return Appraisal(t, appraisal.assumptions, appraisal.cmf, sel, appraisal.notes)


def totals(appraisal: Appraisal) -> dict[str, float]:
    """Cost, PV of benefits, NPV, B/C and crashes, deaths and injured avoided a year of the chosen works."""
    t = appraisal.table
    chosen = t.loc[t["selected"]] if "selected" in t else t.iloc[0:0]
    cost = float(chosen["cost_vnd"].sum())
    pv = float(chosen["pv_benefit_vnd"].sum())
    return {
        "budget_vnd": appraisal.selection.budget if appraisal.selection else 0.0,
        "n_works": int(len(chosen)),
        "cost_vnd": cost,
        "pv_benefit_vnd": pv,
        "npv_vnd": pv - cost,
        "bcr": pv / cost if cost else float("nan"),
        "avoided_crashes": float(chosen["avoided_crashes"].sum()),
        "avoided_deaths": float(chosen["avoided_deaths"].sum()),
        "avoided_injured": float(chosen["avoided_injured"].sum()),
    }


def spot_benefits(store: Store, spot_ids: list[int]) -> pd.DataFrame:
    """Per spot, its works (every status, as the Tờ trình lists them) with a
    cost: the sum of their PV of benefits, the sum of their costs and their
    B/C (each work appraised on its own: two works at one spot are counted
    as if each were the only one). Indexed by spot id; spots without such
    works are left out."""
    empty = pd.DataFrame(columns=["pv_benefit_vnd", "cost_vnd", "bcr"])
    works = store.works_frame()
    if works.empty:
        return empty
    ids = works.loc[works["blackspot_id"].isin([int(s) for s in spot_ids]), "id"].astype(int).tolist()
    if not ids:
        return empty
    t = appraise_works(store, work_ids=ids).table
    t = t.loc[t["cost_vnd"].notna() & (t["cost_vnd"] > 0)]
    g = t.groupby(t["blackspot_id"].astype(int)).agg(
        pv_benefit_vnd=("pv_benefit_vnd", "sum"), cost_vnd=("cost_vnd", "sum")
    )
    return g.assign(bcr=g["pv_benefit_vnd"] / g["cost_vnd"])


def _num(v: Any, nd: int | None = None) -> float | int | None:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or pd.isna(v):
        return None
    return round(float(v), nd) if nd is not None else float(v)


def report(appraisal: Appraisal) -> dict[str, Any]:
    """The appraisal as plain data (the command line's JSON): the ranked works,
    each with id, name, cost, avoided crashes a year, PV of benefits, NPV,
    B/C and whether it is selected; the totals of the selection; the
    assumptions and the factor table."""
    t = appraisal.table
    works = [
        {
            "rank": int(r["rank"]),
            "id": int(r["id"]),
            "name": r["name"] if isinstance(r["name"], str) else None,
            "work_type": r["work_type"],
            "status": r["status"],
            "spot_id": None if pd.isna(r["blackspot_id"]) else int(r["blackspot_id"]),
            "cost_vnd": _num(r["cost_vnd"], 0),
            "crashes_per_year": _num(r["crashes_per_year"], 3),
            "eb": bool(r["eb"]),
            "cmf": _num(r["cmf"]),
            "life_years": _num(r["life_years"]),
            "avoided_crashes_per_year": _num(r["avoided_crashes"], 4),
            "avoided_deaths_per_year": _num(r["avoided_deaths"], 4),
            "avoided_injured_per_year": _num(r["avoided_injured"], 4),
            "pv_benefit_vnd": _num(r["pv_benefit_vnd"], 0),
            "npv_vnd": _num(r["npv_vnd"], 0),
            "bcr": _num(r["bcr"], 2),
            "selected": bool(r.get("selected", False)),
        }
        for r in t.to_dict("records")
    ]
    sel = appraisal.selection
    out: dict[str, Any] = {
        "assumptions": appraisal.assumptions,
        "works": works,
        "cmf": appraisal.cmf.to_dict("records"),
        "notes": appraisal.notes,
    }
    if sel is not None:
        out["selection"] = {
            k: _num(v, 4 if k.startswith("avoided") or k == "bcr" else 0) if k != "n_works" else v
            for k, v in totals(appraisal).items()
        } | {"unit_vnd": sel.unit, "rounded": sel.rounded, "note": sel.note}
    return out
