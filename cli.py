"""Command line of the black-spot tool, for batch use.

    python cli.py init-db                      create / migrate the store
    python cli.py load-demo                    load the demo data sets
    python cli.py import crashes FILE [--crs EPSG] [--sheet S] [--date-order dmy|mdy|ymd] [--map "COL=field"]
                               [--profile P.json] [--source NAME] [--all-or-nothing] [--report R.csv]
    python cli.py import roads|boundaries|cases FILE
    python cli.py batches | undo BATCH_ID
    python cli.py export crashes|spots|cases|works --out FILE.csv|.xlsx|.geojson|.gpkg|.kml
    python cli.py screen [--rules tt41-2024]   screen the store's crashes, save spots
    python cli.py blackspots --crashes FILE --rules tt41-2024 --out OUT.csv|.xlsx|.geojson
    python cli.py cluster --crashes FILE --eps 100 --min-samples 3 --out OUT.csv
    python cli.py corridor check --roads ROADS --points POINTS [--rules ID] --out OUT.csv
    python cli.py plan parse FILE [--json]     read a plan (.docx, .md, .txt)
    python cli.py user add NAME --role admin   accounts (the first one must be an admin)
    python cli.py org show [--json] | org set --name … --parent … --place … --receiver … --signer … --signer-title …
    python cli.py proposal --out FILE.docx|.pdf [--spots IDS] [--plan NUMBER]
    python cli.py targets [--plan NUMBER] [--json]
    python cli.py appraise [--budget VND] [--json]   which fix first: B/C of the proposed works, the best set
                                               within a budget
    python cli.py dossier SPOT_ID[,SPOT_ID…] --out FILE.docx|.pdf|.zip [--pdf]
    python cli.py token create NAME --for USER   a service token for scripts (admins)
    python cli.py backup FILE | restore FILE [--force]

``blackspots`` and ``cluster`` work on files alone (no store). Once accounts
exist, commands on the store authenticate: ``--user NAME`` (password asked, or
``--password-stdin``) or ``BLACKSPOT_TOKEN``. Exit codes: 0 done, 1 invalid
rows (report written), 2 any other error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import settings
from errors import AuthError, BlackspotError
from services.auth import add_user
from services.tabular import to_xlsx_bytes, write_csv


_AUTH: dict = {"user": None, "password_stdin": False, "store": None}


def _stdin_line(what: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise AuthError(f"Thiếu {what} trên stdin (--password-stdin) / Nothing on standard input for --password-stdin")
    return line.rstrip("\r\n")


def _store():
    """The store acting for the authenticated caller. Once accounts exist a
    command that touches the store must authenticate: ``BLACKSPOT_TOKEN`` (a
    service token an admin created), or ``--user NAME`` with the password
    asked at the terminal or read from the first line of stdin
    (``--password-stdin``). The account's role limits what the command may
    write, and the audit log records it with the operating-system user."""
    if _AUTH["store"] is not None:
        return _AUTH["store"]
    from models.store import Store
    from services.auth import authenticate, authenticate_token

    store = Store()
    if store.user_count() > 0:
        token = os.environ.get("BLACKSPOT_TOKEN", "").strip()
        if token and _AUTH["user"]:
            raise AuthError(
                "Dùng --user hoặc BLACKSPOT_TOKEN, không dùng cả hai / Use --user or BLACKSPOT_TOKEN, not both"
            )
        if token:
            principal = authenticate_token(store, token)
        elif not _AUTH["user"]:
            raise AuthError(
                "Kho đã có tài khoản: đăng nhập bằng --user TÊN (mật khẩu được hỏi, hoặc --password-stdin) "
                "hoặc BLACKSPOT_TOKEN / Accounts exist: sign in with --user NAME (asked for the password, "
                "or --password-stdin) or BLACKSPOT_TOKEN"
            )
        else:
            if _AUTH["password_stdin"]:
                password = _stdin_line("mật khẩu / password")
            elif sys.stdin.isatty():
                import getpass

                password = getpass.getpass(f"Mật khẩu của {_AUTH['user']} / Password for {_AUTH['user']}: ")
            else:
                raise AuthError(
                    "Không có mật khẩu: dùng --password-stdin hoặc BLACKSPOT_TOKEN / No password: use "
                    "--password-stdin or BLACKSPOT_TOKEN"
                )
            principal = authenticate(store, _AUTH["user"], password)
        store = store.with_principal(principal)
    _AUTH["store"] = store
    return store


def _parse_bounds(text: str | None):
    if not text:
        return settings.VIETNAM_BOUNDS
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not (-180 <= parts[0] < parts[2] <= 180 and -90 <= parts[1] < parts[3] <= 90):
        raise BlackspotError(
            f"--bounds cần minlon,minlat,maxlon,maxlat (vd 102,8,110,24), nhận được '{text}' / "
            f"--bounds needs minlon,minlat,maxlon,maxlat (e.g. 102,8,110,24), got '{text}'"
        )
    return tuple(parts)


def cmd_init_db(args) -> int:
    from models.store import Store

    store = Store()  # creating or migrating the schema writes no data: no account needed
    print(f"Store ready / Kho dữ liệu sẵn sàng: {store.engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_load_demo(args) -> int:
    from data.demo import load_demo
    from models.store import Store

    if Store().crash_count() > 0:  # `make run` calls this every time: nothing to do, no account needed
        print("Kho đã có dữ liệu; bỏ qua / Store already has crashes; demo not loaded")
        return 0
    out = load_demo(_store(), hk_limit=args.hk_limit)
    if out.get("skipped"):
        print("Kho đã có dữ liệu; bỏ qua / Store already has crashes; demo not loaded")
    else:
        print("Đã nạp dữ liệu mẫu / Demo loaded: " + json.dumps(out, ensure_ascii=False))
    return 0


def cmd_import(args) -> int:
    from services.importing import (
        commit_crashes,
        import_boundaries,
        import_cases,
        import_roads,
        preview_crashes,
        roads_from_table,
    )

    store = _store()
    path = Path(args.file)
    if args.kind == "roads":
        from services.importing import read_file

        roads = roads_from_table(read_file(path))
        _print_report(roads)
        ids = import_roads(store, roads, user=args.user, source=path.name)
        print(f"Đã nhập {len(ids)} tuyến đường / Imported {len(ids)} roads")
        return 0
    if args.kind == "boundaries":
        from services.importing import read_file
        from services.importing import boundaries_from_table

        units = boundaries_from_table(read_file(path), level=args.level)
        _print_report(units)
        ids = import_boundaries(store, units, user=args.user)
        print(f"Đã nhập {len(ids)} đơn vị hành chính / Imported {len(ids)} administrative units")
        return 0
    if args.kind == "cases":
        from services.importing import read_file
        from services.importing import cases_from_table

        crs = int(args.crs) if args.crs and args.crs.isdigit() else args.crs
        cases = cases_from_table(read_file(path), source_crs=crs)
        _print_report(cases)
        ids = import_cases(store, cases, user=args.user)
        inside = store.cases_frame().set_index("id").loc[ids, "zone"].isin(["corridor", "road_land"]).sum()
        print(
            f"Đã ghi nhận {len(ids)} vụ lấn chiếm ({inside} trong hành lang hoặc đất đường) / Recorded {len(ids)} "
            f"encroachment cases ({inside} inside the corridor or road land)"
        )
        return 0
    crs = args.crs
    if crs and crs.isdigit():
        crs = int(crs)
    mapping, sheet, date_order, crs = _import_options(args, crs)
    report_path = Path(args.report) if args.report else path.with_suffix(".report.csv")
    if path.suffix.lower() in (".csv", ".txt") and path.exists() and path.stat().st_size > settings.STREAM_MB * 2**20:
        return _import_large_csv(
            store, path, args, mapping=mapping, crs=crs, date_order=date_order, report_path=report_path
        )
    prev = preview_crashes(
        store,
        path.read_bytes(),
        path.name,
        source_crs=crs,
        bounds=_parse_bounds(args.bounds),
        mapping=mapping,
        sheet=sheet,
        date_order=date_order,
        overlay=True,
    )
    res = prev.result
    write_csv(res.report, report_path)
    table = prev.table
    if table.sheet:
        print(
            f"Trang tính / Sheet: {table.sheet}"
            + (f" (có / of {', '.join(table.sheets)})" if len(table.sheets) > 1 else "")
        )
    _print_checked(
        n_rows=res.n_rows,
        n_crashes=res.n_crashes,
        n_valid=res.n_valid,
        n_errors=res.n_errors,
        n_skipped=len(table.skipped),
        report_path=report_path,
        shown=res.report.loc[res.report["level"] != "skipped"].head(20),
    )
    if args.all_or_nothing and res.n_errors:
        print("Không nhập gì (--all-or-nothing) / Nothing imported (--all-or-nothing)")
        return 1
    if res.n_valid == 0:
        print("Không có dòng hợp lệ / No valid rows")
        return 1
    _print_batch(commit_crashes(store, prev, valid_only=not args.all_or_nothing, user=args.user, source=args.source))
    return 0


def _print_checked(
    *, n_rows: int, n_crashes: int, n_valid: int, n_errors: int, n_skipped: int, report_path: Path, shown: pd.DataFrame
) -> None:
    """What the check of a crash file found, and its first report lines."""
    grouped = f" → {n_crashes} vụ / crashes" if n_crashes != n_rows else ""
    print(
        f"{n_rows} dòng / rows{grouped}: {n_valid} hợp lệ / valid, {n_errors} lỗi / with errors"
        + (f", {n_skipped} dòng không phải vụ TNGT / not crash rows" if n_skipped else "")
        + f". Báo cáo / Report: {report_path}"
    )
    if len(shown):
        with pd.option_context("display.max_rows", 20, "display.width", 200, "display.max_colwidth", 70):
            print(shown.to_string(index=False))


def _print_batch(summary) -> None:
    print(
        f"Lần nhập / Batch {summary.batch_id or '—'}: đã nhập / imported {summary.n_imported}, "
        f"cập nhật / updated {summary.n_updated}, "
        f"đã có trong kho / already in store {summary.n_already_in_store}, "
        f"trùng trong tệp / duplicates in file {summary.n_duplicate_in_file}"
    )


def _import_large_csv(store, path: Path, args, *, mapping, crs, date_order, report_path: Path) -> int:
    """A large CSV, imported a part at a time (memory stays bounded)."""
    from services.importing import import_crash_csv

    def progress(n: int) -> None:
        print(f"… {n:,} dòng đã đọc / rows read".replace(",", "."), file=sys.stderr, flush=True)

    out = import_crash_csv(
        store,
        path,
        report_path=report_path,
        mapping=mapping,
        overlay=True,
        source_crs=crs,
        bounds=_parse_bounds(args.bounds),
        date_order=date_order,
        valid_only=not args.all_or_nothing,
        user=args.user,
        source=args.source,
        progress=progress,
    )
    _print_checked(
        n_rows=out.n_rows,
        n_crashes=out.n_crashes,
        n_valid=out.n_valid,
        n_errors=out.n_errors,
        n_skipped=out.n_skipped,
        report_path=report_path,
        shown=out.report_head,
    )
    if out.rejected:
        print("Không nhập gì (--all-or-nothing) / Nothing imported (--all-or-nothing)")
        return 1
    if out.n_valid == 0 or out.summary is None:
        print("Không có dòng hợp lệ / No valid rows")
        return 1
    _print_batch(out.summary)
    return 0


def _import_options(args, crs):
    """(mapping, sheet, date order, CRS) from ``--profile`` and ``--map`` (the
    command line wins), checked against the fields the tool knows."""
    from services.importing import field_of, mapping_from_profile

    mapping: dict[str, str] = {}
    sheet, date_order = args.sheet, args.date_order
    if args.profile:
        prof = _read_profile(Path(args.profile))
        mapping.update(mapping_from_profile(prof))
        sheet = sheet or prof.get("sheet")
        date_order = date_order or prof.get("date_order")
        if prof.get("crs") and not crs:
            crs = int(prof["crs"]) if str(prof["crs"]).isdigit() else prof["crs"]
    for item in args.map or []:
        if "=" not in item:
            raise BlackspotError(
                f"--map cần dạng \"CỘT=trường\", nhận được '{item}' / --map needs \"COLUMN=field\", got '{item}'"
            )
        col, fld = item.rsplit("=", 1)
        mapping[field_of(fld)] = col.strip()
    if date_order and date_order not in ("dmy", "mdy", "ymd"):
        raise BlackspotError(f"Thứ tự ngày '{date_order}' không hợp lệ (dmy, mdy, ymd) / Unknown date order")
    return (mapping or None), sheet, date_order, crs


def _read_profile(path: Path) -> dict:
    """A mapping profile (JSON): {"map": {"SOURCE COLUMN": "field"}, "sheet": …, "date_order": …, "crs": …}."""
    try:
        prof = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise BlackspotError(
            f"Tệp hồ sơ ánh xạ không phải JSON hợp lệ / The profile is not valid JSON: {path} "
            f"(dòng / line {exc.lineno})"
        ) from exc
    return prof


def _print_report(frame: pd.DataFrame, limit: int = 50) -> None:
    """The repair and refusal lines of a read (``frame.attrs["report"]``), on stderr."""
    lines = frame.attrs.get("report") or []
    for line in lines[:limit]:
        print(f"  ! {line}", file=sys.stderr)
    if len(lines) > limit:
        print(f"  ! … {len(lines) - limit} dòng nữa / more lines", file=sys.stderr)


def cmd_batches(args) -> int:
    print(
        _store()
        .batches_frame()[["id", "kind", "filename", "created_at", "n_rows", "n_imported", "status"]]
        .to_string(index=False)
    )
    return 0


def cmd_undo(args) -> int:
    done = _store().undo_batch(args.batch_id, user=args.user)
    print(
        f"Đã hoàn tác lần nhập {args.batch_id}: xóa {done.removed} vụ, trả lại giá trị cũ cho {done.reverted} vụ "
        f"đã sửa / Undid batch {args.batch_id}: removed {done.removed} crashes, reverted {done.reverted} corrected"
    )
    return 0


def cmd_screen(args) -> int:
    from services.blackspots import run_screening, screen_lines, screen_summary

    result, diff = run_screening(_store(), ruleset=args.rules, window_m=args.window_m, user=args.user)
    if args.json:
        print(
            json.dumps(
                {
                    "ruleset": result.ruleset.id,
                    "black_spots": len(result.black_spots),
                    "potential_points": len(result.potential_points),
                }
                | diff,
                ensure_ascii=False,
                default=str,
            )
        )
        return 0
    print(
        f"{result.ruleset.name}: {len(result.black_spots)} điểm đen / black spots, {len(result.potential_points)} "
        f"điểm tiềm ẩn / potential points. " + screen_summary(diff, vi=True) + " / " + screen_summary(diff, vi=False)
    )
    for line in screen_lines(diff):
        print("  " + line)
    return 0


def _read_crash_file(path: Path) -> pd.DataFrame:
    """Read the file-only CLI input: id, road, chainage_m (or Km text), date,
    deaths, injured, optional not_infra, urban, lon, lat."""
    from services.importing import read_file
    from geo.chainage import dots_group_thousands, normalise_road_code, parse_chainage_series
    from geo.columns import auto_map
    from geo.text import per_text
    from geo.dates import parse_date_column
    from geo.validate import _ORDER_WORDS, THOUSANDS_NOTE, _numbers, parse_bool, proven_order_note

    t = read_file(path)
    f = t.frame
    cols = {c.lower().strip(): c for c in f.columns}
    # headers as the police write them ("Ngày xảy ra", "Lý trình", "Số người chết" …), as the import reads them
    found = auto_map(list(f.columns))
    field = {"date": "occurred_at", "id": "source_id", "crash_id": "source_id", "chainage_m": "chainage"}

    def col(*names):
        for n in names:
            if n in cols:
                return f[cols[n]]
        for n in names:
            if field.get(n, n) in found:
                return f[found[field.get(n, n)]]
        return None

    missing = [] if col("date", "occurred_at") is not None else ["date"]
    missing += [n for n in ("deaths", "injured") if col(n) is None]
    if missing:
        raise BlackspotError(f"Thiếu cột / Missing columns: {', '.join(missing)}")
    out = pd.DataFrame(
        {
            "crash_id": (
                col("id", "crash_id") if col("id", "crash_id") is not None else pd.Series(np.arange(1, len(f) + 1))
            ).to_numpy()
        }
    )
    ch = col("chainage_m", "chainage", "ly_trinh", "km")
    road = col("road")
    if ch is not None:
        grouped = dots_group_thousands(ch)
        if grouped:  # said, as the import says it: "142.372" read as 142 372 m
            print(f"  ! {THOUSANDS_NOTE}", file=sys.stderr)
        ch_road, metres = parse_chainage_series(ch, thousands=grouped)
        out["chainage_m"] = metres.to_numpy()
    else:
        ch_road = pd.Series([None] * len(f))
        out["chainage_m"] = np.nan
    rc = (
        pd.Series(per_text(road, lambda u: [normalise_road_code(r) or r for r in u]), index=road.index)
        if road is not None
        else ch_road
    )
    out["road"] = rc.where(rc.astype(str).ne(""), ch_road).to_numpy()
    # the rows as the file numbers them (title rows above the header counted)
    numbers = t.numbers()
    # the order of day and month as the import decides it: proven by the column (a part above 12), else day first
    dc = parse_date_column(col("date", "occurred_at"))
    words = _ORDER_WORDS[dc.order]
    if dc.proof == "proven" and dc.order != "dmy":
        at = int(numbers[dc.first_proof]) if dc.first_proof >= 0 else 0
        print(f"  ! {proven_order_note(dc.order, at)}", file=sys.stderr)
    against = np.asarray(dc.contradicts, dtype=bool)
    if against.any():
        raise BlackspotError(
            f"Ngày trái thứ tự {words[0]} của tệp ở dòng / Dates against the file's order ({words[1]}) at rows: "
            f"{numbers[against][:10].tolist()}"
        )
    bad = dc.values.isna().to_numpy()
    if bad.any():
        rows = numbers[bad][:10]
        raise BlackspotError(f"Ngày không đọc được ở dòng / Unreadable dates at rows: {rows.tolist()}")
    out["occurred_at"] = dc.values.to_numpy()
    for name in ("deaths", "injured"):  # counts as the import reads them (1,0 and 1.234 too), whole and not negative
        v, _, _ = _numbers(col(name))
        bad = np.isnan(v) | (v < 0) | (v != np.floor(v))
        if bad.any():
            rows = numbers[bad][:10]
            raise BlackspotError(
                f"Cột {name} sai ở dòng (cần số nguyên không âm) / Bad {name} at rows (a whole number, "
                f"not negative): {rows.tolist()}"
            )
        out[name] = v.astype(int)
    for name, key in (("not_infra", "not_infrastructure"), ("urban", "urban")):
        c = col(name, key)
        out[key] = parse_bool(c)[0] if c is not None else False
    for name in ("lon", "lat"):  # a decimal comma too, as the import reads coordinates
        c = col(name, "longitude" if name == "lon" else "latitude")
        if c is None:
            out[name] = np.nan
            continue
        xy = pd.to_numeric(c, errors="coerce").to_numpy(dtype=float)  # plain numbers at once
        odd = np.isnan(xy)
        if odd.any():
            xy[odd] = _numbers(c[odd], thousands=False)[0]
        out[name] = xy
    # a position off the globe (a latitude of 95, lon and lat swapped) is no position: the row
    # is kept without one, as a row with blank coordinates is
    off = ~(out["lon"].between(-180, 180) & out["lat"].between(-90, 90))
    out.loc[off, ["lon", "lat"]] = np.nan
    return out


def _write_table(df: pd.DataFrame, out: Path, *, geometry=None) -> None:
    suffix = out.suffix.lower()
    if suffix == ".csv":
        write_csv(df, out)
    elif suffix == ".xlsx":
        df2 = df.copy()
        for c in df2.columns:
            if pd.api.types.is_datetime64_any_dtype(df2[c]):
                df2[c] = df2[c].dt.strftime("%d/%m/%Y")
        out.write_bytes(to_xlsx_bytes({"Sheet1": df2}))
    elif suffix in (".geojson", ".json"):
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(df.copy(), geometry=geometry, crs="EPSG:4326")
        for c in gdf.columns:
            if pd.api.types.is_datetime64_any_dtype(gdf[c]):
                gdf[c] = gdf[c].dt.strftime("%Y-%m-%d")
        gdf.to_file(out, driver="GeoJSON")
    else:
        raise BlackspotError(f"Định dạng đầu ra không hỗ trợ / Unsupported output: {suffix}")


def cmd_blackspots(args) -> int:
    from geo.screening import screen
    from services.blackspots import get_rules

    crashes = _read_crash_file(Path(args.crashes))
    result = screen(
        crashes,
        ruleset=get_rules(args.rules),
        window_m=args.window_m,
        urban_window_m=args.urban_window_m,
        date_from=args.date_from and pd.Timestamp(_date(args.date_from)),
        date_to=args.date_to and pd.Timestamp(_date(args.date_to)),
        epdo_weights=settings.EPDO_WEIGHTS,
    )
    table = result.with_crash_lists() if len(result.spots) else result.spots.assign(crash_ids=[], window_crash_ids=[])
    out = table[
        [
            "kind",
            "road",
            "from_m",
            "to_m",
            "tests",
            "test_labels",
            "window_start",
            "window_end",
            "n_crashes",
            "fatal_crashes",
            "injury_crashes",
            "collisions",
            "deaths",
            "injured",
            "epdo",
            "crash_ids",
            "window_crash_ids",
        ]
    ].rename(columns={"tests": "test_met"})
    geometry = None
    if Path(args.out).suffix.lower() in (".geojson", ".json"):
        geometry = _spot_points(result, crashes)
    _write_table(out, Path(args.out), geometry=geometry)
    print(
        f"{len(result.black_spots)} điểm đen / black spots, {len(result.potential_points)} điểm tiềm ẩn / "
        f"potential points ({result.ruleset.id}; {result.n_screened} vụ được rà soát / crashes screened, "
        f"{result.n_excluded_not_infrastructure} loại do không do hạ tầng / excluded as not infrastructure). "
        f"→ {args.out}"
    )
    return 0


def _spot_points(result, crashes: pd.DataFrame):
    import shapely

    pos = crashes.set_index("crash_id")[["lon", "lat"]]
    m = result.members.join(pos, on="crash_id").dropna(subset=["lon", "lat"])
    centre = m.groupby("spot")[["lon", "lat"]].mean().reindex(result.spots["spot"])
    return [shapely.Point(x, y) if np.isfinite(x) else None for x, y in centre.to_numpy()]


def _date(text: str):
    from geo.validate import parse_dates

    d = parse_dates(pd.Series([text])).iloc[0]
    if pd.isna(d):
        raise BlackspotError(f"Ngày không đọc được / Unreadable date: {text}")
    return d


def cmd_cluster(args) -> int:
    import shapely

    from geo.cluster import cluster_crashes

    crashes = _read_crash_file(Path(args.crashes))
    if crashes["lon"].isna().all():
        raise BlackspotError("Cần cột lon, lat / lon and lat columns needed")
    labels, table = cluster_crashes(
        crashes, eps=args.eps, min_samples=args.min_samples, method=args.method, epdo_weights=settings.EPDO_WEIGHTS
    )
    if args.labels:
        write_csv(crashes.assign(cluster=labels.to_numpy())[["crash_id", "lon", "lat", "cluster"]], args.labels)
    geometry = None
    if Path(args.out).suffix.lower() in (".geojson", ".json"):
        geometry = shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy())
    _write_table(table, Path(args.out), geometry=geometry)
    how = (
        f"HDBSCAN, min {args.min_samples}" if args.method == "hdbscan" else f"eps {args.eps} m, min {args.min_samples}"
    )
    unplaced = int((crashes["lon"].isna() | crashes["lat"].isna()).sum())  # as cluster_crashes leaves them out
    print(
        f"{len(table)} cụm / clusters ({how}); {int((labels < 0).sum()) - unplaced} điểm nhiễu / noise points"
        + (f"; {unplaced} vụ không có tọa độ hợp lệ / without valid coordinates" if unplaced else "")
        + f" → {args.out}"
    )
    return 0


def cmd_kde(args) -> int:
    """KDE+ clusters along roads from a crash file (an analysis beside the regulation's list)."""
    import shapely

    from geo.kde import kde_plus

    crashes = _read_crash_file(Path(args.crashes))
    result = kde_plus(
        crashes,
        bandwidth_m=args.bandwidth,
        step_m=args.step,
        n_sim=args.simulations,
        alpha=args.alpha,
        min_crashes=args.min_crashes,
        seed=args.seed,
    )
    cl = result.clusters
    out = pd.DataFrame(
        {
            "road": cl["road"],
            "from_m": cl["from_m"].astype(float).round(1),
            "to_m": cl["to_m"].astype(float).round(1),
            "strength": cl["strength"].astype(float).round(4),
            "crash_ids": [";".join(map(str, ids)) for ids in cl["crash_ids"]],
            "n_crashes": cl["n_crashes"],
        }
    )
    geometry = None
    if Path(args.out).suffix.lower() in (".geojson", ".json"):
        pos = crashes.drop_duplicates("crash_id").set_index("crash_id")[["lon", "lat"]]
        centre = [pos.reindex(ids).mean() for ids in cl["crash_ids"]]
        geometry = [
            shapely.Point(c["lon"], c["lat"]) if np.isfinite(c["lon"]) and np.isfinite(c["lat"]) else None
            for c in centre
        ]
    _write_table(out, Path(args.out), geometry=geometry)
    p = result.params
    print(
        f"{len(out)} cụm KDE+ / KDE+ clusters (băng thông / bandwidth {p['bandwidth_m']:g} m, {p['n_sim']} lần mô "
        f"phỏng / simulations, α {p['alpha']:g}); {result.n_analysed} vụ được phân tích / crashes analysed, "
        f"{result.n_without_chainage} vụ thiếu tuyến hoặc lý trình / without road or chainage → {args.out}"
    )
    return 0


def cmd_corridor_check(args) -> int:
    from services.importing import read_file
    from services.corridor import check_against_corridors, features_from_table
    from services.importing import roads_from_table

    roads = roads_from_table(read_file(Path(args.roads)))
    crs = int(args.crs) if args.crs and args.crs.isdigit() else args.crs
    feats = features_from_table(read_file(Path(args.points)), source_crs=crs)
    _print_report(feats)
    out = check_against_corridors(roads, feats, rules=args.rules, search_m=args.search_m)
    _write_table(out, Path(args.out))
    counts = out["zone"].value_counts()
    print(
        f"{len(out)} đối tượng / features: {int(counts.get('road_land', 0))} trong đất của đường bộ / in road land, "
        f"{int(counts.get('corridor', 0))} trong hành lang / in the corridor, "
        f"{int(counts.get('outside', 0))} ngoài / outside → {args.out}"
    )
    return 0


def cmd_plan_parse(args) -> int:
    from services.plan_parser import parse_plan, read_plan_text

    path = Path(args.file)
    if not path.exists():
        raise BlackspotError(f"Không có tệp / No such file: {path}")
    draft = parse_plan(read_plan_text(path.read_bytes(), path.name))
    d = draft.to_json_dict()
    if args.json:
        print(json.dumps(d, ensure_ascii=False, indent=2))
    else:
        print(f"{d['number']} · {d['issued_on']} · {d['issuer']}\n{d['title']}\n{d['period_from']} → {d['period_to']}")
        for sec in d["sections"]:
            print(f"  {sec['code']}: {sec['title']}")
        for w in d["warnings"]:
            print(f"  ! {w}")
    return 0


def _read_password(args) -> str:
    """The new account's password: the next stdin line with ``--password-stdin``
    (after the acting user's, when both are read from stdin), else asked twice."""
    if args.password_stdin:
        return _stdin_line("mật khẩu mới / new password")
    import getpass

    first = getpass.getpass("Mật khẩu / Password: ")
    if getpass.getpass("Nhập lại / Again: ") != first:
        raise BlackspotError("Hai lần nhập không khớp / The passwords differ")
    return first


def cmd_user_add(args) -> int:
    store = _store()
    first = store.user_count() == 0
    if first and args.role != "admin":
        raise BlackspotError("Tài khoản đầu tiên phải là quản trị (--role admin) / The first account must be an admin")
    commune = args.commune
    if commune:  # an editor's commune must be one the store knows, or it could never edit anything
        from services.communes import commune_choices, match_commune

        choices = commune_choices(store.admin_units_frame(), store.crashes_frame())
        commune = match_commune(commune, choices) if choices else commune.strip()
    uid = add_user(
        store,
        username=args.username,
        password=_read_password(args),
        role=args.role,
        commune=commune,
        full_name=args.full_name,
        user=args.user,
    )
    print(f"Đã tạo tài khoản / Created user {args.username} (#{uid}, {args.role})")
    return 0


def cmd_user_list(args) -> int:
    df = _store().users_frame()
    print(
        df[["id", "username", "full_name", "role", "commune", "active"]].to_string(index=False)
        if len(df)
        else "Chưa có tài khoản / No accounts"
    )
    return 0


def cmd_export(args) -> int:
    from services.exports import store_table, write_file
    from services.filters import area_text, in_area

    area = None
    if args.area:  # WKT or GeoJSON, typed or in a file (the area a page's map draws)
        try:
            is_file = Path(args.area).is_file()
        except OSError:  # a polygon's text longer than a file name can be
            is_file = False
        text = Path(args.area).read_text(encoding="utf-8") if is_file else args.area
        area = area_text(text)  # refused before anything is read or written
    table = store_table(_store(), args.kind)
    if area is not None:
        table = table.loc[in_area(table, area, kind=args.kind)].reset_index(drop=True)
    write_file(table, Path(args.out), layer=args.kind)
    print(f"{len(table)} dòng / rows → {args.out}")
    return 0


def cmd_org_show(args) -> int:
    from dataclasses import asdict

    from services.organisation import load_organisation

    org = load_organisation(_store())
    if args.json:
        print(json.dumps(asdict(org), ensure_ascii=False, indent=2))
    else:
        for k, v in asdict(org).items():
            print(f"{k}: {v}")
        if org.missing():
            print(f"Chưa điền / Not set: {', '.join(org.missing())}")
    return 0


def cmd_org_set(args) -> int:
    from dataclasses import asdict, replace

    from services.organisation import load_organisation, save_organisation

    store = _store()
    changes = {
        k: v
        for k, v in (
            ("name", args.name),
            ("level", args.level),
            ("parent", args.parent),
            ("place", args.place),
            ("receiver", args.receiver),
            ("signer", args.signer),
            ("signer_title", args.signer_title),
            ("symbol", args.symbol),
        )
        if v is not None
    }
    org = save_organisation(store, replace(load_organisation(store), **changes), user=args.user)
    print(json.dumps(asdict(org), ensure_ascii=False))
    return 0


def cmd_appraise(args) -> int:
    from services.appraisal import appraise_works, report, within_budget

    for name, value, low in (("--budget", args.budget, 0.0), ("--years", args.years, 1e-3)):
        if value is not None and not (math.isfinite(value) and low <= value <= 1e15):
            raise BlackspotError(f"{name} phải là số dương hữu hạn / {name} must be a finite positive number: {value}")
    a = appraise_works(_store(), years=args.years)
    if args.budget is not None:
        a = within_budget(a, args.budget)
    out = report(a)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str))
        return 0
    s = out["assumptions"]
    money = lambda v: "—" if v is None else f"{v:,.0f}".replace(",", ".")  # noqa: E731
    print(
        f"GDP/người {s['gdp_year']}: {money(s['gdp_per_capita_vnd'])} đ · VSL {money(s['vsl_vnd'])} đ · "
        f"bị thương nặng / serious injury {money(s['serious_injury_vnd'])} đ · chiết khấu / discount "
        f"{s['discount_rate'] * 100:.1f} %/năm"
    )
    if not out["works"]:
        print("Không có công trình đề xuất / No proposed works")
        return 0
    rows = [
        {
            "#": w["rank"],
            "ID": w["id"],
            "loại/type": w["work_type"],
            "kinh phí/cost": money(w["cost_vnd"]),
            "vụ tránh/năm": f"{w['avoided_crashes_per_year'] or 0:.2f}",
            "PV lợi ích": money(w["pv_benefit_vnd"]),
            "NPV": money(w["npv_vnd"]),
            "B/C": "—" if w["bcr"] is None else f"{w['bcr']:.1f}",
            "chọn/selected": "x" if w["selected"] else "",
            "tên/name": w["name"] or "",
        }
        for w in out["works"]
    ]
    print(pd.DataFrame(rows).to_string(index=False))
    if "selection" in out:
        t = out["selection"]
        print(
            f"Ngân sách / budget {money(t['budget_vnd'])} đ: {t['n_works']} công trình / works, kinh phí / cost "
            f"{money(t['cost_vnd'])} đ, PV lợi ích / benefit {money(t['pv_benefit_vnd'])} đ, "
            f"tránh / avoided {t['avoided_crashes']:.2f} vụ/năm / crashes a year"
            + (f". {t['note']}" if t["note"] else "")
        )
    for n in out["notes"]:
        print(n)
    return 0


def _spot_ids(text: str) -> list[int]:
    """Spot ids written "12" or "12,15"."""
    try:
        return [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise BlackspotError(
            f"Mã điểm phải là số, vd 12 hoặc 12,15 / A spot id is a number, e.g. 12 or 12,15: {text}"
        ) from None


def _need_libreoffice() -> None:
    from services.documents import libreoffice

    if libreoffice() is None:
        raise BlackspotError("Cần LibreOffice để tạo PDF / LibreOffice is needed for PDF")


def _pdf(docx: bytes) -> bytes:
    """A document as PDF, through LibreOffice."""
    from services.documents import to_pdf

    _need_libreoffice()
    data = to_pdf(docx)
    if not data:
        raise BlackspotError("LibreOffice không tạo được PDF / LibreOffice could not make the PDF")
    return data


def cmd_proposal(args) -> int:
    from services.reports import proposal, proposal_info

    store = _store()
    out = Path(args.out)
    if out.suffix.lower() not in (".docx", ".pdf"):
        raise BlackspotError("--out cần .docx hoặc .pdf / --out needs .docx or .pdf")
    ids = _spot_ids(args.spots) if args.spots else store.blackspots_frame(kind="black_spot")["id"].astype(int).tolist()
    if not ids:
        raise BlackspotError("Chưa có điểm đen nào; chạy 'screen' trước / No black spots yet; run 'screen' first")
    data = proposal(store, ids, proposal_info(store, ids, plan_number=args.plan))
    out.write_bytes(_pdf(data) if out.suffix.lower() == ".pdf" else data)
    print(f"Tờ trình {len(ids)} điểm / Proposal of {len(ids)} spots → {out}")
    return 0


def cmd_dossier(args) -> int:
    from services.reports import dossier, dossiers_zip

    store = _store()
    out = Path(args.out)
    ids = _spot_ids(args.spot_id)
    ext = out.suffix.lower()
    if ext not in (".docx", ".pdf", ".zip"):
        raise BlackspotError(
            "--out cần .docx, .pdf hoặc .zip (nhiều điểm) / --out needs .docx, .pdf or .zip (several spots)"
        )
    if ext == ".zip" or len(ids) > 1:
        if ext != ".zip":
            raise BlackspotError("Nhiều điểm cần --out .zip / Several spots need --out .zip")
        if args.pdf:
            _need_libreoffice()
        out.write_bytes(dossiers_zip(store, ids, pdf=args.pdf))
    else:
        data = dossier(store, ids[0])
        out.write_bytes(_pdf(data) if ext == ".pdf" else data)
    print(f"Hồ sơ {len(ids)} điểm / Dossier of {len(ids)} spots → {out}")
    return 0


def cmd_targets(args) -> int:
    from services.plans import targets_report

    rep = targets_report(_store(), plan_number=args.plan)
    if args.json:
        print(json.dumps(rep, ensure_ascii=False, indent=2, default=str, allow_nan=False))
        return 0
    words = {"on_track": "Đạt / on track", "off_track": "Chưa đạt / off track", "no_data": "Chưa có dữ liệu / no data"}
    print(
        f"{rep['area']}: {rep['period']['from']} → {rep['period']['to']} so với / against "
        f"{rep['baseline']['from']} → {rep['baseline']['to']}"
    )
    for r in rep["rows"]:
        ch = "—" if r["change_pct"] is None else f"{r['change_pct']:+.1f} %"
        print(f"  {r['label']}: {r['previous']} → {r['current']} ({ch}) {words.get(r['status'], r['status'])}")
    return 0


def cmd_token_create(args) -> int:
    from services.auth import create_service_token

    token = create_service_token(_store(), args.name, args.for_user)
    print(token)
    print(
        f"Mã truy cập '{args.name}' cho {args.for_user}; chỉ hiện một lần, dùng qua biến BLACKSPOT_TOKEN / "
        f"Token '{args.name}' for {args.for_user}; shown once, use it through BLACKSPOT_TOKEN",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args) -> int:
    df = _store().service_tokens_frame()
    print(df.to_string(index=False) if len(df) else "Chưa có mã truy cập / No tokens")
    return 0


def cmd_token_revoke(args) -> int:
    _store().revoke_service_token(args.token_id, user=args.user)
    print(f"Đã thu hồi mã truy cập {args.token_id} / Revoked token {args.token_id}")
    return 0


def cmd_backup(args) -> int:
    from services.backup import backup

    n = backup(_store(), Path(args.file))
    print(f"Đã sao lưu {sum(n.values())} dòng ({len(n)} bảng) / Backed up {sum(n.values())} rows → {args.file}")
    return 0


def cmd_restore(args) -> int:
    from services.backup import restore

    n = restore(_store(), Path(args.file), force=args.force)
    print(f"Đã khôi phục {sum(n.values())} dòng / Restored {sum(n.values())} rows from {args.file}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cli.py", description="Quản lý điểm đen TNGT / Black-spot management")
    p.add_argument("--user", help="tài khoản thực hiện lệnh (hỏi mật khẩu) / the account acting (asks its password)")
    p.add_argument(
        "--password-stdin",
        dest="auth_password_stdin",
        action="store_true",
        help="đọc mật khẩu của --user từ dòng đầu stdin / read --user's password from stdin's first line",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("init-db", help="tạo/cập nhật kho / create or migrate the store").set_defaults(fn=cmd_init_db)
    d = sub.add_parser("load-demo", help="nạp dữ liệu mẫu / load demo data")
    d.add_argument("--hk-limit", type=int, default=None)
    d.set_defaults(fn=cmd_load_demo)
    i = sub.add_parser("import", help="nhập tệp / import a file")
    i.add_argument("kind", choices=["crashes", "roads", "boundaries", "cases"])
    i.add_argument("file")
    i.add_argument("--crs", help="EPSG của tọa độ (vd 9216, 3405) / CRS of the coordinates")
    i.add_argument("--bounds", help="minlon,minlat,maxlon,maxlat (mặc định Việt Nam / default Viet Nam)")
    i.add_argument(
        "--all-or-nothing", action="store_true", help="không nhập gì nếu có dòng lỗi / nothing if any row is bad"
    )
    i.add_argument("--report", help="tệp báo cáo kiểm tra / validation report file (CSV)")
    i.add_argument("--level", default="commune", choices=["province", "district", "commune"])
    i.add_argument("--sheet", help="trang tính của tệp Excel / the workbook's sheet (default: the one with the table)")
    i.add_argument(
        "--date-order",
        choices=["dmy", "mdy", "ymd"],
        help="thứ tự ngày/tháng (mặc định: tự xác định, không rõ thì dmy) / the order of day and month",
    )
    i.add_argument(
        "--map",
        action="append",
        metavar='"COLUMN=field"',
        help="ánh xạ cột → trường (id, date, time, road, chainage, location, commune, deaths, injured, "
        "severity, lon, lat, x, y, cause, vehicle, description, not_infra); lặp lại được / repeatable",
    )
    i.add_argument("--profile", help="hồ sơ ánh xạ JSON dùng lại / a reusable mapping profile (JSON)")
    i.add_argument(
        "--source",
        help="nguồn dữ liệu (vd 'Công an xã …'); mã vụ trùng từ cùng nguồn là bản sửa / "
        "the data's source; a crash id seen before from it is a correction",
    )
    i.set_defaults(fn=cmd_import)
    sub.add_parser("batches", help="các lần nhập / import batches").set_defaults(fn=cmd_batches)
    u = sub.add_parser("undo", help="hoàn tác một lần nhập / undo an import batch")
    u.add_argument("batch_id", type=int)
    u.set_defaults(fn=cmd_undo)
    s = sub.add_parser("screen", help="rà soát điểm đen trong kho / screen the store")
    s.add_argument("--rules", default=settings.DEFAULT_RULESET)
    s.add_argument("--window-m", type=float)
    s.add_argument(
        "--json", action="store_true", help="in JSON: new, grown, changed, unchanged, no_longer_met / as JSON"
    )
    s.set_defaults(fn=cmd_screen)
    b = sub.add_parser("blackspots", help="rà soát điểm đen từ tệp / black spots from a file")
    b.add_argument("--crashes", required=True)
    b.add_argument("--rules", default=settings.DEFAULT_RULESET, choices=["tt41-2024", "tt26-2012"])
    b.add_argument("--window-m", type=float)
    b.add_argument("--urban-window-m", type=float)
    b.add_argument("--from", dest="date_from")
    b.add_argument("--to", dest="date_to")
    b.add_argument("--out", required=True)
    b.set_defaults(fn=cmd_blackspots)
    c = sub.add_parser("cluster", help="phân cụm mật độ từ tệp / density clusters from a file")
    c.add_argument("--crashes", required=True)
    c.add_argument("--eps", type=float, default=settings.CLUSTER_EPS_M)
    c.add_argument("--min-samples", type=int, default=settings.CLUSTER_MIN_SAMPLES)
    c.add_argument("--method", default="dbscan", choices=["dbscan", "hdbscan"])
    c.add_argument("--labels", help="ghi nhãn cụm từng vụ / write each crash's label (CSV)")
    c.add_argument("--out", required=True)
    c.set_defaults(fn=cmd_cluster)
    kd = sub.add_parser("kde", help="cụm KDE+ dọc tuyến từ tệp / KDE+ clusters along roads from a file")
    kd.add_argument("--crashes", required=True)
    kd.add_argument("--bandwidth", type=float, default=100.0, help="băng thông / bandwidth (m)")
    kd.add_argument("--step", type=float, default=10.0, help="bước tính mật độ / density step (m)")
    kd.add_argument("--simulations", type=int, default=200, help="số lần mô phỏng / Monte Carlo simulations")
    kd.add_argument("--alpha", type=float, default=0.05, help="mức ý nghĩa / significance level")
    kd.add_argument("--min-crashes", type=int, default=2, help="số vụ tối thiểu mỗi cụm / min crashes per cluster")
    kd.add_argument("--seed", type=int, default=0)
    kd.add_argument("--out", required=True)
    kd.set_defaults(fn=cmd_kde)
    co = sub.add_parser("corridor", help="hành lang an toàn đường bộ / road safety corridor")
    cosub = co.add_subparsers(dest="corridor_cmd", required=True)
    cc = cosub.add_parser("check", help="kiểm tra điểm/công trình trong hành lang / check features against corridors")
    cc.add_argument("--roads", required=True, help="tệp đường: name, class, geometry / road file")
    cc.add_argument("--points", required=True, help="tệp điểm hoặc đa giác / points or footprints")
    cc.add_argument("--rules", default=None, help="bộ quy tắc hành lang / corridor rule set id")
    cc.add_argument("--crs", help="EPSG của tọa độ điểm nếu không phải WGS 84 / CRS of point coordinates")
    cc.add_argument(
        "--search-m",
        type=float,
        default=200.0,
        help="tìm đường gần nhất trong bán kính này cho điểm ngoài hành lang / nearest-road radius",
    )
    cc.add_argument("--out", required=True)
    cc.set_defaults(fn=cmd_corridor_check)
    us = sub.add_parser("user", help="tài khoản / accounts")
    ussub = us.add_subparsers(dest="user_cmd", required=True)
    ua = ussub.add_parser("add", help="tạo tài khoản (tài khoản đầu tiên: quản trị) / add an account")
    ua.add_argument("username")
    ua.add_argument("--role", required=True, choices=["viewer", "commune_editor", "committee_editor", "admin"])
    ua.add_argument("--commune", help="xã của biên tập cấp xã / a commune editor's commune")
    ua.add_argument("--full-name")
    ua.add_argument(
        "--password-stdin", action="store_true", help="đọc mật khẩu từ stdin / read the password from stdin"
    )
    ua.set_defaults(fn=cmd_user_add)
    ussub.add_parser("list", help="danh sách tài khoản / list accounts").set_defaults(fn=cmd_user_list)
    ex = sub.add_parser("export", help="xuất dữ liệu trong kho / export the store's data")
    ex.add_argument("kind", choices=["crashes", "spots", "cases", "works"])
    ex.add_argument("--out", required=True, help=".csv .xlsx .geojson .gpkg .kml")
    ex.add_argument(
        "--area",
        help="chỉ trong vùng này: đa giác WKT/GeoJSON hoặc tệp chứa nó / only within this area: a WKT or GeoJSON "
        "polygon (lon, lat), or a file holding one",
    )
    ex.set_defaults(fn=cmd_export)
    og = sub.add_parser("org", help="thông tin cơ quan (ban hành văn bản) / the organisation profile")
    ogsub = og.add_subparsers(dest="org_cmd", required=True)
    osh = ogsub.add_parser("show", help="xem / show")
    osh.add_argument("--json", action="store_true")
    osh.set_defaults(fn=cmd_org_show)
    ost = ogsub.add_parser("set", help="đặt (quản trị) / set (admins)")
    ost.add_argument("--name", help="tên Ban, vd 'Ban An toàn giao thông xã …' / the committee's name")
    ost.add_argument("--level", choices=["commune", "ward", "special_zone", "province", "district"])
    ost.add_argument("--parent", help="cơ quan cấp trên trực tiếp, vd 'UBND xã …' / the body above")
    ost.add_argument("--place", help="địa danh ghi ngày tháng / the place in the date line")
    ost.add_argument("--receiver", help="nơi nhận tờ trình / the receiving authority")
    ost.add_argument("--signer", help="họ tên người ký / the signer's name")
    ost.add_argument("--signer-title", help="chức vụ, vd 'KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN' / the signer's title")
    ost.add_argument("--symbol", help="chữ viết tắt trong số văn bản, vd BATGT / the body's letters in numbers")
    ost.set_defaults(fn=cmd_org_set)
    pr = sub.add_parser("proposal", help="tờ trình đề xuất xử lý điểm đen / the proposal (Tờ trình)")
    pr.add_argument("--out", required=True, help=".docx hoặc .pdf")
    pr.add_argument("--spots", help="mã các điểm, cách nhau bởi dấu phẩy (mặc định: mọi điểm đen) / spot ids")
    pr.add_argument("--plan", help="số kế hoạch làm căn cứ / the plan's number to cite")
    pr.set_defaults(fn=cmd_proposal)
    ds = sub.add_parser("dossier", help="hồ sơ điểm đen / a black spot's dossier")
    ds.add_argument("spot_id", help="mã điểm, hoặc nhiều mã cách nhau bởi dấu phẩy / a spot id, or ids with commas")
    ds.add_argument("--out", required=True, help=".docx, .pdf, hoặc .zip cho nhiều điểm / .docx, .pdf, or .zip")
    ds.add_argument("--pdf", action="store_true", help="trong .zip: PDF thay cho DOCX / in a .zip: PDF, not DOCX")
    ds.set_defaults(fn=cmd_dossier)
    ap = sub.add_parser(
        "appraise", help="thẩm định kinh tế các công trình đề xuất / economic appraisal of the proposed works"
    )
    ap.add_argument(
        "--budget",
        type=float,
        help="ngân sách (đồng): chọn các công trình tránh được nhiều thiệt hại "
        "nhất / budget (VND): the works that avoid the most cost within it",
    )
    ap.add_argument("--years", type=float, default=3.0, help="số năm số liệu tai nạn (tối đa) / years of crash data")
    ap.add_argument("--json", action="store_true")
    ap.set_defaults(fn=cmd_appraise)
    tg = sub.add_parser("targets", help="chỉ tiêu so với cùng kỳ / targets against the same period a year before")
    tg.add_argument("--plan", help="số kế hoạch / the plan's number (default: the calendar year)")
    tg.add_argument("--json", action="store_true")
    tg.set_defaults(fn=cmd_targets)
    tk = sub.add_parser("token", help="mã truy cập cho tập lệnh / service tokens for scripts")
    tksub = tk.add_subparsers(dest="token_cmd", required=True)
    tc = tksub.add_parser("create", help="tạo mã truy cập (quản trị) / create a token (admins)")
    tc.add_argument("name", help="tên gợi nhớ, vd 'nhap-hang-dem' / a label, e.g. 'nightly-import'")
    tc.add_argument("--for", dest="for_user", required=True, help="tài khoản mà mã thay mặt / the account it acts as")
    tc.set_defaults(fn=cmd_token_create)
    tksub.add_parser("list", help="danh sách mã truy cập / list tokens").set_defaults(fn=cmd_token_list)
    tr_ = tksub.add_parser("revoke", help="thu hồi mã truy cập / revoke a token")
    tr_.add_argument("token_id", type=int)
    tr_.set_defaults(fn=cmd_token_revoke)
    bk = sub.add_parser("backup", help="sao lưu toàn bộ kho vào một tệp / back up the whole store to one file")
    bk.add_argument("file")
    bk.set_defaults(fn=cmd_backup)
    rs = sub.add_parser("restore", help="khôi phục kho từ tệp sao lưu / restore the store from a backup")
    rs.add_argument("file")
    rs.add_argument("--force", action="store_true", help="xóa dữ liệu hiện có trước / replace what the store holds")
    rs.set_defaults(fn=cmd_restore)
    pl = sub.add_parser("plan", help="kế hoạch / plans")
    plsub = pl.add_subparsers(dest="plan_cmd", required=True)
    pp = plsub.add_parser("parse", help="đọc kế hoạch (.docx/.md/.txt) / read a plan")
    pp.add_argument("file")
    pp.add_argument("--json", action="store_true", help="in JSON / print JSON")
    pp.set_defaults(fn=cmd_plan_parse)
    return p


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"Không có tệp / No such file: {exc.filename}"
    if isinstance(exc, IsADirectoryError):
        return f"Đây là thư mục, không phải tệp / A folder, not a file: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"Không có quyền đọc/ghi / Permission denied: {exc.filename}"
    if isinstance(exc, OSError):
        return f"Lỗi tệp / File error: {exc.strerror or exc} {exc.filename or ''}".strip()
    if isinstance(exc, MemoryError):
        return "Không đủ bộ nhớ cho tệp này / Not enough memory for this file"
    text = " ".join(str(exc).split())
    return text[:500] if isinstance(exc, BlackspotError) else f"{type(exc).__name__}: {text[:400]}"


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done; 1 the input was read but its rows
    are invalid (the report says which); 2 any other error, said in one line
    on stderr (``BLACKSPOT_DEBUG=1`` shows the traceback)."""
    args = build_parser().parse_args(argv)
    _AUTH.update(user=args.user, password_stdin=args.auth_password_stdin, store=None)
    args.user = args.user or "cli"
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("Đã dừng / Interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, never a traceback
        if os.environ.get("BLACKSPOT_DEBUG"):
            raise
        print(f"Lỗi / Error: {_one_line(exc)}", file=sys.stderr)
        return 2
    finally:
        _AUTH["store"] = None


if __name__ == "__main__":
    # each line out as it is printed, into a pipe or a log too: a command stopped or killed half-way (a long
    # import) has said how far it got (a pipe's block buffer lost the check's report with the process)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.exit(main())
