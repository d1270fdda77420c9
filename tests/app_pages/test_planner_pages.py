"""The planners' pages with AppTest on the demo store: they render, the
shared filters change their lists, and their actions write to the store."""

from __future__ import annotations

import io

import numpy as np
import pytest
import streamlit as st
from services.auth import add_user
from streamlit.testing.v1 import AppTest

from models.store import Store
from services.blackspots import set_blackspot_status
from services.corridor import set_case_status
from tests.conftest import ROOT
from tests.app_pages.conftest import run


@pytest.fixture(autouse=True)
def fresh_cache():
    st.cache_data.clear()
    yield


def _caption_counts(at):
    import re

    text = next(c.value for c in at.caption if "vụ" in c.value and "điểm" in c.value)
    return [int(n.replace(".", "")) for n in re.findall(r"([\d.]+) ", text)]


def _sidebar_then_home():
    import streamlit as st

    from app_pages.sidebar import render

    with st.sidebar:
        render("vi")
    exec(open("app_pages/home.py", encoding="utf-8").read(), {"__name__": "__main__"})


def test_app_renders_with_sidebar_and_navigation(demo_url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Quản lý điểm đen tai nạn giao thông"
    assert {r.key for r in at.sidebar.radio} == {"lang_choice"}  # the filters' panel is closed on a new visit
    at.session_state["filters_open"] = True
    at.run()
    assert {"lang_choice", "f_alcohol"} <= {r.key for r in at.sidebar.radio}


def test_sidebar_filters_change_the_home_figures(demo_url, monkeypatch):
    monkeypatch.chdir(ROOT)
    at = AppTest.from_function(_sidebar_then_home, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    total = int({m.label: m.value for m in at.metric}["Số vụ"].replace(".", ""))
    at.session_state["filters_open"] = True
    at.run()
    at.sidebar.multiselect(key="f_roads").set_value(["QL24"]).run()
    assert {m.label: m.value for m in at.metric}["Số vụ"] == "288" and total > 288
    at.sidebar.radio(key="f_alcohol").set_value("yes").run()
    assert 0 < int({m.label: m.value for m in at.metric}["Số vụ"]) < 288


def test_map_lists_follow_the_filters(demo_url):
    from services.filters import Filters

    at = run("map.py")
    all_counts = _caption_counts(at)
    at.session_state["filters"] = Filters(roads=("QL24",))
    at.run()
    ql24 = _caption_counts(at)
    assert ql24[0] == 288 and all_counts[0] > ql24[0]
    from datetime import date

    at.session_state["filters"] = Filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    at.run()
    y2025 = _caption_counts(at)
    spots = Store(demo_url).blackspots_frame()
    overlapping = spots.loc[(spots["window_end"] >= date(2025, 1, 1)) & (spots["window_start"] <= date(2025, 12, 31))]
    assert y2025[1] == len(overlapping) < all_counts[1]
    assert len(at.selectbox(key="map_pick").options) == 1 + y2025[1] + y2025[2] + y2025[3]


def test_map_panel_selects_and_changes_status(demo_url):
    store = Store(demo_url)
    spots = store.blackspots_frame(kind="black_spot")
    sid = int(spots.loc[spots["status"] == "candidate", "id"].iloc[0])
    at = run("map.py")
    at.selectbox(key="map_pick").set_value(("blackspot", sid)).run()
    assert not at.exception, at.exception
    assert at.session_state["map_selected"] == ("blackspot", sid)
    assert any("Vì sao" in m.value for m in at.markdown)
    assert any(f"#{sid}" in h.value for h in at.subheader)
    at.selectbox(key="map_status_new").set_value("confirmed")
    [b for b in at.button if b.label == "Lưu"][0].click().run()
    assert not at.exception, at.exception
    assert store.get_blackspot(sid).status.value == "confirmed"
    hist = store.history("blackspot", sid)
    assert hist["user"].iloc[-1] == "web"


def test_a_place_on_the_road_axis_is_said_to_be_on_it(demo_url):
    """A place on QL24's axis: "on the centreline", not a side at 0.0 m."""
    from geo.crs import WGS84, transform

    net = Store(demo_url).road_network()
    qi = int(net.index_of(["QL24"])[0])
    p = net.lines[qi].interpolate(140_000 - net.km_start[qi])
    lon, lat = transform([p.x], [p.y], net.crs.to_wkt(), WGS84)
    at = run("map.py")
    at.session_state["map_point"] = (float(lon[0]), float(lat[0]))
    at.run()
    assert not at.exception, at.exception
    said = next(m.value for m in at.markdown if "QL24 Km 1" in m.value.replace("\\", ""))
    assert "trên tim đường" in said and "bên phải" not in said and "bên trái" not in said


def test_map_place_records_an_encroachment_with_chainage(demo_url):
    store = Store(demo_url)
    n = len(store.cases_frame())
    at = run("map.py")
    # a place 12 m off QL24 at Km 140+000, picked by coordinates
    from geo.crs import WGS84, transform

    net = store.road_network()
    qi = int(net.index_of(["QL24"])[0])
    p = net.lines[qi].interpolate(140_000 - net.km_start[qi])
    lon, lat = transform([p.x], [p.y + 12], net.crs.to_wkt(), WGS84)
    assert not at.number_input  # the coordinates' fields are drawn when their panel is opened
    at.session_state["pt_open"] = True
    at.run()
    at.number_input(key="pt_lat").set_value(float(lat[0]))
    at.number_input(key="pt_lon").set_value(float(lon[0]))
    at.button(key="pt_pick").click().run()
    assert any("QL24 Km 140+" in m.value.replace("\\", "") for m in at.markdown)  # as shown: signs escaped
    at.text_input[0].input("Quán <script>alert(1)</script>")
    [b for b in at.button if b.label == "Ghi nhận"][0].click().run()
    assert not at.exception, at.exception
    cases = store.cases_frame()
    assert len(cases) == n + 1
    new = cases.iloc[-1]
    assert new["road_code"] == "QL24" and abs(new["chainage_m"] - 140_000) < 15
    assert new["kind"] == "Quán <script>alert(1)</script>"


def test_corridor_page_lists_cases_overdue_and_records(demo_url):
    store = Store(demo_url)
    at = run("corridor.py")
    assert at.title[0].value == "Hành lang an toàn đường bộ"
    over = {m.label: m.value for m in at.metric}["Quá hạn"]
    assert int(over) == int(store.cases_frame()["overdue"].sum()) >= 1
    labels = {b.label for b in at.get("download_button")}
    assert {"CSV", "Excel"} <= labels
    # move the first detected case to "record made" from the panel
    cases = store.cases_frame()
    cid = int(cases.loc[cases["status"] == "detected", "id"].iloc[0])
    at.selectbox(key="corridor_pick").set_value(cid).run()
    at.selectbox(key="corridor_status_new").set_value("recorded")
    at.text_input[0].input("07/BB-CA")  # record number (the form's first text input)
    from datetime import date

    at.date_input[0].set_value(date(2026, 11, 1))
    [b for b in at.button if b.label == "Lưu"][0].click().run()
    assert not at.exception, at.exception
    case = store.cases_frame().set_index("id").loc[cid]
    assert case["status"] == "recorded" and case["record_no"] == "07/BB-CA"


def test_works_page_evaluates_a_finished_work(demo_url):
    at = run("works.py")
    assert at.title[0].value == "Công trình xử lý"
    assert len(at.dataframe[0].value) == len(Store(demo_url).works_frame())
    assert any("Bayes" in i.value for i in at.info)  # the one-paragraph explanation
    assert any("chưa đủ tin cậy" in w.value for w in at.warning)  # the after period is still short


def test_plans_page_targets_and_manual_plan(demo_url):
    from services.plans import plan_band

    store = Store(demo_url)
    at = run("plans.py")
    assert [m.label for m in at.metric][:3] == ["Số vụ", "Số người chết", "Số người bị thương"]
    n = len(store.plans_frame())
    at.button(key="plan_blank").click().run()
    [b for b in at.button if "Lưu kế hoạch" in b.label][0].click().run()
    assert not at.exception, at.exception
    assert "cần có tên" in at.error[0].value and len(store.plans_frame()) == n  # clear error, nothing saved
    title = next(ti for ti in at.text_input if ti.label == "Tên kế hoạch")
    title.input("Kế hoạch bảo đảm TTATGT năm 2026")
    [b for b in at.button if "Lưu kế hoạch" in b.label][0].click().run()
    assert not at.exception, at.exception
    plans = store.plans_frame()
    assert len(plans) == n + 1 and plans["title"].iloc[-1] == "Kế hoạch bảo đảm TTATGT năm 2026"
    # nothing typed for the cut: no band made up for the plan (the targets use the default and say so)
    assert plan_band(plans["targets"].iloc[-1]) == (5.0, 10.0, False)
    # a band typed is the plan's (a minimum alone: the band is that minimum)
    at.button(key="plan_blank").click().run()
    next(ti for ti in at.text_input if ti.label == "Tên kế hoạch").input("Kế hoạch năm 2027")
    next(ni for ni in at.number_input if ni.label == "Giảm tối thiểu %").set_value(7.0)
    [b for b in at.button if "Lưu kế hoạch" in b.label][0].click().run()
    assert not at.exception, at.exception
    assert plan_band(store.plans_frame()["targets"].iloc[-1]) == (7.0, 7.0, True)


def test_exports_page_offers_every_format_and_a_proposal(demo_url):
    at = run("exports.py")
    labels = {b.label for b in at.get("download_button")}
    assert {"CSV", "Excel", "GeoJSON", "KML (Google Earth)", "GeoPackage"} <= labels
    [b for b in at.button if "Tạo tờ trình" in b.label][0].click().run()
    assert not at.exception, at.exception
    data = at.session_state["proposal_docx"]
    import io

    import docx

    doc = docx.Document(io.BytesIO(data))
    assert any(p.text == "TỜ TRÌNH" for p in doc.paragraphs)


def test_sign_in_roles_and_refusals_in_the_app(demo_url):
    """With accounts, the app asks to sign in; a viewer's write is refused with a message, not a traceback."""
    from models.store import Store

    store = Store(demo_url)
    add_user(store, username="quantri", password="quantri-pass", role="admin")
    from services.auth import authenticate

    admin = store.with_principal(authenticate(store, "quantri", "quantri-pass"))
    add_user(admin, username="xem", password="xem-pass-1", role="viewer")
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Đăng nhập" and not at.metric  # nothing shown before signing in
    at.text_input(key="login_user").input("xem")
    at.text_input(key="login_password").input("sai mật khẩu")
    at.button[0].click().run()
    assert "Sai tên đăng nhập" in at.error[0].value
    at.text_input(key="login_password").input("xem-pass-1")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Quản lý điểm đen tai nạn giao thông"
    assert any("xem" in c.value and "Xem" in c.value for c in at.sidebar.caption)
    # the viewer tries to change a status on the black-spot page: refused by the store
    page = AppTest.from_file(str(ROOT / "app_pages" / "blackspots.py"), default_timeout=60)
    page.session_state["principal"] = at.session_state["principal"]
    page.run()
    sid = int(page.selectbox(key="spot_detail").value)
    before = store.get_blackspot(sid).status
    [b for b in page.button if "Lưu" in b.label][0].click().run()
    assert not page.exception, page.exception
    assert any("không được sửa" in e.value for e in page.error)
    assert store.get_blackspot(sid).status == before


def _users_page_as_admin(demo_url):
    """(store, the accounts page run by the admin 'quantri', created when missing)."""
    from services.auth import authenticate

    store = Store(demo_url)
    if store.user_count() == 0:
        add_user(store, username="quantri", password="quantri-pass", role="admin")
    at = AppTest.from_file(str(ROOT / "app_pages" / "users.py"), default_timeout=60)
    at.session_state["principal"] = authenticate(store, "quantri", "quantri-pass")
    at.run()
    assert not at.exception, at.exception
    return store, at


def test_users_page_for_admins(demo_url):
    """The accounts page (admins): add an account; a short password is refused with a message."""
    from services.auth import authenticate

    store, at = _users_page_as_admin(demo_url)
    n = store.user_count()
    name = next(ti for ti in at.text_input if ti.label == "Tên đăng nhập")
    name.input("bientap.xa")
    next(ti for ti in at.text_input if ti.label.startswith("Mật khẩu")).input("ngan")
    at.selectbox[0].set_value("committee_editor")
    [b for b in at.button if b.label == "Tạo"][0].click().run()
    assert "ít nhất 8" in at.error[0].value and store.user_count() == n
    assert next(ti for ti in at.text_input if ti.label == "Tên đăng nhập").value == "bientap.xa"  # nothing lost
    next(ti for ti in at.text_input if ti.label.startswith("Mật khẩu")).input("mat-khau-dai")
    [b for b in at.button if b.label == "Tạo"][0].click().run()
    assert not at.exception, at.exception
    assert store.user_count() == n + 1
    assert authenticate(store, "bientap.xa", "mat-khau-dai").role.value == "committee_editor"


def test_commune_editor_commune_is_chosen_not_typed(demo_url):
    """A commune editor's commune comes from a list of the store's communes: no typo can lock them out."""
    from services.auth import authenticate

    store, at = _users_page_as_admin(demo_url)
    box = at.selectbox(key="ua_commune")
    units = store.admin_units_frame()
    known = set(units.loc[units["level"] == "commune", "name"])  # the 2025 communes of the demo's areas
    assert len(box.options) > 1 and set(box.options[1:]) == known and box.options[0] == "—"
    assert not [ti for ti in at.text_input if ti.label.startswith("Xã")]
    commune = box.options[1]
    next(ti for ti in at.text_input if ti.label == "Tên đăng nhập").input("bientap.xa2")
    next(ti for ti in at.text_input if ti.label.startswith("Mật khẩu")).input("mat-khau-dai")
    at.selectbox(key="ua_role").set_value("commune_editor")
    box.set_value(commune)
    [b for b in at.button if b.label == "Tạo"][0].click().run()
    assert not at.exception, at.exception
    assert authenticate(store, "bientap.xa2", "mat-khau-dai").commune == commune


def test_the_spot_panel_makes_the_dossier(demo_url):
    """On the black-spot page, the spot's panel builds its hồ sơ and offers it for download."""
    page = AppTest.from_file(str(ROOT / "app_pages" / "blackspots.py"), default_timeout=120)
    page.run()
    assert not page.exception, page.exception
    [b for b in page.button if b.label == "Lập hồ sơ điểm đen"][0].click().run()
    assert not page.exception, page.exception
    sid = int(page.selectbox(key="spot_detail").value)
    data = page.session_state[f"dossier_{sid}"]
    import docx

    assert "HỒ SƠ ĐIỂM" in "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def test_works_page_offers_the_nearest_spot_and_links_the_new_work(demo_url):
    """A work typed by road and chainage is offered the nearest spot; saved, it belongs to that spot (and so
    to the Tờ trình), and the work's panel can link it to another spot."""
    from geo.chainage import format_chainage
    from services.reports import proposal_rows

    store = Store(demo_url)
    spots = store.blackspots_frame(kind="black_spot")
    spot = spots.loc[spots["ruleset"] == "tt41-2024"].sort_values("from_m").iloc[0]
    at = run("works.py")
    at.selectbox(key="nw_road").set_value(spot["road_code"])
    at.text_input(key="nw_name").input("Lắp biển cảnh báo")
    at.text_input(key="nw_from").input(format_chainage(spot["to_m"] + 120))  # 120 m past the spot's end
    at.run()
    box = next(s for s in at.selectbox if str(s.key).startswith("nw_spot"))
    assert box.value == int(spot["id"]), box.options[:3]
    assert "cách 120 m" in box.options[box.index]
    before = set(store.works_frame()["id"])
    at.button(key="nw_add").click().run()
    assert not at.exception, at.exception
    new = store.works_frame().loc[lambda w: ~w["id"].isin(before)]
    assert len(new) == 1 and int(new["blackspot_id"].iloc[0]) == int(spot["id"])
    assert new["from_m"].iloc[0] == pytest.approx(spot["to_m"] + 120)
    rows = proposal_rows(store, [int(spot["id"])])
    assert rows.iloc[0]["proposal"]  # the spot now has a proposed work in the Tờ trình

    # the panel of that work links it to another spot
    other = spots.loc[spots["id"] != spot["id"]].iloc[0]

    wid = int(new["id"].iloc[0])
    at2 = AppTest.from_string(
        "import streamlit as st\nfrom app_pages.panel import render_item_panel\n"
        f"render_item_panel('work', {wid}, lang='vi', key='t')",
        default_timeout=60,
    )
    at2.run()
    assert not at2.exception, at2.exception
    pick = next(s for s in at2.selectbox if s.label == "Gắn với điểm đen / điểm tiềm ẩn")
    assert pick.value == int(spot["id"])  # the current link shown
    pick.set_value(int(other["id"]))
    next(b for b in at2.button if b.label == "Gắn" and "workspot" in str(b.form_id)).click().run()
    assert int(store.works_frame().set_index("id").loc[wid, "blackspot_id"]) == int(other["id"])
    hist = store.history("remediation_work", wid)
    assert any("blackspot_id" in str(h) for h in hist.to_dict("records"))


def test_did_it_work_shows_no_change_before_the_after_period_is_complete(demo_url):
    at = run("works.py")
    table = next(d.value for d in at.dataframe if any(str(c).startswith("Trước") for c in d.value.columns))
    cols = [str(c) for c in table.columns]
    assert any(c.startswith("Sau") and "có dữ liệu" in c for c in cols)
    assert "Thay đổi" not in cols  # the demo's work finished recently: no percentage yet
    assert not at.success  # and no green mark
    assert any("Chưa đủ 12 tháng" in w.value for w in at.warning)


def test_a_case_is_placed_by_road_and_chainage_and_confirmed(demo_url):
    """Issue 15.9: a case by road, chainage, side and distance; the new case is confirmed with where it is;
    no "None" in the list; a deadline before the record date is refused."""
    from datetime import date

    store = Store(demo_url)
    at = run("corridor.py")
    before = set(store.cases_frame()["id"])
    assert at.radio(key="new_case_by").value is True  # by chainage first
    at.selectbox(key="new_case_road").set_value("QL24")
    at.text_input(key="new_case_chain").input("Km 140+250")
    at.selectbox(key="new_case_side").set_value("left")
    at.number_input(key="new_case_offset").set_value(12.0)
    next(b for b in at.button if b.label == "Ghi nhận").click().run()
    assert not at.exception, at.exception
    new = store.cases_frame().loc[lambda c: ~c["id"].isin(before)]
    assert len(new) == 1
    c = new.iloc[0]
    assert c["road_code"] == "QL24" and c["side"] == "left"
    assert c["chainage_m"] == pytest.approx(140_250, abs=1.0) and c["distance_m"] == pytest.approx(12.0, abs=0.5)
    msg = (
        at.session_state["flash"]
        if "flash" in at.session_state
        else next(s.value for s in at.success).replace("\\", "")
    )  # as shown: signs escaped
    assert msg.startswith(f"Đã ghi nhận vụ #{int(c['id'])}: QL24 Km 140+250, bên trái, trong")
    at.run()
    table = at.dataframe[0].value
    assert not table.astype(str).isin(["None", "nan", "NaT"]).any().any()

    # the deadline cannot come before the record
    cid = int(c["id"])
    v = int(store.cases_frame().set_index("id").loc[cid, "version"])
    set_case_status(store, cid, "recorded", expected_version=v, record_no="08/BB", record_date=date(2026, 11, 10))
    v = int(store.cases_frame().set_index("id").loc[cid, "version"])
    from errors import TransitionError

    with pytest.raises(TransitionError, match="trước ngày biên bản"):
        set_case_status(store, cid, "deadline_set", expected_version=v, deadline=date(2026, 11, 1))


def test_an_agency_is_added_where_it_is_chosen_and_is_the_items_lead(demo_url):
    """Issue 15.10: a new lead agency typed in a panel is created and becomes the item's plan link; for a
    work it is the same lead agency its list shows."""
    store = Store(demo_url)
    work = store.works_frame().iloc[0]
    wid = int(work["id"])
    at = AppTest.from_string(
        "import streamlit as st\nfrom app_pages.panel import render_item_panel\n"
        f"render_item_panel('work', {wid}, lang='vi', key='t')",
        default_timeout=60,
    )
    at.run()
    assert not at.exception, at.exception
    at.text_input(key=f"t_new_lead_work_{wid}").input("Phòng Kinh tế – Hạ tầng")
    next(b for b in at.button if b.label == "Gắn" and "link" in str(b.form_id)).click().run()
    assert not at.exception, at.exception
    agencies = store.agencies_frame()
    new = agencies.loc[agencies["name"] == "Phòng Kinh tế – Hạ tầng"]
    assert len(new) == 1
    aid = int(new["id"].iloc[0])
    links = store.links_frame()
    link = links.loc[(links["item_type"] == "work") & (links["item_id"] == wid)].iloc[0]
    assert int(link["lead_agency_id"]) == aid
    assert int(store.works_frame().set_index("id").loc[wid, "agency_id"]) == aid  # the list's "Chủ trì"
    at.run()
    assert any("Phòng Kinh tế – Hạ tầng" in m.value.replace("\\", "") and "Chủ trì" in m.value for m in at.markdown)
    # the same name again (other spacing and case) is the same agency
    at.text_input(key=f"t_new_lead_work_{wid}").input("  phòng kinh tế –  hạ tầng ")
    next(b for b in at.button if b.label == "Gắn" and "link" in str(b.form_id)).click().run()
    assert len(store.agencies_frame()) == len(agencies)


def test_home_says_what_to_do_next_and_its_areas_come_from_the_data(demo_url):
    from services.overview import next_steps

    at = run("home.py")
    steps = next_steps(Store(demo_url), ruleset="tt41-2024")
    assert steps, "the demo leaves candidates to review"
    shown = " ".join(m.value for m in at.markdown)
    assert "Việc cần làm tiếp" in shown
    for s in steps:
        assert s.vi.split(":")[0].replace("(", "\\(")[:20] in shown or s.vi[:20] in shown.replace("\\", "")
    sources = set(Store(demo_url).crashes_frame()["source"].dropna())
    radio = at.radio(key="home_area")
    assert set(radio.options) == {"Tất cả"} | sources
    assert "Kon Rẫy" not in open("app_pages/home.py", encoding="utf-8").read()  # no demo names in the page


def test_clusters_keep_their_ids_in_exports_and_follow_the_filters(demo_url):
    """Issue 15.7: the clusters the black-spot page shows (C1, C2 …) are the ones the exports page lists,
    with the same ids and counts, and both follow the sidebar's filters."""
    from services.blackspots import clusters
    from services.exports import clusters_as_spots, hotspot_table
    from services.filters import Filters

    store = Store(demo_url)
    at = run("blackspots.py")
    at.button(key="run_cluster").click().run()
    assert not at.exception, at.exception
    page = next(d.value for d in at.dataframe if "Cụm" in d.value.columns)
    assert page["Cụm"].iloc[0] == "C1"
    params = at.session_state["cluster_params"]

    ex = AppTest.from_file(str(ROOT / "app_pages" / "exports.py"), default_timeout=60)
    ex.session_state["cluster_params"] = params
    ex.run()
    ex.multiselect(key="export_kinds").set_value(["cluster"]).run()
    assert not ex.exception, ex.exception
    listed = ex.dataframe[0].value
    assert listed["Mã"].astype(str).tolist() == page["Cụm"].tolist()
    assert listed["Số vụ"].tolist() == page["Số vụ"].tolist()

    # the filters: clusters of QL24 only hold QL24 crashes, and the export of them says the same
    members, table = clusters(store, filters=Filters(roads=("QL24",)), **params)
    in_clusters = members.loc[members["cluster"] >= 0]
    assert len(table) and set(in_clusters["road_code"]) == {"QL24"}
    spots = clusters_as_spots(table, members)
    assert spots["id"].tolist() == table["label"].tolist()
    assert hotspot_table(spots)["n_crashes"].tolist() == table["n_crashes"].tolist()


def test_kde_plus_is_offered_beside_dbscan_with_its_method_and_parameters_shown(demo_url):
    """Issue 19.3: KDE+ as a third method: its own parameters, the method said above the table, labelled as an
    analysis that never replaces the regulation's list; the table's clusters are the service's."""
    from services.blackspots import kde_clusters

    at = run("blackspots.py")
    assert at.selectbox(key="cluster_method").options == ["DBSCAN", "HDBSCAN", "KDE+"]
    at.selectbox(key="cluster_method").set_value("kde").run()
    assert not at.exception, at.exception
    assert any("không bao giờ thay thế" in i.value for i in at.info)
    at.number_input(key="kde_bandwidth").set_value(150)
    at.number_input(key="kde_sims").set_value(100)
    at.button(key="run_cluster").click().run()
    assert not at.exception, at.exception
    assert at.session_state["kde_params"] == {"bandwidth_m": 150.0, "n_sim": 100, "min_crashes": 2}
    said = " ".join(m.value for m in at.markdown).replace("\\", "")  # md_text escapes the markdown
    assert "KDE+ (Bíl" in said and "băng thông 150 m" in said and "100 lần mô phỏng" in said
    table = next(d.value for d in at.dataframe if "Độ mạnh" in d.value.columns)
    assert {"Cụm", "Tuyến", "Từ", "Đến", "Số vụ", "Độ mạnh"} <= set(table.columns)
    expected = kde_clusters(Store(demo_url), bandwidth_m=150.0, n_sim=100, min_crashes=2).clusters
    assert len(expected) > 0 and table["Cụm"].tolist() == expected["label"].head(500).tolist()
    assert table["Số vụ"].tolist() == expected["n_crashes"].head(500).tolist()
    assert table["Độ mạnh"].str.fullmatch(r"[01],\d{3}").all()  # written the Vietnamese way: 0,389
    strength = table["Độ mạnh"].str.replace(",", ".").astype(float).to_numpy()
    assert ((strength > 0) & (strength <= 1)).all() and (strength[:-1] >= strength[1:]).all()
    # back to DBSCAN: its clusters, not KDE+'s
    at.selectbox(key="cluster_method").set_value("dbscan").run()
    at.button(key="run_cluster").click().run()
    assert not at.exception, at.exception
    assert not any("Độ mạnh" in d.value.columns for d in at.dataframe)


def test_kde_parameters_refused_are_said_on_the_page_not_raised(demo_url, monkeypatch):
    """A refusal of KDE+'s parameters (a road whose chainages span too far for the step) is an error message on
    the page, the rest of the page still drawn; before, the ValueError reached the user as a traceback."""
    import geo.kde

    monkeypatch.setattr(geo.kde, "MAX_POINTS_PER_ROAD", 10)  # every road of the demo now "spans too far"
    at = run("blackspots.py")
    at.selectbox(key="cluster_method").set_value("kde").run()
    at.button(key="run_cluster").click().run()
    assert not at.exception, at.exception
    assert any("quá dài cho bước" in e.value for e in at.error)
    assert not any("Độ mạnh" in d.value.columns for d in at.dataframe)


def test_an_item_chosen_in_the_list_is_on_the_map_drawn_in_the_same_run(demo_url):
    """Issue 15.8: choosing in the list moves the map to the item at once (not one run later)."""
    script = (
        "import streamlit as st\nimport services.maps as sm\n_orig = sm.planner_map\n"
        "def _rec(**kw):\n    st.session_state['_drawn_selected'] = kw.get('selected')\n    return _orig(**kw)\n"
        "sm.planner_map = _rec\n"
        "exec(open('app_pages/map.py', encoding='utf-8').read(), {'__name__': '__main__'})\n"
    )
    at = AppTest.from_string(script, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["_drawn_selected"] is None
    spot = Store(demo_url).blackspots_frame(kind="black_spot").iloc[0]
    at.selectbox(key="map_pick").set_value(("blackspot", int(spot["id"]))).run()
    assert not at.exception, at.exception
    assert at.session_state["_drawn_selected"] == ("blackspot", int(spot["id"]))


def test_the_next_status_offered_first_is_forward(demo_url):
    """Issue 15.5: a spot whose remediation is planned is offered "under works" first, not back to "confirmed"."""
    from services.items import item_detail

    store = Store(demo_url)
    spot = store.blackspots_frame(kind="black_spot").iloc[-1]
    sid, v = int(spot["id"]), int(spot["version"])
    for status in ("confirmed", "remediation_planned"):
        if store.blackspots_frame().set_index("id").loc[sid, "status"] != status:
            set_blackspot_status(store, sid, status, expected_version=v)
            v = int(store.blackspots_frame().set_index("id").loc[sid, "version"])
    d = item_detail(store, "blackspot", sid)
    assert [a for a, _ in d.allowed] == ["under_works", "confirmed"]
    at = AppTest.from_string(
        "import streamlit as st\nfrom app_pages.panel import render_item_panel\n"
        f"render_item_panel('blackspot', {sid}, lang='vi', key='t')",
        default_timeout=60,
    )
    at.run()
    assert at.selectbox(key="t_status_new").value == "under_works"


_CLICK_SCRIPT = """
import streamlit as st
import streamlit_folium
from services.map_points import CrashPointsLayer


def _st_folium(m, **kw):
    # what the browser returns for a click on the crash layer: its row in this map's packing ({row}),
    # or a packing the map no longer shows (digest {digest!r})
    layer = next(c for c in m._children.values() if isinstance(c, CrashPointsLayer))
    st.session_state["_packed"] = layer.data
    tag = "[CR-{row}@" + ({digest!r} or layer.data["digest"]) + "]"
    return {{"last_object_clicked_count": 1, "last_object_clicked_tooltip": tag, "last_clicked": None}}


streamlit_folium.st_folium = _st_folium
exec(open("app_pages/map.py", encoding="utf-8").read(), {{"__name__": "__main__"}})
"""


def test_a_click_on_a_crash_shows_that_crash_and_its_spot(demo_url, monkeypatch):
    """Issue 18.2: the crashes are one canvas layer; a click near a dot still selects that crash in Python."""
    import streamlit_folium

    # the script replaces streamlit-folium's function in this process: put the real one back after the test
    monkeypatch.setattr(streamlit_folium, "st_folium", streamlit_folium.st_folium)
    from services.map_points import unpack

    store = Store(demo_url)
    crashes = store.crashes_frame()
    spot = store.blackspots_frame(kind="black_spot").iloc[0]
    counted = {int(i) for i in spot["crash_ids"]}
    # find the packed row of a crash the spot counts: the test's click names that row
    at = AppTest.from_string(_CLICK_SCRIPT.format(row=0, digest=""), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    lon, lat, _ = unpack(at.session_state["_packed"])
    alone = ~crashes.duplicated(["lon", "lat"], keep=False)  # a crash no other shares its place with
    target = crashes.loc[crashes["id"].isin(counted) & alone].iloc[0]
    row = int(np.argmin(np.hypot(lon - target["lon"], lat - target["lat"])))

    at = AppTest.from_string(_CLICK_SCRIPT.format(row=row, digest=""), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    kind, cid = at.session_state["map_selected"]
    assert (kind, cid) == ("crash", int(target["id"]))
    chosen = crashes.set_index("id").loc[cid]
    assert abs(chosen["lon"] - lon[row]) < 1e-6 and abs(chosen["lat"] - lat[row]) < 1e-6
    assert at.subheader[0].value.replace("\\", "").startswith(f"Vụ TNGT #{cid} · ")  # as shown: signs escaped
    facts = " ".join(m.value.replace("\\", "") for m in at.markdown)
    assert f"{chosen['lat']:.6f}, {chosen['lon']:.6f}" in facts
    assert f"{int(chosen['deaths'])} / {int(chosen['injured'])}" in facts
    opener = next(b for b in at.button if b.key == f"map_crash_spot_{int(spot['id'])}")
    opener.click().run()
    assert not at.exception, at.exception
    assert at.session_state["map_selected"] == ("blackspot", int(spot["id"]))
    assert any("Vì sao" in m.value for m in at.markdown)

    # a click read against another packing (the map was drawn from other data since): nothing chosen, said so
    stale = AppTest.from_string(_CLICK_SCRIPT.format(row=row, digest="0123456789ab"), default_timeout=60)
    stale.run()
    assert not stale.exception, stale.exception
    assert "map_selected" not in stale.session_state or stale.session_state["map_selected"] is None
    assert any("vẽ lại" in i.value for i in stale.info)


def test_a_chosen_crash_filtered_out_is_said_calmly_and_others_at_its_place_can_be_opened(demo_url):
    """From the probe: a crash chosen on the map, then a filter that leaves it out, showed a red "not found";
    and the others at the same place (the police often log an intersection's point) could not be reached."""
    store = Store(demo_url)
    crashes = store.crashes_frame()
    crowded = crashes.groupby(["lon", "lat"])["id"].transform("size")
    first = crashes.loc[crowded.gt(1)].sort_values("id").iloc[0]
    others = crashes.loc[
        crashes["lon"].eq(first["lon"]) & crashes["lat"].eq(first["lat"]) & crashes["id"].ne(first["id"])
    ]
    at = run("map.py")
    at.session_state["map_selected"] = ("crash", int(first["id"]))
    at.run()
    assert not at.exception, at.exception
    box = at.selectbox(key=f"map_same_place_{int(first['id'])}")
    # the options read "#id · date · severity", one per other crash at the place
    assert {int(o.split(" · ")[0].lstrip("#")) for o in box.options[1:]} == {int(i) for i in others["id"]}
    box.set_value(int(others["id"].iloc[0])).run()
    assert not at.exception, at.exception
    assert at.session_state["map_selected"] == ("crash", int(others["id"].iloc[0]))
    # a road filter that leaves the chosen crash out: a calm line, nothing chosen, no error
    road = next(r for r in crashes["road_code"].dropna().unique() if r != first["road_code"])
    from services.filters import Filters

    at.session_state["filters"] = Filters(roads=(road,))
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    assert any("không nằm trong bộ lọc" in i.value for i in at.info)
    assert "map_selected" not in at.session_state


def test_the_map_says_how_many_crashes_it_cannot_draw(demo_url, monkeypatch):
    """From the probe: crashes without coordinates were counted in the caption and silently not drawn."""
    import numpy as np

    import app_pages.common as common

    real = common.load_crashes

    def some_unplaced(url, **_):
        frame = real(url)  # (a copy, whether the page asks for the shared frame or not)
        frame.loc[frame.index[:3], ["lon", "lat"]] = np.nan  # three crashes known by road and chainage only
        return frame

    at = run("map.py")
    assert not [c.value for c in at.caption if "không có tọa độ" in c.value]
    monkeypatch.setattr(common, "load_crashes", some_unplaced)
    at = run("map.py")
    assert not at.exception, at.exception
    assert [c.value for c in at.caption if "không có tọa độ" in c.value] == [
        "3 vụ không có tọa độ nên không vẽ trên bản đồ"
    ]
