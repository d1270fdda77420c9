"""Công trình xử lý / Remediation works: list, timeline, costs by agency,
and "did it work?" (before/after with the Empirical Bayes correction)."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

import settings

from errors import BlackspotError
from geo.chainage import format_chainage, parse_chainage
from geo.evaluation import EB_EXPLANATION_EN, EB_EXPLANATION_VI
from i18n import pick, t
from models.enums import WorkStatus, WorkType
from app_pages.common import (
    current_user,
    filters,
    get_store,
    number,
    invalidate,
    lang,
    load_agencies,
    load_crashes,
    load_roads,
    load_spots,
    load_works,
    show_error,
    show_flash,
    tr,
    url,
)
from app_pages.panel import list_and_panel
from services.filters import filter_spots
from services.appraisal import appraise_works, totals, within_budget
from services.documents import vnd
from services.works import (
    NEAR_M,
    add_work,
    filter_works,
    costs_by_agency,
    evaluate_work,
    nearest_spots,
    spot_choices,
    timeline,
)

L = lang()
st.title(t("works", L))
show_flash()
store = get_store()
works = filter_works(load_works(url()), filters(), spots=load_spots(url()), roads=load_roads(url()))
agencies = load_agencies(url())
names = dict(zip(agencies["id"], agencies["name"])) if len(agencies) else {}
status_labels = {s.value: s.label(L) for s in WorkStatus}
tab_list, tab_time, tab_cost, tab_eval, tab_appraise, tab_new = st.tabs(
    [
        tr("Danh sách"),
        tr("Tiến độ"),
        tr("Kinh phí"),
        tr("Có hiệu quả không?"),
        tr("Thẩm định kinh tế"),
        tr("Thêm công trình"),
    ]
)

with tab_list:
    if works.empty:
        st.info(
            tr("Chưa có công trình nào. Tạo từ một điểm đen (trang Bản đồ hoặc Điểm đen) hoặc ở thẻ Thêm công trình.")
        )
    else:
        table = pd.DataFrame(
            {
                "ID": works["id"],
                tr("Loại"): works["work_type"].map(lambda v: WorkType(v).label(L)),
                tr("Tên"): works["name"],
                tr("Điểm"): works["blackspot_id"],
                tr("Tuyến"): works["road_code"],
                tr("Lý trình"): works["from_m"].map(format_chainage),
                tr("Kinh phí (đồng)"): works["cost_vnd"],
                tr("Nguồn vốn"): works["funding_source"],
                tr("Chủ trì"): works["agency_id"].map(names),
                tr("Trạng thái"): works["status"].map(status_labels),
                tr("Bắt đầu"): pd.to_datetime(works["actual_start"]).dt.strftime("%d/%m/%Y").fillna("—"),
                tr("Hoàn thành"): pd.to_datetime(works["actual_end"]).dt.strftime("%d/%m/%Y").fillna("—"),
            }
        )
        list_and_panel("work", table, works["id"], basename="cong_trinh", sheet="Công trình", lang=L, key="works")

with tab_time:
    bars = timeline(works)
    if bars.empty:
        st.info("Chưa có ngày kế hoạch / thực tế / No dates yet")
    else:
        bars["status"] = bars["status"].map(status_labels)
        chart = (
            alt.Chart(bars)
            .mark_bar(height=14)
            .encode(
                x=alt.X("start:T", title=tr("Thời gian"), axis=alt.Axis(format="%m/%Y")),
                x2="end:T",
                y=alt.Y("label:N", title=None, sort="x"),
                color=alt.Color("status:N", title=tr("Trạng thái")),
                tooltip=[
                    "label",
                    "status",
                    alt.Tooltip("start:T", format="%d/%m/%Y"),
                    alt.Tooltip("end:T", format="%d/%m/%Y"),
                ],
            )
        )
        st.altair_chart(chart, width="stretch")

with tab_cost:
    costs = costs_by_agency(works, agencies)
    if costs.empty:
        st.info("Chưa có kinh phí / No costs yet")
    else:
        costs["status"] = costs["status"].map(status_labels)
        st.altair_chart(
            alt.Chart(costs)
            .mark_bar()
            .encode(
                y=alt.Y("agency:N", title=None),
                x=alt.X("cost_vnd:Q", title=tr("Kinh phí (đồng)")),
                color=alt.Color("status:N", title=tr("Trạng thái")),
                tooltip=["agency", "status", alt.Tooltip("cost_vnd:Q", format=",.0f"), "n_works"],
            ),
            width="stretch",
        )
        st.dataframe(
            costs.rename(
                columns={
                    "agency": tr("Chủ trì"),
                    "status": tr("Trạng thái"),
                    "cost_vnd": tr("Kinh phí (đồng)"),
                    "n_works": tr("Số công trình"),
                }
            ),
            hide_index=True,
            width="stretch",
        )

with tab_eval:
    done = works.loc[works["status"] == WorkStatus.DONE.value] if len(works) else works
    if done.empty:
        st.info(tr("Chưa có công trình hoàn thành"))
    else:
        wid = st.selectbox(
            tr("Công trình"),
            done["id"].tolist(),
            key="eval_pick",
            format_func=lambda i: f"#{i} {done.set_index('id').loc[i, 'name'] or ''}",
        )
        try:
            # worked out once per work, data version and day, for every session (it reads all crashes)
            ba = store.read_cached(f"evaluation:{int(wid)}:{date.today()}", lambda: evaluate_work(store, int(wid)))
        except BlackspotError as exc:
            show_error(exc)
        else:
            crashes_all = load_crashes(url())
            first_data = crashes_all["occurred_at"].min() if len(crashes_all) else ba.before_from
            last_data = crashes_all["occurred_at"].max() if len(crashes_all) else ba.before_to
            before_months = max(0, (min(ba.before_to, last_data) - max(ba.before_from, first_data)).days) / 30.4375
            side = pd.DataFrame(
                {
                    "": [t("crashes", L), t("deaths", L), t("injured", L)],
                    f"{tr('Trước')} ({ba.before_from:%d/%m/%Y} – {ba.before_to - pd.Timedelta(days=1):%d/%m/%Y}, "
                    f"{tr('có dữ liệu')} {before_months:.1f} {tr('tháng')})".replace(".", pick((",", "."), L)): [
                        ba.before[k] for k in ("crashes", "deaths", "injured")
                    ],
                    f"{tr('Sau')} ({ba.after_from:%d/%m/%Y} – {ba.after_to - pd.Timedelta(days=1):%d/%m/%Y}, "
                    f"{tr('có dữ liệu')} {ba.after_months_observed:.1f} {tr('tháng')})".replace(
                        ".", pick((",", "."), L)
                    ): [ba.after[k] for k in ("crashes", "deaths", "injured")],
                }
            )
            if ba.after_complete:  # a change is shown only when the after period is as long as the before
                side[tr("Thay đổi")] = [
                    ("—" if ba.change_pct[k] is None else f"{ba.change_pct[k]:+.0f} %")
                    for k in ("crashes", "deaths", "injured")
                ]
            st.dataframe(side, hide_index=True, width="stretch")
            if not ba.after_complete:
                st.warning(
                    tr(
                        "Chưa đủ {m} tháng sau khi hoàn thành: chưa kết luận được công trình có hiệu quả hay không."
                    ).format(m=settings.EVALUATION_MONTHS)
                    + (f" {ba.note}" if ba.note else "")
                )
            elif ba.eb_index is not None:
                st.markdown(
                    f"**{tr('Số vụ dự kiến nếu không làm')}:** "
                    f"{ba.eb_expected_after:.2f} · **{tr('Chỉ số hiệu quả')}:** "
                    f"{ba.eb_index:.2f} · {tr('xu hướng chung')} ×{ba.trend_ratio:.2f}"
                )
                if ba.eb_index < 1:
                    st.success(tr("Ít vụ hơn số dự kiến nếu không làm: công trình có hiệu quả."))
                else:
                    st.error(tr("Không ít vụ hơn số dự kiến nếu không làm: chưa thấy hiệu quả."))
            st.info(pick((EB_EXPLANATION_VI, EB_EXPLANATION_EN), L))

with tab_appraise:
    # worked out once per data version (the organisation's GDP and discount rate are in the store too)
    ap = store.read_cached("appraisal:not_started", lambda: appraise_works(store))
    a = ap.assumptions
    st.markdown(
        f"**{tr('GDP bình quân đầu người')} {a['gdp_year']}:** {vnd(a['gdp_per_capita_vnd'])} đ · "
        f"**{tr('Giá trị một sinh mạng (VSL)')}** ({a['vsl_gdp_multiple']:.0f} × GDP): {vnd(a['vsl_vnd'])} đ · "
        f"**{tr('Một người bị thương nặng')}** ({a['serious_injury_share'] * 100:.0f} % VSL): "
        f"{vnd(a['serious_injury_vnd'])} đ · **{tr('Tỷ lệ chiết khấu')}:** "
        f"{a['discount_rate'] * 100:.1f} %/{tr('năm')}".replace(".0 %", " %")
    )
    st.caption(
        tr(
            "Quy ước iRAP (McMahon & Dahdah 2008): VSL ≈ 70 × GDP bình quân đầu người, bị thương nặng ≈ 25 % "
            "VSL; mỗi người bị thương trong hồ sơ tính là bị thương nặng, thiệt hại tài sản theo số ghi nhận. "
            "Quản trị sửa GDP, năm và tỷ lệ chiết khấu ở trang Tài khoản › Cơ quan. Số mặc định:"
        )
        + f" {a['gdp_default_source']}."
    )
    with st.expander(tr("Hệ số giảm tai nạn (CMF) theo loại công trình, tuổi thọ và nguồn")):
        st.dataframe(
            pd.DataFrame(
                {
                    tr("Loại"): ap.cmf["work_type"].map(
                        lambda v: WorkType(v).label(L) if v in WorkType._value2member_map_ else v
                    ),
                    "CMF": ap.cmf["cmf"].map(lambda v: number(v, 2)),
                    tr("Tuổi thọ (năm)"): ap.cmf["life_years"],
                    tr("Áp dụng cho"): [
                        pick((v or e, e), L)
                        for v, e in zip(ap.cmf.get("target_vi", ap.cmf["target"]), ap.cmf["target"])
                    ],
                    tr("Nguồn"): ap.cmf["source"],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    if ap.table.empty:
        st.info(tr("Chưa có công trình đề xuất hoặc đã phê duyệt (chưa thi công) để thẩm định."))
    else:

        def appraisal_frame(t: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame(
                {
                    tr("Hạng"): t["rank"],
                    "ID": t["id"],
                    tr("Tên"): t["name"],
                    tr("Loại"): t["work_type"].map(lambda v: WorkType(v).label(L)),
                    tr("Điểm"): t["blackspot_id"],
                    # numbers as the user's language writes them (the table is ranked already)
                    "B/C": t["bcr"].map(lambda v: number(v, 1)),
                    tr("Kinh phí (đồng)"): t["cost_vnd"].map(number),
                    tr("Số vụ dự kiến/năm"): t["crashes_per_year"].map(lambda v: number(v, 2)),
                    tr("Số vụ tránh được/năm"): t["avoided_crashes"].map(lambda v: number(v, 2)),
                    tr("Lợi ích hiện giá (đồng)"): t["pv_benefit_vnd"].map(number),
                    "NPV": t["npv_vnd"].map(number),
                }
            )

        st.markdown(f"**{tr('Xếp hạng: an toàn nhiều nhất trên mỗi đồng (B/C)')}**")
        st.dataframe(appraisal_frame(ap.table), hide_index=True, width="stretch")
        st.caption(
            tr(
                "Hệ số giảm tai nạn được áp dụng cho mọi vụ tại điểm; với công trình chỉ tác động một phần các vụ "
                "(xem cột «Áp dụng cho» ở bảng hệ số: chiếu sáng, hộ lan…), lợi ích và B/C là cận trên. Dùng để "
                "so sánh thứ tự ưu tiên, không thay cho thẩm định dự án."
            )
        )
        for note in ap.notes:
            st.warning(note)
        budget = st.number_input(tr("Ngân sách (đồng)"), min_value=0.0, step=1e8, format="%.0f", key="appraisal_budget")
        if budget <= 0:
            st.info(tr("Nhập ngân sách để chọn các công trình tránh được nhiều thiệt hại nhất trong ngân sách đó."))
        else:
            sel = within_budget(ap, budget)
            tot = totals(sel)
            c1, c2, c3, c4 = st.columns(4)
            c1.metric(tr("Số công trình chọn"), tot["n_works"])
            c2.metric(tr("Kinh phí (đồng)"), vnd(tot["cost_vnd"]))
            c3.metric(tr("Lợi ích hiện giá (đồng)"), vnd(tot["pv_benefit_vnd"]))
            c4.metric(tr("Số vụ tránh được/năm"), number(tot["avoided_crashes"], 2))
            chosen = sel.table.loc[sel.table["selected"]]
            if chosen.empty:
                st.info(tr("Không công trình nào vừa ngân sách."))
            else:
                st.markdown(f"**{tr('Các công trình chọn trong ngân sách')}** (B/C {number(tot['bcr'], 1)})")
                st.dataframe(appraisal_frame(chosen), hide_index=True, width="stretch")
            if sel.selection is not None and sel.selection.note:
                st.caption(sel.selection.note)

with tab_new:
    # outside a form, so the spot nearest the road and chainage typed is offered before saving
    roads = load_roads(url())
    spots = filter_spots(load_spots(url()), filters())
    c1, c2, c3 = st.columns(3)
    wt = c1.selectbox(
        tr("Loại"), [w.value for w in WorkType], format_func=lambda v: WorkType(v).label(L), key="nw_type"
    )
    road = c2.selectbox(tr("Tuyến"), roads["code"].tolist() if len(roads) else [], key="nw_road")
    name = c3.text_input(tr("Tên"), key="nw_name")
    c4, c5 = st.columns(2)
    a = c4.text_input(tr("Từ lý trình (Km 105+500)"), key="nw_from")
    b = c5.text_input(tr("Đến lý trình"), key="nw_to")
    fa, fb = parse_chainage(a)[1] if a else None, parse_chainage(b or a)[1] if (b or a) else None
    near = nearest_spots(spots, road=road, from_m=fa, to_m=fb)
    labels = spot_choices(near, lang=L)
    spot_ids = list(labels)
    offer = 0
    if len(near) and pd.notna(near["gap_m"].iloc[0]) and near["gap_m"].iloc[0] <= NEAR_M:
        offer = 1  # the nearest spot within reach is offered; the user may choose another or none
    spot = st.selectbox(
        tr("Gắn với điểm đen / điểm tiềm ẩn"),
        spot_ids,
        index=offer,
        format_func=labels.get,
        key=f"nw_spot_{road}_{fa}_{fb}",
    )
    c6, c7, c8 = st.columns(3)
    cost = c6.number_input(tr("Kinh phí (đồng)"), min_value=0.0, step=1e6, format="%.0f", key="nw_cost")
    funding = c7.text_input(tr("Nguồn vốn"), key="nw_funding")
    lead = c8.selectbox(tr("Chủ trì"), [None] + list(names), format_func=lambda x: names.get(x, "—"), key="nw_lead")
    c9, c10 = st.columns(2)
    p_start = c9.date_input(tr("Dự kiến bắt đầu"), value=None, format="DD/MM/YYYY", key="nw_start")
    p_end = c10.date_input(tr("Dự kiến xong"), value=None, format="DD/MM/YYYY", key="nw_end")
    if st.button(tr("Thêm"), type="primary", key="nw_add"):
        if spot is None and (fa is None or pd.isna(fa) or fb is None or pd.isna(fb)):
            show_error("Lý trình không đọc được; viết như Km 105+500 / Unreadable chainage; write Km 105+500")
        else:
            where = (
                {}
                if spot is not None and (fa is None or pd.isna(fa))
                else dict(road_code=road, from_m=min(fa, fb), to_m=max(fa, fb))
            )
            try:
                wid = add_work(
                    store,
                    work_type=wt,
                    blackspot_id=spot,
                    name=name or None,
                    cost_vnd=cost or None,
                    funding_source=funding or None,
                    agency_id=lead,
                    planned_start=p_start,
                    planned_end=p_end,
                    user=current_user(),
                    **where,
                )
            except BlackspotError as exc:
                show_error(exc)
            else:
                invalidate()
                for k in [k for k in st.session_state if str(k).startswith("nw_")]:
                    del st.session_state[k]
                st.session_state["flash"] = tr("Đã thêm công trình #{w}").format(w=wid) + (
                    tr(", gắn với điểm #{s}").format(s=spot) if spot else ""
                )
                st.rerun()
