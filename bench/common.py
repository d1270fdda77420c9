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
