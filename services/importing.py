"""Import service: read → validate (preview) → commit or discard. No UI here."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

import settings
from errors import InputFileError
from geo.io import RawTable, read_table
from geo.chainage import RoadNetwork, normalise_road_code
from geo.columns import ROAD_ALIASES, auto_map, normalise_header
from geo.crs import WGS84, transform
from geo.geometry import repair_geometries, report_lines
from geo.validate import ValidationResult, validate_crashes
from models.store import ImportSummary, Store, UndoSummary, encode_crash_rows

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from geo.dates import FileDateOrder
    from geo.io import CsvParts


def read_file(source: str | Path | bytes, *, filename: str | None = None, sheet: str | None = None) -> RawTable:
    """:func:`geo.io.read_table` with the tool's settings: the upload size
    limit (``settings.MAX_UPLOAD_MB``) and the folder spatial files are
    unpacked in (``settings.DATA_DIR / "uploads"``)."""
    return read_table(
        source, filename=filename, sheet=sheet, max_mb=settings.MAX_UPLOAD_MB, tmp_dir=settings.DATA_DIR / "uploads"
    )


@dataclass
class CrashPreview:
    table: RawTable
    result: ValidationResult
    sha256: str
    filename: str
    roads: RoadNetwork | None = None  # the network the rows were located on; the commit uses the same


def preview_crashes(
    store: Store,
    data: bytes,
    filename: str,
    *,
    mapping: dict[str, str] | None = None,
    source_crs: str | int | None = None,
    bounds: Sequence[float] = settings.VIETNAM_BOUNDS,
    sheet: str | None = None,
    date_order: str | None = None,
    overlay: bool = False,
) -> CrashPreview:
    """Read and validate a crash file against the store's roads and
    administrative units; writes nothing.

    The stages: read → find the table (:mod:`geo.tablefind`) → map columns
    (:func:`geo.columns.auto_map`, or ``mapping``) → parse values
    (:mod:`geo.dates`, :mod:`geo.location`) → group casualty rows
    (:mod:`geo.casualties`) → place (coordinates or chainage) → check
    (:func:`geo.validate.validate_crashes`) → match the communes to the
    store's units (:func:`services.communes.match_communes`); earlier imports
    are matched at commit. With ``overlay`` the ``mapping`` given adds to (and
    overrides) the one found from the headers, instead of replacing it."""
    table = read_file(data, filename=filename, sheet=sheet)
    if mapping and overlay:
        mapping = _overlaid(mapping, list(table.frame.columns))
    roads = store.road_network()
    result = validate_crashes(
        table,
        mapping=mapping,
        source_crs=source_crs,
        bounds=bounds,
        roads=roads,
        snap_m=settings.SNAP_DISTANCE_M,
        date_order=date_order,
    )
    match_result_communes(store, result)
    return CrashPreview(
        table=table, result=result, sha256=hashlib.sha256(data).hexdigest(), filename=filename, roads=roads
    )


def _overlaid(given: dict[str, str], columns: list[str]) -> dict[str, str]:
    """The mapping found from the headers, with ``given`` added over it."""
    missing = [c for c in given.values() if c not in columns]
    if missing:
        raise InputFileError(
            f"Cột không có trong tệp / Columns not in the file: {', '.join(missing)}. "
            f"Các cột / Columns: {', '.join(map(str, columns))}"
        )
    return {f: c for f, c in auto_map(columns).items() if c not in set(given.values()) and f not in given} | dict(given)


@dataclass
class StreamedImport:
    """What :func:`import_crash_csv` did: the batch (``summary``, None when
    nothing was written), the file's counts, the first report lines, and
    whether an all-or-nothing import was refused."""

    summary: ImportSummary | None
    n_rows: int
    n_crashes: int
    n_valid: int
    n_errors: int
    n_skipped: int
    report_head: pd.DataFrame
    date_order: object = None
    rejected: bool = False


def import_crash_csv(
    store: Store,
    path: str | Path,
    *,
    report_path: str | Path,
    mapping: dict[str, str] | None = None,
    overlay: bool = False,
    source_crs: str | int | None = None,
    bounds: Sequence[float] = settings.VIETNAM_BOUNDS,
    date_order: str | None = None,
    valid_only: bool = True,
    user: str | None = None,
    source: str | None = None,
    chunk_rows: int | None = None,
    progress: Callable[[int], object] | None = None,
    worker: bool | None = None,
) -> StreamedImport:
    """Import a large crash CSV a part at a time, so memory stays bounded:
    the same stages as :func:`preview_crashes` then :func:`commit_crashes`,
    in one batch and one transaction.

    Before the parts are read, the date column is read alone to decide the
    file's date order (a proof anywhere holds for the whole file). The rows of
    one crash reference at the end of a part go with the next part. A crash id
    seen in an earlier part again is a duplicate (same content) or an error
    (other content), as within one part. The report is written to
    ``report_path`` as the parts are read. With ``valid_only`` False, any row
    error rolls everything back (``rejected``). ``progress(rows_read)`` is
    called after each part.

    The parts are read and checked in a worker process while this one writes
    the part before (``worker``; by default where the process can be forked
    safely: on the main thread of a POSIX system), otherwise in this process,
    the write in a thread beside it."""
    from concurrent.futures import ThreadPoolExecutor

    from geo.io import csv_parts
    from geo.dates import FileDateOrder, order_proofs
    from geo.validate import REPORT_COLUMNS
    from services.tabular import append_csv

    chunk_rows = chunk_rows or settings.CHUNK_ROWS
    parts = csv_parts(path, max_mb=settings.MAX_UPLOAD_MB)
    columns = parts.columns
    mapping = _overlaid(mapping, columns) if mapping and overlay else (dict(mapping) if mapping else auto_map(columns))
    mapping = {k: v for k, v in mapping.items() if v}
    # --- the file's date order, from the date column alone
    order = FileDateOrder.decide(n_dmy=0, n_mdy=0, first_dmy=0, first_mdy=0, given=date_order)
    if date_order is None and mapping.get("occurred_at") in columns:
        col = mapping["occurred_at"]
        n_dmy = n_mdy = 0
        first_dmy = first_mdy = 0
        for values, nums in parts.column(columns.index(col), chunk_rows=chunk_rows):
            if values.empty:
                continue
            k_dmy, k_mdy, f_dmy, f_mdy = order_proofs(values)
            if k_dmy and not n_dmy:
                first_dmy = int(nums[f_dmy])
            if k_mdy and not n_mdy:
                first_mdy = int(nums[f_mdy])
            n_dmy, n_mdy = n_dmy + k_dmy, n_mdy + k_mdy
        order = FileDateOrder.decide(n_dmy=n_dmy, n_mdy=n_mdy, first_dmy=first_dmy, first_mdy=first_mdy)
    roads = store.road_network()
    checker = _PartChecker(
        parts,
        chunk_rows=chunk_rows,
        mapping=mapping,
        source_crs=source_crs,
        bounds=bounds,
        roads=roads,
        order=order,
        units=store.admin_unit_names(),
        report_path=Path(report_path),
        postgres=store.postgres,
    )
    if worker is None:
        worker = _can_fork()
    checked = _checked_in_worker(checker) if worker else checker.parts()
    rejected = False
    try:
        with (
            store.crash_import(
                filename=Path(path).name,
                user=user,
                file_sha256=parts.sha256,
                source=source,
                roads=roads,
                expected_rows=int(Path(path).stat().st_size / 60),
            ) as job,
            ThreadPoolExecutor(max_workers=1) as writer,
        ):
            # a part is written (by the writer thread, the only user of the batch's connection) while the
            # next one is read and checked; one part in flight at most, and its error raised here
            pending = None
            try:
                for part, counts in checked:
                    rejected = rejected or bool(counts["n_errors"] and not valid_only)
                    if pending is not None:
                        pending.result()
                        pending = None
                    if part is not None and part.rows["ok"].any() and not rejected:
                        pending = writer.submit(job.add, part)
                    if progress:
                        progress(counts["n_rows"] + counts["n_skipped"])
            finally:
                if pending is not None:  # the write in flight ends before anything else touches the batch
                    pending.result()
                checked.close()
            if rejected:
                raise _Rejected  # rolls the batch back
    except _Rejected:
        pass
    counts, head = checker.counts, checker.head
    if not counts.pop("n_parts"):
        append_csv(pd.DataFrame(columns=REPORT_COLUMNS), report_path, header=True)
    report_head = pd.concat(head, ignore_index=True).head(20) if head else pd.DataFrame(columns=REPORT_COLUMNS)
    return StreamedImport(
        summary=None if rejected else job.summary,
        report_head=report_head,
        date_order=order,
        rejected=rejected,
        **counts,
    )


@dataclass
class _PartToWrite:
    """What a part's write needs of its :class:`ValidationResult`: the rows to
    write (and the duplicates, counted), and the part's counts. Small, for it
    crosses from the worker process."""

    rows: pd.DataFrame
    n_rows: int
    n_crashes: int
    n_errors: int


class _PartChecker:
    """Reads a CSV's parts and checks each (validation, communes, the checks
    against earlier parts), writing the report as it goes; its state (counts,
    the report's first lines) is that of the parts read so far."""

    def __init__(
        self,
        parts: CsvParts,
        *,
        chunk_rows: int,
        mapping: dict[str, str],
        source_crs: str | int | None,
        bounds: Sequence[float],
        roads: RoadNetwork | None,
        order: FileDateOrder,
        units: pd.DataFrame,
        report_path: Path,
        postgres: bool,
    ) -> None:
        self.file, self.chunk_rows, self.mapping, self.postgres = parts, chunk_rows, mapping, postgres
        self.source_crs, self.bounds, self.roads, self.order = source_crs, bounds, roads, order
        self.units, self.report_path = units, report_path
        self.id_col = mapping.get("source_id")
        self.seen = _SeenInFile()
        self.counts = dict(n_rows=0, n_crashes=0, n_valid=0, n_errors=0, n_skipped=0, n_parts=0)
        self.head: list[pd.DataFrame] = []
        self.notes: set[str] = set()

    def parts(self) -> Generator[tuple[_PartToWrite | None, dict[str, int]], None, None]:
        """Yield ``(part to write or None, counts so far)`` per part."""
        for table in _whole_crashes(self.file.tables(chunk_rows=self.chunk_rows), self.id_col):
            result = self.check(table)
            part = None
            if result is not None:
                rows = result.rows
                keep = rows["ok"].to_numpy() | rows["duplicate_in_file"].to_numpy()
                # the points and times encoded here, beside the writer
                part = _PartToWrite(
                    rows=encode_crash_rows(rows.loc[keep], postgres=self.postgres),
                    n_rows=result.n_rows,
                    n_crashes=result.n_crashes,
                    n_errors=result.n_errors,
                )
            yield part, dict(self.counts)

    def check(self, table: RawTable) -> ValidationResult | None:
        from geo.validate import skipped_report
        from services.tabular import append_csv

        counts = self.counts
        counts["n_skipped"] += len(table.skipped)
        result, report = None, skipped_report(table.skipped)
        if not table.frame.empty:
            result = validate_crashes(
                table,
                mapping=self.mapping,
                source_crs=self.source_crs,
                bounds=self.bounds,
                roads=self.roads,
                snap_m=settings.SNAP_DISTANCE_M,
                date_order=self.order,
            )
            match_result_communes(None, result, units=self.units)
            self.seen.check(result, id_col=self.id_col)
            report = result.report
            for k, v in (
                ("n_rows", result.n_rows),
                ("n_crashes", result.n_crashes),
                ("n_valid", result.n_valid),
                ("n_errors", result.n_errors),
            ):
                counts[k] += v
        # a note (row 0) said by an earlier part is not said again
        is_note = report["row"].eq(0).to_numpy()
        if is_note.any():
            key = report["field"].astype(str) + "\0" + report["reason"].astype(str)
            again = is_note & key.isin(self.notes).to_numpy()
            self.notes.update(key[is_note])
            report = report.loc[~again]
        append_csv(report, self.report_path, header=not counts["n_parts"])
        counts["n_parts"] += 1
        if sum(len(h) for h in self.head) < 20:
            self.head.append(report.loc[report["level"] != "skipped"].head(20))
        return result


def _can_fork() -> bool:
    """Whether a worker process may be forked here: a POSIX system, on the
    main thread of a process running no other threads (a fork copies one
    thread; a lock held by another would stay held in the child)."""
    import multiprocessing
    import threading

    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.current_thread() is threading.main_thread()
        and threading.active_count() == 1
    )


def _checked_in_worker(checker: _PartChecker) -> Generator[tuple[_PartToWrite | None, dict[str, int]], None, None]:
    """:meth:`_PartChecker.parts`, run in a forked worker process: the parts
    arrive here one at a time (the worker is at most one part ahead), its
    errors are raised here, and its final counts and report lines are copied
    back into ``checker``. Closing the generator early stops the worker."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker_main, args=(checker, there), daemon=True, name="crash-import-checker")
    proc.start()
    there.close()
    try:
        while True:
            try:
                kind, *payload = here.recv()
            except EOFError:
                raise InputFileError(
                    "Tiến trình đọc tệp đã dừng bất ngờ / The file reader stopped unexpectedly"
                ) from None
            if kind == "part":
                yield payload[0], payload[1]
            elif kind == "end":
                checker.counts, checker.head = payload
                return
            else:
                raise payload[0]
    finally:
        here.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _worker_main(checker: _PartChecker, out: Connection) -> None:
    """The worker process: every part sent as it is checked, then the end (or the error)."""
    try:
        for part, counts in checker.parts():
            out.send(("part", part, counts))
        out.send(("end", checker.counts, checker.head))
    except BaseException as e:  # noqa: BLE001 - every error goes to the importing process, which raises it
        import traceback

        e.add_note("".join(traceback.format_exception(e)))  # where it happened, for whoever reads the raised error
        try:
            out.send(("error", e))
        except Exception:  # an error that does not pickle goes as its text
            out.send(("error", InputFileError(str(e))))
    finally:
        out.close()


def _whole_crashes(tables: Iterable[RawTable], id_col: str | None) -> Iterator[RawTable]:
    """The parts of a table, the rows of the last crash reference of each part
    moved to the next (a crash's casualty rows stay together)."""
    carry = None
    for table in tables:
        if carry is not None:
            table = RawTable(
                frame=pd.concat([carry.frame, table.frame], ignore_index=True),
                fmt="csv",
                row_numbers=np.r_[carry.numbers(), table.numbers()].astype(int),
                skipped=table.skipped,
                header_rows=table.header_rows,
            )
            carry = None
        if id_col in table.frame.columns and len(table.frame) > 1:
            ids = table.frame[id_col].to_numpy()
            k = len(ids)
            while k > 0 and ids[k - 1] == ids[-1] != "":
                k -= 1
            if 0 < k < len(ids):
                carry = RawTable(
                    frame=table.frame.iloc[k:].reset_index(drop=True), fmt="csv", row_numbers=table.numbers()[k:]
                )
                table = RawTable(
                    frame=table.frame.iloc[:k].reset_index(drop=True),
                    fmt="csv",
                    row_numbers=table.numbers()[:k],
                    skipped=table.skipped,
                    header_rows=table.header_rows,
                )
        yield table
    if carry is not None:
        yield carry


class _Rejected(Exception):
    """An all-or-nothing import found an error: the batch is rolled back."""


class _SeenInFile:
    """Crash ids and dedup keys of the parts already read (as 64-bit hashes,
    so a file of millions of rows costs a few tens of MB): a row of a later
    part repeating one is a duplicate in the file (same content) or an error
    (the same id with other content)."""

    def __init__(self) -> None:
        self.id_hash = np.zeros(0, dtype=np.uint64)
        self.id_key = np.zeros(0, dtype=np.uint64)
        self.id_row = np.zeros(0, dtype=np.int64)
        self.keys = np.zeros(0, dtype=np.uint64)
        self.key_row = np.zeros(0, dtype=np.int64)

    def check(self, result: ValidationResult, *, id_col: str | None) -> None:
        from geo.validate import DUPLICATE_IN_FILE, ERROR, WARNING

        rows = result.rows
        key = pd.util.hash_array(rows["dedup_key"].to_numpy(dtype=object).astype(str))
        sid = rows["source_id"].fillna("").astype(str).to_numpy()
        has_id = sid != ""
        idh = pd.util.hash_array(sid.astype(object))
        live = rows["ok"].to_numpy() | rows["duplicate_in_file"].to_numpy()
        extra = []
        if len(self.keys):
            pos = np.clip(np.searchsorted(self.keys, key), 0, len(self.keys) - 1)
            dup = rows["ok"].to_numpy() & (self.keys[pos] == key)
            if dup.any():
                extra.append(
                    pd.DataFrame(
                        {
                            "row": rows["row"].to_numpy()[dup],
                            "field": "row",
                            "value": self.key_row[pos[dup]].astype(str),
                            "reason": DUPLICATE_IN_FILE,
                            "level": WARNING,
                        }
                    )
                )
                rows.loc[dup, "ok"] = False
                rows.loc[dup, "duplicate_in_file"] = True
        if id_col is not None and len(self.id_hash):
            pos = np.clip(np.searchsorted(self.id_hash, idh), 0, len(self.id_hash) - 1)
            clash = rows["ok"].to_numpy() & has_id & (self.id_hash[pos] == idh) & (self.id_key[pos] != key)
            if clash.any():
                extra.append(
                    pd.DataFrame(
                        {
                            "row": rows["row"].to_numpy()[clash],
                            "field": "source_id",
                            "value": sid[clash],
                            "reason": [
                                f"Mã vụ đã có ở dòng {r} với nội dung khác / The same crash id "
                                f"is on row {r} with other content"
                                for r in self.id_row[pos[clash]]
                            ],
                            "level": ERROR,
                        }
                    )
                )
                rows.loc[clash, "ok"] = False
                rows.loc[clash, "error"] = True
        if extra:
            result.report = (
                pd.concat([result.report, *extra], ignore_index=True)
                .sort_values(["row", "field"], kind="stable")
                .reset_index(drop=True)
            )
        rownum = rows["row"].to_numpy(dtype=np.int64)
        self.keys, self.key_row = _merged((self.keys, self.key_row), (key[live], rownum[live]))
        sel = live & has_id
        self.id_hash, self.id_key, self.id_row = _merged(
            (self.id_hash, self.id_key, self.id_row), (idh[sel], key[sel], rownum[sel])
        )


def _merged(have: tuple[np.ndarray, ...], new: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Arrays sorted by their first one (a hash) with new entries added; the
    first entry of a hash is kept (the earliest row of the file)."""
    o = np.argsort(new[0], kind="stable")  # only the new part is sorted; it is then merged in
    new = tuple(a[o] for a in new)
    at = np.searchsorted(have[0], new[0], side="right")  # after an equal hash: the earlier row stays first
    both = [np.insert(a, at, b) for a, b in zip(have, new)]
    if not len(both[0]):
        return tuple(both)
    first = np.r_[True, both[0][1:] != both[0][:-1]]
    return tuple(a[first] for a in both)


# ------------------------------------------------------ mapping profiles
PROFILES_KEY = "import_profiles"


def field_of(name: str) -> str:
    """The tool's field for a profile's field name (``id``, ``date``, ``x`` …)."""
    from geo.columns import FIELD_NAMES

    key = str(name).strip().lower()
    if key in FIELD_NAMES:
        return FIELD_NAMES[key]
    if key in FIELD_NAMES.values():
        return key
    raise InputFileError(
        f"Trường '{name}' không có; dùng: {', '.join(FIELD_NAMES)} / Unknown field '{name}'; use: "
        f"{', '.join(FIELD_NAMES)}"
    )


def mapping_from_profile(profile: dict[str, Any]) -> dict[str, str]:
    """Field → column of a profile ``{"map": {"SOURCE COLUMN": "field"}, …}``.

    >>> mapping_from_profile({"map": {"Mã vụ": "id", "Khi nào": "date", "X": "x"}})
    {'source_id': 'Mã vụ', 'occurred_at': 'Khi nào', 'lon': 'X'}
    """
    if not isinstance(profile, dict) or not isinstance(profile.get("map", {}), dict):
        raise InputFileError('Hồ sơ ánh xạ cần khóa "map" là một đối tượng / A profile needs a "map" object')
    return {field_of(f): str(c) for c, f in (profile.get("map") or {}).items()}


def profile_from_mapping(
    mapping: dict[str, str], *, sheet: str | None = None, date_order: str | None = None, crs: str | int | None = None
) -> dict[str, Any]:
    """The JSON profile of a mapping (field names as documented: id, date, …).

    >>> profile_from_mapping({"source_id": "Mã vụ", "lon": "X"}, date_order="dmy")
    {'map': {'Mã vụ': 'id', 'X': 'lon'}, 'date_order': 'dmy'}
    """
    from geo.columns import FIELD_NAMES

    back: dict[str, str] = {}
    for short, full in FIELD_NAMES.items():
        back.setdefault(full, short)
    prof: dict[str, Any] = {"map": {col: back.get(f, f) for f, col in mapping.items() if col}}
    for k, v in (("sheet", sheet), ("date_order", date_order), ("crs", crs)):
        if v:
            prof[k] = v
    return prof


def load_profiles(store: Store) -> dict[str, dict[str, Any]]:
    return dict(store.get_setting(PROFILES_KEY) or {})


def save_profile(store: Store, name: str, profile: dict[str, Any], *, user: str | None = None) -> None:
    """Keep a mapping profile under ``name`` in the store (who may import may save one)."""
    from models.permissions import Action

    name = " ".join(str(name).split())
    if not name:
        raise InputFileError("Cần tên hồ sơ / A profile needs a name")
    mapping_from_profile(profile)  # checked before it is kept
    profiles = load_profiles(store)
    profiles[name] = profile
    store.set_setting(PROFILES_KEY, profiles, user=user, action=Action.IMPORT)


def match_result_communes(store: Store | None, result: ValidationResult, *, units: pd.DataFrame | None = None) -> None:
    """Communes as the store's units name them (``units``, read from the store
    when not given); old (pre-2025) names keep the recorded unit and gain the
    unit they now belong to; unknown names are reported with the closest units,
    never created."""
    from services.communes import match_communes, old_to_new_table

    if units is None:
        assert store is not None, "a store or its units are needed"
        units = store.admin_unit_names()
    rows = result.rows
    if units.empty or (units["level"] != "commune").all() or rows.empty:
        rows["commune_now"] = None
        return
    m = match_communes(rows["commune"].fillna(""), units, old_to_new_table())
    rows["commune"] = m["commune"].to_numpy()
    rows["commune_now"] = m["commune_now"].to_numpy()
    flagged = m["how"].isin(["ascii", "old", "unknown"]).to_numpy()
    if flagged.any():
        extra = pd.DataFrame(
            {
                "row": rows["row"].to_numpy()[flagged],
                "field": "commune",
                "value": rows["commune"].to_numpy()[flagged],
                "reason": m["note"].to_numpy()[flagged],
                "level": "warning",
            }
        )
        result.report = (
            pd.concat([result.report, extra], ignore_index=True)
            .sort_values(["row", "field"], kind="stable")
            .reset_index(drop=True)
        )


def commit_crashes(
    store: Store,
    preview: CrashPreview,
    *,
    valid_only: bool,
    user: str | None = None,
    source: str | None = None,
    is_simulated: bool = False,
    progress: Callable[[int], object] | None = None,
) -> ImportSummary:
    """Write a previewed crash file as one batch (see :meth:`Store.import_crashes`)."""
    return store.import_crashes(
        preview.result,
        filename=preview.filename,
        file_sha256=preview.sha256,
        user=user,
        source=source,
        valid_only=valid_only,
        roads=preview.roads,
        is_simulated=is_simulated,
        progress=progress,
    )


def _checked(
    table: RawTable, geoms: Iterable[object], *, kind: str, what_vi: str, what_en: str, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Repair what can be repaired, drop what cannot; raises when nothing is left.
    Returns (rows kept, geometries, report lines)."""
    check = repair_geometries(geoms, kind=kind)
    names = _feature_labels(table.frame)
    ok = (check["status"] != "refused").to_numpy()
    if keep is not None:
        ok &= keep
    report = report_lines(check.loc[keep] if keep is not None else check, names[keep] if keep is not None else names)
    if not ok.any():
        raise InputFileError(
            f"Tệp không có {what_vi} nào dùng được / The file holds no usable {what_en}"
            + (f": {report[0]}" if report else "")
        )
    return ok, check["geometry"].to_numpy()[ok], report


def _feature_labels(frame: pd.DataFrame) -> np.ndarray:
    heads = {normalise_header(c): c for c in frame.columns}
    col = next((heads[h] for h in ("ten", "name", "ma", "code", "id", "ten_xa") if h in heads), None)
    return frame[col].astype(str).str.slice(0, 60).to_numpy() if col else np.full(len(frame), "", dtype=object)


def roads_from_table(table: RawTable, *, exclude_railways: bool = True) -> pd.DataFrame:
    """Roads from a spatial table: code (QL24 ...), name, class, geometry in WGS 84.
    Railways (``loai_duong`` = Đường sắt) are left out; broken lines are
    repaired or refused one by one (``.attrs["report"]`` says which)."""
    if table.geometry is None:
        raise InputFileError(
            "Tệp đường cần có hình học (GeoJSON, GPKG, SHP, KML) / A road file needs "
            "geometries (GeoJSON, GPKG, SHP, KML)"
        )
    frame = table.frame.copy()
    m = auto_map(list(frame.columns), ROAD_ALIASES)
    keep = np.ones(len(frame), dtype=bool)
    if exclude_railways and "kind" in m:
        keep &= ~frame[m["kind"]].str.lower().str.contains("sắt|rail", regex=True).to_numpy()
    ok, geoms, report = _checked(
        table, table.geometry, kind="line", what_vi="đường (LineString)", what_en="road lines", keep=keep
    )
    frame = frame.loc[ok].reset_index(drop=True)
    if table.crs and table.crs not in (WGS84, "OGC:CRS84"):
        cx = shapely.get_coordinates(geoms)
        x, y = transform(cx[:, 0], cx[:, 1], table.crs, WGS84)
        geoms = shapely.set_coordinates(geoms.copy(), np.column_stack([x, y]))
    name = frame[m["name"]] if "name" in m else pd.Series([""] * len(frame))
    code_src = frame[m["code"]] if "code" in m else name
    codes = [normalise_road_code(c) or str(c) for c in code_src]
    out = pd.DataFrame({"code": codes, "name": name.to_numpy(), "geometry": geoms})
    for f in ("road_class", "is_urban", "carriageway_width_m", "road_land_half_width_m", "km_start_m"):
        if f in m:
            out[f] = frame[m[f]].to_numpy()
    out.attrs["report"] = report
    return out


#: Headers naming a unit, by level (the level's own first), then any level's; a file's headers are folded by
#: :func:`geo.columns.normalise_header`. The GSO's (ten_xa, ma_huyen…), the national GIS portal's
#: (level2_id, district…), GADM's (NAME_2, GID_2) and OCHA's (ADM2_VI, ADM2_PCODE).
UNIT_NAME_HEADERS = {
    "commune": ("ten_xa", "tenxa", "ten_phuong", "ten_xa_phuong", "xa_phuong", "xa", "phuong", "commune", "ward",
                "name_3", "adm3_vi", "adm3_en", "adm3_name"),
    "district": ("ten_huyen", "tenhuyen", "ten_quan_huyen", "quan_huyen", "huyen", "district", "name_2", "adm2_vi",
                 "adm2_en", "adm2_name"),
    "province": ("ten_tinh", "tentinh", "ten_tinh_thanh", "tinh_thanh", "tinh", "province", "name_1", "adm1_vi",
                 "adm1_en", "adm1_name"),
}  # fmt: skip
UNIT_NAME_ANY = ("ten", "ten_don_vi", "ten_dvhc", "name", "name_vi", "ten_day_du", "ten_goi")
UNIT_CODE_HEADERS = {
    "commune": ("ma_xa", "maxa", "ma_phuong", "level3_id", "commune_code", "adm3_pcode", "gid_3"),
    "district": ("ma_huyen", "mahuyen", "level2_id", "district_code", "adm2_pcode", "gid_2"),
    "province": ("ma_tinh", "matinh", "level1_id", "province_code", "adm1_pcode", "gid_1"),
}
UNIT_CODE_ANY = ("ma", "code", "ma_dvhc", "ma_don_vi")


def _unit_columns(frame: pd.DataFrame, names: dict[str, str], level: str) -> tuple[str, str | None, str | None]:
    """(name column, code column or None, a note when the name column was guessed) of a boundary file: the
    level's own headers first, then any level's; else the text column whose values differ most (a file of
    districts names its province on every row: a column of one value names no unit)."""
    order = (*UNIT_NAME_HEADERS.get(level, ()), *UNIT_NAME_ANY)
    name_col = next((names[h] for h in order if h in names), None)
    codes = (*UNIT_CODE_HEADERS.get(level, ()), *UNIT_CODE_ANY)
    code_col = next((names[h] for h in codes if h in names), None)
    if name_col is not None:
        return name_col, code_col, None
    # no header names a unit of this level: the most varied column of text (a file of another level's units
    # still names each unit in its own column; a column of codes is not a name)
    best, best_n = None, -1
    for col in frame.columns:
        values = frame[col].dropna().astype(str).str.strip()
        values = values[values.ne("")]
        if values.empty or values.str.fullmatch(r"[\d\s.,\-/]+").all():
            continue
        n = values.nunique()
        if n > best_n:
            best, best_n = col, n
    if best is None:
        raise InputFileError(
            "Tệp ranh giới không có cột tên đơn vị (ví dụ ten_xa, ten_huyen, name) / The boundary file has no "
            f"column naming the units (such as ten_xa, ten_huyen, name): {', '.join(map(str, frame.columns))}"
        )
    note = (
        f"Tên đơn vị lấy từ cột «{best}» (không có cột tên quen thuộc) / The units' names are taken from the "
        f"column «{best}» (no usual name column)"
    )
    return best, code_col, note


def boundaries_from_table(table: RawTable, *, level: str = "commune") -> pd.DataFrame:
    """Administrative units (name, level, polygon in WGS 84) from a spatial
    table; invalid polygons repaired or refused (``.attrs["report"]``)."""
    if table.geometry is None:
        raise InputFileError(
            "Tệp ranh giới cần có hình học (GeoJSON, GPKG, SHP, KML) / A boundary file needs geometries"
        )
    keep, geoms, report = _checked(table, table.geometry, kind="polygon", what_vi="vùng (Polygon)", what_en="polygons")
    if table.crs and table.crs not in (WGS84, "OGC:CRS84"):
        cx = shapely.get_coordinates(geoms)
        x, y = transform(cx[:, 0], cx[:, 1], table.crs, WGS84)
        geoms = shapely.set_coordinates(geoms.copy(), np.column_stack([x, y]))
    frame = table.frame.loc[keep].reset_index(drop=True)
    if frame.shape[1] == 0:
        raise InputFileError(
            "Tệp ranh giới không có cột thuộc tính nào (cần tên đơn vị) / The boundary file has no "
            "attribute columns (the unit's name is needed)"
        )
    names = {normalise_header(c): c for c in reversed(frame.columns)}  # (the first of equal headers)
    name_col, code_col, guessed = _unit_columns(frame, names, level)
    if guessed:
        report = [*report, guessed]
    unit_names = frame[name_col].astype(str).str.strip()
    if "loai" in names:  # the official unit word (Xã, Phường, Đặc khu, Tỉnh, Thành phố) is part of the name
        word = frame[names["loai"]].fillna("").astype(str).str.strip()
        bare = ~pd.Series(
            [n.lower().startswith(w.lower() + " ") for n, w in zip(unit_names, word)], index=frame.index, dtype=bool
        ) & word.ne("")
        unit_names = unit_names.where(~bare, word + " " + unit_names)
    out = pd.DataFrame(
        {
            "name": unit_names.to_numpy(),
            "level": level,
            "code": frame[code_col].to_numpy() if code_col else None,
            "geometry": geoms,
        }
    )
    out.attrs["report"] = report
    return out


def cases_from_table(table: RawTable, *, source_crs: str | int | None = None) -> pd.DataFrame:
    """Encroachment cases (points or polygons) from a file: geometry plus kind,
    description, commune when the file has them."""
    from services.corridor import features_from_table

    feats = features_from_table(table, source_crs=source_crs)
    heads = {normalise_header(c): c for c in feats.columns}
    out = pd.DataFrame({"geometry": feats["geometry"].to_numpy()})
    for field, aliases in (
        ("kind", ("loai", "loai_vi_pham", "kind", "type")),
        ("description", ("mo_ta", "noi_dung", "description", "ghi_chu")),
        ("commune", ("xa", "xa_phuong", "commune")),
    ):
        col = next((heads[a] for a in aliases if a in heads), None)
        out[field] = feats[col].to_numpy() if col else None
    out["description"] = (
        out["description"].fillna("Nhập từ tệp / imported")
        if out["description"].notna().any()
        else "Nhập từ tệp / imported"
    )
    bad = shapely.is_missing(out["geometry"].to_numpy())
    if bad.all():
        rows = (np.flatnonzero(bad) + 2)[:10].tolist()
        raise InputFileError(f"Không dòng nào có vị trí dùng được / No row has a usable location: {rows}")
    report = list(feats.attrs.get("report", []))
    kept: pd.DataFrame = out.loc[~bad].reset_index(drop=True)
    kept.attrs["report"] = report
    return kept


# ------------------------------------------------------ the other imports (pages and CLI call these)
def import_roads(store: Store, roads: pd.DataFrame, *, source: str, user: str | None = None) -> list[int]:
    """Roads read by :func:`roads_from_table`."""
    return store.add_roads(roads, user=user, source=source)


def import_boundaries(store: Store, units: pd.DataFrame, *, user: str | None = None) -> list[int]:
    """Administrative units read by :func:`boundaries_from_table`."""
    return store.add_admin_units(units, user=user)


def import_cases(store: Store, cases: pd.DataFrame, *, user: str | None = None) -> list[int]:
    """Encroachment cases (geometry, kind, description, commune …) read by :func:`cases_from_table` or found
    by the corridor check; road, chainage, side and how far inside the corridor computed by the store."""
    return store.add_cases(cases, user=user)


def undo_import(store: Store, batch_id: int, *, user: str | None = None) -> UndoSummary:
    """Take back an import batch and the corrections it made: the crashes it removed, and the
    earlier crashes given back their values."""
    return store.undo_batch(int(batch_id), user=user)
