"""Crash import batches (one transaction each, dedup, undo) and crash reads."""

from __future__ import annotations

import json
import typing
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import String, delete, func, insert, select, update

from errors import ImportRejected, NotFoundError, TransitionError
from geo.chainage import RoadNetwork
from geo.validate import ValidationResult
from models.db import OS_USER
from models.enums import BatchStatus
from models.orm import AuditLog, Crash, ImportBatch
from models.permissions import Action

CRASH_FRAME_COLUMNS = [
    "id",
    "source_id",
    "occurred_at",
    "lon",
    "lat",
    "road_id",
    "road_code",
    "chainage_m",
    "commune",
    "deaths",
    "injured",
    "injury_pct",
    "damage_vnd",
    "vehicle_types",
    "alcohol",
    "not_infrastructure",
    "description",
    "cause",
    "commune_now",
    "severity",
    "source",
    "is_simulated",
    "batch_id",
]


class UndoSummary(typing.NamedTuple):
    """What undoing an import batch did: its crashes removed, and earlier crashes whose corrections
    by it were reverted."""

    removed: int
    reverted: int


#: A kept crash frame is patched (:meth:`CrashesMixin._crashes_patch`) when at most this share of it was written
#: since: a month's import into four years' crashes, corrections, merges; more is read whole.
PATCH_SHARE = 0.1

#: The tables whose audit rows tell that the crash table changed: a batch imported or undone, a crash corrected
CRASH_TABLES = ("crash", "import_batch")


@dataclass
class ImportSummary:
    """What an import did."""

    batch_id: int | None
    n_rows: int
    n_imported: int
    n_invalid: int
    n_already_in_store: int
    n_duplicate_in_file: int
    n_updated: int = 0
    n_crashes: int | None = None  # crashes the file's rows make (rows of one crash grouped)


class _CrashImportJob:
    """One crash batch being written (see :meth:`CrashesMixin.crash_import`)."""

    def __init__(self, store, conn, *, filename, user, file_sha256, source, roads, is_simulated, progress):
        self.store, self.conn = store, conn
        self.filename, self.user, self.sha, self.source = filename, user, file_sha256, source
        self.roads, self.is_simulated, self.progress = roads, is_simulated, progress
        self.batch_id: int | None = None
        self.n_rows = self.n_imported = self.n_invalid = self.n_same = self.n_dup = self.n_updated = 0
        self.n_crashes = 0
        self._indexes: list[str] = []
        self.summary: ImportSummary | None = None
        # into an empty store nothing can be an earlier import: the lookups per part are skipped
        self.store_was_empty = conn.execute(select(Crash.id).limit(1)).first() is None

    def defer_indexes(self, expected_rows: int) -> None:
        """Drop the crash table's secondary indexes for a write much larger
        than the table (rebuilt in :meth:`finish`, in the same transaction)."""
        have = self.conn.exec_driver_sql("SELECT count(*) FROM crash").scalar_one()
        if expected_rows < 2 * have:
            return
        rows = self.conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'crash' AND sql IS NOT NULL"
        ).all()
        for name, sql in rows:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
            self._indexes.append(sql)

    def add(self, result: ValidationResult) -> None:
        """Write one part's valid rows (the store's checks, dedup and
        corrections as for a whole file)."""
        store, conn = self.store, self.conn
        rows = result.rows
        self.n_rows += result.n_rows
        self.n_crashes += result.n_crashes
        self.n_invalid += result.n_errors
        self.n_dup += int(rows["duplicate_in_file"].sum())
        good = rows.loc[rows["ok"]].copy()
        if good.empty:
            return
        # a commune editor may import its commune's crashes, recorded under a pre-2025 name too
        where = good["commune"].replace("", None)
        if "commune_now" in good:
            where = good["commune_now"].where(good["commune_now"].notna() & good["commune_now"].ne(""), where)
        for commune in where.dropna().unique().tolist() or [None]:
            store._check(Action.IMPORT, commune=commune)
        # a crash whose source id was imported before from the same source is a correction
        if self.store_was_empty:
            changes, fresh = [], good
        else:
            earlier = store._earlier_by_source_id(conn, good, source=self.source, before=self.batch_id)
            # without a named source, ids repeat between offices: the same id is a correction only when the
            # day or the place (within 100 m) is the same; otherwise it is another crash
            changes, same_crash = _corrections(good, earlier, guard=self.source is None)
            rest = good.loc[~same_crash]
            existing = store._existing_keys(conn, rest["dedup_key"].tolist())
            fresh = rest.loc[~rest["dedup_key"].isin(existing)]
        self.n_same += len(good) - len(fresh) - len(changes)
        if fresh.empty and not changes:
            return
        if self.batch_id is None:
            self.batch_id = conn.execute(
                insert(ImportBatch)
                .values(
                    kind="crashes",
                    filename=self.filename,
                    file_sha256=self.sha,
                    created_at=datetime.now(),
                    created_by=self.user,
                    n_rows=0,
                    n_imported=0,
                    n_skipped=0,
                    status=BatchStatus.ACTIVE,
                    source=self.source,
                    is_simulated=self.is_simulated,
                )
                .returning(ImportBatch.id)
            ).scalar_one()
        road_ids = None
        if self.roads is not None:
            ri = fresh["road_idx"].to_numpy()
            road_ids = np.where(ri >= 0, self.roads.ids[np.clip(ri, 0, None)], None)
        if len(fresh):
            cols = _crash_columns(
                fresh,
                batch_id=self.batch_id,
                source=self.source or self.filename,
                user=self.user,
                road_ids=road_ids,
                is_simulated=self.is_simulated,
                postgres=store.postgres,
            )
            _bulk_insert_crashes(conn, cols, postgres=store.postgres, progress=self.progress)
        store._apply_corrections(conn, changes, batch_id=self.batch_id, user=self.user)
        self.n_imported += len(fresh)
        self.n_updated += len(changes)

    def finish(self) -> None:
        for sql in self._indexes:
            self.conn.exec_driver_sql(sql)
        if self.batch_id is not None:
            self.conn.execute(
                update(ImportBatch)
                .where(ImportBatch.id == self.batch_id)
                .values(n_rows=self.n_rows, n_imported=self.n_imported, n_skipped=self.n_rows - self.n_imported)
            )
            _audit(
                self.conn,
                user=self.user,
                table="import_batch",
                row_id=self.batch_id,
                action="import",
                changes={
                    "filename": self.filename,
                    "n_imported": self.n_imported,
                    "n_updated": self.n_updated,
                    "n_rows": self.n_rows,
                },
            )
        self.summary = ImportSummary(
            batch_id=self.batch_id,
            n_rows=self.n_rows,
            n_imported=self.n_imported,
            n_invalid=self.n_invalid,
            n_already_in_store=self.n_same,
            n_duplicate_in_file=self.n_dup,
            n_updated=self.n_updated,
            n_crashes=self.n_crashes,
        )


class CrashesMixin:
    """Crash import batches (one transaction each, dedup, undo) and crash reads."""

    # ----------------------------------------------------------------- crashes
    def import_crashes(
        self,
        result: ValidationResult,
        *,
        filename: str,
        user: str | None = None,
        file_sha256: str | None = None,
        source: str | None = None,
        valid_only: bool = True,
        roads: RoadNetwork | None = None,
        is_simulated: bool = False,
        progress=None,
    ) -> ImportSummary:
        """Write validated crashes as one batch, in one transaction.

        With ``valid_only`` False, any invalid row rejects the whole file
        (:class:`ImportRejected`) and the store is unchanged. Crashes already in
        the store (same dedup key) are skipped, so re-importing a file adds
        nothing. ``progress(fraction)`` is called while writing.
        """
        if not valid_only and result.n_errors:
            raise ImportRejected(
                f"Tệp có {result.n_errors} dòng lỗi; không nhập gì / "
                f"{result.n_errors} rows have errors; nothing imported"
            )
        if not result.rows["ok"].any():
            raise ImportRejected("Không có dòng hợp lệ để nhập / No valid rows to import")
        with self.crash_import(
            filename=filename,
            user=user,
            file_sha256=file_sha256,
            source=source,
            roads=roads,
            is_simulated=is_simulated,
            progress=progress,
            expected_rows=int(result.rows["ok"].sum()),
        ) as job:
            job.add(result)
        return job.summary

    @contextmanager
    def crash_import(
        self,
        *,
        filename: str,
        user: str | None = None,
        file_sha256: str | None = None,
        source: str | None = None,
        roads: RoadNetwork | None = None,
        is_simulated: bool = False,
        progress=None,
        expected_rows: int = 0,
    ):
        """One import batch written a part at a time, in one transaction: ``with
        store.crash_import(...) as job: job.add(result)`` for each part of a
        file; ``job.summary`` afterwards. An exception inside rolls it all back;
        a file that adds nothing leaves no batch. With ``expected_rows`` much
        larger than the store (SQLite), the crash indexes are rebuilt once at
        the end instead of row by row."""
        user = self._who(user)
        with self.engine.begin() as conn:
            job = _CrashImportJob(
                self,
                conn,
                filename=filename,
                user=user,
                file_sha256=file_sha256,
                source=source,
                roads=roads,
                is_simulated=is_simulated,
                progress=progress,
            )
            if not self.postgres and expected_rows > 50_000:
                job.defer_indexes(expected_rows)
            yield job
            job.finish()

    def _earlier_by_source_id(
        self, conn, good: pd.DataFrame, *, source: str | None, before: int | None = None
    ) -> pd.DataFrame:
        """Crashes already imported with one of ``good``'s source ids from the
        same source: the named ``source``, or (without one) files imported
        without a named source."""
        ids = sorted({str(v) for v in good["source_id"] if v is not None and str(v) != ""})
        cols = [Crash.id, Crash.version, Crash.source_id, *[getattr(Crash, f) for f in CORRECTED]]
        if not ids:
            return pd.DataFrame(columns=[c.key for c in cols])
        q = (
            select(*cols)
            .join(ImportBatch, ImportBatch.id == Crash.batch_id)
            .where(
                Crash.deleted.is_(False),
                ImportBatch.status == BatchStatus.ACTIVE,
                ImportBatch.source.is_(None) if source is None else ImportBatch.source == source,
            )
        )
        if before is not None:  # rows this batch wrote from an earlier part are not earlier imports
            q = q.where(Crash.batch_id != before)
        # the ids as one bound array, not one compiled parameter per id
        if self.postgres:
            from sqlalchemy import any_, bindparam
            from sqlalchemy.dialects.postgresql import ARRAY

            q = q.where(Crash.source_id == any_(bindparam("ids", ids, type_=ARRAY(String))))
        else:
            each = func.json_each(json.dumps(ids)).table_valued("value")
            q = q.where(Crash.source_id.in_(select(each.c.value)))
        return pd.read_sql(q, conn)

    def _apply_corrections(self, conn, changes: list[dict], *, batch_id: int, user: str | None) -> None:
        """Update corrected crashes in place, each with its old → new values in the audit log."""
        for ch in changes:
            _update_crash(
                conn,
                ch["id"],
                {k: new for k, (_, new) in ch["fields"].items()},
                user=user,
                dedup_key=ch["row"]["dedup_key"],
            )
            _audit(
                conn,
                user=user,
                table="crash",
                row_id=ch["id"],
                action="update",
                changes={k: [_plain(o), _plain(n)] for k, (o, n) in ch["fields"].items()} | {"batch": [None, batch_id]},
            )

    def _existing_keys(self, conn, keys: list[str]) -> set[str]:
        """Which of ``keys`` the store already holds (one bound array, not one
        parameter per key)."""
        if not keys:
            return set()
        if self.postgres:
            rows = conn.exec_driver_sql("SELECT dedup_key FROM crash WHERE dedup_key = ANY(%s)", (list(keys),))
        else:
            rows = conn.exec_driver_sql(
                "SELECT dedup_key FROM crash WHERE dedup_key IN (SELECT value FROM json_each(?))",
                (json.dumps(list(keys)),),
            )
        return {r[0] for r in rows}

    def undo_batch(self, batch_id: int, *, user: str | None = None) -> UndoSummary:
        """Remove the crashes of an import batch and revert the corrections it made to earlier
        crashes; returns how many of each."""
        user = self._who(user)
        with self.engine.begin() as conn:
            batch = conn.execute(select(ImportBatch).where(ImportBatch.id == batch_id)).first()
            if batch is None:
                raise NotFoundError(f"Không có lần nhập số {batch_id} / No import batch {batch_id}")
            if self.principal.role.value == "commune_editor" and batch.created_by != self.principal.username:
                from errors import PermissionDenied

                raise PermissionDenied(
                    f"Chỉ người nhập ({batch.created_by}) hoặc Ban ATGT được hoàn tác lần nhập này "
                    f"/ Only its importer ({batch.created_by}) or the committee may undo it"
                )
            self._check(Action.IMPORT, commune=self.principal.commune)
            if batch.status == BatchStatus.UNDONE:
                raise TransitionError(f"Lần nhập {batch_id} đã được hoàn tác / Batch {batch_id} already undone")
            # another source's report merged into a crash of this batch is a crash again (it was never wrong)
            merged = conn.execute(
                select(Crash.id, Crash.merged_into).where(
                    Crash.merged_into.in_(select(Crash.id).where(Crash.batch_id == batch_id)),
                    Crash.batch_id.is_distinct_from(batch_id),
                )
            ).all()
            for crash_id, kept in merged:
                conn.execute(
                    update(Crash)
                    .where(Crash.id == crash_id)
                    .values(deleted=False, merged_into=None, version=Crash.version + 1)
                )
                _audit(
                    conn,
                    user=user,
                    table="crash",
                    row_id=crash_id,
                    action="restore",
                    changes={"deleted": [True, False], "merged_into": [kept, None], "undo_batch": [None, batch_id]},
                )
            removed = conn.execute(delete(Crash).where(Crash.batch_id == batch_id)).rowcount
            reverted = self._revert_corrections(conn, batch_id, user=user)
            conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(status=BatchStatus.UNDONE))
            changes = {"n_removed": removed, "n_reverted": reverted}
            _audit(conn, user=user, table="import_batch", row_id=batch_id, action="undo", changes=changes)
        return UndoSummary(removed, reverted)

    def _revert_corrections(self, conn, batch_id: int, *, user: str | None) -> int:
        """Put back the values a batch corrected in earlier crashes (from the audit log); how many crashes."""
        rows = conn.execute(
            select(AuditLog.row_id, AuditLog.changes)
            .where(AuditLog.table_name == "crash", AuditLog.action == "update")
            .order_by(AuditLog.id.desc())
        ).all()
        n = 0
        for row_id, changes in rows:
            if not isinstance(changes, dict) or (changes.get("batch") or [None, None])[1] != batch_id:
                continue
            values = {k: v[0] for k, v in changes.items() if k in CORRECTED}
            if values.get("occurred_at"):
                values["occurred_at"] = pd.Timestamp(values["occurred_at"]).to_pydatetime()
            _update_crash(conn, row_id, values, user=user)
            _audit(
                conn,
                user=user,
                table="crash",
                row_id=row_id,
                action="update",
                changes={k: [v[1], v[0]] for k, v in changes.items() if k in CORRECTED}
                | {"undo_batch": [None, batch_id]},
            )
            n += 1
        return n

    def batches_frame(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            df = pd.read_sql(select(ImportBatch).order_by(ImportBatch.id.desc()), conn)
        df["status"] = df["status"].map(lambda v: getattr(v, "value", v))
        return df

    def crashes_frame(
        self,
        *,
        date_from=None,
        date_to=None,
        commune: str | None = None,
        road_code: str | None = None,
        shared: bool = False,
    ) -> pd.DataFrame:
        """Crashes as a DataFrame (no geometry parsing: lon/lat columns). The
        whole table is read once per data version (:meth:`read_cached`);
        ``shared`` gives the kept read itself, to a caller that does not
        change it (a copy of a million crashes costs ~0.2 s)."""
        if date_from is None and date_to is None and not commune and not road_code:
            return self.read_cached(
                "crashes", self._crashes_read, tables=CRASH_TABLES, shared=shared, patch=self._crashes_patch
            )
        return self._crashes_read(date_from=date_from, date_to=date_to, commune=commune, road_code=road_code)

    def _crashes_patch(self, kept: pd.DataFrame, after: int, upto: int) -> pd.DataFrame | None:
        """The kept crash frame brought from audit row ``after`` to ``upto`` by reading again only
        what was written: the crashes of the batches imported, and each crash the audit log names
        (corrected, edited, merged, deleted); ``None`` (read it whole) for any other write (a batch
        undone, a write naming no row), more than :data:`PATCH_SHARE` of the crashes, or a column
        whose type a whole read might see otherwise."""
        with self.engine.connect() as conn:
            written = self._writes_since(CRASH_TABLES, after, upto, conn=conn)
        crashes, batches = set(), set()
        for table, row_id, action in written:
            if row_id is None:
                return None
            if table == "crash":
                crashes.add(int(row_id))
            elif table == "import_batch" and action == "import":
                batches.add(int(row_id))
            else:
                return None
        if not len(kept) or len(crashes) > PATCH_SHARE * len(kept):
            return None
        fresh = self._crashes_of(sorted(crashes), sorted(batches))
        if len(fresh) > PATCH_SHARE * len(kept):
            return None
        stay, ids = kept, kept["id"].to_numpy()
        if crashes or (len(fresh) and len(ids) and fresh["id"].iloc[0] <= ids[-1]):
            stay = kept.loc[~kept["id"].isin(crashes | set(fresh["id"].tolist()))]
        out = pd.concat([stay, fresh], ignore_index=True) if len(fresh) else stay.reset_index(drop=True)
        if not out["id"].is_monotonic_increasing:  # (a batch's new crashes come after the kept ones)
            out = out.sort_values("id", kind="stable", ignore_index=True)
        for c in out.columns:  # the types a whole read gives: the kept ones, or an int column that met a gap
            same = out[c].dtype == kept[c].dtype or (kept[c].dtype == np.int64 and out[c].dtype == np.float64)
            # a column with no value yet meets numbers: a whole read would see numbers, not objects
            blank = kept[c].dtype == object and fresh[c].dtype != object and fresh[c].notna().any()
            blank = bool(blank and kept[c].isna().all())
            if not same or blank:
                return None
        return out

    def _crashes_of(self, ids: list[int], batches: list[int]) -> pd.DataFrame:
        """The crashes ``ids`` and those of the import ``batches``, as :meth:`_crashes_read`
        gives them, read a part at a time (by id)."""
        parts = [(Crash.id, ids[k : k + 5000]) for k in range(0, len(ids), 5000)]
        parts += [(Crash.batch_id, batches[k : k + 5000]) for k in range(0, len(batches), 5000)]
        frames = [f for f in (self._crashes_read(where=part) for part in parts) if len(f)]
        if not frames:
            return self._crashes_read(where=(Crash.id, []))
        both = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return both.drop_duplicates("id").sort_values("id", kind="stable", ignore_index=True)

    def _crashes_read(
        self,
        *,
        date_from=None,
        date_to=None,
        commune: str | None = None,
        road_code: str | None = None,
        where=None,
    ) -> pd.DataFrame:
        """The crashes not deleted, by id, as pages read them (``where``: a column and the values
        it is among)."""
        cols = [getattr(Crash, c) for c in CRASH_FRAME_COLUMNS]
        q = select(*cols).where(Crash.deleted.is_(False))
        if where is not None:
            q = q.where(where[0].in_(where[1]))
        if date_from is not None:
            q = q.where(Crash.occurred_at >= pd.Timestamp(date_from).to_pydatetime())
        if date_to is not None:
            q = q.where(Crash.occurred_at < (pd.Timestamp(date_to) + pd.Timedelta(days=1)).to_pydatetime())
        if commune:
            q = q.where(Crash.commune == commune)
        if road_code:
            q = q.where(Crash.road_code == road_code)
        with self.engine.connect() as conn:
            # the driver's own values: SQLAlchemy would parse each date string and
            # turn each 0/1 into a bool one value at a time (half the read at 1 M
            # crashes); the dates are parsed at once below
            rows = conn.execute(q.order_by(Crash.id)).cursor.fetchall()  # by id on both back-ends
        df = pd.DataFrame(rows, columns=CRASH_FRAME_COLUMNS)
        df["occurred_at"] = pd.to_datetime(df["occurred_at"], format="ISO8601")
        for c in ("alcohol", "not_infrastructure", "is_simulated"):
            df[c] = df[c].astype(bool)
        return df

    def crash_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Crash).where(Crash.deleted.is_(False))).scalar_one()


def _audit(conn, *, user: str | None, table: str, row_id: int, action: str, changes: dict) -> None:
    """An audit row written by a bulk operation (the ORM's own writes are audited in ``models.db``)."""
    conn.execute(
        insert(AuditLog).values(
            at=datetime.now(),
            user=user,
            table_name=table,
            row_id=row_id,
            action=action,
            changes=changes,
            os_user=OS_USER,
        )
    )


def _update_crash(conn, crash_id: int, values: dict, *, user: str | None, dedup_key: str | None = None) -> None:
    """Write new values into a crash (its point follows its lon/lat), a version up."""
    if "lon" in values or "lat" in values:
        cur = conn.execute(select(Crash.lon, Crash.lat).where(Crash.id == crash_id)).first()
        lon = values.get("lon", cur.lon if cur else None)
        lat = values.get("lat", cur.lat if cur else None)
        values = values | {"geom": shapely.Point(lon, lat) if lon is not None and lat is not None else None}
    if dedup_key is not None:
        values = values | {"dedup_key": dedup_key}
    conn.execute(
        update(Crash)
        .where(Crash.id == crash_id)
        .values(**values, version=Crash.version + 1, updated_at=datetime.now(), updated_by=user)
    )


#: Crash fields a later file may correct (an injured person who later died, a place fixed).
CORRECTABLE = [
    "occurred_at",
    "lon",
    "lat",
    "road_code",
    "chainage_m",
    "commune",
    "deaths",
    "injured",
    "injury_pct",
    "damage_vnd",
    "vehicle_types",
    "alcohol",
    "not_infrastructure",
    "description",
    "cause",
    "severity",
]
#: What a correction writes: the fields above, and the commune the crash's commune now belongs to
#: (after the 2025 reform), which follows a corrected commune.
CORRECTED = [*CORRECTABLE, "commune_now"]


def _same(a, b) -> bool:
    na = a is None or (isinstance(a, float) and not np.isfinite(a)) or a == "" or (a is pd.NaT)
    nb = b is None or (isinstance(b, float) and not np.isfinite(b)) or b == "" or (b is pd.NaT)
    if na or nb:
        return na and nb
    if isinstance(a, (float, int, np.floating, np.integer)) and isinstance(b, (float, int, np.floating, np.integer)):
        return abs(float(a) - float(b)) < 1e-6
    if isinstance(a, (datetime, pd.Timestamp)) or isinstance(b, (datetime, pd.Timestamp)):
        return pd.Timestamp(a) == pd.Timestamp(b)
    return str(a) == str(b)


def _plain(v):
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NaT:
        return None
    if isinstance(v, (datetime, pd.Timestamp)):
        return pd.Timestamp(v).isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _same_crash(old, rec) -> bool:
    """The same crash reported again: the same day, or a place within 100 m."""
    t_old, t_new = pd.Timestamp(old["occurred_at"]), pd.Timestamp(rec["occurred_at"])
    if pd.notna(t_old) and pd.notna(t_new) and t_old.normalize() == t_new.normalize():
        return True
    if all(v is not None and np.isfinite(v) for v in (old["lon"], old["lat"], rec["lon"], rec["lat"])):
        dx = (float(old["lon"]) - float(rec["lon"])) * 111_320 * np.cos(np.radians(float(rec["lat"])))
        dy = (float(old["lat"]) - float(rec["lat"])) * 110_540
        if (dx * dx + dy * dy) ** 0.5 <= 100:
            return True
    if (
        old["road_code"]
        and old["road_code"] == rec.get("road_code")
        and old["chainage_m"] is not None
        and rec.get("chainage_m") is not None
        and np.isfinite(rec["chainage_m"])
        and abs(float(old["chainage_m"]) - float(rec["chainage_m"])) <= 100
    ):
        return True
    return False


def _corrections(good: pd.DataFrame, earlier: pd.DataFrame, *, guard: bool = False) -> tuple[list[dict], np.ndarray]:
    """For each row of ``good`` whose source id was imported before: the
    fields whose value changed (old, new); rows with no change are left out.
    Also which rows of ``good`` are such earlier crashes (with ``guard``, only
    when the day or the place agrees)."""
    same = np.zeros(len(good), dtype=bool)
    if earlier.empty:
        return [], same
    groups = {sid: g for sid, g in earlier.groupby("source_id")}
    out = []
    ids = good["source_id"].astype(str)
    for k, rec in enumerate(good.to_dict("records")):
        sid = ids.iloc[k]
        if not sid or sid not in groups:
            continue
        candidates = [r for _, r in groups[sid].iloc[::-1].iterrows()]  # the latest first
        old = next((r for r in candidates if _same_crash(r, rec)), None) if guard else candidates[0]
        if old is None:
            continue
        same[k] = True
        fields = {}
        for f in CORRECTABLE:
            if f not in rec:
                continue
            new = rec[f]
            if f in ("lon", "lat"):
                new = None if new is None or not np.isfinite(new) else round(float(new), 7)
            if f == "occurred_at":
                new = pd.Timestamp(new).to_pydatetime() if pd.notna(new) else None
            if isinstance(new, (np.integer, np.floating, np.bool_)):
                new = new.item()
            if isinstance(new, float) and not np.isfinite(new):
                new = None
            if isinstance(new, str) and new == "":
                new = None
            if not _same(old[f], new):
                fields[f] = (old[f], new)
        if "commune" in fields and "commune_now" in rec:  # the unit it belongs to now follows the commune
            now = rec["commune_now"] if isinstance(rec["commune_now"], str) and rec["commune_now"] else None
            if not _same(old["commune_now"], now):
                fields["commune_now"] = (old["commune_now"], now)
        if fields:
            out.append({"id": int(old["id"]), "version": int(old["version"]), "fields": fields, "row": rec})
    return out, same


def encode_crash_rows(df: pd.DataFrame, *, postgres: bool) -> pd.DataFrame:
    """``df`` with each crash's point and time encoded as the store writes
    them (columns ``_geom``: WKB for SQLite, hex EWKB for PostGIS, None
    without coordinates; ``_occurred``): the costliest conversions of a
    write, done where the rows are checked (a worker process) so the writer
    only binds them."""
    df = df.copy(deep=False)
    df["_geom"] = _geometry_values(df, postgres=postgres)
    df["_occurred"] = _occurred_values(df, postgres=postgres)
    return df


def _geometry_values(df: pd.DataFrame, *, postgres: bool) -> np.ndarray:
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
    return geom


def _occurred_values(df: pd.DataFrame, *, postgres: bool) -> np.ndarray:
    t = pd.to_datetime(df["occurred_at"])
    if postgres:
        return t.astype(object).to_numpy()
    if t.empty:
        return np.empty(0, dtype=object)
    if t.notna().all():  # SQLAlchemy's SQLite text layout, without strftime's per-row cost
        return np.char.replace(np.datetime_as_string(t.to_numpy(dtype="datetime64[us]"), unit="us"), "T", " ").astype(
            object
        )
    return t.dt.strftime("%Y-%m-%d %H:%M:%S.%f").to_numpy()


def _crash_columns(
    df: pd.DataFrame, *, batch_id: int, source: str, user, road_ids, is_simulated: bool, postgres: bool
) -> dict:
    """The crash rows as columns ready for a bulk write (name → array of plain
    Python values, or one value for every row), geometries already encoded
    (hex EWKB for PostGIS, WKB for SQLite; taken from :func:`encode_crash_rows`
    where it ran)."""
    lon = df["lon"].to_numpy(dtype=float)
    lat = df["lat"].to_numpy(dtype=float)
    has = np.isfinite(lon) & np.isfinite(lat)
    encoded = "_geom" in df and "_occurred" in df
    geom = df["_geom"].to_numpy(dtype=object) if encoded else _geometry_values(df, postgres=postgres)
    occurred = df["_occurred"].to_numpy(dtype=object) if encoded else _occurred_values(df, postgres=postgres)

    def opt(values):
        a = np.asarray(values, dtype=float)
        out = a.astype(object)
        out[~np.isfinite(a)] = None
        return out

    def text(col):
        return df[col].replace("", None).astype(object).where(df[col].notna(), None).to_numpy()

    now = datetime.now()
    return {
        "dedup_key": df["dedup_key"].to_numpy(),
        "source_id": text("source_id"),
        "occurred_at": occurred,
        "lon": opt(np.where(has, lon, np.nan)),
        "lat": opt(np.where(has, lat, np.nan)),
        "geom": geom,
        "road_id": (
            np.array([None if v is None or pd.isna(v) else int(v) for v in road_ids], dtype=object)
            if road_ids is not None
            else None
        ),
        "road_code": df["road_code"].astype(object).where(df["road_code"].notna(), None).to_numpy(),
        "chainage_m": opt(df["chainage_m"]),
        "located_by": df["located_by"].astype(object).to_numpy(),
        "commune": text("commune"),
        "deaths": df["deaths"].astype(int).to_numpy().astype(object),
        "injured": df["injured"].astype(int).to_numpy().astype(object),
        "injury_pct": opt(df["injury_pct"]),
        "damage_vnd": opt(df["damage_vnd"]),
        "vehicle_types": text("vehicle_types"),
        "alcohol": df["alcohol"].astype(bool).to_numpy().astype(object),
        "not_infrastructure": df["not_infrastructure"].astype(bool).to_numpy().astype(object),
        "description": text("description"),
        "severity": df["severity"].astype(object).to_numpy(),
        "cause": text("cause") if "cause" in df else None,
        "commune_now": text("commune_now") if "commune_now" in df else None,
        "source": source,
        "is_simulated": bool(is_simulated),
        "batch_id": int(batch_id),
        "version": 1,
        "updated_at": now if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "updated_by": user,
        "deleted": False,
    }


def _bulk_insert_crashes(conn, cols: dict, *, postgres: bool, progress=None, step: int = 10_000) -> None:
    """Write crash rows fast: COPY on PostgreSQL, one prepared executemany on
    SQLite; both inside the caller's transaction."""
    n = max(len(v) for v in cols.values() if isinstance(v, np.ndarray))
    # columns empty in every row are left to their default (NULL): fewer values to bind per row
    cols = {
        k: v
        for k, v in cols.items()
        if not (v is None or (isinstance(v, np.ndarray) and v.dtype == object and pd.isna(v).all()))
    }
    dbapi = conn.connection.driver_connection
    if not postgres:
        # one value for every row is written into the statement (a number, or text quoted as SQL quotes it),
        # not bound again for each row
        fixed = {k: _sqlite_literal(v) for k, v in cols.items() if not isinstance(v, np.ndarray)}
        fixed = {k: v for k, v in fixed.items() if v is not None}
        cols = {k: v for k, v in cols.items() if k not in fixed}
    else:
        fixed = {}
    names = list(cols)

    def rows(k: int) -> list[tuple]:
        # rows k … k + step as tuples of plain values: a step at a time, so a part's millions of Python values
        # never exist at once
        return list(
            zip(
                *[
                    v[k : k + step].tolist() if isinstance(v, np.ndarray) else [v] * min(step, n - k)
                    for v in cols.values()
                ]
            )
        )

    if postgres:
        sql = f"COPY crash ({', '.join(names)}) FROM STDIN"
        with dbapi.cursor() as cur, cur.copy(sql) as copy:
            for k in range(0, n, step):
                for r in rows(k):
                    copy.write_row(r)
                if progress:
                    progress(min(1.0, (k + step) / max(1, n)))
        return
    sql = (
        f"INSERT INTO crash ({', '.join([*names, *fixed])}) "
        f"VALUES ({', '.join(['?'] * len(names) + list(fixed.values()))})"
    )
    cur = dbapi.cursor()
    try:
        for k in range(0, n, step):
            cur.executemany(sql, rows(k))
            if progress:
                progress(min(1.0, (k + step) / max(1, n)))
    finally:
        cur.close()


def _sqlite_literal(value) -> str | None:
    """``value`` as an SQLite literal, or None where it is better bound: NULL,
    an integer (booleans as 0/1), or text in single quotes with its quotes
    doubled (SQLite has no other escape); text holding a NUL is bound."""
    if value is None:
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None
