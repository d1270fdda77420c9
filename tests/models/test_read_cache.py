"""The store keeps whole-table reads (the crash table, the road network) per
data version: the same data are not read again within a page's run, and a
write by anyone (another process, the command line, an undo) shows at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd

from tests.conftest import ROOT


def test_reads_are_kept_per_version_and_follow_every_write(ql24_store, db_url, tmp_path):
    store = ql24_store
    first = store.crashes_frame()
    n = len(first)
    assert n > 0
    # a caller changing its frame changes no one else's
    first["deaths"] = 99
    first.drop(first.index[:5], inplace=True)
    again = store.crashes_frame()
    assert len(again) == n and (again["deaths"] != 99).all()
    assert store.road_network() is store.road_network()  # built once, shared

    # another process imports (the nightly command line): the next read has the new crashes
    csv = tmp_path / "moi.csv"
    csv.write_text(
        "Mã vụ,Ngày giờ,Lý trình,Số người chết,Số người bị thương\n"
        "N1,05/03/2024 08:00,Km 150+100 QL24,1,0\nN2,06/03/2024 09:30,Km 151+200 QL24,0,2\n",
        encoding="utf-8",
    )
    env = dict(os.environ, DATABASE_URL=db_url)
    r = subprocess.run(
        [sys.executable, "cli.py", "import", "crashes", str(csv)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    after = store.crashes_frame()
    assert len(after) == n + 2 and {"N1", "N2"} <= set(after["source_id"])

    # an undo in this process: gone at once
    batch = int(store.batches_frame()["id"].max())
    store.undo_batch(batch, user="an")
    assert len(store.crashes_frame()) == n and not {"N1", "N2"} & set(store.crashes_frame()["source_id"])
    # a filtered read is never the whole table's copy
    some = store.crashes_frame(road_code="QL24", date_from=pd.Timestamp("2023-01-01"))
    assert len(some) < n and (some["occurred_at"] >= pd.Timestamp("2023-01-01")).all()


def test_a_write_to_another_table_keeps_the_crash_read(ql24_store, monkeypatch):
    """A kept read names the tables it depends on: when the version moves on
    only because another table was written (an agency added), the crash table
    is not read again; a write to the crashes (an undo) is read at once."""
    store = ql24_store
    reads = []
    real = type(store)._crashes_read
    monkeypatch.setattr(type(store), "_crashes_read", lambda self, **kw: reads.append(1) or real(self, **kw))
    n = len(store.crashes_frame())
    assert len(reads) == 1
    v = store.data_version()
    store.add_agency(name="Đội CSGT số 3", user="an")
    assert store.data_version() > v
    assert len(store.crashes_frame()) == n and len(reads) == 1  # the version moved; the crashes did not
    assert len(store.cases_frame()) >= 0 and len(store.crashes_frame()) == n and len(reads) == 1
    agencies = store.agencies_frame()
    assert "Đội CSGT số 3" in set(agencies["name"])  # the agencies' own read follows its write
    batch = int(store.batches_frame()["id"].max())
    store.undo_batch(batch, user="an")
    assert len(store.crashes_frame()) < n and len(reads) == 2
