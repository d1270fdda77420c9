"""Issue 19.2 on its page: a field entry from a phone lands as a flagged
potential point (a hazard) or an encroachment case, at the phone's location,
with its road and chainage, its user and its photo; an entry without a place
or a description writes nothing."""

from __future__ import annotations

import time

import io

import pytest
from streamlit.testing.v1 import AppTest

from models.enums import Role
from models.permissions import Principal
from models.store import Store
from tests.app_pages.conftest import demo_url  # noqa: F401
from tests.conftest import ROOT

QL24_M = 134_000.0  # a place on the demo's QL24, Km 134+000, 8 m right of the centreline
LAN = Principal("lan", Role.COMMITTEE_EDITOR)


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def place(demo_url):  # noqa: F811
    from services.corridor import point_at_chainage

    p = point_at_chainage(Store(demo_url), road="QL24", chainage=QL24_M, side="right", offset_m=8.0)
    return {"lat": p.y, "lon": p.x}


def _page(*, location=None, lang="vi", principal=LAN) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "field.py"), default_timeout=60)
    at.session_state["lang"] = lang
    if principal is not None:
        at.session_state["principal"] = principal
    if location is not None:  # the component's answer as the page keeps it
        at.session_state["field_location"] = dict(location, accuracy_m=6.0, source="phone")
    at.run()
    assert not at.exception, at.exception
    return at


def _fill_and_save(at: AppTest, *, kind: str, description: str, photo: bytes | None = None) -> AppTest:
    at.radio(key="field_kind").set_value(kind)
    at.text_area(key="field_desc_0").set_value(description)
    if photo is not None:
        at.file_uploader(key="field_photo_0").set_value(("o_ga.png", photo, "image/png"))
    next(b for b in at.button if b.label == "Lưu ghi nhận").click().run()
    assert not at.exception, at.exception
    return at


def _text(elements) -> str:
    """What the elements show (their Markdown source without the escapes of ``md_text``)."""
    return " ".join(e.value.replace("\\", "") for e in elements)


def _counts(url: str) -> tuple[int, int]:
    s = Store(url)
    return len(s.blackspots_frame()), len(s.cases_frame())


def _audited_by(store: Store, table: str, row_id: int) -> set[str]:
    return set(store.history(table, row_id)["user"])


def test_a_hazard_is_flagged_at_the_phones_place_with_road_chainage_user_and_photo(demo_url, place):  # noqa: F811
    at = _page(location=place)
    assert at.title[0].value == "Ghi nhận hiện trường"
    assert "QL24 Km 134+000" in _text(at.markdown)  # the road and chainage found, before saving
    before = _counts(demo_url)
    _fill_and_save(at, kind="hazard", description="Ổ gà sâu giữa làn", photo=_png())
    assert "Đã gắn cờ điểm tiềm ẩn #" in _text(at.success) and "QL24 Km 134+000" in _text(at.success)
    store = Store(demo_url)
    spots = store.blackspots_frame()
    assert len(spots) == before[0] + 1 and len(store.cases_frame()) == before[1]
    new = spots.loc[spots["manual_reason"] == "Ổ gà sâu giữa làn"].iloc[0]
    assert new["kind"] == "potential" and new["road_code"] == "QL24"
    assert new["from_m"] == pytest.approx(QL24_M, abs=1.0)
    assert new["updated_by"] == "lan" and _audited_by(store, "blackspot", int(new["id"])) == {"lan"}
    photos = store.attachments("blackspot", int(new["id"]))
    assert photos["kind"].tolist() == ["photo"] and photos["user"].tolist() == ["lan"]
    assert store.photo_bytes(int(photos["id"].iloc[0])) == _png()
    # the form is new and the place forgotten: the next entry needs its own place
    assert at.session_state["field_form_n"] == 1 and "field_location" not in at.session_state


def test_an_encroachment_is_a_case_with_road_chainage_user_and_photo(demo_url, place):  # noqa: F811
    at = _page(location=place)
    before = _counts(demo_url)
    _fill_and_save(at, kind="encroachment", description="Quán nước dựng lều sát mép đường", photo=_png())
    store = Store(demo_url)
    cases = store.cases_frame()
    assert len(cases) == before[1] + 1 and len(store.blackspots_frame()) == before[0]
    case = cases.loc[cases["description"] == "Quán nước dựng lều sát mép đường"].iloc[0]
    assert case["road_code"] == "QL24" and case["chainage_m"] == pytest.approx(QL24_M, abs=1.0)
    assert case["side"] == "right" and case["status"] == "detected"
    assert case["updated_by"] == "lan" and _audited_by(store, "encroachment_case", int(case["id"])) == {"lan"}
    photos = store.attachments("case", int(case["id"]))
    assert photos["kind"].tolist() == ["photo"] and photos["user"].tolist() == ["lan"]
    assert "Đã ghi nhận vụ lấn chiếm" in _text(at.success)


def test_no_place_or_no_description_writes_nothing(demo_url, place):  # noqa: F811
    before = _counts(demo_url)
    at = _fill_and_save(_page(), kind="hazard", description="Cây che khuất biển báo", photo=_png())
    assert "Chưa có vị trí" in _text(at.error) and not at.success
    at = _fill_and_save(_page(location=place), kind="encroachment", description="   ", photo=_png())
    assert "Cần mô tả ngắn" in _text(at.error) and not at.success
    # a file that is not an image is refused before the entry is written
    at = _fill_and_save(_page(location=place), kind="hazard", description="Cống hở", photo=None)
    assert _counts(demo_url) == (before[0] + 1, before[1])  # (a photo is not required)
    before = _counts(demo_url)
    at = _page(location=place)
    at.radio(key="field_kind").set_value("hazard")
    at.text_area(key="field_desc_0").set_value("Ảnh giả")
    at.file_uploader(key="field_photo_0").set_value(("gia.png", b"not an image at all", "image/png"))
    next(b for b in at.button if b.label == "Lưu ghi nhận").click().run()
    assert "không phải ảnh" in _text(at.error)
    assert _counts(demo_url) == before


def test_off_the_roads_the_entry_is_saved_with_its_point(demo_url):  # noqa: F811
    far = {"lat": 14.05, "lon": 108.55}  # kilometres from any demo road
    at = _page(location=far)
    assert "Không trên tuyến đường nào đã biết" in _text(at.warning)
    _fill_and_save(at, kind="hazard", description="Sạt lở taluy dương")
    assert "không trên tuyến đường nào đã biết" in _text(at.success)
    spots = Store(demo_url).blackspots_frame()
    new = spots.loc[spots["manual_reason"] == "Sạt lở taluy dương"].iloc[0]
    assert new["road_code"] is None and new["geometry"].x == pytest.approx(108.55)


def test_the_components_answer_becomes_the_place_or_a_clear_refusal(demo_url, place, monkeypatch):  # noqa: F811
    import app_pages.geolocation as geolocation

    monkeypatch.setattr(geolocation, "phone_location", lambda key: {"error": "denied", "ts": 1})
    at = _page()
    assert "không cho phép lấy vị trí" in _text(at.warning)
    assert at.expander[0].proto.expanded  # the manual entry opens at once
    answer = dict(place, accuracy_m=5.0, ts=2)
    monkeypatch.setattr(geolocation, "phone_location", lambda key: answer)
    at.run()
    assert "không cho phép" not in _text(at.warning)
    assert at.session_state["field_location"]["source"] == "phone"
    assert "QL24 Km 134+000" in _text(at.markdown)
    # five minutes on, the user has walked away: the old place is dropped, not saved with a new entry
    at.session_state["field_location"] = dict(at.session_state["field_location"], at=time.time() - 301)
    at.run()
    assert "field_location" not in at.session_state and "quá 5 phút" in _text(at.info)
    assert "QL24 Km 134+000" not in _text(at.markdown)


def test_the_manual_fallback_by_chainage(demo_url):  # noqa: F811
    at = _page()
    at.radio(key="field_manual_by").set_value("chainage")
    at.run()
    at.selectbox(key="field_manual_road").set_value("QL24")
    at.text_input(key="field_manual_chain").set_value("Km 140+250")
    at.button(key="field_manual_use").click().run()
    assert not at.exception, at.exception
    assert at.session_state["field_location"]["source"] == "manual"
    assert "QL24 Km 140+250" in _text(at.markdown)


def test_in_english_and_refused_to_a_viewer(demo_url):  # noqa: F811
    at = _page(lang="en")
    assert at.title[0].value == "Field entry"
    assert at.radio(key="field_kind").options == [
        "Hazard (potential crash point)",
        "Encroachment of the safety corridor",
    ]
    at = _page(principal=Principal("xem", Role.VIEWER))
    assert at.info and not at.button
