"""Every page's rerun on the server with 100 000 crashes in the store, data
cached: what a planner waits for each time they click.

The app runs in its own Streamlit server; one session over the websocket (as
the browser's front end makes it) opens each page once to fill the caches,
then reruns every page ``--runs`` times in turn. A rerun is timed from the
``rerun_script`` message to the run's ``script_finished``. Baseline in the
same run: a one-line Streamlit page (``st.write``) served and rerun the same
way, the framework's own floor.

    python bench/bench_pages.py [--crashes 100000] [--runs 15]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the tests' helpers on the path)

PAGES = {
    "home": "",
    "map": "map",
    "blackspots": "blackspots",
    "corridor": "corridor",
    "works": "works",
    "plans": "plans",
    "exports": "exports",
    "import": "import",
}


def _reruns(base: str, pages: dict[str, str], runs: int) -> dict[str, list[float]]:
    from bench_sessions import Session

    s = Session(base, "")
    try:
        for page in pages.values():
            _, _, problems = s.run(page)
            assert not problems, problems
        times: dict[str, list[float]] = {k: [] for k in pages}
        for _ in range(runs):
            for name, page in pages.items():
                secs, _, problems = s.run(page)
                assert not problems, problems
                times[name].append(secs)
        return times
    finally:
        s.close()


def main(n: int = 100_000, runs: int = 15) -> dict:
    from bench_map import build_store

    from tests.apprunner import running_app

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/pages.sqlite"
        out["crashes"] = build_store(url, n)
        floor = Path(tmp) / "floor.py"
        floor.write_text("import streamlit as st\nst.write('một dòng / one line')\n", encoding="utf-8")
        with running_app(url, script=floor, timeout_s=90) as base:
            t = _reruns(base, {"floor": ""}, runs)["floor"]
            out["baseline_one_line_page_ms"] = round(float(np.median(t)) * 1000, 1)
        with running_app(url, timeout_s=90) as base:
            for name, t in _reruns(base, PAGES, runs).items():
                out[f"{name}_median_ms"] = round(float(np.median(t)) * 1000)
                out[f"{name}_p95_ms"] = round(float(np.percentile(t, 95)) * 1000)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--crashes", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    print(main(a.crashes, a.runs))
