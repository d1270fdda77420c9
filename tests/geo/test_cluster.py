"""DBSCAN partitions equal scikit-learn's on real crash coordinates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import DBSCAN

from geo.cluster import cluster_crashes, dbscan, hdbscan, same_partition
from geo.crs import to_metric
from tests.conftest import SHARED


@pytest.fixture(scope="module")
def uk_points():
    df = pd.read_csv(SHARED / "crashes" / "uk_2015_points.csv.gz", nrows=20000).dropna()
    x, y, _ = to_metric(df["lng"].to_numpy(), df["lat"].to_numpy())
    return x, y


@pytest.mark.parametrize("eps,min_samples", [(100, 3), (50, 5), (250, 10)])
def test_dbscan_equals_sklearn_on_core_points(uk_points, eps, min_samples):
    x, y = uk_points
    ours = dbscan(x, y, eps=eps, min_samples=min_samples)
    model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="kd_tree").fit(np.column_stack([x, y]))
    core = model.core_sample_indices_
    assert len(core) > 100
    assert same_partition(ours[core], model.labels_[core])
    assert np.array_equal(ours == -1, model.labels_ == -1)  # the same noise points


def test_hdbscan_option_runs_and_finds_clusters(uk_points):
    x, y = uk_points
    labels = hdbscan(x[:3000], y[:3000], min_cluster_size=5)
    assert labels.max() >= 1 and (labels >= -1).all()


def test_cluster_table_sums_crashes():
    df = pd.DataFrame({"lon": [105.0, 105.0003, 105.0006, 106.0], "lat": [21.0] * 4,
                       "deaths": [1, 0, 0, 0], "injured": [0, 1, 2, 1],
                       "occurred_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"])})
    labels, table = cluster_crashes(df, eps=40, min_samples=3)
    assert labels.tolist() == [0, 0, 0, -1]
    assert table.loc[0, ["n_crashes", "deaths", "injured", "fatal_crashes"]].tolist() == [3, 1, 3, 1]
    assert table.loc[0, "epdo"] == 12 + 3 + 3


def test_parallel_neighbour_pairs_equal_the_single_tree(hk_slice):
    """Strips with halos find exactly the pairs one k-d tree finds (real HK points)."""
    import numpy as np
    import pandas as pd

    from geo.cluster import neighbour_pairs
    from geo.crs import to_metric

    f = hk_slice.frame
    lon = pd.to_numeric(f["Kinh độ"], errors="coerce")
    lat = pd.to_numeric(f["Vĩ độ"], errors="coerce")
    ok = lon.notna() & lat.notna()
    x, y, _ = to_metric(lon[ok].to_numpy(), lat[ok].to_numpy())
    pts = np.column_stack([x, y])
    one = neighbour_pairs(pts, 150.0, workers=1)
    for w in (2, 3, 5):
        many = neighbour_pairs(pts, 150.0, workers=w, min_parallel=0)
        assert len(many) == len(one) > 100
        key = lambda p: set(map(tuple, np.sort(p, axis=1).tolist()))  # noqa: E731
        assert key(many) == key(one)


def test_labels_are_numbered_by_first_core_point(hk_slice):
    import pandas as pd

    f = hk_slice.frame
    lon = pd.to_numeric(f["Kinh độ"], errors="coerce")
    lat = pd.to_numeric(f["Vĩ độ"], errors="coerce")
    ok = lon.notna() & lat.notna() & lon.between(113.8, 114.5)
    x, y, _ = to_metric(lon[ok].to_numpy(), lat[ok].to_numpy())
    labels = dbscan(x, y, eps=150, min_samples=3)
    model = DBSCAN(eps=150 * (1 + 1e-12), min_samples=3).fit(np.column_stack([x, y]))
    core = np.zeros(len(x), dtype=bool)
    core[model.core_sample_indices_] = True
    firsts = [np.flatnonzero(core & (labels == k))[0] for k in range(labels.max() + 1)]
    assert labels.max() > 5 and firsts == sorted(firsts)
