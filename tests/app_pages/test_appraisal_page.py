"""Issue 19.1 on the works page: the economic appraisal's assumptions, the ranked list and the budget's choice."""

from __future__ import annotations

from models.store import Store
from tests.app_pages.conftest import run


def _num(text: str) -> float:
    """A number as the page writes it in Vietnamese (1.234,5)."""
    return float(text.replace(".", "").replace(",", "."))


def test_works_page_ranks_the_proposed_works_and_chooses_within_a_budget(demo_url):
    store = Store(demo_url)
    spots = store.blackspots_frame(kind="black_spot")["id"].astype(int).tolist()
    works = store.works_frame()
    demo = works.loc[works["status"].isin(["proposed", "approved"]), "id"].astype(int).tolist()  # the demo's own
    ids = [
        store.add_work(work_type=wt, blackspot_id=sid, name=f"Thử {wt}", cost_vnd=cost, user="demo")
        for (wt, cost), sid in zip([("junction", 500e6), ("guardrails", 250e6), ("signals", 900e6)], spots)
    ]
    at = run("works.py")
    assert "Thẩm định kinh tế" in [t.label for t in at.tabs]
    text = " ".join(m.value for m in at.markdown)
    assert "GDP bình quân đầu người 2024" in text and "114.000.000" in text and "Tỷ lệ chiết khấu" in text
    cmf = next(d.value for d in at.dataframe if "CMF" in d.value.columns)
    assert cmf["Nguồn"].str.len().gt(20).all()  # every factor with its source
    tables = lambda: [d.value for d in at.dataframe if "Hạng" in d.value.columns]  # noqa: E731
    ranked = tables()[0]
    assert sorted(ranked["ID"]) == sorted(ids + demo)
    assert (
        ranked["Hạng"].tolist() == list(range(1, len(ids + demo) + 1))
        and ranked["B/C"].map(_num).is_monotonic_decreasing
    )
    assert "," in ranked["B/C"].iloc[0] and "." in ranked["Kinh phí (đồng)"].iloc[0]  # 181,4 and 500.000.000
    assert len(tables()) == 1  # no budget yet: no choice
    at.number_input(key="appraisal_budget").set_value(800e6).run()
    assert not at.exception, at.exception
    ranked, chosen = tables()
    # within 800 million: the set of works with the most benefit, by brute force over the ranked table
    from itertools import combinations

    cost = dict(zip(ranked["ID"], ranked["Kinh phí (đồng)"].map(_num)))
    pv = dict(zip(ranked["ID"], ranked["Lợi ích hiện giá (đồng)"].map(_num)))
    best = max(
        (set(c) for k in range(len(cost) + 1) for c in combinations(cost, k) if sum(cost[i] for i in c) <= 800e6),
        key=lambda c: sum(pv[i] for i in c),
    )
    assert set(chosen["ID"]) == best
    assert ids[2] not in best  # the signals (900 million) never fit
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Số công trình chọn"] == str(len(best))
    assert metrics["Kinh phí (đồng)"] == f"{int(sum(cost[i] for i in best)):,}".replace(",", ".")


def test_admin_edits_the_gdp_figure_its_year_and_the_discount_rate(demo_url):
    """The figures behind the appraisal are the organisation's settings, edited on the Accounts page."""
    from services.appraisal import assumptions
    from services.organisation import load_organisation
    from tests.app_pages.test_planner_pages import _users_page_as_admin

    store, at = _users_page_as_admin(demo_url)
    at.number_input(key="org_gdp").set_value(125_500_000.0)
    at.number_input(key="org_gdp_year").set_value(2025)
    at.number_input(key="org_rate").set_value(12.0)
    next(b for b in at.button if b.label == "Lưu thông tin cơ quan").click().run()
    assert not at.exception, at.exception
    org = load_organisation(store)
    assert (org.gdp_per_capita_vnd, org.gdp_year, org.discount_rate_pct) == (125_500_000.0, 2025, 12.0)
    a = assumptions(store)
    assert a["vsl_vnd"] == 70 * 125_500_000.0 and a["discount_rate"] == 0.12
    works = run("works.py")
    text = " ".join(m.value for m in works.markdown)
    assert "GDP bình quân đầu người 2025" in text and "125.500.000" in text and "12 %" in text
