"""HDBSCAN (issue 18.3): ``geo.cluster.hdbscan`` (Borůvka on a k-d tree, the
``fast_hdbscan`` package, numba) against scikit-learn's HDBSCAN (Prim's
algorithm) in the same run, on the real Japanese crash points (projected metres; the set tiled
with 3 000 km offsets beyond its 364 456 points), min_cluster_size 5 with
min_samples 5 as scikit-learn counts it.

* 10 000 points: adjusted Rand index of ours against scikit-learn's, and of
  our Prim's-order option (``exact=True``), and of scikit-learn's own two tree
  searches against each other (brute force against the k-d tree): how far
  labels move when the ties of mutual reachability are broken otherwise.
* 100 000 points: time of ours (on every core, and on one) and of
  scikit-learn's (one thread).
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


def main() -> dict:
    from sklearn.metrics import adjusted_rand_score as ari

    x, y = points(1_000_000)
    a, b = x[:10_000], y[:10_000]
    ref = _sklearn(a, b)
    out = {
        "ari_10k_ours_vs_sklearn": round(ari(ref, hdbscan(a, b)), 4),
        "ari_10k_ours_exact_vs_sklearn": round(ari(ref, hdbscan(a, b, exact=True)), 4),
        "ari_10k_sklearn_brute_vs_kdtree": round(ari(ref, _sklearn(a, b, algorithm="brute")), 4),
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
    out |= {
        "s_100k_ours": round(ours_s, 2),
        "threads": cores,
        "s_100k_ours_one_thread": round(one_s, 2),
        "s_100k_sklearn": round(sk_s, 2),
        "speedup_100k": round(sk_s / ours_s, 1),
        "speedup_100k_one_thread": round(sk_s / one_s, 1),
        "ari_100k_ours_vs_sklearn": round(ari(sk, ours), 4),
        "clusters_100k": [int(ours.max() + 1), int(sk.max() + 1)],
    }
    out["million"] = _million()
    return out


if __name__ == "__main__":
    print(main())
