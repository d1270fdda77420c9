"""Black spots and potential points: saving a screening, reading them, manual flags."""

from __future__ import annotations

import gc
import json
import typing
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Table, Text, bindparam, cast, func, insert, inspect, select, update
from sqlalchemy.orm.exc import StaleDataError

from errors import ConflictError, NotFoundError, TransitionError
from geo.screening import ScreeningResult
from models._store_base import _py
from models.db import _SKIP, OS_USER, _plain
from models.enums import BlackspotStatus, SpotKind
from models.orm import AuditLog, Blackspot
from models.permissions import Action


#: The app setting holding when each rule set last screened the store ({rule set: ISO time}).
SCREENED_AT = "screened_at"


class SpotsMixin:
    """Black spots and potential points: saving a screening, reading them, manual flags."""

    # -------------------------------------------------------------- black spots
    def save_screening(
        self,
        result: ScreeningResult,
        *,
        communes: dict[int, str] | None = None,
        geometries: dict[int, object] | typing.Callable[[list[int]], dict[int, object]] | None = None,
        road_ids: dict[str, int] | None = None,
        user: str | None = None,
    ) -> dict[str, list]:
        """Write screening results, matching the same rule set's previous spots.

        ``communes`` and ``geometries`` give each spot (by its ``spot`` number)
        its commune and geometry, ``road_ids`` each road code its road's id
        (see ``services.blackspots.run_screening``). ``geometries`` may be a
        function of a list of spot numbers: it is asked for the spots written
        (new or changed) only.

        Each rule set's spots are kept apart: a screen with one rule set never
        touches another's. A spot that overlaps an earlier automatic spot of the
        same kind, road and rule set updates it (status and history kept); a
        new one is added as a candidate; an earlier one that no longer
        qualifies keeps its status and is marked ``still_qualifies = False``.

        Returns what changed, per spot: ``new``, ``grown`` (its stretch or crash
        list grew), ``changed`` (other values), ``unchanged`` and
        ``no_longer_met``; each a list of ``{id, kind, road, from_m, to_m, …}``
        with the earlier stretch and counts where there was one.

        Set-based (issue 18.1): the earlier spots are read once, matched and
        compared column by column, and written with one statement per kind of
        change; the rows, versions and audit rows are those one ORM object per
        spot gave (``tests/models/test_save_screening_bulk.py`` keeps that
        method as the reference). A new spot, in the screening's order, updates
        the first earlier spot by id of its kind and road, not yet taken, whose
        stretch overlaps its own within 1 m.
        """
        self._check(Action.SCREEN)
        now = datetime.now()
        collecting = gc.isenabled()
        gc.disable()  # hundreds of thousands of small lists and dicts: no cycles to find, collections only slow it
        try:
            spots = result.spots
            if len(spots) and pd.api.types.is_integer_dtype(result.members["crash_id"]):
                spots = spots.copy()  # the store's crash ids: lists straight from the members, no text between
                spots["crash_ids"], spots["window_crash_ids"] = result.crash_id_lists()
            elif len(spots):
                spots = result.with_crash_lists()
            diff = self._save_spots(result, spots, now, communes, geometries, road_ids, user)
        finally:
            if collecting:
                gc.enable()
        screened = self.screened_at()
        screened[result.ruleset.id] = now.isoformat()
        self.set_setting(SCREENED_AT, screened, user=user, action=Action.SCREEN)
        return diff

    def _kept_patch(self, conn, kept: str, ruleset: str, version: int) -> dict[str, list] | None:
        """The spots kept for ``ruleset`` brought to ``version`` by reading again the few
        written since (the audit log names them); ``None`` when none are kept, or too many
        (:data:`PATCH_SHARE`) or a write naming no row were written since."""
        hit = self._kept_raw(kept)
        if hit is None or hit[0] > version:
            return None
        rows = self._rows_written_since("blackspot", hit[0], version, conn=conn)
        if rows is None or len(rows) > PATCH_SHARE * max(len(hit[1]["id"]), 1):
            return None
        return _patched(conn, hit[1], ruleset, sorted(rows))

    def _save_spots(self, result, spots, now, communes, geometries, road_ids, user) -> dict[str, list]:
        """The writes of :meth:`save_screening`, in one transaction.

        The rule set's spots as this save leaves them are kept for the next
        screening of this process (:meth:`_keep`), which reads them again only
        when someone wrote a spot since (issue 18.1: reading 140 000 spots back
        took a sixth of a re-screen)."""
        kept = f"earlier_spots:{result.ruleset.id}"
        geoms = geometries if geometries is not None and not callable(geometries) else {}
        new = _screened_values(spots, result.ruleset.id, communes or {}, geoms, road_ids or {}, user, now)
        try:
            with self.session(user) as s:
                conn = s.connection()
                version, clean = self._state_in(conn)  # before the spots are read
                old = self._kept_in(conn, kept, ("blackspot",), version)
                if old is None:  # spots written since it was kept (a status, a note): those read again
                    old = self._kept_patch(conn, kept, result.ruleset.id, version)
                if old is None:
                    old = _earlier_spots(conn, result.ruleset.id)
                match = _match_earlier(new, old)
                ne = _differences(new, old, match)
                if callable(geometries):  # the geometries of the spots written only: new or changed
                    changed = np.flatnonzero(match >= 0)[_any_differs(ne)]
                    write = np.r_[np.flatnonzero(match < 0), changed].tolist()
                    got = geometries([new["spot"][i] for i in write])
                    for i in write:
                        new["geom"][i] = got.get(new["spot"][i])
                diff, updates, changes = _compare(conn, new, old, match, now, ne)
                _write_updates(conn, updates)  # as the ORM's flush: the updates, then the inserts
                created = np.flatnonzero(match < 0)
                ids = _write_inserts(conn, new, created, now)
                diff["new"] = _summaries(
                    {k: [new[k][i] for i in created.tolist()] for k in _SUMMARY if k in new}
                    | {"id": ids, "status": [BlackspotStatus.CANDIDATE] * len(ids)}
                )
                user_ = s.info.get("user")
                _write_audit(conn, user_, _created_changes(new, created, ids, now), _updated_changes(changes))
                after = old
                if updates or ids:
                    version, after = _last_audit_id(conn), _after_save(old, new, updates, created, ids, now)
                    clean = clean and self._state_in(conn)[1]  # no other writer with lower numbers to come
        except BaseException:
            self._keep(kept, None, None)
            raise
        self._keep(kept, after, version, clean=clean)
        return diff

    def screened_at(self) -> dict[str, str]:
        """When each rule set last screened the store ({rule set: ISO time})."""
        return dict(self.get_setting(SCREENED_AT) or {})

    def blackspots_frame(self, *, kind: str | None = None, include_deleted: bool = False) -> pd.DataFrame:
        """The spots, best first (each selection read once per data version)."""
        return self.read_cached(
            f"spots:{kind}:{include_deleted}",
            lambda: self._blackspots_read(kind=kind, include_deleted=include_deleted),
            tables=("blackspot",),
        )

    def _blackspots_read(self, *, kind: str | None, include_deleted: bool) -> pd.DataFrame:
        q = select(Blackspot)
        if not include_deleted:
            q = q.where(Blackspot.deleted.is_(False))
        if kind:
            q = q.where(Blackspot.kind == SpotKind(kind))
        with self.session() as s:
            rows = s.execute(q.order_by(Blackspot.epdo.desc(), Blackspot.id)).scalars().all()
            recs = []
            for b in rows:
                recs.append(
                    {c.key: getattr(b, c.key) for c in Blackspot.__table__.columns if c.key != "geom"}
                    | {"geometry": b.geom}
                )
        df = pd.DataFrame(recs)
        if not df.empty:
            df["kind"] = df["kind"].map(lambda v: v.value)
            df["status"] = df["status"].map(lambda v: v.value)
        return df

    def get_blackspot(self, spot_id: int) -> Blackspot:
        with self.session() as s:
            b = s.get(Blackspot, spot_id)
            if b is None or b.deleted:
                raise NotFoundError(f"Không có điểm số {spot_id} / No spot {spot_id}")
            return b

    def flag_potential_point(
        self,
        *,
        lon: float,
        lat: float,
        reason: str,
        road_code: str | None = None,
        chainage_m: float | None = None,
        user: str | None = None,
        commune: str | None = None,
    ) -> int:
        """A potential crash point flagged by hand (unsafe road features)."""
        if not reason or not reason.strip():
            raise TransitionError("Cần ghi lý do / A reason is required")
        self._check(Action.CREATE_ITEM, commune=commune)
        with self.session(user) as s:
            b = Blackspot(
                kind=SpotKind.POTENTIAL,
                status=BlackspotStatus.CANDIDATE,
                manual=True,
                manual_reason=reason.strip(),
                road_code=road_code,
                from_m=chainage_m,
                to_m=chainage_m,
                commune=commune,
                geom=shapely.Point(lon, lat),
                updated_by=user,
            )
            s.add(b)
            s.flush()
            return b.id


# ------------------------------------------------------ saving a screening set-based
# ``save_screening`` writes with Core statements what one ORM object per spot wrote
# (issue 18.1): the same rows, versions and audit rows as the ORM's flush and its
# ``after_flush`` listener (``models.db._audit``), in a fraction of the time.

#: The columns a screening sets and compares with the earlier spot it matches.
_COMPARED = (
    "road_code",
    "road_id",
    "from_m",
    "to_m",
    "ruleset",
    "tests",
    "test_labels",
    "window_start",
    "window_end",
    "n_crashes",
    "deaths",
    "injured",
    "epdo",
    "n_windows",
    "window_m",
    "crash_ids",
    "window_crash_ids",
    "still_qualifies",
    "commune",
)
#: The columns of a spot's summary in a screen's report (:func:`_summaries`).
_SUMMARY = (
    "id",
    "kind",
    "road_code",
    "from_m",
    "to_m",
    "n_crashes",
    "deaths",
    "injured",
    "tests",
    "n_windows",
    "window_m",
    "window_start",
    "window_end",
    "status",
)
#: The columns the audit listener writes, in the mapper's order.
_AUDITED = tuple(a.key for a in inspect(Blackspot).column_attrs if a.key not in _SKIP)
#: Types :func:`models.db._plain` returns as they are.
_AS_IS = frozenset({str, int, float, bool, list, dict, type(None)})
_GEOM = object()  # a geometry's place in :func:`_plain_all`
_BLACKSPOT = typing.cast(Table, Blackspot.__table__)


def _id_list(v) -> list:
    """``"1;2;x"`` → ``[1, 2, "x"]`` (each id as :func:`_py` reads it)."""
    parts = str(v).split(";")
    try:
        return list(map(int, parts))
    except ValueError:
        return [_py(p) for p in parts]


def _dates(col: pd.Series) -> list:
    """``pd.Timestamp(v).date()`` of each value."""
    if pd.api.types.is_datetime64_dtype(col) and not col.isna().any():
        return col.dt.date.tolist()
    return [pd.Timestamp(v).date() for v in col.tolist()]


def _screened_values(
    spots: pd.DataFrame,
    ruleset: str,
    commune_of: dict,
    geoms: dict,
    road_ids: dict,
    user: str | None,
    now: datetime,
) -> dict[str, list]:
    """The values a screening gives each spot, column by column (as Python values, in the spots' order)."""
    n = len(spots)
    if not n:
        return {k: [] for k in ("kind", *_COMPARED, "last_run_at", "geom", "updated_by", "spot")}
    spot = [int(v) for v in spots["spot"].tolist()]
    road = spots["road"].tolist()
    window_m = spots["window_m"] if "window_m" in spots else pd.Series([None] * n)
    return {
        "kind": spots["kind"].tolist(),
        "road_code": road,
        "road_id": [road_ids.get(r) for r in road],
        "from_m": [float(v) for v in spots["from_m"].tolist()],
        "to_m": [float(v) for v in spots["to_m"].tolist()],
        "ruleset": [ruleset] * n,
        "tests": spots["tests"].tolist(),
        "test_labels": spots["test_labels"].tolist(),
        "window_start": _dates(spots["window_start"]),
        "window_end": _dates(spots["window_end"]),
        "n_crashes": [int(v) for v in spots["n_crashes"].tolist()],
        "deaths": [int(v) for v in spots["deaths"].tolist()],
        "injured": [int(v) for v in spots["injured"].tolist()],
        "epdo": [float(v) for v in spots["epdo"].tolist()],
        "n_windows": [int(v or 1) for v in spots["n_windows"].tolist()] if "n_windows" in spots else [1] * n,
        "window_m": [float(v) if ok else None for v, ok in zip(window_m.tolist(), window_m.notna().tolist())],
        "crash_ids": [v if type(v) is list else _id_list(v) for v in spots["crash_ids"].tolist()],
        "window_crash_ids": [v if type(v) is list else _id_list(v) for v in spots["window_crash_ids"].tolist()],
        "still_qualifies": [True] * n,
        "commune": [commune_of.get(k) for k in spot],
        "last_run_at": [now] * n,
        "geom": [geoms.get(k) for k in spot],
        "updated_by": [user] * n,
        "spot": spot,
    }


def _earlier_spots(conn, ruleset: str, ids: list[int] | None = None) -> dict[str, list]:
    """The rule set's automatic spots, by id: the columns the comparison needs, as lists of the
    values the ORM loaded (a frame's object columns cost as much to build as to read); those of
    ``ids`` only, when given."""
    t = _BLACKSPOT
    keys = ("id", "version", "kind", "status", "last_run_at", *_COMPARED)
    lists = ("crash_ids", "window_crash_ids")  # read as text, parsed in one call each (json.loads as the type does)
    q = select(*(cast(t.c[k], Text) if k in lists else t.c[k] for k in keys)).where(
        t.c.manual.is_(False),
        t.c.deleted.is_(False),
        t.c.ruleset == ruleset,
        t.c.kind.in_([SpotKind.BLACK_SPOT, SpotKind.POTENTIAL]),
    )
    if ids is not None:
        q = q.where(t.c.id.in_(ids))
    rows = conn.execute(q.order_by(t.c.id)).all()
    cols = list(zip(*rows)) if rows else [()] * len(keys)
    for k in lists:
        at = keys.index(k)
        cols[at] = json.loads("[" + ",".join("null" if v is None else v for v in cols[at]) + "]")
    return {k: list(c) for k, c in zip(keys, cols)}


def _patched(conn, kept: dict[str, list], ruleset: str, rows: list[int]) -> dict[str, list]:
    """``kept`` (spots by id, as :func:`_earlier_spots` reads them) with the spots ``rows`` read
    again: each as it is now, or gone (deleted, manual, another rule set's)."""
    fresh = _earlier_spots(conn, ruleset, rows)
    gone = set(rows)
    stay = [j for j, sid in enumerate(kept["id"]) if sid not in gone]
    ids = [kept["id"][j] for j in stay] + fresh["id"]
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable").tolist()
    out = {}
    for k, col in kept.items():
        merged = [col[j] for j in stay] + fresh[k]
        out[k] = [merged[i] for i in order]
    return out


#: A kept reading of the spots is patched when at most this share of them was written since (else read whole).
PATCH_SHARE = 0.05


def _last_audit_id(conn) -> int:
    """The data version once this transaction commits: its own newest audit row on PostgreSQL (the
    sequence's value in this session), the newest row on SQLite (one writer at a time)."""
    if conn.dialect.name == "postgresql":
        return int(conn.exec_driver_sql("SELECT currval(pg_get_serial_sequence('audit_log', 'id'))").scalar_one())
    return int(conn.execute(select(func.max(AuditLog.id))).scalar() or 0)


def _after_save(
    old: dict[str, list], new: dict[str, list], updates: dict[tuple, list[dict]], created, ids: list[int], now
) -> dict[str, list]:
    """The rule set's spots as :func:`_earlier_spots` would read them after this save: ``old``
    with the updates' values and versions, then the new rows (ids ascending)."""
    out = {k: list(v) for k, v in old.items()}
    at = {sid: j for j, sid in enumerate(old["id"])}
    for cols, rows in updates.items():
        kept_cols = [c for c in cols if c in out]
        for r in rows:
            j = at[r["b_id"]]
            out["version"][j] = r["b_new_version"]
            for c in kept_cols:
                out[c][j] = r[f"b_{c}"]
    idx = created.tolist()
    n = len(idx)
    given = {
        "id": ids,
        "version": [1] * n,
        "kind": [SpotKind(new["kind"][i]) for i in idx],
        "status": [BlackspotStatus.CANDIDATE] * n,
        "last_run_at": [now] * n,
    }
    for k in out:
        out[k].extend(given[k] if k in given else [new[k][i] for i in idx])
    return out


def _rank(g: np.ndarray, v: np.ndarray, gq: np.ndarray, vq: np.ndarray, *, ties_before: bool) -> np.ndarray:
    """For each query (``gq``, ``vq``), how many of the (``g``, ``v``) pairs sort before it; pairs equal
    to it count when ``ties_before``."""
    k = len(g)
    side = np.r_[np.zeros(k, np.int8), np.ones(len(gq), np.int8)]
    if not ties_before:
        side = 1 - side
    order = np.lexsort((side, np.r_[v, vq], np.r_[g, gq]))
    is_query = order >= k
    before = np.cumsum(~is_query)
    out = np.empty(len(gq), np.int64)
    out[order[is_query] - k] = before[is_query]
    return out


def _match_earlier(new: dict[str, list], old: dict[str, list]) -> np.ndarray:
    """For each new spot, the row of ``old`` it updates, or -1.

    As one spot at a time did it: a new spot (in the screening's order) takes the
    first earlier spot (by id) of its kind and road, not taken yet, whose
    stretch overlaps its own within 1 m. The overlapping pairs are found with
    sorted searches; only the choice among them is a loop, over the pairs."""
    n, m = len(new["from_m"]), len(old["id"])
    match = np.full(n, -1, dtype=np.int64)
    if not n or not m:
        return match
    groups: dict[tuple, int] = {}
    kinds = [getattr(k, "value", k) for k in old["kind"]]
    g_old = np.array([groups.setdefault(key, len(groups)) for key in zip(kinds, old["road_code"])])
    g_new = np.array([groups.get(key, -1) for key in zip(new["kind"], new["road_code"])])
    f_old = np.asarray(old["from_m"], dtype=float)
    t_old = np.asarray(old["to_m"], dtype=float)
    x = np.asarray(new["to_m"], dtype=float) + 1  # an earlier spot starting at or before it ends (+1 m)
    y = np.asarray(new["from_m"], dtype=float) - 1  # and ending at or after it starts (-1 m)
    order = np.lexsort((f_old, g_old))
    gs, fs, ts = g_old[order], f_old[order], t_old[order]
    # per group, the furthest end so far: the first row whose stretch can reach back to a start
    reach = pd.Series(np.where(np.isnan(ts), -np.inf, ts)).groupby(gs).cummax().to_numpy()
    lo = _rank(gs, reach, g_new, y, ties_before=False)
    hi = _rank(gs, fs, g_new, x, ties_before=True)
    count = np.maximum(hi - lo, 0)
    new_of = np.repeat(np.arange(n), count)
    pos = np.repeat(lo, count) + np.arange(len(new_of)) - np.repeat(np.cumsum(count) - count, count)
    ok = (g_new[new_of] >= 0) & (fs[pos] <= x[new_of]) & (ts[pos] >= y[new_of])
    new_of, cand = new_of[ok], order[pos[ok]]
    by = np.lexsort((cand, new_of))
    found = [-1] * n
    taken = bytearray(m)
    for i, j in zip(new_of[by].tolist(), cand[by].tolist()):
        if found[i] < 0 and not taken[j]:
            found[i] = j
            taken[j] = 1
    return np.asarray(found, dtype=np.int64)


def _objects(values: list) -> np.ndarray:
    """``values`` as a 1-D object array (lists stay elements, not rows)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _differences(new: dict[str, list], old: dict[str, list], match: np.ndarray) -> dict[str, np.ndarray]:
    """Per compared column, whether each matched new spot's value differs from
    its earlier spot's (``!=``, as the ORM's history compares), in new-spot order."""
    mi = np.flatnonzero(match >= 0)
    mj = match[mi]
    return {k: _objects(old[k])[mj] != _objects(new[k])[mi] for k in _COMPARED}


def _any_differs(ne: dict[str, np.ndarray]) -> np.ndarray:
    """Which matched spots differ from their earlier spot in any compared column."""
    out: np.ndarray = np.logical_or.reduce([ne[k] for k in _COMPARED])
    return out


def _summaries(cols: dict[str, list]) -> list[dict]:
    """Each row of ``cols`` (columns of :data:`_SUMMARY`) as a screen's report names a spot."""
    return [
        {
            "id": i,
            "kind": k.value if hasattr(k, "value") else k,
            "road": road,
            "from_m": f,
            "to_m": t,
            "n_crashes": nc,
            "deaths": d,
            "injured": inj,
            "tests": tests,
            "n_windows": nw,
            "window_m": wm,
            "window_start": str(ws) if ws else None,
            "window_end": str(we) if we else None,
            "status": getattr(st, "value", st),
        }
        for i, k, road, f, t, nc, d, inj, tests, nw, wm, ws, we, st in zip(*(cols[c] for c in _SUMMARY))
    ]


def _plain_all(values: list) -> list:
    """:func:`models.db._plain` of each value (geometries' WKT made in one call)."""
    out = [v if type(v) in _AS_IS else _plain(v) if not isinstance(v, shapely.Geometry) else _GEOM for v in values]
    geo = [i for i, v in enumerate(out) if v is _GEOM]
    if geo:
        wkt = shapely.to_wkt(np.array([values[i] for i in geo], dtype=object), rounding_precision=-1)
        for i, w in zip(geo, wkt.tolist()):
            out[i] = w[:200]
    return out


def _geoms_of(conn, ids: list[int]) -> dict[int, object]:
    t = _BLACKSPOT
    out: dict[int, object] = {}
    for k in range(0, len(ids), 5000):
        out.update(conn.execute(select(t.c.id, t.c.geom).where(t.c.id.in_(ids[k : k + 5000]))).all())
    return out


class _Taken(dict):
    """Columns of ``cols`` at rows ``rows``, each gathered when first asked for."""

    def __init__(self, cols: dict[str, list], rows: np.ndarray):
        super().__init__()
        self.cols, self.rows = cols, rows

    def __missing__(self, k: str) -> list:
        got = _objects(self.cols[k])[self.rows].tolist()
        self[k] = got
        return got


def _compare(conn, new: dict[str, list], old: dict[str, list], match: np.ndarray, now: datetime, ne: dict):
    """The report of a screening against the earlier spots, the updates to write
    ({columns set: parameter rows}) and what each update changes ((row id,
    "update", columns, old values, new values), in the mapper's column order:
    the columns whose value differs (``ne``: :func:`_differences`), as the
    ORM's attribute history had them)."""
    diff: dict[str, list] = {"new": [], "grown": [], "changed": [], "unchanged": [], "no_longer_met": []}
    updates: dict[tuple, list[dict]] = {}
    audit: list[tuple] = []
    mi = np.flatnonzero(match >= 0).tolist()
    mj = match[match >= 0].tolist()
    oc = old  # the earlier spots' columns
    taken_old = _Taken(oc, match[match >= 0])
    taken_new = _Taken(new, np.flatnonzero(match >= 0))
    changed = _any_differs(ne)
    before = _summaries(taken_old)
    rows = np.flatnonzero(changed).tolist()
    # a changed spot's summary after: the new value where it differs, else the one it had
    after = dict(
        zip(
            rows,
            _summaries(
                {k: [taken_new[k][p] if k in ne and ne[k][p] else taken_old[k][p] for p in rows] for k in _SUMMARY}
            ),
        )
    )
    with_geom = [p for p in rows if taken_new["geom"][p] is not None]
    old_geom = _geoms_of(conn, [taken_old["id"][p] for p in with_geom])
    geom_ne = {p: old_geom.get(taken_old["id"][p]) != taken_new["geom"][p] for p in with_geom}
    for p in range(len(mi)):
        if not changed[p]:
            diff["unchanged"].append(before[p] | {"before": before[p]})
            continue
        entry = after[p] | {"before": before[p]}
        ids = taken_new["crash_ids"][p]
        grown = (
            taken_new["from_m"][p] < taken_old["from_m"][p] - 0.5
            or taken_new["to_m"][p] > taken_old["to_m"][p] + 0.5
            or len(set(ids) - set(taken_old["crash_ids"][p] or [])) > 0
        )
        diff["grown" if grown else "changed"].append(entry)
    # the updates and their audit rows: the columns that differ, as the ORM's history saw them
    for p in rows:
        sid = taken_old["id"][p]
        set_old = {k: taken_old[k][p] for k in _COMPARED if ne[k][p]}
        set_new = {k: taken_new[k][p] for k in set_old}
        if taken_old["last_run_at"][p] != now:
            set_old["last_run_at"], set_new["last_run_at"] = taken_old["last_run_at"][p], now
        if geom_ne.get(p):
            set_old["geom"], set_new["geom"] = old_geom.get(sid), taken_new["geom"][p]
        _add_update(updates, audit, sid, taken_old["version"][p], set_old, set_new)
    taken = np.zeros(len(old["id"]), dtype=bool)
    taken[mj] = True
    gone = [j for j in np.flatnonzero(~taken).tolist() if oc["still_qualifies"][j]]
    diff["no_longer_met"] = _summaries({k: [oc[k][j] for j in gone] for k in _SUMMARY})
    for j in gone:
        set_old, set_new = {}, {}
        if oc["still_qualifies"][j] != False:  # noqa: E712  (as the ORM compares)
            set_old["still_qualifies"], set_new["still_qualifies"] = oc["still_qualifies"][j], False
        if oc["last_run_at"][j] != now:
            set_old["last_run_at"], set_new["last_run_at"] = oc["last_run_at"][j], now
        if set_new:
            _add_update(updates, audit, oc["id"][j], oc["version"][j], set_old, set_new)
    return diff, updates, audit


def _add_update(updates: dict, audit: list, sid: int, version: int, set_old: dict, set_new: dict) -> None:
    cols = tuple(k for k in _AUDITED if k in set_new)
    updates.setdefault(cols, []).append(
        {"b_id": sid, "b_version": version, "b_new_version": version + 1} | {f"b_{k}": set_new[k] for k in cols}
    )
    audit.append((sid, "update", cols, [set_old[k] for k in cols], [set_new[k] for k in cols]))


def _write_updates(conn, updates: dict[tuple, list[dict]]) -> None:
    """One executemany per set of columns, each row at its version (as the ORM's optimistic lock)."""
    t = _BLACKSPOT
    for cols, rows in updates.items():
        stmt = (
            update(t)
            .where(t.c.id == bindparam("b_id"), t.c.version == bindparam("b_version"))
            .values(
                {t.c[k]: bindparam(f"b_{k}", type_=t.c[k].type) for k in cols}
                | {t.c.version: bindparam("b_new_version")}
            )
        )
        res = conn.execute(stmt, rows)
        if conn.dialect.supports_sane_multi_rowcount and res.rowcount != len(rows):
            raise StaleDataError(
                f"UPDATE statement on table 'blackspot' expected to update {len(rows)} row(s); "
                f"{res.rowcount} were matched."
            )


def _write_inserts(conn, new: dict[str, list], created: np.ndarray, now: datetime) -> list[int]:
    """The new spots as candidates, in the screening's order; their ids (ascending, as the ORM's inserts gave them)."""
    n = len(created)
    if not n:
        return []
    idx = created.tolist()
    t = _BLACKSPOT
    kinds = {k: SpotKind(k) for k in {new["kind"][i] for i in idx}}
    cols = {k: [new[k][i] for i in idx] for k in (*_COMPARED, "last_run_at", "geom", "updated_by")}
    cols |= {
        "kind": [kinds[new["kind"][i]] for i in idx],
        "status": [BlackspotStatus.CANDIDATE] * n,
        "first_detected_at": [now] * n,
        "manual": [False] * n,
        "version": [1] * n,
        "deleted": [False] * n,
    }
    if conn.dialect.name == "postgresql":  # ids from the table's sequence, then the rows with them
        seq = "SELECT nextval(pg_get_serial_sequence('blackspot', 'id')) FROM generate_series(1, %(n)s)"
        ids = sorted(int(v) for v in conn.exec_driver_sql(seq, {"n": n}).scalars())
        _insert_rows(conn, t, {"id": ids} | cols)
        return ids
    # SQLite: one statement per row in this transaction, each row one past the table's largest id
    _insert_rows(conn, t, cols)
    last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
    ids = list(range(last - n + 1, last + 1))
    got = conn.execute(select(func.count()).select_from(t).where(t.c.id.between(ids[0], last))).scalar_one()
    if got != n:  # not consecutive (the largest id was taken): no way to tell which row got which id
        raise ConflictError("Mã điểm mới không liên tiếp; hãy chạy lại / New spot ids not consecutive; run again")
    return ids


def _insert_rows(conn, table, columns: dict[str, list]) -> None:
    """INSERT rows given column by column through the driver's executemany: each
    column's values pass its type's bind processing (``Geometry``'s WKB, with
    the SRID on PostGIS, JSON, enums, dates) as SQLAlchemy would, one column at
    a time, without SQLAlchemy's per-row parameter handling."""
    d = conn.dialect
    stmt = insert(table).values({table.c[k]: bindparam(f"p_{k}", type_=table.c[k].type) for k in columns})
    compiled = stmt.compile(dialect=d)
    values = {}
    for k, vals in columns.items():
        proc = table.c[k].type.dialect_impl(d).bind_processor(d)
        values[f"p_{k}"] = list(map(proc, vals)) if proc else list(vals)
    order = list(compiled.positiontup) if compiled.positiontup is not None else list(compiled.binds)
    missing = set(order) - set(values)
    if missing:
        raise KeyError(f"no values for {sorted(missing)}")
    if compiled.positiontup is not None:
        params: list = list(zip(*(values[k] for k in order)))
    else:
        params = [dict(zip(order, row)) for row in zip(*(values[k] for k in order))]
    if params:
        conn.exec_driver_sql(compiled.string, params)


def _created_changes(new: dict[str, list], created: np.ndarray, ids: list[int], now: datetime) -> list[tuple]:
    """The audit rows' changes of the new spots ((row id, changes)): every value not None, as the
    listener lists a created object's, through :func:`models.db._plain` column by column."""
    idx = created.tolist()
    n = len(idx)
    given = {
        "id": ids,
        "kind": [new["kind"][i] for i in idx],
        "status": [_plain(BlackspotStatus.CANDIDATE)] * n,
        "manual": [False] * n,
        "first_detected_at": [_plain(now)] * n,
        "last_run_at": [_plain(now)] * n,
        "deleted": [False] * n,
    }
    cols, keys = [], []
    for k in _AUDITED:
        if k in given:
            vals = given[k]
        elif k in new:
            vals = [new[k][i] for i in idx]
        else:
            continue  # name, manual_reason, notes: None
        keys.append(k)
        cols.append(_plain_column(vals))
    return [(sid, {k: [None, v] for k, v in zip(keys, vals) if v is not None}) for sid, vals in zip(ids, zip(*cols))]


def _plain_column(values: list) -> list:
    """:func:`_plain_all` of one column: its values' types looked at once."""
    types = set(map(type, values))
    return values if types <= _AS_IS else _plain_all(values)


def _updated_changes(entries: list[tuple]) -> list[tuple]:
    """The audit rows' changes of the updates ((row id, changes)), from (row id, columns, old, new)."""
    flat_new = _plain_all([v for e in entries for v in e[4]])
    flat_old = _plain_all([v for e in entries for v in e[3]])
    out = []
    a = 0
    for sid, _action, keys, _old, _new in entries:
        k = len(keys)
        out.append((sid, {key: [o, v] for key, o, v in zip(keys, flat_old[a : a + k], flat_new[a : a + k])}))
        a += k
    return out


def _write_audit(conn, user: str | None, created: list[tuple], updated: list[tuple]) -> None:
    """The audit rows of the new spots, then of the updated ones (each (row id, changes)), as
    ``models.db._audit`` writes them."""
    rows = created + updated
    if not rows:
        return
    n = len(rows)
    _insert_rows(
        conn,
        AuditLog.__table__,
        {
            "at": [datetime.now()] * n,
            "user": [user] * n,
            "table_name": ["blackspot"] * n,
            "row_id": [r[0] for r in rows],
            "action": ["create"] * len(created) + ["update"] * len(updated),
            "changes": [r[1] for r in rows],
            "os_user": [OS_USER] * n,
        },
    )
