"""DBSCAN partitions equal scikit-learn's on real crash coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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


def test_hdbscan_finds_the_groups_placed_by_hand():
    """Three tight groups of 12 points (3 m apart) 1 km from each other, and three
    points kilometres from everything: three clusters, whatever their numbers,
    and the lone points are noise."""
    xs, ys, want = [], [], []
    for group, (cx, cy) in enumerate([(0, 0), (1000, 0), (0, 1000)]):
        for i in range(4):
            for j in range(3):
                xs.append(cx + 3.0 * i)
                ys.append(cy + 3.0 * j)
                want.append(group)
    for nx, ny in [(5000, 5000), (-4000, 3000), (3000, -6000)]:
        xs.append(nx)
        ys.append(ny)
        want.append(-1)
    want = np.array(want)
    labels = hdbscan(np.array(xs), np.array(ys), min_cluster_size=5)
    assert len(set(labels[labels >= 0].tolist())) == 3
    assert same_partition(labels, want)
    assert np.array_equal(labels == -1, want == -1)


def _sklearn_hdbscan(x, y, min_cluster_size, min_samples):
    import warnings

    from sklearn.cluster import HDBSCAN

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True).fit_predict(
            np.column_stack([x, y])
        )


@pytest.mark.parametrize("min_cluster_size,min_samples", [(5, None), (10, 5), (3, 2), (15, 20)])
def test_hdbscan_is_scikit_learns(uk_points, min_cluster_size, min_samples):
    """The same clusters and the same noise as scikit-learn's HDBSCAN on real
    crashes (``min_samples`` counting the point itself), not nearly the same:
    Borůvka's tree alone, with its own order of equal edges, agreed only to an
    adjusted Rand index of ~0.95. The real points hold repeated places."""
    x, y = uk_points[0][:6000], uk_points[1][:6000]
    assert len(np.unique(np.column_stack([x, y]), axis=0)) < len(x) - 200  # repeated places
    want = _sklearn_hdbscan(x, y, min_cluster_size, min_samples)
    got = hdbscan(x, y, min_cluster_size=min_cluster_size, min_samples=min_samples)
    assert want.max() >= 20
    assert same_partition(got, want) and np.array_equal(got == -1, want == -1)
    exact = hdbscan(x, y, min_cluster_size=min_cluster_size, min_samples=min_samples, exact=True)
    assert same_partition(exact, want) and np.array_equal(exact == -1, want == -1)


@pytest.mark.parametrize("shape", ["rounded", "piled up", "both"])
def test_hdbscan_is_scikit_learns_on_rounded_or_piled_up_coordinates(shape):
    """Coordinates given to three decimals of a degree (a ~100 m grid, where
    lengths agree to the millimetre and a float32 tree picks the wrong one of
    two), crashes piled on a few dozen places (the commune's centre given for
    a crash without a position), and both: still scikit-learn's clusters
    exactly (``fast_hdbscan``'s float32 tree gave an adjusted Rand index of
    0.94 on both)."""
    df = pd.read_csv(SHARED / "crashes" / "uk_2015_points.csv.gz", nrows=8000).dropna()
    lon, lat = df["lng"].to_numpy(), df["lat"].to_numpy()
    if shape != "piled up":
        lon, lat = np.round(lon, 3), np.round(lat, 3)
    x, y, _ = to_metric(lon, lat)
    if shape != "rounded":
        pile = np.random.default_rng(7).integers(0, 40, 1500)
        x, y = np.r_[x, x[:40][pile]], np.r_[y, y[:40][pile]]
    for min_cluster_size, min_samples in [(5, None), (10, 5), (3, 2)]:
        want = _sklearn_hdbscan(x, y, min_cluster_size, min_samples)
        got = hdbscan(x, y, min_cluster_size=min_cluster_size, min_samples=min_samples)
        assert want.max() >= 20
        assert same_partition(got, want) and np.array_equal(got == -1, want == -1)


def test_hdbscan_is_scikit_learns_where_distances_tie_exactly():
    """Exact ties, which Prim's order breaks its own way: real Hong Kong crash
    positions given to 0.001° and projected about a meridian on that grid (the
    two sides mirror each other, so many distances are equal to the last bit;
    found by a probe), and real positions snapped to a 25 m grid in metres."""
    lonlat = np.array(
        [[114.176, 22.281], [114.179, 22.282], [114.177, 22.28], [114.176, 22.281], [114.178, 22.28],
         [114.177, 22.279], [114.179, 22.281], [114.18, 22.28], [114.179, 22.28], [114.178, 22.282],
         [114.179, 22.282], [114.178, 22.282], [114.179, 22.28], [114.179, 22.28], [114.176, 22.28],
         [114.178, 22.28], [114.178, 22.282], [114.18, 22.281], [114.18, 22.281], [114.178, 22.282],
         [114.177, 22.281], [114.177, 22.28], [114.178, 22.282], [114.177, 22.282], [114.176, 22.281],
         [114.18, 22.281]]
    )  # fmt: skip
    x, y, _ = to_metric(lonlat[:, 0], lonlat[:, 1])
    want = _sklearn_hdbscan(x, y, 3, 7)
    got = hdbscan(x, y, min_cluster_size=3, min_samples=7)
    assert want.max() >= 1
    assert same_partition(got, want) and np.array_equal(got == -1, want == -1)
    df = pd.read_csv(SHARED / "crashes" / "uk_2015_points.csv.gz", nrows=8000).dropna()
    ux, uy, _ = to_metric(df["lng"].to_numpy(), df["lat"].to_numpy())
    gx, gy = np.round(ux / 25) * 25, np.round(uy / 25) * 25
    for min_cluster_size, min_samples in [(5, None), (10, 5), (3, 2)]:
        want = _sklearn_hdbscan(gx, gy, min_cluster_size, min_samples)
        got = hdbscan(gx, gy, min_cluster_size=min_cluster_size, min_samples=min_samples)
        assert want.max() >= 20
        assert same_partition(got, want) and np.array_equal(got == -1, want == -1)


@pytest.mark.parametrize("shape", ["real", "rounded", "line", "two"])
def test_boruvka_tree_is_a_minimum_spanning_tree_in_float64(shape):
    """The float64 Borůvka tree spans the points and weighs what
    scikit-learn's Prim's tree weighs, edge for edge once sorted (an exact
    minimum spanning tree; a float32 tree can hold an edge a hair heavier)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.cluster._hdbscan._linkage import mst_from_data_matrix
    from sklearn.metrics import DistanceMetric
    from sklearn.neighbors import NearestNeighbors

    from geo._boruvka import boruvka

    df = pd.read_csv(SHARED / "crashes" / "uk_2015_points.csv.gz", nrows=6000).dropna()
    lon, lat = df["lng"].to_numpy(), df["lat"].to_numpy()
    if shape == "rounded":
        lon, lat = np.round(lon, 3), np.round(lat, 3)
    xy = np.column_stack(to_metric(lon, lat)[:2])
    if shape == "line":
        xy = np.column_stack([np.arange(300.0) ** 1.5, np.zeros(300)])
    elif shape == "two":
        xy = np.array([[0.0, 0.0], [3.0, 4.0]])
    xy = np.unique(xy, axis=0)
    k = min(5, len(xy))
    core = NearestNeighbors(n_neighbors=k).fit(xy).kneighbors(xy)[0][:, -1].copy()
    near = NearestNeighbors(n_neighbors=min(9, len(xy))).fit(xy).kneighbors(xy)[1][:, 1:]
    a, b, w = boruvka(xy, core, near)
    want = mst_from_data_matrix(np.ascontiguousarray(xy), core, DistanceMetric.get_metric("euclidean"), 1.0)
    assert len(a) == len(xy) - 1
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(xy), len(xy)))
    assert connected_components(graph, directed=False)[0] == 1
    d = np.sqrt(((xy[a] - xy[b]) ** 2).sum(axis=1))
    assert np.array_equal(w, np.maximum(np.maximum(core[a], core[b]), d))
    assert np.sort(w).tolist() == np.sort(want["distance"]).tolist()


@pytest.mark.parametrize(
    "xs,ys",
    [
        (np.zeros(20), np.zeros(20)),  # one place
        (np.r_[np.zeros(10), np.full(10, 500.0)], np.zeros(20)),  # two places
        (np.arange(50.0) * 3, np.zeros(50)),  # a straight line
        (np.arange(6.0), np.zeros(6)),  # barely enough points
    ],
)
def test_hdbscan_degenerate_shapes_are_scikit_learns(xs, ys):
    for min_cluster_size, min_samples in [(5, None), (2, 2), (5, 3)]:
        want = _sklearn_hdbscan(xs, ys, min_cluster_size, min_samples)
        got = hdbscan(xs, ys, min_cluster_size=min_cluster_size, min_samples=min_samples)
        assert same_partition(got, want) and np.array_equal(got == -1, want == -1)


def test_excess_of_mass_labels_are_scikit_learns_to_the_number():
    """The linear-time choice of clusters gives scikit-learn's own label array
    (its numbers too) from the same condensed tree."""
    import sklearn.cluster._hdbscan.hdbscan as skh
    from sklearn.cluster._hdbscan._linkage import MST_edge_dtype, make_single_linkage
    from sklearn.cluster._hdbscan._tree import _condense_tree

    from geo._hdbscan_prim import eom_labels
    from geo.cluster import _prims_tree

    df = pd.read_csv(SHARED / "crashes" / "uk_2015_points.csv.gz", nrows=20000).dropna()
    x, y, _ = to_metric(df["lng"].to_numpy(), df["lat"].to_numpy())
    src, dst, weight = _prims_tree(np.column_stack([x, y]), 5)
    mst = np.empty(len(src), dtype=MST_edge_dtype)
    mst["current_node"], mst["next_node"], mst["distance"] = src, dst, weight
    slt = make_single_linkage(mst[np.argsort(mst["distance"])])
    for min_cluster_size in (3, 5, 12):
        want, _ = skh.tree_to_labels(slt, min_cluster_size, "eom", False, 0.0, None)
        c = _condense_tree(slt, min_cluster_size)
        got = eom_labels(c["parent"].copy(), c["child"].copy(), c["value"].copy(), c["cluster_size"].copy(), len(x))
        assert want.max() > 100
        assert got.tolist() == want.tolist()


def test_distinct_is_numpys_unique():
    from geo._arrays import distinct

    rng = np.random.default_rng(3)
    for values in (rng.integers(0, 10**12, 5000), rng.integers(-5, 5, 300), np.array([], dtype=np.int64)):
        assert distinct(values).tolist() == np.unique(values).tolist()


def test_cluster_table_sums_crashes():
    df = pd.DataFrame(
        {
            "lon": [105.0, 105.0003, 105.0006, 106.0],
            "lat": [21.0] * 4,
            "deaths": [1, 0, 0, 0],
            "injured": [0, 1, 2, 1],
            "occurred_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
        }
    )
    labels, table = cluster_crashes(df, eps=40, min_samples=3)
    assert labels.tolist() == [0, 0, 0, -1]
    assert table.loc[0, ["n_crashes", "deaths", "injured", "fatal_crashes"]].tolist() == [3, 1, 3, 1]
    assert table.loc[0, "epdo"] == 12 + 3 + 3
    # a radius as a table's column gives it (a NumPy integer) is metres too; a yes/no is not
    assert cluster_crashes(df, eps=np.int64(40), min_samples=3)[0].tolist() == labels.tolist()
    from errors import ValueOutOfRange

    for bad in (True, np.bool_(True), 0, -5.0, float("nan"), "40"):
        with pytest.raises(ValueOutOfRange, match="eps must be a positive number of metres"):
            cluster_crashes(df, eps=bad, min_samples=3)


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


@pytest.mark.parametrize("eps,min_samples", [(30, 2), (100, 3), (250, 10)])
def test_grid_gives_the_same_labels_as_the_pair_graph(uk_points, eps, min_samples, monkeypatch):
    """The grid kernel and the k-d tree fallback agree label for label, borders included."""
    import geo.cluster as gc

    x, y = uk_points
    grid = dbscan(x, y, eps=eps, min_samples=min_samples)
    monkeypatch.setattr(gc, "GRID_MAX_CELLS_PER_AXIS", 0)  # force the fallback
    pairs = dbscan(x, y, eps=eps, min_samples=min_samples)
    assert (grid >= 0).sum() > 100
    assert np.array_equal(grid, pairs)


_coords = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(pts=_coords, eps=st.sampled_from([1.0, 2.0, 2.5, 3.0, 5.0]), min_samples=st.integers(1, 6))
def test_grid_dbscan_is_dbscan_on_lattice_points(pts, eps, min_samples):
    """Lattice points put many neighbours at exactly eps and many duplicates: the
    edge cases of the grid (a pair at eps counts; cells at the 5 x 5 corners)."""
    xy = np.array(pts, dtype=float) * 10.0
    ours = dbscan(xy[:, 0], xy[:, 1], eps=eps * 10, min_samples=min_samples)
    model = DBSCAN(eps=eps * 10, min_samples=min_samples).fit(xy)
    core = np.zeros(len(xy), dtype=bool)
    core[model.core_sample_indices_] = True
    assert same_partition(ours[core], model.labels_[core])
    assert np.array_equal(ours == -1, model.labels_ == -1)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    for b in np.flatnonzero(~core & (ours >= 0)):  # a border point joins its nearest core point's cluster
        cand = np.flatnonzero(core & (d[b] <= eps * 10))
        nearest = cand[np.lexsort((cand, d[b, cand]))[0]]
        assert ours[b] == ours[nearest]
    if core.any():  # numbered by first core point
        firsts = [np.flatnonzero(core & (ours == k))[0] for k in range(ours.max() + 1)]
        assert firsts == sorted(firsts)


@pytest.mark.parametrize("bad", [dict(eps=0, min_samples=3), dict(eps=-5, min_samples=3), dict(eps=100, min_samples=0)])
def test_dbscan_refuses_bad_parameters(bad):
    with pytest.raises(ValueError):
        dbscan([0.0, 1.0], [0.0, 1.0], **bad)


def test_dbscan_refuses_missing_coordinates():
    with pytest.raises(ValueError, match="finite"):
        dbscan([0.0, np.nan], [0.0, 1.0], eps=10, min_samples=2)


def test_dbscan_of_nothing_is_empty():
    assert dbscan([], [], eps=10, min_samples=2).tolist() == []


def test_neighbours_in_the_corner_cells_of_the_5x5_block_count():
    """Two points two columns and two rows apart can still be within eps (the
    cell is a hair under eps/√2): the block's corner cells must be searched."""
    from geo.cluster import cell_side

    eps = 100.0
    c = cell_side(eps)
    a = np.nextafter(c, 0)  # last point of cell (0, 0)
    b = 2 * c  # first point of cell (2, 2)
    xy = np.array([[0.0, 0.0], [a, a], [b, b], [b + 150, b + 150]])
    assert np.hypot(b - a, b - a) <= eps
    assert int((b - 0) / c) == 2 and int(a / c) == 0
    ours = dbscan(xy[:, 0], xy[:, 1], eps=eps, min_samples=2)
    ref = DBSCAN(eps=eps, min_samples=2).fit(xy).labels_
    assert ours.tolist() == ref.tolist() == [0, 0, 0, -1]


def test_hdbscan_from_two_threads_at_once(uk_points):
    """Two Streamlit sessions clustering at the same moment (two threads of
    one process, the compiled kernels running in parallel inside each): both
    get the labels one alone gets."""
    from concurrent.futures import ThreadPoolExecutor

    x, y = uk_points
    alone = hdbscan(x, y, min_cluster_size=5)
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: hdbscan(x, y, min_cluster_size=5), range(2)))
    assert alone.max() > 100
    assert all(np.array_equal(b, alone) for b in both)


def test_hdbscan_with_one_place_reported_thousands_of_times(uk_points):
    """3 000 crashes at one place among real ones (core distances counted per
    place, each place's crashes weighing as many): scikit-learn's labels; and
    ``min_samples=1`` (each point its own core) no longer falls back to
    scikit-learn's quadratic search, with the same labels."""
    x, y = uk_points[0][:2000], uk_points[1][:2000]
    px, py = np.r_[x, np.full(3000, x[7])], np.r_[y, np.full(3000, y[7])]
    for min_cluster_size, min_samples in [(5, None), (10, 40), (4, 1)]:
        want = _sklearn_hdbscan(px, py, min_cluster_size, min_samples)
        got = hdbscan(px, py, min_cluster_size=min_cluster_size, min_samples=min_samples)
        assert same_partition(got, want) and np.array_equal(got == -1, want == -1)
        assert len(set(got[2000:])) == 1 and got[2000] >= 0  # the pile is one cluster


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(min_cluster_size=1),
        dict(min_cluster_size=2.5),
        dict(min_cluster_size=True),
        dict(min_cluster_size=5, min_samples=0),
        dict(min_cluster_size=5, min_samples=-3),
        dict(min_cluster_size="5"),
    ],
)
def test_hdbscan_refuses_counts_that_are_not_whole_numbers_in_range(kwargs):
    from errors import ValueOutOfRange

    with pytest.raises(ValueOutOfRange, match="phải là số nguyên từ"):
        hdbscan(np.arange(50.0), np.zeros(50), **kwargs)


@pytest.mark.parametrize(
    "xs,ys",
    [
        (np.r_[np.arange(20.0), 1e155], np.zeros(21)),  # not metres on Earth
        (np.arange(20.0).reshape(4, 5), np.zeros((4, 5))),  # not one coordinate per point
        (np.r_[np.arange(20.0), np.nan], np.zeros(21)),
    ],
)
def test_hdbscan_refuses_coordinates_it_cannot_rank(xs, ys):
    with pytest.raises(ValueError):
        hdbscan(xs, ys, min_cluster_size=5)
