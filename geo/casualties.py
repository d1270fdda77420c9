"""One row per casualty (or per vehicle) grouped into one crash.

Stage 5 of the crash import (group casualty rows into crashes). Police
statistics often list a crash once per victim or per vehicle under the same
reference (Mã vụ, Số vụ, Reference Number). Rows sharing a reference are one
crash when the file has casualty- or vehicle-level columns (a severity per
victim, a name, an age, a vehicle); a per-casualty severity ("Chết", "Tử
vong", "Bị thương nặng/nhẹ", "Fatal", "Serious", "Slight") becomes the crash's
deaths and injured; count columns are summed only where they differ between
the rows of a crash (per casualty), else taken once. Crash-level facts (date,
place) must agree; rows that disagree are errors.

>>> sev = pd.Series(["Chết", "Bị thương nặng", "Slight", "không bị thương", "xyz"])
>>> casualty_counts(sev)
(array([1, 0, 0, 0, 0]), array([0, 1, 1, 0, 0]), array([False, False, False, False,  True]))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.columns import normalise_header
from geo.text import trimmed

_FATAL = ("chet", "tu_vong", "fatal", "killed", "died", "death", "dead", "t_vong")
_INJURED = ("bi_thuong", "thuong", "serious", "slight", "injured", "injury", "nang", "nhe", "minor", "ksi")
_NONE = ("khong_bi_thuong", "khong_thuong", "khong", "uninjured", "none", "no_injury", "0")


def _class(text: str) -> int:
    """2 fatal, 1 injured, 0 unhurt, -1 unreadable, -2 blank."""
    n = normalise_header(text)
    if not n:
        return -2
    if any(n == w or n.startswith(w + "_") for w in _NONE):
        return 0
    if any(w in n for w in _FATAL):
        return 2
    if any(w in n for w in _INJURED):
        return 1
    return -1


def casualty_counts(severity: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: deaths 0/1, injured 0/1 and an unreadable mask of a
    per-casualty severity column. Blank cells count as nothing.

    Parameters
    ----------
    severity
        One victim's severity per row ("Chết", "Bị thương nặng", "Slight", …).

    Returns
    -------
    tuple of numpy.ndarray
        ``deaths`` (0/1), ``injured`` (0/1) and ``unreadable`` (bool) per row.

    Examples
    --------
    >>> d, i, bad = casualty_counts(pd.Series(["Tử vong", "", "nhẹ"]))
    >>> d.tolist(), i.tolist(), bad.tolist()
    ([1, 0, 0], [0, 0, 1], [False, False, False])
    """
    s = trimmed(severity)
    codes, uniques = pd.factorize(s, sort=False)
    cls_u = np.array([_class(u) for u in uniques], dtype=int) if len(uniques) else np.zeros(0, dtype=int)
    cls = np.where(codes >= 0, cls_u[np.clip(codes, 0, None)] if len(uniques) else -2, -2)
    return (cls == 2).astype(int), (cls == 1).astype(int), cls == -1


def group_keys(ids: pd.Series) -> np.ndarray:
    """A group number per row: rows with the same non-blank reference share
    one; a row without a reference is its own group.

    Parameters
    ----------
    ids
        The crash reference of each row (Mã vụ).

    Returns
    -------
    numpy.ndarray of int64
        Group numbers from 0, in order of first appearance.

    Examples
    --------
    >>> group_keys(pd.Series(["A1", "", "A1", "B2", ""])).tolist()
    [0, 1, 0, 2, 3]
    """
    s = trimmed(ids)
    blank = s.eq("").to_numpy()
    codes, _ = pd.factorize(s.where(~blank, None), sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) == 0:
        return np.empty(0, dtype=np.int64)
    # groups numbered in order of first appearance, blanks each their own: factorize numbers the references
    # in order of first appearance, so a reference starts a group where its code exceeds every code before
    first_seen = codes > np.maximum.accumulate(np.r_[-1, codes[:-1]])
    starts = blank | first_seen
    number = np.cumsum(starts) - 1
    of_code = np.zeros(max(int(codes.max()) + 1, 1), dtype=np.int64)
    of_code[codes[first_seen]] = number[first_seen]
    return np.where(blank, number, of_code[np.clip(codes, 0, None)]).astype(np.int64)


def sum_or_once(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the sum of ``values`` when they differ within the group (per
    casualty), else the value once (repeated per crash); and whether it was summed.

    Parameters
    ----------
    values
        A count per row (NaN counts as 0).
    groups
        The group number of each row (:func:`group_keys`).

    Returns
    -------
    tuple of numpy.ndarray
        The value per group (float) and whether it was summed (bool).

    Examples
    --------
    >>> sum_or_once(np.array([1, 1, 0, 2]), np.array([0, 0, 1, 1]))
    (array([1., 2.]), array([False,  True]))
    """
    v = np.asarray(values, dtype=float)
    n = int(groups.max()) + 1 if len(groups) else 0
    total = np.bincount(groups, weights=np.nan_to_num(v), minlength=n)
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    np.minimum.at(lo, groups, np.nan_to_num(v))
    np.maximum.at(hi, groups, np.nan_to_num(v))
    differ = hi > lo
    first = np.full(n, np.nan)
    idx = np.unique(groups, return_index=True)[1]
    first[groups[idx]] = np.nan_to_num(v[idx])
    return np.where(differ, total, first), differ


def disagreeing(values: pd.Series, groups: np.ndarray) -> np.ndarray:
    """Rows whose value differs from the first non-blank value of their group.

    Parameters
    ----------
    values
        A crash-level fact per row (date, place), compared as trimmed text.
    groups
        The group number of each row (:func:`group_keys`).

    Returns
    -------
    numpy.ndarray of bool
        One flag per row; blank values never disagree.

    Examples
    --------
    >>> disagreeing(pd.Series(["1/2", "1/2 ", "3/2", ""]), np.array([0, 0, 0, 0])).tolist()
    [False, False, True, False]
    """
    s = trimmed(values)
    first = s.where(s.ne("")).groupby(groups).transform("first").fillna("")
    return (s.ne("") & first.ne("") & s.ne(first)).to_numpy()
