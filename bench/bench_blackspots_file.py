"""Black spots from a 1 000 000-row crash file, end to end (issue 18.1):
``cli.py blackspots --crashes FILE --rules tt41-2024 --out OUT.csv``, time and
peak memory (the command's proportional set size, sampled every 50 ms), against
``pandas.read_csv`` of the same file in a child process the same way, in the
same run.

The file: 1 000 000 crashes on 3 000 roads of 60 km (national and provincial
road codes written the ways police files write them: "QL 14", "QL.14",
"ĐT 675"), 70 % of them in 50 000 hotspots (chainage spread σ 200 m), over four
years, dates as dd/mm/yyyy, 1.2 % fatal, 0–2 injured, lon/lat.

    cd bench && ../.venv/bin/python bench_blackspots_file.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench_import_large import _child
from common import ROOT


def make_file(path: Path, n: int = 1_000_000, roads: int = 3_000, hotspots: int = 50_000, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    length = 60_000.0
    # road codes as the police write them: several spellings of one road
    number = np.arange(roads) + 1
    style = number % 4
    codes = np.where(
        style == 0,
        "QL" + pd.Series(number).astype(str),
        np.where(
            style == 1,
            "QL " + pd.Series(number).astype(str),
            np.where(style == 2, "QL." + pd.Series(number).astype(str), "ĐT " + pd.Series(number + 500).astype(str)),
        ),
    )
    hot_road = rng.integers(0, roads, hotspots)
    hot_at = rng.uniform(0, length, hotspots)
    in_hot = rng.random(n) < 0.7
    which = rng.integers(0, hotspots, n)
    road = np.where(in_hot, hot_road[which], rng.integers(0, roads, n))
    ch = np.where(in_hot, hot_at[which] + rng.normal(0, 200, n), rng.uniform(0, length, n)).clip(0, length)
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D")
    frame = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "road": codes[road],
            "chainage_m": ch.round(1),
            "date": day.strftime("%d/%m/%Y"),
            "deaths": (rng.random(n) < 0.012).astype(int),
            "injured": rng.integers(0, 3, n),
            "lon": (102.5 + 6.0 * rng.random(n)).round(6),
            "lat": (9.0 + 13.0 * rng.random(n)).round(6),
        }
    )
    frame.to_csv(path, index=False)


def main(rows: int = 1_000_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crashes.csv"
        make_file(path, rows)
        out = Path(tmp) / "spots.csv"
        env = dict(os.environ)
        base_s, base_mb, _ = _child([sys.executable, "-c", f"import pandas as pd; pd.read_csv({str(path)!r})"], env)
        secs, peak, r = _child(
            [sys.executable, "cli.py", "blackspots", "--crashes", str(path), "--rules", "tt41-2024", "--out", str(out)],
            env,
        )
        if r.returncode != 0:
            raise SystemExit(f"blackspots failed ({r.returncode}): {r.stderr[-2000:]}")
        spots = pd.read_csv(out)
        return {
            "rows": rows,
            "file_mb": round(path.stat().st_size / 1048576, 1),
            "blackspots_s": round(secs, 2),
            "blackspots_peak_mb": round(peak),
            "baseline_read_csv_s": round(base_s, 2),
            "baseline_read_csv_peak_mb": round(base_mb),
            "time_ratio": round(secs / base_s, 1),
            "spots": int(len(spots)),
            "by_kind": spots["kind"].value_counts().to_dict(),
            "last_line": r.stdout.strip().splitlines()[-1:],
        }


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    os.chdir(ROOT)
    print(main(p.parse_args().rows))
