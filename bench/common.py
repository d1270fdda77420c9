"""Helpers for the benchmarks: timing and peak memory of one call."""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the project itself is installed (editable); the benchmarks that need a running app borrow the tests' helpers
# (tests/apprunner.py), which are not installed
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


def measure(fn, *args, repeat: int = 1, memory: bool = True, **kw):
    """(best seconds, peak MB of Python-tracked allocations, result)."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    peak = float("nan")
    if memory:
        gc.collect()
        tracemalloc.start()
        fn(*args, **kw)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return best, peak, out


def insert_crashes(engine, columns: dict, *, batch: str | None = None) -> None:
    """Crashes written straight into the crash table (what a benchmark measures is not the import):
    ``columns`` (each a list or array of one value per crash, with ``dedup_key``) and the flags every crash
    has, in parts; then one audit row, as every write leaves, so the store's data version moves and no
    process keeps an earlier read of the table. With ``batch`` (a file name), they are one import batch of
    that file, audited as an import is (the batch named: a kept crash frame then reads its crashes alone)."""
    import pandas as pd
    from sqlalchemy import insert

    from models.orm import AuditLog, Crash, ImportBatch

    frame = pd.DataFrame(columns).assign(
        version=1, deleted=False, alcohol=False, not_infrastructure=False, is_simulated=True
    )
    with engine.begin() as conn:
        batch_id = None
        if batch is not None:
            now = pd.Timestamp.now().to_pydatetime()
            batch_id = conn.execute(
                insert(ImportBatch)
                .values(kind="crashes", filename=batch, created_at=now, n_rows=len(frame), n_imported=len(frame))
                .returning(ImportBatch.id)
            ).scalar_one()
            frame = frame.assign(batch_id=batch_id)
        rows = frame.to_dict("records")
        for a in range(0, len(rows), 50_000):
            conn.execute(insert(Crash.__table__), rows[a : a + 50_000])
        audit = {"table_name": "crash", "action": "create", "changes": {"benchmark": len(rows)}}
        if batch_id is not None:
            audit = {"table_name": "import_batch", "row_id": batch_id, "action": "import", "changes": {"n": len(rows)}}
        conn.execute(insert(AuditLog.__table__), [{"at": pd.Timestamp.now().to_pydatetime()} | audit])
