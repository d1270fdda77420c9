"""Backup and restore of the whole store to one file.

The file is a SQLite database with the store's own schema (made by the same
migrations), so a backup taken from PostGIS restores into SQLite and the other
way round, and any SQLite tool can open it. Geometries travel as WKB; ids,
versions, the audit log and the accounts (password hashes only) are kept. A
``backup_manifest`` table in the file records the rows of each table.

A restore never loses the store:

1. the backup is copied to a staging file (the user's file is never changed),
   its integrity checked (``PRAGMA integrity_check``), its tables and row
   counts compared with its manifest, and the copy migrated to the current
   schema;
2. the store is then emptied and loaded **in one transaction** on the store's
   own back-end, the rows of every table counted again inside it, and only
   then committed. Any failure rolls the transaction back: the store holds
   what it held before, and the error says why in one line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from errors import BackupError, BlackspotError, StoreError
from models.db import ALL_TABLES, OS_USER, is_postgres, migrate
from models.orm import AuditLog, Base
from models.permissions import Action

if TYPE_CHECKING:
    from models.store import Store

CHUNK = 5000
MANIFEST = "backup_manifest"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _copy_rows(src_conn: Connection, dst_conn: Connection) -> dict[str, int]:
    """Every row of every table from ``src_conn`` into ``dst_conn``, in chunks."""
    counts: dict[str, int] = {}
    for table in _tables():
        n = 0
        result = src_conn.execution_options(stream_results=True).execute(
            select(table).order_by(*table.primary_key.columns)
        )
        while rows := result.mappings().fetchmany(CHUNK):
            dst_conn.execute(insert(table), [dict(r) for r in rows])
            n += len(rows)
        counts[table.name] = n
    if is_postgres(dst_conn.engine):
        for table in _tables():
            if "id" in table.c:
                dst_conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
    return counts


def _counts(conn: Connection) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in _tables()}


def backup(store: Store, path: Path) -> dict[str, int]:
    """Write every table of ``store`` to the file ``path``; returns rows per table.

    The file appears only when complete (written to ``PATH.part`` first)."""
    store._check(Action.MANAGE_USERS)
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.unlink(missing_ok=True)
        engine = create_engine(f"sqlite:///{tmp}")
    except OSError as exc:
        raise BackupError(f"Không ghi được tệp sao lưu / Cannot write the backup: {path} ({exc.strerror})") from exc
    try:
        migrate(engine)
        with store.engine.connect() as src, engine.begin() as dst:
            counts = _copy_rows(src, dst)
            dst.execute(
                text(
                    f"CREATE TABLE {MANIFEST} (table_name TEXT PRIMARY KEY, n_rows INTEGER NOT NULL, "
                    "written_at TEXT NOT NULL, sha256 TEXT)"
                )
            )
            now = datetime.now().isoformat(timespec="seconds")
            dst.execute(
                text(f"INSERT INTO {MANIFEST} (table_name, n_rows, written_at) VALUES (:t, :n, :w)"),
                [{"t": k, "n": v, "w": now} for k, v in counts.items()],
            )
    except (SQLAlchemyError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"Sao lưu thất bại / Backup failed: {_one_line(exc)}") from exc
    finally:
        engine.dispose()
    try:
        con = sqlite3.connect(tmp)
        with con:
            for table in counts:
                con.execute(f"UPDATE {MANIFEST} SET sha256 = ? WHERE table_name = ?", (_digest(con, table), table))
        con.close()
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"Sao lưu thất bại / Backup failed: {exc}") from exc
    os.replace(tmp, path)
    return counts


def _digest(con: sqlite3.Connection, table: str) -> str:
    """SHA-256 of a table's rows in key order, as SQLite holds them: a changed
    byte in any value changes it."""
    import hashlib

    h = hashlib.sha256()
    quoted = table.replace('"', '""')  # (a name is only ever the store's own; quoted as SQL quotes names anyway)
    for row in con.execute(f'SELECT * FROM "{quoted}" ORDER BY rowid'):
        h.update(repr(row).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _one_line(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return msg[0][:300] if msg else type(exc).__name__


def check_backup_file(path: Path) -> dict[str, int]:
    """Check a backup file without changing it: a SQLite database, intact
    (``PRAGMA integrity_check``), with the store's tables, and as many rows in
    each as its manifest says. Returns the rows per table; raises
    :class:`BackupError` with the reason otherwise."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Không có tệp sao lưu / No backup file: {path}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise BackupError(f"Không đọc được tệp sao lưu / Cannot read the backup: {exc.strerror}") from exc
    if not head.startswith(_SQLITE_MAGIC):
        raise BackupError("Tệp không phải bản sao lưu của công cụ này / Not a backup made by this tool")
    page_size = int.from_bytes(head[16:18], "big") or 65536
    n_pages = int.from_bytes(head[28:32], "big")
    if n_pages and path.stat().st_size < page_size * n_pages:
        raise BackupError(
            f"Tệp sao lưu bị cắt cụt ({path.stat().st_size} byte, cần {page_size * n_pages}) / The backup is truncated"
        )
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            problems = [r[0] for r in con.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                lines = [ln.strip() for p in problems for ln in p.splitlines() if ln.strip() and "***" not in ln]
                raise BackupError(f"Tệp sao lưu bị hỏng / The backup is damaged: {(lines or ['?'])[0][:200]}")
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"alembic_version", "crash", "blackspot"} <= names:
                raise BackupError("Tệp không phải bản sao lưu của công cụ này / Not a backup made by this tool")
            held = {
                n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
                for n in (t.name for t in _tables())
                if n in names
            }
            if MANIFEST in names:
                cols = {r[1] for r in con.execute(f"PRAGMA table_info({MANIFEST})")}
                sums = "sha256" if "sha256" in cols else "NULL"
                known = {t.name for t in _tables()}
                for table, n, digest in con.execute(f"SELECT table_name, n_rows, {sums} FROM {MANIFEST}"):
                    if table not in known:  # the manifest names the store's tables only (a name is read as SQL)
                        raise BackupError(
                            f"Sổ ghi của bản sao lưu nêu bảng lạ {str(table)[:60]!r} / The backup's manifest names a "
                            f"table the store does not have: {str(table)[:60]!r}"
                        )
                    if held.get(table, 0) != n:
                        raise BackupError(
                            f"Bảng {table} có {held.get(table, 0)} dòng, sổ ghi {n} / Table {table} "
                            f"holds {held.get(table, 0)} rows, the manifest says {n}"
                        )
                    if digest and table in names and _digest(con, table) != digest:
                        raise BackupError(
                            f"Dữ liệu bảng {table} khác với lúc sao lưu (tệp bị hỏng hoặc bị sửa) / "
                            f"The data of table {table} differs from the backup's checksum "
                            "(damaged or edited)"
                        )
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"Tệp sao lưu bị hỏng / The backup is damaged: {_one_line(exc)}") from exc
    return held


def restore(store: Store, path: Path, *, force: bool = False) -> dict[str, int]:
    """Load a backup into ``store``; returns rows per table.

    The store must be empty unless ``force``, which replaces what it holds.
    The file is checked and staged first, and the store is replaced in one
    transaction: on any failure the store is left as it was and
    :class:`BackupError` says why."""
    store._check(Action.MANAGE_USERS)
    check_backup_file(path)
    with tempfile.TemporaryDirectory(prefix="blackspot-restore-") as tmpd:
        staged = Path(tmpd) / "staged.sqlite"
        try:
            shutil.copyfile(path, staged)
        except OSError as exc:
            raise BackupError(f"Không chép được tệp sao lưu / Cannot stage the backup: {exc.strerror}") from exc
        src = create_engine(f"sqlite:///{staged}")
        try:
            try:
                migrate(src)  # an older backup is brought to the current schema, on the staged copy
            except Exception as exc:  # alembic: unknown (newer) revision, broken schema
                raise BackupError(
                    "Không nâng cấp được lược đồ của bản sao lưu (bản sao lưu của phiên bản mới hơn?) / "
                    f"The backup's schema cannot be migrated (from a newer version?): {_one_line(exc)}"
                ) from exc
            with src.connect() as conn:
                expected = _counts(conn)
            return _replace(store, src, expected, force=force)
        finally:
            src.dispose()


def _replace(store: Store, src: Engine, expected: dict[str, int], *, force: bool) -> dict[str, int]:
    try:
        with src.connect() as src_conn, store.engine.begin() as dst:
            seen = int(dst.execute(select(func.max(AuditLog.id))).scalar() or 0)  # versions processes may hold
            held = sum(_counts(dst).values())
            if held and not force:
                raise StoreError(
                    f"Kho đang có {held} dòng; dùng --force để thay thế / The store holds {held} rows; "
                    "use --force to replace them"
                )
            for table in reversed(_tables()):
                dst.execute(delete(table))
            counts = _copy_rows(src_conn, dst)
            after = _counts(dst)
            if after != expected or counts != expected:
                bad = next(k for k in expected if after.get(k) != expected[k] or counts.get(k) != expected[k])
                raise BackupError(
                    f"Bảng {bad}: nạp {after.get(bad)} dòng, cần {expected[bad]} / Table {bad}: "
                    f"{after.get(bad)} rows loaded, {expected[bad]} expected"
                )
            _mark_restore(dst, store, seen)
    except BlackspotError:
        raise
    except SQLAlchemyError as exc:
        raise BackupError(
            f"Khôi phục thất bại, kho giữ nguyên / Restore failed, the store is unchanged: {_one_line(exc)}"
        ) from exc
    store.forget_reads()  # the restored data may carry the data version the reads were kept for
    return counts


def _mark_restore(conn: Connection, store: Store, seen: int) -> None:
    """The restore's own audit row: naming every table (``*``), numbered past every version
    any process may have seen before (the restored log may end lower, and its next rows would
    reuse numbers a process kept a read for), so every process reads its tables again."""
    restored = int(conn.execute(select(func.max(AuditLog.id))).scalar() or 0)
    at = max(seen, restored) + 1
    conn.execute(
        insert(AuditLog).values(
            id=at,
            at=datetime.now(),
            user=store._who(None),
            table_name=ALL_TABLES,
            row_id=None,
            action="restore",
            changes={"rows": [None, restored]},
            os_user=OS_USER,
        )
    )
    if is_postgres(conn.engine):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('audit_log', 'id'), {at + 1}, false)"))


def store_snapshot(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (geometries as WKB hex), for comparisons."""
    out: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for table in _tables():
            rows = []
            for r in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                d: dict[str, Any] = dict(r)
                for k, v in d.items():
                    if hasattr(v, "wkb_hex"):
                        d[k] = v.wkb_hex
                rows.append(d)
            out[table.name] = rows
    return out
