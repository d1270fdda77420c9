"""Accounts, roles, soft delete and restore, concurrency and backup, on both back-ends."""

from __future__ import annotations

import re

import itertools
import subprocess
import sys
from datetime import date

import pytest
import shapely

from errors import AuthError, ConflictError, PermissionDenied, StoreError
from models.enums import Role
from models.permissions import Principal
from services.auth import add_user, authenticate, update_user
from services.backup import backup, restore, store_snapshot
from services.blackspots import run_screening
from services.corridor import set_case_status
from tests.conftest import ROOT

HOME, OTHER = "Đăk Ruồng", "Tân Lập"


@pytest.fixture
def world(ql24_store):
    """Accounts of every role, a case in each of two communes, a work, a black spot with a commune."""
    s = ql24_store
    add_user(s, username="admin", password="admin-pass-1", role="admin")
    admin = s.with_principal(authenticate(s, "admin", "admin-pass-1"))
    for name, role, commune in (
        ("xem", "viewer", None),
        ("xa", "commune_editor", HOME),
        ("ban", "committee_editor", None),
    ):
        add_user(admin, username=name, password=f"{name}-pass-1", role=role, commune=commune)
    run_screening(admin)
    net = s.road_network()
    p = net.lines[0].interpolate(5000)
    from geo.crs import WGS84, transform

    lon, lat = transform([p.x], [p.y + 10], net.crs.to_wkt(), WGS84)
    pt = shapely.Point(lon[0], lat[0])
    ids = {
        "home_case": admin.add_case(geometry=pt, commune=HOME),
        "other_case": admin.add_case(geometry=pt, commune=OTHER),
    }
    spot = admin.blackspots_frame(kind="black_spot").iloc[0]
    ids["spot"], ids["spot_commune"] = int(spot["id"]), spot["commune"]
    ids["work"] = admin.add_work(work_type="signs", road_code="QL24", from_m=140_000, to_m=140_100, commune=HOME)
    return s, ids


def _as(store, name):
    return store.with_principal(authenticate(store, name, f"{name}-pass-1" if name != "admin" else "admin-pass-1"))


def test_sign_in(world):
    s, _ = world
    assert authenticate(s, "XA", "xa-pass-1") == Principal("xa", Role.COMMUNE_EDITOR, HOME)
    with pytest.raises(AuthError, match="Sai tên đăng nhập"):
        authenticate(s, "xa", "wrong")
    with pytest.raises(AuthError, match="Sai tên đăng nhập"):
        authenticate(s, "nobody", "x")
    admin = _as(s, "admin")
    uid = int(s.users_frame().set_index("username").loc["xem", "id"])
    update_user(admin, uid, expected_version=1, active=False)
    with pytest.raises(AuthError, match="khóa"):
        authenticate(s, "xem", "xem-pass-1")
    assert "password_hash" not in s.users_frame().columns
    rec = s.get_user_record("xa")
    assert rec["password_hash"].startswith("$argon2id$") and "xa-pass-1" not in rec["password_hash"]


def _attempt(store, action, ids):
    """Do one real write of the kind ``action`` names on the home commune's items."""
    if action == "edit_home":
        set_case_status(
            store, ids["home_case"], "recorded", expected_version=1, record_no="1", record_date=date.today()
        )
    elif action == "edit_other":
        set_case_status(
            store, ids["other_case"], "recorded", expected_version=1, record_no="1", record_date=date.today()
        )
    elif action == "create_home":
        store.add_case(geometry=shapely.Point(108.1, 14.4), commune=HOME)
    elif action == "delete":
        store.delete_item("work", ids["work"], expected_version=1)
    elif action == "screen":
        run_screening(store)
    elif action == "plans":
        store.add_agency(name="Đoàn Thanh niên xã")
    elif action == "users":
        add_user(store, username="new1", password="new1-pass-1", role="viewer")


#: The expected role matrix: which of the actions above each role may do.
MATRIX = {
    "viewer": set(),
    "commune_editor": {"edit_home", "create_home"},
    "committee_editor": {"edit_home", "edit_other", "create_home", "delete", "screen"},
    "admin": {"edit_home", "edit_other", "create_home", "delete", "screen", "plans", "users"},
}
USERS = {"viewer": "xem", "commune_editor": "xa", "committee_editor": "ban", "admin": "admin"}


@pytest.mark.parametrize(
    "role, action",
    list(itertools.product(MATRIX, ["edit_home", "edit_other", "create_home", "delete", "screen", "plans", "users"])),
)
def test_role_matrix(world, role, action):
    s, ids = world
    store = _as(s, USERS[role])
    if action in MATRIX[role]:
        _attempt(store, action, ids)
    else:
        before = store_snapshot(s)
        with pytest.raises(PermissionDenied):
            _attempt(store, action, ids)
        after = store_snapshot(s)
        assert after == before  # a refused write changes nothing


def test_cross_commune_write_is_refused_with_a_clear_message(world):
    s, ids = world
    xa = _as(s, "xa")
    with pytest.raises(PermissionDenied, match=f"chỉ được sửa mục của xã {HOME}; mục này thuộc {OTHER}"):
        set_case_status(xa, ids["other_case"], "recorded", expected_version=1, record_no="1", record_date=date.today())
    with pytest.raises(PermissionDenied):
        xa.add_note("case", ids["other_case"], "ghi chú")
    xa.add_note("case", ids["home_case"], "ghi chú của xã")
    hist = s.attachments("case", ids["home_case"])
    assert hist["user"].tolist() == ["xa"]


def test_soft_delete_and_admin_restore_are_audited(world):
    s, ids = world
    ban = _as(s, "ban")
    ban.delete_item("work", ids["work"], expected_version=1)
    assert ids["work"] not in s.works_frame()["id"].tolist()
    assert s.deleted_items()["item_id"].tolist() == [ids["work"]]
    with pytest.raises(PermissionDenied):
        ban.restore_item("work", ids["work"])
    _as(s, "admin").restore_item("work", ids["work"])
    assert ids["work"] in s.works_frame()["id"].tolist()
    hist = s.history("remediation_work", ids["work"])
    assert hist["action"].tolist()[-2:] == ["delete", "restore"] and hist["user"].tolist()[-2:] == ["ban", "admin"]


def test_two_users_editing_the_same_item(world):
    """Two real connections (two engines): the second save is refused, nothing overwritten."""
    from models.store import Store

    s, ids = world
    other_engine = Store(s.engine.url.render_as_string(hide_password=False), migrate_schema=False)
    a = _as(s, "ban")
    b = other_engine.with_principal(authenticate(other_engine, "admin", "admin-pass-1"))
    v = int(s.cases_frame().set_index("id").loc[ids["home_case"], "version"])
    a.update_case(ids["home_case"], expected_version=v, notes="ban's note")
    with pytest.raises(ConflictError, match="ban"):
        b.update_case(ids["home_case"], expected_version=v, notes="admin's note")
    assert s.cases_frame().set_index("id").loc[ids["home_case"], "notes"] == "ban's note"


def _restored(target) -> dict:
    """A restored store's rows but the restore's own audit row (every table, "*"), which it must have."""
    snap = store_snapshot(target)
    marks = [r for r in snap["audit_log"] if r["table_name"] == "*"]
    assert [(r["action"], r["row_id"]) for r in marks] == [("restore", None)]
    snap["audit_log"] = [r for r in snap["audit_log"] if r["table_name"] != "*"]
    return snap


def test_backup_restore_equality(world, tmp_path):
    from models.store import Store

    s, ids = world
    _as(s, "xa").add_note("case", ids["home_case"], "ảnh hiện trường sẽ bổ sung")
    f = tmp_path / "kho.backup.sqlite"
    counts = backup(_as(s, "admin"), f)
    assert counts["crash"] == 288 and counts["app_user"] == 4 and counts["audit_log"] > 0
    with pytest.raises(PermissionDenied):
        backup(_as(s, "ban"), tmp_path / "x.sqlite")
    target = Store(f"sqlite:///{tmp_path / 'restored.sqlite'}")
    restore(target, f)
    assert _restored(target) == store_snapshot(s)
    with pytest.raises(StoreError, match="--force"):
        restore(target, f)
    restore(target, f, force=True)
    assert _restored(target) == store_snapshot(s)
    # ids continue after a restore
    new = target.add_case(geometry=shapely.Point(108.1, 14.4), commune=HOME)
    assert new == max(c["id"] for c in store_snapshot(s)["encroachment_case"]) + 1
    with pytest.raises(StoreError, match="không phải bản sao lưu"):
        bad = tmp_path / "bad.sqlite"
        import sqlite3

        sqlite3.connect(bad).execute("create table x(a)").connection.commit()
        restore(target, bad, force=True)


def test_backup_restores_into_postgis_too(world, tmp_path, postgis_template):
    """A backup taken on either back-end restores into PostGIS, identical."""
    from models.store import Store
    from tests.conftest import pg_database

    s, _ = world
    f = tmp_path / "kho.backup.sqlite"
    backup(_as(s, "admin"), f)
    with pg_database(postgis_template) as url:
        target = Store(url)
        restore(target, f)
        assert _restored(target) == store_snapshot(s)


def test_import_killed_mid_way_leaves_nothing(tmp_path):
    """SIGKILL a real `cli.py import` while it writes: the store holds all of the file or none of it.

    The file is imported a part at a time (2 000 rows a part, in one transaction), and killed once
    half its parts are read: long before the commit, however fast the machine. The same file read
    whole is killed 0.3 s after its report appears: before or after its commit, all or nothing."""
    import os
    import signal
    import time

    from data.demo import hk_crash_table
    from models.store import Store

    t = hk_crash_table((2016, 2017, 2018), limit=40000)
    src = tmp_path / "big.csv"
    t.frame.to_csv(src, index=False)
    report = src.with_suffix(".report.csv")
    cmd = [sys.executable, str(ROOT / "cli.py"), "import", "crashes", str(src), "--bounds", "113.8,22.1,114.5,22.6"]

    url = f"sqlite:///{tmp_path / 'parts.sqlite'}"
    Store(url)
    env = dict(os.environ, DATABASE_URL=url, BLACKSPOT_STREAM_MB="1", BLACKSPOT_CHUNK_ROWS="2000")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # its progress, a line a part
        lines.append(line)
        if "dòng đã đọc" in line and int(line.split()[1].replace(".", "")) >= 20_000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, lines  # it was killed, not finished
    assert any("19.999" in line for line in lines), lines  # half the parts read and written
    assert Store(url).crash_count() == 0 and Store(url).batches_frame().empty

    report.unlink()
    url = f"sqlite:///{tmp_path / 'whole.sqlite'}"
    Store(url)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, DATABASE_URL=url), stdout=subprocess.PIPE, text=True)
    # wait until the check has said what it found (a line, printed as it is: the command is about to write), then
    # kill it (waiting for the report file instead raced the check on a slow machine: it is written as it goes)
    said = []
    for line in proc.stdout:
        said.append(line)
        if "hợp lệ / valid" in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    out = "".join(said) + proc.stdout.read()
    valid = int(re.search(r"(\d+) hợp lệ / valid", out).group(1))  # printed before it writes
    n = Store(url).crash_count()
    assert valid > 30_000 and (n, len(Store(url).batches_frame())) in ((0, 0), (valid, 1)), out


def test_password_hashes_never_reach_the_audit_log(world):
    """Creating an account or changing its password is audited as 'password set/changed', never the hash."""
    from sqlalchemy import text

    s, _ = world
    admin = _as(s, "admin")
    uid = int(s.users_frame().set_index("username").loc["xem", "id"])
    update_user(admin, uid, expected_version=1, password="mat-khau-moi-2")
    hashes = [s.get_user_record(n)["password_hash"] for n in ("admin", "xem", "xa", "ban")]
    with s.engine.connect() as c:
        audit = c.execute(text("select changes from audit_log where table_name = 'app_user'")).scalars().all()
    dump = " ".join(map(str, audit))
    assert not any(h in dump for h in hashes) and "$argon2" not in dump
    hist = s.history("app_user", uid)
    assert hist["changes"].iloc[0]["password"] == [None, "set"]
    assert hist["changes"].iloc[-1] == {"password": [None, "changed"]}
