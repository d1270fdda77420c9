"""Validation: each bad value gets its own line in the report; good rows pass."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from errors import ColumnMappingError, CRSError
from geo.io import RawTable
from geo.chainage import RoadNetwork
from geo.crs import transform
from geo.validate import validate_crashes
from tests.conftest import HK_BOUNDS

TODAY = datetime(2026, 11, 23)


def table(rows: list[dict]) -> RawTable:
    return RawTable(frame=pd.DataFrame(rows).fillna("").astype(str), fmt="csv")


def row(**kw):
    base = {
        "Ngày": "05/02/2024",
        "Kinh độ": "107.95",
        "Vĩ độ": "14.55",
        "Số người chết": "0",
        "Số người bị thương": "1",
    }
    base.update(kw)
    return base


def reasons(result, field=None):
    r = result.report
    if field:
        r = r.loc[r["field"] == field]
    return " | ".join(r["reason"])


def test_good_row_is_valid():
    res = validate_crashes(table([row()]), today=TODAY)
    assert res.n_valid == 1 and res.n_errors == 0
    assert res.rows.loc[0, "occurred_at"] == pd.Timestamp("2024-02-05")
    assert res.rows.loc[0, "severity"] == "it_nghiem_trong"


@pytest.mark.parametrize(
    "field,value,expect",
    [
        ("Số người chết", "hai", "không phải số"),
        ("Số người chết", "-1", "số âm"),
        ("Số người bị thương", "1.5", "số nguyên"),
        ("Ngày", "31/02/2024", "Ngày không đọc được"),
        ("Ngày", "01/01/2030", "tương lai"),
        ("Ngày", "", "Thiếu ngày"),
        ("Kinh độ", "abc", "không phải số"),
        ("Kinh độ", "2.35", "ngoài phạm vi Việt Nam"),
    ],
)
def test_each_bad_value_is_reported(field, value, expect):
    res = validate_crashes(table([row(), row(**{field: value})]), today=TODAY)
    assert res.n_valid == 1 and res.n_errors == 1
    bad = res.report.loc[res.report["level"] == "error"]
    assert bad["row"].tolist() == [3]  # header is row 1
    assert expect in " ".join(bad["reason"])


def test_unknown_columns_raise_a_mapping_error_naming_what_is_missing():
    with pytest.raises(ColumnMappingError) as exc:
        validate_crashes(table([{"foo": "1", "bar": "2"}]), today=TODAY)
    assert "Số người chết" in str(exc.value) and exc.value.columns == ["foo", "bar"]


def test_swapped_lat_lon_columns_are_detected_and_fixed():
    res = validate_crashes(table([row(**{"Kinh độ": "14.55", "Vĩ độ": "107.95"})] * 1), today=TODAY)
    assert res.n_valid == 1
    assert res.rows.loc[0, "lon"] == pytest.approx(107.95)
    assert "đảo" in reasons(res)


def test_vn2000_tm3_coordinates_are_transformed():
    x, y = transform([107.95], [14.55], "EPSG:4326", "EPSG:9216")
    t = table([row(**{"Kinh độ": f"{x[0]:.3f}", "Vĩ độ": f"{y[0]:.3f}"})])
    with pytest.raises(CRSError):
        validate_crashes(t, today=TODAY)
    res = validate_crashes(t, source_crs=9216, today=TODAY)
    assert res.rows.loc[0, "lon"] == pytest.approx(107.95, abs=1e-6)
    assert res.rows.loc[0, "lat"] == pytest.approx(14.55, abs=1e-6)


def test_chainage_places_a_crash_on_the_real_ql24(ql24):
    net = RoadNetwork.from_wgs84(ql24["code"], ql24["geometry"], km_start=ql24["km_start_m"])
    t = table(
        [
            {"Ngày": "05/02/2024", "Lý trình": "Km 145+200 QL24", "Số người chết": "1", "Số người bị thương": "0"},
            {
                "Ngày": "05/02/2024",
                "Lý trình": "Km 300+000",
                "Tuyến đường": "QL24",
                "Số người chết": "1",
                "Số người bị thương": "0",
            },
            {
                "Ngày": "05/02/2024",
                "Lý trình": "Km 10+000",
                "Tuyến đường": "QL99",
                "Số người chết": "0",
                "Số người bị thương": "1",
            },
        ]
    )
    res = validate_crashes(t, roads=net, today=TODAY)
    assert res.rows["ok"].tolist() == [True, False, False]
    assert res.rows.loc[0, "located_by"] == "chainage" and res.rows.loc[0, "chainage_m"] == 145_200
    assert "ngoài tuyến" in reasons(res, "chainage") and "chưa có" in reasons(res, "road")
    # and back: the located point measures to the same chainage
    back = validate_crashes(
        table([row(**{"Kinh độ": str(res.rows.loc[0, "lon"]), "Vĩ độ": str(res.rows.loc[0, "lat"])})]),
        roads=net,
        today=TODAY,
    )
    assert back.rows.loc[0, "road_code"] == "QL24"
    assert back.rows.loc[0, "chainage_m"] == pytest.approx(145_200, abs=0.5)


def test_duplicates_in_file_are_skipped_with_a_warning(hk_slice):
    frame = pd.concat([hk_slice.frame.head(5), hk_slice.frame.head(2)], ignore_index=True)
    res = validate_crashes(RawTable(frame=frame), bounds=HK_BOUNDS, today=TODAY)
    assert res.n_valid == 5 and res.rows["duplicate_in_file"].sum() == 2 and res.n_errors == 0


def test_real_hong_kong_rows_validate_and_their_real_errors_are_caught(hk_slice):
    res = validate_crashes(hk_slice, bounds=HK_BOUNDS, today=TODAY)
    assert res.n_rows == 2000
    errors = res.errors
    blank = set(np.flatnonzero(hk_slice.frame["Kinh độ"].eq("").to_numpy()) + 2)
    assert set(errors.loc[errors["field"] == "place", "row"]) == blank
    # coordinates with three decimals (114.181) are decimals, not thousands groups
    raw = hk_slice.frame["Kinh độ"]
    three = raw.str.fullmatch(r"\d{3}\.\d{3}").to_numpy()
    assert three.sum() >= 5
    assert not (errors["field"] == "lon/lat").any()
    assert np.allclose(res.rows["lon"].to_numpy()[three], raw[three].astype(float))
    assert res.n_errors == len(set(errors["row"]))
    assert res.n_valid == 2000 - res.n_errors - int(res.rows["duplicate_in_file"].sum())


cell = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 500).map(str),
    st.floats(-1e6, 1e6).map(str),
    st.sampled_from(["", "05/02/2024", "2024-13-01", "107.9", "14.5", "Km 1+200", "có"]),
)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "Ngày": cell,
                "Kinh độ": cell,
                "Vĩ độ": cell,
                "Số người chết": cell,
                "Số người bị thương": cell,
                "Có nồng độ cồn": cell,
            }
        ),
        min_size=1,
        max_size=30,
    )
)
def test_random_rows_never_crash_and_every_bad_row_is_explained(rows):
    res = validate_crashes(table(rows), source_crs="EPSG:4326", today=TODAY)
    assert len(res.rows) == len(rows)
    explained = set(res.report.loc[res.report["level"] == "error", "row"])
    bad = set(res.rows.loc[res.rows["error"], "row"])
    assert bad == explained
    good = res.rows.loc[res.rows["ok"]]
    assert (good["deaths"] >= 0).all() and (good["injured"] >= 0).all()
    assert (
        good["occurred_at"].notna().all() and (good["occurred_at"] < pd.Timestamp(TODAY) + pd.Timedelta(days=1)).all()
    )
    assert (np.isfinite(good["lon"]) & good["lon"].between(102, 110)).all()


def _keys_as_before(rows: pd.DataFrame) -> np.ndarray:
    """The dedup key as earlier versions computed it (stored keys depend on it)."""
    from geo.validate import _minute_text

    basis = pd.DataFrame(
        {
            "t": _minute_text(rows["occurred_at"]),
            "x": rows["lon"].round(5).astype(str),
            "y": rows["lat"].round(5).astype(str),
            "r": rows["road_code"].fillna("").astype(str),
            "c": rows["chainage_m"].round(0).astype(str),
            "d": rows["deaths"].astype(str),
            "i": rows["injured"].astype(str),
            "s": rows["source_id"].astype(str),
        }
    )
    h = pd.util.hash_pandas_object(basis, index=False).to_numpy(dtype=np.uint64)
    return np.char.mod("%016x", h).astype(object)


@hsettings(max_examples=30, deadline=None)
@given(n=st.sampled_from([1, 7, 999, 1000, 1001, 2500]), seed=st.integers(0, 2**31 - 1), repeat=st.booleans())
def test_dedup_keys_are_those_of_earlier_versions(n, seed, repeat):
    """A re-import must find the crashes an earlier version stored: the faster
    key computation gives exactly the earlier keys (mostly distinct columns and
    repeated ones, blanks, NaN places, short and long parts)."""
    from geo.validate import dedup_keys

    rng = np.random.default_rng(seed)
    k = 3 if repeat else n
    rows = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime("2019-01-01")
            + pd.to_timedelta(rng.integers(0, 10**8, n) % (k * 3600), unit="s"),
            "lon": np.where(rng.random(n) < 0.2, np.nan, 105 + rng.integers(0, k, n) * 1e-3 + rng.random(n) * 1e-7),
            "lat": rng.uniform(8, 23, n),
            "road_code": rng.choice(np.array(["QL24", "ĐT.673", None], dtype=object), n),
            "chainage_m": np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0, 2e5, n)),
            "deaths": rng.integers(0, 4, n),
            "injured": rng.integers(0, 9, n),
            "source_id": np.array([f"V{i % k}" if i % 5 else "" for i in range(n)], dtype=object),
        }
    )
    rows.loc[rows.index[::11], "occurred_at"] = pd.NaT
    assert dedup_keys(rows).tolist() == _keys_as_before(rows).tolist()


def test_group_keys_number_references_in_order_of_first_appearance_blanks_alone():
    """The array arithmetic of ``group_keys`` against the obvious loop, on random references."""
    from geo.casualties import group_keys

    rng = np.random.default_rng(0)
    for _ in range(300):
        ids = pd.Series(rng.choice(["", "V1", "V2", " V1", "V3 ", "x"], rng.integers(0, 40)), dtype=object)
        # the loop: a running counter, blanks each their own number
        want, seen, nxt = [], {}, 0
        for v in ids.str.strip():
            if v == "" or v not in seen:
                if v:
                    seen[v] = nxt
                want.append(nxt)
                nxt += 1
            else:
                want.append(seen[v])
        assert group_keys(ids).tolist() == want


def test_characters_that_show_nothing_around_a_number_are_dropped_and_named_when_refused():
    """Counts and coordinates pasted from a chat or a web page carry zero-width spaces and byte order marks: the
    cell looks like "1" and was refused as "not a number", showing "1". Around the number they are dropped;
    inside it the cell is refused and the report names them, so the planner sees why."""
    res = validate_crashes(
        table(
            [
                row(**{"Số người chết": "1\u200b", "Số người bị thương": "\ufeff2 ", "Kinh độ": "107.95\u2060"}),
                row(**{"Số người bị thương": "1\u200b2"}),
            ]
        ),
        today=TODAY,
    )
    assert res.n_valid == 1 and res.n_errors == 1
    assert res.rows.loc[0, ["deaths", "injured", "lon"]].tolist() == [1, 2, 107.95]
    bad = res.report.loc[res.report["level"] == "error"]
    assert bad["row"].tolist() == [3] and bad["value"].tolist() == ["1⟨U+200B⟩2"]
