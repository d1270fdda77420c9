"""Documents sent to the higher level, in the Nghị định 30/2020/NĐ-CP format:
the proposal to treat black spots (Tờ trình đề xuất xử lý điểm đen) and the
plan's year-end summary (Báo cáo tổng kết). Built with python-docx; rendered
to PDF by LibreOffice when it is installed. No UI here.

Format (Phụ lục I): A4 portrait; margins top/bottom 20 mm, left 30 mm, right
15 mm; Times New Roman; a two-column header (issuing body and number on the
left, national motto on the right), place and date in italics, a bold title,
body 14 pt, "Nơi nhận:" with recipients on the left and the signer on the
right; page numbers centred at the top from page 2.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo.chainage import format_chainage
from services.blackspots import stretch_text
from services.tabular import xml_safe

if TYPE_CHECKING:
    import shapely
    from docx.document import Document as DocxDocument
    from docx.section import Section
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph
    from pandas._libs.tslibs.nattype import NaTType

FONT = "Times New Roman"
MOTTO_1 = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"


@dataclass
class DocumentInfo:
    """Who sends the document, to whom, on what basis, and who signs."""

    parent_body: str = "…"
    issuing_body: str = "BAN AN TOÀN GIAO THÔNG"
    sender: str = "…"  # the issuing body as named in the text
    number: str = "…/TTr-BATGT"
    place: str = "…"
    on: date = field(default_factory=date.today)
    addressee: str = "…"
    basis: list[str] = field(
        default_factory=lambda: [
            "Thông tư số 41/2024/TT-BGTVT ngày 15/11/2024 của Bộ trưởng Bộ Giao thông vận tải quy định về tổ chức "
            "giao thông, báo hiệu đường bộ và xác định, xử lý điểm đen, điểm tiềm ẩn tai nạn giao thông"
        ]
    )
    signer_title: str = "TRƯỞNG BAN"
    signer_name: str = ""
    recipients: list[str] = field(default_factory=lambda: ["Như trên;", "Lưu: VT."])


def vn_date_line(place: str, on: date) -> str:
    """'Kon Rẫy, ngày 05 tháng 02 năm 2025': day zero-padded, month when 1–2.

    >>> vn_date_line("Kon Rẫy", date(2025, 2, 5))
    'Kon Rẫy, ngày 05 tháng 02 năm 2025'
    >>> vn_date_line("Liên Minh", date(2024, 11, 23))
    'Liên Minh, ngày 23 tháng 11 năm 2024'
    >>> vn_date_line("Hà Nội", date(2024, 3, 9))
    'Hà Nội, ngày 09 tháng 3 năm 2024'
    """
    month = f"{on.month:02d}" if on.month <= 2 else str(on.month)
    return f"{place}, ngày {on.day:02d} tháng {month} năm {on.year}"


def vnd(amount: float | str | None) -> str:
    """Money in the Vietnamese way: 1.250.000.000.

    >>> vnd(1250000000)
    '1.250.000.000'
    """
    if amount is None or (isinstance(amount, float) and not np.isfinite(amount)):
        return ""
    return f"{int(round(float(amount))):,}".replace(",", ".")


# ---------------------------------------------------------------- building blocks
def _new_document() -> DocxDocument:
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = docx.Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(20), Mm(20)
    sec.left_margin, sec.right_margin = Mm(30), Mm(15)
    sec.header_distance = Mm(10)
    for style_name in ("Normal", "Table Grid"):
        try:
            style = doc.styles[style_name]
        except KeyError:
            continue
        style.font.name = FONT
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), FONT)
    doc.styles["Normal"].font.size = Pt(14)
    pf = doc.styles["Normal"].paragraph_format
    pf.space_after = Pt(6)
    pf.line_spacing = 1.1
    _page_numbers(doc)
    return doc


def _page_numbers(doc: DocxDocument) -> None:
    """A centred PAGE field in the header, from page 2 (first page different)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    sec = doc.sections[0]
    sec.different_first_page_header_footer = True
    p = sec.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    run.font.size = Pt(13)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, None), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:t")
            el.text = "2"
        run._r.append(el)


def _no_borders(table: Table) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _para(
    cell_or_doc: DocxDocument | _Cell,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float = 14,
    align: str = "left",
    space_after: float = 0,
) -> Paragraph:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p = cell_or_doc.add_paragraph()
    p.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    }[align]
    p.paragraph_format.space_after = Pt(space_after)
    if text:
        r = p.add_run(xml_safe(text))  # (a control character from the data would refuse the whole document)
        r.bold, r.italic, r.underline = bold, italic, underline
        r.font.size = Pt(size)
        r.font.name = FONT
    return p


def _header(doc: DocxDocument, info: DocumentInfo) -> None:
    from docx.shared import Mm

    t = doc.add_table(rows=1, cols=2)
    _no_borders(t)
    t.autofit = False
    widths = (Mm(72), Mm(93))  # "BAN AN TOÀN GIAO THÔNG" on one line, the motto on one line
    for col, cell, w in zip(t.columns, t.rows[0].cells, widths):
        col.width = w  # the grid (LibreOffice) and the cell (Word)
        cell.width = w
    left, right = t.rows[0].cells
    left.paragraphs[0].text = ""
    for line in info.parent_body.split("\n"):
        _para(left, line.upper(), size=12, align="center")
    for line in info.issuing_body.split("\n"):
        _para(left, line.upper(), bold=True, size=12, align="center")
    _para(left, f"Số: {info.number}", size=13, align="center")
    right.paragraphs[0].text = ""
    _para(right, MOTTO_1, bold=True, size=12, align="center")
    _para(right, MOTTO_2, bold=True, underline=True, size=14, align="center")
    _para(right, "", size=6)
    _para(right, vn_date_line(info.place, info.on), italic=True, size=14, align="center")
    # the empty first paragraph python-docx leaves in each cell
    for cell in (left, right):
        first = cell.paragraphs[0]
        if not first.text:
            first._element.getparent().remove(first._element)


def _signature(doc: DocxDocument, info: DocumentInfo) -> None:
    from docx.shared import Mm

    t = doc.add_table(rows=1, cols=2)
    _no_borders(t)
    t.autofit = False
    left, right = t.rows[0].cells
    for col, cell, w in zip(t.columns, (left, right), (Mm(85), Mm(80))):
        col.width = w
        cell.width = w
    left.paragraphs[0]._element.getparent().remove(left.paragraphs[0]._element)
    right.paragraphs[0]._element.getparent().remove(right.paragraphs[0]._element)
    _para(left, "Nơi nhận:", bold=True, italic=True, size=12)
    for r in info.recipients:
        _para(left, f"- {r}", size=11)
    for line in info.signer_title.split("\n"):
        _para(right, line.upper(), bold=True, size=14, align="center")
    for _ in range(4):
        _para(right, "", size=14)
    _para(right, info.signer_name, bold=True, size=14, align="center")


def _cell(cell: _Cell, text: object, *, bold: bool = False, size: float = 12, align: str = "left") -> None:
    cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
    for line in str(text).split("\n"):
        _para(cell, line, bold=bold, size=size, align=align)


def _table(
    doc: DocxDocument,
    header: list[str],
    rows: list[list[Any]],
    *,
    widths_mm: list[float],
    bold_last: bool = False,
    size: float = 12,
) -> Table:
    from docx.shared import Mm

    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    t: Table = doc.add_table(rows=1 + len(rows), cols=len(header))
    t.style = doc.styles["Table Grid"]
    for k, row in enumerate(t.rows):  # a row never splits across pages; the header row repeats on each page
        trpr = row._tr.get_or_add_trPr()
        cant = OxmlElement("w:cantSplit")
        cant.set(qn("w:val"), "true")
        trpr.append(cant)
        if k == 0:
            head = OxmlElement("w:tblHeader")
            head.set(qn("w:val"), "true")
            trpr.append(head)
    for j, h in enumerate(header):
        _cell(t.rows[0].cells[j], h, bold=True, size=size, align="center")
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row):
            _cell(
                t.rows[i].cells[j],
                "" if v is None else v,
                size=size,
                bold=bold_last and i == len(rows),
                align="center" if j == 0 else "left",
            )
    t.autofit = False
    for j, w in enumerate(widths_mm):
        t.columns[j].width = Mm(w)
        for r in t.rows:
            r.cells[j].width = Mm(w)
    return t


# --------------------------------------------------------------- map images
def spot_map_png(
    geometry: shapely.Geometry,
    *,
    crashes: pd.DataFrame | None = None,
    roads: Iterable[shapely.Geometry] | None = None,
    title: str = "",
) -> bytes:
    """A small site sketch (no tiles): roads within ~600 m, the spot in red,
    its crashes by severity, a 100 m scale bar and a north arrow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shapely

    from geo.crs import metric_crs, to_metric

    c = geometry.centroid
    crs = metric_crs([c.x], [c.y])

    def metric(g: shapely.Geometry) -> shapely.Geometry:
        xy = shapely.get_coordinates(g)
        x, y, _ = to_metric(xy[:, 0], xy[:, 1], crs)
        return shapely.set_coordinates(g, np.column_stack([x, y]))

    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
    box = shapely.box(-600, -400, 600, 400)
    for g in roads if roads is not None else []:
        m = metric(g).intersection(box)
        for part in getattr(m, "geoms", [m]):
            if not part.is_empty and part.geom_type == "LineString":
                ax.plot(*part.xy, color="#777777", lw=3, solid_capstyle="round", zorder=1)
    sg = metric(geometry)
    if sg.geom_type == "Point":
        ax.scatter([sg.x], [sg.y], s=400, facecolors="none", edgecolors="#d7191c", lw=2.5, zorder=3)
    else:
        for part in getattr(sg, "geoms", [sg]):
            if part.geom_type == "LineString":
                ax.plot(*part.xy, color="#d7191c", lw=7, alpha=0.8, zorder=2)
            elif part.geom_type == "Polygon":
                ax.fill(*part.exterior.xy, color="#d7191c", alpha=0.35, zorder=2)
    if crashes is not None and len(crashes):
        x, y, _ = to_metric(crashes["lon"].to_numpy(float), crashes["lat"].to_numpy(float), crs)
        colour = np.where(crashes["deaths"].to_numpy() > 0, "#000000", "#fdae61")
        ax.scatter(x, y, c=colour, s=28, edgecolors="white", lw=0.6, zorder=4)
    ax.plot([-560, -460], [-360, -360], color="black", lw=3)
    ax.text(-510, -345, "100 m", ha="center", fontsize=8)
    ax.annotate(
        "B", xy=(560, 370), xytext=(560, 300), ha="center", fontsize=9, arrowprops=dict(arrowstyle="-|>", color="black")
    )
    ax.set_xlim(-600, 600)
    ax.set_ylim(-400, 400)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# ------------------------------------------------------------------- proposal
PROPOSAL_HEADER = [
    "STT",
    "Vị trí (tuyến, lý trình, xã)",
    "Số vụ / chết / bị thương (12 tháng)",
    "Tiêu chí đạt",
    "Nguyên nhân ghi nhận",
    "Giải pháp đề xuất",
    "Kinh phí (đồng)",
    "B/C",
    "Đơn vị chủ trì",
]
#: Column widths (mm) of the proposal's table on a landscape A4 page (252 mm between the margins).
PROPOSAL_WIDTHS: list[float] = [13, 38, 31, 33, 34, 36, 28, 14, 25]


def bcr_text(value: float | None) -> str:
    """A benefit-cost ratio with a decimal comma, one decimal ("" for none).

    >>> bcr_text(12.345), bcr_text(None), bcr_text(float("nan"))
    ('12,3', '', '')
    """
    if value is None or not np.isfinite(value):
        return ""
    return f"{value:.1f}".replace(".", ",")


def _section(doc: DocxDocument, *, landscape: bool) -> Section:
    """A new section (new page) in portrait or landscape, same margins."""
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.shared import Mm

    sec: Section = doc.add_section(WD_SECTION.NEW_PAGE)
    sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    sec.top_margin, sec.bottom_margin = Mm(20), Mm(20)
    sec.left_margin, sec.right_margin = Mm(30), Mm(15)
    return sec


def _keep_whole(text: object) -> str:
    """Spaces inside numbers and dates become no-break spaces, so a cell never
    breaks "85.000.000" or "30/10/2024" across lines."""
    import re

    return re.sub(r"(?<=\d) (?=\d)|(?<=Km) (?=\d)", "\u00a0", str(text))


def proposal_docx(
    spots: pd.DataFrame,
    info: DocumentInfo,
    *,
    maps: dict[int, bytes] | None = None,
    subject: str = "Về việc đề xuất xử lý điểm đen tai nạn giao thông",
    appraisal_note: str | None = None,
) -> bytes:
    """The proposal (Tờ trình) for the selected spots.

    ``spots`` has id, road_code, from_m, to_m, commune, window_start,
    window_end, n_crashes, deaths, injured, test_labels, and optionally
    cause, proposal, cost_vnd, pv_benefit_vnd and bcr (the economic
    appraisal of the spot's works), lead_agency. ``maps`` maps spot id →
    PNG; ``appraisal_note`` is printed under the table (what B/C is).
    """
    from docx.shared import Mm

    if spots.empty:
        raise ValueError("Chưa chọn điểm nào / No spot selected")
    doc = _new_document()
    _header(doc, info)
    _para(doc, "", size=8)
    _para(doc, "TỜ TRÌNH", bold=True, size=14, align="center")
    _para(doc, subject, bold=True, size=14, align="center", space_after=12)
    _para(doc, f"Kính gửi: {info.addressee}.", size=14, align="center", space_after=12)
    for b in info.basis:
        _para(doc, f"Căn cứ {b};", size=14, align="justify", space_after=6)
    n = len(spots)
    _para(
        doc,
        f"{info.sender} kính trình {info.addressee} xem xét, chấp thuận xử lý "
        f"{n:02d} điểm đen / điểm tiềm ẩn tai nạn giao thông trên địa bàn như sau:",
        size=14,
        align="justify",
        space_after=6,
    )
    _para(
        doc,
        f"1. Danh sách và đề xuất xử lý: {n:02d} điểm, tổng số {int(spots['n_crashes'].sum())} vụ, "
        f"{int(spots['deaths'].sum())} người chết, {int(spots['injured'].sum())} người bị thương trong "
        "12 tháng xét.",
        size=14,
        align="justify",
    )
    _para(doc, "Danh sách chi tiết tại bảng kèm theo (trang sau).", italic=True, size=14, align="justify")
    rows = []
    for i, r in enumerate(spots.to_dict("records"), start=1):
        loc = f"{r.get('road_code') or ''}\n{format_chainage(r.get('from_m'))}"
        if r.get("to_m") is not None and r.get("from_m") is not None and r["to_m"] - r["from_m"] >= 1:
            loc += f" – {format_chainage(r['to_m'])}"
            if stretch := stretch_text(r):  # a stretch chaining windows: its length and the windows it chains
                loc += f"\n({stretch[0].lower()}{stretch[1:]})"
            elif r["to_m"] - r["from_m"] > 1000:
                loc += f"\n(đoạn dài {(r['to_m'] - r['from_m']) / 1000:.2f} km)".replace(".", ",")
        if r.get("commune"):
            loc += f"\n{r['commune']}"
        ws, we = as_timestamp(r.get("window_start")), as_timestamp(r.get("window_end"))
        period = f"\ntừ {ws:%d/%m/%Y}\nđến {we:%d/%m/%Y}" if pd.notna(ws) and pd.notna(we) else ""
        rows.append(
            [
                i,
                _keep_whole(loc),
                f"{r.get('n_crashes', 0)} / {r.get('deaths', 0)} / {r.get('injured', 0)}{period}",
                r.get("test_labels") or "",
                r.get("cause") or "Cần khảo sát, đánh giá tại hiện trường",
                r.get("proposal") or "",
                _keep_whole(vnd(r.get("cost_vnd"))),
                bcr_text(r.get("bcr")),
                r.get("lead_agency") or "",
            ]
        )
    cost = pd.to_numeric(spots.get("cost_vnd", pd.Series(dtype=float)), errors="coerce").sum()
    # B/C of all the appraised spots together: their benefits over their costs
    appraised = pd.to_numeric(spots.get("bcr", pd.Series(dtype=float)), errors="coerce").gt(0)
    pv = pd.to_numeric(spots.get("pv_benefit_vnd", pd.Series(np.nan, index=spots.index)), errors="coerce")[appraised]
    spent = pd.to_numeric(spots.get("cost_vnd", pd.Series(np.nan, index=spots.index)), errors="coerce")[appraised]
    rows.append(
        [
            "",
            "Tổng cộng",
            f"{int(spots['n_crashes'].sum())} / {int(spots['deaths'].sum())} / {int(spots['injured'].sum())}",
            "",
            "",
            "",
            _keep_whole(vnd(cost)),
            bcr_text(pv.sum() / spent.sum()) if spent.sum() > 0 else "",
            "",
        ]
    )
    _section(doc, landscape=True)
    _para(doc, "BẢNG DANH SÁCH ĐIỂM ĐEN, ĐIỂM TIỀM ẨN ĐỀ XUẤT XỬ LÝ", bold=True, size=13, align="center")
    _para(
        doc,
        f"(Kèm theo Tờ trình số {info.number} ngày {info.on:%d/%m/%Y} của {info.sender})",
        italic=True,
        size=12,
        align="center",
        space_after=6,
    )
    _table(doc, PROPOSAL_HEADER, rows, widths_mm=PROPOSAL_WIDTHS, bold_last=True, size=11)
    if appraisal_note:
        _para(doc, "", size=6)
        _para(doc, appraisal_note, italic=True, size=11, align="justify")
    _section(doc, landscape=False)
    if maps:
        _para(doc, "", size=8)
        _para(doc, "2. Sơ đồ vị trí", bold=True, size=14)
        for i, r in enumerate(spots.to_dict("records"), start=1):
            png = maps.get(int(r["id"]))
            if png:
                cap = _para(
                    doc,
                    f"Điểm {i}: {r.get('road_code') or ''} {format_chainage(r.get('from_m'))}",
                    italic=True,
                    size=13,
                )
                cap.paragraph_format.keep_with_next = True  # the caption stays with its sketch
                doc.add_picture(io.BytesIO(png), width=Mm(140))
    _para(doc, "", size=8)
    _para(doc, f"Kính trình {info.addressee} xem xét, quyết định./.", size=14, align="justify", space_after=12)
    _signature(doc, info)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------- year-end summary
def summary_docx(
    *,
    plan: dict[str, Any],
    targets: pd.DataFrame,
    aims: pd.DataFrame,
    by_section: pd.DataFrame,
    by_agency: pd.DataFrame,
    counts: dict[str, int],
    info: DocumentInfo,
) -> bytes:
    """The plan's year-end summary (Báo cáo tổng kết): targets vs actual, items
    by section and by agency."""
    doc = _new_document()
    _header(doc, info)
    _para(doc, "", size=8)
    _para(doc, "BÁO CÁO", bold=True, size=14, align="center")
    _para(
        doc, f"Tổng kết thực hiện {plan.get('title') or 'kế hoạch'}", bold=True, size=14, align="center", space_after=12
    )
    period = ""
    if plan.get("period_from") and plan.get("period_to"):
        period = f" (từ {pd.Timestamp(plan['period_from']):%d/%m/%Y} đến {pd.Timestamp(plan['period_to']):%d/%m/%Y})"
    _para(
        doc,
        f"Thực hiện Kế hoạch số {plan.get('number') or '…'}{period}, {info.sender} báo cáo kết quả như sau:",
        size=14,
        align="justify",
        space_after=6,
    )
    _para(doc, "I. KẾT QUẢ THỰC HIỆN CHỈ TIÊU", bold=True, size=14)
    tot = targets.loc[targets["scope"] == targets["scope"].iloc[0]] if len(targets) else targets
    mark = {"on_track": "Đạt", "off_track": "Chưa đạt"}
    rows = [
        [
            i,
            r["criterion_label"],
            r["previous"],
            r["current"],
            "" if pd.isna(r["change_pct"]) else f"{r['change_pct']:+.1f} %",
            f"{r['target_from_pct']:.0f} % đến {r['target_to_pct']:.0f} %",
            mark[r["status"]],
        ]
        for i, r in enumerate(tot.to_dict("records"), start=1)
    ]
    _table(
        doc,
        ["TT", "Tiêu chí", "Cùng kỳ năm trước", "Kỳ này", "Tăng/giảm", "Chỉ tiêu", "Đánh giá"],
        rows,
        widths_mm=[9, 40, 24, 18, 22, 32, 20],
        size=12,
    )
    _para(doc, "", size=6)
    rows = [
        [i, r["label"], r["previous"], r["current"], mark[r["status"]]]
        for i, r in enumerate(aims.to_dict("records"), start=1)
    ]
    _table(
        doc,
        ["TT", "Mục tiêu khác", "Cùng kỳ năm trước", "Kỳ này", "Đánh giá"],
        rows,
        widths_mm=[9, 80, 26, 20, 30],
        size=12,
    )
    _para(doc, "", size=6)
    _para(doc, "II. KẾT QUẢ THEO NỘI DUNG KẾ HOẠCH", bold=True, size=14)
    rows = [
        [r["section_code"], r.get("section_title", ""), r["items"], r["done"], f"{r['done_pct']:.0f} %"]
        for r in by_section.to_dict("records")
    ]
    _table(doc, ["Mục", "Nội dung", "Số việc", "Đã xong", "Tỷ lệ"], rows, widths_mm=[15, 95, 20, 20, 15], size=12)
    _para(doc, "", size=6)
    _para(doc, "III. KẾT QUẢ THEO CƠ QUAN CHỦ TRÌ", bold=True, size=14)
    rows = [
        [i, r["lead_agency"], r["items"], r["done"], f"{r['done_pct']:.0f} %"]
        for i, r in enumerate(by_agency.to_dict("records"), start=1)
    ]
    _table(doc, ["TT", "Cơ quan", "Số việc", "Đã xong", "Tỷ lệ"], rows, widths_mm=[9, 101, 20, 20, 15], size=12)
    _para(doc, "", size=6)
    _para(doc, "IV. ĐIỂM ĐEN, HÀNH LANG AN TOÀN VÀ CÔNG TRÌNH", bold=True, size=14)
    labels = {
        "black_spots": "Điểm đen đang theo dõi",
        "potential": "Điểm tiềm ẩn",
        "cases": "Vụ lấn chiếm hành lang",
        "cases_closed": "Vụ đã giải tỏa / cưỡng chế",
        "works": "Công trình xử lý",
        "works_done": "Công trình đã hoàn thành",
    }
    for k, label in labels.items():
        if k in counts:
            _para(doc, f"- {label}: {counts[k]}", size=14)
    _para(doc, "", size=8)
    _signature(doc, info)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ----------------------------------------------------------------------- PDF
def libreoffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def as_timestamp(value: Any) -> pd.Timestamp | NaTType:
    """A recorded date or time (a value of a store row) as a Timestamp; NaT for none."""
    if value is None:
        return pd.NaT
    ts: pd.Timestamp | NaTType = pd.to_datetime(value)
    return ts


def to_pdf(docx_bytes: bytes, *, timeout: int = 120) -> bytes | None:
    """The PDF of a .docx through LibreOffice, or None when it is not installed."""
    exe = libreoffice()
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "document.docx"
        src.write_bytes(docx_bytes)
        subprocess.run(
            [
                exe,
                "--headless",
                f"-env:UserInstallation=file://{d}/profile",
                "--convert-to",
                "pdf",
                "--outdir",
                d,
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        return (Path(d) / "document.pdf").read_bytes()


# ------------------------------------------------------------ black-spot dossier
DOSSIER_CRASH_HEADER = [
    "STT",
    "Mã vụ",
    "Ngày, giờ",
    "Lý trình",
    "Chết",
    "Bị thương",
    "Thiệt hại (đồng)",
    "Nguyên nhân",
    "Phương tiện",
]


def dossier_docx(
    spot: dict[str, Any],
    crashes: pd.DataFrame,
    info: DocumentInfo,
    *,
    site_png: bytes | None = None,
    photos: list[tuple[str, bytes]] | None = None,
    works: pd.DataFrame | None = None,
) -> bytes:
    """The hồ sơ điểm đen of one spot: where it is (road, stretch, chainage,
    commune), why it is a black spot (the test met, its 12 months), the
    crash records table, the damage, the causes recorded and assessed, a
    preliminary proposed fix, the site sketch and the photos."""
    from docx.shared import Mm

    doc = _new_document()
    _header(doc, info)
    _para(doc, "", size=8)
    kind = "ĐIỂM ĐEN" if spot.get("kind") == "black_spot" else "ĐIỂM TIỀM ẨN"
    _para(doc, f"HỒ SƠ {kind} TAI NẠN GIAO THÔNG", bold=True, size=14, align="center")
    loc = f"{spot.get('road_code') or '…'}, {format_chainage(spot.get('from_m'))}"
    if spot.get("to_m") is not None and spot.get("from_m") is not None and spot["to_m"] - spot["from_m"] >= 1:
        loc += f" – {format_chainage(spot['to_m'])}"
    _para(
        doc,
        _keep_whole(loc) + (f", {spot['commune']}" if spot.get("commune") else ""),
        bold=True,
        size=14,
        align="center",
        space_after=12,
    )
    _para(doc, "1. Vị trí", bold=True, size=14)
    length = (spot["to_m"] - spot["from_m"]) if spot.get("to_m") is not None and spot.get("from_m") is not None else 0
    _para(
        doc,
        f"Tuyến {spot.get('road_code') or '…'}, lý trình {_keep_whole(loc.split(', ', 1)[-1])}"
        + (
            f" ({stretch[0].lower()}{stretch[1:]})"
            if (stretch := stretch_text(spot))
            else f" (đoạn dài {length:,.0f} m)".replace(",", ".")
            if length >= 1
            else ""
        )
        + (f"; địa bàn {spot['commune']}" if spot.get("commune") else "")
        + ".",
        size=14,
        align="justify",
    )
    _para(doc, "2. Căn cứ xác định", bold=True, size=14)
    ws, we = as_timestamp(spot.get("window_start")), as_timestamp(spot.get("window_end"))
    _para(
        doc,
        f"{spot.get('test_labels') or '…'}"
        + (f" trong 12 tháng từ {ws:%d/%m/%Y} đến {we:%d/%m/%Y}" if pd.notna(ws) and pd.notna(we) else "")
        + f": {spot.get('n_crashes', 0)} vụ, {spot.get('deaths', 0)} người chết, "
        f"{spot.get('injured', 0)} người bị thương.",
        size=14,
        align="justify",
    )
    c0 = crashes.sort_values("occurred_at") if len(crashes) else crashes
    span = f" từ {c0['occurred_at'].iloc[0]:%d/%m/%Y} đến {c0['occurred_at'].iloc[-1]:%d/%m/%Y}" if len(c0) else ""
    _para(
        doc,
        f"3. Các vụ tai nạn giao thông trên đoạn{span} ({len(c0)} vụ; số liệu 12 tháng xét ở mục 2)",
        bold=True,
        size=14,
    )
    rows = []
    c = crashes.sort_values("occurred_at") if len(crashes) else crashes
    for i, r in enumerate(c.to_dict("records"), start=1):
        t = as_timestamp(r.get("occurred_at"))
        when = "" if pd.isna(t) else f"{t:%d/%m/%Y}" + ("" if (t.hour, t.minute) == (0, 0) else f"\n{t:%H:%M}")
        rows.append(
            [
                i,
                r.get("source_id") or "—",
                when,
                _keep_whole(format_chainage(r.get("chainage_m"))),
                r.get("deaths", 0),
                r.get("injured", 0),
                _keep_whole(vnd(r.get("damage_vnd"))),
                r.get("cause") or "",
                r.get("vehicle_types") or "",
            ]
        )
    damage = pd.to_numeric(c.get("damage_vnd", pd.Series(dtype=float)), errors="coerce").sum() if len(c) else 0
    rows.append(
        [
            "",
            "Cộng",
            f"{len(c)} vụ",
            "",
            int(c["deaths"].sum()) if len(c) else 0,
            int(c["injured"].sum()) if len(c) else 0,
            _keep_whole(vnd(damage)) if damage else "",
            "",
            "",
        ]
    )
    _table(doc, DOSSIER_CRASH_HEADER, rows, widths_mm=[11, 14, 20, 25, 13, 16, 22, 23, 21], bold_last=True, size=10)
    _para(doc, "", size=6)
    _para(doc, "4. Thiệt hại", bold=True, size=14)
    _para(
        doc,
        f"Các vụ ở mục 3{span}: {int(c['deaths'].sum()) if len(c) else 0} người chết, "
        f"{int(c['injured'].sum()) if len(c) else 0} người bị thương"
        + (f"; thiệt hại tài sản ước tính {_keep_whole(vnd(damage))} đồng" if damage else "")
        + ".",
        size=14,
        align="justify",
    )
    _para(doc, "5. Nguyên nhân", bold=True, size=14)
    causes = (
        [x for x in dict.fromkeys(str(v).strip() for v in c.get("cause", pd.Series(dtype=object)).dropna()) if x]
        if len(c)
        else []
    )
    _para(
        doc,
        ("Nguyên nhân ghi nhận trên các vụ: " + "; ".join(causes) + ".")
        if causes
        else "Chưa có nguyên nhân ghi nhận trên các vụ; cần khảo sát, đánh giá tại hiện trường.",
        size=14,
        align="justify",
    )
    if spot.get("notes"):
        _para(doc, f"Đánh giá của Ban: {spot['notes']}", size=14, align="justify")
    _para(doc, "6. Đề xuất giải pháp xử lý sơ bộ", bold=True, size=14)
    if works is not None and len(works):
        from models.enums import WorkType

        for r in works.to_dict("records"):
            label = (
                WorkType(r["work_type"]).vi if r.get("work_type") in WorkType._value2member_map_ else r.get("work_type")
            )
            _para(
                doc,
                f"- {label}"
                + (f": {r['description']}" if r.get("description") else "")
                + (
                    f" (kinh phí dự kiến {_keep_whole(vnd(r['cost_vnd']))} đồng)"
                    if pd.notna(r.get("cost_vnd")) and r.get("cost_vnd")
                    else ""
                ),
                size=14,
                align="justify",
            )
    else:
        _para(doc, "Chưa có giải pháp đề xuất; Ban sẽ phối hợp đơn vị quản lý đường bộ khảo sát, đề xuất.", size=14)
    _para(doc, "7. Sơ đồ hiện trường", bold=True, size=14)
    if site_png:
        doc.add_picture(io.BytesIO(site_png), width=Mm(150))
    if photos:
        _para(doc, "8. Ảnh hiện trường", bold=True, size=14)
        for caption, data in photos:
            try:
                doc.add_picture(io.BytesIO(data), width=Mm(120))
            except Exception:  # an image python-docx cannot place (e.g. WEBP) is named instead
                _para(doc, f"(ảnh {caption} không chèn được vào văn bản)", italic=True, size=12)
                continue
            _para(doc, caption, italic=True, size=12, align="center")
    _para(doc, "", size=8)
    _signature(doc, info)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
