"""Fixtures shared by the suite: real data slices, and a store on each back-end.

Every test that takes ``store`` runs twice: on an SQLite file and on PostGIS.
PostGIS is reached through ``BLACKSPOT_TEST_PG`` (default: the local server,
``postgresql+psycopg://postgres@127.0.0.1/postgres``). Without it the PostGIS
runs are skipped, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

import settings

ROOT = Path(__file__).resolve().parents[1]

SHARED = settings.SHARED_DATA_DIR
PG_ADMIN_URL = os.environ.get("BLACKSPOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# one template per test session: two sessions at once (a developer's and CI's) no longer drop each other's
_TEMPLATE = f"blackspot_test_template_{os.getpid()}"


def _pg_admin_engine():
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _postgis_available() -> str | None:
    """None when PostGIS is usable, else the reason."""
    from sqlalchemy import text

    try:
        with _pg_admin_engine().connect() as c:
            ok = c.execute(text("select count(*) from pg_available_extensions where name='postgis'")).scalar()
    except Exception as exc:  # no server
        return f"PostgreSQL not reachable: {exc}"
    return None if ok else "the PostGIS extension is not installed"


@pytest.fixture(scope="session")
def postgis_template():
    """A migrated template database; each test clones it (fast)."""
    reason = _postgis_available()
    if reason:
        if IN_CI:
            pytest.fail(f"CI needs PostGIS: {reason}")
        pytest.skip(reason)
    from sqlalchemy import text

    from models.db import get_engine, migrate

    admin = _pg_admin_engine()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {_TEMPLATE} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {_TEMPLATE}"))
    eng = get_engine(f"{base}/{_TEMPLATE}")
    migrate(eng)
    eng.dispose()
    yield base
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {_TEMPLATE} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgis"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    with pg_database(request.getfixturevalue("postgis_template")) as url:
        yield url


@contextmanager
def pg_database(base: str):
    """A fresh, migrated PostGIS database cloned from the template; dropped after."""
    from sqlalchemy import text

    from models.db import get_engine

    name = f"bs_test_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin_engine()
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}"))
    try:
        yield f"{base}/{name}"
    finally:
        get_engine(f"{base}/{name}").dispose()
        get_engine.cache_clear()
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def store(db_url):
    from models.store import Store

    return Store(db_url)


@pytest.fixture
def ql24_store(store, ql24):
    """A store with QL24 (class III) and the simulated QL24 crashes."""
    from data.demo import simulated_ql24
    from geo.validate import validate_crashes

    store.add_roads(ql24, user="an")
    net = store.road_network()
    res = validate_crashes(simulated_ql24(), roads=net)
    assert res.n_errors == 0
    store.import_crashes(res, filename="sim.csv", roads=net, is_simulated=True)
    return store


@pytest.fixture(scope="session")
def ql24():
    """The real QL24 line clipped to Kon Rẫy, as a road frame."""
    from geo.io import read_table
    from services.importing import roads_from_table

    roads = roads_from_table(read_table(SHARED / "vietnam" / "kon_ray_roads_clip.geojson"))
    roads["km_start_m"] = 132_000.0
    roads["road_class"] = "III"
    return roads


@pytest.fixture(scope="session")
def hk_slice():
    """The first 2 000 real Hong Kong crashes of 2018 (with this tool's headers)."""
    from data.demo import hk_crash_table

    return hk_crash_table((2018,), limit=2000)


HK_BOUNDS = (113.8, 22.1, 114.5, 22.6)
