"""The store: every read and write of the domain goes through here (the
repository). Pages and services never write SQL.

Writes are transactions: an import batch is all-or-nothing, a status change
checks the version the user saw (optimistic locking), and every ORM change is
written in the audit log with its user.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError

from errors import ConflictError, ImportRejected, NotFoundError, TransitionError
from geo.chainage import RoadNetwork
from geo.screening import ScreeningResult
from geo.validate import ValidationResult
from models.db import get_engine, is_postgres, migrate, session_scope
import settings
from models.enums import (BLACKSPOT_TRANSITIONS, AdminLevel, CASE_OPEN, CASE_TRANSITIONS, WORK_TRANSITIONS, BatchStatus,
                          BlackspotStatus, CaseStatus, SpotKind, WorkStatus)
from models.orm import (AdminUnit, Agency, Attachment, AuditLog, Blackspot, Crash, EncroachmentCase, ImportBatch,
                        Plan, PlanLink, PlanSection, RemediationWork, Road, User)
from models.permissions import SYSTEM, Action, Principal, check

CRASH_FRAME_COLUMNS = [
    "id", "source_id", "occurred_at", "lon", "lat", "road_id", "road_code", "chainage_m", "commune", "deaths",
    "injured", "injury_pct", "damage_vnd", "vehicle_types", "alcohol", "not_infrastructure", "description",
    "severity", "source", "is_simulated", "batch_id",
]


@dataclass
class ImportSummary:
    """What an import did."""

    batch_id: int | None
    n_rows: int
    n_imported: int
    n_invalid: int
    n_already_in_store: int
    n_duplicate_in_file: int


class Store:
    """Access to one database (SQLite file or PostGIS)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, migrate_schema: bool = True,
                 principal: Principal | None = None):
        self.engine = engine or get_engine(url)
        self.principal = principal or SYSTEM
        if migrate_schema:
            migrate(self.engine)

    def with_principal(self, principal: Principal) -> "Store":
        """The same store acting for ``principal``: every write is checked
        against its role (and commune), and audited under its name."""
        return Store(engine=self.engine, migrate_schema=False, principal=principal)

    def _check(self, action: Action, *, commune: str | None = None) -> None:
        check(self.principal, action, commune=commune)

    @property
    def postgres(self) -> bool:
        return is_postgres(self.engine)

    def session(self, user: str | None = None):
        return session_scope(self.engine, user=user or self._who())

    def _who(self, user: str | None = None) -> str | None:
        """The name written in the audit log: the acting account, else ``user``."""
        if self.principal is not SYSTEM:
            return self.principal.username
        return user

    # ------------------------------------------------------------------ roads
    def add_roads(self, roads: pd.DataFrame, *, user: str | None = None, source: str | None = None) -> list[int]:
        """Add roads: columns code, geometry (WGS 84), optional name, road_class,
        is_urban, carriageway_width_m, road_land_half_width_m, km_start_m."""
        from geo.crs import metric_crs, transform

        self._check(Action.IMPORT)
        ids = []
        with self.session(user) as s:
            for rec in roads.to_dict("records"):
                g = rec["geometry"]
                cx = shapely.get_coordinates(g)
                mx, my = transform(cx[:, 0], cx[:, 1], "EPSG:4326", metric_crs(cx[:, 0], cx[:, 1]).to_wkt())
                length = float(shapely.length(shapely.transform(g, lambda xy: np.column_stack([mx, my]))))
                road = Road(code=str(rec["code"]), name=rec.get("name"), road_class=rec.get("road_class"),
                            is_urban=bool(rec.get("is_urban") or False),
                            carriageway_width_m=_num(rec.get("carriageway_width_m")),
                            road_land_half_width_m=_num(rec.get("road_land_half_width_m")),
                            km_start_m=_num(rec.get("km_start_m")) or 0.0, length_m=length,
                            source=source or rec.get("source"), geom=g, updated_by=user)
                s.add(road)
                s.flush()
                ids.append(road.id)
        return ids

    def roads_frame(self) -> pd.DataFrame:
        with self.session() as s:
            rows = s.execute(select(Road).where(Road.deleted.is_(False)).order_by(Road.code)).scalars().all()
            return pd.DataFrame([{
                "id": r.id, "code": r.code, "name": r.name, "road_class": r.road_class, "is_urban": r.is_urban,
                "carriageway_width_m": r.carriageway_width_m, "road_land_half_width_m": r.road_land_half_width_m,
                "km_start_m": r.km_start_m, "length_m": r.length_m, "source": r.source, "geometry": r.geom,
                "version": r.version} for r in rows],
                columns=["id", "code", "name", "road_class", "is_urban", "carriageway_width_m",
                         "road_land_half_width_m", "km_start_m", "length_m", "source", "geometry", "version"])

    def road_network(self) -> RoadNetwork | None:
        roads = self.roads_frame()
        if roads.empty:
            return None
        return RoadNetwork.from_wgs84(roads["code"].to_numpy(), roads["geometry"].to_numpy(),
                                      km_start=roads["km_start_m"].to_numpy(), ids=roads["id"].to_numpy())

    # ------------------------------------------------------------ admin units
    def add_admin_units(self, units: pd.DataFrame, *, user: str | None = None) -> list[int]:
        """Add administrative units: columns name, level, geometry; optional code, parent_id."""
        self._check(Action.IMPORT)
        ids = []
        with self.session(user) as s:
            for rec in units.to_dict("records"):
                g = rec.get("geometry")
                if g is not None and g.geom_type == "Polygon":
                    g = shapely.MultiPolygon([g])
                u = AdminUnit(code=rec.get("code"), name=rec["name"], level=rec["level"],
                              parent_id=rec.get("parent_id"), geom=g, updated_by=user)
                s.add(u)
                s.flush()
                ids.append(u.id)
        return ids

    def admin_units_frame(self) -> pd.DataFrame:
        with self.session() as s:
            rows = s.execute(select(AdminUnit).where(AdminUnit.deleted.is_(False))).scalars().all()
            return pd.DataFrame([{"id": u.id, "code": u.code, "name": u.name, "level": u.level.value,
                                  "parent_id": u.parent_id, "geometry": u.geom} for u in rows],
                                columns=["id", "code", "name", "level", "parent_id", "geometry"])

    # ----------------------------------------------------------------- crashes
    def import_crashes(self, result: ValidationResult, *, filename: str, user: str | None = None,
                       file_sha256: str | None = None, source: str | None = None, valid_only: bool = True,
                       roads: RoadNetwork | None = None, is_simulated: bool = False,
                       progress=None) -> ImportSummary:
        """Write validated crashes as one batch, in one transaction.

        With ``valid_only`` False, any invalid row rejects the whole file
        (:class:`ImportRejected`) and the store is unchanged. Crashes already in
        the store (same dedup key) are skipped, so re-importing a file adds
        nothing. ``progress(fraction)`` is called while writing.
        """
        rows = result.rows
        if not valid_only and result.n_errors:
            raise ImportRejected(f"Tệp có {result.n_errors} dòng lỗi; không nhập gì / "
                                 f"{result.n_errors} rows have errors; nothing imported")
        good = rows.loc[rows["ok"]].copy()
        if good.empty:
            raise ImportRejected("Không có dòng hợp lệ để nhập / No valid rows to import")
        communes = good["commune"].replace("", None).dropna().unique().tolist() if "commune" in good else []
        for commune in communes or [None]:
            self._check(Action.IMPORT, commune=commune)
        user = self._who(user)
        with self.engine.begin() as conn:
            existing = self._existing_keys(conn, good["dedup_key"].tolist())
            fresh = good.loc[~good["dedup_key"].isin(existing)]
            batch_id = conn.execute(insert(ImportBatch).values(
                kind="crashes", filename=filename, file_sha256=file_sha256, created_at=datetime.now(),
                created_by=user, n_rows=result.n_rows, n_imported=len(fresh),
                n_skipped=result.n_rows - len(fresh), status=BatchStatus.ACTIVE, source=source,
                is_simulated=is_simulated).returning(ImportBatch.id)).scalar_one()
            road_ids = None
            if roads is not None:
                ri = fresh["road_idx"].to_numpy()
                road_ids = np.where(ri >= 0, roads.ids[np.clip(ri, 0, None)], None)
            cols = _crash_columns(fresh, batch_id=batch_id, source=source or filename, user=user,
                                  road_ids=road_ids, is_simulated=is_simulated, postgres=self.postgres)
            _bulk_insert_crashes(conn, cols, postgres=self.postgres, progress=progress)
            conn.execute(insert(AuditLog).values(
                at=datetime.now(), user=user, table_name="import_batch", row_id=batch_id, action="import",
                changes={"filename": filename, "n_imported": len(fresh), "n_rows": result.n_rows}))
        return ImportSummary(batch_id=batch_id, n_rows=result.n_rows, n_imported=len(fresh),
                             n_invalid=result.n_errors, n_already_in_store=len(good) - len(fresh),
                             n_duplicate_in_file=int(rows["duplicate_in_file"].sum()))

    def _existing_keys(self, conn, keys: list[str]) -> set[str]:
        """Which of ``keys`` the store already holds (one bound array, not one
        parameter per key)."""
        if not keys:
            return set()
        if self.postgres:
            rows = conn.exec_driver_sql("SELECT dedup_key FROM crash WHERE dedup_key = ANY(%s)", (list(keys),))
        else:
            import json

            rows = conn.exec_driver_sql("SELECT dedup_key FROM crash WHERE dedup_key IN "
                                        "(SELECT value FROM json_each(?))", (json.dumps(list(keys)),))
        return {r[0] for r in rows}

    def undo_batch(self, batch_id: int, *, user: str | None = None) -> int:
        """Remove the crashes of an import batch; returns how many."""
        user = self._who(user)
        with self.engine.begin() as conn:
            batch = conn.execute(select(ImportBatch).where(ImportBatch.id == batch_id)).first()
            if batch is None:
                raise NotFoundError(f"Không có lần nhập số {batch_id} / No import batch {batch_id}")
            if self.principal.role.value == "commune_editor" and batch.created_by != self.principal.username:
                from errors import PermissionDenied

                raise PermissionDenied(f"Chỉ người nhập ({batch.created_by}) hoặc Ban ATGT được hoàn tác lần nhập này "
                                       f"/ Only its importer ({batch.created_by}) or the committee may undo it")
            self._check(Action.IMPORT, commune=self.principal.commune)
            if batch.status == BatchStatus.UNDONE:
                raise TransitionError(f"Lần nhập {batch_id} đã được hoàn tác / Batch {batch_id} already undone")
            n = conn.execute(delete(Crash).where(Crash.batch_id == batch_id)).rowcount
            conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(status=BatchStatus.UNDONE))
            conn.execute(insert(AuditLog).values(at=datetime.now(), user=user, table_name="import_batch",
                                                 row_id=batch_id, action="undo", changes={"n_removed": n}))
        return n

    def batches_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            df = pd.read_sql(select(ImportBatch).order_by(ImportBatch.id.desc()), conn)
        df["status"] = df["status"].map(lambda v: getattr(v, "value", v))
        return df

    def crashes_frame(self, *, date_from=None, date_to=None, commune: str | None = None,
                      road_code: str | None = None) -> pd.DataFrame:
        """Crashes as a DataFrame (no geometry parsing: lon/lat columns)."""
        cols = [getattr(Crash, c) for c in CRASH_FRAME_COLUMNS]
        q = select(*cols).where(Crash.deleted.is_(False))
        if date_from is not None:
            q = q.where(Crash.occurred_at >= pd.Timestamp(date_from).to_pydatetime())
        if date_to is not None:
            q = q.where(Crash.occurred_at < (pd.Timestamp(date_to) + pd.Timedelta(days=1)).to_pydatetime())
        if commune:
            q = q.where(Crash.commune == commune)
        if road_code:
            q = q.where(Crash.road_code == road_code)
        with self.engine.connect() as conn:
            df = pd.read_sql(q, conn)
        df["occurred_at"] = pd.to_datetime(df["occurred_at"])
        for c in ("alcohol", "not_infrastructure", "is_simulated"):
            df[c] = df[c].astype(bool)
        return df

    def crash_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Crash).where(Crash.deleted.is_(False))).scalar_one()

    # -------------------------------------------------------------- black spots
    def save_screening(self, result: ScreeningResult, *, crashes: pd.DataFrame, roads: pd.DataFrame | None = None,
                       user: str | None = None) -> dict[str, int]:
        """Write screening results, matching the previous run's spots.

        A new spot that overlaps an existing automatic spot of the same kind on
        the same road updates it (status and history kept); a new one is added
        as a candidate; an existing spot that no longer qualifies keeps its
        status and is marked ``still_qualifies = False``.
        """
        self._check(Action.SCREEN)
        spots = result.with_crash_lists() if len(result.spots) else result.spots
        now = datetime.now()
        commune_of = _majority_commune(result, crashes)
        geoms = _spot_geometries(result, crashes, roads)
        counts = {"created": 0, "updated": 0, "no_longer": 0}
        with self.session(user) as s:
            existing = s.execute(select(Blackspot).where(
                Blackspot.manual.is_(False), Blackspot.deleted.is_(False),
                Blackspot.kind.in_([SpotKind.BLACK_SPOT, SpotKind.POTENTIAL]))).scalars().all()
            by_road: dict[tuple, list[Blackspot]] = {}
            for b in existing:
                by_road.setdefault((b.kind.value, b.road_code), []).append(b)
            seen: set[int] = set()
            road_ids = {}
            if roads is not None and len(roads):
                road_ids = dict(zip(roads["code"], roads["id"]))
            for rec in spots.to_dict("records"):
                ids = [_py(v) for v in str(rec["crash_ids"]).split(";")]
                wids = [_py(v) for v in str(rec["window_crash_ids"]).split(";")]
                values = dict(
                    road_code=rec["road"], road_id=road_ids.get(rec["road"]), from_m=float(rec["from_m"]),
                    to_m=float(rec["to_m"]), ruleset=result.ruleset.id, tests=rec["tests"],
                    test_labels=rec["test_labels"], window_start=pd.Timestamp(rec["window_start"]).date(),
                    window_end=pd.Timestamp(rec["window_end"]).date(), n_crashes=int(rec["n_crashes"]),
                    deaths=int(rec["deaths"]), injured=int(rec["injured"]), epdo=float(rec["epdo"]),
                    crash_ids=ids, window_crash_ids=wids, still_qualifies=True, last_run_at=now,
                    commune=commune_of.get(int(rec["spot"])),
                    geom=geoms.get(int(rec["spot"])), updated_by=user)
                match = None
                for b in by_road.get((rec["kind"], rec["road"]), []):
                    if b.id not in seen and b.from_m <= values["to_m"] + 1 and b.to_m >= values["from_m"] - 1:
                        match = b
                        break
                if match is None:
                    s.add(Blackspot(kind=SpotKind(rec["kind"]), status=BlackspotStatus.CANDIDATE,
                                    first_detected_at=now, **values))
                    counts["created"] += 1
                else:
                    seen.add(match.id)
                    changed = False
                    for k, v in values.items():
                        if k in ("last_run_at", "updated_by", "geom"):
                            continue
                        if getattr(match, k) != v:
                            setattr(match, k, v)
                            changed = True
                    match.last_run_at = now
                    if values["geom"] is not None and changed:
                        match.geom = values["geom"]
                    counts["updated"] += int(changed)
            for b in existing:
                if b.id not in seen and b.still_qualifies:
                    b.still_qualifies = False
                    b.last_run_at = now
                    counts["no_longer"] += 1
        return counts

    def blackspots_frame(self, *, kind: str | None = None, include_deleted: bool = False) -> pd.DataFrame:
        q = select(Blackspot)
        if not include_deleted:
            q = q.where(Blackspot.deleted.is_(False))
        if kind:
            q = q.where(Blackspot.kind == SpotKind(kind))
        with self.session() as s:
            rows = s.execute(q.order_by(Blackspot.epdo.desc(), Blackspot.id)).scalars().all()
            recs = []
            for b in rows:
                recs.append({c.key: getattr(b, c.key) for c in Blackspot.__table__.columns if c.key != "geom"}
                            | {"geometry": b.geom})
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

    def set_blackspot_status(self, spot_id: int, new_status: BlackspotStatus | str, *, expected_version: int,
                             user: str | None = None, note: str | None = None) -> Blackspot:
        """Change a spot's status along the allowed lifecycle.

        Raises :class:`TransitionError` for a jump the lifecycle does not allow
        and :class:`ConflictError` when someone saved the spot since the user
        loaded version ``expected_version``.
        """
        new_status = BlackspotStatus(new_status)
        try:
            with self.session(user) as s:
                b = s.get(Blackspot, spot_id)
                if b is None or b.deleted:
                    raise NotFoundError(f"Không có điểm số {spot_id} / No spot {spot_id}")
                self._check(Action.EDIT_ITEM, commune=b.commune)
                if b.version != expected_version:
                    raise ConflictError(_conflict_message(b))
                if new_status == b.status:
                    return b
                _check_transition(b.status, new_status, BLACKSPOT_TRANSITIONS)
                if new_status == BlackspotStatus.REMOVED and b.kind == SpotKind.BLACK_SPOT and b.still_qualifies:
                    raise TransitionError(
                        "Điểm vẫn đạt tiêu chí điểm đen trong lần rà soát mới nhất; chưa thể đưa ra khỏi danh sách / "
                        "The spot still meets a black-spot test in the latest screening; it cannot be removed")
                if new_status == BlackspotStatus.REMOVED:
                    self._check_after_period(s, b)
                b.status = new_status
                if note:
                    b.notes = ((b.notes + "\n") if b.notes else "") + f"[{datetime.now():%d/%m/%Y}] {note}"
                b.updated_by = self._who(user)
            return b
        except StaleDataError as exc:
            raise ConflictError("Điểm vừa được người khác sửa; hãy tải lại / The spot was changed by someone "
                                "else; reload") from exc

    def flag_potential_point(self, *, lon: float, lat: float, reason: str, road_code: str | None = None,
                             chainage_m: float | None = None, user: str | None = None,
                             commune: str | None = None) -> int:
        """A potential crash point flagged by hand (unsafe road features)."""
        if not reason or not reason.strip():
            raise TransitionError("Cần ghi lý do / A reason is required")
        self._check(Action.CREATE_ITEM, commune=commune)
        with self.session(user) as s:
            b = Blackspot(kind=SpotKind.POTENTIAL, status=BlackspotStatus.CANDIDATE, manual=True,
                          manual_reason=reason.strip(), road_code=road_code, from_m=chainage_m, to_m=chainage_m,
                          commune=commune, geom=shapely.Point(lon, lat), updated_by=user)
            s.add(b)
            s.flush()
            return b.id

    def _check_after_period(self, s, b: Blackspot) -> None:
        """A spot with finished works leaves the list only when the full after
        period is over and shows none of the black-spot tests."""
        from geo.screening import screen

        ends = [w.actual_end for w in s.execute(select(RemediationWork).where(
            RemediationWork.blackspot_id == b.id, RemediationWork.deleted.is_(False),
            RemediationWork.status == WorkStatus.DONE)).scalars() if w.actual_end]
        if not ends:
            return
        start = pd.Timestamp(max(ends)) + pd.Timedelta(days=1)
        end = start + pd.DateOffset(months=settings.EVALUATION_MONTHS)
        if pd.Timestamp.today() < end:
            raise TransitionError(
                f"Thời gian theo dõi sau xử lý chưa đủ {settings.EVALUATION_MONTHS} tháng (đến {end:%d/%m/%Y}) / "
                f"The after period of {settings.EVALUATION_MONTHS} months is not over (until {end:%d/%m/%Y})")
        crashes = self.crashes_frame(date_from=start, date_to=end - pd.Timedelta(days=1), road_code=b.road_code)
        crashes = crashes.loc[crashes["chainage_m"].between(b.from_m - 1, b.to_m + 1)]
        if crashes.empty:
            return
        result = screen(crashes.rename(columns={"id": "crash_id", "road_code": "road"}),
                        ruleset=b.ruleset or settings.DEFAULT_RULESET)
        if len(result.black_spots):
            raise TransitionError(
                "Trong thời gian sau xử lý điểm vẫn đạt tiêu chí điểm đen ("
                + ", ".join(result.black_spots["tests"].astype(str)) + "); chưa thể đưa ra khỏi danh sách / "
                "In the after period the spot still meets a black-spot test; it cannot be removed")

    # ------------------------------------------------------------ generic edits
    def _get_for_edit(self, s, model, item_id: int, expected_version: int | None, *,
                      action: Action = Action.EDIT_ITEM):
        obj = s.get(model, item_id)
        if obj is None or obj.deleted:
            raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
        if model is Agency:
            self._check(Action.MANAGE_PLANS)
        else:
            self._check(action, commune=getattr(obj, "commune", None))
        if expected_version is not None and obj.version != expected_version:
            raise ConflictError(_conflict_message(obj))
        return obj

    def _edit(self, model, item_id: int, *, expected_version: int | None, user: str | None, values: dict):
        try:
            with self.session(user) as s:
                obj = self._get_for_edit(s, model, item_id, expected_version)
                for k, v in values.items():
                    if not hasattr(model, k) or k in ("id", "version"):
                        raise KeyError(k)
                    setattr(obj, k, v)
                obj.updated_by = self._who(user)
            return obj
        except StaleDataError as exc:
            raise ConflictError("Mục vừa được người khác sửa; hãy tải lại / Changed by someone else; reload") from exc

    def _frame(self, model, q=None) -> pd.DataFrame:
        q = q if q is not None else select(model).where(model.deleted.is_(False)).order_by(model.id)
        with self.session() as s:
            rows = s.execute(q).scalars().all()
            recs = [{c.key: getattr(r, c.key) for c in model.__table__.columns if c.key != "geom"}
                    | ({"geometry": r.geom} if "geom" in model.__table__.columns else {}) for r in rows]
        df = pd.DataFrame(recs, columns=[c.key for c in model.__table__.columns if c.key != "geom"]
                          + (["geometry"] if "geom" in model.__table__.columns else []))
        for c in df.columns:
            if len(df) and hasattr(df[c].iloc[0], "value") and isinstance(df[c].iloc[0], str):
                df[c] = df[c].map(lambda v: getattr(v, "value", v))
        return df

    # ---------------------------------------------------- encroachment cases
    def _corridor_position(self, geoms) -> pd.DataFrame:
        from geo.corridor import corridor_check, load_corridor_rules

        roads = self.roads_frame()
        n = len(geoms)
        if roads.empty:
            return pd.DataFrame({"road": [None] * n, "road_idx": -1, "chainage_m": np.nan, "side": None,
                                 "distance_m": np.nan, "zone": None, "inside_m": np.nan})
        res = corridor_check(roads, np.asarray(geoms, dtype=object),
                             rules=load_corridor_rules(settings.CORRIDOR_RULESET), search_m=500.0)
        ri = res["road_idx"].to_numpy()
        res["road_id"] = np.where(ri >= 0, roads["id"].to_numpy()[np.clip(ri, 0, None)], None)
        return res

    def add_cases(self, cases: pd.DataFrame, *, user: str | None = None, batch_id: int | None = None) -> list[int]:
        """Record encroachment cases; ``cases`` has geometry (WGS 84 point or
        polygon) and optionally kind, description, commune, detected_on,
        agency_id, notes. Road, chainage, side and how far inside the corridor
        are computed from the store's roads."""
        if cases.empty:
            return []
        geoms = cases["geometry"].to_numpy()
        if shapely.is_missing(np.asarray(geoms, dtype=object)).any():
            raise ImportRejected("Mỗi vụ lấn chiếm cần vị trí (điểm hoặc vùng) / Each case needs a location")
        for commune in (cases["commune"] if "commune" in cases else pd.Series([None] * len(cases))):
            self._check(Action.CREATE_ITEM, commune=_text(commune))
        pos = self._corridor_position(geoms)
        ids = []
        with self.session(user) as s:
            for rec, p in zip(cases.to_dict("records"), pos.to_dict("records")):
                c = EncroachmentCase(
                    status=CaseStatus.DETECTED, kind=_text(rec.get("kind")), description=_text(rec.get("description")),
                    geom=rec["geometry"], road_id=_py_int(p["road_id"]), road_code=p["road"],
                    chainage_m=_num(p["chainage_m"]), side=p["side"], distance_m=_num(p["distance_m"]),
                    zone=p["zone"] if p["road"] is not None else None,
                    distance_inside_m=_num(p["inside_m"]), commune=_text(rec.get("commune")),
                    detected_on=_date(rec.get("detected_on")) or datetime.now().date(),
                    agency_id=_py_int(rec.get("agency_id")), notes=_text(rec.get("notes")), batch_id=batch_id,
                    updated_by=self._who(user))
                s.add(c)
                s.flush()
                ids.append(c.id)
        return ids

    def add_case(self, *, geometry, user: str | None = None, **fields) -> int:
        return self.add_cases(pd.DataFrame([{"geometry": geometry, **fields}]), user=user)[0]

    def cases_frame(self, *, today=None) -> pd.DataFrame:
        """Cases with ``overdue`` (open and past the deadline) and ``days_overdue``."""
        df = self._frame(EncroachmentCase)
        today = pd.Timestamp(today or pd.Timestamp.today().normalize())
        open_ = df["status"].isin([c.value for c in CASE_OPEN])
        deadline = pd.to_datetime(df["deadline"])
        df["overdue"] = open_ & deadline.notna() & (deadline < today)
        df["days_overdue"] = np.where(df["overdue"], (today - deadline).dt.days, 0)
        return df

    def set_case_status(self, case_id: int, new_status: CaseStatus | str, *, expected_version: int,
                        user: str | None = None, record_no: str | None = None, record_date=None, deadline=None,
                        note: str | None = None) -> EncroachmentCase:
        """Move a case along its workflow (detected → record made → deadline →
        cleared / enforced / cancelled). A record needs its number and date, a
        deadline its date; closing as cleared needs a record when the rule
        (settings.CASE_RECORD_REQUIRED) says so."""
        new_status = CaseStatus(new_status)
        try:
            with self.session(user) as s:
                c = self._get_for_edit(s, EncroachmentCase, case_id, expected_version)
                if new_status == c.status:
                    return c
                _check_transition(c.status, new_status, CASE_TRANSITIONS)
                record_no = (record_no or c.record_no or "").strip() or None
                record_date = _date(record_date) or c.record_date
                if new_status == CaseStatus.RECORDED and not (record_no and record_date):
                    raise TransitionError("Cần số và ngày biên bản / The record (biên bản) needs a number and a date")
                if (new_status == CaseStatus.CLEARED and settings.CASE_RECORD_REQUIRED
                        and not (record_no and record_date)):
                    raise TransitionError(
                        "Chưa lập biên bản: phải lập biên bản (số, ngày) trước khi xác nhận đã giải tỏa / No record "
                        "made: a record (number, date) is required before the case can be closed as cleared")
                deadline = _date(deadline) or c.deadline
                if new_status == CaseStatus.DEADLINE_SET and not deadline:
                    raise TransitionError("Cần ngày hết hạn giải tỏa / A deadline date is required")
                if new_status == CaseStatus.ENFORCED and not c.deadline:
                    raise TransitionError("Cưỡng chế chỉ sau khi đã ấn định thời hạn / Enforcement needs a deadline first")
                c.status, c.record_no, c.record_date, c.deadline = new_status, record_no, record_date, deadline
                c.closed_on = datetime.now().date() if new_status not in CASE_OPEN else None
                if note:
                    c.notes = ((c.notes + "\n") if c.notes else "") + f"[{datetime.now():%d/%m/%Y}] {note}"
                c.updated_by = self._who(user)
            return c
        except StaleDataError as exc:
            raise ConflictError("Vụ việc vừa được người khác sửa; hãy tải lại / Changed by someone else; reload") from exc

    def update_case(self, case_id: int, *, expected_version: int, user: str | None = None, **values):
        return self._edit(EncroachmentCase, case_id, expected_version=expected_version, user=user, values=values)

    # ----------------------------------------------------- remediation works
    def add_work(self, *, work_type: str, user: str | None = None, blackspot_id: int | None = None,
                 road_code: str | None = None, from_m: float | None = None, to_m: float | None = None,
                 **fields) -> int:
        """A remediation work for a black spot / potential point, or for a
        stretch of road (road_code, from_m, to_m)."""
        from models.enums import WorkType

        WorkType(work_type)
        with self.session(user) as s:
            if blackspot_id is not None:
                b = s.get(Blackspot, blackspot_id)
                if b is None or b.deleted:
                    raise NotFoundError(f"Không có điểm số {blackspot_id} / No spot {blackspot_id}")
                road_code = road_code or b.road_code
                from_m = b.from_m if from_m is None else from_m
                to_m = b.to_m if to_m is None else to_m
                fields.setdefault("commune", b.commune)
            elif not road_code:
                raise TransitionError("Công trình cần gắn với một điểm hoặc một đoạn đường / A work needs a spot or a "
                                      "road stretch")
            self._check(Action.CREATE_ITEM, commune=fields.get("commune"))
            road = s.execute(select(Road.id).where(Road.code == road_code)).scalar() if road_code else None
            w = RemediationWork(work_type=work_type, blackspot_id=blackspot_id, road_code=road_code, road_id=road,
                                from_m=from_m, to_m=to_m, status=WorkStatus.PROPOSED, updated_by=self._who(user),
                                **{k: v for k, v in fields.items() if v is not None})
            s.add(w)
            s.flush()
            return w.id

    def works_frame(self) -> pd.DataFrame:
        return self._frame(RemediationWork)

    def set_work_status(self, work_id: int, new_status: WorkStatus | str, *, expected_version: int,
                        user: str | None = None, on=None) -> RemediationWork:
        """Move a work along proposed → approved → in progress → done. Starting
        sets the actual start and finishing the actual end (``on``, default
        today)."""
        new_status = WorkStatus(new_status)
        on = _date(on) or datetime.now().date()
        try:
            with self.session(user) as s:
                w = self._get_for_edit(s, RemediationWork, work_id, expected_version)
                if new_status == w.status:
                    return w
                _check_transition(w.status, new_status, WORK_TRANSITIONS)
                if new_status == WorkStatus.IN_PROGRESS and w.actual_start is None:
                    w.actual_start = on
                if new_status == WorkStatus.DONE:
                    if w.actual_start and on < w.actual_start:
                        raise TransitionError("Ngày hoàn thành trước ngày bắt đầu / End date before the start date")
                    w.actual_end = on
                    w.actual_start = w.actual_start or on
                w.status = new_status
                w.updated_by = self._who(user)
            return w
        except StaleDataError as exc:
            raise ConflictError("Công trình vừa được người khác sửa; hãy tải lại / Changed by someone else; "
                                "reload") from exc

    def update_work(self, work_id: int, *, expected_version: int, user: str | None = None, **values):
        return self._edit(RemediationWork, work_id, expected_version=expected_version, user=user, values=values)

    # ------------------------------------------------- plans and agencies
    def save_plan(self, draft, *, user: str | None = None, seed_agencies: bool = True) -> int:
        """Save a reviewed :class:`~services.plan_parser.PlanDraft` (or a plan
        entered by hand) with its sections; optionally seed the agency list
        from its recipients and standing body."""
        self._check(Action.MANAGE_PLANS)
        if not (draft.title or "").strip():
            raise TransitionError("Kế hoạch cần có tên / A plan needs a title")
        if not draft.sections:
            raise TransitionError("Kế hoạch cần ít nhất một mục nội dung / A plan needs at least one section")
        with self.session(user) as s:
            plan = Plan(number=draft.number, issued_on=draft.issued_on, issuer=draft.issuer, place=draft.place,
                        title=draft.title.strip(), period_from=draft.period_from, period_to=draft.period_to,
                        signer=draft.signer, recipients=list(draft.recipients), targets=list(draft.targets),
                        updated_by=user)
            for i, sec in enumerate(draft.sections):
                plan.sections.append(PlanSection(position=i, code=sec.code, title=sec.title, text=sec.text,
                                                 updated_by=user))
            s.add(plan)
            s.flush()
            plan_id = plan.id
        if seed_agencies:
            self.seed_agencies(draft, user=user)
        return plan_id

    def seed_agencies(self, draft, *, user: str | None = None) -> list[int]:
        """Agencies named in a plan (recipients, issuer, standing body) that are
        not yet in the list."""
        import re

        self._check(Action.MANAGE_PLANS)
        names: list[tuple[str, bool]] = []
        if draft.issuer:
            names.append((draft.issuer, False))
        for r in draft.recipients:
            r = re.sub(r"\(.*?\)", "", r).strip(" ;.-")
            if not r or r.lower().startswith("lưu") or r.lower().startswith("đ/c"):
                continue
            names.append((r, False))
        standing = getattr(draft, "standing_body", None)
        if standing:
            names.append((standing, True))
        names.sort(key=lambda n: not n[1])  # the standing body first, so its flag wins
        existing = {n.lower() for n in self.agencies_frame()["name"]}
        ids = []
        with self.session(user) as s:
            for name, is_standing in names:
                if name.lower() in existing:
                    continue
                existing.add(name.lower())
                level = next((lv for key, lv in (("tỉnh", AdminLevel.PROVINCE), ("huyện", AdminLevel.DISTRICT),
                                                 ("xã", AdminLevel.COMMUNE)) if key in name.lower()), None)
                a = Agency(name=name, level=level, is_standing_body=is_standing, updated_by=user)
                s.add(a)
                s.flush()
                ids.append(a.id)
        return ids

    def plans_frame(self) -> pd.DataFrame:
        return self._frame(Plan)

    def sections_frame(self, plan_id: int | None = None) -> pd.DataFrame:
        q = select(PlanSection).where(PlanSection.deleted.is_(False))
        if plan_id is not None:
            q = q.where(PlanSection.plan_id == plan_id)
        return self._frame(PlanSection, q.order_by(PlanSection.plan_id, PlanSection.position))

    def add_agency(self, *, name: str, user: str | None = None, **fields) -> int:
        self._check(Action.MANAGE_PLANS)
        if not name or not name.strip():
            raise TransitionError("Cần tên cơ quan / An agency needs a name")
        with self.session(user) as s:
            a = Agency(name=name.strip(), updated_by=user, **fields)
            s.add(a)
            s.flush()
            return a.id

    def update_agency(self, agency_id: int, *, expected_version: int, user: str | None = None, **values):
        return self._edit(Agency, agency_id, expected_version=expected_version, user=user, values=values)

    def agencies_frame(self) -> pd.DataFrame:
        return self._frame(Agency)

    def link_item(self, item_type: str, item_id: int, *, section_id: int | None, lead_agency_id: int | None,
                  cooperating_agency_ids: list[int] | None = None, user: str | None = None) -> int:
        """Link a black spot, case or work to a plan section, a lead agency and
        cooperating agencies (one link per item; a new link replaces the old)."""
        from models.enums import ItemType

        item_type = ItemType(item_type)
        model = {ItemType.BLACKSPOT: Blackspot, ItemType.CASE: EncroachmentCase, ItemType.WORK: RemediationWork}[item_type]
        coop = sorted({int(a) for a in (cooperating_agency_ids or []) if a is not None and a != lead_agency_id})
        with self.session(user) as s:
            item = s.get(model, item_id)
            if item is None or item.deleted:
                raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
            self._check(Action.EDIT_ITEM, commune=item.commune)
            if section_id is not None and s.get(PlanSection, section_id) is None:
                raise NotFoundError(f"Không có mục kế hoạch số {section_id} / No plan section {section_id}")
            for a in [lead_agency_id, *coop]:
                if a is not None and s.get(Agency, a) is None:
                    raise NotFoundError(f"Không có cơ quan số {a} / No agency {a}")
            link = s.execute(select(PlanLink).where(PlanLink.item_type == item_type,
                                                    PlanLink.item_id == item_id)).scalar_one_or_none()
            if link is None:
                link = PlanLink(item_type=item_type, item_id=item_id)
                s.add(link)
            link.section_id, link.lead_agency_id, link.cooperating_agency_ids = section_id, lead_agency_id, coop
            link.updated_by = user
            s.flush()
            return link.id

    def links_frame(self) -> pd.DataFrame:
        return self._frame(PlanLink)

    # ------------------------------------------------------ notes and photos
    def add_note(self, item_type: str, item_id: int, text: str, *, user: str | None = None) -> int:
        if not text or not text.strip():
            raise TransitionError("Ghi chú trống / The note is empty")
        with self.session(user) as s:
            self._check(Action.EDIT_ITEM, commune=self._item_commune(s, item_type, item_id))
            a = Attachment(item_type=item_type, item_id=item_id, kind="note", text=text.strip(), at=datetime.now(),
                           user=self._who(user))
            s.add(a)
            s.flush()
            return a.id

    def add_photo(self, item_type: str, item_id: int, filename: str, data: bytes, *, user: str | None = None,
                  caption: str | None = None) -> int:
        """Keep a photo under the data folder (never outside it)."""
        import re

        with self.session(user) as s:
            self._check(Action.EDIT_ITEM, commune=self._item_commune(s, item_type, item_id))
        ext = Path(filename).suffix.lower()
        if ext not in (".jpg", ".jpeg", ".png", ".webp"):
            raise TransitionError("Ảnh phải là JPG, PNG hoặc WEBP / A photo must be JPG, PNG or WEBP")
        if len(data) > 20 * 1024 * 1024:
            raise TransitionError("Ảnh lớn hơn 20 MB / The photo is larger than 20 MB")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name)[-80:]
        folder = settings.DATA_DIR / "attachments" / re.sub(r"\W", "", item_type) / str(int(item_id))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{datetime.now():%Y%m%d%H%M%S%f}_{safe}"
        path.write_bytes(data)
        with self.session(user) as s:
            a = Attachment(item_type=item_type, item_id=item_id, kind="photo", text=caption, filename=filename,
                           path=str(path.relative_to(settings.DATA_DIR)), at=datetime.now(), user=self._who(user))
            s.add(a)
            s.flush()
            return a.id

    def attachments(self, item_type: str, item_id: int) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(select(Attachment).where(Attachment.item_type == item_type,
                                                        Attachment.item_id == item_id).order_by(Attachment.id), conn)

    _ITEM_MODELS = {"blackspot": Blackspot, "case": EncroachmentCase, "work": RemediationWork}

    def _item_commune(self, s, item_type: str, item_id: int) -> str | None:
        model = self._ITEM_MODELS.get(item_type)
        if model is None:
            raise NotFoundError(f"Loại mục không rõ / Unknown item type: {item_type}")
        obj = s.get(model, item_id)
        if obj is None or obj.deleted:
            raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
        return obj.commune

    # ------------------------------------------------- soft delete, restore
    def delete_item(self, item_type: str, item_id: int, *, expected_version: int, user: str | None = None) -> None:
        """Soft delete: the row stays (and its history); an admin can restore it."""
        model = self._ITEM_MODELS[item_type]
        self._edit_flag(model, item_id, expected_version=expected_version, user=user, deleted=True,
                        action=Action.DELETE_ITEM)

    def restore_item(self, item_type: str, item_id: int, *, user: str | None = None) -> None:
        self._check(Action.RESTORE_ITEM)
        model = self._ITEM_MODELS[item_type]
        with self.session(user) as s:
            obj = s.get(model, item_id)
            if obj is None:
                raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
            obj.deleted = False
            obj.updated_by = self._who(user)

    def deleted_items(self) -> pd.DataFrame:
        rows = []
        with self.session() as s:
            for kind, model in self._ITEM_MODELS.items():
                for obj in s.execute(select(model).where(model.deleted.is_(True))).scalars():
                    rows.append({"item_type": kind, "item_id": obj.id, "updated_by": obj.updated_by,
                                 "updated_at": obj.updated_at})
        return pd.DataFrame(rows, columns=["item_type", "item_id", "updated_by", "updated_at"])

    def _edit_flag(self, model, item_id, *, expected_version, user, action: Action, **values):
        try:
            with self.session(user) as s:
                obj = self._get_for_edit(s, model, item_id, expected_version, action=action)
                for k, v in values.items():
                    setattr(obj, k, v)
                obj.updated_by = self._who(user)
        except StaleDataError as exc:
            raise ConflictError("Mục vừa được người khác sửa; hãy tải lại / Changed by someone else; reload") from exc

    # ------------------------------------------------------------- accounts
    def users_frame(self) -> pd.DataFrame:
        df = self._frame(User)
        return df.drop(columns=["password_hash"])

    def add_user(self, *, username: str, password: str, role: str, commune: str | None = None,
                 full_name: str | None = None, user: str | None = None) -> int:
        """Create an account (admins only; the first admin from the CLI)."""
        from models.enums import Role
        from services.auth import hash_password, validate_new_password

        if self.user_count() > 0:
            self._check(Action.MANAGE_USERS)
        role = Role(role)
        username = (username or "").strip().lower()
        if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
            raise TransitionError("Tên đăng nhập chỉ gồm chữ, số, . _ - / A user name is letters, digits, . _ -")
        if role == Role.COMMUNE_EDITOR and not (commune or "").strip():
            raise TransitionError("Biên tập cấp xã cần có tên xã / A commune editor needs a commune")
        validate_new_password(password)
        with self.session(user) as s:
            if s.execute(select(User.id).where(User.username == username)).first():
                raise ConflictError(f"Đã có tài khoản {username} / User {username} exists")
            u = User(username=username, password_hash=hash_password(password), role=role.value,
                     commune=(commune or "").strip() or None, full_name=full_name, active=True,
                     created_at=datetime.now(), updated_by=self._who(user))
            s.add(u)
            s.flush()
            return u.id

    def update_user(self, user_id: int, *, expected_version: int, user: str | None = None, password: str | None = None,
                    **values) -> None:
        self._check(Action.MANAGE_USERS)
        if password is not None:
            from services.auth import hash_password, validate_new_password

            validate_new_password(password)
            values["password_hash"] = hash_password(password)
        if "role" in values:
            from models.enums import Role

            values["role"] = Role(values["role"]).value
        try:
            with self.session(user) as s:
                obj = s.get(User, user_id)
                if obj is None:
                    raise NotFoundError(f"Không có tài khoản số {user_id} / No user {user_id}")
                if obj.version != expected_version:
                    raise ConflictError(_conflict_message(obj))
                for k, v in values.items():
                    setattr(obj, k, v)
                obj.updated_by = self._who(user)
        except StaleDataError as exc:
            raise ConflictError("Tài khoản vừa được người khác sửa / Changed by someone else; reload") from exc

    def user_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(User).where(User.deleted.is_(False))).scalar_one()

    def get_user_record(self, username: str) -> dict | None:
        """The account row (with its hash) for authentication; None when unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(select(User).where(User.username == (username or "").strip().lower(),
                                                  User.deleted.is_(False))).mappings().first()
            return dict(row) if row else None

    # -------------------------------------------------------------- audit
    def history(self, table_name: str, row_id: int) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(select(AuditLog).where(AuditLog.table_name == table_name, AuditLog.row_id == row_id)
                               .order_by(AuditLog.id), conn)


def _check_transition(current, new, table) -> None:
    """Refuse a status change its lifecycle does not allow, naming the allowed ones."""
    allowed = table[current]
    if new not in allowed:
        order = list(type(current))
        raise TransitionError(
            f"Không thể chuyển từ '{current.vi}' sang '{new.vi}' / Cannot go from '{current.en}' to '{new.en}'. "
            "Được phép / Allowed: " + (", ".join(a.vi for a in sorted(allowed, key=order.index)) or "—"))


def _conflict_message(obj) -> str:
    when = obj.updated_at.strftime("%H:%M %d/%m/%Y") if obj.updated_at else "?"
    who = obj.updated_by or "?"
    return (f"Đã được {who} sửa lúc {when}; hãy tải lại / Changed by {who} at {when}; reload")


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _text(v):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    v = str(v).strip()
    return v or None


def _py_int(v):
    try:
        return None if v is None or pd.isna(v) else int(v)
    except (TypeError, ValueError):
        return None


def _date(v):
    if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, datetime):
        return v.date()
    if hasattr(v, "year") and not isinstance(v, pd.Timestamp):
        return v
    from geo.validate import parse_dates

    d = parse_dates(pd.Series([str(v)[:10] if isinstance(v, pd.Timestamp) else str(v)])).iloc[0]
    if pd.isna(d):
        raise TransitionError(f"Ngày không đọc được / Unreadable date: {v}")
    return d.date()


def _py(v: str):
    try:
        return int(v)
    except ValueError:
        return v


def _crash_columns(df: pd.DataFrame, *, batch_id: int, source: str, user, road_ids, is_simulated: bool,
                   postgres: bool) -> pd.DataFrame:
    """The crash rows as columns ready for a bulk write: plain Python values,
    geometries already encoded (hex EWKB for PostGIS, WKB for SQLite)."""
    lon = df["lon"].to_numpy(dtype=float)
    lat = df["lat"].to_numpy(dtype=float)
    has = np.isfinite(lon) & np.isfinite(lat)
    geom = np.full(len(df), None, dtype=object)
    if has.any():
        pts = shapely.points(lon[has], lat[has])
        if postgres:
            geom[has] = shapely.to_wkb(shapely.set_srid(pts, 4326), hex=True, include_srid=True)
        else:
            geom[has] = shapely.to_wkb(pts)

    def opt(values):
        a = np.asarray(values, dtype=float)
        out = a.astype(object)
        out[~np.isfinite(a)] = None
        return out

    def text(col):
        return df[col].replace("", None).astype(object).where(df[col].notna(), None).to_numpy()

    t = pd.to_datetime(df["occurred_at"])
    now = datetime.now()
    occurred = (t.dt.strftime("%Y-%m-%d %H:%M:%S.%f") if not postgres else t.astype(object)).to_numpy()
    return pd.DataFrame({
        "dedup_key": df["dedup_key"].to_numpy(), "source_id": text("source_id"), "occurred_at": occurred,
        "lon": opt(np.where(has, lon, np.nan)), "lat": opt(np.where(has, lat, np.nan)), "geom": geom,
        "road_id": (np.array([None if v is None or pd.isna(v) else int(v) for v in road_ids], dtype=object)
                    if road_ids is not None else None),
        "road_code": df["road_code"].astype(object).where(df["road_code"].notna(), None).to_numpy(),
        "chainage_m": opt(df["chainage_m"]), "located_by": df["located_by"].astype(object).to_numpy(),
        "commune": text("commune"), "deaths": df["deaths"].astype(int).to_numpy().astype(object),
        "injured": df["injured"].astype(int).to_numpy().astype(object), "injury_pct": opt(df["injury_pct"]),
        "damage_vnd": opt(df["damage_vnd"]), "vehicle_types": text("vehicle_types"),
        "alcohol": df["alcohol"].astype(bool).to_numpy().astype(object),
        "not_infrastructure": df["not_infrastructure"].astype(bool).to_numpy().astype(object),
        "description": text("description"), "severity": df["severity"].astype(object).to_numpy(),
        "source": source, "is_simulated": bool(is_simulated), "batch_id": int(batch_id), "version": 1,
        "updated_at": now if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f"), "updated_by": user,
        "deleted": False,
    })


def _bulk_insert_crashes(conn, cols: pd.DataFrame, *, postgres: bool, progress=None, step: int = 10_000) -> None:
    """Write crash rows fast: COPY on PostgreSQL, one prepared executemany on
    SQLite; both inside the caller's transaction."""
    names = list(cols.columns)
    rows = list(cols.itertuples(index=False, name=None))
    dbapi = conn.connection.driver_connection
    if postgres:
        sql = f"COPY crash ({', '.join(names)}) FROM STDIN"
        with dbapi.cursor() as cur, cur.copy(sql) as copy:
            for k in range(0, len(rows), step):
                for r in rows[k:k + step]:
                    copy.write_row(r)
                if progress:
                    progress(min(1.0, (k + step) / max(1, len(rows))))
        return
    sql = f"INSERT INTO crash ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    cur = dbapi.cursor()
    try:
        for k in range(0, len(rows), step):
            cur.executemany(sql, rows[k:k + step])
            if progress:
                progress(min(1.0, (k + step) / max(1, len(rows))))
    finally:
        cur.close()


def _majority_commune(result: ScreeningResult, crashes: pd.DataFrame) -> dict[int, str]:
    """The commune most of a spot's crashes are in."""
    if result.spots.empty or "commune" not in crashes:
        return {}
    key = "crash_id" if "crash_id" in crashes else "id"
    m = result.members.join(crashes.set_index(key)["commune"], on="crash_id").dropna(subset=["commune"])
    m = m.loc[m["commune"].astype(str).str.strip() != ""]
    if m.empty:
        return {}
    top = m.groupby(["spot", "commune"]).size().reset_index(name="n").sort_values(["spot", "n"], ascending=[True, False])
    return {int(k): v for k, v in top.drop_duplicates("spot").set_index("spot")["commune"].items()}


def _spot_geometries(result: ScreeningResult, crashes: pd.DataFrame, roads: pd.DataFrame | None) -> dict[int, object]:
    """A line along the road from ``from_m`` to ``to_m`` (a point when they
    coincide), else the hull of the crash points."""
    out: dict[int, object] = {}
    if result.spots.empty:
        return out
    if roads is not None and len(roads):
        net = RoadNetwork.from_wgs84(roads["code"].to_numpy(), roads["geometry"].to_numpy(),
                                     km_start=roads["km_start_m"].to_numpy())
        idx = net.index_of(result.spots["road"].to_numpy())
        from geo.crs import WGS84, transform
        for spot, ri, a, b in zip(result.spots["spot"], idx, result.spots["from_m"], result.spots["to_m"]):
            if ri < 0:
                continue
            line = net.lines[ri]
            lo, hi = a - net.km_start[ri], b - net.km_start[ri]
            if hi - lo < 1:
                g = shapely.line_interpolate_point(line, lo)
            else:
                g = substring(line, lo, hi)
            cx = shapely.get_coordinates(g)
            x, y = transform(cx[:, 0], cx[:, 1], net.crs.to_wkt(), WGS84)
            out[int(spot)] = shapely.set_coordinates(g, np.column_stack([x, y]))
    missing = [int(s) for s in result.spots["spot"] if int(s) not in out]
    if missing and {"lon", "lat"} <= set(crashes.columns):
        key = "crash_id" if "crash_id" in crashes else "id"
        pos = crashes.set_index(key)[["lon", "lat"]]
        mem = result.members.loc[result.members["spot"].isin(missing)]
        mem = mem.join(pos, on="crash_id").dropna(subset=["lon", "lat"])
        for spot, grp in mem.groupby("spot"):
            out[int(spot)] = shapely.MultiPoint(grp[["lon", "lat"]].to_numpy()).convex_hull
    return out
