"""Dates and times as crash files write them, the order of day and month never
guessed silently.

Stage 4 of the crash import (parse values). Accepted: ``05/02/2024``,
``5-2-24``, ``05.02.2024``, ISO ``2024-02-05``, with a time before or after
(``13:28``, ``13h28``, ``13 giờ 28``), "ngày 05 tháng 02 năm 2024", Excel date
serials (``45534``, ``45534.5625``) and date cells (read as ISO text). Times
alone: ``13:28``, ``13h28``, ``13 giờ 28 phút``, ``1840`` (HHMM), ``9h``, Excel
time fractions (``0.5625``).

The order of day and month is decided per column: a part above 12 proves it
(``25/03/2024`` is day first, ``03/25/2024`` month first) and the proven order
holds for the whole column; with no proof the Vietnamese order (day first) is
used and the result says so; values that contradict the proven order are
errors. Work is done once per distinct text.

>>> r = parse_date_column(pd.Series(["05/02/2024", "25/03/2024 13h28", "45534", "2024-02-05 14:30", "31/02/2024"]))
>>> r.order, r.proof
('dmy', 'proven')
>>> [str(v) for v in r.values]
['2024-02-05 00:00:00', '2024-03-25 13:28:00', '2024-08-30 00:00:00', '2024-02-05 14:30:00', 'NaT']
>>> r2 = parse_date_column(pd.Series(["02/05/2024", "03/25/2024"]))
>>> r2.order, [str(v.date()) for v in r2.values]
('mdy', ['2024-02-05', '2024-03-25'])
>>> parse_date_column(pd.Series(["02/05/2024"])).proof
'assumed'
>>> parse_times(pd.Series(["13 giờ 28", "13h28", "1840", "9h", "0.5625", "25:00", "", "8:15 CH", "8 giờ tối"])).tolist()
[808.0, 808.0, 1120.0, 540.0, 810.0, nan, nan, 1215.0, 1200.0]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from geo.text import trimmed

ORDERS = ("dmy", "mdy", "ymd")
_EXCEL_EPOCH = datetime(1899, 12, 30)
#: Excel serials accepted as dates: 1 Jan 1975 to 31 Dec 2099.
_SERIAL_MIN, _SERIAL_MAX = 27395, 73415

_DATE = re.compile(r"(?<!\d)(\d{1,4})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{2,4})(?!\d)")
_WORDS = re.compile(r"ng[àa]y\s*(\d{1,2})\s*th[áa]ng\s*(\d{1,2})\s*n[ăa]m\s*(\d{4})", re.I)
_TIME = re.compile(
    r"(?<![\d/.\-])(\d{1,2})\s*(?:giờ|gio|:|h|g)\s*(\d{1,2})?(?:\s*(?::|'|phút|phut|p)\s*(\d{1,2}))?", re.I
)
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")


@dataclass
class DateColumn:
    """Dates of a column.

    Attributes
    ----------
    values
        Timestamps (NaT where unreadable or contradicting the order).
    order
        ``dmy``, ``mdy`` or ``ymd``: the order used for d/m/y texts.
    proof
        ``given`` (by the user), ``proven`` (a part above 12 in the column)
        or ``assumed`` (no proof: day first, the Vietnamese order).
    contradicts
        Rows whose text proves the other order (errors).
    has_time
        Rows whose text carried a time of day.
    first_proof
        Position of the first value that proved the order (or -1).
    n_dmy, n_mdy, first_dmy, first_mdy
        How many values prove day first / month first, and the position of
        the first of each (or -1): a file read in parts adds them up.
    """

    values: pd.Series
    order: str
    proof: str
    contradicts: np.ndarray
    has_time: np.ndarray
    first_proof: int = -1
    n_dmy: int = 0
    n_mdy: int = 0
    first_dmy: int = -1
    first_mdy: int = -1


_PROOF = r"^\s*(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(?:\d{4}|\d{2})(?!\d)"


def order_proofs(values: pd.Series) -> tuple[int, int, int, int]:
    """``(n_dmy, n_mdy, first_dmy, first_mdy)`` of a column, as
    :func:`parse_date_column` counts them, without parsing the dates: a
    file read in parts decides its order from these, read first.

    Parameters
    ----------
    values
        The texts of one date column (or of one part of it).

    Returns
    -------
    tuple of int
        ``n_dmy`` and ``n_mdy``, how many values prove day first and month
        first; ``first_dmy`` and ``first_mdy``, the position of the first of
        each (-1 when none).

    Examples
    --------
    >>> order_proofs(pd.Series(["05/02/2024", "25/03/2024 13h28", "03/25/24", "2024-05-13"]))
    (1, 1, 1, 2)
    """
    text = values.astype(str).to_numpy(dtype=object)
    # the fixed layouts as parse_date_column reads them (one of the two orders makes a date); the rest by the pattern
    f_dmy, f_mdy, _, f_dm, _ = _fixed(text)
    fixed = f_dm & (~np.isnat(f_dmy) | ~np.isnat(f_mdy))
    dmy = fixed & ~np.isnat(f_dmy) & np.isnat(f_mdy)
    mdy = fixed & ~np.isnat(f_mdy) & np.isnat(f_dmy)
    rest = ~fixed
    if rest.any():
        parts = pd.Series(text[rest]).str.extract(_PROOF)
        a = pd.to_numeric(parts[0], errors="coerce").to_numpy()
        b = pd.to_numeric(parts[2], errors="coerce").to_numpy()
        dmy[rest] = (a > 12) & (b <= 12)
        mdy[rest] = (b > 12) & (a <= 12)
    return (
        int(dmy.sum()),
        int(mdy.sum()),
        int(np.argmax(dmy)) if dmy.any() else -1,
        int(np.argmax(mdy)) if mdy.any() else -1,
    )


@dataclass(frozen=True)
class FileDateOrder:
    """The date order of a whole file, decided before its parts are read:
    ``order``, how it was decided (``given``, ``proven``, ``assumed``), and the
    row number that proved it (0 when none).

    >>> FileDateOrder.decide(n_dmy=0, n_mdy=3, first_dmy=0, first_mdy=17)
    FileDateOrder(order='mdy', proof='proven', row=17)
    >>> FileDateOrder.decide(n_dmy=0, n_mdy=0, first_dmy=0, first_mdy=0).proof
    'assumed'
    """

    order: str
    proof: str
    row: int = 0

    @classmethod
    def decide(
        cls, *, n_dmy: int, n_mdy: int, first_dmy: int, first_mdy: int, given: str | None = None
    ) -> "FileDateOrder":
        """The order a file's proofs decide: the given order if any, else the
        order more values prove, else day first, assumed.

        Parameters
        ----------
        n_dmy, n_mdy
            How many values of the file prove day first / month first
            (summed over its parts, :func:`order_proofs`).
        first_dmy, first_mdy
            The row of the first value proving each order.
        given
            An order chosen by the user (``dmy``, ``mdy`` or ``ymd``): taken as
            it is, the proofs not looked at.

        Returns
        -------
        FileDateOrder
            Proof ``given``, ``proven`` (day first when the counts tie, with
            the row of its first proof) or ``assumed`` (day first, row 0).

        Examples
        --------
        >>> FileDateOrder.decide(n_dmy=2, n_mdy=0, first_dmy=4, first_mdy=-1)
        FileDateOrder(order='dmy', proof='proven', row=4)
        >>> FileDateOrder.decide(n_dmy=2, n_mdy=0, first_dmy=4, first_mdy=-1, given="mdy")
        FileDateOrder(order='mdy', proof='given', row=0)
        """
        if given is not None:
            return cls(given, "given")
        if n_dmy or n_mdy:
            return cls("dmy", "proven", first_dmy) if n_dmy >= n_mdy else cls("mdy", "proven", first_mdy)
        return cls("dmy", "assumed")


class _Parts(NamedTuple):
    """One date text taken apart: an Excel serial (``kind`` "serial"), a date in
    words (``kind`` "words": ``a``, ``b``, ``c`` are day, month, year) or three
    numbers in an order still to decide (``kind`` "dmy?", as written)."""

    kind: str
    a: str = ""
    b: str = ""
    c: str = ""
    minutes: float | None = None
    serial: float = 0.0


def _parts(text: str) -> _Parts | None:
    """The parts of one text (:class:`_Parts`), None when it holds no date."""
    t = text.strip()
    if not t:
        return None
    if _SERIAL.match(t):
        v = float(t)
        if _SERIAL_MIN <= v <= _SERIAL_MAX:
            return _Parts("serial", serial=v)
        return None
    m = _WORDS.search(t)
    if m:
        rest = t[: m.start()] + " " + t[m.end() :]
        return _Parts("words", m.group(1), m.group(2), m.group(3), _minutes_in(rest))
    m = _DATE.search(t)
    if not m:
        return None
    rest = t[: m.start()] + " " + t[m.end() :]
    return _Parts("dmy?", m.group(1), m.group(3), m.group(4), _minutes_in(rest))


_PM = re.compile(r"(?i)(?<![a-zà-ỹ])(ch|pm|p\.m\.|chiều|chieu|tối|toi)(?![a-zà-ỹ])")
_AM = re.compile(r"(?i)(?<![a-zà-ỹ])(sa|am|a\.m\.|sáng|sang)(?![a-zà-ỹ])")


def _half_day(h: int, text: str) -> int:
    """The hour on a 24-hour clock: "8:15 CH" (chiều), "8 PM", "8 giờ tối" are 20; "12 SA" is 0."""
    if h <= 12 and _PM.search(text) and h != 12:
        return h + 12
    if h == 12 and _AM.search(text):
        return 0
    return h


def _minutes_in(rest: str) -> float | None:
    m = _TIME.search(rest)
    if not m:
        return None
    h, mi, s = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
    if h > 23 or mi > 59 or s > 59:
        return float("nan")
    h = _half_day(h, rest[m.end() : m.end() + 12])
    return h * 60 + mi + s / 60


def _year(text: str) -> int | None:
    y = int(text)
    if len(text) == 2:
        return 2000 + y if y < 70 else 1900 + y
    if len(text) == 4:
        return y
    return None


def _build(y: int, mo: int, d: int, minutes: float | None) -> datetime | None:
    try:
        ts = datetime(y, mo, d)
    except (ValueError, TypeError):
        return None
    if minutes is not None:
        if minutes != minutes:  # NaN: an impossible time
            return None
        ts += timedelta(minutes=minutes)
    return ts


#: Common layouts parsed in one vectorised call per order (day first, month first).
_FAST = ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y")
_ISO = ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d")


def _swap(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _fixed(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Texts of a fixed layout read with array arithmetic, no parsing per row:
    ``dd/mm/yyyy``, ``dd-mm-yyyy``, ``dd.mm.yyyy`` and ISO ``yyyy-mm-dd``,
    each alone or with ``HH:MM`` or ``HH:MM:SS`` after a space (ISO: or a T).
    Returns (day-first values, month-first values, ISO values, rows of a
    d/m layout, rows of the ISO layout); NaT where the date does not exist.

    >>> d, m, i, dm, iso = _fixed(np.array(["05/02/2024 13:28", "31.12.2023", "2024-02-29T08:00:00", "5/2/2024"],
    ...                                    dtype=object))
    >>> [str(x) for x in d[:2]], str(m[0]), str(i[2]), dm.tolist(), iso.tolist()
    (['2024-02-05T13:28:00', '2023-12-31T00:00:00'], '2024-05-02T13:28:00', '2024-02-29T08:00:00', [True, True, False, False], [False, False, True, False])
    """
    n = len(values)
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    none = np.zeros(n, dtype=bool)
    if n == 0:
        return nat, nat.copy(), nat.copy(), none, none.copy()
    try:
        arr = values.astype("U20")
    except (TypeError, ValueError):
        return nat, nat.copy(), nat.copy(), none, none.copy()
    c = arr.view(np.uint32).reshape(n, 20).astype(np.int64)
    length = (c != 0).sum(axis=1)
    dig = (c >= 48) & (c <= 57)
    num = c - 48

    def two(k: int) -> np.ndarray:
        return num[:, k] * 10 + num[:, k + 1]

    timed = (
        ((length == 16) | (length == 19))
        & ((c[:, 10] == 32) | (c[:, 10] == 84))
        & dig[:, 11]
        & dig[:, 12]
        & (c[:, 13] == 58)
        & dig[:, 14]
        & dig[:, 15]
    )
    timed &= (length == 16) | ((c[:, 16] == 58) & dig[:, 17] & dig[:, 18])
    shape_ok = (length == 10) | timed
    hh, mi = np.where(timed, two(11), 0), np.where(timed, two(14), 0)
    ss = np.where(timed & (length == 19), two(17), 0)
    clock_ok = (hh < 24) & (mi < 60) & (ss < 60)
    # d/m/yyyy
    sep = c[:, 2]
    dm = (
        shape_ok
        & dig[:, 0]
        & dig[:, 1]
        & dig[:, 3]
        & dig[:, 4]
        & dig[:, 6]
        & dig[:, 7]
        & dig[:, 8]
        & dig[:, 9]
        & ((sep == 47) | (sep == 45) | (sep == 46))
        & (c[:, 5] == sep)
        & (c[:, 10] != 84)
        & clock_ok
    )
    # yyyy-mm-dd
    iso = (
        shape_ok
        & dig[:, 0]
        & dig[:, 1]
        & dig[:, 2]
        & dig[:, 3]
        & (c[:, 4] == 45)
        & dig[:, 5]
        & dig[:, 6]
        & (c[:, 7] == 45)
        & dig[:, 8]
        & dig[:, 9]
        & clock_ok
    )
    year_dm = num[:, 6] * 1000 + num[:, 7] * 100 + num[:, 8] * 10 + num[:, 9]
    year_iso = num[:, 0] * 1000 + num[:, 1] * 100 + num[:, 2] * 10 + num[:, 3]
    seconds = hh * 3600 + mi * 60 + ss

    def build(y: np.ndarray, mo: np.ndarray, d: np.ndarray, ok: np.ndarray) -> np.ndarray:
        ok = ok & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31) & (y >= 1900) & (y <= 2200)  # others: the parser
        month = np.where(ok, (y - 1970) * 12 + mo - 1, 0).astype("datetime64[M]")
        day = month.astype("datetime64[D]") + np.where(ok, d - 1, 0).astype("timedelta64[D]")
        ok &= day.astype("datetime64[M]") == month  # 31/02 does not exist
        out = day.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
        return np.where(ok, out, np.datetime64("NaT"))

    a, b = two(0), two(3)
    return (build(year_dm, b, a, dm), build(year_dm, a, b, dm), build(year_iso, two(5), two(8), iso), dm, iso)


def _fast(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, np.ndarray]:
    """Vectorised parse of the common layouts: (day-first values, month-first
    values, ISO values, rows handled)."""
    n = len(s)
    dmy = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    mdy = dmy.copy()
    iso = dmy.copy()
    done = np.zeros(n, dtype=bool)
    todo = s.ne("").to_numpy()
    # fixed layouts with array arithmetic first
    f_dmy, f_mdy, f_iso, f_dm, f_is = _fixed(s.to_numpy(dtype=object))
    f_dm &= ~np.isnat(f_dmy) | ~np.isnat(f_mdy)
    f_is &= ~np.isnat(f_iso)
    dmy.iloc[f_dm] = f_dmy[f_dm]
    mdy.iloc[f_dm] = f_mdy[f_dm]
    iso.iloc[f_is] = f_iso[f_is]
    done |= f_dm | f_is
    todo &= ~done
    # try first the layouts a sample of the column uses (each try costs a pass over the rest)
    sample = s[todo].head(300)
    rank = {f: int(pd.to_datetime(sample, format=f, errors="coerce").notna().sum()) for f in _ISO + _FAST}
    seen = [f for f in _ISO + _FAST if rank[f] or rank.get(_swap(f), 0)]
    seen.sort(key=lambda f: -max(rank[f], rank.get(_swap(f), 0)))
    if len(sample) < todo.sum():  # layouts absent from the sample may still occur further down: try them last
        seen += [f for f in _ISO + _FAST if f not in seen]
    for fmt in seen:
        if not todo.any():
            break
        sub = s[todo]
        a = pd.to_datetime(sub, format=fmt, errors="coerce")
        if fmt in _ISO:
            ok = a.notna().to_numpy()
            idx = np.flatnonzero(todo)[ok]
            iso.iloc[idx] = a[ok].to_numpy()
        else:
            b = pd.to_datetime(sub, format=_swap(fmt), errors="coerce")
            ok = (a.notna() | b.notna()).to_numpy()
            idx = np.flatnonzero(todo)[ok]
            dmy.iloc[idx] = a[ok].to_numpy()
            mdy.iloc[idx] = b[ok].to_numpy()
        done[idx] = True
        todo[idx] = False
    return dmy, mdy, iso, done


def parse_date_column(values: pd.Series, *, order: str | None = None) -> DateColumn:
    """Parse a column of dates (see the module's text). ``order`` forces
    ``dmy``, ``mdy`` or ``ymd`` for the d/m/y texts.

    Parameters
    ----------
    values
        The cells of one date column: texts, Excel serials or dates.
    order
        ``dmy``, ``mdy`` or ``ymd`` to force the order of d/m/y texts (proof
        ``given``); ``None`` to decide it from the column (proven, or day
        first assumed).

    Returns
    -------
    DateColumn
        The timestamps on the column's index, the order used, how it was
        decided, and the rows that contradict it.

    Raises
    ------
    ValueError
        If ``order`` is not one of :data:`ORDERS`.

    Examples
    --------
    >>> r = parse_date_column(pd.Series(["03/25/2024", "02/05/2024"]), order="dmy")
    >>> r.order, r.proof, [str(v) for v in r.values], r.contradicts.tolist()
    ('dmy', 'given', ['NaT', '2024-05-02 00:00:00'], [True, False])
    """
    if order is not None and order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    # worked once per distinct text (a file of a million crashes holds a few thousand distinct dates), spread
    # back to the rows at the end; the order's proofs are counted over the rows
    row_codes, distinct = pd.factorize(trimmed(values).to_numpy(dtype=object), sort=False)
    s = pd.Series(distinct, dtype=object)
    weight = np.bincount(row_codes, minlength=len(s))
    f_dmy, f_mdy, f_iso, fast = _fast(s)
    has_fast_time = np.zeros(len(s), dtype=bool)
    if fast.any():
        has_fast_time[fast] = s[fast].str.contains(r"\d:\d", regex=True).to_numpy()
    fast_proof_dmy = (f_dmy.notna() & f_mdy.isna()).to_numpy()
    fast_proof_mdy = (f_mdy.notna() & f_dmy.isna()).to_numpy()
    rest = s.where(~fast, "")
    codes, uniques = pd.factorize(rest, sort=False)
    parsed = [_parts(u) for u in uniques]
    # proofs of the order, per distinct text
    proof_dmy = np.zeros(len(uniques), dtype=bool)
    proof_mdy = np.zeros(len(uniques), dtype=bool)
    for k, p in enumerate(parsed):
        if p and p.kind == "dmy?" and len(p.a) <= 2 and len(p.c) in (2, 4):
            n1, n2 = int(p.a), int(p.b)
            proof_dmy[k] = n1 > 12 and n2 <= 12
            proof_mdy[k] = n2 > 12 and n1 <= 12
    take = np.clip(codes, 0, None)
    has = codes >= 0
    slow_dmy = np.where(has, proof_dmy[take], False) if len(uniques) else np.zeros(len(s), dtype=bool)
    slow_mdy = np.where(has, proof_mdy[take], False) if len(uniques) else np.zeros(len(s), dtype=bool)
    row_dmy = fast_proof_dmy | slow_dmy
    row_mdy = fast_proof_mdy | slow_mdy
    n_dmy, n_mdy = int(weight[row_dmy].sum()), int(weight[row_mdy].sum())
    if order is not None:
        used, proof = order, "given"
    elif n_dmy or n_mdy:
        used, proof = ("dmy" if n_dmy >= n_mdy else "mdy"), "proven"
    else:
        used, proof = "dmy", "assumed"
    contra_u = proof_mdy if used == "dmy" else proof_dmy if used == "mdy" else np.zeros(len(uniques), dtype=bool)
    out_u = np.full(len(uniques), None, dtype=object)
    time_u = np.zeros(len(uniques), dtype=bool)
    for k, p in enumerate(parsed):
        if not p or contra_u[k]:
            continue
        if p.kind == "serial":
            out_u[k] = _EXCEL_EPOCH + timedelta(days=p.serial)
            time_u[k] = p.serial != int(p.serial)
            continue
        kind, a, b, c, minutes = p.kind, p.a, p.b, p.c, p.minutes
        if kind == "words":
            out_u[k] = _build(int(c), int(b), int(a), minutes)
        elif len(a) == 4:  # yyyy-mm-dd is never ambiguous
            out_u[k] = _build(int(a), int(b), int(c), minutes) if len(c) <= 2 else None
        elif used == "ymd":
            y = _year(a)
            out_u[k] = _build(y, int(b), int(c), minutes) if y else None
        else:
            y = _year(c)
            d, mo = (int(a), int(b)) if used == "dmy" else (int(b), int(a))
            out_u[k] = _build(y, mo, d, minutes) if y else None
        time_u[k] = minutes is not None and out_u[k] is not None
    ts_u = pd.to_datetime(pd.Series(out_u, dtype=object), errors="coerce")
    slow_vals = np.where(
        has, ts_u.to_numpy()[take] if len(uniques) else np.datetime64("NaT"), np.datetime64("NaT")
    ).astype("datetime64[ns]")
    fast_vals = (f_mdy if used == "mdy" else f_dmy).to_numpy()
    fast_vals = np.where(f_iso.notna().to_numpy(), f_iso.to_numpy(), fast_vals)
    fast_contra = fast_proof_dmy if used == "mdy" else fast_proof_mdy if used == "dmy" else np.zeros(len(s), bool)
    contradicts = np.where(fast, fast_contra, np.where(has, contra_u[take], False) if len(uniques) else False)
    vals = np.where(fast, fast_vals, slow_vals).astype("datetime64[ns]")
    vals[np.asarray(contradicts, dtype=bool)] = np.datetime64("NaT")
    has_time = np.where(fast, has_fast_time, np.where(has, time_u[take], False) if len(uniques) else False)
    first_dmy = int(np.argmax(row_dmy[row_codes])) if n_dmy else -1
    first_mdy = int(np.argmax(row_mdy[row_codes])) if n_mdy else -1
    first = (first_dmy if used == "dmy" else first_mdy) if proof == "proven" else -1
    return DateColumn(
        values=pd.Series(vals[row_codes], index=values.index, dtype="datetime64[ns]"),
        order=used,
        proof=proof,
        contradicts=np.asarray(contradicts, dtype=bool)[row_codes],
        has_time=np.asarray(has_time, dtype=bool)[row_codes],
        first_proof=first,
        n_dmy=n_dmy,
        n_mdy=n_mdy,
        first_dmy=first_dmy,
        first_mdy=first_mdy,
    )


_HHMM = re.compile(r"^(\d{1,2})(\d{2})$")


def _time_of(text: str) -> float:
    t = text.strip().lower()
    if not t:
        return np.nan
    m = _HHMM.match(t)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        return h * 60 + mi if h <= 23 and mi <= 59 else np.nan
    try:
        v = float(t.replace(",", "."))
    except ValueError:
        v = None
    if v is not None:
        if not np.isfinite(v):  # "inf", "nan": no time
            return np.nan
        if 0 <= v < 1:  # an Excel time fraction
            return round(v * 24 * 60, 6)
        if v == int(v) and 0 <= v <= 23:  # an hour alone
            return v * 60
        return np.nan
    m = _TIME.search(t)
    if not m or m.start() > 2:
        return np.nan
    h, mi = int(m.group(1)), int(m.group(2) or 0)
    if h > 23 or mi > 59:
        return np.nan
    return _half_day(h, t[m.end() :]) * 60 + mi


def parse_times(values: pd.Series) -> pd.Series:
    """Minutes after midnight of a column of times (NaN where unreadable or blank).

    Parameters
    ----------
    values
        The cells of one time column (``13:28``, ``13h28``, ``13 giờ 28``,
        ``1840``, ``9h``, an Excel fraction of a day such as ``0.5625``).

    Returns
    -------
    pandas.Series
        Minutes after midnight (float) on the column's index.

    Examples
    --------
    >>> parse_times(pd.Series(["07:30", "", "x"])).tolist()
    [450.0, nan, nan]
    """
    s = trimmed(values)
    codes, uniques = pd.factorize(s, sort=False)
    mins = np.array([_time_of(u) for u in uniques], dtype=float)
    out = np.where(codes >= 0, mins[np.clip(codes, 0, None)] if len(mins) else np.nan, np.nan)
    return pd.Series(out, index=values.index)
