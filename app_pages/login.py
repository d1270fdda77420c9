"""Sign-in, sign-out and the session time-out, drawn by app.py."""
from __future__ import annotations

from datetime import datetime

import streamlit as st

from errors import AuthError
from app_pages.common import accounts_exist, base_store, tr, url
from services.auth import authenticate, expired


def require_login(lang: str) -> None:
    """Stop the page until a valid user is signed in (when accounts exist)."""
    vi = lang == "vi"
    if not accounts_exist(url()):
        st.session_state.pop("principal", None)
        with st.sidebar:
            st.caption("Chưa có tài khoản: chế độ mở. Tạo quản trị: `python cli.py user add TEN --role admin`"
                       if vi else "No accounts yet: open mode. Create an admin: `python cli.py user add NAME --role admin`")
        return
    p = st.session_state.get("principal")
    if p is not None and expired(st.session_state.get("last_seen")):
        st.session_state.pop("principal", None)
        st.session_state["login_note"] = ("Phiên làm việc đã hết hạn; hãy đăng nhập lại" if vi else
                                          "Your session expired; sign in again")
        p = None
    if p is None:
        st.title(tr("Đăng nhập"))
        if note := st.session_state.pop("login_note", None):
            st.warning(note)
        with st.form("login"):
            name = st.text_input(tr("Tên đăng nhập"), key="login_user")
            pw = st.text_input(tr("Mật khẩu"), type="password", key="login_password")
            if st.form_submit_button(tr("Đăng nhập"), type="primary"):
                try:
                    st.session_state["principal"] = authenticate(base_store(), name, pw)
                except AuthError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["last_seen"] = datetime.now()
                    st.rerun()
        st.stop()
    st.session_state["last_seen"] = datetime.now()
    with st.sidebar:
        c1, c2 = st.columns([3, 2])
        c1.caption(f"👤 **{p.username}** · {p.role.label(lang)}" + (f" · {p.commune}" if p.commune else ""))
        if c2.button(tr("Đăng xuất"), key="logout"):
            st.session_state.pop("principal", None)
            st.rerun()
