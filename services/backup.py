"""Backup and restore of the whole store to one file.

The file is a SQLite database with the store's own schema (made by the same
migrations), so a backup taken from PostGIS restores into SQLite and the other
way round, and any SQLite tool can open it. Geometries travel as WKB; ids,
versions, the audit log and the accounts (password hashes only) are kept.
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, delete, func, insert, select, text

from errors import StoreError
from models.db import is_postgres, migrate
from models.orm import Base
from models.permissions import Action

CHUNK = 5000


def _tables():
    return [t for t in Base.metadata.sorted_tables]


def _copy(src_engine, dst_engine) -> dict[str, int]:
    counts = {}
    with src_engine.connect() as src, dst_engine.begin() as dst:
        for table in _tables():
            rows = [dict(r) for r in src.execute(select(table).order_by(*table.primary_key.columns)).mappings()]
            for k in range(0, len(rows), CHUNK):
                dst.execute(insert(table), rows[k:k + CHUNK])
            counts[table.name] = len(rows)
        if is_postgres(dst_engine):
            for table in _tables():
                if "id" in table.c:
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
    return counts


def backup(store, path: Path) -> dict[str, int]:
    """Write every table of ``store`` to the file ``path``; returns rows per table."""
    store._check(Action.MANAGE_USERS)
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{tmp}")
    try:
        migrate(engine)
        counts = _copy(store.engine, engine)
    finally:
        engine.dispose()
    os.replace(tmp, path)
    return counts


def restore(store, path: Path, *, force: bool = False) -> dict[str, int]:
    """Load a backup into ``store``. The store must be empty unless ``force``,
    which first removes everything it holds (in one transaction with the load
    on the same back-end is not possible across engines, so the file is
    checked before anything is removed)."""
    store._check(Action.MANAGE_USERS)
    path = Path(path)
    if not path.exists():
        raise StoreError(f"Không có tệp sao lưu / No backup file: {path}")
    src = create_engine(f"sqlite:///{path}")
    try:
        with src.connect() as conn:
            names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars())
        if not {"alembic_version", "crash", "blackspot"} <= names:
            raise StoreError("Tệp không phải bản sao lưu của công cụ này / Not a backup made by this tool")
        migrate(src)  # an older backup is brought to the current schema first
        with store.engine.connect() as conn:
            held = sum(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _tables())
        if held and not force:
            raise StoreError(f"Kho đang có {held} dòng; dùng --force để thay thế / The store holds {held} rows; "
                             "use --force to replace them")
        if held:
            with store.engine.begin() as conn:
                for table in reversed(_tables()):
                    conn.execute(delete(table))
        return _copy(src, store.engine)
    finally:
        src.dispose()


def store_snapshot(store) -> dict[str, list[dict]]:
    """Every row of every table (geometries as WKB hex), for comparisons."""
    out = {}
    with store.engine.connect() as conn:
        for table in _tables():
            rows = []
            for r in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                d = dict(r)
                for k, v in d.items():
                    if hasattr(v, "wkb_hex"):
                        d[k] = v.wkb_hex
                rows.append(d)
            out[table.name] = rows
    return out
