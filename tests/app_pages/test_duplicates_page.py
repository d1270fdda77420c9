"""Issue 19.4 on its page: the candidate pairs listed, two crashes side by side, a merge with values chosen
per field, "not a duplicate" hiding the pair, and the undo."""

from __future__ import annotations


import pytest
from streamlit.testing.v1 import AppTest

from geo.validate import validate_crashes
from models.store import Store
from tests.app_pages.conftest import database_url
from tests.app_pages.test_every_page_reads_right import BAD_CELLS, _texts
from tests.conftest import ROOT
from tests.models.test_duplicates import HEALTH, POLICE, _table


@pytest.fixture
def dup_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'dup.sqlite'}"
    store = Store(url)
    for rows, source in ((POLICE, "Công an huyện"), (HEALTH, "Trung tâm y tế")):
        store.import_crashes(validate_crashes(_table(rows)), filename=f"{source}.csv", source=source)
    with database_url(url):
        yield url


def _page(lang: str = "vi") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "duplicates.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


def _listed(at: AppTest) -> set[tuple[int, int]]:
    frames = [d.value for d in at.dataframe if "Vụ A" in d.value.columns and "Nguồn A" in d.value.columns]
    if not frames:
        return set()
    return {(int(a), int(b)) for a, b in zip(frames[0]["Vụ A"], frames[0]["Vụ B"])}


def _ids(url: str) -> dict[str, int]:
    crashes = Store(url).crashes_frame()
    return dict(zip(crashes["source_id"], crashes["id"].astype(int)))


def test_pairs_listed_and_merged_through_the_page(dup_url):
    ids = _ids(dup_url)
    at = _page()
    assert at.title[0].value == "Trùng lặp giữa các nguồn"
    first, second = tuple(sorted((ids["CA-1"], ids["YT-7"]))), tuple(sorted((ids["CA-2"], ids["YT-8"])))
    assert _listed(at) == {first, second}
    # choose the pair CA-1 / YT-7: the two side by side
    pick = at.selectbox(key="dup_pick")
    pick.set_value(next(k for k, o in enumerate(pick.options) if f"#{first[0]} " in o and f"#{first[1]} " in o)).run()
    assert not at.exception, at.exception
    side = next(d.value for d in at.dataframe if "Trường" in d.value.columns)
    assert side["Trường"].tolist()[:3] == ["Nguồn", "Mã vụ của nguồn", "Ngày giờ"]
    assert {"Công an huyện", "Trung tâm y tế"} <= set(side.iloc[0, 1:3])
    # keep the police report, take the health service's injured count
    at.radio(key=f"dup_keep_{first[0]}_{first[1]}").set_value(ids["CA-1"]).run()
    at.radio(key=f"dup_field_injured_{first[0]}_{first[1]}_{ids['CA-1']}").set_value(ids["YT-7"]).run()
    next(b for b in at.button if b.label == "Gộp").click().run()
    assert not at.exception, at.exception
    assert f"#{ids['YT-7']}" in at.success[0].value
    assert _listed(at) == {second}
    crashes = Store(dup_url).crashes_frame().set_index("id")
    assert ids["YT-7"] not in crashes.index and int(crashes.loc[ids["CA-1"], "injured"]) == 2
    assert crashes.loc[ids["CA-1"], "description"] == "Xe tải va xe máy"  # not chosen: the kept crash's own
    # undo the merge from the decided pairs
    at.selectbox(key="dup_undo_pick").set_value(0).run()
    next(b for b in at.button if b.label == "Hoàn tác").click().run()
    assert not at.exception, at.exception
    assert _listed(at) == {first, second}
    assert int(Store(dup_url).crashes_frame().set_index("id").loc[ids["CA-1"], "injured"]) == 0


def test_not_a_duplicate_hides_the_pair(dup_url):
    ids = _ids(dup_url)
    at = _page()
    pair = tuple(sorted((ids["CA-2"], ids["YT-8"])))
    pick = at.selectbox(key="dup_pick")
    pick.set_value(next(k for k, o in enumerate(pick.options) if f"#{pair[0]} " in o and f"#{pair[1]} " in o)).run()
    next(b for b in at.button if b.label == "Không trùng").click().run()
    assert not at.exception, at.exception
    assert pair not in _listed(at) and len(_listed(at)) == 1
    assert pair not in _listed(_page())  # a new session: still hidden
    assert len(Store(dup_url).crashes_frame()) == 4


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_page_reads_right(dup_url, lang):
    at = _page(lang)
    shown = _texts(at)
    assert not [c for c in shown["cells"] if c in BAD_CELLS]
    text = " ".join(shown["labels"] + shown["cells"])
    if lang == "en":
        assert at.title[0].value == "Duplicates across sources"
        assert {"Merge", "Not a duplicate"} <= {b.label for b in at.button}
        assert "Gộp" not in text and "Trường" not in text
    else:
        assert {"Gộp", "Không trùng"} <= {b.label for b in at.button}


def test_data_text_is_shown_as_text(dup_url):
    """A source or a description typed like Markdown is shown as itself."""
    from sqlalchemy import update

    from models.orm import Crash

    ids = _ids(dup_url)
    with Store(dup_url).engine.begin() as conn:
        conn.execute(
            update(Crash)
            .where(Crash.id == ids["YT-7"])
            .values(description="![x](http://evil.example/a.png) <b>đậm</b>", source="**Y tế**")
        )
    at = _page()
    pair = tuple(sorted((ids["CA-1"], ids["YT-7"])))
    pick = at.selectbox(key="dup_pick")
    pick.set_value(next(k for k, o in enumerate(pick.options) if f"#{pair[0]} " in o and f"#{pair[1]} " in o)).run()
    assert not at.exception, at.exception
    options = [o for r in at.radio for o in r.options]
    assert any("\\!\\[x\\]" in o for o in options) and not any("![x](" in o for o in options)
    assert not any("**Y tế**" in o for o in options)


def test_a_value_only_the_other_report_has_is_offered_first(dup_url):
    """Keeping the health service's report (no cause recorded), the police's cause is the one chosen by
    default: a merge never drops a value the person did not choose to drop."""
    ids = _ids(dup_url)
    at = _page()
    first = tuple(sorted((ids["CA-1"], ids["YT-7"])))
    pick = at.selectbox(key="dup_pick")
    pick.set_value(next(k for k, o in enumerate(pick.options) if f"#{first[0]} " in o and f"#{first[1]} " in o)).run()
    at.radio(key=f"dup_keep_{first[0]}_{first[1]}").set_value(ids["YT-7"]).run()
    assert at.radio(key=f"dup_field_cause_{first[0]}_{first[1]}_{ids['YT-7']}").value == ids["CA-1"]
    assert at.radio(key=f"dup_field_injured_{first[0]}_{first[1]}_{ids['YT-7']}").value == ids["YT-7"]
