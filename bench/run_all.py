"""Run every benchmark and print the results (copied into BENCHMARKS.md).

python bench/run_all.py [--only NAME ...] [--load-seconds 60]
"""

from __future__ import annotations

import argparse
import json

# `python bench/run_all.py` puts bench/ first on the path: the benchmarks import as top-level modules
import bench_blackspots_file
import bench_cluster
import bench_corridor
import bench_duplicates
import bench_hdbscan
import bench_import
import bench_load
import bench_import_large
import bench_map
import bench_screen_store
import bench_pages
import bench_screening
import bench_sessions

ap = argparse.ArgumentParser()
ap.add_argument("--only", nargs="*")
ap.add_argument("--load-seconds", type=float, default=60)
a = ap.parse_args()
runs = {
    "import": bench_import.main,
    "screening": bench_screening.main,
    "cluster": bench_cluster.main,
    "corridor": bench_corridor.main,
    "map": bench_map.main,
    "screen_store": bench_screen_store.main,
    "load": lambda: bench_load.main(seconds=a.load_seconds),
    "import_large": bench_import_large.main,
    "pages": bench_pages.main,
    "sessions": lambda: bench_sessions.main(seconds=a.load_seconds),
    "blackspots_file": bench_blackspots_file.main,
    "hdbscan": bench_hdbscan.main,
    "duplicates": bench_duplicates.main,
}
for name, fn in runs.items():
    if a.only and name not in a.only:
        continue
    print(name, json.dumps(fn(), default=float), flush=True)
