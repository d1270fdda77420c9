"""Spreadsheet output that is safe to open: every CSV and XLSX the tool writes
goes through here.

Text from data (a crash description, a commune, a case list) that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a formula
in Excel or LibreOffice (CSV injection). As OWASP advises, such text gets a
leading apostrophe, and XLSX cells holding text are written as text cells,
never formulas. Numbers stay numbers; text that is just a number (``-12.5``)
is left alone, since a spreadsheet reads it as that number anyway.

>>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("@SUM(A1)"), neutralise("-2+3"), neutralise(-2)
('\\'=HYPERLINK("http://x")', "'@SUM(A1)", "'-2+3", -2)
>>> neutralise("-12.5"), neutralise("QL24"), neutralise("\\tcmd")
('-12.5', 'QL24', "'\\tcmd")
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters XML 1.0 cannot hold (C0 controls but tab, line feed and carriage return; U+FFFE, U+FFFF; lone
#: surrogates): one in an imported cell made every .xlsx export and every document holding it fail
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters an .xlsx, .docx or .kml cannot hold.

    >>> xml_safe("Xã\x01 A\tB\x1f")
    'Xã A\tB'
    """
    return _NOT_XML.sub("", text)


_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*\Z")


def neutralise(value: object) -> object:
    """``value`` made safe for a spreadsheet cell (see the module's text)."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and header neutralised; lists
    become ``;``-joined text first."""
    df = frame.drop(columns=["geometry"], errors="ignore").copy()
    df.columns = [neutralise(str(c)) for c in df.columns]
    for c in df.columns:
        if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
            df[c] = _safe_cells(df[c].to_numpy(dtype=object))
    return df


def _safe_cells(values: np.ndarray) -> np.ndarray:
    """:func:`_cell` of each value; only the cells that are not plain text or
    start like a formula or hold a CR go through it (one cheap pass finds them).

    >>> _safe_cells(np.array(["QL24", "=1+1", ["a", "b"], None, "a\\rb"], dtype=object)).tolist()
    ['QL24', "'=1+1", 'a;b', None, 'a\\nb']
    """
    needs = np.fromiter(
        (type(v) is not str or v.startswith(FORMULA_START) or "\r" in v for v in values), dtype=bool, count=len(values)
    )
    if not needs.any():
        return values
    out = values.copy()
    out[needs] = [_cell(v) for v in values[needs]]
    return out


def _cell(v: object) -> object:
    if isinstance(v, (list, tuple, np.ndarray)):
        v = ";".join(map(str, v))
    v = neutralise(v)
    if isinstance(v, str) and "\r" in v:  # a bare CR would end the CSV line unquoted: line breaks are \n
        v = v.replace("\r\n", "\n").replace("\r", "\n")
    return v


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with BOM (Excel opens it with the right accents)."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with open(path, "wb") as fh:
        fh.write(to_csv_bytes(frame))


def append_csv(frame: pd.DataFrame, path: str | Path, *, header: bool) -> None:
    """Write ``frame`` to a CSV a part at a time: the first part (``header``)
    starts the file with its BOM and header, later parts are added below."""
    text = safe_frame(frame).to_csv(index=False, header=header)
    with open(path, "wb" if header else "ab") as fh:
        fh.write(text.encode("utf-8-sig" if header else "utf-8"))


def to_xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook of one sheet per frame: bold wrapped header, frozen first
    row, auto filter, column widths; text cells never formulas."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, frame in sheets.items():
            df = safe_frame(frame)
            for c in df.columns:  # (a column is searched at once, its texts joined; cleaned only if it needs it)
                if df[c].dtype == object:
                    texts = [v for v in df[c].to_numpy() if isinstance(v, str)]
                    if _NOT_XML.search("\n".join(texts)):
                        df[c] = df[c].map(lambda v: xml_safe(v) if isinstance(v, str) else v)
            sheet = name[:31]
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":  # openpyxl makes any text starting with "=" a formula
                        cell.data_type = "s"
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = ws.dimensions
            for cell in ws[1]:
                cell.font = Font(bold=True)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for i, col in enumerate(df.columns, start=1):
                values = [str(col)] + [str(v) for v in df[col].head(500).tolist()]
                ws.column_dimensions[get_column_letter(i)].width = min(max(len(v) for v in values) + 2, 60)
    return buf.getvalue()
