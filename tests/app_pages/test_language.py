"""One translation table: every page label has its English, and English shows when chosen."""

from __future__ import annotations

import re

from i18n import EN, t
from tests.app_pages.conftest import run  # noqa: F401
from tests.conftest import ROOT


def test_every_page_label_is_in_the_table():
    missing = []
    for path in (ROOT / "app_pages").glob("*.py"):
        for label in re.findall(r'\btr\("([^"]*)"\)', path.read_text(encoding="utf-8")):
            if label not in EN:
                missing.append((path.name, label))
    assert not missing, missing
    assert t("Nền ngoại tuyến", "en") == "Offline base" and t("Nền ngoại tuyến", "vi") == "Nền ngoại tuyến"


def test_english_switch_changes_the_labels(demo_url):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / "map.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Map"
    assert {tg.label for tg in at.toggle} >= {"Heat map", "Offline base", "Safety corridors"}
    assert at.selectbox(key="map_pick").label == "Select an item"


def test_every_page_renders_in_english(demo_url):
    from streamlit.testing.v1 import AppTest

    for page in ("home", "map", "blackspots", "corridor", "works", "plans", "exports", "import_data"):
        at = AppTest.from_file(str(ROOT / "app_pages" / f"{page}.py"), default_timeout=60)
        at.session_state["lang"] = "en"
        at.run()
        assert not at.exception, (page, at.exception)
        assert at.title, page


def test_black_spot_and_import_pages_speak_one_language_at_a_time(demo_url):
    """Labels come from the table: English only in English, Vietnamese only in Vietnamese."""
    from streamlit.testing.v1 import AppTest

    cases = (
        ("blackspots", "en", ["Re-run screening", "Test", "Why:"], ["Rà soát lại", "Tiêu chí", "Vì sao"]),
        ("blackspots", "vi", ["Rà soát lại", "Tiêu chí", "Vì sao:"], ["Re-run screening", " / Why"]),
        ("import_data", "en", ["Import batches", "Undo this batch", "Crashes"], ["Các lần nhập", "Hoàn tác"]),
        ("import_data", "vi", ["Các lần nhập", "Hoàn tác lần nhập này", "Vụ TNGT"], ["Import batches", " / "]),
    )
    for page, lang, want, unwanted in cases:
        at = AppTest.from_file(str(ROOT / "app_pages" / f"{page}.py"), default_timeout=60)
        at.session_state["lang"] = lang
        at.run()
        assert not at.exception, at.exception
        shown = " ".join(
            [b.label for b in at.button]
            + list(at.dataframe[0].value.columns)
            + [m.value for m in at.markdown]
            + [h.value for h in at.subheader]
            + [o for r in at.radio for o in r.options]
        )
        for text in want:
            assert text in shown, (lang, text)
        for text in unwanted:
            assert text not in shown, (lang, text)


def test_a_chosen_severity_reads_in_the_new_language_after_a_switch(demo_url):
    """The browser shows a chosen value by the label it was sent: after a switch
    to English, the sidebar sends the chosen severity again, in English (it
    used to keep the Vietnamese chip), and the filter still holds the same
    severity."""
    from streamlit.testing.v1 import AppTest

    from geo.severity import labels

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    worst = list(labels("vi"))[0]
    at.session_state["filters_open"] = True
    at.run()
    at.sidebar.multiselect(key="f_severity").set_value([worst]).run()
    at.sidebar.radio(key="lang_choice").set_value("English").run()
    assert not at.exception, at.exception
    chips = at.sidebar.multiselect(key="f_severity")
    assert chips.proto.set_value and list(chips.proto.raw_values) == [labels("en")[worst]]
    assert chips.value == [worst] and labels("en")[worst] != labels("vi")[worst]
    at.run()  # the next run leaves the browser's value alone
    assert not at.sidebar.multiselect(key="f_severity").proto.set_value
