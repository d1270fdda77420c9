"""Import of a 200 MB crash CSV through the command line (``cli.py import
crashes``), into a fresh SQLite store: time and peak memory (the import's processes'
proportional set sizes summed, sampled every 50 ms: the command and the
worker process it forks to read and check the parts). Baseline in the same run:
``pandas.read_csv`` of the same file, in a child process the same way.

The file is real-shaped: a title row, Vietnamese headers, one row per crash
with its place in free text and its cause, built from real Japanese crash
records (scaled into Viet Nam's box) repeated with new ids to 200 MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import ROOT
import settings

TARGET_MB = 199


def make_file(path: Path, target_mb: float = TARGET_MB) -> int:
    src = pd.read_csv(settings.SHARED_DATA_DIR / "crashes" / "japan_npa_2019_2021_41pref.csv.gz", nrows=200_000)
    t = pd.to_datetime(src["datetime_local"])
    base = pd.DataFrame(
        {
            "Ngày giờ": t.dt.strftime("%d/%m/%Y %H:%M"),
            # the points' pattern kept, the whole set scaled into Viet Nam's box
            "Kinh độ": (
                105.0
                + 3.0 * (src["longitude"] - src["longitude"].min()) / (src["longitude"].max() - src["longitude"].min())
            ).round(6),
            "Vĩ độ": (
                10.0
                + 12.0 * (src["latitude"] - src["latitude"].min()) / (src["latitude"].max() - src["latitude"].min())
            ).round(6),
            "Địa điểm": (
                "Km "
                + pd.Series(np.arange(len(src)) % 300).astype(str)
                + "+"
                + pd.Series(np.arange(len(src)) * 7 % 1000).astype(str).str.zfill(3)
                + " QL24"
            ),
            "Nguyên nhân": np.where(np.arange(len(src)) % 3 == 0, "Vượt ẩu", "Không chú ý quan sát"),
            "Số người chết": src["n_killed"],
            "Số người bị thương": src["n_injured"],
        }
    )
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("BẢNG THỐNG KÊ TAI NẠN GIAO THÔNG\n\n")
        f.write("Mã vụ," + ",".join(base.columns) + "\n")
        rep = 0
        while f.tell() < target_mb * 1024 * 1024:
            block = base.copy()
            block.insert(0, "Mã vụ", [f"V{rep:03d}-{i}" for i in range(len(base))])
            text = block.to_csv(index=False, header=False)
            room = int(target_mb * 1024 * 1024) - f.tell()
            if len(text.encode()) > room:
                lines = text.splitlines(keepends=True)
                cut, size = 0, 0
                for cut, line in enumerate(lines):
                    size += len(line.encode())
                    if size > room:
                        break
                text = "".join(lines[:cut])
                n += cut
                f.write(text)
                break
            f.write(text)
            n += len(base)
            rep += 1
    return n


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def _pss_mb(pids: list[int]) -> float:
    """The processes' proportional set size, summed (a page shared by a
    forked worker and its parent counted once)."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def _child(args: list[str], env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    """(seconds, peak MB of that child and every process it starts, result):
    the memory is the sum of the processes' PSS, sampled every 50 ms."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    import threading

    peak = 0.0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _pss_mb(_tree(proc.pid)))
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    secs = time.perf_counter() - t0
    done.set()
    t.join()
    return secs, peak, subprocess.CompletedProcess(args, proc.returncode, out, err)


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        rows = make_file(path)
        size_mb = path.stat().st_size / 1048576
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp}/store.sqlite")
        base_s, base_mb, _ = _child(
            [sys.executable, "-c", f"import pandas as pd; pd.read_csv({str(path)!r}, skiprows=2)"], env
        )
        subprocess.run([sys.executable, "cli.py", "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
        secs, peak_mb, r = _child([sys.executable, "cli.py", "import", "crashes", str(path)], env)
        if r.returncode != 0:
            raise SystemExit(f"import failed ({r.returncode}): {r.stderr[-2000:]}")
        return {
            "file_mb": round(size_mb, 1),
            "rows": rows,
            "import_s": round(secs, 1),
            "import_peak_mb": round(peak_mb),
            "baseline_read_csv_s": round(base_s, 1),
            "baseline_read_csv_peak_mb": round(base_mb),
            "time_ratio": round(secs / base_s, 1),
            "last_line": r.stdout.strip().splitlines()[-1:],
        }


if __name__ == "__main__":
    print(main())
