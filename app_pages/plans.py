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
from app_pages.common import (
    current_user,
    filters,
    get_store,
    invalidate,
    lang,
    load_agencies,
    load_crashes,
    show_error,
    show_flash,
    show_warning,
    tr,
    url,
)
from services.filters import Filters, filter_crashes
from services.plan_parser import PlanDraft, PlanSectionDraft, parse_plan, read_plan_text
from services.plans import (
    add_agency,
    monthly,
    plan_band,
    progress,
    progress_summary,
    save_plan,
    secondary_aims,
    target_table,
)

L = lang()
vi = L == "vi"
st.title(t("plans", L))
show_flash()
store = get_store()
plans = store.plans_frame()
tab_targets, tab_progress, tab_import, tab_agencies = st.tabs(
    [tr("Chỉ tiêu"), tr("Tiến độ theo mục, cơ quan"), tr("Nhập kế hoạch"), tr("Các cơ quan")]
)

plan_ids = plans["id"].tolist() if len(plans) else []
plan_label = (
    {int(r["id"]): f"{r['number'] or ''} · {r['title'][:80]}" for r in plans.to_dict("records")} if len(plans) else {}
)

with tab_targets:
    f = filters()
    crashes = filter_crashes(
        load_crashes(url()),
        Filters(
            communes=f.communes,
            roads=f.roads,
            vehicle=f.vehicle,
            alcohol=f.alcohol,
            severities=f.severities,
            area=f.area,
        ),
    )
    c = st.columns([3, 2, 2])
    pid = c[0].selectbox(
        tr("Kế hoạch"),
        [None] + plan_ids,
        key="target_plan",
        format_func=lambda i: "— (năm dương lịch / calendar year)" if i is None else plan_label[i],
    )
    if pid is not None:
        p = plans.set_index("id").loc[pid]
        p_from = p["period_from"] or date(date.today().year, 1, 1)
        p_to = p["period_to"] or date(pd.Timestamp(p_from).year, 12, 31)
        lo, hi, from_plan = plan_band(p["targets"])
    else:
        years = sorted(crashes["occurred_at"].dt.year.dropna().unique().astype(int)) or [date.today().year]
        y = c[1].selectbox(tr("Năm"), years[::-1], key="target_year")
        p_from, p_to = date(y, 1, 1), date(y, 12, 31)
        lo, hi, from_plan = plan_band(None)
    c[2].caption(
        f"{tr('Kỳ')}: {pd.Timestamp(p_from):%d/%m/%Y} – {pd.Timestamp(p_to):%d/%m/%Y}  \n"
        f"{tr('Chỉ tiêu')}: -{lo:g} % … -{hi:g} % "
        + ("(theo kế hoạch / from the plan)" if from_plan else "(mặc định / default)")
    )
    table = target_table(crashes, period_from=p_from, period_to=p_to, band=(lo, hi), lang=L)
    # the comparison windows travel on the frame; taken off it, so the tables shown carry no Timestamps in attrs
    w = table.attrs.pop("windows")
    st.info(
        tr("So sánh cùng kỳ: {a} – {b} với {c} – {d}").format(
            a=f"{w['from']:%d/%m/%Y}",
            b=f"{w['to']:%d/%m/%Y}",
            c=f"{w['baseline_from']:%d/%m/%Y}",
            d=f"{w['baseline_to']:%d/%m/%Y}",
        )
        + (
            "  \n" + tr("Dữ liệu đến {d}; kỳ được tính đến ngày đó.").format(d=f"{w['last_data']:%d/%m/%Y}")
            if w["cut"] and pd.notna(w["last_data"])
            else ""
        )
        + ("" if w["has_baseline"] else "  \n" + tr("Chưa có dữ liệu cùng kỳ năm trước: không đánh giá được."))
    )
    total = table.loc[table["scope"] == table["scope"].iloc[0]]
    cols = st.columns(3)
    marks = {
        "on_track": f":green[**{tr('Đạt')}**]",
        "off_track": f":red[**{tr('Chưa đạt')}**]",
        "no_data": f":gray[**{tr('Chưa có dữ liệu')}**]",
    }
    for col, r in zip(cols, total.to_dict("records")):
        mark = marks[r["status"]]
        col.metric(
            r["criterion_label"],
            r["current"],
            None if r["change_pct"] is None else f"{r['change_pct']:+.1f} %",
            delta_color="inverse",
            help=f"{tr('Cùng kỳ năm trước')}: {r['previous']}",
        )
        col.markdown(mark)
    st.markdown("**" + (tr("Theo xã/phường")) + "**")
    wide = table.pivot_table(
        index="scope",
        columns="criterion_label",
        values=["previous", "current", "change_pct"],
        aggfunc="first",
        sort=False,
    )
    words = {"previous": (tr("Cùng kỳ năm trước"),), "current": (tr("Kỳ này"),), "change_pct": ("%",)}
    wide.columns = [f"{b} – {words[a][0]}" for a, b in wide.columns]
    wide = wide.map(lambda v: "—" if pd.isna(v) else f"{v:g}")  # text: "—" where there is no figure
    wide.index.name = tr("Địa bàn")
    st.dataframe(wide, width="stretch")
    st.markdown("**" + (tr("Mục tiêu khác")) + "**")
    aims = secondary_aims(crashes, period_from=p_from, period_to=p_to, lang=L)
    aims.attrs.clear()  # its windows are the targets' (shown above)
    aims["status"] = aims["status"].map(
        {"on_track": tr("Đạt"), "off_track": tr("Chưa đạt"), "no_data": tr("Chưa có dữ liệu")}
    )
    aims["change_pct"] = aims["change_pct"].map(lambda v: "—" if v is None or pd.isna(v) else f"{v:+.1f}")
    aims[["previous", "current"]] = aims[["previous", "current"]].map(
        lambda v: "—" if v is None or pd.isna(v) else f"{v:g}"
    )
    st.dataframe(
        aims.drop(columns=["aim"]).rename(
            columns={
                "label": tr("Mục tiêu"),
                "previous": tr("Cùng kỳ năm trước"),
                "current": tr("Kỳ này"),
                "change_pct": tr("Tăng/giảm %"),
                "status": tr("Đánh giá"),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    mon = monthly(crashes, year=pd.Timestamp(p_to).year)
    crit = st.radio(
        tr("Biểu đồ"),
        ["crashes", "deaths", "injured"],
        horizontal=True,
        format_func=lambda k: t(k, L),
        key="target_chart",
    )
    mon["year"] = mon["year"].astype(str)
    st.altair_chart(
        alt.Chart(mon)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=tr("Tháng")),
            xOffset="year:N",
            y=alt.Y(f"{crit}:Q", title=t(crit, L)),
            color=alt.Color("year:N", title=tr("Năm")),
            tooltip=["year", "month", crit],
        ),
        width="stretch",
    )

with tab_progress:
    pid2 = st.selectbox(
        tr("Kế hoạch"),
        [None] + plan_ids,
        key="progress_plan",
        format_func=lambda i: "— (tất cả / all)" if i is None else plan_label[i],
    )
    prog = progress(store, plan_id=pid2, lang=L)
    if prog.empty:
        st.info(
            tr("Chưa có mục nào được gắn với kế hoạch. Gắn ở bảng chi tiết của điểm đen, vụ lấn chiếm, công trình.")
        )
    else:
        c1, c2 = st.columns(2)
        c1.markdown("**" + (tr("Theo mục kế hoạch")) + "**")
        heads = {
            "section_code": tr("Mục"),
            "section_title": tr("Nội dung mục"),
            "lead_agency": tr("Cơ quan chủ trì"),
            "cooperating": tr("Cơ quan phối hợp"),
            "item_type": tr("Loại"),
            "item_id": "ID",
            "item": tr("Điểm, vụ việc, công trình"),
            "status": tr("Trạng thái"),
            "done": tr("Đã xong"),
            "items": tr("Số mục"),
            "done_pct": tr("Đã xong %"),
        }
        c1.dataframe(progress_summary(prog, "section_code").rename(columns=heads), hide_index=True, width="stretch")
        c2.markdown("**" + (tr("Theo cơ quan chủ trì")) + "**")
        c2.dataframe(progress_summary(prog, "lead_agency").rename(columns=heads), hide_index=True, width="stretch")
        st.dataframe(
            prog.assign(cooperating=prog["cooperating"].fillna(""), lead_agency=prog["lead_agency"].fillna("—")).rename(
                columns=heads
            ),
            hide_index=True,
            width="stretch",
        )

with tab_import:
    up = st.file_uploader(tr("Tệp kế hoạch (.docx, .md, .txt)"), type=["docx", "md", "txt"], key="plan_upload")
    if st.button(tr("Nhập tay (để trống)"), key="plan_blank"):
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
            show_warning(w)
        st.markdown("**" + (tr("Kiểm tra và sửa trước khi lưu")) + "**")
        with st.form("plan_review"):
            c1, c2, c3 = st.columns(3)
            number = c1.text_input(tr("Số"), draft.number or "")
            issued = c2.date_input(tr("Ngày ban hành"), draft.issued_on, format="DD/MM/YYYY")
            place = c3.text_input(tr("Địa danh"), draft.place or "")
            issuer = st.text_input(tr("Cơ quan ban hành"), draft.issuer or "")
            title = st.text_input(tr("Tên kế hoạch"), draft.title or "")
            c4, c5, c6, c7 = st.columns(4)
            p_from = c4.date_input(tr("Từ ngày"), draft.period_from, format="DD/MM/YYYY")
            p_to = c5.date_input(tr("Đến ngày"), draft.period_to, format="DD/MM/YYYY")
            three = next((x for x in draft.targets if x.get("code") == "three_criteria"), {})
            # what the plan states, as stated (0 % is a target); empty when it states none: a band typed
            # here is the plan's, and one left empty is not made up (the targets then say "default")
            stated = {k: None if three.get(k) is None else float(three[k]) for k in ("min_pct", "max_pct")}
            lo = c6.number_input(tr("Giảm tối thiểu %"), 0.0, 100.0, stated["min_pct"], placeholder=tr("Không nêu"))
            hi = c7.number_input(tr("Giảm tối đa %"), 0.0, 100.0, stated["max_pct"], placeholder=tr("Không nêu"))
            if stated["min_pct"] is None:
                st.caption(
                    tr(
                        "Văn bản không nêu mức giảm số vụ, số người chết, số người bị thương: nhập nếu kế hoạch "
                        "có; để trống thì chỉ tiêu dùng mức mặc định và ghi rõ là mặc định."
                    )
                )
            secs = st.data_editor(
                pd.DataFrame([{"code": s.code, "title": s.title, "text": s.text} for s in draft.sections]),
                num_rows="dynamic",
                width="stretch",
                key="plan_sections_editor",
            )
            recips = st.text_area(tr("Nơi nhận (mỗi dòng một nơi)"), "\n".join(draft.recipients))
            c8, c9 = st.columns(2)
            signer = c8.text_input(tr("Người ký"), draft.signer or "")
            standing = c9.text_input(tr("Cơ quan thường trực"), draft.standing_body or "")
            if st.form_submit_button(tr("Lưu kế hoạch"), type="primary"):
                targets = [x for x in draft.targets if x.get("code") != "three_criteria"]
                if lo is not None or hi is not None or three:  # a band typed, or the plan's sentence kept
                    band = sorted(v for v in (lo, hi) if v is not None)
                    targets.insert(
                        0,
                        {
                            **three,
                            "code": "three_criteria",
                            "criteria": ["crashes", "deaths", "injured"],
                            "min_pct": band[0] if band else None,
                            "max_pct": band[-1] if band else None,
                        },
                    )
                final = PlanDraft(
                    number=number or None,
                    issued_on=issued,
                    issuer=issuer or None,
                    place=place or None,
                    title=title,
                    period_from=p_from,
                    period_to=p_to,
                    sections=[
                        PlanSectionDraft(str(r["code"]), str(r["title"] or ""), str(r["text"] or ""))
                        for r in secs.to_dict("records")
                        if str(r.get("code") or "").strip()
                    ],
                    targets=targets,
                    recipients=[x for x in recips.split("\n") if x.strip()],
                    signer=signer or None,
                    standing_body=standing or None,
                )
                try:
                    new_id = save_plan(store, final, user=current_user())
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    invalidate()
                    st.session_state.pop("plan_draft", None)
                    st.session_state["flash"] = tr("Đã lưu kế hoạch #{id}").format(id=new_id)
                    st.rerun()

with tab_agencies:
    agencies = load_agencies(url())
    levels = {lv.value: lv.label(L) for lv in AdminLevel}
    if len(agencies):
        names = dict(zip(agencies["id"], agencies["name"]))
        st.dataframe(
            pd.DataFrame(
                {
                    "ID": agencies["id"],
                    tr("Tên"): agencies["name"],
                    tr("Viết tắt"): agencies["short_name"].fillna(""),
                    tr("Cấp hành chính"): agencies["level"].map(lambda v: levels.get(v, "") if v else ""),
                    tr("Trực thuộc"): agencies["parent_id"].map(names).fillna(""),
                    tr("Thường trực"): agencies["is_standing_body"],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        names = {}
    with st.form("agency_add", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
        name = c1.text_input(tr("Tên cơ quan"))
        short = c2.text_input(tr("Viết tắt"))
        level = c3.selectbox(tr("Cấp hành chính"), [None] + list(levels), format_func=lambda v: levels.get(v, "—"))
        parent = c4.selectbox(tr("Trực thuộc"), [None] + list(names), format_func=lambda v: names.get(v, "—"))
        standing = st.checkbox(tr("Cơ quan thường trực Ban ATGT"))
        if st.form_submit_button(tr("Thêm cơ quan")):
            try:
                add_agency(
                    store,
                    name=name,
                    short_name=short or None,
                    level=AdminLevel(level) if level else None,
                    parent_id=parent,
                    is_standing_body=standing,
                    user=current_user(),
                )
            except BlackspotError as exc:
                show_error(exc)
            else:
                invalidate()
                st.session_state["flash"] = tr("Đã thêm cơ quan")
                st.rerun()
