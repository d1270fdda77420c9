"""The store's core: engine, acting principal, sessions, generic edits, audit.

The domain parts live in the other ``_store_*`` modules as mixins; ``models.store.Store``
puts them together."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError

from errors import ConflictError, NotFoundError, TransitionError
from models.db import ALL_TABLES, get_engine, is_postgres, migrate, session_scope
from models.orm import Agency, AuditLog
from models.permissions import SYSTEM, Action, Principal, check


#: Whole-table reads kept per store and data version, shared by every Store of
#: the process (see :meth:`StoreBase.read_cached`).
_READS: OrderedDict[tuple[str, str], tuple[int, object]] = OrderedDict()
_READS_LOCK = threading.Lock()
_READS_MAX = 24
#: Kept reads whose data version was read while another transaction that writes was in progress
#: (PostgreSQL): its audit rows may carry numbers below that version and show only when it commits, so
#: the reads are not brought up to date row by row from that version (see :meth:`StoreBase._state_in`).
_UNCLEAN: set[tuple[str, str]] = set()
#: The data version and how many other transactions that write are in progress, in one snapshot.
_STATE_PG = (
    "SELECT (SELECT max(id) FROM audit_log), (SELECT count(*) FROM txid_snapshot_xip(txid_current_snapshot()) AS x(t)"
    " WHERE t <> COALESCE(txid_current_if_assigned(), 0))"
)


class StoreBase:
    """Engine, acting principal, sessions, generic edits and the audit trail."""

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: Engine | None = None,
        migrate_schema: bool = True,
        principal: Principal | None = None,
    ):
        self.engine = engine or get_engine(url)
        self.principal = principal or SYSTEM
        #: the data version this store's reads are pinned to (:meth:`at_version`), None for the store's own
        self._pinned_version: int | None = None
        if migrate_schema:
            migrate(self.engine)

    def with_principal(self, principal: Principal):
        """The same store acting for ``principal``: every write is checked
        against its role (and commune), and audited under its name."""
        return type(self)(engine=self.engine, migrate_schema=False, principal=principal)

    def at_version(self, version: int):
        """The same store (and principal) whose kept reads (:meth:`read_cached`)
        take ``version`` as the data version instead of asking for it: a page
        run asks once and reads all its frames at that version."""
        pinned = self.with_principal(self.principal)
        pinned._pinned_version = version
        return pinned

    def _check(self, action: Action, *, commune: str | None = None) -> None:
        check(self.principal, action, commune=commune)

    @property
    def postgres(self) -> bool:
        return is_postgres(self.engine)

    def session(self, user: str | None = None):
        """A transaction audited under the acting account (``user`` only when no account acts)."""
        return session_scope(self.engine, user=self._who(user))

    def _who(self, user: str | None = None) -> str | None:
        """The name written in the audit log: the acting account, else ``user``."""
        if self.principal is not SYSTEM:
            return self.principal.username
        return user

    # ------------------------------------------------------------ generic edits
    def _get_for_edit(self, s, model, item_id: int, expected_version: int | None, *, action: Action = Action.EDIT_ITEM):
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
            recs = [
                {c.key: getattr(r, c.key) for c in model.__table__.columns if c.key != "geom"}
                | ({"geometry": r.geom} if "geom" in model.__table__.columns else {})
                for r in rows
            ]
        df = pd.DataFrame(
            recs,
            columns=[c.key for c in model.__table__.columns if c.key != "geom"]
            + (["geometry"] if "geom" in model.__table__.columns else []),
        )
        for c in df.columns:
            if len(df) and hasattr(df[c].iloc[0], "value") and isinstance(df[c].iloc[0], str):
                df[c] = df[c].map(lambda v: getattr(v, "value", v))
        return df

    # -------------------------------------------------------------- audit
    def data_version(self) -> int:
        """A number that changes with every write by any process: the newest
        audit row (every write of the domain writes one in its transaction).
        One indexed lookup, for the pages' caches to know when to read again."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(AuditLog.id))).scalar() or 0)

    def read_cached(self, what: str, read, *, tables: tuple[str, ...] = (), shared: bool = False, patch=None):
        """``read()``, kept for the store's data version: every write of any
        process writes an audit row, so a version seen again means the same
        data, and the read is not repeated (a page's services ask for the
        whole crash table or the road network several times a run). Frames
        come back as copies, so a caller changing its frame changes no one
        else's; other values (the road network) are shared and read-only. A
        store from :meth:`at_version` uses its pinned version.

        ``tables`` names the tables the read depends on (as the audit log
        names them): when the version has moved on, a read kept at an earlier
        version is still the data if no audit row since then names one of
        them (a spot's status changed, the crash table did not: the million
        crashes are not read again). ``shared`` gives a kept frame itself,
        not a copy, to a caller that only reads it. ``patch(kept, after,
        upto)``, when given, brings a kept read up to date from the writes in
        ``(after, upto]`` (or gives ``None``: then it is read whole)."""
        if self._pinned_version is None:
            version, clean = self._data_state()
        else:
            version, clean = self._pinned_version, True
        key = (self.engine.url.render_as_string(hide_password=False), what)

        def handed(value):  # a frame as the caller's own copy, unless it only reads it
            return value.copy() if isinstance(value, pd.DataFrame) and not shared else value

        with _READS_LOCK:
            hit = _READS.get(key)
            was_clean = key not in _UNCLEAN
            if not was_clean and clean:  # the writers then in progress are done: rows numbered below may be new
                hit = None
            if hit is not None and hit[0] == version:
                _READS.move_to_end(key)
                return handed(hit[1])
        if hit is not None and tables and hit[0] < version and not self._written_since(tables, hit[0], version):
            with _READS_LOCK:
                if _READS.get(key) is hit:  # not replaced meanwhile: the kept read holds at this version too
                    _READS[key] = (version, hit[1])
                    _READS.move_to_end(key)
                    if not clean:
                        _UNCLEAN.add(key)
            return handed(hit[1])
        value = None
        if hit is not None and patch is not None and hit[0] < version and was_clean:
            value = patch(hit[1], hit[0], version)
        if value is None:
            value = read()
        if isinstance(value, pd.DataFrame):
            # kept consolidated (a copy is one block per type): every hit copies it,
            # and copying a frame of scattered blocks merges them each time
            value = value.copy()
        self._keep(what, value, version, clean=clean)
        return handed(value)

    def _written_since(self, tables: tuple[str, ...], after: int, upto: int, *, conn=None) -> bool:
        """Whether an audit row in ``(after, upto]`` names one of ``tables`` (read
        through ``conn`` when given: inside the caller's transaction)."""
        if conn is None:
            with self.engine.connect() as own:
                return self._written_since(tables, after, upto, conn=own)
        return (
            conn.execute(
                select(AuditLog.id)
                .where(AuditLog.id > after, AuditLog.id <= upto, AuditLog.table_name.in_((*tables, ALL_TABLES)))
                .limit(1)
            ).first()
            is not None
        )

    @staticmethod
    def _state_in(conn) -> tuple[int, bool]:
        """:meth:`data_version` as ``conn``'s transaction sees it, and whether it is complete: on
        PostgreSQL an audit row's number is taken when it is written and shows at its commit, so
        while another transaction that writes is in progress, rows numbered below the version may
        still come; SQLite has one writer at a time."""
        if conn.dialect.name == "postgresql":
            version, busy = conn.exec_driver_sql(_STATE_PG).one()
            return int(version or 0), int(busy) == 0
        return int(conn.execute(select(func.max(AuditLog.id))).scalar() or 0), True

    def _data_state(self) -> tuple[int, bool]:
        """:meth:`_state_in` on a connection of its own."""
        with self.engine.connect() as conn:
            return self._state_in(conn)

    def _kept_in(self, conn, what: str, tables: tuple[str, ...], version: int):
        """The value :meth:`_keep` kept for ``what`` if it holds at data
        version ``version`` (kept at it, or earlier with no write to ``tables``
        since, as ``conn``'s transaction sees the audit log), else ``None``."""
        key = (self.engine.url.render_as_string(hide_password=False), what)
        with _READS_LOCK:
            hit = _READS.get(key)
            if key in _UNCLEAN:
                hit = None
        if hit is None:
            return None
        if hit[0] == version or (hit[0] < version and not self._written_since(tables, hit[0], version, conn=conn)):
            return hit[1]
        return None

    def _kept_raw(self, what: str):
        """(version, value) that :meth:`_keep` kept for ``what``, or ``None`` (also when it was
        kept at a version read while another writer was in progress)."""
        key = (self.engine.url.render_as_string(hide_password=False), what)
        with _READS_LOCK:
            return None if key in _UNCLEAN else _READS.get(key)

    @staticmethod
    def _writes_since(tables: tuple[str, ...], after: int, upto: int, *, conn) -> list[tuple[str, int | None, str]]:
        """(table, row, action) of each audit row in ``(after, upto]`` naming one of ``tables``, or
        every table (a restore: :data:`models.db.ALL_TABLES`, with no row)."""
        got = conn.execute(
            select(AuditLog.table_name, AuditLog.row_id, AuditLog.action).where(
                AuditLog.id > after, AuditLog.id <= upto, AuditLog.table_name.in_((*tables, ALL_TABLES))
            )
        ).all()
        return [(t, r, a) for t, r, a in got]

    def _rows_written_since(self, table: str, after: int, upto: int, *, conn) -> set[int] | None:
        """The rows of ``table`` the audit log names in ``(after, upto]``, or ``None`` when one of
        its audit rows there names none (a write of many rows at once, a restore)."""
        rows = {r for _, r, _ in self._writes_since((table,), after, upto, conn=conn)}
        return None if None in rows else {int(r) for r in rows}

    def _keep(self, what: str, value, version: int | None, *, clean: bool = True) -> None:
        """Keep ``value`` for ``what`` as the data at audit row ``version``
        (a read, or a writer keeping what it just wrote, after its transaction
        committed); ``None`` drops what was kept. ``clean``: no other writer
        was in progress when ``version`` was read (:meth:`_state_in`)."""
        key = (self.engine.url.render_as_string(hide_password=False), what)
        with _READS_LOCK:
            _UNCLEAN.discard(key)
            if version is None:
                _READS.pop(key, None)
                return
            _READS[key] = (version, value)
            _READS.move_to_end(key)
            if not clean:
                _UNCLEAN.add(key)
            while len(_READS) > _READS_MAX:
                old, _ = _READS.popitem(last=False)
                _UNCLEAN.discard(old)

    def forget_reads(self) -> None:
        """Drop this store's kept reads (after its tables were replaced
        wholesale, as a restore does: the restored audit log may end at the
        version the reads were kept for)."""
        url = self.engine.url.render_as_string(hide_password=False)
        with _READS_LOCK:
            for key in [k for k in _READS if k[0] == url]:
                del _READS[key]
                _UNCLEAN.discard(key)

    def history(self, table_name: str, row_id: int) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(
                select(AuditLog)
                .where(AuditLog.table_name == table_name, AuditLog.row_id == row_id)
                .order_by(AuditLog.id),
                conn,
            )


def _conflict_message(obj) -> str:
    when = obj.updated_at.strftime("%H:%M %d/%m/%Y") if obj.updated_at else "?"
    who = obj.updated_by or "?"
    return f"Đã được {who} sửa lúc {when}; hãy tải lại / Changed by {who} at {when}; reload"


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
