"""Finding the table in a sheet as the police and communes make it: title and
subtitle rows above, a header of one or two rows (a merged parent such as
"Thiệt hại về người" over "Số người chết" / "Số người bị thương"), a row of
column numbers "(1) (2) (3)", an STT column, totals rows ("Tổng cộng",
"Cộng") and signature rows below ("Người lập biểu", "TRƯỞNG CÔNG AN XÃ").

Stage 2 of the crash import (read → **find the table** → map columns → parse
values → group casualty rows → place → check → match earlier imports).

>>> grid = [["BẢNG THỐNG KÊ TNGT NĂM 2024", "", "", ""],
...         ["(Kèm theo Báo cáo số 12/BC-CAX)", "", "", ""],
...         ["STT", "Ngày xảy ra", "Thiệt hại về người", ""],
...         ["", "", "Số người chết", "Số người bị thương"],
...         ["(1)", "(2)", "(3)", "(4)"],
...         ["1", "05/02/2024", "1", "0"],
...         ["", "", "", ""],
...         ["Tổng cộng", "", "1", "0"],
...         ["Người lập biểu", "", "TRƯỞNG CÔNG AN XÃ", ""]]
>>> t = find_table(grid)
>>> t.columns
['STT', 'Ngày xảy ra', 'Thiệt hại về người Số người chết', 'Thiệt hại về người Số người bị thương']
>>> t.frame.values.tolist(), t.row_numbers.tolist()
([['1', '05/02/2024', '1', '0']], [6])
>>> [(r, why.split(" / ")[1]) for r, why in t.skipped]
[(5, 'column numbers'), (7, 'blank row'), (8, 'totals row'), (9, 'signature or footer')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.columns import CRASH_ALIASES, normalise_header
from geo.text import per_text

#: How many rows from the top are searched for the header.
SEARCH_ROWS = 40

_TOTALS = re.compile(r"^(tong_cong|tong_so|tong|cong|cong_thang|cong_quy|cong_nam|total|totals|sum|grand_total)(_|$)")
_FOOTER = re.compile(
    r"^(nguoi_lap|nguoi_lap_bieu|nguoi_ghi|lap_bieu|truong_|pho_truong|thu_truong|chi_huy|giam_doc|chu_tich|"
    r"xac_nhan|ky_ten|ky_ghi_ro|noi_nhan|kt_|tm_|dai_uy|thuong_uy|trung_uy|thieu_uy|thieu_ta|trung_ta|"
    r"thuong_ta|dai_ta|prepared_by|signed|approved)"
)
_COLNUM = re.compile(r"^\(?\d{1,2}\)?$")
_EXTRA_HEADER_WORDS = {
    "stt",
    "so_tt",
    "tt",
    "ghi_chu",
    "nguyen_nhan",
    "dia_diem",
    "vi_tri",
    "noi_xay_ra",
    "hau_qua",
    "thiet_hai_ve_nguoi",
    "loai_xe",
    "phuong_tien",
    "ma_vu",
    "so_vu",
    "muc_do",
    "tinh_trang",
    "ho_ten",
    "tuoi",
    "gioi_tinh",
    "severity",
    "reference_number",
}


@dataclass
class FoundTable:
    """The table found in a grid of cells.

    Attributes
    ----------
    frame
        The data rows under their headers (text).
    row_numbers
        Each data row's number as the user sees it (sheet row, or file line), from 1.
    header_rows
        The header's row numbers (one or two).
    skipped
        ``(row number, reason)`` of the rows that are not crash rows.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    header_rows: list[int]
    skipped: list[tuple[int, str]] = field(default_factory=list)
    score: int = 0

    @property
    def columns(self) -> list[str]:
        """The table's headers (the columns of :attr:`frame`)."""
        return list(self.frame.columns)


_ALIASES = {a for names in CRASH_ALIASES.values() for a in names if len(a) > 1} | _EXTRA_HEADER_WORDS


def _cell_score(text: str) -> int:
    n = normalise_header(text)
    if not n or len(n) > 80:
        return 0
    if n in _ALIASES:
        return 2
    parts = n.split("_")
    for k in range(1, len(parts)):
        if "_".join(parts[:k]) in _ALIASES or "_".join(parts[k:]) in _ALIASES:
            return 1
    return 0


def _row_score(cells: list[str]) -> int:
    if sum(1 for c in cells if c.strip()) < 2:
        return 0
    if any(_looks_like_data(c) for c in cells):
        return 0
    return sum(_cell_score(c) for c in cells)


_DATE_LIKE = re.compile(r"^\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}")


def _looks_like_data(text: str) -> bool:
    t = text.strip()
    return bool(_DATE_LIKE.match(t))


def _combine(parent: list[str], child: list[str]) -> list[str]:
    """Headers of a two-row header: the parent (carried across a merged span)
    joined with the child; a column with no child keeps the parent."""
    out, carry = [], ""
    for p, c in zip(parent, child):
        p, c = p.strip(), c.strip()
        if p:
            carry = p
        elif not c:
            carry = ""
        if c and p and p != c:
            out.append(f"{p} {c}")
        elif c and not p and carry:
            out.append(f"{carry} {c}")
        else:
            out.append(c or p)
    return out


def _unique(names: list[str]) -> list[str]:
    """Blank headers named by their column ("Cột 6"); repeats are made unique by
    :func:`geo.io.unique_headers`."""
    return [n or f"Cột {i + 1}" for i, n in enumerate(names)]


def find_header(grid: list[list[str]]) -> tuple[int, int, int]:
    """``(first header row index, number of header rows, score)`` in the top
    rows of ``grid``; ``(0, 1, 0)`` when nothing looks like a header.

    Parameters
    ----------
    grid
        Rows of text cells, as in the sheet from its row 1; only the first
        :data:`SEARCH_ROWS` are searched.

    Returns
    -------
    tuple of int
        The index of the header's first row, its number of rows (1 or 2) and
        its score (how many cells read as crash-file headers).

    Examples
    --------
    >>> grid = [["BÁO CÁO TAI NẠN GIAO THÔNG", "", ""], ["Ngày xảy ra", "Địa điểm", "Số người chết"],
    ...         ["05/02/2024", "Km 105+500 QL24", "1"], ["06/02/2024", "Km 12+000 QL40", "0"],
    ...         ["Tổng cộng", "", "1"]]
    >>> find_header(grid)
    (1, 1, 6)
    """
    best = (0, 1, 0)
    top = grid[:SEARCH_ROWS]
    for i, row in enumerate(top):
        s1 = _row_score(row)
        if s1 > best[2]:
            best = (i, 1, s1)
        if i + 1 < len(top) and s1 > 0:  # a two-row header's first row names columns itself
            nxt = top[i + 1]
            if any(_looks_like_data(c) for c in nxt) or not any(c.strip() for c in nxt):
                continue
            # a second header row must add words of its own under the first
            adds = sum(_cell_score(c) for c in nxt)
            s2 = sum(_cell_score(c) for c in _combine(row, nxt)) + adds
            if adds and s2 > best[2] and s2 > s1:
                best = (i, 2, s2)
    return best


#: A first cell that may start a totals or signature row (checked exactly only when this matches).
_DIGIT = re.compile(r"\d")
_NOT_CRASH_WORDS = (
    "tổng",
    "tong",
    "cộng",
    "cong",
    "total",
    "sum",
    "grand",
    "người",
    "nguoi",
    "lập",
    "lap",
    "trưởng",
    "truong",
    "phó",
    "pho",
    "thủ",
    "thu",
    "chỉ",
    "chi",
    "giám",
    "giam",
    "chủ",
    "chu",
    "xác",
    "xac",
    "ký",
    "ky",
    "nơi",
    "noi",
    "kt",
    "tm",
    "đại",
    "dai",
    "thượng",
    "thuong",
    "trung",
    "thiếu",
    "thieu",
    "prepared",
    "signed",
    "approved",
)
_MAYBE_NOT_CRASH = re.compile(r"(?i)^\s*(" + "|".join(_NOT_CRASH_WORDS) + ")")
_MAYBE_INITIALS = np.array(sorted({w[0] for w in _NOT_CRASH_WORDS} | {w[0].upper() for w in _NOT_CRASH_WORDS}))


#: Reasons that hold for every row after the one they start at.
ENDS_TABLE = ("chữ ký hoặc phần cuối / signature or footer", "bảng khác bên dưới / another table below")


def classify_rows(frame: pd.DataFrame, *, top: bool = True) -> np.ndarray:
    """Why each row is not a crash row (``""`` when it is one): blank, column
    numbers, totals, signature or footer (every row after the first
    signature row). Vectorised: only rows whose first cells start like such
    a row are looked at one by one. ``top`` is False for a later part of a
    table read in parts (no column-number row there).

    Parameters
    ----------
    frame
        The rows under the header, as trimmed text cells.
    top
        Whether the rows start right under the header (a column-number row
        is looked for in the first three).

    Returns
    -------
    numpy.ndarray
        One reason per row (``"Vietnamese / English"``, dtype object), ``""``
        for a crash row.

    Examples
    --------
    >>> rows = pd.DataFrame([["05/02/2024", "Km 105+500", "1"], ["", "", ""], ["Tổng cộng", "", "1"],
    ...                      ["Người lập biểu", "", ""], ["06/02/2024", "Km 12", "0"]])
    >>> [why.split(" / ")[-1] for why in classify_rows(rows, top=False)]
    ['', 'blank row', 'totals row', 'signature or footer', 'signature or footer']
    """
    n = len(frame)
    why = np.full(n, "", dtype=object)
    if n == 0 or frame.shape[1] == 0:
        return why
    cells = frame.to_numpy(dtype=object)  # text cells, trimmed (table_below)
    empty = (cells == "") | (cells == "nan")
    blank = empty.all(axis=1)
    single = (~empty).sum(axis=1) == 1
    why[blank] = "dòng trống / blank row"
    k = min(3, frame.shape[1])
    head = cells[:, :k]
    initial = head.astype("U1")  # each cell's first character, at array speed
    # a totals or signature row starts with one of a few words: only cells starting with their letters are read
    maybe = np.zeros(n, dtype=bool)
    cand = np.isin(initial, _MAYBE_INITIALS)
    for j in range(k):
        rows = np.flatnonzero(cand[:, j])
        if len(rows):
            maybe[rows] |= per_text(
                pd.Series(head[rows, j]),
                lambda u: np.fromiter((_MAYBE_NOT_CRASH.match(x) is not None for x in u), dtype=bool, count=len(u)),
            )
    maybe &= ~blank
    if top:
        maybe[: min(3, n)] |= ~blank[: min(3, n)]  # the column-number row sits right under the header
    # a row with no digit in its first cells may be the title or header of another table further down:
    # a first cell starting with a digit settles most rows; the others are read whole
    no_digit = ~np.asarray(((initial >= "0") & (initial <= "9")).any(axis=1), dtype=bool)
    for i in np.flatnonzero(no_digit):
        no_digit[i] = not any(_DIGIT.search(str(c)) for c in head[i])
    no_digit &= ~blank
    values = cells
    footer_from = n
    for i in np.flatnonzero(no_digit | single):
        row_cells: list[str] = [c.strip() for c in values[i] if c and c.strip() and c.strip().lower() != "nan"]
        if len(row_cells) == 1 and len(row_cells[0].split()) >= 3 and not _DATE_LIKE.search(row_cells[0]):
            why[i] = "dòng tiêu đề / title row"
        elif _row_score(list(values[i])) >= 4:  # the header of a second table: the rest is not this table
            footer_from = int(i) - 1 if i > 0 and why[i - 1] == "dòng tiêu đề / title row" else int(i)
            break
    why[footer_from:] = ENDS_TABLE[1]
    for i in np.flatnonzero(maybe[:footer_from]):
        row_cells = [c.strip() for c in values[i] if c and c.strip() and c.strip().lower() != "nan"]
        heads = [normalise_header(c) for c in row_cells[:3]]
        if any(_FOOTER.match(f) for f in heads):
            why[i:footer_from] = ENDS_TABLE[0]
            break
        if any(_TOTALS.match(f) for f in heads[:2]):
            why[i] = "dòng tổng cộng / totals row"
        elif top and i < 3 and len(row_cells) >= 2 and all(_COLNUM.match(c) for c in row_cells):
            nums = [int(c.strip("()")) for c in row_cells]
            if nums == sorted(nums) and len(set(nums)) == len(nums):
                why[i] = "dòng đánh số cột / column numbers"
    return why


def header_names(grid: list[list[str]], start: int, n_head: int) -> list[str]:
    """The column names of a header of ``n_head`` rows starting at ``start``.

    Parameters
    ----------
    grid
        Rows of text cells, as in the sheet from its row 1.
    start
        The index of the header's first row in ``grid``.
    n_head
        The header's number of rows: 2 joins a merged parent cell to each
        name under it.

    Returns
    -------
    list of str
        One unique name per column; a blank header is named by its column
        (``Cột 6``).

    Examples
    --------
    >>> header_names([["Thiệt hại về người", "", "Ghi chú"], ["Số người chết", "Số người bị thương", ""]], 0, 2)
    ['Thiệt hại về người Số người chết', 'Thiệt hại về người Số người bị thương', 'Ghi chú']
    """
    from geo.io import unique_headers

    width = max((len(r) for r in grid), default=0)
    rows = [list(r) + [""] * (width - len(r)) for r in grid[start : start + n_head]]
    heads = _combine(rows[0], rows[1]) if n_head == 2 else [c.strip() for c in rows[0]] if rows else []
    return unique_headers(_unique([" ".join(h.split()) for h in heads]))


def _cells(values: pd.Series) -> np.ndarray:
    """A column's cells as trimmed text (a missing cell, None or NaN, blank),
    in one pass.

    >>> _cells(pd.Series([" 12 ", None, float("nan"), 3])).tolist()
    ['12', '', '', '3']
    """
    out = np.empty(len(values), dtype=object)
    out[:] = [
        x.strip() if type(x) is str else "" if x is None or x != x else str(x).strip()
        for x in values.to_numpy(dtype=object)
    ]
    return out


def table_below(
    body: pd.DataFrame,
    heads: list[str],
    *,
    first_row_number: int,
    header_rows: list[int],
    score: int = 0,
    top: bool = True,
    trimmed: bool = False,
) -> FoundTable:
    """The data rows under a header: ``body`` holds the cells below it (as
    many columns as it has, padded or cut to the header's), numbered from
    ``first_row_number``; blank, column-number, totals and footer rows set
    aside. ``top`` is False for a later part of a table read in parts.

    Parameters
    ----------
    body
        The cells below the header (by position).
    heads
        The header's names (:func:`header_names`).
    first_row_number
        The row number of the first row of ``body``, as the user sees it.
    header_rows
        The header's row numbers, kept in the result.
    score
        The header's score (:func:`find_header`), kept in the result.
    top
        Whether ``body`` starts right under the header.
    trimmed
        Whether every cell of ``body`` is text already trimmed (none missing):
        its cells are then taken as they are, not trimmed one by one.

    Returns
    -------
    FoundTable
        The crash rows under ``heads`` (a blank ``Cột …`` column dropped),
        their row numbers and the rows set aside.

    Examples
    --------
    >>> grid = [["BÁO CÁO TAI NẠN GIAO THÔNG", "", ""], ["Ngày xảy ra", "Địa điểm", "Số người chết"],
    ...         ["05/02/2024", "Km 105+500 QL24", "1"], ["06/02/2024", "Km 12+000 QL40", "0"],
    ...         ["Tổng cộng", "", "1"]]
    >>> t = table_below(pd.DataFrame(grid[2:]), grid[1], first_row_number=3, header_rows=[2])
    >>> t.frame.shape, t.row_numbers.tolist(), t.skipped
    ((2, 3), [3, 4], [(5, 'dòng tổng cộng / totals row')])
    """
    width = len(heads)
    extra = body.iloc[:, width:]
    # every cell as trimmed text, a missing cell blank; columns the header lacks are blank
    cells = (lambda v: v.to_numpy(dtype=object)) if trimmed else _cells
    cols = {
        h: (cells(body.iloc[:, k]) if k < body.shape[1] else np.full(len(body), "", dtype=object))
        for k, h in enumerate(heads)
    }
    numbers = np.arange(len(body)) + first_row_number
    keep = [h for h in heads if not h.startswith("Cột ") or (cols[h] != "").any()]
    body = pd.DataFrame({h: cols[h] for h in keep}, index=body.index, dtype=object)
    why = classify_rows(body, top=top)
    if extra.shape[1]:  # cells beyond the header's last column: a row that does not fit the table
        spill = np.column_stack(
            [per_text(extra[c].fillna("").astype(str), lambda u: u.str.strip().ne("")) for c in extra.columns]
        ).any(axis=1)
        why = np.where((why == "") & spill, "", why)
    ok = why == ""
    skipped = [(int(numbers[i]), str(why[i])) for i in np.flatnonzero(~ok)]
    frame = body.reset_index(drop=True) if ok.all() else body.loc[ok].reset_index(drop=True)
    return FoundTable(frame=frame, row_numbers=numbers[ok], header_rows=header_rows, skipped=skipped, score=score)


def table_under_header(
    top: list[list[str]], body: pd.DataFrame, *, start: int, n_head: int, score: int = 0, trimmed: bool = False
) -> FoundTable:
    """The table whose header :func:`find_header` found at ``start`` (``n_head``
    rows) of ``top`` (a sheet's first rows, the first being row 1); ``body``
    holds every row below the header.

    Parameters
    ----------
    top
        The sheet's first rows, as text cells.
    body
        Every row below the header.
    start, n_head
        The header's first row index in ``top`` and its number of rows.
    score
        The header's score, kept in the result.
    trimmed
        Whether every cell of ``body`` is text already trimmed (see :func:`table_below`).

    Returns
    -------
    FoundTable
        As :func:`table_below`, the rows numbered from the one under the header.

    Examples
    --------
    >>> grid = [["BÁO CÁO TAI NẠN GIAO THÔNG", "", ""], ["Ngày xảy ra", "Địa điểm", "Số người chết"],
    ...         ["05/02/2024", "Km 105+500 QL24", "1"], ["06/02/2024", "Km 12+000 QL40", "0"],
    ...         ["Tổng cộng", "", "1"]]
    >>> t = table_under_header(grid, pd.DataFrame(grid[2:]), start=1, n_head=1)
    >>> t.header_rows, t.row_numbers.tolist()
    ([2], [3, 4])
    """
    return table_below(
        body,
        header_names(top, start, n_head),
        first_row_number=start + n_head + 1,
        header_rows=[start + 1 + k for k in range(n_head)],
        score=score,
        trimmed=trimmed,
    )


def find_table(grid: list[list[str]]) -> FoundTable:
    """The crash table in ``grid`` (rows of text cells, as in the sheet from its row 1).

    Parameters
    ----------
    grid
        Rows of text cells, as in the sheet from its row 1 (rows of unequal
        length are padded).

    Returns
    -------
    FoundTable
        The crash rows under the header :func:`find_header` finds, their row
        numbers and the rows set aside (see the module's example).

    Examples
    --------
    >>> grid = [["BÁO CÁO TAI NẠN GIAO THÔNG", "", ""], ["Ngày xảy ra", "Địa điểm", "Số người chết"],
    ...         ["05/02/2024", "Km 105+500 QL24", "1"], ["06/02/2024", "Km 12+000 QL40", "0"],
    ...         ["Tổng cộng", "", "1"]]
    >>> t = find_table(grid)
    >>> t.columns, t.row_numbers.tolist(), t.skipped
    (['Ngày xảy ra', 'Địa điểm', 'Số người chết'], [3, 4], [(5, 'dòng tổng cộng / totals row')])
    """
    width = max((len(r) for r in grid), default=0)
    grid = [list(r) + [""] * (width - len(r)) for r in grid]
    start, n_head, score = find_header(grid)
    return table_under_header(
        grid, pd.DataFrame(grid[start + n_head :], dtype=object), start=start, n_head=n_head, score=score
    )
