"""Kế hoạch và chỉ tiêu / Plans and targets: the three criteria year on
year, progress by section and agency, importing or entering a plan, and the
agency list."""
from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from errors import BlackspotError
from i18n import t
from models.enums import AdminLevel
from app_pages.common import (current_user, filters, get_store, invalidate, lang, load_agencies, load_crashes,
                          show_error, url)
from services.filters import Filters, filter_crashes
from services.plan_parser import PlanDraft, PlanSectionDraft, parse_plan, read_plan_text
from services.plans import monthly, plan_band, progress, progress_summary, secondary_aims, target_table

L = lang()
vi = L == "vi"
st.title(t("plans", L))
if msg := st.session_state.pop("flash", None):
    st.success(msg)
store = get_store()
plans = store.plans_frame()
tab_targets, tab_progress, tab_import, tab_agencies = st.tabs([
    "Chỉ tiêu" if vi else "Targets", "Tiến độ theo mục, cơ quan" if vi else "Progress",
    "Nhập kế hoạch" if vi else "Add a plan", "Cơ quan" if vi else "Agencies"])

plan_ids = plans["id"].tolist() if len(plans) else []
plan_label = {int(r["id"]): f"{r['number'] or ''} · {r['title'][:80]}" for r in plans.to_dict("records")} \
    if len(plans) else {}

with tab_targets:
    f = filters()
    crashes = filter_crashes(load_crashes(url()), Filters(communes=f.communes, roads=f.roads, vehicle=f.vehicle,
                                                          alcohol=f.alcohol, severities=f.severities))
    c = st.columns([3, 2, 2])
    pid = c[0].selectbox("Kế hoạch" if vi else "Plan", [None] + plan_ids, key="target_plan",
                         format_func=lambda i: ("— (năm dương lịch / calendar year)" if i is None else plan_label[i]))
    if pid is not None:
        p = plans.set_index("id").loc[pid]
        p_from = p["period_from"] or date(date.today().year, 1, 1)
        p_to = p["period_to"] or date(pd.Timestamp(p_from).year, 12, 31)
        lo, hi, from_plan = plan_band(p["targets"])
    else:
        years = sorted(crashes["occurred_at"].dt.year.dropna().unique().astype(int)) or [date.today().year]
        y = c[1].selectbox("Năm" if vi else "Year", years[::-1], key="target_year")
        p_from, p_to = date(y, 1, 1), date(y, 12, 31)
        lo, hi, from_plan = plan_band(None)
    c[2].caption(f"{'Kỳ' if vi else 'Period'}: {pd.Timestamp(p_from):%d/%m/%Y} – {pd.Timestamp(p_to):%d/%m/%Y}  \n"
                 f"{'Chỉ tiêu' if vi else 'Target'}: -{lo:g} % … -{hi:g} % "
                 + ("(theo kế hoạch / from the plan)" if from_plan else "(mặc định / default)"))
    table = target_table(crashes, period_from=p_from, period_to=p_to, band=(lo, hi), lang=L)
    total = table.loc[table["scope"] == table["scope"].iloc[0]]
    cols = st.columns(3)
    for col, r in zip(cols, total.to_dict("records")):
        mark = "✅ " + ("Đạt" if vi else "On track") if r["status"] == "on_track" else "❌ " + ("Chưa đạt" if vi else "Off track")
        col.metric(r["criterion_label"], r["current"],
                   None if r["change_pct"] is None else f"{r['change_pct']:+.1f} %", delta_color="inverse",
                   help=f"{'Cùng kỳ năm trước' if vi else 'Same period last year'}: {r['previous']}")
        col.markdown(mark)
    st.markdown("**" + ("Theo xã/phường" if vi else "By commune") + "**")
    wide = table.pivot_table(index="scope", columns="criterion_label", values=["previous", "current", "change_pct"],
                             aggfunc="first", sort=False)
    wide.columns = [f"{b} – {dict(previous='trước', current='nay', change_pct='%').get(a, a) if vi else a}"
                    for a, b in wide.columns]
    st.dataframe(wide, width="stretch")
    st.markdown("**" + ("Mục tiêu khác" if vi else "Other aims") + "**")
    aims = secondary_aims(crashes, period_from=p_from, period_to=p_to, lang=L)
    aims["status"] = aims["status"].map({"on_track": "✅", "off_track": "❌"})
    st.dataframe(aims.drop(columns=["aim"]), hide_index=True, width="stretch")
    mon = monthly(crashes, year=pd.Timestamp(p_to).year)
    crit = st.radio("Biểu đồ" if vi else "Chart", ["crashes", "deaths", "injured"], horizontal=True,
                    format_func=lambda k: t(k, L), key="target_chart")
    mon["year"] = mon["year"].astype(str)
    st.altair_chart(alt.Chart(mon).mark_bar().encode(
        x=alt.X("month:O", title="Tháng" if vi else "Month"), xOffset="year:N",
        y=alt.Y(f"{crit}:Q", title=t(crit, L)), color=alt.Color("year:N", title="Năm" if vi else "Year"),
        tooltip=["year", "month", crit]), width="stretch")

with tab_progress:
    pid2 = st.selectbox("Kế hoạch" if vi else "Plan", [None] + plan_ids, key="progress_plan",
                        format_func=lambda i: "— (tất cả / all)" if i is None else plan_label[i])
    prog = progress(store, plan_id=pid2, lang=L)
    if prog.empty:
        st.info("Chưa có mục nào được gắn với kế hoạch. Gắn ở bảng chi tiết của điểm đen, vụ lấn chiếm, công trình."
                if vi else "No item is linked to a plan yet. Link them from an item's detail panel.")
    else:
        c1, c2 = st.columns(2)
        c1.markdown("**" + ("Theo mục kế hoạch" if vi else "By plan section") + "**")
        c1.dataframe(progress_summary(prog, "section_code"), hide_index=True, width="stretch")
        c2.markdown("**" + ("Theo cơ quan chủ trì" if vi else "By lead agency") + "**")
        c2.dataframe(progress_summary(prog, "lead_agency"), hide_index=True, width="stretch")
        st.dataframe(prog, hide_index=True, width="stretch")

with tab_import:
    up = st.file_uploader("Tệp kế hoạch (.docx, .md, .txt)" if vi else "Plan file (.docx, .md, .txt)",
                          type=["docx", "md", "txt"], key="plan_upload")
    if st.button("Nhập tay (để trống)" if vi else "Enter by hand (blank)", key="plan_blank"):
        st.session_state["plan_draft"] = PlanDraft(sections=[PlanSectionDraft("II.1", "", "")])
    if up is not None and st.session_state.get("plan_draft_src") != (up.name, up.size):
        try:
            st.session_state["plan_draft"] = parse_plan(read_plan_text(up.getvalue(), up.name))
            st.session_state["plan_draft_src"] = (up.name, up.size)
        except BlackspotError as exc:
            show_error(exc)
    draft: PlanDraft | None = st.session_state.get("plan_draft")
    if draft is not None:
        for w in draft.warnings:
            st.warning(w)
        st.markdown("**" + ("Kiểm tra và sửa trước khi lưu" if vi else "Review and correct before saving") + "**")
        with st.form("plan_review"):
            c1, c2, c3 = st.columns(3)
            number = c1.text_input("Số" if vi else "Number", draft.number or "")
            issued = c2.date_input("Ngày ban hành" if vi else "Issued on", draft.issued_on, format="DD/MM/YYYY")
            place = c3.text_input("Địa danh" if vi else "Place", draft.place or "")
            issuer = st.text_input("Cơ quan ban hành" if vi else "Issuing body", draft.issuer or "")
            title = st.text_input("Tên kế hoạch" if vi else "Title", draft.title or "")
            c4, c5, c6, c7 = st.columns(4)
            p_from = c4.date_input("Từ ngày" if vi else "From", draft.period_from, format="DD/MM/YYYY")
            p_to = c5.date_input("Đến ngày" if vi else "To", draft.period_to, format="DD/MM/YYYY")
            three = next((x for x in draft.targets if x.get("code") == "three_criteria"), {})
            lo = c6.number_input("Giảm tối thiểu %" if vi else "Min cut %", 0.0, 100.0, float(three.get("min_pct") or 5))
            hi = c7.number_input("Giảm tối đa %" if vi else "Max cut %", 0.0, 100.0, float(three.get("max_pct") or 10))
            secs = st.data_editor(pd.DataFrame([{"code": s.code, "title": s.title, "text": s.text}
                                                for s in draft.sections]), num_rows="dynamic", width="stretch",
                                  key="plan_sections_editor")
            recips = st.text_area("Nơi nhận (mỗi dòng một nơi)" if vi else "Recipients (one per line)",
                                  "\n".join(draft.recipients))
            c8, c9 = st.columns(2)
            signer = c8.text_input("Người ký" if vi else "Signer", draft.signer or "")
            standing = c9.text_input("Cơ quan thường trực" if vi else "Standing body", draft.standing_body or "")
            if st.form_submit_button("Lưu kế hoạch" if vi else "Save the plan", type="primary"):
                targets = [x for x in draft.targets if x.get("code") != "three_criteria"]
                targets.insert(0, {**three, "code": "three_criteria", "criteria": ["crashes", "deaths", "injured"],
                                   "min_pct": lo, "max_pct": hi})
                final = PlanDraft(number=number or None, issued_on=issued, issuer=issuer or None, place=place or None,
                                  title=title, period_from=p_from, period_to=p_to,
                                  sections=[PlanSectionDraft(str(r["code"]), str(r["title"] or ""), str(r["text"] or ""))
                                            for r in secs.to_dict("records") if str(r.get("code") or "").strip()],
                                  targets=targets, recipients=[x for x in recips.split("\n") if x.strip()],
                                  signer=signer or None, standing_body=standing or None)
                try:
                    new_id = store.save_plan(final, user=current_user())
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    invalidate()
                    st.session_state.pop("plan_draft", None)
                    st.session_state["flash"] = f"Đã lưu kế hoạch #{new_id} / Plan #{new_id} saved"
                    st.rerun()

with tab_agencies:
    agencies = load_agencies(url())
    levels = {lv.value: lv.label(L) for lv in AdminLevel}
    if len(agencies):
        names = dict(zip(agencies["id"], agencies["name"]))
        st.dataframe(pd.DataFrame({
            "ID": agencies["id"], "Tên" if vi else "Name": agencies["name"],
            "Viết tắt" if vi else "Short": agencies["short_name"], "Cấp" if vi else "Level": agencies["level"].map(
                lambda v: levels.get(v, "") if v else ""),
            "Trực thuộc" if vi else "Parent": agencies["parent_id"].map(names),
            "Thường trực" if vi else "Standing body": agencies["is_standing_body"]}), hide_index=True, width="stretch")
    else:
        names = {}
    with st.form("agency_add", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
        name = c1.text_input("Tên cơ quan" if vi else "Agency name")
        short = c2.text_input("Viết tắt" if vi else "Short name")
        level = c3.selectbox("Cấp" if vi else "Level", [None] + list(levels), format_func=lambda v: levels.get(v, "—"))
        parent = c4.selectbox("Trực thuộc" if vi else "Parent", [None] + list(names), format_func=lambda v: names.get(v, "—"))
        standing = st.checkbox("Cơ quan thường trực Ban ATGT" if vi else "Standing body of the committee")
        if st.form_submit_button("Thêm cơ quan" if vi else "Add agency"):
            try:
                store.add_agency(name=name, short_name=short or None, level=AdminLevel(level) if level else None,
                                 parent_id=parent, is_standing_body=standing, user=current_user())
            except BlackspotError as exc:
                show_error(exc)
            else:
                invalidate()
                st.session_state["flash"] = "Đã thêm cơ quan / Agency added"
                st.rerun()
