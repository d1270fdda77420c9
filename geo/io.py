"""Reading user files into tables: CSV (UTF-8, UTF-8 with BOM, CP1258), XLSX,
GeoJSON, GeoPackage, zipped Shapefile and KML.

Every reader returns a :class:`RawTable`: the attribute columns as text, so the
validator sees exactly what the user typed, plus the geometries when the format
has them. Any problem raises :class:`errors.InputFileError` with a message for
the user; no reader ever returns half a file.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import shapely

from errors import CRSError, InputFileError
from geo.text import per_text

if TYPE_CHECKING:
    import geopandas as gpd

TABULAR = {".csv", ".txt", ".xlsx", ".xlsm"}
SPATIAL = {".geojson", ".json", ".gpkg", ".zip", ".kml"}
SUPPORTED = TABULAR | SPATIAL

#: Largest file accepted, in MB (the app passes ``settings.MAX_UPLOAD_MB``).
MAX_UPLOAD_MB = 200.0
#: Folder under which spatial files are unpacked to be read (the app passes
#: ``settings.DATA_DIR / "uploads"``); created when needed.
UPLOAD_DIR = Path(__file__).resolve().parents[1] / "data" / "uploads"

# GDAL (under pyogrio) picks a reader by a file's content, not its name: an upload named .geojson holding a
# virtual-layer description (VRT) read any file or address the server can reach. Uploads are checked against
# their format's first bytes (:func:`_check_signature`); and, read before pyogrio registers its drivers, the
# virtual-layer readers are left out and GDAL's network file system finds nothing (no file is remote here).
os.environ["GDAL_SKIP"] = " ".join(dict.fromkeys([*os.environ.get("GDAL_SKIP", "").split(), "OGR_VRT", "VRT"]))
os.environ["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] = ".no-remote-files"

#: How each spatial format's bytes begin (after a UTF-8 byte order mark and white space, for text formats)
_SIGNATURES = {
    ".geojson": (b"{",),
    ".json": (b"{",),
    ".gpkg": (b"SQLite format 3\x00",),
    ".shp": (b"\x00\x00\x27\x0a",),
    ".shx": (b"\x00\x00\x27\x0a",),
}
#: Largest total size of the files unpacked from one zip (zip-bomb guard).
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
#: The most entries an uploaded zip may hold (a Shapefile is a handful of files)
MAX_ZIP_ENTRIES = 1000
#: The most a packed office file's part over 20 MB may grow on unpacking. A sheet of crashes packs 5–30
#: times, one formatted down to its last row a few hundred times; a bomb ~1 000 times (deflate's most): a
#: 100 kB part that unpacked to 100 MB, one cell, took 1.7 GB and 21 s to read
MAX_UNPACK_RATIO = 500
#: A zip that unpacks to more than this many times its packed size (past 10 MB) is a bomb.
MAX_ZIP_RATIO = 100


@dataclass
class RawTable:
    """A table read from a file.

    Attributes
    ----------
    frame
        Attribute columns, all as text (``""`` for blank cells).
    geometry
        Shapely geometries, one per row, or ``None`` for a plain table.
    crs
        The CRS the file declares (``"EPSG:4326"``), or ``None``.
    fmt
        The format read: csv, xlsx, geojson, gpkg, shp, kml.
    encoding
        The text encoding detected, for CSV.
    row_numbers
        Each row's number in the file (sheet row or line, from 1), for tables.
    skipped
        ``(row number, reason)`` of rows that are not crash rows (title,
        totals, signatures, blank).
    header_rows
        The row numbers of the header (one or two rows).
    sheet, sheets
        The sheet the table was read from, and all sheets of a workbook.
    """

    frame: pd.DataFrame
    geometry: np.ndarray | None = None
    crs: str | None = None
    fmt: str = ""
    encoding: str | None = None
    row_numbers: np.ndarray | None = None
    skipped: list[tuple[int, str]] = field(default_factory=list)
    header_rows: list[int] = field(default_factory=list)
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)

    def numbers(self) -> np.ndarray:
        """Each row's number as the user sees it (sheet row or file line); for
        formats without rows (GeoJSON …) the feature's position + 2, as the
        row would be in a sheet under a header.

        Returns
        -------
        numpy.ndarray
            One number per row of :attr:`frame`.

        Examples
        --------
        >>> RawTable(frame=pd.DataFrame({"Xã": ["Đăk Tô", "Ngọc Hồi"]}), row_numbers=[5, 7]).numbers().tolist()
        [5, 7]
        >>> RawTable(frame=pd.DataFrame({"Xã": ["Đăk Tô", "Ngọc Hồi"]})).numbers().tolist()
        [2, 3]
        """
        if self.row_numbers is not None:
            return np.asarray(self.row_numbers)
        return np.arange(len(self.frame)) + 2


def read_table(
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    max_mb: float = MAX_UPLOAD_MB,
    sheet: str | None = None,
    tmp_dir: str | Path = UPLOAD_DIR,
) -> RawTable:
    """Read a crash, road, boundary or encroachment file.

    Parameters
    ----------
    source
        A path, or the file's bytes (an upload).
    filename
        The file's name, needed with bytes to know the format.
    max_mb
        Size limit in MB (default :data:`MAX_UPLOAD_MB`).
    sheet
        A workbook's sheet to read (default: the one holding a crash table).
    tmp_dir
        Folder under which a spatial file is unpacked to be read (default
        :data:`UPLOAD_DIR`).

    Returns
    -------
    RawTable
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        filename = filename or path.name
        if not path.exists():
            raise InputFileError(f"Không tìm thấy tệp / File not found: {path}")
        size = path.stat().st_size
        _check_size(size, max_mb, filename)
        data = path.read_bytes()
    else:
        data = bytes(source)
        _check_size(len(data), max_mb, filename or "")
    if not filename:
        raise InputFileError("Thiếu tên tệp / File name missing")
    ext = Path(filename).suffix.lower()
    if ext not in SUPPORTED:
        raise InputFileError(
            f"Định dạng '{ext or filename}' không được hỗ trợ / Unsupported format. "
            f"Hỗ trợ / Supported: CSV, XLSX, GeoJSON, GeoPackage, Shapefile (.zip), KML"
        )
    if len(data) == 0:
        raise InputFileError(f"Tệp rỗng / Empty file: {filename}")
    if ext in (".csv", ".txt"):
        return _read_csv(data)
    if ext in (".xlsx", ".xlsm"):
        return _read_xlsx(data, sheet=sheet)
    if ext == ".kml":
        return _read_kml(data)
    if ext == ".zip":
        return _read_zipped_shapefile(data, tmp_dir)
    return _read_ogr(data, ext, tmp_dir)


def _check_size(size: int, max_mb: float, filename: str) -> None:
    if size > max_mb * 1024 * 1024:
        raise InputFileError(
            f"Tệp quá lớn / File too large: {filename} ({size / 1048576:.0f} MB, "
            f"giới hạn / limit {max_mb:.0f} MB). Hãy chia tệp / Split the file."
        )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file: UTF-8 (with or without BOM), else Windows-1258.

    The text is put in Unicode NFC form, since CP1258 writes Vietnamese tones as
    combining marks.

    Parameters
    ----------
    data
        The file's bytes.

    Returns
    -------
    text : str
        The text, in NFC.
    encoding : str
        ``utf-8-sig``, ``utf-16``, ``utf-8`` or ``cp1258``.

    Raises
    ------
    InputFileError
        If the bytes are binary, or are marked UTF-8 or UTF-16 but are not,
        or are neither UTF-8 nor Windows-1258.

    Examples
    --------
    >>> decode_text(encode_cp1258("Xã Liên Minh"))
    ('Xã Liên Minh', 'cp1258')
    >>> decode_text(b"\\xef\\xbb\\xbfKm 105+500")
    ('Km 105+500', 'utf-8-sig')
    """
    text, name, _ = _decode(data)
    return text, name


def _nfc_of(text: str) -> tuple[str, bool]:
    """``text`` in NFC, and whether it was already (the same object back)."""
    out = unicodedata.normalize("NFC", text)
    return out, out is text


def _decode(data: bytes) -> tuple[str, str, bool]:
    """:func:`decode_text`, and whether the text is the bytes as they are
    (UTF-8 already in NFC: a reader may then read the bytes themselves)."""
    for bom, codec, name in (
        (b"\xef\xbb\xbf", "utf-8", "utf-8-sig"),
        (b"\xff\xfe", "utf-16", "utf-16"),
        (b"\xfe\xff", "utf-16", "utf-16"),
    ):
        if data.startswith(bom):
            skip = len(bom) if name == "utf-8-sig" else 0  # the UTF-16 codec reads its own mark
            try:
                text = data[skip:].decode(codec)
            except UnicodeDecodeError as exc:  # the mark says one encoding, the bytes another
                raise InputFileError(
                    f"Tệp đánh dấu {name.upper()} nhưng có byte sai ở vị trí {exc.start + skip}; hãy lưu lại "
                    f"dạng CSV UTF-8 / The file is marked {name.upper()} but has invalid bytes at position "
                    f"{exc.start + skip}; save it again as CSV UTF-8"
                ) from exc
            text, same = _nfc_of(text)
            return text, name, same and name == "utf-8-sig"
    try:
        text, same = _nfc_of(data.decode("utf-8"))
        return text, "utf-8", same
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        raise InputFileError("Tệp không phải văn bản / Not a text file (binary content)")
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            "Không đọc được mã ký tự; hãy lưu tệp dạng CSV UTF-8 / Unknown text encoding; save the file as CSV UTF-8"
        ) from exc
    return unicodedata.normalize("NFC", text), "cp1258", False


def encode_cp1258(text: str) -> bytes:
    """Encode text as Windows-1258 the way Vietnamese Excel does: letters with
    circumflex, breve or horn precomposed, tone marks as combining characters.

    Parameters
    ----------
    text
        The text to encode.

    Returns
    -------
    bytes
        The text in Windows-1258.

    Raises
    ------
    UnicodeEncodeError
        If a character has no Windows-1258 form (e.g. ``€`` has one, ``中`` none).

    Examples
    --------
    >>> encode_cp1258("Đức Thọ")
    b'\\xd0\\xfd\\xecc Tho\\xf2'
    >>> decode_text(encode_cp1258("Số người bị thương, Cộng hòa"))[0]
    'Số người bị thương, Cộng hòa'
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base, marks = parts[0], parts[1:]
        # compose the letter's shape mark (ê, ơ, ă: circumflex, horn, breve)
        # when the codec has that letter; the tone mark stays combining
        for k, mark in enumerate(marks):
            composed = unicodedata.normalize("NFC", base + mark)
            try:
                letter = composed.encode("cp1258")
            except UnicodeEncodeError:
                continue
            out += letter
            out += (marks[:k] + marks[k + 1 :]).encode("cp1258")
            break
        else:
            out += base.encode("cp1258") + marks.encode("cp1258")
    return bytes(out)


_DELIMITERS = (",", ";", "\t", "|")


def _sniff_delimiters(lines: list[str]) -> list[str]:
    """The delimiters that split lines of the top of a file into the same
    number (≥ 2) of fields, most lines times most fields first: a title line
    above the table does not fool it."""
    scored = []
    for sep in _DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=sep))) for ln in lines if ln.strip()]
        counts = [c for c in counts if c >= 2]
        if counts:
            top = max(set(counts), key=counts.count)
            scored.append((counts.count(top) * top, sep))
    return [sep for _, sep in sorted(scored, key=lambda x: -x[0])] or [","]


def _stray_delimiters(grid: list[list[str]], sep: str) -> int:
    """Cells of ``grid`` (split at ``sep``) that begin or end with another
    delimiter: the file's real delimiter, with ``sep`` only padding around it
    ("1;\t05/02/2024", "1\t;\t05/02/2024")."""
    others = tuple(d for d in _DELIMITERS if d != sep)
    cells = (c.strip() for row in grid for c in row)
    return sum(1 for c in cells if c.startswith(others) or c.endswith(others))


def _nfc(texts: pd.Series) -> np.ndarray:
    return np.array([unicodedata.normalize("NFC", t) for t in texts], dtype=object)


def _csv_head(head_lines: list[str]) -> tuple[str, list[list[str]], int, int, int, int]:
    """(delimiter, the top rows as cells in NFC, header start, header rows,
    score, width) of a CSV's first lines: where its table is."""
    from geo.tablefind import find_header

    best: tuple[tuple[int, int, int], str, list[list[str]], int, int, int] | None = None
    # of the delimiters that split the top evenly: the one under which the header reads best, then the one
    # that leaves no other delimiter at a cell's edge (cells padded with tabs split evenly at tabs too)
    try:
        candidates = _sniff_delimiters(head_lines)
    except csv.Error as exc:  # a cell longer than the csv module's field limit, say
        raise InputFileError(f"CSV lỗi cấu trúc / Malformed CSV: {exc}") from exc
    for rank, sep in enumerate(candidates):
        try:
            # each line with its end, so a header cell wrapped in quotes (Excel's wrap text) keeps its line break
            rows = csv.reader([line + "\n" for line in head_lines], delimiter=sep)
            grid = [[unicodedata.normalize("NFC", c) for c in row] for row in rows]
        except csv.Error as exc:
            if rank == 0:
                raise InputFileError(f"CSV lỗi cấu trúc / Malformed CSV: {exc}") from exc
            continue
        start, n_head, score = find_header(grid)
        key = (score, -_stray_delimiters(grid[start : start + n_head + 5], sep), -rank)
        if best is None or key > best[0]:
            best = (key, sep, grid, start, n_head, score)
    assert best is not None
    _, sep, grid, start, n_head, score = best
    return sep, grid, start, n_head, score, max((len(r) for r in grid), default=0)


def _arrow_csv_options(
    *, sep: str, skip: int, width: int, columns: list[str] | None = None, **read: Any
) -> dict[str, Any]:
    """Options of Arrow's CSV readers that read cells as pandas' reader does
    here: ``width`` columns named "0", "1" … below line ``skip``, every cell
    text (never null), line breaks inside quotes, blank lines kept (a reader
    then stops at them); ``columns`` only, if given; ``read`` more read options."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [str(k) for k in range(width)]
    wanted = columns or names
    return dict(
        read_options=pacsv.ReadOptions(skip_rows=skip, column_names=names, **read),
        parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types={n: pa.string() for n in wanted},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _arrow_suits(text: str, skip: int) -> bool:
    """Whether Arrow's CSV reader reads the rows below line ``skip`` of
    ``text`` as pandas' does (see :func:`_arrow_body`): no blank line (pandas
    keeps it as a row, to be numbered and reported) and no quote in the
    header's lines (the two count skipped lines differently there)."""
    return not ("\n\n" in text or text.startswith("\n") or '"' in "\n".join(text.split("\n", skip + 1)[:skip]))


def _arrow_body(source: str | bytes | memoryview, *, sep: str, skip: int, width: int) -> pd.DataFrame | None:
    """The rows below line ``skip`` of a CSV (its text, or its UTF-8 bytes)
    as text cells, read by Arrow's CSV reader (several times faster than
    pandas' for text cells), or None where that reader would read the file
    otherwise than pandas': a file :func:`_arrow_suits` refuses, or a row of
    another width (an error for Arrow, padded by pandas); pandas then reads it.
    Its cells are pandas' cells trimmed (marked ``attrs[TRIMMED]`` when Arrow
    trims as ``str.strip`` does), which is what the table finder makes of
    pandas' (checked by a test on generated files)."""
    if isinstance(source, str):
        if not _arrow_suits(source, skip):
            return None
        source = source.encode("utf-8")
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow comes with the requirements
        return None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(source)), **_arrow_csv_options(sep=sep, skip=skip, width=width)
        )
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    table, trimmed = _trimmed(table)
    columns = list(table.columns)
    del table
    cells = {}
    for k in range(len(columns)):  # each column's Arrow buffers let go as it is converted
        cells[k] = _python_text(columns[k])
        columns[k] = None
    pa.default_memory_pool().release_unused()
    body = pd.DataFrame(cells, dtype=object)
    body.columns = pd.RangeIndex(width)
    body.attrs[TRIMMED] = trimmed
    return body


def _python_text(column: Any) -> np.ndarray:
    """An Arrow text column as an object array of Python strings; a column of
    few distinct cells in its first 20 000 (dates, road codes, counts) makes
    one string per distinct cell, shared by its rows: a million rows of them
    then hold thousands of strings instead of a million (~55 MB a column)."""
    import pyarrow.compute as pc

    n = len(column)
    sample = column.slice(0, 20_000)  # counting a million distinct cells costs more than it saves
    if n > 1000 and int(pc.count_distinct(sample).as_py()) * 4 <= len(sample):
        coded = column.combine_chunks().dictionary_encode()
        values: np.ndarray = coded.dictionary.to_numpy(zero_copy_only=False)[coded.indices.to_numpy()]
        return values
    out: np.ndarray = column.to_numpy(zero_copy_only=False)
    return out


#: A frame's ``attrs`` key: its cells are text, every one trimmed (none starts or ends with white space).
TRIMMED = "trimmed_text"


def _trimmed(table: Any) -> tuple[Any, bool]:
    """``table`` (Arrow, text columns) with its cells trimmed by Arrow's
    kernel, and whether they are now as Python's ``str.strip`` leaves them
    (:func:`_arrow_strips_as_python`); ``table`` as it is otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _arrow_strips_as_python():
        return table, False
    return pa.table([pc.utf8_trim_whitespace(c) for c in table.columns], names=table.column_names), True


@functools.cache
def _arrow_strips_as_python() -> bool:
    """Whether Arrow's ``utf8_trim_whitespace`` trims what ``str.strip`` does:
    every character below U+3001 (the last ``str.isspace`` one is U+3000) put
    at both ends of a letter, trimmed by both and compared (checked once a
    process; a test checks every code point)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = [c + "x" + c for c in map(chr, range(0x3001)) if not 0xD800 <= ord(c) <= 0xDFFF]
    return bool(pc.utf8_trim_whitespace(pa.array(cells)).to_pylist() == [c.strip() for c in cells])


def _read_csv(data: bytes) -> RawTable:
    """A CSV as the user sees it: the table found under any title rows, its
    rows numbered by their line in the file (blank lines counted)."""
    from geo.tablefind import SEARCH_ROWS, table_under_header

    text, encoding, as_is = _decode(data)
    if not text.strip():
        raise InputFileError("Tệp rỗng / Empty file")
    if "\r" in text:  # Windows (CR LF) and old Mac (CR) line ends
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        as_is = False
    if "\x00" in text:
        raise InputFileError("Tệp không phải văn bản / Not a text file (binary content)")
    sep, grid, start, n_head, score, width = _csv_head(text.split("\n", SEARCH_ROWS + 2)[: SEARCH_ROWS + 1])
    skip = start + n_head
    ends_with_newline = text.endswith("\n")
    body = None
    if _arrow_suits(text, skip):
        # the text's own bytes are read where they are the file's (no copy), and the text let go meanwhile
        source = memoryview(data)[3 if encoding == "utf-8-sig" else 0 :] if as_is else text.encode("utf-8")
        del text
        body = _arrow_body(source, sep=sep, skip=skip, width=width)
        del source
        if body is None:  # read by pandas after all
            text = decode_text(data)[0].replace("\r\n", "\n").replace("\r", "\n")
    try:
        if body is None:
            body = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=None,
                names=range(width),
                skiprows=skip,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                engine="c",
                index_col=False,
            )
    except (pd.errors.ParserError, ValueError):  # a row wider than the top of the file: read it all by hand
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=sep))[skip:]
        except csv.Error as exc:
            raise InputFileError(f"CSV lỗi cấu trúc / Malformed CSV: {exc}") from exc
        width = max(width, max((len(r) for r in rows), default=0))
        body = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    except pd.errors.EmptyDataError:
        body = pd.DataFrame(columns=range(width), dtype=object)
    trimmed = bool(body.attrs.get(TRIMMED))
    if ends_with_newline and len(body) and body.iloc[-1].astype(str).str.strip().eq("").all():
        body = body.iloc[:-1]  # the newline that ends the file is not a blank line
    found = table_under_header(grid, body, start=start, n_head=n_head, score=score, trimmed=trimmed)
    if found.frame.empty:
        raise InputFileError("Tệp không có dòng dữ liệu nào / The file has no data rows")
    return RawTable(
        frame=found.frame,
        fmt="csv",
        encoding=encoding,
        row_numbers=found.row_numbers,
        skipped=found.skipped,
        header_rows=found.header_rows,
    )


@dataclass
class CsvParts:
    """A large CSV read part by part (:func:`csv_parts`): the header found at
    the top, then :meth:`tables` yields the table's rows a part at a time,
    numbered by their line in the file, so memory stays bounded."""

    path: Path
    encoding: str
    sep: str
    heads: list[str]
    header_rows: list[int]
    first_row_number: int
    width: int
    score: int
    sha256: str
    ends_with_newline: bool
    #: the whole file is in NFC already (checked while reading it for its encoding): no part needs composing
    nfc: bool = False
    #: a blank line somewhere (pandas keeps it as a row; Arrow's reader would not)
    blank_lines: bool = True
    #: a quote in the lines above the table (readers count those lines differently)
    quote_in_header: bool = True
    #: Arrow's reader read the whole file as pandas' would (set by :meth:`column`): the parts are read by it
    arrow_reads_it: bool = False

    def column(self, index: int, *, chunk_rows: int = 200_000) -> Iterator[tuple[pd.Series, np.ndarray]]:
        """One column's cells as text with their row numbers, a part at a
        time, every line as it is (as :meth:`tables` with ``usecols``). A
        UTF-8 file in NFC without blank lines is read by Arrow's CSV reader
        (on every core, a few times faster); any other, or one Arrow reads
        otherwise (a row of another width), by pandas."""
        got = self._arrow_column(index)
        if got is None:
            for t in self.tables(chunk_rows=chunk_rows, usecols=[index]):
                yield t.frame.iloc[:, 0], t.numbers()
            return
        for k in range(0, len(got), chunk_rows):
            part = got.iloc[k : k + chunk_rows].reset_index(drop=True)
            yield part, np.arange(len(part)) + self.first_row_number + k

    def _arrow_options(self, columns: list[str] | None = None) -> dict[str, Any]:
        return _arrow_csv_options(
            sep=self.sep,
            skip=self.first_row_number - 1,
            width=self.width,
            columns=columns,
            encoding="utf-8",
            block_size=1 << 24,
        )

    def _arrow_column(self, index: int) -> pd.Series | None:
        """The column read whole by Arrow, or None where pandas must read the
        file. Arrow reading it whole proves every row has the header's width:
        the parts may then be read by Arrow too (:attr:`arrow_reads_it`)."""
        if not (self.nfc and self.encoding.startswith("utf-8")) or self.blank_lines or self.quote_in_header:
            return None
        import pyarrow as pa
        import pyarrow.csv as pacsv

        try:
            table = pacsv.read_csv(self.path, **self._arrow_options([str(index)]))
        except (pa.ArrowInvalid, pa.ArrowException, ValueError, OSError):
            return None
        values: pd.Series = table.column(0).to_pandas()
        self.arrow_reads_it = True
        return values

    def _arrow_parts(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        """Every column's cells, ``chunk_rows`` rows at a time, read by Arrow's
        streaming CSV reader (the file's blocks parsed on every core)."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        held: list[pa.RecordBatch] = []
        n = 0
        with pacsv.open_csv(self.path, **self._arrow_options()) as reader:
            for batch in reader:
                held.append(batch)
                n += batch.num_rows
                while n >= chunk_rows:
                    table = pa.Table.from_batches(held)
                    held, n = table.slice(chunk_rows).to_batches(), n - chunk_rows
                    yield self._arrow_frame(table.slice(0, chunk_rows))
        if n:
            yield self._arrow_frame(pa.Table.from_batches(held))

    def _arrow_frame(self, table: Any) -> pd.DataFrame:
        frame: pd.DataFrame = table.to_pandas(deduplicate_objects=False)
        frame.columns = pd.RangeIndex(self.width)
        return frame

    @property
    def columns(self) -> list[str]:
        """The table's headers (a copy of :attr:`heads`)."""
        return list(self.heads)

    def tables(self, *, chunk_rows: int = 200_000, usecols: list[int] | None = None) -> Iterator[RawTable]:
        """Yield a :class:`RawTable` per part of ``chunk_rows`` lines (the
        rows after a signature or a second table are set aside, as in one
        read). ``usecols`` reads only those columns (by position), every line
        as it is (no rows set aside: a column alone does not show them).

        Parameters
        ----------
        chunk_rows
            Lines of the file per part.
        usecols
            Positions of the columns to read, or ``None`` for all.

        Yields
        ------
        RawTable
            One part: its rows under the file's headers, their line numbers,
            and the rows set aside in it.

        Raises
        ------
        InputFileError
            If the CSV is malformed (an unclosed quote, a row the parser cannot
            read), with the file's line where it can be told.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = Path(d) / "vu.csv"
        ...     _ = path.write_text("Báo cáo tai nạn\\nXã;Số vụ\\nĐăk Tô;3\\nNgọc Hồi;1\\n", encoding="utf-8")
        ...     [(t.frame.to_dict("records"), t.row_numbers.tolist()) for t in csv_parts(path).tables(chunk_rows=1)]
        [([{'Xã': 'Đăk Tô', 'Số vụ': '3'}], [3]), ([{'Xã': 'Ngọc Hồi', 'Số vụ': '1'}], [4])]
        """
        from geo.tablefind import ENDS_TABLE, table_below

        heads = self.heads if usecols is None else [self.heads[i] for i in usecols]
        first, ended = self.first_row_number, None
        try:
            if self.arrow_reads_it and usecols is None:
                parts = self._arrow_parts(chunk_rows)
            else:
                parts = iter(
                    pd.read_csv(
                        self.path,
                        encoding=self.encoding,
                        sep=self.sep,
                        header=None,
                        names=range(self.width),
                        usecols=usecols,
                        skiprows=self.first_row_number - 1,
                        dtype=str,
                        keep_default_na=False,
                        skip_blank_lines=False,
                        engine="c",
                        index_col=False,
                        chunksize=chunk_rows,
                    )
                )
            part = next(parts, None)
            while part is not None:
                nxt = next(parts, None)
                if nxt is None and self.ends_with_newline and len(part) and part.iloc[-1].eq("").all():
                    part = part.iloc[:-1]  # the newline that ends the file is not a blank line
                body = part.reset_index(drop=True)
                body.columns = pd.RangeIndex(body.shape[1])
                for c in body.columns if not self.nfc else ():  # CP1258 writes tones as combining marks: NFC
                    body[c] = per_text(body[c], _nfc)
                if usecols is not None:
                    body.columns = heads
                    yield RawTable(
                        frame=body,
                        fmt="csv",
                        encoding=self.encoding,
                        row_numbers=np.arange(len(body)) + first,
                        header_rows=self.header_rows,
                    )
                elif ended:
                    numbers = np.arange(len(body)) + first
                    yield RawTable(
                        frame=pd.DataFrame(columns=heads),
                        fmt="csv",
                        encoding=self.encoding,
                        row_numbers=np.array([], dtype=int),
                        header_rows=self.header_rows,
                        skipped=[(int(k), ended) for k in numbers],
                    )
                else:
                    found = table_below(
                        body,
                        heads,
                        first_row_number=first,
                        header_rows=self.header_rows,
                        score=self.score,
                        top=first == self.first_row_number,
                    )
                    if (
                        found.skipped
                        and found.skipped[-1][1] in ENDS_TABLE
                        and found.skipped[-1][0] == first + len(body) - 1
                    ):
                        ended = found.skipped[-1][1]
                    yield RawTable(
                        frame=found.frame,
                        fmt="csv",
                        encoding=self.encoding,
                        row_numbers=found.row_numbers,
                        skipped=found.skipped,
                        header_rows=self.header_rows,
                    )
                first += len(part)
                part = nxt
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise _malformed(exc, self.first_row_number, first) from exc


def _malformed(exc: Exception, first_row_number: int, part_start: int) -> InputFileError:
    """A one-line message for a CSV the parser cannot read, with the file's line
    where it can be told (the parser counts rows from the first data row).

    >>> print(_malformed(ValueError("Error tokenizing data. C error: EOF inside string starting at row 233692"), 4, 4))
    CSV lỗi cấu trúc từ dòng 233695: có dấu ngoặc kép (") không được đóng / Malformed CSV from line 233695: a quote (") is never closed
    """
    import re

    text = str(exc)
    m = re.search(r"row (\d+)", text) or re.search(r"[Ll]ine (\d+)", text)
    line = first_row_number + int(m.group(1)) - 1 if m and "row" in m.group(0) else int(m.group(1)) if m else part_start
    if "EOF inside string" in text:
        return InputFileError(
            f'CSV lỗi cấu trúc từ dòng {line}: có dấu ngoặc kép (") không được đóng / Malformed CSV '
            f'from line {line}: a quote (") is never closed'
        )
    if isinstance(exc, UnicodeDecodeError):
        return InputFileError(
            "Không đọc được mã ký tự của tệp; hãy lưu tệp dạng CSV UTF-8 / Unknown text encoding; "
            "save the file as CSV UTF-8"
        )
    if "fields" in text:
        return InputFileError(
            f"CSV lỗi cấu trúc gần dòng {line}: số cột không khớp tiêu đề / Malformed CSV near "
            f"line {line}: the number of cells does not match the header"
        )
    return InputFileError(f"CSV lỗi cấu trúc gần dòng {line} / Malformed CSV near line {line}")


def file_encoding(path: Path) -> tuple[str, str, bool, bool, bool]:
    """(encoding, SHA-256, ends with a newline, already in Unicode NFC, has a
    blank line) of a text file, read in blocks: UTF-8 (with or without BOM),
    UTF-16 by its mark, else Windows-1258 (never taken as NFC: it writes
    tones as combining marks).

    Parameters
    ----------
    path
        The text file.

    Returns
    -------
    encoding : str
        ``utf-8-sig``, ``utf-16``, ``utf-8`` or ``cp1258``.
    sha256 : str
        The file's SHA-256, as hex digits.
    ends_with_newline : bool
        Whether the last byte ends a line.
    nfc : bool
        Whether the text is UTF-8 already in NFC (never for CP1258).
    blank_lines : bool
        Whether a line is empty (two line ends in a row).

    Raises
    ------
    InputFileError
        If the file is binary, marked UTF-8 with invalid bytes, or neither
        UTF-8 nor Windows-1258.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d) / "vu.csv"
    ...     _ = path.write_bytes(encode_cp1258("Xã;Số vụ\\nĐăk Tô;3\\n\\n"))
    ...     encoding, _, newline_end, nfc, blank_lines = file_encoding(path)
    >>> encoding, newline_end, nfc, blank_lines
    ('cp1258', True, False, True)
    """
    import codecs
    import hashlib

    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1258 = codecs.getincrementaldecoder("cp1258")()
    ok, ok1258, head, last, pos = True, True, b"", b"", 0
    nfc, tail, blank, prev = True, "", False, b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
            edge = prev + block[:2]  # a blank line split between two blocks
            blank = blank or any(m in block or m in edge for m in (b"\n\n", b"\n\r\n", b"\r\r"))
            prev = block[-2:]
            head = head or block[:4096]
            last = block[-1:]
            if ok:
                try:
                    text = utf8.decode(block)
                except UnicodeDecodeError:
                    ok = False
                else:  # with the end of the block before: a mark split from its letter is seen
                    nfc = nfc and unicodedata.is_normalized("NFC", tail + text)
                    tail = text[-8:]
            if ok1258:
                try:
                    cp1258.decode(block)
                except UnicodeDecodeError as exc:
                    ok1258, bad_at = False, pos + exc.start
            pos += len(block)
    if ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            ok = False
    if head.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
        if not ok:
            raise InputFileError(
                "Tệp đánh dấu UTF-8 nhưng có byte sai; hãy lưu lại dạng CSV UTF-8 / The file is "
                "marked UTF-8 but has invalid bytes; save it again as CSV UTF-8"
            )
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    elif ok:
        enc = "utf-8"
    elif b"\x00" in head:
        raise InputFileError("Tệp không phải văn bản / Not a text file (binary content)")
    elif not ok1258:
        raise InputFileError(
            f"Không đọc được mã ký tự: byte {bad_at} không phải UTF-8 hay Windows-1258; hãy lưu tệp "
            f"dạng CSV UTF-8 / Unknown text encoding: byte {bad_at} is neither UTF-8 nor "
            f"Windows-1258; save the file as CSV UTF-8"
        )
    else:
        enc = "cp1258"
    return enc, digest.hexdigest(), last in (b"\n", b"\r"), nfc and enc.startswith("utf-8"), blank


def csv_parts(path: str | Path, *, max_mb: float = MAX_UPLOAD_MB) -> CsvParts:
    """Open a CSV to be read in parts: its encoding, delimiter and header
    (found under any title rows, as :func:`read_table` does), read from the
    top of the file only.

    Parameters
    ----------
    path
        The CSV file.
    max_mb
        The largest file accepted, in MB (the app passes ``settings.MAX_UPLOAD_MB``).

    Returns
    -------
    CsvParts
        The file's encoding, delimiter, headers and where its rows start;
        :meth:`CsvParts.tables` then reads the rows.

    Raises
    ------
    InputFileError
        If the file is missing, larger than ``max_mb``, empty, or in an
        encoding that cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d) / "vu.csv"
    ...     _ = path.write_text("Báo cáo tai nạn\\nXã;Số vụ\\nĐăk Tô;3\\n", encoding="utf-8")
    ...     parts = csv_parts(path)
    >>> parts.columns, parts.header_rows, parts.first_row_number, parts.sep
    (['Xã', 'Số vụ'], [2], 3, ';')
    """
    from geo.tablefind import SEARCH_ROWS, header_names

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"Không tìm thấy tệp / File not found: {path}")
    _check_size(path.stat().st_size, max_mb, path.name)
    encoding, sha, newline_end, nfc, blank = file_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        top = "".join(fh.readline() for _ in range(SEARCH_ROWS + 1))
    if not top.strip():
        raise InputFileError("Tệp rỗng / Empty file")
    lines = top.replace("\r\n", "\n").replace("\r", "\n").split("\n")[: SEARCH_ROWS + 1]
    sep, grid, start, n_head, score, width = _csv_head(lines)
    top_of_table = "\n".join(lines[: start + n_head])
    return CsvParts(
        path=path,
        encoding=encoding,
        sep=sep,
        heads=header_names(grid, start, n_head),
        header_rows=[start + 1 + k for k in range(n_head)],
        first_row_number=start + n_head + 1,
        width=width,
        score=score,
        sha256=sha,
        ends_with_newline=newline_end,
        nfc=nfc,
        blank_lines=blank or top.startswith(("\n", "\r")),
        quote_in_header='"' in top_of_table,
    )


def _xlsx_cell(value: object) -> str:
    """A cell as text: dates and times unambiguous (ISO), whole numbers without '.0'."""
    import datetime as _dt

    if value is None:
        return ""
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, _dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, _dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def check_packed(data: bytes, *, what: str, max_bytes: int = MAX_UNZIPPED_BYTES) -> None:
    """Refuse a packed office file (.xlsx, .docx: a zip) that unpacks beyond
    ``max_bytes`` in all, or whose part of over 20 MB grows more than
    :data:`MAX_UNPACK_RATIO` times: read before it is opened.

    Raises
    ------
    InputFileError
        If the file is such a bomb (or no zip at all: said as broken).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except _BROKEN_ZIP as exc:
        raise InputFileError(f"Tệp {what} hỏng / Broken {what} file: {exc}") from exc
    total = sum(i.file_size for i in infos)
    swollen = [
        i.filename for i in infos if i.file_size > 20 << 20 and i.file_size > MAX_UNPACK_RATIO * max(i.compress_size, 1)
    ]
    if total > max_bytes or swollen:
        size = f"{total / 1e6:,.0f} MB".replace(",", ".") + (f"; {swollen[0]}" if swollen else "")
        raise InputFileError(f"Tệp {what} giải nén quá lớn ({size}) / The {what} file unpacks too large ({size})")


def _read_xlsx(data: bytes, *, sheet: str | None = None) -> RawTable:
    """The crash table of a workbook: on the sheet named, else on the sheet
    whose top rows look most like a crash table's header."""
    import openpyxl

    from geo.tablefind import SEARCH_ROWS, find_header, table_under_header

    check_packed(data, what="Excel")
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputFileError(f"Không mở được tệp Excel / Cannot open the Excel file: {exc}") from exc
    try:
        names = list(wb.sheetnames)
        if sheet is not None and sheet not in names:
            raise InputFileError(
                f"Không có trang tính '{sheet}'; có: {', '.join(names)} / No sheet '{sheet}'; "
                f"the workbook has: {', '.join(names)}"
            )
        best = None
        for name in [sheet] if sheet is not None else names:
            ws = wb[name]
            try:
                top = [[_xlsx_cell(v) for v in row] for row in ws.iter_rows(max_row=SEARCH_ROWS, values_only=True)]
            except Exception as exc:
                raise InputFileError(f"Trang tính '{name}' bị hỏng / The sheet '{name}' is damaged: {exc}") from exc
            start, n_head, score = find_header(top)
            if best is None or score > best[3]:
                best = (name, start, n_head, score)
        if best is None:
            raise InputFileError("Tệp Excel không có trang tính nào / The workbook has no sheets")
        name, start, n_head, score = best
        if score < 3:
            where = f"trang tính '{name}'" if sheet is not None else "tệp"
            raise InputFileError(
                f"Không tìm thấy bảng vụ TNGT (dòng tiêu đề cột) trong {where} / No crash table "
                f"(a header row) found on " + (f"the sheet '{name}'" if sheet is not None else "any sheet")
            )
        ws = wb[name]
        try:
            rows = [[_xlsx_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        except Exception as exc:
            raise InputFileError(f"Trang tính '{name}' bị hỏng / The sheet '{name}' is damaged: {exc}") from exc
    finally:
        wb.close()
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    found = table_under_header(
        rows, pd.DataFrame(rows[start + n_head :], dtype=object), start=start, n_head=n_head, score=score
    )
    if found.frame.empty:
        raise InputFileError(f"Trang tính '{name}' không có dòng dữ liệu nào / The sheet '{name}' has no data rows")
    return RawTable(
        frame=found.frame,
        fmt="xlsx",
        row_numbers=found.row_numbers,
        skipped=found.skipped,
        header_rows=found.header_rows,
        sheet=name,
        sheets=names,
    )


def unique_headers(names: Iterable[object]) -> list[str]:
    """Headers NFC-composed and trimmed. A header that then repeats an earlier
    one (``Số người chết`` and ``Số người chết `` or its decomposed form) gets
    ``.1``, ``.2`` as pandas names repeated headers, so every column keeps a
    name of its own.

    Parameters
    ----------
    names
        The headers as read.

    Returns
    -------
    list of str
        One name per header, all different.

    Examples
    --------
    >>> unique_headers(["Số người chết", "Số người chết ", "Xã"])
    ['Số người chết', 'Số người chết.1', 'Xã']
    """
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = new = unicodedata.normalize("NFC", str(name)).strip()
        k = 0
        while new in seen:
            k += 1
            new = f"{base}.{k}"
        seen.add(new)
        out.append(new)
    return out


def _geo_result(gdf: gpd.GeoDataFrame, fmt: str) -> RawTable:
    if len(gdf) == 0:
        raise InputFileError(f"Lớp dữ liệu không có đối tượng nào / The layer has no features ({fmt})")
    if not hasattr(gdf, "geometry"):  # a layer without geometry: pyogrio gives a plain table
        raise InputFileError(f"Lớp dữ liệu không có hình học / The layer has no geometry ({fmt})")
    crs = gdf.crs.to_string() if gdf.crs is not None else None
    if crs is not None:
        _check_crs(crs)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame = frame.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    frame.columns = unique_headers(frame.columns)
    return RawTable(
        frame=frame.reset_index(drop=True), geometry=np.asarray(gdf.geometry.values, dtype=object), crs=crs, fmt=fmt
    )


def _check_crs(crs: str) -> None:
    """Refuse a file whose declared CRS cannot be converted to WGS 84 (another
    celestial body, an engineering CRS, a definition PROJ cannot use)."""
    from geo.crs import WGS84, transform

    try:
        transform(np.zeros(1), np.zeros(1), crs, WGS84)
    except CRSError:
        raise
    except Exception as exc:  # pyproj.exceptions.ProjError and kin
        raise CRSError(
            f"Hệ tọa độ của tệp không chuyển được sang WGS 84 / The file's coordinate system cannot be "
            f"converted to WGS 84: {' '.join(crs.split())[:120]}"
        ) from exc


def _check_signature(data: bytes, ext: str, member: str = "") -> None:
    """Refuse ``data`` unless it begins as a file of its extension ``ext`` does
    (``member``: its name in a zip).

    >>> _check_signature(b'\\xef\\xbb\\xbf  {"type": "FeatureCollection"}', ".geojson")
    >>> _check_signature(b"<OGRVRTDataSource>", ".geojson")
    Traceback (most recent call last):
    ...
    errors.InputFileError: Nội dung tệp không phải .geojson / The file's content is not .geojson
    """
    head = data[:64]
    if ext in (".geojson", ".json"):
        head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(_SIGNATURES[ext]):
        where = f" ({member})" if member else ""
        raise InputFileError(f"Nội dung tệp{where} không phải {ext} / The file's content{where} is not {ext}")


def _read_ogr(data: bytes, ext: str, tmp_dir: str | Path = UPLOAD_DIR) -> RawTable:
    import pyogrio

    _check_signature(data, ext)
    with tempfile.TemporaryDirectory(dir=_tmp_root(tmp_dir)) as tmp:
        path = Path(tmp) / f"upload{ext}"
        path.write_bytes(data)
        try:
            gdf = pyogrio.read_dataframe(path, on_invalid="ignore")  # a broken feature is None, reported later
        except Exception as exc:
            raise InputFileError(f"Không đọc được tệp {ext} / Cannot read the {ext} file: {exc}") from exc
    return _geo_result(gdf, "gpkg" if ext == ".gpkg" else "geojson")


def _tmp_root(tmp_dir: str | Path) -> str:
    root = Path(tmp_dir)
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def safe_extract(zf: zipfile.ZipFile, dest: Path, *, max_bytes: int = MAX_UNZIPPED_BYTES) -> list[Path]:
    """Extract a zip without leaving ``dest``: refuses absolute paths, ``..``,
    links and archives that unpack beyond ``max_bytes`` (zip bombs).

    Parameters
    ----------
    zf
        The open archive.
    dest
        The folder to extract into.
    max_bytes
        The most the archive may unpack to, in bytes.

    Returns
    -------
    list of pathlib.Path
        The files written (folders are made as needed, not listed).

    Raises
    ------
    InputFileError
        If an entry has no name, an unsafe path or is a link, the archive
        holds more than :data:`MAX_ZIP_ENTRIES` entries, or it unpacks beyond
        ``max_bytes`` or far more than it packs (a zip bomb).

    Examples
    --------
    >>> import tempfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("duong/ql24.geojson", "{}")
    ...     z.writestr("../ngoai.txt", "x")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     safe_extract(zipfile.ZipFile(buf), Path(d))
    Traceback (most recent call last):
    ...
    errors.InputFileError: Tệp zip chứa đường dẫn không an toàn / Unsafe path in zip: ../ngoai.txt
    """
    total = 0
    out = []
    dest = dest.resolve()
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:  # (100 000 empty entries: 100 000 files written, 12 s)
        raise InputFileError(
            f"Tệp zip có quá nhiều mục ({len(infos)}; tối đa {MAX_ZIP_ENTRIES}) / The zip holds too many entries "
            f"({len(infos)}; at most {MAX_ZIP_ENTRIES})"
        )
    declared = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if declared > max_bytes or (declared > 10 * 1024 * 1024 and declared > MAX_ZIP_RATIO * max(packed, 1)):
        raise InputFileError(
            f"Tệp zip giải nén quá lớn ({declared // (1024 * 1024)} MB, nén {declared / max(packed, 1):.0f}"
            " lần); không giải nén / The zip unpacks too large or too compressed; nothing extracted"
        )
    for info in infos:
        if not info.filename:  # ZipInfo.is_dir() would raise IndexError
            raise InputFileError("Tệp zip hỏng: có mục không tên / Broken zip file: an entry has no name")
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir():
            continue
        if name.is_absolute() or ".." in name.parts or ":" in info.filename:
            raise InputFileError(f"Tệp zip chứa đường dẫn không an toàn / Unsafe path in zip: {info.filename}")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise InputFileError(f"Tệp zip chứa liên kết / Link in zip: {info.filename}")
        total += info.file_size
        if total > max_bytes:
            raise InputFileError("Tệp zip giải nén quá lớn / Zip unpacks too large")
        target = (dest / Path(*name.parts)).resolve()
        if dest not in target.parents:
            raise InputFileError(f"Tệp zip chứa đường dẫn không an toàn / Unsafe path in zip: {info.filename}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as dst:
            written = 0
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size or written > max_bytes:
                    raise InputFileError("Tệp zip giải nén quá lớn / Zip unpacks too large")
                dst.write(chunk)
        out.append(target)
    return out


#: What :mod:`zipfile` raises for a damaged archive or member (besides BadZipFile:
#: truncated streams, broken deflate data, encryption, unknown compression,
#: member names the file system refuses).
_BROKEN_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError, OSError)


def _read_zipped_shapefile(data: bytes, tmp_dir: str | Path = UPLOAD_DIR) -> RawTable:
    import pyogrio

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except _BROKEN_ZIP as exc:
        raise InputFileError("Tệp zip hỏng / Broken zip file") from exc
    with zf, tempfile.TemporaryDirectory(dir=_tmp_root(tmp_dir)) as tmp:
        try:
            files = safe_extract(zf, Path(tmp))
        except _BROKEN_ZIP as exc:  # a damaged member: bad header, CRC, deflate stream, encrypted
            raise InputFileError(
                f"Tệp zip hỏng, không giải nén được / Broken zip file, cannot extract: "
                f"{' '.join(str(exc).split())[:200]}"
            ) from exc
        # (macOS's zip adds __MACOSX/._name.shp resource files beside the layer's own)
        shps = [
            f for f in files if f.suffix.lower() == ".shp" and "__MACOSX" not in f.parts and not f.name.startswith("._")
        ]
        if not shps:
            raise InputFileError("Tệp zip không chứa tệp .shp / The zip holds no .shp file")
        if len(shps) > 1:
            raise InputFileError(
                "Tệp zip chứa nhiều lớp .shp; chỉ gửi một lớp / The zip holds several .shp layers; send one"
            )
        shp = shps[0]
        for needed in (".shx", ".dbf"):
            if not any(f.stem == shp.stem and f.suffix.lower() == needed for f in files):
                raise InputFileError(f"Shapefile thiếu tệp {needed} / Shapefile lacks its {needed} file")
        shx = next(f for f in files if f.stem == shp.stem and f.suffix.lower() == ".shx")
        for f in (shp, shx):  # what GDAL opens begins as a Shapefile does (sidecars such as .shp.xml are not read)
            with open(f, "rb") as fh:
                _check_signature(fh.read(64), f.suffix.lower(), f.name)
        try:
            gdf = pyogrio.read_dataframe(shp, encoding=None, on_invalid="ignore")
        except Exception as exc:
            raise InputFileError(f"Không đọc được Shapefile / Cannot read the Shapefile: {exc}") from exc
    return _geo_result(gdf, "shp")


_KML_NS = "{http://www.opengis.net/kml/2.2}"


def _read_kml(data: bytes) -> RawTable:
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError: an unknown encoding declared
        raise InputFileError(f"KML lỗi cấu trúc / Malformed KML: {exc}") from exc
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    rows, geoms = [], []
    for pm in root.iter(f"{ns}Placemark"):
        row = {
            "name": (pm.findtext(f"{ns}name") or "").strip(),
            "description": (pm.findtext(f"{ns}description") or "").strip(),
        }
        for data_el in pm.iter(f"{ns}Data"):
            row[data_el.get("name", "")] = (data_el.findtext(f"{ns}value") or "").strip()
        for sd in pm.iter(f"{ns}SimpleData"):
            row[sd.get("name", "")] = (sd.text or "").strip()
        rows.append(row)
        geoms.append(_kml_geometry(pm, ns))
    if not rows:
        raise InputFileError("KML không có placemark nào / The KML has no placemarks")
    frame = pd.DataFrame(rows).fillna("")
    frame.columns = unique_headers(frame.columns)
    frame = frame.map(lambda v: unicodedata.normalize("NFC", v))
    return RawTable(frame=frame, geometry=np.asarray(geoms, dtype=object), crs="EPSG:4326", fmt="kml")


def _kml_coords(text: str | None) -> list[tuple[float, float]]:
    pts = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) >= 2:
            try:
                pts.append((float(parts[0]), float(parts[1])))
            except ValueError:  # a broken coordinate: the feature is refused later if nothing is left
                continue
    return pts


def _kml_geometry(pm: ET.Element, ns: str) -> shapely.Geometry | None:
    parts: list[shapely.Geometry] = []
    for el in pm.iter():
        tag = el.tag.replace(ns, "")
        if tag == "Point":
            c = _kml_coords(el.findtext(f"{ns}coordinates"))
            if c:
                parts.append(shapely.Point(c[0]))
        elif tag == "LineString":
            c = _kml_coords(el.findtext(f"{ns}coordinates"))
            if len(c) >= 2:
                parts.append(shapely.LineString(c))
        elif tag == "Polygon":
            outer = el.find(f"{ns}outerBoundaryIs/{ns}LinearRing/{ns}coordinates")
            c = _kml_coords(outer.text if outer is not None else None)
            holes = [_kml_coords(h.text) for h in el.findall(f"{ns}innerBoundaryIs/{ns}LinearRing/{ns}coordinates")]
            if len(c) >= 4:
                parts.append(shapely.Polygon(c, [h for h in holes if len(h) >= 4]))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return shapely.GeometryCollection(parts)
