"""Settings of the black-spot tool, in one place.

Every value can be overridden by an environment variable of the same name
prefixed with ``BLACKSPOT_`` (``DATABASE_URL`` keeps its usual name).

DATABASE_URL
    SQLAlchemy URL of the store. Default: an embedded SQLite file
    ``data/blackspot.sqlite``. For several users use PostgreSQL with PostGIS,
    ``postgresql+psycopg://user:password@host/dbname``.
BLACKSPOT_DATA_DIR
    Folder for the SQLite file and uploads. Default ``data/`` in the project.
BLACKSPOT_SHARED_DATA
    Folder of the real data sets used for the demo (``../shared/data``).
BLACKSPOT_MAX_UPLOAD_MB
    Largest file accepted by the import (default 200 MB).
BLACKSPOT_STREAM_MB
    A CSV larger than this is imported from the command line a part at a time
    (``BLACKSPOT_CHUNK_ROWS`` rows each, default 200 000), so memory stays
    bounded (default 32 MB).
BLACKSPOT_SNAP_DISTANCE_M
    A crash with coordinates gets a road and chainage when it lies within this
    distance of a road (default 50 m).
BLACKSPOT_MAX_TEXT_CHARS
    Longest text kept in one field of an item (a case's description, a note,
    a work's notes, a plan section's text): 100 000 characters by default; a
    longer one is refused with a message, nothing written.
BLACKSPOT_RULESET
    Default black-spot rule set (``tt41-2024``; legacy ``tt26-2012``).
BLACKSPOT_DUPLICATE_DISTANCE_M, BLACKSPOT_DUPLICATE_MINUTES
    Two crashes from different sources (police, health service, commune) are
    offered as a candidate pair of duplicates when they lie within this
    distance (default 50 m; along the road by chainage for a crash without
    coordinates) and happened within these minutes of each other (default 60).
"""

from __future__ import annotations

import os
from pathlib import Path

#: VIETNAM_BOUNDS: the lon/lat box of Viet Nam outside which an imported crash is rejected (unless the
#: import is given other bounds); it lives with the validation that uses it
from geo.validate import VIETNAM_BOUNDS as VIETNAM_BOUNDS

ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BLACKSPOT_{name}", default)


DATA_DIR = Path(_env("DATA_DIR", str(ROOT / "data")))
RULES_DIR = ROOT / "data" / "rules"
SHARED_DATA_DIR = Path(_env("SHARED_DATA", str(ROOT.parent / "shared" / "data")))
STATIC_DIR = ROOT / "static"


def database_url() -> str:
    """The store's URL, read at call time so tests can point it elsewhere."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{DATA_DIR / 'blackspot.sqlite'}"


MAX_UPLOAD_MB = float(_env("MAX_UPLOAD_MB", "200"))
MAX_TEXT_CHARS = int(_env("MAX_TEXT_CHARS", "100000"))
#: PostgreSQL connections each process keeps open, and how many more it may
#: open at a peak (``scripts/cluster.py`` sizes them per process).
DB_POOL_SIZE = int(_env("DB_POOL_SIZE", "5"))
DB_MAX_OVERFLOW = int(_env("DB_MAX_OVERFLOW", "10"))
STREAM_MB = float(_env("STREAM_MB", "32"))
CHUNK_ROWS = int(_env("CHUNK_ROWS", "200000"))
SNAP_DISTANCE_M = float(_env("SNAP_DISTANCE_M", "50"))
#: Threads a screening of the store works with (``geo.screening.screen``'s ``workers``): one per core by
#: default; the ``blackspots`` command on a file screens with one, its memory bound (issue 18.1).
SCREEN_WORKERS = int(_env("SCREEN_WORKERS", str(os.cpu_count() or 1)))
DEFAULT_RULESET = _env("RULESET", "tt41-2024")
#: Candidate pairs of duplicates across sources: within this distance (m) and these minutes (``geo/duplicates``).
DUPLICATE_DISTANCE_M = float(_env("DUPLICATE_DISTANCE_M", "50"))
DUPLICATE_MINUTES = float(_env("DUPLICATE_MINUTES", "60"))

#: EPDO weights (equivalent property-damage-only): fatal, injury, property-only.
EPDO_WEIGHTS = {"fatal": 12.0, "injury": 3.0, "pdo": 1.0}

#: Default DBSCAN parameters for density clustering, in metres.
CLUSTER_EPS_M = 100.0
CLUSTER_MIN_SAMPLES = 3

#: Corridor rule set used by default (see data/rules/corridor_rules.json).
CORRIDOR_RULESET = _env("CORRIDOR_RULESET", "nd11-2010-nd100-2013")

#: An encroachment case must have a record (biên bản) before it is closed as
#: cleared; set BLACKSPOT_CASE_RECORD_REQUIRED=0 where a voluntary clearing
#: without a record is accepted.
CASE_RECORD_REQUIRED = _env("CASE_RECORD_REQUIRED", "1") not in ("0", "false", "no")

#: Months before and after a remediation work compared in "did it work?".
EVALUATION_MONTHS = int(_env("EVALUATION_MONTHS", "12"))

#: Site length used to build the reference group of the Empirical Bayes
#: correction (road segments of this length, metres).
EB_SEGMENT_M = float(_env("EB_SEGMENT_M", "500"))

#: Crash modification factors per work type, with their sources and service lives, for the economic
#: appraisal of works (``geo/appraisal``); another file through BLACKSPOT_CMF_FILE.
CMF_FILE = Path(_env("CMF_FILE", str(RULES_DIR / "cmf_worktypes.csv")))

#: Show the plain offline base map first (for intranets without tile access).
OFFLINE_MAP = _env("OFFLINE_MAP", "0") in ("1", "true", "yes")

#: Minutes of inactivity after which a signed-in user must sign in again.
SESSION_TIMEOUT_MIN = float(_env("SESSION_TIMEOUT_MIN", "30"))
