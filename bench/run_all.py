"""Run every benchmark and print the results (copied into BENCHMARKS.md).

    python bench/run_all.py [--only NAME ...] [--load-seconds 60]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cluster  # noqa: E402
import bench_corridor  # noqa: E402
import bench_import  # noqa: E402
import bench_load  # noqa: E402
import bench_map  # noqa: E402
import bench_screening  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--only", nargs="*")
ap.add_argument("--load-seconds", type=float, default=60)
a = ap.parse_args()
runs = {"import": bench_import.main, "screening": bench_screening.main, "cluster": bench_cluster.main,
        "corridor": bench_corridor.main, "map": bench_map.main,
        "load": lambda: bench_load.main(seconds=a.load_seconds)}
for name, fn in runs.items():
    if a.only and name not in a.only:
        continue
    print(name, json.dumps(fn(), default=float), flush=True)
