"""Render the documents a committee sends up (the Tờ trình and a hồ sơ điểm
đen) from a fresh demo store, through LibreOffice to PDF and pdftoppm to PNG,
into docs/screenshots for the README. Run by ``make screenshots``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from data.demo import load_demo
    from models.store import Store
    from services.documents import libreoffice, to_pdf
    from services.reports import dossier, proposal, proposal_info

    if libreoffice() is None or shutil.which("pdftoppm") is None:
        print("Cần LibreOffice và pdftoppm / LibreOffice and pdftoppm are needed", file=sys.stderr)
        return 2
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        store = Store(f"sqlite:///{Path(d) / 'demo.sqlite'}")
        load_demo(store, hk_limit=200)  # with the demo's organisation profile
        spots = store.blackspots_frame(kind="black_spot")
        ids = spots["id"].astype(int).tolist()[:3]
        if spots.empty:
            print("Kho mẫu không có điểm đen / The demo store has no black spots", file=sys.stderr)
            return 2
        for name, docx in (
            ("proposal", proposal(store, ids, proposal_info(store, ids, on=date.today()))),
            ("dossier", dossier(store, ids[0])),
        ):
            pdf = Path(d) / f"{name}.pdf"
            pdf.write_bytes(to_pdf(docx))
            subprocess.run(
                ["pdftoppm", "-r", "70", "-f", "1", "-l", "2", "-png", str(pdf), str(out / name)], check=True
            )
            for png in sorted(out.glob(f"{name}-*.png")):  # proposal-1.png → proposal_page1.png
                png.replace(out / f"{name}_page{int(png.stem.rsplit('-', 1)[1])}.png")
    print(f"→ {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
