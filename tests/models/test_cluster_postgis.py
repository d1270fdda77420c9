"""Our DBSCAN gives the same partition of core points as PostGIS
``ST_ClusterDBSCAN`` on the same real points and parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sklearn.cluster import DBSCAN

from geo.cluster import dbscan
from geo.crs import to_metric
from tests.conftest import SHARED
from geo.cluster import same_partition


@pytest.mark.parametrize("eps,min_samples", [(100, 3), (200, 5)])
def test_dbscan_equals_st_clusterdbscan(store, eps, min_samples):
    if not store.postgres:
        pytest.skip("PostGIS-only check: nothing to check on the SQLite run")
    df = pd.read_csv(SHARED / "crashes" / "hk_accidents_2014_2019.csv.gz", usecols=["year", "longitude", "latitude"])
    df = df.loc[df["year"] == 2019].dropna().head(8000)
    x, y, _ = to_metric(df["longitude"].to_numpy(), df["latitude"].to_numpy())
    ours = dbscan(x, y, eps=eps, min_samples=min_samples)
    with store.engine.begin() as c:
        c.execute(text("CREATE TEMP TABLE pts (id int, geom geometry(Point))"))
        c.execute(
            text("INSERT INTO pts SELECT i, ST_MakePoint(x, y) FROM unnest(:ids, :xs, :ys) AS t(i, x, y)"),
            {"ids": list(range(len(x))), "xs": x.tolist(), "ys": y.tolist()},
        )
        rows = c.execute(
            text("SELECT id, ST_ClusterDBSCAN(geom, eps := :eps, minpoints := :m) OVER () FROM pts"),
            {"eps": eps, "m": min_samples},
        ).all()
    pg = np.full(len(x), -1)
    for i, label in rows:
        pg[i] = -1 if label is None else label
    core = DBSCAN(eps=eps, min_samples=min_samples).fit(np.column_stack([x, y])).core_sample_indices_
    assert len(core) > 200
    assert same_partition(ours[core], pg[core])
    assert np.array_equal(ours == -1, pg == -1)
