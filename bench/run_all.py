"""Run every benchmark and print the results (copy them into BENCHMARKS.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cluster  # noqa: E402
import bench_import  # noqa: E402
import bench_screening  # noqa: E402

for name, mod in (("import", bench_import), ("screening", bench_screening), ("cluster", bench_cluster)):
    print(name, json.dumps(mod.main(), default=float))
