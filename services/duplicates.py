"""Duplicates across sources (issue 19.4): the candidate pairs of the store's
live crashes (reports from two different sources close in place and time,
:mod:`geo.duplicates`), a pair side by side, and a person's decision — merge
the two (the values chosen field by field) or "not a duplicate" — with the
undo of either. No UI here.

The distance and the minutes come from ``settings.DUPLICATE_DISTANCE_M`` and
``settings.DUPLICATE_MINUTES`` unless given. Pairs already decided are not
offered again. The list is computed once per data version of the crash and
decision tables (:meth:`Store.read_cached`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import settings
from errors import NotFoundError
from geo.chainage import format_chainage
from geo.duplicates import PAIR_COLUMNS
from geo.duplicates import candidate_pairs as _candidate_pairs
from i18n import pick
from models._store_duplicates import DUPLICATE_TABLES, MERGE_FIELDS
from models.store import Store

#: The rows of a pair side by side: key → (Vietnamese, English) label. Keys that are also in
#: ``MERGE_FIELDS`` may be chosen from either crash when they differ.
DETAIL_FIELDS: dict[str, tuple[str, str]] = {
    "source": ("Nguồn", "Source"),
    "source_id": ("Mã vụ của nguồn", "Source's id"),
    "occurred_at": ("Ngày giờ", "Date and time"),
    "place": ("Vị trí (vĩ độ, kinh độ)", "Place (lat, lon)"),
    "road": ("Tuyến, lý trình", "Road, chainage"),
    "commune": ("Xã/phường", "Commune"),
    "deaths": ("Số người chết", "Deaths"),
    "injured": ("Số người bị thương", "Injured"),
    "vehicle_types": ("Phương tiện", "Vehicles"),
    "cause": ("Nguyên nhân", "Cause"),
    "description": ("Mô tả", "Description"),
}

#: Columns of :func:`duplicate_pairs`: the pair (``geo.duplicates.PAIR_COLUMNS``) and each crash's time and place.
LIST_COLUMNS = [*PAIR_COLUMNS, "occurred_at_a", "occurred_at_b", "road_code", "commune"]


def _limits(distance_m: float | None, minutes: float | None) -> tuple[float, float]:
    return (
        float(settings.DUPLICATE_DISTANCE_M if distance_m is None else distance_m),
        float(settings.DUPLICATE_MINUTES if minutes is None else minutes),
    )


def duplicate_pairs(store: Store, *, distance_m: float | None = None, minutes: float | None = None) -> pd.DataFrame:
    """The candidate pairs of the live crashes not decided yet, best first
    (:data:`LIST_COLUMNS`)."""
    d, m = _limits(distance_m, minutes)

    def read() -> pd.DataFrame:
        crashes = store.crashes_frame()
        pairs = _candidate_pairs(crashes, distance_m=d, minutes=m)
        decided = store.pair_decisions_frame()
        if len(pairs) and len(decided):
            done = set(zip(decided["crash_a"].astype(int), decided["crash_b"].astype(int)))
            keep = [(int(a), int(b)) not in done for a, b in zip(pairs["id_a"], pairs["id_b"])]
            pairs = pairs.loc[keep]
        if pairs.empty:
            return pd.DataFrame(columns=LIST_COLUMNS)
        info = crashes.set_index("id")
        a, b = info.loc[pairs["id_a"]], info.loc[pairs["id_b"]]
        out = pairs.assign(
            occurred_at_a=a["occurred_at"].to_numpy(),
            occurred_at_b=b["occurred_at"].to_numpy(),
            road_code=a["road_code"].where(a["road_code"].notna(), b["road_code"].to_numpy()).to_numpy(),
            commune=a["commune"].where(a["commune"].notna(), b["commune"].to_numpy()).to_numpy(),
        )
        return out.reset_index(drop=True)

    pairs: pd.DataFrame = store.read_cached(f"duplicate_pairs:{d:g}:{m:g}", read, tables=DUPLICATE_TABLES)
    return pairs


@dataclass
class PairDetail:
    """Two crashes side by side."""

    ids: tuple[int, int]
    versions: tuple[int, int]
    sources: tuple[str, str]
    #: one row per field of :data:`DETAIL_FIELDS`: ``field``, ``label``, ``a``, ``b`` (texts), ``differs``
    table: pd.DataFrame
    #: the fields a person may choose from either crash (in :data:`MERGE_FIELDS` and different)
    choices: list[str]


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NaT or v == "":
        return "—"
    return str(v)


def _field_text(rec: dict[Any, Any], field: str, lang: str) -> str:
    if field == "occurred_at":
        t = pd.Timestamp(rec["occurred_at"]) if rec["occurred_at"] is not None else pd.NaT
        return "—" if pd.isna(t) else t.strftime("%d/%m/%Y %H:%M")
    if field == "place":
        lon, lat = rec["lon"], rec["lat"]
        if lon is None or lat is None or not (np.isfinite(lon) and np.isfinite(lat)):
            return "—"
        return f"{float(lat):.6f}, {float(lon):.6f}"
    if field == "road":
        code, km = rec["road_code"], rec["chainage_m"]
        has_km = km is not None and np.isfinite(km)
        if not code and not has_km:
            return "—"
        return " ".join(p for p in (_text(code) if code else "", format_chainage(float(km)) if has_km else "") if p)
    if field == "commune":
        now = rec.get("commune_now")
        return _text(rec["commune"]) + (f" ({now})" if now and now != rec["commune"] else "")
    if field in ("deaths", "injured"):
        v = rec[field]
        return "—" if v is None else str(int(v))
    return _text(rec[field])


def pair_detail(store: Store, a: int, b: int, *, lang: str = "vi") -> PairDetail:
    """Crashes ``a`` and ``b`` side by side, with the fields that differ.

    Raises :class:`errors.NotFoundError` when one of them is not a live crash.
    """
    recs = {int(r["id"]): r for r in store.crash_records([a, b]).to_dict("records")}
    for cid in (int(a), int(b)):
        if cid not in recs or recs[cid]["deleted"]:
            raise NotFoundError(
                f"Không tìm thấy vụ số {cid} (hoặc vụ đã bị gộp, xóa) / Crash {cid} not found "
                "(or already merged or removed)"
            )
    ra, rb = recs[int(a)], recs[int(b)]
    rows = []
    for f, label in DETAIL_FIELDS.items():
        ta, tb = _field_text(ra, f, lang), _field_text(rb, f, lang)
        rows.append({"field": f, "label": pick(label, lang), "a": ta, "b": tb, "differs": ta != tb})
    table = pd.DataFrame(rows)
    choices = [r["field"] for r in rows if r["differs"] and r["field"] in MERGE_FIELDS]
    return PairDetail(
        ids=(int(a), int(b)),
        versions=(int(ra["version"]), int(rb["version"])),
        sources=(_text(ra["source"]), _text(rb["source"])),
        table=table,
        choices=choices,
    )


def merge_pair(
    store: Store,
    keep_id: int,
    drop_id: int,
    *,
    fields: Iterable[str] = (),
    versions: tuple[int | None, int | None] | None = None,
    user: str | None = None,
) -> dict[str, list[Any]]:
    """Merge crash ``drop_id`` into ``keep_id``: ``keep_id`` takes the dropped
    crash's values for ``fields`` (keys of ``MERGE_FIELDS``), ``drop_id`` is
    marked deleted (merged into the kept one); ``versions`` are the (keep,
    drop) versions the person saw. Returns the kept crash's changed values,
    old → new (see :meth:`Store.merge_crashes`)."""
    return store.merge_crashes(keep_id, drop_id, fields=fields, versions=versions, user=user)


def not_duplicate(store: Store, a: int, b: int, *, user: str | None = None) -> int:
    """Record that ``a`` and ``b`` are different crashes: the pair is not offered again."""
    return store.mark_not_duplicate(a, b, user=user)


def undo_decision(store: Store, a: int, b: int, *, user: str | None = None) -> None:
    """Undo a decision on the pair: a merge (the merged crash comes back and
    the kept one gets its values from before) or a "not a duplicate"."""
    decided = store.pair_decisions_frame()
    lo, hi = sorted((int(a), int(b)))
    row = decided.loc[(decided["crash_a"] == lo) & (decided["crash_b"] == hi)]
    if row.empty:
        raise NotFoundError(f"Cặp {lo}, {hi} chưa được quyết định / The pair {lo}, {hi} is not decided")
    if row["decision"].iloc[0] == "distinct":
        store.forget_pair_decision(lo, hi, user=user)
        return
    dropped = store.crash_records([lo, hi])
    merged = dropped.loc[dropped["deleted"].astype(bool) & dropped["merged_into"].notna()]
    if merged.empty:
        raise NotFoundError(f"Không thấy vụ đã gộp của cặp {lo}, {hi} / No merged crash in the pair {lo}, {hi}")
    store.undo_merge(int(merged["id"].iloc[0]), user=user)


def decisions(store: Store) -> pd.DataFrame:
    """The decided pairs, newest first: ``crash_a``, ``crash_b``, ``decision``, ``decided_at``, ``decided_by``."""
    out = store.pair_decisions_frame()
    return out.iloc[::-1].reset_index(drop=True)
