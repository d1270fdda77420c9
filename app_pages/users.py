"""Tài khoản / Accounts (admins): users and roles, and restoring deleted items."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from errors import BlackspotError
from app_pages.common import (
    current_user,
    get_store,
    invalidate,
    lang,
    load_boundaries,
    load_crashes,
    show_error,
    show_flash,
    tr,
    url,
)
from i18n import pick
from models.enums import Role
from services.auth import add_user, update_user
from services.communes import commune_choices
from services.items import restore_item
from services.organisation import LEVELS, Organisation, load_organisation, save_organisation

L = lang()
st.title(tr("Tài khoản"))
show_flash()
store = get_store()
roles = {r.value: r.label(L) for r in Role}
users = store.users_frame()


def commune_input(label: str, current: str | None, key: str) -> str | None:
    choices = commune_choices(load_boundaries(url()), load_crashes(url()))
    if not choices:
        return st.text_input(label, current or "", key=key) or None
    options = [""] + choices + ([current] if current and current not in choices else [])
    return (
        st.selectbox(
            label,
            options,
            index=options.index(current) if current in options else 0,
            key=key,
            format_func=lambda v: v or "—",
        )
        or None
    )


if len(users):
    st.dataframe(
        pd.DataFrame(
            {
                "ID": users["id"],
                tr("Tên đăng nhập"): users["username"],
                tr("Họ tên"): users["full_name"],
                tr("Vai trò"): users["role"].map(roles),
                tr("Xã"): users["commune"],
                tr("Hoạt động"): users["active"],
            }
        ),
        hide_index=True,
        width="stretch",
    )

tab_add, tab_edit, tab_org, tab_deleted = st.tabs(
    [tr("Thêm tài khoản"), tr("Sửa tài khoản"), tr("Cơ quan"), tr("Mục đã xóa")]
)
with tab_org:
    org = load_organisation(store)
    with st.form("org"):
        name = st.text_input(tr("Tên Ban (vd Ban An toàn giao thông xã …)"), org.name, key="org_name")
        c1, c2 = st.columns(2)
        level = c1.selectbox(
            tr("Cấp"),
            list(LEVELS),
            index=list(LEVELS).index(org.level),
            key="org_level",
            format_func=lambda k: pick(LEVELS[k], L),
        )
        parent = c2.text_input(tr("Cơ quan cấp trên trực tiếp (vd UBND xã …)"), org.parent, key="org_parent")
        c3, c4 = st.columns(2)
        place = c3.text_input(tr("Địa danh ghi ngày tháng"), org.place, key="org_place")
        receiver = c4.text_input(tr("Nơi nhận tờ trình (cơ quan cấp trên)"), org.receiver, key="org_receiver")
        c5, c6, c7 = st.columns([2, 2, 1])
        signer = c5.text_input(tr("Họ tên người ký"), org.signer, key="org_signer")
        title = c6.text_input(
            tr("Chức vụ người ký (vd KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN)"), org.signer_title, key="org_title"
        )
        symbol = c7.text_input(tr("Chữ viết tắt trong số văn bản"), org.symbol, key="org_symbol")
        st.caption(tr("Thẩm định kinh tế công trình (trang Công trình xử lý)"))
        c8, c9, c10 = st.columns(3)
        gdp = c8.number_input(
            tr("GDP bình quân đầu người (đồng)"),
            min_value=1.0,
            value=float(org.gdp_per_capita_vnd),
            step=1e6,
            format="%.0f",
            key="org_gdp",
        )
        gdp_year = c9.number_input(
            tr("Năm của số liệu GDP"),
            min_value=1990,
            max_value=2100,
            value=int(org.gdp_year),
            step=1,
            key="org_gdp_year",
        )
        rate = c10.number_input(
            tr("Tỷ lệ chiết khấu (%/năm)"),
            min_value=0.0,
            max_value=30.0,
            value=float(org.discount_rate_pct),
            step=0.5,
            key="org_rate",
        )
        if st.form_submit_button(tr("Lưu thông tin cơ quan"), type="primary"):
            try:
                save_organisation(
                    store,
                    Organisation(
                        name=name,
                        level=level,
                        parent=parent,
                        place=place,
                        receiver=receiver,
                        signer=signer,
                        signer_title=title,
                        symbol=symbol,
                        gdp_per_capita_vnd=gdp,
                        gdp_year=int(gdp_year),
                        discount_rate_pct=rate,
                    ),
                    user=current_user(),
                )
            except BlackspotError as exc:
                show_error(exc)
            else:
                st.session_state["flash"] = tr("Đã lưu")
                st.rerun()
with tab_add:
    with st.form("user_add"):  # kept filled when the save is refused: nothing typed is lost
        c1, c2 = st.columns(2)
        name = c1.text_input(tr("Tên đăng nhập"), key="ua_name")
        full = c2.text_input(tr("Họ tên"), key="ua_full")
        c3, c4 = st.columns(2)
        role = c3.selectbox(tr("Vai trò"), list(roles), format_func=roles.get, key="ua_role")
        with c4:
            commune = commune_input(tr("Xã (biên tập cấp xã)"), None, "ua_commune")
        pw = st.text_input(tr("Mật khẩu (≥ 8 ký tự)"), type="password", key="ua_pw")
        if st.form_submit_button(tr("Tạo"), type="primary"):
            try:
                add_user(
                    store,
                    username=name,
                    password=pw,
                    role=role,
                    commune=commune or None,
                    full_name=full or None,
                    user=current_user(),
                )
            except BlackspotError as exc:
                show_error(exc)
            else:
                invalidate()
                for k in ("ua_name", "ua_full", "ua_role", "ua_commune", "ua_pw"):
                    st.session_state.pop(k, None)
                st.session_state["flash"] = tr("Đã tạo tài khoản {name}").format(name=name)
                st.rerun()
with tab_edit:
    if len(users):
        uid = st.selectbox(
            tr("Tài khoản"),
            users["id"].tolist(),
            key="user_pick",
            format_func=lambda i: users.set_index("id").loc[i, "username"],
        )
        u = users.set_index("id").loc[uid]
        with st.form("user_edit"):
            role = st.selectbox(tr("Vai trò"), list(roles), index=list(roles).index(u["role"]), format_func=roles.get)
            commune = commune_input(tr("Xã"), u["commune"], "ue_commune")
            active = st.checkbox(tr("Hoạt động"), bool(u["active"]))
            pw = st.text_input(tr("Mật khẩu mới (để trống: giữ nguyên)"), type="password")
            if st.form_submit_button(tr("Lưu")):
                try:
                    update_user(
                        store,
                        int(uid),
                        expected_version=int(u["version"]),
                        role=role,
                        commune=commune or None,
                        active=active,
                        password=pw or None,
                        user=current_user(),
                    )
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    st.session_state["flash"] = tr("Đã lưu")
                    st.rerun()
with tab_deleted:
    deleted = store.deleted_items()
    if deleted.empty:
        st.info(tr("Không có mục nào bị xóa"))
    else:
        st.dataframe(deleted, hide_index=True, width="stretch")
        pick = st.selectbox(
            tr("Khôi phục"),
            list(zip(deleted["item_type"], deleted["item_id"])),
            format_func=lambda k: f"{k[0]} #{k[1]}",
            key="restore_pick",
        )
        if st.button(tr("Khôi phục"), key="restore_go"):
            try:
                restore_item(store, pick[0], int(pick[1]), user=current_user())
            except BlackspotError as exc:
                show_error(exc)
            else:
                invalidate()
                st.session_state["flash"] = tr("Đã khôi phục")
                st.rerun()
