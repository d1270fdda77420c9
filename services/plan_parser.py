"""Read a road-safety plan (Kế hoạch) from .docx, .md or .txt: number, date,
issuing body, place, title, period, content sections (II.1 … II.n), targets,
recipients (Nơi nhận) and signer.

Real plans come as Word files or as text copied out of PDFs, where parts can
come out of order (section II before the header). The parser therefore finds
each part by its own markers anywhere in the text, not by position.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from errors import InputFileError
from models.enums import AdminLevel

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")
_ROMAN_RE = re.compile(r"^(I|II|III|IV|V|VI|VII|VIII)\.\s+(\S.*)$")
_ITEM_RE = re.compile(r"^(\d{1,2})\.\s+(\S.*)$")
_DATE_PLACE_RE = re.compile(r"^([^\n,]{2,60}),\s*ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.M | re.I)
# (white space but line ends: the value ends at its last visible character; a long run of spaces after it
# made the lazy value and the spaces try every split, quadratic in the run)
_NUMBER_RE = re.compile(r"^[^\S\n]*Số[^\S\n]*:[^\S\n]*(.*\S)[^\S\n]*$", re.M)
#: The most text a plan is read from (the real plans are 20–60 thousand characters)
MAX_PLAN_CHARS = 2_000_000
_DMY = r"(\d{1,2})/(\d{1,2})/(\d{4})"

#: Secondary aims recognised in the text: code, pattern, Vietnamese and English label.
AIMS = [
    ("drink_driving", r"rượu|bia|nồng độ cồn", "Giảm TNGT do uống rượu, bia", "Fewer drink-driving crashes"),
    ("very_serious", r"rất nghiêm trọng", "Giảm TNGT rất nghiêm trọng", "Fewer very serious crashes"),
    (
        "no_especially_serious",
        r"không để xảy ra[^.;]*đặc biệt nghiêm trọng",
        "Không để xảy ra TNGT đặc biệt nghiêm trọng",
        "No especially serious crash",
    ),
    ("motorcycle", r"xe mô tô|xe gắn máy", "Giảm TNGT liên quan đến xe mô tô, xe gắn máy", "Fewer motorcycle crashes"),
    (
        "remote_areas",
        r"vùng sâu|vùng xa|đồng bào dân tộc",
        "Giảm TNGT ở vùng sâu, vùng xa, vùng đồng bào DTTS",
        "Fewer crashes in remote / ethnic-minority areas",
    ),
]


@dataclass
class PlanSectionDraft:
    code: str
    title: str
    text: str


@dataclass
class PlanDraft:
    """What was read from a plan; the user reviews it before saving."""

    number: str | None = None
    issued_on: date | None = None
    issuer: str | None = None
    place: str | None = None
    title: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    sections: list[PlanSectionDraft] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    signer: str | None = None
    signer_title: str | None = None
    standing_body: str | None = None
    warnings: list[str] = field(default_factory=list)

    def agencies(self) -> list[tuple[str, AdminLevel | None, bool]]:
        """The agencies the plan names, as (name, level, standing body): its
        issuer, its recipients (without "Lưu …", persons "Đ/c …" and
        parenthesised notes) and its standing body, the standing body first.

        >>> PlanDraft(issuer="UBND huyện", recipients=["Ban ATGT tỉnh (b/c);", "Lưu: VT"],
        ...           standing_body="Công an huyện").agencies()
        [('Công an huyện', <AdminLevel.DISTRICT: 'district'>, True),
         ('UBND huyện', <AdminLevel.DISTRICT: 'district'>, False),
         ('Ban ATGT tỉnh', <AdminLevel.PROVINCE: 'province'>, False)]
        """
        names: list[tuple[str, bool]] = []
        if self.issuer:
            names.append((self.issuer, False))
        for r in self.recipients:
            r = re.sub(r"\(.*?\)", "", r).strip(" ;.-")
            if not r or r.lower().startswith("lưu") or r.lower().startswith("đ/c"):
                continue
            names.append((r, False))
        if self.standing_body:
            names.append((self.standing_body, True))
        names.sort(key=lambda n: not n[1])  # the standing body first, so its flag wins
        return [(name, _level_of(name), standing) for name, standing in names]

    def to_json_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("issued_on", "period_from", "period_to"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def _level_of(name: str) -> AdminLevel | None:
    """The administrative level an agency's name says (tỉnh, huyện, xã), if any."""
    return next(
        (
            lv
            for key, lv in (("tỉnh", AdminLevel.PROVINCE), ("huyện", AdminLevel.DISTRICT), ("xã", AdminLevel.COMMUNE))
            if key in name.lower()
        ),
        None,
    )


def read_plan_text(data: bytes, filename: str) -> str:
    """Plain text of a plan file (.docx, .md, .txt)."""
    ext = Path(filename).suffix.lower()
    if not data:
        raise InputFileError(f"Tệp rỗng / Empty file: {filename}")
    if ext == ".docx":
        from geo.io import check_packed

        check_packed(data, what="Word")
        try:
            import docx

            doc = docx.Document(io.BytesIO(data))
        except Exception as exc:  # python-docx raises several kinds
            raise InputFileError(f"Không đọc được tệp Word / Cannot read the Word file: {exc}") from exc
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        parts = []
        for child in doc.element.body.iterchildren():  # paragraphs and tables in document order
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                parts.append(Paragraph(child, doc).text)
            elif tag == "tbl":  # the header of a plan is often a 2-column table
                seen = set()
                for row in Table(child, doc).rows:
                    for cell in row.cells:
                        if id(cell._tc) in seen:
                            continue
                        seen.add(id(cell._tc))
                        parts.extend(p.text for p in cell.paragraphs)
        return "\n".join(parts)
    if ext in (".md", ".txt", ""):
        from geo.io import decode_text

        return decode_text(data)[0]
    raise InputFileError(f"Định dạng kế hoạch không hỗ trợ: {ext} (dùng .docx, .md, .txt) / Unsupported plan format")


_RULE_RE = re.compile(r"^[\s|:+\-_=—–.]*$")


def _clean(text: str) -> list[str]:
    """Lines of text without Markdown marks; a line pasted from a table
    ("ỦY BAN NHÂN DÂN | CỘNG HÒA …") gives one line per cell, and rules
    ("-------", "|---|---|") are dropped."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = []
    for raw in text.split("\n"):
        s = re.sub(r"^#{1,6}\s*", "", raw.rstrip())
        s = s.replace("**", "").replace("__", "")
        s = re.sub(r"(?<!\w)\*(?!\s)([^*]+?)\*(?!\w)", r"\1", s)
        if s.strip() and _RULE_RE.match(s) and re.search(r"[-_=—–]{3,}|\|", s):
            lines.append("")
            continue
        cells = [c.strip() for c in s.split("|")] if "|" in s else [s.strip()]
        cells = [c for c in cells if not (c and _RULE_RE.match(c) and re.search(r"[-_=—–]{3,}", c))]
        lines.extend(cells if any(cells) else [""])
    return lines


_UNIT_WORDS = ("TỈNH", "THÀNH PHỐ", "HUYỆN", "QUẬN", "THỊ XÃ", "XÃ", "PHƯỜNG", "THỊ TRẤN", "ĐẶC KHU")


def _unit_case(text: str) -> str:
    """'TỈNH BÌNH ĐỊNH' → 'tỉnh Bình Định' (the unit word lower case, the name capitalised)."""
    t = " ".join(text.split())
    for w in sorted(_UNIT_WORDS, key=len, reverse=True):
        if t.upper().startswith(w + " "):
            return w.lower() + " " + t[len(w) + 1 :].title()
    return t.title()


_ISSUER_RE = re.compile(r"Ban [Aa]n toàn giao thông (?:tỉnh|thành phố|huyện|quận|thị xã|xã|phường|thị trấn|đặc khu)\s")
#: the verb after the issuer's name, met at the first space of a run (a run is never tried from each of its spaces)
_ISSUES_RE = re.compile(r"(?<!\s)\s+(?:xây dựng|ban hành)")
_CLAUSE_END_RE = re.compile(r"[,.;\n]")


def _issuer_in(text: str) -> str | None:
    r"""The first "Ban an toàn giao thông <unit> <name>" followed by "xây dựng" or "ban hành" (the name within
    its clause, the verb maybe on the next line): the body that issues the plan, as its text names it.

    >>> _issuer_in("Ban An toàn giao thông tỉnh Kon Tum ban hành Kế hoạch")
    'Ban An toàn giao thông tỉnh Kon Tum'
    >>> _issuer_in("Ban an toàn giao thông xã Ia Chim\nxây dựng kế hoạch"), _issuer_in("Ban an toàn giao thông xã A, ban hành")
    ('Ban an toàn giao thông xã Ia Chim', None)
    >>> _issuer_in("Ban an toàn giao thông xã A" + " " * 50_000 + "b") is None
    True
    """
    name_end = -1
    for m in _ISSUER_RE.finditer(text):
        if name_end < m.end():  # the name stays in its clause (its end found once for the names in it)
            stop = _CLAUSE_END_RE.search(text, m.end())
            name_end = stop.start() if stop else len(text)
        # (a body's name is a few words: its verb is looked for in the next 400 characters)
        verb = _ISSUES_RE.search(text, m.end(), min(len(text), name_end + 200, m.end() + 400))
        if verb and verb.start() <= name_end and text[m.end() : verb.start()].strip():
            return text[m.start() : verb.start()].strip()
    return None


def _header_issuer(lines: list[str]) -> str | None:
    """The issuing body from a plan's header however it is broken across lines:
    "UBND HUYỆN KON RẪY / BAN AN TOÀN GIAO THÔNG", "ỦY BAN NHÂN DÂN / TỈNH BÌNH ĐỊNH",
    "BAN AN TOÀN GIAO THÔNG / XÃ LIÊN MINH"."""
    top = []
    for s in lines[:40]:
        if _NUMBER_RE.match(s) or re.fullmatch(r"KẾ HOẠCH", s):
            break
        if (
            s
            and s == s.upper()
            and not s.startswith(("CỘNG HÒA", "CỘNG HOÀ", "ĐỘC LẬP", "Độc lập"))
            and "Độc lập" not in s
            and not re.search(r"\d", s)
        ):
            top.append(" ".join(s.split()))
    if not top:
        return None
    text = " ".join(top)
    unit = None
    m = re.search(
        r"(?:UBND|ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN)\s+((?:" + "|".join(_UNIT_WORDS) + r")\s+.+?)"
        r"(?=\s+BAN AN TOÀN|$)",
        text,
    )
    if m:
        unit = _unit_case(m.group(1))
    m2 = re.search(r"BAN AN TOÀN GIAO THÔNG(?:\s+((?:" + "|".join(_UNIT_WORDS) + r")\s+.+))?$", text)
    if m2:
        unit = _unit_case(m2.group(1)) if m2.group(1) else unit
        return f"Ban An toàn giao thông {unit}" if unit else "Ban An toàn giao thông"
    if unit and re.search(r"UBND|Ủ?Y BAN NHÂN DÂN|UỶ BAN", text):
        return f"Ủy ban nhân dân {unit}"
    return None


_BODY_START = re.compile(
    r"^(Căn cứ|Thực hiện|Triển khai|Nhằm|Để|Trên cơ sở|Theo|Ban An toàn|Ủy ban|Uỷ ban|UBND|"
    r"I\.|1\.|Phần)",
    re.I,
)


def _title_after(lines: list[str], i: int) -> str | None:
    """The title under "KẾ HOẠCH": its lines joined up to the first body line."""
    parts: list[str] = []
    for t in lines[i + 1 :]:
        if not t:
            if parts:
                break
            continue
        if parts and (_BODY_START.match(t) or _NUMBER_RE.match(t)):  # the first line is always the title's
            break
        parts.append(t)
        if len(parts) >= 4:
            break
    return " ".join(parts) or None


def _dmy(d: str | int, m: str | int, y: str | int) -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def _first_clause(text: str, limit: int = 160) -> str:
    m = re.match(r"(.+?)(?:[;:]|\.(?:\s|$))", text)
    title = (m.group(1) if m else text).strip()
    if len(title) > limit:
        cut = title[:limit].rsplit(" ", 1)[0]
        title = cut + " …"
    return title


def parse_plan(text: str) -> PlanDraft:
    """Extract a plan's parts from its text (see the module doc)."""
    if len(text) > MAX_PLAN_CHARS:
        raise InputFileError(
            f"Văn bản kế hoạch quá dài ({len(text):,} ký tự; tối đa {MAX_PLAN_CHARS:,}) / The plan's text is too "
            f"long ({len(text):,} characters; at most {MAX_PLAN_CHARS:,})".replace(",", ".")
        )
    lines = _clean(text)
    joined = "\n".join(lines)
    plan = PlanDraft()

    m = _NUMBER_RE.search(joined)
    if m:
        plan.number = "/".join(part.strip() for part in m.group(1).split("/")).strip()  # "12 / KH-BATGT": 12/KH-BATGT
    m = _DATE_PLACE_RE.search(joined)
    if m:
        plan.place = m.group(1).strip()
        plan.issued_on = _dmy(m.group(2), m.group(3), m.group(4))

    # title: the lines after "KẾ HOẠCH", up to the first body line
    for i, s in enumerate(lines):
        if re.fullmatch(r"KẾ HOẠCH", s):
            plan.title = _title_after(lines, i)
            break

    plan.issuer = _issuer_in(joined) or _header_issuer(lines)

    # period
    m = re.search(r"từ ngày\s+" + _DMY + r"\s+đến (?:hết )?(?:ngày\s+)?" + _DMY, joined)
    if m:
        plan.period_from = _dmy(*m.group(1, 2, 3))
        plan.period_to = _dmy(*m.group(4, 5, 6))
    else:
        m = re.search(r"đến hết (?:ngày\s+)?" + _DMY, joined)
        if m:
            plan.period_to = _dmy(*m.group(1, 2, 3))
            plan.period_from = plan.issued_on
            if plan.issued_on:
                plan.warnings.append("Kỳ kế hoạch tính từ ngày ban hành / Period taken from the date of issue")

    m = re.search(r"Thường trực Ban [^()\n]*\(([^)]+)\)", joined)
    if m:
        plan.standing_body = m.group(1).strip()

    plan.sections = _sections(lines)
    plan.targets = _targets(joined)
    plan.recipients, plan.signer, plan.signer_title = _recipients_and_signer(lines)

    for key, label in (
        ("number", "số"),
        ("issued_on", "ngày ban hành"),
        ("title", "tên kế hoạch"),
        ("period_to", "thời hạn"),
    ):
        if getattr(plan, key) is None:
            plan.warnings.append(f"Không tìm thấy {label} / {key} not found")
    if not plan.sections:
        plan.warnings.append("Không tìm thấy mục II (nội dung) / No content sections (II) found")
    return plan


def _sections(lines: list[str]) -> list[PlanSectionDraft]:
    """Numbered items of part II (nội dung), each with its full text."""
    start = next((i for i, s in enumerate(lines) if re.match(r"^II\.\s+\S", s)), None)
    if start is None:
        return _roman_parts(lines)
    end = next(
        (i for i in range(start + 1, len(lines)) if _ROMAN_RE.match(lines[i]) or lines[i].startswith("Nơi nhận")),
        len(lines),
    )
    items: list[list[Any]] = []
    for s in lines[start + 1 : end]:
        m = _ITEM_RE.match(s)
        if m and (not items or int(m.group(1)) == len(items) + 1):
            items.append([m.group(1), [m.group(2)]])
        elif items and s:
            # a line broken in the middle of a sentence continues it
            prev = items[-1][1]
            if prev and s[:1].islower():
                prev[-1] = prev[-1] + " " + s
            else:
                prev.append(s)
    if items:
        return [
            PlanSectionDraft(code=f"II.{n}", title=_first_clause(parts[0]), text="\n".join(parts)) for n, parts in items
        ]
    return _roman_parts(lines)


def _roman_parts(lines: list[str]) -> list[PlanSectionDraft]:
    """A plan whose part II has no numbered items: its parts I, II, III … are the sections."""
    heads = [i for i, s in enumerate(lines) if _ROMAN_RE.match(s)]
    out = []
    for k, i in enumerate(heads):
        head = _ROMAN_RE.match(lines[i])
        assert head is not None  # heads holds the lines that match
        code, title = head.groups()
        end = (
            heads[k + 1]
            if k + 1 < len(heads)
            else next((j for j in range(i + 1, len(lines)) if lines[j].startswith("Nơi nhận")), len(lines))
        )
        body = [t for t in lines[i + 1 : end] if t]
        out.append(PlanSectionDraft(code=code, title=_first_clause(title), text="\n".join([title] + body)))
    return out


def _targets(text: str) -> list[dict[str, Any]]:
    """The three-criteria target (band and baseline year) and the secondary aims."""
    flat = re.sub(r"\s+", " ", text)
    out: list[dict[str, Any]] = []
    three = [
        c.strip()
        for c in re.split(r"(?<=[.;])\s", flat)
        if re.search(r"(kéo giảm|giảm)", c, re.I)
        and re.search(r"03 tiêu chí|ba tiêu chí|số vụ,? số người chết", c, re.I)
    ]
    if three:
        three.sort(key=lambda c: "%" not in c)  # the clause with the band first
        pct = None
        year = None
        for c in three:
            m = re.search(r"(\d+(?:[.,]\d+)?)\s*%\s*(?:-|–|đến)\s*(\d+(?:[.,]\d+)?)\s*%", c)
            if m and pct is None:
                pct = (float(m.group(1).replace(",", ".")), float(m.group(2).replace(",", ".")))
            elif pct is None:
                m = re.search(r"(\d+(?:[.,]\d+)?)\s*%", c)
                if m:
                    v = float(m.group(1).replace(",", "."))
                    pct = (v, v)
            y = re.search(r"so với (?:cùng kỳ )?năm (\d{4})", c)
            if y and year is None:
                year = int(y.group(1))
        out.append(
            {
                "code": "three_criteria",
                "criteria": ["crashes", "deaths", "injured"],
                "min_pct": pct[0] if pct else None,
                "max_pct": pct[1] if pct else None,
                "baseline_year": year,
                "text": three[0][:400],
            }
        )
    for code, pattern, vi, en in AIMS:
        sentence = _sentence_with(pattern, flat)
        if sentence is not None and re.search(r"giảm|không để", sentence, re.I):
            out.append({"code": code, "label_vi": vi, "label_en": en, "text": sentence.strip()[:300]})
    return out


def _sentence_with(pattern: str, text: str) -> str | None:
    """The first sentence (between "." and ";") of ``text`` holding ``pattern`` (any case). (Searched as
    ``[^.;]*pattern[^.;]*`` it was tried from every position: quadratic, seconds for a page without a stop.)

    >>> _sentence_with("rượu|bia", "Mở đầu. Giảm TNGT do rượu, bia; kết. Rượu")
    ' Giảm TNGT do rượu, bia'
    """
    m = re.search(pattern, text, re.I)
    if m is None:
        return None
    start = max(text.rfind(".", 0, m.start()), text.rfind(";", 0, m.start())) + 1
    ends = [k for k in (text.find(".", m.end()), text.find(";", m.end())) if k >= 0]
    return text[start : min(ends) if ends else len(text)]


def _recipients_and_signer(lines: list[str]) -> tuple[list[str], str | None, str | None]:
    i = next((k for k, s in enumerate(lines) if re.match(r"^Nơi nhận\s*:?", s)), None)
    if i is None:
        return [], None, None
    recipients = []
    k = i + 1
    while k < len(lines) and (not lines[k] or lines[k].startswith(("-", "+", "•"))):
        if lines[k]:
            recipients.append(lines[k].lstrip("-+• ").strip())
        k += 1
    titles: list[str] = []
    name = None
    while (
        k < len(lines) and not _NUMBER_RE.match(lines[k]) and not _ROMAN_RE.match(lines[k]) and lines[k] != "KẾ HOẠCH"
    ):
        s = lines[k]
        if s and s == s.upper() and name is None:
            titles.append(s)  # the signer's title lines come before the name
        elif s and name is None:
            name = s
        elif s and s == s.upper():
            break  # capitals after the name: the next document part
        k += 1
    return recipients, name, "\n".join(titles) or None
