"""Validation of imported tables, row by row but vectorised: every problem is a
line of the report (row, field, value, reason); nothing is half-imported.

Rows are numbered as the user sees them in Excel: the header is row 1, the
first data row is row 2.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from errors import CRSError, InputFileError
from geo import crs as _crs
from geo.io import RawTable
from geo.chainage import RoadNetwork, dots_group_thousands, normalise_road_code, parse_chainage_series
from geo.casualties import casualty_counts, disagreeing, group_keys, sum_or_once
from geo.columns import CASUALTY_MARKERS, auto_map, normalise_header, require_crash_fields
from geo.dates import FileDateOrder, parse_date_column, parse_times
from geo.location import parse_locations
from geo.severity import classify
from geo.text import per_text, repeats_enough

#: Longitude/latitude box of mainland Viet Nam and its near islands
#: (Phú Quốc, Côn Đảo, Thổ Chu); crashes outside it are rejected on import
#: unless the import is given other bounds.
VIETNAM_BOUNDS = (102.1, 8.3, 109.7, 23.4)
#: A crash with coordinates gets a road and chainage when it lies within this
#: distance (metres) of a road (the app passes ``settings.SNAP_DISTANCE_M``).
SNAP_DISTANCE_M = 50.0

ERROR = "error"
WARNING = "warning"
SKIPPED = "skipped"

_NOT_PLAIN = re.compile(r"[^\d\s.,+\-]")
#: characters that show nothing (zero-width space and joiners, word joiner, byte order mark, soft hyphen):
#: pasted from the web or a chat they ride along at a cell's ends, and the cell looks like its number
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_INVISIBLE_RE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_ORDER_WORDS = {
    "dmy": ("ngày/tháng/năm", "day/month/year"),
    "mdy": ("tháng/ngày/năm", "month/day/year"),
    "ymd": ("năm/tháng/ngày", "year/month/day"),
}

REPORT_COLUMNS = ["row", "field", "value", "reason", "level"]
#: What a read says when a chainage column writes its metres with dots between thousands
THOUSANDS_NOTE = (
    "Lý trình ghi dấu chấm phân cách hàng nghìn: 142.372 là 142 372 m / Chainage written with dots between "
    "thousands: 142.372 is 142 372 m"
)


def proven_order_note(order: str, row: int) -> str:
    """What a read says when row ``row`` proves the file's date ``order`` (``dmy``, ``mdy``, ``ymd``)."""
    words = _ORDER_WORDS[order]
    return (
        f"Thứ tự ngày của tệp: {words[0]} (dòng {row} có phần lớn hơn 12) / The file's "
        f"date order: {words[1]} (row {row} proves it)"
    )


#: The reason of a row that repeats an earlier row of the same file.
DUPLICATE_IN_FILE = "Trùng với dòng trước trong tệp; bỏ qua / Duplicate of an earlier row in the file; skipped"


#: The last whole day a pandas timestamp can hold (it ends at 2262-04-11 23:47).
_LAST_DAY = pd.Timestamp.max.normalize()

_TRUE = {"1", "x", "co", "có", "yes", "y", "true", "đúng", "dung", "c"}
_FALSE = {"", "0", "khong", "không", "no", "n", "false", "sai", "k"}

#: Columns of a validated crash table, in order.
CRASH_COLUMNS = [
    "row",
    "source_id",
    "occurred_at",
    "lon",
    "lat",
    "road_code",
    "road_idx",
    "chainage_m",
    "located_by",
    "commune",
    "deaths",
    "injured",
    "injury_pct",
    "damage_vnd",
    "vehicle_types",
    "alcohol",
    "not_infrastructure",
    "description",
    "cause",
    "severity",
    "dedup_key",
]


@dataclass
class ValidationResult:
    """Result of validating a crash table.

    Attributes
    ----------
    rows
        Every row, normalised, with ``ok`` False where the row has an error.
    report
        One line per problem: row, field, value, reason, level.
    mapping
        The column mapping used.
    crs
        The source CRS used for the coordinates.
    """

    rows: pd.DataFrame
    report: pd.DataFrame
    mapping: dict[str, str]
    crs: str | None = None
    notes: list[str] = field(default_factory=list)
    n_file_rows: int | None = None

    @property
    def valid(self) -> pd.DataFrame:
        """The crashes without an error (``ok`` true): the rows an import writes."""
        return self.rows.loc[self.rows["ok"]]

    @property
    def n_rows(self) -> int:
        """Data rows of the file (several rows of one crash count each)."""
        return self.n_file_rows if self.n_file_rows is not None else len(self.rows)

    @property
    def n_crashes(self) -> int:
        """Crashes the rows make (rows of one crash grouped)."""
        return len(self.rows)

    @property
    def n_valid(self) -> int:
        """Crashes without an error (the rows of :attr:`valid`)."""
        return int(self.rows["ok"].sum())

    @property
    def n_errors(self) -> int:
        """Crashes with at least one error (duplicates within the file are not errors)."""
        return int(self.rows["error"].sum())

    @property
    def errors(self) -> pd.DataFrame:
        """The report's lines of level ``error``."""
        return self.report.loc[self.report["level"] == ERROR]


_DMY_START = re.compile(r"^\s*\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]")


class _Report:
    def __init__(self, row_numbers: np.ndarray):
        self.row_numbers = row_numbers
        self.parts: list[pd.DataFrame] = []
        self.bad = np.zeros(len(row_numbers), dtype=bool)

    def add(
        self,
        mask: npt.ArrayLike,
        fld: str,
        values: npt.ArrayLike | Callable[[], npt.ArrayLike],
        reason: str,
        level: str = ERROR,
    ) -> None:
        """Report the rows of ``mask``; ``values`` (the cells shown) may be a
        function, called only when some row is reported (the texts of a
        whole column are not built for nothing)."""
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            return
        if callable(values):
            values = values()
        vals = np.asarray(values, dtype=object)[m] if not np.isscalar(values) else values
        self.parts.append(
            pd.DataFrame({"row": self.row_numbers[m], "field": fld, "value": vals, "reason": reason, "level": level})
        )
        if level == ERROR:
            self.bad |= m

    def skip(self, row: int, why: str) -> None:
        """A row that is not a crash row (title, totals, signature, blank): said, never an error."""
        self.parts.append(
            pd.DataFrame(
                {
                    "row": [row],
                    "field": ["row"],
                    "value": [""],
                    "reason": [
                        f"Không phải dòng vụ TNGT: {why.split(' / ')[0]} / Not a crash row: {why.split(' / ')[-1]}"
                    ],
                    "level": [SKIPPED],
                }
            )
        )

    def note(self, fld: str, reason: str) -> None:
        self.parts.append(
            pd.DataFrame({"row": [0], "field": [fld], "value": [""], "reason": [reason], "level": [WARNING]})
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REPORT_COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)
        # a refused cell as the planner can find it: characters that show nothing are named
        out["value"] = (
            out["value"].astype(str).str.replace(_INVISIBLE_RE, lambda m: f"⟨U+{ord(m.group()):04X}⟩", regex=True)
        ).str.slice(0, 200)
        return out.sort_values(["row", "field"], kind="stable").reset_index(drop=True)


def skipped_report(skipped: list[tuple[int, str]]) -> pd.DataFrame:
    """Report lines for ``(row number, reason)`` rows that are not crash rows.

    Parameters
    ----------
    skipped
        ``(row number, reason)`` pairs, the reason as ``"Vietnamese / English"``
        (:attr:`geo.tablefind.FoundTable.skipped`).

    Returns
    -------
    pandas.DataFrame
        One line per row, with the columns of :data:`REPORT_COLUMNS`, level
        ``skipped`` (never an error); no rows when ``skipped`` is empty.

    Examples
    --------
    >>> rep = skipped_report([(3, "Dòng tổng cộng / Totals row")])
    >>> rep[["row", "level"]].to_dict("records")
    [{'row': 3, 'level': 'skipped'}]
    >>> rep.loc[0, "reason"]
    'Không phải dòng vụ TNGT: Dòng tổng cộng / Not a crash row: Totals row'
    """
    rep = _Report(np.zeros(0, dtype=int))
    for row_no, why in skipped:
        rep.skip(row_no, why)
    return rep.frame()


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates written day first (dd/mm/yyyy, with or without a time) or ISO,
    for a date typed by a user: :func:`geo.dates.parse_date_column` with the
    order fixed to day first.

    Parameters
    ----------
    values
        The texts (or dates) of one column.

    Returns
    -------
    pandas.Series
        One timestamp per value, on the same index; ``NaT`` where a value is
        blank or not a date.

    Examples
    --------
    >>> parse_dates(pd.Series(["05/02/2024", "2024-02-05 14:30", "31/02/2024", ""])).tolist()
    [Timestamp('2024-02-05 00:00:00'), Timestamp('2024-02-05 14:30:00'), NaT, NaT]
    """
    return parse_date_column(values, order="dmy").values


def parse_bool(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values, unreadable mask) for yes/no columns (có/không, 1/0, x, yes/no).

    Parameters
    ----------
    values
        The cells of one yes/no column; case, spaces and Vietnamese tone marks
        as written (``có``, ``co``, ``Không``, ``x``, ``1``, ``yes``).

    Returns
    -------
    truth : numpy.ndarray
        True where a cell says yes; a blank cell is no.
    unreadable : numpy.ndarray
        True where a cell says neither yes nor no.

    Examples
    --------
    >>> truth, unreadable = parse_bool(pd.Series(["có", "Không", "x", "", "chắc"]))
    >>> truth.tolist(), unreadable.tolist()
    ([True, False, True, False, False], [False, False, False, False, True])
    """
    s = pd.Series(per_text(values, lambda u: u.astype(str).str.strip().str.lower()), index=values.index)
    truth = s.isin(_TRUE).to_numpy()
    unreadable = ~(truth | s.isin(_FALSE).to_numpy())
    return truth, unreadable


def _numbers(values: pd.Series, *, thousands: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numbers, blank mask, unreadable mask).

    Accepts ``1,5`` (decimal comma) and, with ``thousands``, ``1.234.567``
    (dots between groups of three digits). Coordinates pass ``thousands=False``:
    there ``105.123`` is a decimal number. Characters that show nothing
    (zero-width space, byte order mark …) at a cell's ends are dropped. Plain
    numbers are parsed in one vectorised call; only the rest go through the
    patterns.

    >>> _numbers(pd.Series(["12", "1.234", "1.234.567", "1,5", "", "x"]))[0].tolist()
    [12.0, 1234.0, 1234567.0, 1.5, nan, nan]
    >>> _numbers(pd.Series(["105.123", "21,028", " 106 "]), thousands=False)[0].tolist()
    [105.123, 21.028, 106.0]
    >>> _numbers(pd.Series(["1\u200b", "\ufeff2 ", "1\u200b2"]))[0].tolist()
    [1.0, 2.0, nan]
    """
    v = values.to_numpy(dtype=object)
    # a count column has a few distinct texts: worked per distinct text; coordinates are nearly all distinct:
    # worked per row (factorising them costs more than it saves)
    codes, uniques = pd.factorize(values.astype(str), sort=False) if repeats_enough(v) else (None, v)
    s = pd.Series([str(x).strip().strip(_INVISIBLE).strip() for x in np.asarray(uniques, dtype=object)], dtype=object)
    blank = s.eq("").to_numpy()
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    redo = np.isnan(num) & ~blank
    if thousands:
        redo |= s.str.contains(".", regex=False).to_numpy()
    if redo.any():
        r = s[redo].str.replace(" ", "", regex=False)
        if thousands:
            grouped = r.str.match(r"^-?\d{1,3}(\.\d{3})+$")
            r = r.where(~grouped, r.str.replace(".", "", regex=False))
        r = r.where(~r.str.match(r"^-?\d+,\d+$"), r.str.replace(",", ".", regex=False))
        num[redo] = pd.to_numeric(r, errors="coerce").to_numpy(dtype=float)
    # "1e2", "12 người", "inf": not a plain number
    num[np.array([bool(_NOT_PLAIN.search(u)) for u in s], dtype=bool)] = np.nan
    unreadable = np.isnan(num) & ~blank
    if codes is None:
        return num, blank, unreadable
    take = np.clip(codes, 0, None)
    return num[take], blank[take], unreadable[take]


def _text(frame: pd.DataFrame, mapping: dict[str, str], name: str) -> pd.Series:
    """The mapped column's text (already trimmed by :func:`validate_crashes`)."""
    if name in mapping and mapping[name] in frame.columns:
        return frame[mapping[name]]
    return pd.Series(np.full(len(frame), "", dtype=object), index=frame.index)


def _minute_text(t: pd.Series) -> pd.Series:
    """``YYYYMMDDHHMM`` per timestamp, ``""`` for none: ``dt.strftime`` without
    its per-row cost (the dedup keys of earlier imports depend on this text).

    >>> _minute_text(pd.Series(pd.to_datetime(["2024-02-05 14:30:59", None]))).tolist()
    ['202402051430', '']
    """
    ok = t.notna().to_numpy()
    out = np.full(len(t), "", dtype=object)
    if ok.any():
        d = t[ok].dt
        num = (
            d.year.to_numpy(np.int64) * 100_000_000
            + d.month.to_numpy(np.int64) * 1_000_000
            + d.day.to_numpy(np.int64) * 10_000
            + d.hour.to_numpy(np.int64) * 100
            + d.minute.to_numpy(np.int64)
        )
        out[ok] = num.astype(str).astype(object)
    return pd.Series(out, index=t.index)


def dedup_keys(rows: pd.DataFrame) -> np.ndarray:
    """A stable key per crash from what identifies it in any file: time to the
    minute, place (lon/lat to ~1 m, or road + chainage to 1 m), counts and the
    source id. Re-importing the same rows gives the same keys: they are
    ``pandas.util.hash_pandas_object`` of these texts (without the index) as 16
    hex digits, computed column by column here so that a column of mostly
    distinct texts is hashed directly rather than factorised first (the same
    hashes, checked by a test).

    Parameters
    ----------
    rows
        Normalised crash rows (:attr:`ValidationResult.rows`) with the columns
        ``occurred_at``, ``lon``, ``lat``, ``road_code``, ``chainage_m``,
        ``deaths``, ``injured`` and ``source_id``.

    Returns
    -------
    numpy.ndarray
        One key per row (16 hex digits, dtype object), in the rows' order.

    Examples
    --------
    >>> dedup_keys(pd.DataFrame({"occurred_at": pd.to_datetime(["2024-02-05 14:30"]), "lon": [107.5],
    ...     "lat": [14.6], "road_code": ["QL24"], "chainage_m": [161600.0], "deaths": [1], "injured": [0],
    ...     "source_id": ["V1"]})).tolist()   # the key of earlier versions too: stored keys stay valid
    ['d01d62a290b175d4']
    """
    # pandas-stubs leave out this (private, long-standing) helper of pandas.util.hash_pandas_object
    from pandas.core.util.hashing import combine_hash_arrays, hash_array  # type: ignore[attr-defined]

    def text(x: pd.Series) -> pd.Series:  # floats as ``astype(str)`` writes them (their repr), at list speed
        return pd.Series([repr(v) for v in x.to_numpy(dtype=float).tolist()], dtype=object)

    basis = [
        _minute_text(rows["occurred_at"]),
        text(rows["lon"].round(5)),
        text(rows["lat"].round(5)),
        rows["road_code"].fillna("").astype(str),
        text(rows["chainage_m"].round(0)),
        rows["deaths"].astype(str),
        rows["injured"].astype(str),
        rows["source_id"].astype(str),
    ]

    def hashed(col: pd.Series) -> np.ndarray:
        values = col.to_numpy(dtype=object)
        # factorising first pays only where texts repeat (counts, roads); the hash of a text is the same either way
        return hash_array(values, categorize=repeats_enough(values))

    h = combine_hash_arrays((hashed(c) for c in basis), len(basis))
    return _hex16(np.asarray(h, dtype=np.uint64))


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex16(h: np.ndarray) -> np.ndarray:
    """Each 64-bit value as 16 lower-case hex digits (``"%016x"``), by array
    arithmetic.

    >>> _hex16(np.array([0, 255, 2**64 - 1], dtype=np.uint64)).tolist()
    ['0000000000000000', '00000000000000ff', 'ffffffffffffffff']
    """
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    digits = ((h[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.uint8)
    chars = _HEX[digits]
    return np.ascontiguousarray(chars).view("S16").ravel().astype("U16").astype(object)


def validate_crashes(
    table: RawTable,
    *,
    mapping: dict[str, str] | None = None,
    source_crs: str | int | None = None,
    bounds: Sequence[float] = VIETNAM_BOUNDS,
    roads: RoadNetwork | None = None,
    snap_m: float = SNAP_DISTANCE_M,
    today: datetime | None = None,
    date_order: str | FileDateOrder | None = None,
) -> ValidationResult:
    """Validate a crash table and normalise its rows.

    Parameters
    ----------
    table
        The file as read by :func:`geo.io.read_table`.
    mapping
        Field → column; default: :func:`geo.columns.auto_map` on the headers.
    source_crs
        CRS of the coordinate columns; default: the file's own, else WGS 84 when
        the values look like degrees. Projected values (VN-2000 metres) need it.
    bounds
        lon/lat box outside which a crash is an error (default: Viet Nam).
    roads
        Roads for chainage: locating crashes without coordinates, and giving a
        chainage to crashes within ``snap_m`` metres of a road.
    today
        Dates after this day are errors (default: now).
    date_order
        ``dmy``, ``mdy`` or ``ymd`` to force the order of d/m/y dates;
        default: proven by the column's values, else day first (said in the
        report). A :class:`geo.dates.FileDateOrder` is the order of a whole
        file read in parts, decided before.

    Returns
    -------
    ValidationResult
    """
    frame = table.frame
    n = len(frame)
    has_geometry = table.geometry is not None
    mapping = dict(mapping) if mapping is not None else auto_map(list(frame.columns))
    mapping = {k: v for k, v in mapping.items() if v}
    unknown = [c for c in mapping.values() if c not in frame.columns]
    if unknown:
        raise InputFileError(f"Cột không có trong tệp / Columns not in the file: {', '.join(unknown)}")
    require_crash_fields(mapping, list(frame.columns), has_geometry=has_geometry)
    frame = frame.copy()
    for col in set(mapping.values()):  # every value as trimmed text, once (tables come trimmed already)
        c = frame[col]
        if table.fmt not in ("csv", "xlsx") or c.dtype != object:
            frame[col] = c.astype(str).str.strip()
    today = today or datetime.now()
    rep = _Report(table.numbers())
    notes: list[str] = []
    for row_no, why in table.skipped:
        rep.skip(row_no, why)
    unmapped = [
        c
        for c in frame.columns
        if c not in set(mapping.values())
        and not re.fullmatch(r"Cột \d+", c)
        and normalise_header(c) not in ("stt", "so_tt", "tt")
    ]
    if unmapped:
        rep.note("columns", "Cột không dùng (không nhập) / Columns not imported: " + ", ".join(unmapped))

    # --- date and time -----------------------------------------------------------------
    raw_date = _text(frame, mapping, "occurred_at")
    file_order = date_order if isinstance(date_order, FileDateOrder) else None
    dc = parse_date_column(raw_date, order=date_order.order if isinstance(date_order, FileDateOrder) else date_order)
    occurred = dc.values
    if any(_DMY_START.match(x) for x in raw_date.to_numpy(dtype=object)):  # stops at the first such date
        words = _ORDER_WORDS[dc.order]
        proof = file_order.proof if file_order else dc.proof
        if proof == "proven":
            at = file_order.row if file_order else int(rep.row_numbers[dc.first_proof]) if dc.first_proof >= 0 else 0
            rep.note("occurred_at", proven_order_note(dc.order, at))
        elif proof == "assumed":
            rep.note(
                "occurred_at",
                f"Không giá trị nào xác định thứ tự ngày và tháng: đọc là {words[0]}; nếu sai "
                f"dùng --date-order mdy / No value proves the order of day and month: read as "
                f"{words[1]}; if wrong use --date-order mdy",
            )
        else:
            rep.note("occurred_at", f"Thứ tự ngày theo lựa chọn: {words[0]} / Date order as chosen: {words[1]}")
    rep.add(
        dc.contradicts,
        "occurred_at",
        raw_date,
        f"Ngày trái với thứ tự {_ORDER_WORDS[dc.order][0]} của tệp / The date contradicts the file's order "
        f"({_ORDER_WORDS[dc.order][1]})",
    )
    if "time" in mapping:
        raw_time = _text(frame, mapping, "time")
        minutes = parse_times(raw_time)
        if "minute" in mapping:
            mm, _, _ = _numbers(_text(frame, mapping, "minute"))
            whole_hours = (minutes % 60 == 0).to_numpy()
            extra = np.where(whole_hours & (mm >= 0) & (mm < 60), mm, 0)
            minutes = minutes + np.nan_to_num(extra)
        add_time = (
            occurred.notna() & minutes.notna() & ~pd.Series(dc.has_time, index=occurred.index) & (occurred < _LAST_DAY)
        )  # past it a time would overflow; such a date is in the future anyway
        occurred = occurred.where(~add_time, occurred + pd.to_timedelta(minutes.where(add_time), unit="m"))
        rep.add(
            raw_time.ne("") & minutes.isna(),
            "time",
            raw_time,
            "Giờ không đọc được (13:28, 13h28, 13 giờ 28, 1328) / Unreadable time",
            WARNING,
        )
    rep.add(raw_date.eq(""), "occurred_at", raw_date, "Thiếu ngày xảy ra / Date missing")
    rep.add(
        raw_date.ne("") & occurred.isna() & ~dc.contradicts,
        "occurred_at",
        raw_date,
        "Ngày không đọc được (dd/mm/yyyy) / Unreadable date (dd/mm/yyyy)",
    )
    end_of_today = pd.Timestamp(today).normalize() + pd.Timedelta(days=1)
    rep.add(occurred >= end_of_today, "occurred_at", raw_date, "Ngày trong tương lai / Date in the future")
    rep.add(
        occurred < pd.Timestamp("1975-01-01"), "occurred_at", raw_date, "Ngày quá cũ (trước 1975) / Date before 1975"
    )

    # --- counts ------------------------------------------------------------------------
    counts = {}
    per_casualty = "severity" in mapping
    if per_casualty:
        raw_sev = _text(frame, mapping, "severity")
        sev_d, sev_i, sev_bad = casualty_counts(raw_sev)
        rep.add(
            sev_bad,
            "severity",
            raw_sev,
            "Mức độ thương tích không rõ (Chết, Bị thương nặng/nhẹ, Không bị thương) / Unknown casualty severity",
            WARNING,
        )
    for name, label in (("deaths", "Số người chết / Deaths"), ("injured", "Số người bị thương / Injured")):
        if name not in mapping and per_casualty:
            counts[name] = (sev_d if name == "deaths" else sev_i).astype(float)
            continue
        raw = _text(frame, mapping, name)
        num, blank, unreadable = _numbers(raw)
        rep.add(unreadable, name, raw, f"{label}: không phải số / not a number")
        rep.add(~unreadable & ~blank & (num < 0), name, raw, f"{label}: số âm / negative")
        rep.add(
            ~unreadable & ~blank & (num >= 0) & (num != np.floor(num)),
            name,
            raw,
            f"{label}: phải là số nguyên / must be a whole number",
        )
        rep.add(~unreadable & (num > 500), name, raw, f"{label}: quá lớn / implausibly large")
        counts[name] = np.where(blank | unreadable | np.isnan(num), 0, num)
    opt_num = {}
    for name, label, hi in (
        ("injury_pct", "Tỷ lệ tổn thương / Injury %", 10000),
        ("damage_vnd", "Thiệt hại / Damage", 1e15),
    ):
        raw = _text(frame, mapping, name)
        num, blank, unreadable = _numbers(raw)
        rep.add(unreadable, name, raw, f"{label}: không phải số / not a number")
        rep.add(
            ~unreadable & ~blank & ((num < 0) | (num > hi)), name, raw, f"{label}: ngoài khoảng hợp lệ / out of range"
        )
        opt_num[name] = np.where(unreadable, np.nan, num)

    # --- flags -------------------------------------------------------------------------
    flags = {}
    for name in ("alcohol", "not_infrastructure"):
        raw = _text(frame, mapping, name)
        val, unreadable = parse_bool(raw)
        rep.add(
            unreadable,
            name,
            raw,
            "Giá trị có/không không đọc được, coi là không / Unreadable yes/no, taken as no",
            WARNING,
        )
        flags[name] = val

    # --- place: coordinates --------------------------------------------------------------
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    used_crs = None
    if has_geometry:
        geoms = np.asarray(table.geometry, dtype=object)
        gtype = shapely.get_type_id(geoms)
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        not_point = ~missing & (gtype != 0)
        rep.add(
            not_point,
            "geometry",
            shapely.get_type_id(geoms).astype(str),
            "Hình học không phải điểm / Geometry is not a point",
        )
        pts = np.where(not_point | missing, np.array(None, dtype=object), geoms)
        lon = shapely.get_x(pts)
        lat = shapely.get_y(pts)
        used_crs = source_crs or table.crs or _crs.WGS84
    elif "lon" in mapping and "lat" in mapping:
        raw_x, raw_y = _text(frame, mapping, "lon"), _text(frame, mapping, "lat")
        x, bx, ux = _numbers(raw_x, thousands=False)
        y, by, uy = _numbers(raw_y, thousands=False)
        rep.add(ux, "lon", raw_x, "Tọa độ X/kinh độ không phải số / X or longitude is not a number")
        rep.add(uy, "lat", raw_y, "Tọa độ Y/vĩ độ không phải số / Y or latitude is not a number")
        rep.add(
            bx ^ by, "lon/lat", lambda: raw_x + " ; " + raw_y, "Thiếu một trong hai tọa độ / One coordinate missing"
        )
        lon, lat = x, y
        if source_crs is None:
            if not _crs.looks_geographic(lon, lat):
                raise CRSError(
                    "Tọa độ có dạng mét (VN-2000 hoặc UTM): hãy chọn hệ tọa độ (dòng lệnh: --crs EPSG, vd --crs 9216) "
                    "/ Coordinates look projected (VN-2000 or UTM): choose the coordinate system (command line: "
                    "--crs EPSG, e.g. --crs 9216)"
                )
            used_crs = _crs.WGS84
        else:
            used_crs = source_crs
    if used_crs is not None:
        key = (
            f"EPSG:{used_crs}" if isinstance(used_crs, (int, np.integer)) or str(used_crs).isdigit() else str(used_crs)
        )
        has_xy = np.isfinite(lon) & np.isfinite(lat)
        if has_xy.any():
            lon_t, lat_t = _crs.transform(lon, lat, key, _crs.WGS84)
            if (
                not has_geometry
                and key != _crs.WGS84
                and not _crs.inside_bounds(lon_t, lat_t, bounds)[has_xy].mean() > 0.5
            ):
                # a surveyor's file: X is the northing, Y the easting
                lon_s, lat_s = _crs.transform(lat, lon, key, _crs.WGS84)
                if _crs.inside_bounds(lon_s, lat_s, bounds)[has_xy].mean() > 0.5:
                    lon_t, lat_t = lon_s, lat_s
                    rep.note(
                        "lon/lat",
                        "Cột X chứa tọa độ Bắc (northing) và Y tọa độ Đông theo cách ghi của trắc địa; "
                        "đã đổi lại / Column X holds the northing and Y the easting (surveyors' "
                        "order); corrected",
                    )
                    notes.append("swapped_xy")
            lon, lat = np.where(has_xy, lon_t, np.nan), np.where(has_xy, lat_t, np.nan)
            if "swapped_xy" not in notes and _crs.detect_swapped(lon, lat, bounds):
                lon, lat = lat, lon
                rep.note(
                    "lon/lat",
                    "Cột kinh độ và vĩ độ bị đảo; đã đổi lại / Longitude and latitude columns were swapped; corrected",
                )
                notes.append("swapped")
        used_crs = key
    has_xy = np.isfinite(lon) & np.isfinite(lat)
    outside = has_xy & ~_crs.inside_bounds(lon, lat, bounds)
    rep.add(
        outside,
        "lon/lat",
        lambda: np.char.add(np.char.add(lon.round(6).astype(str), ", "), lat.round(6).astype(str)),
        "Tọa độ ngoài phạm vi Việt Nam (vùng khác: --bounds minlon,minlat,maxlon,maxlat) / Coordinates outside "
        "Viet Nam (another area: --bounds minlon,minlat,maxlon,maxlat)"
        if tuple(bounds) == VIETNAM_BOUNDS
        else f"Tọa độ ngoài vùng hợp lệ {tuple(bounds)} (--bounds) / Coordinates outside the valid area "
        f"{tuple(bounds)} (--bounds)",
    )
    lon = np.where(outside, np.nan, lon)
    lat = np.where(outside, np.nan, lat)
    has_xy &= ~outside

    # --- place: road and chainage ------------------------------------------------------
    raw_road = _text(frame, mapping, "road")
    raw_ch = _text(frame, mapping, "chainage")
    grouped = dots_group_thousands(raw_ch)
    ch_road, ch_parsed = parse_chainage_series(raw_ch, thousands=grouped)
    if grouped:
        rep.note("chainage", THOUSANDS_NOTE)
    road_code = raw_road.map(lambda r: normalise_road_code(r) or r if r else None)
    road_code = road_code.where(road_code.notna() & road_code.astype(str).ne(""), ch_road)
    chainage = ch_parsed.to_numpy(dtype=float)
    has_ch_text = raw_ch.ne("").to_numpy()
    commune_text = _text(frame, mapping, "commune")
    if "location" in mapping:  # "Km 161+600 QL24, xã Đăk Ruồng": road, chainage and commune from free text
        loc = parse_locations(_text(frame, mapping, "location"))
        road_code = road_code.where(road_code.notna() & road_code.astype(str).ne(""), loc["road"])
        from_loc = np.isnan(chainage) & loc["chainage_m"].notna().to_numpy()
        chainage = np.where(from_loc, loc["chainage_m"].to_numpy(dtype=float), chainage)
        has_ch_text = has_ch_text | from_loc
        raw_ch = raw_ch.where(~from_loc, _text(frame, mapping, "location"))
        commune_text = commune_text.where(commune_text.ne(""), loc["commune"].fillna(""))
    rep.add(
        has_ch_text & np.isnan(chainage),
        "chainage",
        raw_ch,
        "Lý trình không đọc được (ví dụ Km 105+500) / Unreadable chainage (e.g. Km 105+500)",
    )
    road_idx = np.full(n, -1)
    located_by = np.where(has_xy, "coords", np.array(None, dtype=object)).astype(object)
    needs_locate = ~has_xy & np.isfinite(chainage) & ~outside
    rep.add(
        ~has_xy & ~outside & ~has_ch_text & ~rep.bad,
        "place",
        raw_ch,
        "Thiếu vị trí: không có tọa độ, không có lý trình / No place: neither coordinates nor chainage",
    )
    if roads is not None:
        idx = roads.index_of(road_code.to_numpy())
        road_idx = np.where(road_code.notna().to_numpy(), idx, -1)
        if needs_locate.any():
            rep.add(
                needs_locate & road_code.isna().to_numpy(),
                "road",
                raw_road,
                "Có lý trình nhưng thiếu tuyến đường / Chainage without a road",
            )
            rep.add(
                needs_locate & road_code.notna().to_numpy() & (road_idx < 0),
                "road",
                road_code.fillna("").astype(str),
                "Tuyến đường chưa có trong dữ liệu / Road not in the store",
            )
            sel = needs_locate & (road_idx >= 0)
            pts, status = roads.locate(road_idx[sel], chainage[sel])
            off = np.zeros(n, dtype=bool)
            off[np.flatnonzero(sel)[status == 2]] = True
            rep.add(off, "chainage", raw_ch, "Lý trình nằm ngoài tuyến đường / Chainage beyond the road's extent")
            found = np.flatnonzero(sel)[status == 0]
            if len(found):
                gx, gy = shapely.get_x(pts[status == 0]), shapely.get_y(pts[status == 0])
                lo, la = _crs.transform(gx, gy, roads.crs.to_wkt(), _crs.WGS84)
                lon[found], lat[found] = lo, la
                located_by[found] = "chainage"
        snap = has_xy & ~np.isfinite(chainage)
        if snap.any():
            mx, my = _crs.transform(lon[snap], lat[snap], _crs.WGS84, roads.crs.to_wkt())
            meas = roads.measure(shapely.points(mx, my), max_distance=snap_m)
            sidx = np.flatnonzero(snap)
            hit = meas["road_idx"].to_numpy() >= 0
            road_idx[sidx[hit]] = meas["road_idx"].to_numpy()[hit]
            chainage[sidx[hit]] = meas["chainage_m"].to_numpy()[hit]
            road_code = road_code.copy()
            road_code.iloc[sidx[hit]] = roads.codes[meas["road_idx"].to_numpy()[hit]]
    else:
        rep.add(
            needs_locate,
            "chainage",
            raw_ch,
            "Cần dữ liệu tuyến đường để định vị theo lý trình / Roads needed to place a crash by chainage",
        )

    # --- assemble ------------------------------------------------------------------------
    rows = pd.DataFrame(
        {
            "row": rep.row_numbers,
            "source_id": _text(frame, mapping, "source_id").to_numpy(),
            "occurred_at": occurred.to_numpy(),
            "lon": lon,
            "lat": lat,
            "road_code": road_code.to_numpy(dtype=object),
            "road_idx": road_idx,
            "chainage_m": chainage,
            "located_by": located_by,
            "commune": commune_text.to_numpy(),
            # rows with an unreadable count are errors already; 0 keeps the column integer
            "deaths": np.where(np.isfinite(counts["deaths"]), counts["deaths"], 0).clip(0, 10**6).astype(int),
            "injured": np.where(np.isfinite(counts["injured"]), counts["injured"], 0).clip(0, 10**6).astype(int),
            "injury_pct": opt_num["injury_pct"],
            "damage_vnd": opt_num["damage_vnd"],
            "vehicle_types": _text(frame, mapping, "vehicle_types").to_numpy(),
            "alcohol": flags["alcohol"],
            "not_infrastructure": flags["not_infrastructure"],
            "description": _text(frame, mapping, "description").to_numpy(),
            "cause": _text(frame, mapping, "cause").to_numpy(),
        }
    )
    rows, bad = _group_casualty_rows(rows, frame, mapping, rep, per_casualty=per_casualty)
    rows["severity"] = classify(rows["deaths"], rows["injured"], rows["injury_pct"], rows["damage_vnd"])
    rows["dedup_key"] = dedup_keys(rows)
    dup = rows["dedup_key"].duplicated(keep="first").to_numpy() & ~bad
    rep.add(
        dup,
        "row",
        lambda: rows.groupby("dedup_key")["row"].transform("first").to_numpy().astype(str),
        DUPLICATE_IN_FILE,
        WARNING,
    )
    rows["error"] = bad
    rows["ok"] = ~bad & ~dup
    rows["duplicate_in_file"] = dup
    return ValidationResult(rows=rows, report=rep.frame(), mapping=mapping, crs=used_crs, notes=notes, n_file_rows=n)


def _group_casualty_rows(
    rows: pd.DataFrame, frame: pd.DataFrame, mapping: dict[str, str], rep: _Report, *, per_casualty: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows sharing a crash reference (stage 5, see :mod:`geo.casualties`):
    one crash when the file describes victims or vehicles (a severity per
    casualty, a name, an age …), their date and place agreeing; otherwise the
    same reference with different content is an error. Returns the crash rows
    and their error mask."""
    groups = group_keys(rows["source_id"])
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups == len(rows):
        return rows, rep.bad.copy()
    when = _minute_text(rows["occurred_at"])
    where = (
        rows["lon"].round(5).astype(str)
        + ","
        + rows["lat"].round(5).astype(str)
        + ","
        + rows["road_code"].fillna("").astype(str)
        + ","
        + rows["chainage_m"].round(0).astype(str)
    )
    clash = disagreeing(when, groups) | disagreeing(where, groups)
    ids = rows["source_id"].astype(str)
    rep.add(
        clash,
        "source_id",
        ids,
        "Cùng mã vụ nhưng khác ngày giờ hoặc vị trí với dòng đầu của vụ / The same "
        "crash reference with another date, time or place",
    )
    heads = [normalise_header(c) for c in frame.columns if c not in set(mapping.values())]
    casualty_file = per_casualty or any(h == m or h.startswith(m + "_") for h in heads for m in CASUALTY_MARKERS)
    if not casualty_file:
        cols = [c for c in mapping.values() if c in frame.columns]
        content = frame[cols].astype(str).agg("\x1f".join, axis=1) if cols else pd.Series([""] * len(frame))
        differs = disagreeing(content.reset_index(drop=True), groups) & ~clash
        rep.add(
            differs,
            "source_id",
            ids,
            "Mã vụ lặp lại với nội dung khác (nếu mỗi dòng là một nạn nhân, thêm cột "
            "mức độ thương tích) / The same crash reference twice with different "
            "content (one row per victim needs a casualty severity column)",
        )
        return rows, rep.bad.copy()
    bad = np.zeros(n_groups, dtype=bool)
    np.logical_or.at(bad, groups, rep.bad)
    first = np.unique(groups, return_index=True)[1]
    out = rows.iloc[first].reset_index(drop=True)
    if per_casualty and "deaths" not in mapping:
        out["deaths"] = np.bincount(groups, weights=rows["deaths"], minlength=n_groups).astype(int)
        out["injured"] = np.bincount(groups, weights=rows["injured"], minlength=n_groups).astype(int)
    else:
        for c in ("deaths", "injured"):
            out[c] = sum_or_once(rows[c].to_numpy(), groups)[0].astype(int)
    for c in ("injury_pct", "damage_vnd"):
        v = rows[c].to_numpy(dtype=float)
        if np.isfinite(v).any():
            out[c] = sum_or_once(v, groups)[0]
    for c in ("vehicle_types", "description", "cause"):
        joined = rows.groupby(groups, sort=True)[c].agg(lambda s: "; ".join(dict.fromkeys(v for v in s if v)))
        out[c] = joined.to_numpy()
    for c in ("alcohol", "not_infrastructure"):
        out[c] = np.bincount(groups, weights=rows[c].astype(int), minlength=n_groups) > 0
    out["rows_in_crash"] = np.bincount(groups, minlength=n_groups)
    return out, bad
