"""Road, chainage and commune read from a free-text location, as police
records write it: "Km 161+600 QL24, xã Đăk Ruồng", "QL24 Km161+600 thôn 3, xã
Tân Lập", "Quốc lộ 14 đoạn qua P. Thắng Lợi", "ĐT.671, TT Đăk Rve".

Part of stage 4 of the crash import (parse values). Work is done once per
distinct text.

>>> df = parse_locations(pd.Series(["Km 161+600 QL24, xã Đăk Ruồng", "QL24 Km161+600 thôn 3, xã Tân Lập",
...                                 "Quốc lộ 14 đoạn qua P. Thắng Lợi", "ĐT.671, TT Đăk Rve", "thôn 5"]))
>>> df["road"].tolist()
['QL24', 'QL24', 'QL14', 'ĐT671', None]
>>> df["chainage_m"].tolist()
[161600.0, 161600.0, nan, nan, nan]
>>> df["commune"].tolist()
['Xã Đăk Ruồng', 'Xã Tân Lập', 'Phường Thắng Lợi', 'Thị trấn Đăk Rve', None]
>>> strip_unit_prefix("Thị trấn Đăk Rve"), strip_unit_prefix("X. Đăk Kôi"), strip_unit_prefix("Đặc khu Lý Sơn")
('Đăk Rve', 'Đăk Kôi', 'Lý Sơn')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.chainage import normalise_road_code, parse_chainage
from geo.text import trimmed

#: Prefixes of a commune-level unit, longest first (as typed: full, abbreviated, no accents).
_UNIT = r"thị\s*trấn|thi\s*tran|đặc\s*khu|dac\s*khu|phường|phuong|xã|xa|tt\.?|t\.t\.|x\.|p\."
_COMMUNE = re.compile(rf"(?i)(?:^|[\s,;(\-–])({_UNIT})\s*([^\s,;()\-–0-9][^,;()\n]*)")
#: The unit word as written → as the units name it.
_CANON = {
    "xã": "Xã",
    "xa": "Xã",
    "x.": "Xã",
    "phường": "Phường",
    "phuong": "Phường",
    "p.": "Phường",
    "thị trấn": "Thị trấn",
    "thi tran": "Thị trấn",
    "tt": "Thị trấn",
    "tt.": "Thị trấn",
    "t.t.": "Thị trấn",
    "đặc khu": "Đặc khu",
    "dac khu": "Đặc khu",
}
_PREFIX = re.compile(rf"(?i)^\s*(?:{_UNIT})\s*")
#: Words that end a commune name inside a longer text.
_STOP = re.compile(r"(?i)\s+(?:huyện|huyen|tỉnh|tinh|thành phố|tp\.?|quận|quan|thị xã|km\b).*$")


def split_unit(name: str) -> tuple[str, str]:
    """The unit word as written and the name without it, of a commune's name.

    Parameters
    ----------
    name
        A commune's name, with or without its unit word (Xã, X., Phường, P.,
        Thị trấn, TT, Đặc khu).

    Returns
    -------
    tuple of str
        ``(unit word, name)``; the word is ``""`` when there is none.

    Examples
    --------
    >>> split_unit("Thị trấn Đăk Rve"), split_unit("Kon Braih")
    (('Thị trấn', 'Đăk Rve'), ('', 'Kon Braih'))
    """
    name = str(name)
    m = _PREFIX.match(name)
    word = m.group(0).strip() if m else ""
    return word, name[m.end() if m else 0 :].strip(" .,")


def strip_unit_prefix(name: str) -> str:
    """A commune's name without its unit word (Xã, X., Phường, P., Thị trấn, TT, Đặc khu).

    Parameters
    ----------
    name
        A commune's name.

    Returns
    -------
    str
        The name alone (see :func:`split_unit`).

    Examples
    --------
    >>> strip_unit_prefix("X. Đăk Kôi"), strip_unit_prefix("Đặc khu Lý Sơn")
    ('Đăk Kôi', 'Lý Sơn')
    """
    return split_unit(name)[1]


#: The unit words of every level, longest first: plans and boundary files name districts and provinces too
#: (not "quan" or "tinh" without accents: Quan Hóa and Quan Sơn are districts' own names).
_ANY_UNIT = re.compile(
    r"(?i)^\s*(thị\s*xã|thi\s*xa|thành\s*phố|thanh\s*pho|tp\.|tp|huyện|huyen|quận|tỉnh|"
    + _UNIT
    + r")(?:(?<=\.)\s*|\s+)"
)
_ANY_CANON = {
    **{k: v.casefold() for k, v in _CANON.items()},
    "thị xã": "thị xã",
    "thi xa": "thị xã",
    "thành phố": "thành phố",
    "thanh pho": "thành phố",
    "tp": "thành phố",
    "tp.": "thành phố",
    "huyện": "huyện",
    "huyen": "huyện",
    "quận": "quận",
    "tỉnh": "tỉnh",
}


def unit_key(name: str) -> tuple[str, str]:
    """An administrative unit's name as two keys to match it by: its unit word at any level (commune,
    district, province) and the name without it, both folded (case, spaces, composed accents).

    Parameters
    ----------
    name
        A unit's name, as a boundary file, a plan's issuer or a police file writes it.

    Returns
    -------
    tuple of str
        ``(unit word, name)``; the word is ``""`` when the name has none.

    Examples
    --------
    >>> unit_key("Huyện Kon Rẫy"), unit_key("KON  RẪY"), unit_key("TP. Kon Tum"), unit_key("X. Đăk Kôi")
    (('huyện', 'kon rẫy'), ('', 'kon rẫy'), ('thành phố', 'kon tum'), ('xã', 'đăk kôi'))
    >>> unit_key("Quan Hóa"), unit_key("Huyện Quan Hóa"), unit_key("Xanh Pong")
    (('', 'quan hóa'), ('huyện', 'quan hóa'), ('', 'xanh pong'))
    """
    text = " ".join(unicodedata.normalize("NFC", str(name)).split())
    m = _ANY_UNIT.match(text)
    word = " ".join(m.group(1).casefold().split()) if m else ""
    rest = text[m.end() if m else 0 :].strip(" .,").casefold()
    if m and not rest:  # the word alone is the name ("Xa" is a name, not a unit word, when nothing follows)
        return "", text.strip(" .,").casefold()
    return _ANY_CANON.get(word, word), rest


def _commune_of(text: str) -> str | None:
    """The commune a location names, with its unit word as the units write it ("xã Đăk Ruồng" → "Xã Đăk Ruồng")."""
    for m in _COMMUNE.finditer(text):
        name = _STOP.sub("", m.group(2)).strip(" .,")
        if name and not name.lower().startswith(("hội", "lộ")):
            word = _CANON.get(" ".join(m.group(1).split()).lower(), "")
            return f"{word} {name}".strip()
    return None


def parse_locations(values: pd.Series) -> pd.DataFrame:
    """Road, chainage and commune of each free-text location.

    Parameters
    ----------
    values
        Locations as police records write them ("Km 161+600 QL24, xã Đăk Ruồng").

    Returns
    -------
    pandas.DataFrame
        On ``values``' index: ``road`` (standard code or None), ``chainage_m``
        (NaN when none) and ``commune`` (its unit word written the standard way,
        or None).

    Examples
    --------
    >>> parse_locations(pd.Series(["QL24 Km161+600 thôn 3, xã Tân Lập"])).to_dict("records")
    [{'road': 'QL24', 'chainage_m': 161600.0, 'commune': 'Xã Tân Lập'}]
    """
    s = trimmed(values)
    codes, uniques = pd.factorize(s, sort=False)
    road: list[str | None] = []
    ch: list[float] = []
    com: list[str | None] = []
    for u in uniques:
        if not u:
            road.append(None)
            ch.append(np.nan)
            com.append(None)
            continue
        r = normalise_road_code(u)
        m = re.search(r"(?i)\bkm\s*\d", u)
        metres = parse_chainage(u[m.start() :])[1] if m else np.nan
        road.append(r)
        ch.append(metres)
        com.append(_commune_of(u))
    take = np.clip(codes, 0, None)
    has = codes >= 0

    def pick(arr: Sequence[object]) -> np.ndarray:
        out = np.full(len(s), None, dtype=object)
        if len(uniques):
            out[has] = np.asarray(arr, dtype=object)[take[has]]
        return out

    out = pd.DataFrame(
        {"road": pick(road), "chainage_m": pd.to_numeric(pick(ch), errors="coerce"), "commune": pick(com)},
        index=values.index,
    )
    return out
