"""The communes an item or an account may name: the store's administrative
units of commune level, else the communes its data already names."""
from __future__ import annotations

import difflib

import pandas as pd

from errors import TransitionError


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
    close = difflib.get_close_matches(name.strip(), choices, n=3, cutoff=0.5)
    raise TransitionError(f"Không có xã '{name}' trong kho" + (f"; có phải: {', '.join(close)}?" if close else "")
                          + f" / No commune '{name}' in the store" + (f"; did you mean: {', '.join(close)}?" if close
                                                                       else ""))
