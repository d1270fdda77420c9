"""Every page in both languages reads right (issue 15.6): no "None", "nan" or
"NaT" in a cell, no raw store key (snake_case field names, status or kind
values) shown as text, no English label in Vietnamese mode nor the reverse,
and no label cut mid-word."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from i18n import EN
from models.enums import BlackspotStatus, CaseStatus, SpotKind, WorkStatus, WorkType
from tests.conftest import ROOT

PAGES = ("home", "map", "blackspots", "corridor", "works", "plans", "exports", "import_data")
RAW_VALUES = {e.value for enum in (BlackspotStatus, CaseStatus, SpotKind, WorkStatus, WorkType) for e in enum}
RAW_VALUES -= {"other"}  # an English word too
BAD_CELLS = {"None", "nan", "NaT", "<NA>"}


def _texts(at: AppTest) -> dict[str, list[str]]:
    """What the page shows: labels of widgets and titles, and cells of tables."""
    labels, cells = [], []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "success", "error"):
        labels += [str(e.value) for e in getattr(at, kind)]
    for kind in (
        "button",
        "selectbox",
        "multiselect",
        "text_input",
        "number_input",
        "date_input",
        "toggle",
        "checkbox",
        "radio",
        "tabs",
    ):
        for e in getattr(at, kind, []):
            labels.append(str(getattr(e, "label", "")))
    for e in at.selectbox:
        labels += [str(o) for o in (e.options or [])]
    for m in at.metric:
        labels.append(str(m.label))
    for d in at.dataframe:
        v = d.value
        if isinstance(v, pd.DataFrame):
            cells += [str(c) for c in v.columns]
            cells += [str(x) for x in v.astype(object).to_numpy().ravel().tolist()]
    return {"labels": labels, "cells": cells}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_reads_right(demo_url, lang):
    vi_labels = set(EN)
    en_labels = {v for k, v in EN.items() if v != k}
    problems = []
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app_pages" / f"{page}.py"), default_timeout=60)
        at.session_state["lang"] = lang
        at.run()
        assert not at.exception, (page, at.exception)
        shown = _texts(at)
        for c in shown["cells"]:
            if c in BAD_CELLS:
                problems.append((page, "cell", c))
            elif c in RAW_VALUES:
                problems.append((page, "raw value", c))
        for text in shown["labels"] + shown["cells"]:
            for word in re.findall(r"\b[a-z]+_[a-z_]+\b", text):
                if word in RAW_VALUES or word.endswith(("_id", "_m", "_at", "_vnd")):
                    problems.append((page, "raw key", word))
            if text.strip() in BAD_CELLS:
                problems.append((page, "label", text))
        for text in shown["labels"]:
            t = text.strip()
            if lang == "vi" and t in en_labels and t not in vi_labels:
                problems.append((page, "English in Vietnamese", t))
            if lang == "en" and t in vi_labels and EN.get(t, t) != t:
                problems.append((page, "Vietnamese in English", t))
            if t.endswith((" /", "–", "(")) or re.search(r"\w-$", t):
                problems.append((page, "cut", t))
    assert not problems, "\n".join(map(str, sorted(set(problems))))
