"""Restore never loses the store: damaged, truncated, foreign and inconsistent
backups are refused and the store is left as it was, on SQLite and PostGIS."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from errors import BackupError
from services.auth import add_user, authenticate
from services.backup import backup, check_backup_file, restore, store_snapshot
from tests.conftest import ROOT


@pytest.fixture
def admin_store(ql24_store):
    s = ql24_store
    add_user(s, username="quantri", password="mat-khau-dai-1", role="admin")
    return s.with_principal(authenticate(s, "quantri", "mat-khau-dai-1"))


@pytest.fixture
def good_backup(admin_store, tmp_path):
    f = tmp_path / "kho.backup.sqlite"
    counts = backup(admin_store, f)
    assert counts["crash"] == 288 and counts["app_user"] == 1
    return f


def _store_file_hash(store) -> str | None:
    """SHA-256 of an SQLite store's main file after a checkpoint (None on PostGIS)."""
    if store.engine.dialect.name != "sqlite":
        return None
    path = store.engine.url.database
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _assert_refused_and_unchanged(store, bad, match):
    before, digest = store_snapshot(store), _store_file_hash(store)
    with pytest.raises(BackupError, match=match) as info:
        restore(store, bad, force=True)
    assert "\n" not in str(info.value)
    assert store_snapshot(store) == before
    assert _store_file_hash(store) == digest
    assert store.user_count() == 1  # the accounts are still there: no fall-back to open mode


def _damage_page(good, bad, table: str) -> None:
    """Copy ``good`` to ``bad`` with the first page of ``table`` overwritten, as a bad sector would."""
    with sqlite3.connect(good) as con:
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    data = bytearray(good.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    at = (root - 1) * page
    data[at + 8 : at + page - 8] = b"\xde\xad\xbe\xef" * ((page - 16) // 4)
    bad.write_bytes(bytes(data))


def test_damaged_page_is_refused_and_store_unchanged(admin_store, good_backup, tmp_path):
    bad = tmp_path / "damaged.sqlite"
    _damage_page(good_backup, bad, "crash")
    _assert_refused_and_unchanged(admin_store, bad, "hỏng|damaged")


def test_truncated_backup_is_refused(admin_store, good_backup, tmp_path):
    bad = tmp_path / "truncated.sqlite"
    bad.write_bytes(good_backup.read_bytes()[: good_backup.stat().st_size // 2])
    _assert_refused_and_unchanged(admin_store, bad, "cắt cụt|truncated")


@pytest.mark.parametrize("content", [b"", b"id,name\n1,QL24\n", bytes(range(256)) * 40])
def test_foreign_files_are_refused(admin_store, tmp_path, content):
    bad = tmp_path / "foreign.sqlite"
    bad.write_bytes(content)
    _assert_refused_and_unchanged(admin_store, bad, "không phải bản sao lưu|Not a backup")


def test_other_sqlite_database_is_refused(admin_store, tmp_path):
    bad = tmp_path / "other.sqlite"
    with sqlite3.connect(bad) as con:
        con.execute("create table crash(a)")
    _assert_refused_and_unchanged(admin_store, bad, "không phải bản sao lưu|Not a backup")


def test_rows_missing_against_the_manifest_are_refused(admin_store, good_backup):
    with sqlite3.connect(good_backup) as con:
        con.execute("DELETE FROM crash WHERE id IN (SELECT id FROM crash LIMIT 5)")
    with pytest.raises(BackupError, match="manifest"):
        check_backup_file(good_backup)
    _assert_refused_and_unchanged(admin_store, good_backup, "manifest")


def test_a_manifest_naming_a_table_made_of_sql_is_refused_not_run(admin_store, good_backup):
    """The backup's manifest named the tables to check, and each name went into a query: a name closing its
    quote ran the SQL after it (an endless recursive query hung the restore; found by a helper)."""
    name = 't" , (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c) --'
    with sqlite3.connect(good_backup) as con:
        con.execute('CREATE TABLE "' + name.replace('"', '""') + '" (a)')
        con.execute(
            "INSERT INTO backup_manifest (table_name, n_rows, written_at, sha256) VALUES (?, 0, 'x', 'ab')", (name,)
        )
    with pytest.raises(BackupError, match="manifest names a table the store does not have"):
        check_backup_file(good_backup)
    _assert_refused_and_unchanged(admin_store, good_backup, "does not have")


def test_failure_while_loading_rolls_back(admin_store, good_backup):
    """A backup that passes every file check but whose rows break the schema
    (a plan link to a missing section) fails mid-load: nothing is lost."""
    with sqlite3.connect(good_backup) as con:
        con.execute("UPDATE backup_manifest SET sha256 = NULL")  # past the checksum: the load itself must fail
        con.execute(
            "INSERT INTO plan_link (item_type, item_id, section_id, version, deleted) "
            "VALUES ('blackspot', 1, 99999, 1, 0)"
        )
        con.execute("UPDATE backup_manifest SET n_rows = n_rows + 1 WHERE table_name = 'plan_link'")
    check_backup_file(good_backup)  # the file itself is sound
    _assert_refused_and_unchanged(admin_store, good_backup, "kho giữ nguyên|unchanged")


def test_newer_schema_is_refused(admin_store, good_backup):
    with sqlite3.connect(good_backup) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    _assert_refused_and_unchanged(admin_store, good_backup, "phiên bản mới hơn|newer version")


def test_the_backup_file_itself_is_never_changed(admin_store, good_backup, tmp_path):
    digest = hashlib.sha256(good_backup.read_bytes()).hexdigest()
    restore(admin_store, good_backup, force=True)
    assert hashlib.sha256(good_backup.read_bytes()).hexdigest() == digest


def test_good_backup_still_restores_after_refusals(admin_store, good_backup, tmp_path):
    before = store_snapshot(admin_store)
    (tmp_path / "junk.sqlite").write_bytes(b"junk")
    with pytest.raises(BackupError):
        restore(admin_store, tmp_path / "junk.sqlite", force=True)
    counts = restore(admin_store, good_backup, force=True)
    assert counts["crash"] == 288
    after = store_snapshot(admin_store)
    # the backup's rows, and the restore's own audit row: every table (*), numbered past every earlier row
    marker = after["audit_log"].pop()
    assert after == before
    assert (marker["table_name"], marker["row_id"], marker["action"]) == ("*", None, "restore")
    assert marker["id"] > max(r["id"] for r in before["audit_log"])


def test_cli_restore_of_a_damaged_backup_prints_one_line_and_exits_2(tmp_path):
    """The reported defect end to end: `cli.py restore BAD --force` on a real store."""
    import os

    from data.demo import simulated_ql24  # noqa: F401  (the store below is made by the CLI itself)

    url = f"sqlite:///{tmp_path / 'kho.sqlite'}"
    env = dict(os.environ, DATABASE_URL=url)
    run = lambda *a, stdin="": subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *a],
        cwd=ROOT,
        env=env,  # noqa: E731
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run("init-db").returncode == 0
    assert (
        run("user", "add", "quantri", "--role", "admin", "--password-stdin", stdin="mat-khau-dai-1\n").returncode == 0
    )
    good = tmp_path / "b.sqlite"
    auth = ("--user", "quantri", "--password-stdin")
    r = run(*auth, "backup", str(good), stdin="mat-khau-dai-1\n")
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.sqlite"
    _damage_page(good, bad, "app_user")
    r = run(*auth, "restore", str(bad), "--force", stdin="mat-khau-dai-1\n")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "sao lưu" in r.stderr
    from models.store import Store

    assert Store(url).user_count() == 1


def test_a_changed_value_is_caught_by_the_checksum(admin_store, good_backup):
    """A flipped byte inside a value passes SQLite's integrity check; the manifest's checksum catches it."""
    with sqlite3.connect(good_backup) as con:
        con.execute("UPDATE crash SET deaths = deaths + 1 WHERE id = (SELECT min(id) FROM crash)")
    with sqlite3.connect(good_backup) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    _assert_refused_and_unchanged(admin_store, good_backup, "checksum")


def test_a_restore_shows_its_data_even_at_the_same_data_version(admin_store, tmp_path):
    """The store keeps its whole-table reads per data version (the newest
    audit row). A backup of another store whose audit log ends at the same
    number must still show its own crashes after the restore."""
    from models.store import Store

    other = Store(f"sqlite:///{tmp_path / 'khac.sqlite'}")
    f = tmp_path / "khac.backup.sqlite"
    kept = admin_store.crashes_frame()
    assert len(kept) == 288
    # the other store: no crashes, its audit log padded to the same last number as ours
    with other.engine.begin() as conn:
        from sqlalchemy import insert

        from models.orm import AuditLog

        for _ in range(admin_store.data_version()):
            conn.execute(insert(AuditLog).values(table_name="x", row_id=0, action="pad", changes={}))
    assert other.data_version() == admin_store.data_version()
    backup(other, f)
    restore(admin_store, f, force=True)
    # the restore's own audit row comes after every number seen before: no version repeats
    assert admin_store.data_version() == other.data_version() + 1 and len(admin_store.crashes_frame()) == 0


def test_another_process_reads_again_after_a_restore_and_later_writes(admin_store, tmp_path):
    """A process that kept the crashes before a restore (elsewhere), then sees imports made after it,
    must not bring its old frame up to date row by row: the restore's audit row names every table."""
    import models._store_base as base

    from models.orm import Crash

    f = tmp_path / "b.sqlite"
    backup(admin_store, f)
    kept = admin_store.crashes_frame()
    with admin_store.session("an") as s:  # a write after the backup, that the restore takes away
        s.get(Crash, int(kept["id"].iloc[0])).deaths = 9
    assert admin_store.crashes_frame()["deaths"].iloc[0] == 9
    key = (admin_store.engine.url.render_as_string(hide_password=False), "crashes")
    held = base._READS[key]  # what another process holds
    restore(admin_store, f, force=True)
    base._READS[key] = held  # (this process forgot its reads; the other one did not)
    ql = admin_store.roads_frame()
    assert len(ql)
    with admin_store.session("an") as s:  # a crash edited after the restore: audited, row by row
        s.get(Crash, int(kept["id"].iloc[1])).injured = 7
    got = admin_store.crashes_frame()
    pd.testing.assert_frame_equal(got, admin_store._crashes_read())
    assert got["deaths"].iloc[0] == kept["deaths"].iloc[0] and got["injured"].iloc[1] == 7
