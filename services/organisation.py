"""The organisation profile: who issues the documents, where, to whom, and
who signs. Kept in the store (``app_setting`` ``organisation``), edited by an
admin on the Accounts page or with ``cli.py org set``; every document takes
its header, place, addressee and signature from here, never from code or
from whichever plan was saved last.

After the 2025 reform (see ``../shared/DOMAIN.md``) a commune, ward or
special zone reports to the province; ``district`` stays for plans made
before 1 July 2025.

>>> o = Organisation(name="Ban An toàn giao thông xã Đăk Kôi", parent="UBND xã Đăk Kôi", place="Đăk Kôi",
...                  receiver="Ban An toàn giao thông tỉnh Quảng Ngãi", signer="Nguyễn Văn A",
...                  signer_title="KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN")
>>> i = o.document_info(kind="TTr")
>>> i.parent_body, i.issuing_body, i.number, i.addressee, i.signer_title
('UBND XÃ ĐĂK KÔI', 'BAN AN TOÀN GIAO THÔNG', '…/TTr-BATGT', 'Ban An toàn giao thông tỉnh Quảng Ngãi', 'KT. TRƯỞNG BAN\\nPHÓ TRƯỞNG BAN')
>>> Organisation().missing()
['name', 'parent', 'place', 'receiver', 'signer']
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import TYPE_CHECKING, Any

from errors import TransitionError
from geo.appraisal import DISCOUNT_RATE, VN_GDP_PER_CAPITA_VND, VN_GDP_YEAR

if TYPE_CHECKING:
    from models.store import Store
    from services.documents import DocumentInfo

LEVELS = {
    "commune": ("Xã", "Commune"),
    "ward": ("Phường", "Ward"),
    "special_zone": ("Đặc khu", "Special zone"),
    "province": ("Tỉnh/Thành phố", "Province/City"),
    "district": ("Huyện (trước 01/7/2025)", "District (before 1 July 2025)"),
}
KEY = "organisation"


@dataclass
class Organisation:
    """Who the committee is (see the module's text)."""

    name: str = ""  # Ban An toàn giao thông xã …
    level: str = "commune"  # commune, ward, special_zone, province, district
    parent: str = ""  # UBND xã … (the body above the committee)
    place: str = ""  # the place name in the date line
    receiver: str = ""  # the authority proposals go to
    signer: str = ""  # the signer's name
    signer_title: str = "TRƯỞNG BAN"  # "KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN" signs on two lines
    symbol: str = "BATGT"  # the body's letters in the document number (…/TTr-BATGT)
    # the economic appraisal of works (``services/appraisal``): GDP per capita (đồng) and its year, the
    # discount rate (% a year); defaults: Viet Nam 2024 (GSO) and 10 % (``geo/appraisal``)
    gdp_per_capita_vnd: float = VN_GDP_PER_CAPITA_VND
    gdp_year: int = VN_GDP_YEAR
    discount_rate_pct: float = DISCOUNT_RATE * 100

    def missing(self) -> list[str]:
        return [f for f in ("name", "parent", "place", "receiver", "signer") if not str(getattr(self, f)).strip()]

    def document_info(self, *, kind: str = "TTr", on: date | None = None, **extra: Any) -> DocumentInfo:
        """The header, addressee and signature of a document of ``kind``
        (TTr a proposal, BC a report)."""
        from services.documents import DocumentInfo

        title = "\n".join(p.strip() for p in re.split(r"\s*/\s*|\n", self.signer_title) if p.strip())
        body = re.match(r"(?i)\s*(ban an toàn giao thông)", self.name or "")
        issuing = body.group(1).upper() if body else (self.name or "…").upper()
        return DocumentInfo(
            parent_body=(self.parent or "…").upper(),
            issuing_body=issuing,
            sender=self.name or "…",
            number=f"…/{kind}-{self.symbol or 'BATGT'}",
            place=self.place or "…",
            on=on or date.today(),
            addressee=self.receiver or "…",
            signer_title=title or "TRƯỞNG BAN",
            signer_name=self.signer,
            **extra,
        )


NUMBERS = {"gdp_per_capita_vnd": float, "gdp_year": int, "discount_rate_pct": float}


def load_organisation(store: Store) -> Organisation:
    raw = store.get_setting(KEY) or {}
    known = {f.name for f in fields(Organisation)}
    return Organisation(
        **{k: (NUMBERS[k](v) if k in NUMBERS else v) for k, v in raw.items() if k in known and v is not None}
    )


def save_organisation(store: Store, org: Organisation, *, user: str | None = None) -> Organisation:
    if org.level not in LEVELS:
        raise TransitionError(f"Cấp không hợp lệ '{org.level}' (dùng: {', '.join(LEVELS)}) / Unknown level")
    if not float(org.gdp_per_capita_vnd) > 0:
        raise TransitionError("GDP bình quân đầu người phải lớn hơn 0 / GDP per capita must be positive")
    if not 1990 <= int(org.gdp_year) <= date.today().year:
        raise TransitionError(f"Năm của số liệu GDP không hợp lệ: {org.gdp_year} / Unknown year of the GDP figure")
    if not 0 <= float(org.discount_rate_pct) <= 30:
        raise TransitionError("Tỷ lệ chiết khấu phải từ 0 đến 30 %/năm / The discount rate must be 0-30 % a year")
    text: dict[str, Any] = {
        k: (" ".join(str(v).split()) if k != "signer_title" else str(v).strip())
        for k, v in asdict(org).items()
        if k not in NUMBERS
    }
    clean = Organisation(
        **text,
        gdp_per_capita_vnd=float(org.gdp_per_capita_vnd),
        gdp_year=int(org.gdp_year),
        discount_rate_pct=float(org.discount_rate_pct),
    )
    store.set_setting(KEY, asdict(clean), user=user)
    return clean
