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
    csv.write_text("Mã vụ,Ngày xảy ra,Lý trình,Tuyến đường,Số người chết,Số người bị thương\n"
                   "DN-1,03/02/2024,Km 140+250,QL24,0,1\nDN-2,04/02/2024,Km 141+100,QL24,1,0\n", encoding="utf-8")
    env = dict(os.environ, DATABASE_URL=url)
    r = subprocess.run([sys.executable, "cli.py", "import", "crashes", str(csv)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    at.run()   # no write in this process, no cache cleared by hand
    assert _crash_count_shown(at) == before + 2

