"""Import of 100 000 crash rows from CSV with validation (real Japanese crash
coordinates, Vietnamese headers, shifted into Viet Nam's box), into an SQLite
store. Baseline in the same run: pandas.read_csv of the same file."""

from __future__ import annotations

import tempfile
import time

import pandas as pd

from common import ROOT, measure  # noqa: F401
from geo.io import read_table
from geo.validate import validate_crashes
from models.store import Store
import settings


def make_csv(n: int = 100_000) -> bytes:
    df = pd.read_csv(settings.SHARED_DATA_DIR / "crashes" / "japan_npa_2019_2021_41pref.csv.gz", nrows=n)
    # real points, moved into Viet Nam's box so the bounds check passes
    lon = df["longitude"] - 143.0 + 106.0
    lat = df["latitude"] - 38.0 + 16.0
    t = pd.to_datetime(df["datetime_local"])
    out = pd.DataFrame(
        {
            "Mã vụ": df["report_no"].astype(str) + "-" + df.index.astype(str),
            "Ngày giờ": t.dt.strftime("%d/%m/%Y %H:%M"),
            "Kinh độ": lon.round(6),
            "Vĩ độ": lat.round(6),
            "Số người chết": df["n_killed"],
            "Số người bị thương": df["n_injured"],
        }
    )
    return out.to_csv(index=False).encode("utf-8")


def main() -> dict:
    data = make_csv()
    import io

    base, _, _ = measure(lambda: pd.read_csv(io.BytesIO(data)), memory=False, repeat=3)
    t0 = time.perf_counter()
    table = read_table(data, filename="bench.csv")
    t1 = time.perf_counter()
    res = validate_crashes(table)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.sqlite")
        t3 = time.perf_counter()
        s = store.import_crashes(res, filename="bench.csv")
        t4 = time.perf_counter()
    return {
        "rows": res.n_rows,
        "valid": res.n_valid,
        "imported": s.n_imported,
        "read_s": t1 - t0,
        "validate_s": t2 - t1,
        "write_sqlite_s": t4 - t3,
        "total_s": (t2 - t0) + (t4 - t3),
        "baseline_pandas_read_csv_s": base,
    }


if __name__ == "__main__":
    print(main())
