"""Each page rendered with Streamlit's AppTest on a small demo store."""

from __future__ import annotations


from tests.app_pages.conftest import run


def test_home_shows_figures_and_the_simulated_label(demo_url):
    at = run("home.py")
    assert at.title[0].value == "Quản lý điểm đen tai nạn giao thông"
    from models.store import Store

    metrics = {m.label: m.value for m in at.metric}
    n = Store(demo_url).crash_count()
    assert 600 < n <= 688  # 288 simulated on QL24 + up to 400 Hong Kong rows that validate
    assert metrics["Số vụ"] == str(n)
    assert int(metrics["Điểm đen"]) > 0
    assert any("mô phỏng" in c.value for c in at.caption)


def test_import_page_renders_with_batches(demo_url):
    at = run("import_data.py")
    assert at.title[0].value == "Nhập dữ liệu"
    assert len(at.dataframe) == 1  # the batch list
    assert at.selectbox(key="undo_batch").options


def test_blackspots_page_lists_spots_and_explains_why(demo_url):
    at = run("blackspots.py")
    assert at.title[0].value == "Điểm đen và điểm tiềm ẩn"
    table = at.dataframe[0].value
    assert len(table) > 0 and "Tiêu chí" in table.columns
    assert any("Vì sao:" in m.value for m in at.markdown)


def test_status_change_from_the_page_is_saved(demo_url):
    from models.store import Store

    at = run("blackspots.py")
    sid = at.selectbox(key="spot_detail").value
    at.selectbox(key="status_new").set_value("confirmed")
    at.text_input[0].input("đã khảo sát")
    [b for b in at.button if "Lưu" in b.label][0].click().run()
    assert not at.exception
    spot = Store(demo_url).get_blackspot(int(sid))
    assert spot.status.value == "confirmed" and "đã khảo sát" in spot.notes


def test_undo_from_the_page_removes_the_batch(demo_url):
    from models.store import Store

    before = Store(demo_url).crash_count()
    at = run("import_data.py")
    undo = at.selectbox(key="undo_batch")
    batch = undo.options[0]
    undo.set_value(batch)
    [b for b in at.button if "Hoàn tác" in b.label][0].click().run()
    assert not at.exception
    assert Store(demo_url).crash_count() < before
