"""Regulatory screening of 1 000 000 crashes on 50 000 road segments (synthetic
positions on synthetic roads; the counts and dates are drawn like the real
Japanese set: 1.2 % fatal). Baseline in the same run: a per-road Python loop
doing the same window search for the first 500 roads, scaled.

    python bench/bench_screening.py [--baseline-rev REV]

``--baseline-rev`` also times ``geo/screening.py`` as it was at git revision REV
on the same data in the same run, and checks that both give the same spots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from common import measure
from geo.screening import crash_counters, screen


def make(n=1_000_000, roads=50_000, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "crash_id": np.arange(n),
            "road": rng.integers(0, roads, n).astype(str),
            "chainage_m": rng.uniform(0, 5_000, n),
            "occurred_at": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D"),
            "deaths": (rng.random(n) < 0.012).astype(int),
            "injured": rng.integers(0, 3, n),
        }
    )


def naive(df, n_roads=500, L=500.0):
    """Per road, per start crash, per time start: count (the obvious loops)."""
    hits = 0
    for road, g in list(df.groupby("road"))[:n_roads]:
        g = g.sort_values("chainage_m")
        c = g["chainage_m"].to_numpy()
        t = g["occurred_at"].to_numpy()
        cnt = crash_counters(g["deaths"], g["injured"])
        for i in range(len(g)):
            inside = (c >= c[i]) & (c <= c[i] + L)
            for tb in t[inside]:
                w = inside & (t >= tb) & (t < tb + np.timedelta64(365, "D"))
                f = cnt["fatal"][w].sum()
                hits += f >= 2 or (cnt["crashes"][w].sum() >= 3 and f >= 1) or cnt["injury_only"][w].sum() >= 4
    return hits


def at_revision(rev: str):
    """``geo.screening`` as it was at git revision ``rev`` (a throwaway module)."""
    import importlib.util
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from common import ROOT

    src = subprocess.run(
        ["git", "show", f"{rev}:geo/screening.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"screening_{rev}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def main(baseline_rev: str | None = None) -> dict:
    df = make()
    secs, peak, res = measure(screen, df, repeat=2)
    extra = {}
    if baseline_rev:
        old = at_revision(baseline_rev)
        old_s, _, old_res = measure(old.screen, df, repeat=2, memory=False)
        extra = {
            f"screen_at_{baseline_rev}_s": old_s,
            "speedup_vs_revision": old_s / secs,
            "same_spots_as_revision": bool(old_res.spots.equals(res.spots) and old_res.members.equals(res.members)),
        }
    nsec, _, _ = measure(naive, df, memory=False)
    n_roads = df["road"].nunique()
    return {
        "crashes": len(df),
        "roads": n_roads,
        "screen_s": secs,
        "screen_peak_mb": peak,
        "black_spots": int((res.spots["kind"] == "black_spot").sum()),
        "potential_points": int((res.spots["kind"] == "potential").sum()),
        "naive_loop_500_roads_s": nsec,
        "naive_loop_all_roads_est_s": nsec * n_roads / 500,
    } | extra


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline-rev")
    print(main(ap.parse_args().baseline_rev))
