"""Fresh data across processes (issue 17.1): the home page in this process, an
import by the command line in another, and the next run shows the new count,
with no write made in the app; on SQLite and PostGIS."""

from __future__ import annotations

import os
import subprocess
import sys

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def _crash_count_shown(at: AppTest) -> int:
    label = next(m for m in at.metric if m.label == "Số vụ")
    return int(str(label.value).replace(".", ""))


def test_a_command_line_import_shows_on_the_next_run(ql24_store, tmp_path, monkeypatch):
    url = ql24_store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    at = AppTest.from_file(str(ROOT / "app_pages" / "home.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    before = _crash_count_shown(at)
    assert before == ql24_store.crash_count()

    csv = tmp_path / "dem_nay.csv"
    csv.write_text(
        "Mã vụ,Ngày xảy ra,Lý trình,Tuyến đường,Số người chết,Số người bị thương\n"
        "DN-1,03/02/2024,Km 140+250,QL24,0,1\nDN-2,04/02/2024,Km 141+100,QL24,1,0\n",
        encoding="utf-8",
    )
    env = dict(os.environ, DATABASE_URL=url)
    r = subprocess.run(
        [sys.executable, "cli.py", "import", "crashes", str(csv)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    at.run()  # no write in this process, no cache cleared by hand
    assert _crash_count_shown(at) == before + 2


def test_the_data_version_is_read_once_a_run_and_again_next_run(ql24_store, monkeypatch, tmp_path):
    """The frames of one run share one data-version query; the next run asks
    again (so another process's write shows), and so does the rest of a run
    after a write of its own."""
    from models._store_base import StoreBase

    url = ql24_store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    calls = tmp_path / "calls.txt"
    real = StoreBase.data_version

    def counted(self):
        with open(calls, "a") as f:
            f.write("x")
        return real(self)

    monkeypatch.setattr(StoreBase, "data_version", counted)

    def page():
        import streamlit as st

        from app_pages.common import invalidate, load_cases, load_crashes, load_roads, url

        st.write(len(load_crashes(url())), len(load_roads(url())), len(load_cases(url())))
        if st.session_state.get("write"):
            invalidate()
            st.write(len(load_crashes(url())))

    at = AppTest.from_function(page, default_timeout=60)
    at.run()  # the frames read for this data version (a read asks the version again inside)
    assert not at.exception
    calls.write_text("")
    at.run()
    assert calls.read_text() == "x"
    at.run()
    assert calls.read_text() == "xx"
    at.session_state["write"] = True
    at.run()
    assert calls.read_text() == "xxxx"
