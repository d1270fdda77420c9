"""HDBSCAN (issue 18.3): ``geo.cluster.hdbscan`` (scikit-learn's tree in its
own order, from a float64 Borůvka tree and the nearest neighbours;
:mod:`geo._boruvka`, :mod:`geo._hdbscan_prim`) against scikit-learn's HDBSCAN
(Prim's algorithm over every pair) and the ``fast_hdbscan`` package (float32
Borůvka, its own order; what this project used before) in the same run, on the real Japanese crash points (projected metres; the set tiled with
3 000 km offsets beyond its 364 456 points), min_cluster_size 5 with
min_samples 5 as scikit-learn counts it.

* 10 000 points: adjusted Rand index of ours against scikit-learn's, and
  whether the partition and the noise are the same; for reference, the
  ``fast_hdbscan`` package's own labels (Borůvka's tree in its own order, what
  this project used before) and scikit-learn's two tree searches against each
  other (brute force against the k-d tree); and ours on the same points given
  to three decimals of a degree with 1 500 of them piled on 40 places.
* 100 000 points: time of ours (on every core, and on one), of
  scikit-learn's (one thread) and of ``fast_hdbscan``'s, and the agreement.
* 1 000 000 points: time of ours, and the growth of the resident high-water
  mark during the run (a fresh process).

    cd bench && ../.venv/bin/python bench_hdbscan.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

import numpy as np

from bench_cluster import points
from common import ROOT
from geo.cluster import hdbscan


def _sklearn(x, y, *, algorithm="auto"):
    from sklearn.cluster import HDBSCAN

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HDBSCAN(min_cluster_size=5, min_samples=5, algorithm=algorithm).fit_predict(np.column_stack([x, y]))


def _timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return time.perf_counter() - t, out


def _million() -> dict:
    """Ours on 1 M points in a fresh process: seconds and peak growth (MB)."""
    code = (
        "import json, time; from bench_cluster import points, _status_kb; from geo.cluster import hdbscan\n"
        "x, y = points(1_000_000)\n"
        "open('/proc/self/clear_refs', 'w').write('5'); before = _status_kb('VmHWM')\n"
        "t = time.perf_counter(); lab = hdbscan(x, y, min_cluster_size=5); s = time.perf_counter() - t\n"
        "print(json.dumps({'seconds': round(s, 1), 'peak_mb': round((_status_kb('VmHWM') - before) / 1024),"
        " 'clusters': int(lab.max() + 1), 'noise_share': round(float((lab < 0).mean()), 3)}))"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "bench", capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _same(a, b) -> bool:
    from geo.cluster import same_partition

    return bool(same_partition(a, b) and np.array_equal(a == -1, b == -1))


def _fast_hdbscan(x, y):
    import fast_hdbscan

    return fast_hdbscan.HDBSCAN(min_cluster_size=5, min_samples=4).fit_predict(np.column_stack([x, y]))


def _rounded_and_piled(n: int = 10_000):
    """The first ``n`` Japanese crashes given to three decimals of a degree,
    1 500 of them piled on 40 places."""
    import pandas as pd

    import settings
    from geo.crs import to_metric

    df = pd.read_csv(
        settings.SHARED_DATA_DIR / "crashes" / "japan_npa_2019_2021_41pref.csv.gz",
        usecols=["longitude", "latitude"],
        nrows=n + 100,
    )
    df = df.loc[~((df.longitude == 150) & (df.latitude == 50))].head(n)
    x, y, _ = to_metric(df.longitude.round(3).to_numpy(), df.latitude.round(3).to_numpy())
    pile = np.random.default_rng(7).integers(0, 40, 1500)
    x[-1500:], y[-1500:] = x[:40][pile], y[:40][pile]
    return x, y


def main() -> dict:
    from sklearn.metrics import adjusted_rand_score as ari

    x, y = points(1_000_000)
    a, b = x[:10_000], y[:10_000]
    ref = _sklearn(a, b)
    ours = hdbscan(a, b)
    rx, ry = _rounded_and_piled()
    rref = _sklearn(rx, ry)
    rours = hdbscan(rx, ry)
    out = {
        "ari_10k_ours_vs_sklearn": round(ari(ref, ours), 4),
        "same_10k_ours_and_sklearn": _same(ours, ref),
        "ari_10k_fast_hdbscan_vs_sklearn": round(ari(ref, _fast_hdbscan(a, b)), 4),
        "ari_10k_sklearn_brute_vs_kdtree": round(ari(ref, _sklearn(a, b, algorithm="brute")), 4),
        "ari_10k_rounded_piled_ours_vs_sklearn": round(ari(rref, rours), 4),
        "same_10k_rounded_piled": _same(rours, rref),
    }
    a, b = x[:100_000], y[:100_000]
    hdbscan(a[:1000], b[:1000])  # imports and first calls out of the timing
    import numba

    ours_s, ours = _timed(hdbscan, a, b)
    cores = numba.get_num_threads()
    numba.set_num_threads(1)
    one_s, _ = _timed(hdbscan, a, b)
    numba.set_num_threads(cores)
    sk_s, sk = _timed(_sklearn, a, b)
    _fast_hdbscan(a[:1000], b[:1000])
    fast_s, fast = _timed(_fast_hdbscan, a, b)
    out |= {
        "s_100k_ours": round(ours_s, 2),
        "threads": cores,
        "s_100k_ours_one_thread": round(one_s, 2),
        "s_100k_sklearn": round(sk_s, 2),
        "speedup_100k": round(sk_s / ours_s, 1),
        "speedup_100k_one_thread": round(sk_s / one_s, 1),
        "s_100k_fast_hdbscan": round(fast_s, 2),
        "ari_100k_fast_hdbscan_vs_sklearn": round(ari(sk, fast), 4),
        "ari_100k_ours_vs_sklearn": round(ari(sk, ours), 4),
        "same_100k_ours_and_sklearn": _same(ours, sk),
        "clusters_100k": [int(ours.max() + 1), int(sk.max() + 1)],
    }
    out["million"] = _million()
    return out


if __name__ == "__main__":
    print(main())
