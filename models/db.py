"""Engines, sessions, migrations and the audit trail of the store."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Text, create_engine, event, insert, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import settings
from errors import ValueOutOfRange
from models.orm import AuditLog

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_migrate_lock = threading.Lock()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default ``settings.database_url()``, read at
    each call), created once per URL."""
    return _engine_for(url or settings.database_url())


def _cache_clear() -> None:
    _engine_for.cache_clear()


get_engine.cache_clear = _cache_clear  # type: ignore[attr-defined]


@lru_cache(maxsize=16)
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MB page cache: bulk imports keep indexes in memory
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=settings.DB_POOL_SIZE, max_overflow=settings.DB_MAX_OVERFLOW
        )
    return engine


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest migration (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    with _migrate_lock, engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine, *, user: str | None = None):
    """A session in one transaction, committed at the end, rolled back on error.
    ``user`` is written in the audit log for every change."""
    session = session_factory(engine)()
    session.info["user"] = user
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):
        return value.value
    if hasattr(value, "wkt"):
        return value.wkt[:200]
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


_SKIP = {"version", "updated_at", "updated_by"}
#: Columns whose values never enter the audit log: the change is recorded as
#: "password": [None, "changed"] (or "set" when the row is created).
SECRET_COLUMNS = {"password_hash": "password", "token_hash": "token"}
#: Tables whose rows are not audited (sign-ins are not edits of the domain).
_UNAUDITED = {"audit_log", "web_session", "attachment_blob"}  # a photo's bytes: its attachment row is audited


def _os_user() -> str | None:
    import getpass

    try:
        return getpass.getuser()[:64]
    except Exception:  # no name for this uid (a container); the audit row stays without it
        return None


OS_USER = _os_user()
#: The table an audit row names when it changed every table (a restore): every kept read is read again.
ALL_TABLES = "*"


@event.listens_for(Session, "before_flush")
def _refuse_long_texts(session: Session, flush_context, instances) -> None:
    """No text field of an item longer than ``settings.MAX_TEXT_CHARS``: a
    10 MB description pasted into a form is refused before anything is
    written (the whole flush, so the store is as it was)."""
    limit = settings.MAX_TEXT_CHARS
    for obj in (*session.new, *session.dirty):
        for attr in inspect(obj).mapper.column_attrs:
            if not isinstance(attr.columns[0].type, Text):
                continue
            value = getattr(obj, attr.key, None)
            if isinstance(value, str) and len(value) > limit:
                raise ValueOutOfRange(
                    f"Văn bản quá dài: {len(value):,} ký tự, tối đa {limit:,} / "
                    f"Text too long: {len(value):,} characters, at most {limit:,} ({attr.key})"
                )


@event.listens_for(Session, "after_flush")
def _audit(session: Session, flush_context) -> None:
    """Write one audit row per created, updated or deleted ORM object."""
    rows = []
    user = session.info.get("user")
    for action, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if isinstance(obj, AuditLog) or getattr(obj, "__tablename__", "audit_log") in _UNAUDITED:
                continue
            state = inspect(obj)
            changes = {}
            for attr in state.mapper.column_attrs:
                key = attr.key
                if key in _SKIP:
                    continue
                hist = state.attrs[key].history
                if key in SECRET_COLUMNS:
                    if action == "create" or (action == "update" and hist.has_changes()):
                        changes[SECRET_COLUMNS[key]] = [None, "set" if action == "create" else "changed"]
                    continue
                if action == "create":
                    val = getattr(obj, key)
                    if val is not None:
                        changes[key] = [None, _plain(val)]
                elif action == "update" and hist.has_changes():
                    old = hist.deleted[0] if hist.deleted else None
                    new = hist.added[0] if hist.added else None
                    changes[key] = [_plain(old), _plain(new)]
            if action == "update" and not changes:
                continue
            if action == "update" and list(changes) == ["deleted"]:
                action_name = "delete" if changes["deleted"][1] else "restore"
            else:
                action_name = action
            rows.append(
                {
                    "at": datetime.now(),
                    "user": user,
                    "table_name": obj.__tablename__,
                    "row_id": getattr(obj, "id", None),
                    "action": action_name,
                    "changes": changes,
                    "os_user": OS_USER,
                }
            )
    if rows:
        session.connection().execute(insert(AuditLog), rows)
