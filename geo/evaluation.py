"""Did it work? Before/after comparison of a remediation work at its site,
with an Empirical Bayes correction for regression to the mean.

A site is a stretch of road (road, from_m, to_m). Crashes in the
``months`` before the work started are compared with those in the same
number of months after it ended. A raw before/after comparison overstates the
effect at black spots: they were chosen *because* they had a bad year, and
a bad year tends to be followed by a more ordinary one (regression to the
mean). The Empirical Bayes (EB) method (Hauer 1997) corrects it: the expected
count without the work is a weighted mean of the site's own before count and
the mean of a reference group of similar sites (all road segments of the same
length in the store), the weight coming from how much counts vary between
sites (negative binomial overdispersion by the method of moments). The
expected count is then scaled by the general trend in the reference group
(comparison group: after/before ratio of all crashes off the site), and the
index of effectiveness is observed after ÷ expected after (below 1: fewer
crashes than expected without the work).

>>> eb_weight(mean=0.5, alpha=2.0)
0.5
>>> round(eb_expected(before=6, mean=0.5, alpha=2.0), 2)
3.25
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

EB_EXPLANATION_VI = (
    "Hiệu chỉnh hồi quy về giá trị trung bình (phương pháp Bayes thực nghiệm): điểm đen được chọn vì có một năm "
    "nhiều tai nạn, nên năm sau thường ít hơn dù không làm gì. Số vụ dự kiến nếu không có công trình được tính "
    "bằng trung bình có trọng số giữa số vụ trước đây của chính điểm đó và số vụ trung bình của các đoạn đường "
    "cùng chiều dài trong kho (nhóm tham chiếu), trọng số theo độ phân tán giữa các đoạn; sau đó nhân với xu "
    "hướng chung (tỷ lệ sau/trước của tất cả các vụ ngoài điểm). Chỉ số hiệu quả = số vụ thực tế sau ÷ số vụ dự "
    "kiến; nhỏ hơn 1 nghĩa là công trình có tác dụng."
)
EB_EXPLANATION_EN = (
    "Regression-to-the-mean correction (Empirical Bayes): a black spot is chosen because it had a bad year, so the "
    "next year tends to be better even if nothing is done. The expected count without the work is a weighted mean "
    "of the site's own before count and the mean count of all road segments of the same length in the store (the "
    "reference group), weighted by how much counts vary between segments; it is then scaled by the general trend "
    "(after/before ratio of all crashes off the site). Index of effectiveness = observed after ÷ expected; below 1 "
    "means the work helped."
)


def eb_weight(*, mean: float, alpha: float) -> float:
    """Weight of the reference mean: ``1 / (1 + alpha * mean)``.

    Parameters
    ----------
    mean
        Mean count of the reference group.
    alpha
        Its negative-binomial overdispersion (:func:`overdispersion`).

    Returns
    -------
    float
        Between 0 and 1 (1 when the counts do not vary more than Poisson).

    Examples
    --------
    >>> eb_weight(mean=0.5, alpha=2.0)
    0.5
    """
    return 1.0 / (1.0 + alpha * mean)


def eb_expected(*, before: float, mean: float, alpha: float) -> float:
    """Empirical Bayes estimate of a site's expected count in the before period.

    Parameters
    ----------
    before
        The site's own count in the before period.
    mean, alpha
        Mean and overdispersion of the reference group (:func:`overdispersion`).

    Returns
    -------
    float
        ``w * mean + (1 - w) * before``, ``w`` from :func:`eb_weight`.

    Examples
    --------
    >>> round(eb_expected(before=6, mean=0.5, alpha=2.0), 2)
    3.25
    """
    w = eb_weight(mean=mean, alpha=alpha)
    return w * mean + (1.0 - w) * before


def overdispersion(counts: npt.ArrayLike) -> tuple[float, float]:
    """Mean and negative-binomial overdispersion (Var = m + alpha m^2) of counts,
    by the method of moments.

    Parameters
    ----------
    counts
        Crash counts of the reference segments.

    Returns
    -------
    tuple of float
        ``(mean, alpha)``; alpha is 0 for fewer than two counts, a zero mean,
        or counts that vary less than Poisson.

    Examples
    --------
    >>> overdispersion([0, 0, 0, 4])
    (1.0, 2.0)
    """
    c = np.asarray(counts, dtype=float)
    m = float(c.mean()) if len(c) else 0.0
    if m <= 0 or len(c) < 2:
        return m, 0.0
    v = float(c.var(ddof=0))
    return m, max((v - m) / (m * m), 0.0)


def segment_counts(
    road_idx: npt.ArrayLike,
    chainage_m: npt.ArrayLike,
    *,
    road_start: npt.ArrayLike,
    road_length: npt.ArrayLike,
    segment_m: float,
) -> np.ndarray:
    """Crash counts of every ``segment_m`` segment of every road (zeros included).

    Parameters
    ----------
    road_idx
        Each crash's road, as an index into ``road_start`` / ``road_length``
        (negative: on no road, left out).
    chainage_m
        Each crash's chainage in metres (NaN: left out).
    road_start, road_length
        Each road's first chainage and length in metres.
    segment_m
        The segment length in metres.

    Returns
    -------
    numpy.ndarray
        One count per segment, road after road (a road has at least one segment;
        a crash beyond its road's end counts in the last segment).

    Examples
    --------
    >>> segment_counts([0, 0, 1, -1], [50.0, 250.0, 10.0, 0.0], road_start=[0.0, 0.0], road_length=[300.0, 100.0],
    ...                segment_m=200.0).tolist()
    [1, 1, 1]
    """
    ri = np.asarray(road_idx, dtype=int)
    ch = np.asarray(chainage_m, dtype=float)
    start = np.asarray(road_start, dtype=float)
    nseg = np.maximum(np.ceil(np.asarray(road_length, dtype=float) / segment_m).astype(int), 1)
    offset = np.r_[0, np.cumsum(nseg)[:-1]]
    ok = (ri >= 0) & np.isfinite(ch)
    k = np.clip(((ch[ok] - start[ri[ok]]) // segment_m).astype(int), 0, nseg[ri[ok]] - 1)
    return np.bincount(offset[ri[ok]] + k, minlength=int(nseg.sum()))


@dataclass
class BeforeAfter:
    """Result of a before/after comparison at one site."""

    before_from: pd.Timestamp
    before_to: pd.Timestamp
    after_from: pd.Timestamp
    after_to: pd.Timestamp
    before: dict[str, int]
    after: dict[str, int]
    change_pct: dict[str, float | None]
    after_months_observed: float
    after_complete: bool
    note: str = ""
    eb_expected_after: float | None = None
    eb_index: float | None = None
    trend_ratio: float | None = None
    reference_mean: float | None = None
    reference_alpha: float | None = None
    details: dict[str, object] = field(default_factory=dict)


def _sums(df: pd.DataFrame) -> dict[str, int]:
    return {"crashes": int(len(df)), "deaths": int(df["deaths"].sum()), "injured": int(df["injured"].sum())}


def before_after(
    crashes: pd.DataFrame,
    *,
    road: str,
    from_m: float,
    to_m: float,
    work_start: date | str,
    work_end: date | str,
    months: int = 12,
    today: date | str | None = None,
    pad_m: float = 0.0,
    reference: np.ndarray | None = None,
) -> BeforeAfter:
    """Compare crashes at a site in the ``months`` before ``work_start`` and
    after ``work_end``.

    When the after period has not fully elapsed by ``today`` the counts are
    shown as they are and ``after_complete`` is False with a note.

    Parameters
    ----------
    crashes
        Columns road, chainage_m, occurred_at, deaths, injured.
    road, from_m, to_m
        The site: a road and a stretch of it in metres (either order).
    work_start, work_end
        When the work started and ended.
    months
        Length of each period in months.
    today
        The day the after period is observed to (default: today).
    pad_m
        Metres added at each end of the stretch.
    reference
        Crash counts of the reference segments in the before period (see
        :func:`segment_counts`): enables the Empirical Bayes correction.

    Returns
    -------
    BeforeAfter
        The periods, counts and changes, and the EB figures when ``reference``
        is given.

    Examples
    --------
    >>> crashes = pd.DataFrame({"road": ["QL24"] * 3, "chainage_m": [100.0, 150.0, 120.0],
    ...                         "occurred_at": ["2023-03-01", "2023-06-01", "2024-06-01"],
    ...                         "deaths": [1, 0, 0], "injured": [0, 2, 1]})
    >>> r = before_after(crashes, road="QL24", from_m=0, to_m=200, work_start="2023-12-01",
    ...                  work_end="2023-12-31", today="2025-06-01")
    >>> r.before, r.after, r.change_pct["crashes"], r.after_complete
    ({'crashes': 2, 'deaths': 1, 'injured': 2}, {'crashes': 1, 'deaths': 0, 'injured': 1}, -50.0, True)
    """
    today = pd.Timestamp(today or pd.Timestamp.today().normalize())
    ws, we = pd.Timestamp(work_start), pd.Timestamp(work_end)
    b_from, b_to = ws - pd.DateOffset(months=months), ws
    a_from, a_to = we + pd.Timedelta(days=1), we + pd.Timedelta(days=1) + pd.DateOffset(months=months)
    t = pd.to_datetime(crashes["occurred_at"])
    lo, hi = min(from_m, to_m) - pad_m, max(from_m, to_m) + pad_m
    at_site = (crashes["road"].astype(str) == str(road)) & crashes["chainage_m"].between(lo, hi)
    before_m = (t >= b_from) & (t < b_to)
    after_m = (t >= a_from) & (t < a_to)
    before, after = _sums(crashes[at_site & before_m]), _sums(crashes[at_site & after_m])
    observed_end = min(a_to, today)
    months_obs = max((observed_end - a_from).days, 0) / 30.4375
    complete = today >= a_to
    note = ""
    if not complete:
        note = (
            f"Thời gian sau mới {months_obs:.1f}/{months} tháng; kết quả chưa đủ tin cậy / After period only "
            f"{months_obs:.1f} of {months} months; too short to judge"
        )
    change = {k: (None if before[k] == 0 else round(100.0 * (after[k] - before[k]) / before[k], 1)) for k in before}
    res = BeforeAfter(
        before_from=b_from,
        before_to=b_to,
        after_from=a_from,
        after_to=a_to,
        before=before,
        after=after,
        change_pct=change,
        after_months_observed=round(months_obs, 1),
        after_complete=complete,
        note=note,
    )
    if reference is not None and len(reference) > 1:
        m, alpha = overdispersion(reference)
        off_before = int((~at_site & before_m).sum())
        off_after = int((~at_site & after_m).sum())
        # off-site crashes after / before: the general trend, and (when the after
        # period is still running) the share of it observed so far
        trend = (off_after / off_before) if off_before else 1.0
        exp_before = eb_expected(before=before["crashes"], mean=m, alpha=alpha)
        res.eb_expected_after = round(exp_before * trend, 2)
        res.eb_index = round(after["crashes"] / res.eb_expected_after, 2) if res.eb_expected_after > 0 else None
        res.trend_ratio = round(trend, 3)
        res.reference_mean, res.reference_alpha = round(m, 3), round(alpha, 3)
    return res
