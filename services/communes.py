"""The communes an item or an account may name: the store's administrative
units of commune level, else the communes its data already names."""

from __future__ import annotations

import difflib

import pandas as pd

from errors import TransitionError
from geo.columns import normalise_header
from geo.location import split_unit, strip_unit_prefix


def commune_choices(units: pd.DataFrame, crashes: pd.DataFrame | None = None) -> list[str]:
    """Sorted commune names: units of level ``commune``, else the crash data's.

    >>> units = pd.DataFrame({"name": ["Đăk Kôi", "Kon Rẫy"], "level": ["commune", "district"]})
    >>> commune_choices(units)
    ['Đăk Kôi']
    """
    names = units.loc[units["level"] == "commune", "name"] if len(units) else pd.Series(dtype=object)
    if names.dropna().empty and crashes is not None and "commune" in crashes:
        names = crashes["commune"]
    return sorted({str(v).strip() for v in names.dropna()} - {""})


def match_commune(name: str, choices: list[str]) -> str:
    """The choice ``name`` means (case and spacing ignored), or
    :class:`TransitionError` naming the closest ones.

    >>> match_commune("  đăk kôi ", ["Đăk Kôi", "Đăk Rve"])
    'Đăk Kôi'
    """
    key = " ".join(name.split()).casefold()
    for c in choices:
        if " ".join(c.split()).casefold() == key:
            return c
    folded = [c for c in choices if _fold(c) == _fold(name)]
    if len(folded) == 1:  # "Kon Braih" for "Xã Kon Braih": the unit word folded
        return folded[0]
    close = difflib.get_close_matches(_fold(name), [_fold(c) for c in choices], n=3, cutoff=0.5)
    close = [next(c for c in choices if _fold(c) == f) for f in close]
    raise TransitionError(
        f"Không có xã '{name}' trong kho"
        + (f"; có phải: {', '.join(close)}?" if close else "")
        + f" / No commune '{name}' in the store"
        + (f"; did you mean: {', '.join(close)}?" if close else "")
    )


# ----------------------------------------------------- crash communes
def _fold(name: str) -> str:
    return " ".join(strip_unit_prefix(str(name)).split()).casefold()


def _ascii(name: str) -> str:
    return normalise_header(strip_unit_prefix(str(name)))


def old_to_new_table() -> pd.DataFrame | None:
    """The old → new commune mapping of the 2025 reform (shared data), or
    None when the file is not there."""
    import settings

    path = settings.SHARED_DATA_DIR / "vietnam" / "2025" / "old_to_new_communes_2025.csv.gz"
    if not path.exists():
        return None
    return _read_mapping(str(path))


_MAPPING_CACHE: dict[str, pd.DataFrame] = {}


def _read_mapping(path: str) -> pd.DataFrame:
    if path not in _MAPPING_CACHE:
        df = pd.read_csv(path, dtype=str, usecols=["old_commune", "old_district", "new_commune_code", "new_commune"])
        df["key"] = df["old_commune"].map(_fold)
        df["akey"] = df["key"].map(normalise_header)
        df["new_commune_code"] = df["new_commune_code"].str.zfill(5)
        _MAPPING_CACHE[path] = df
    return _MAPPING_CACHE[path]


def match_communes(names: pd.Series, units: pd.DataFrame, old_new: pd.DataFrame | None = None) -> pd.DataFrame:
    """Match the communes a file names to the store's commune-level units.

    Per row: ``commune`` (the unit's name, or the name as written for an old
    unit), ``commune_now`` (the post-2025 unit an old name now belongs to),
    ``how`` (exact / folded / ascii / old / unknown / blank) and ``note``
    (the report's reason, with suggestions for an unknown name). Prefixes and
    abbreviations (Xã, X., Phường, P., Thị trấn, TT, Đặc khu) and case are
    folded; a match without diacritics is a fallback that is reported. With
    no commune-level unit in the store, names are kept as written.

    >>> units = pd.DataFrame({"name": ["Kon Braih", "Đăk Kôi"], "level": ["commune"] * 2, "code": ["23497", "23485"]})
    >>> old = pd.DataFrame({"old_commune": ["Xã Đắk Ruồng"], "old_district": ["Huyện Kon Rẫy"],
    ...                     "new_commune_code": ["23497"], "new_commune": ["Xã Kon Braih"]})
    >>> old["key"] = old["old_commune"].map(_fold)
    >>> m = match_communes(pd.Series(["xã Kon Braih", "X. Dak Koi", "Đắk Ruồng", "Kon Bray", ""]), units, old)
    >>> m["commune"].tolist(), m["commune_now"].tolist(), m["how"].tolist()
    (['Kon Braih', 'Đăk Kôi', 'Đắk Ruồng', 'Kon Bray', ''], [None, None, 'Kon Braih', None, None], ['folded', 'ascii', 'old', 'unknown', 'blank'])
    >>> with_current("Xã Đăk Ruồng", "Xã Kon Braih"), with_current("Xã Kon Braih", None)
    ('Xã Đăk Ruồng (nay thuộc xã Kon Braih)', 'Xã Kon Braih')
    """
    s = names.astype(str).str.strip()
    communes = units.loc[units["level"] == "commune"] if len(units) else units
    out = pd.DataFrame({"commune": s.to_numpy(), "commune_now": None, "how": "", "note": ""}, index=names.index)
    out.loc[s.eq("").to_numpy(), "how"] = "blank"
    if communes is None or communes.empty:
        return out
    choices = communes["name"].astype(str).tolist()
    exact = {c: c for c in choices}
    folded: dict[str, str] = {}
    for c in choices:
        folded.setdefault(_fold(c), c)
    ascii_: dict[str, str] = {}
    for c in choices:
        ascii_.setdefault(_ascii(c), c)
    codes = set(communes["code"].dropna().astype(str).str.zfill(5)) if "code" in communes else set()
    result: dict[str, tuple[str, str | None, str, str]] = {}
    for u in pd.unique(s):
        if not u:
            result[u] = (u, None, "blank", "")
        elif u in exact:
            result[u] = (u, None, "exact", "")
        elif (
            _fold(u) in folded
            and _unit_word(u) not in ("", _unit_word(folded[_fold(u)]))
            and _unit_word(folded[_fold(u)])
        ):
            now = folded[_fold(u)]  # "Thị trấn Đăk Rve" recorded, the unit now "Xã Đăk Rve": keep both
            result[u] = (u, now, "old", f"tên cũ, {now_phrase(now)} / an old name, now part of {now}")
        elif _fold(u) in folded:
            result[u] = (folded[_fold(u)], None, "folded", "")
        elif _ascii(u) in ascii_:
            hit = ascii_[_ascii(u)]
            result[u] = (hit, None, "ascii", f"'{u}' khớp '{hit}' khi bỏ dấu / matched '{hit}' ignoring diacritics")
        else:
            found = None
            if old_new is not None and codes:
                cand = old_new.loc[(old_new["key"] == _fold(u)) & old_new["new_commune_code"].isin(codes)]
                if cand.empty:
                    akey = old_new["akey"] if "akey" in old_new else old_new["key"].map(normalise_header)
                    cand = old_new.loc[(akey == _ascii(u)) & old_new["new_commune_code"].isin(codes)]
                if cand["new_commune_code"].nunique() == 1:
                    code = cand["new_commune_code"].iloc[0]
                    now = communes.loc[communes["code"].astype(str).str.zfill(5) == code, "name"].iloc[0]
                    found = (u, now, "old", f"tên cũ, {now_phrase(now)} / an old name, now part of {now}")
            if found is None:
                close = difflib.get_close_matches(strip_unit_prefix(u), choices, n=3, cutoff=0.6)
                hint = f"; gần giống: {', '.join(close)}" if close else ""
                found = (
                    u,
                    None,
                    "unknown",
                    f"Xã/phường không có trong danh mục{hint} / Commune not in the store's "
                    f"units" + (f"; closest: {', '.join(close)}" if close else ""),
                )
            result[u] = found
    mapped = s.map(result)
    out["commune"] = [r[0] for r in mapped]
    out["commune_now"] = [r[1] for r in mapped]
    out["how"] = [r[2] for r in mapped]
    out["note"] = [r[3] for r in mapped]
    return out


_WORDS = {
    "x.": "xã",
    "xa": "xã",
    "p.": "phường",
    "phuong": "phường",
    "tt": "thị trấn",
    "tt.": "thị trấn",
    "t.t.": "thị trấn",
    "thi tran": "thị trấn",
    "dac khu": "đặc khu",
}


def _unit_word(name: str) -> str:
    """The unit word a name starts with, normalised ('TT.' → 'thị trấn'); '' when none."""
    word = " ".join(split_unit(str(name).strip())[0].split()).casefold()
    return _WORDS.get(word, word)


def now_phrase(now: str) -> str:
    """'nay thuộc xã Kon Braih' (the unit word in lower case inside a sentence)."""
    word, bare = split_unit(now)
    return f"nay thuộc {word.lower() + ' ' if word else ''}{bare}"


def with_current(commune: object, now: object) -> str:
    """A recorded commune with the unit it now belongs to, when they differ."""
    if commune is None or (isinstance(commune, float) and commune != commune):
        return ""
    if (
        not now
        or (isinstance(now, float) and now != now)
        or " ".join(str(now).split()).casefold() == " ".join(str(commune).split()).casefold()
    ):
        return str(commune)
    return f"{commune} ({now_phrase(str(now))})"


def current_units(crashes: pd.DataFrame) -> dict[str, str]:
    """Recorded commune → the unit it now belongs to, from the crashes that carry both."""
    if "commune_now" not in crashes or crashes.empty:
        return {}
    pairs = crashes.dropna(subset=["commune", "commune_now"])
    if pairs.empty:
        return {}
    now = pairs.groupby("commune")["commune_now"].agg(lambda s: s.value_counts().index[0])
    return {str(k): str(v) for k, v in now.items()}
