"""The date order of a file read in parts is decided from
:func:`geo.dates.order_proofs`, read before the parts: it must count the
proofs exactly as :func:`geo.dates.parse_date_column` does on the whole column."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings as hsettings, strategies as st

from geo.dates import FileDateOrder, order_proofs, parse_date_column

part = st.integers(min_value=0, max_value=39)
d_m_y = st.builds(
    lambda a, b, sep, y, t, pad: (f"{a:02d}" if pad else str(a)) + sep + (f"{b:02d}" if pad else str(b)) + sep + y + t,
    part,
    part,
    st.sampled_from("/.-"),
    st.sampled_from(["2024", "24", "1999", "202"]),
    st.sampled_from(["", " 13:28", " 7h05", " 13 giờ 28"]),
    st.booleans(),
)
other = st.sampled_from(
    ["", "45534", "2024-05-13", "2024-13-05 10:00", "ngày 5 tháng 3 năm 2024", "x", " 05 / 13 / 2024", "13/05"]
)


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(d_m_y, d_m_y, other), min_size=1, max_size=40))
def test_order_proofs_count_what_the_parser_counts(values):
    s = pd.Series(values)
    dc = parse_date_column(s)
    assert order_proofs(s) == (dc.n_dmy, dc.n_mdy, dc.first_dmy, dc.first_mdy)
    # and the order decided from the counts is the one the parser uses on the whole column
    decided = FileDateOrder.decide(n_dmy=dc.n_dmy, n_mdy=dc.n_mdy, first_dmy=dc.first_dmy, first_mdy=dc.first_mdy)
    assert (decided.order, decided.proof) == (dc.order, dc.proof)


fixed_text = st.builds(
    lambda y, mo, d, h, mi, sec, kind, sep, with_time, with_sec: (
        (f"{y:04d}-{mo:02d}-{d:02d}" if kind == "iso" else f"{d:02d}{sep}{mo:02d}{sep}{y:04d}")
        + (
            (" " if kind != "iso" or sep == "/" else "T") + f"{h:02d}:{mi:02d}" + (f":{sec:02d}" if with_sec else "")
            if with_time
            else ""
        )
    ),
    st.integers(1000, 2999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(["iso", "dm"]),
    st.sampled_from("/-."),
    st.booleans(),
    st.booleans(),
)


@hsettings(max_examples=300, deadline=None)
@given(st.lists(fixed_text, min_size=1, max_size=20))
def test_fixed_layouts_read_by_arithmetic_as_the_parser_reads_them(values):
    """The array-arithmetic path gives what pandas' own parsing of each layout gives."""
    import numpy as np

    from geo.dates import _fixed

    d, m, i, dm, iso = _fixed(np.array(values, dtype=object))
    for k, v in enumerate(values):
        if not (iso[k] or dm[k]):
            continue  # left to the parser's other paths
        if iso[k]:
            fmts = [("%Y-%m-%d" + t, i) for t in ("", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S")]
        else:
            sep = v[2]
            fmts = [(f"%d{sep}%m{sep}%Y" + t, d) for t in ("", " %H:%M", " %H:%M:%S")]
            fmts += [(f"%m{sep}%d{sep}%Y" + t, m) for t in ("", " %H:%M", " %H:%M:%S")]
        for fmt, got in fmts:
            if len(fmt.replace("%Y", "yyyy").replace("%", "")) != len(v):
                continue
            want = pd.to_datetime(pd.Series([v]), format=fmt, errors="coerce").iloc[0]
            if (fmt.count(":") == v.count(":")) and (("T" in fmt) == ("T" in v)):
                assert (pd.isna(want) and np.isnat(got[k])) or pd.Timestamp(got[k]) == want, (v, fmt, got[k], want)


def test_times_that_are_not_numbers_read_as_no_time():
    """'inf', 'nan', '-inf' in a time column are no time, not a crash of the import (found by the fuzz test)."""
    from geo.dates import parse_times

    got = parse_times(pd.Series(["inf", "nan", "-Infinity", "13h28", "0,5"]))
    assert np.isnan(got.iloc[:3]).all() and got.iloc[3] == 13 * 60 + 28 and got.iloc[4] == 12 * 60
