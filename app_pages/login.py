"""Sign-in, sign-out and the session, drawn by app.py.

A signed-in browser holds a cookie with a random session token; the store
keeps only its SHA-256 (``services.auth``). So a reload (F5) or a new tab of
the same browser stays signed in until sign-out, the idle time-out
(``BLACKSPOT_SESSION_TIMEOUT_MIN``) or the session's end (12 hours). The
session is checked against the store on every run: sign-out in one tab,
or an admin disabling the account, ends it everywhere. Open mode (no
accounts yet) ends on the first run after the first account exists.
"""

from __future__ import annotations

import json
from datetime import datetime

import streamlit as st

from app_pages.common import base_store, md_text, show_error, tr
from errors import AuthError
from i18n import t
from models.permissions import Principal
from services.auth import SESSION_MAX_HOURS, authenticate, end_session, resume_session, start_session

COOKIE = "blackspot_session"


def accounts_exist() -> bool:
    """Asked on every run (one count of a small table): open mode ends at once."""
    return base_store().user_count() > 0


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser context (AppTest, bare mode)
        return None
    return value if isinstance(value, str) and value else None


def current_principal(lang: str) -> tuple[Principal | None, bool]:
    """The signed-in user of this browser, and whether a sign-in is needed.

    Returns ``(None, False)`` in open mode."""
    if not accounts_exist():
        st.session_state.pop("principal", None)
        return None, False
    store = base_store()
    token = st.session_state.get("session_token")
    if token is not None:
        p = resume_session(store, token)
        if p is None:
            _forget(note=t("Phiên làm việc đã hết hạn; hãy đăng nhập lại", lang))
            return None, True
        st.session_state["principal"] = p  # a changed role or commune applies at once
        return p, False
    st.session_state.pop("principal", None)  # a principal without a session is not trusted
    cookie = _cookie_token()
    if cookie and not st.session_state.get("cookie_cleared"):
        p = resume_session(store, cookie)
        if p is not None:
            st.session_state["principal"], st.session_state["session_token"] = p, cookie
            st.session_state["cookie_written"] = cookie
            return p, False
    return None, True


def _forget(*, note: str | None = None) -> None:
    for k in ("principal", "session_token"):
        st.session_state.pop(k, None)
    st.session_state["cookie_cleared"] = True
    if note:
        st.session_state["login_note"] = note


def login_form(lang: str) -> None:
    """The sign-in form; stops the run. The page asked for (the URL) opens
    after signing in."""
    st.title(tr("Đăng nhập"))
    _sync_cookie()
    if note := st.session_state.pop("login_note", None):
        st.warning(note)
    with st.form("login"):
        name = st.text_input(tr("Tên đăng nhập"), key="login_user")
        pw = st.text_input(tr("Mật khẩu"), type="password", key="login_password")
        if st.form_submit_button(tr("Đăng nhập"), type="primary"):
            try:
                p = authenticate(base_store(), name, pw)
            except AuthError as exc:
                show_error(exc)
            else:
                st.session_state["principal"] = p
                st.session_state["session_token"] = start_session(base_store(), p)
                st.session_state["last_seen"] = datetime.now()
                st.session_state.pop("cookie_cleared", None)
                st.session_state.pop("login_password", None)
                st.rerun()
    st.stop()


def account_box(p: Principal, lang: str) -> None:
    """Who is signed in, and the sign-out button (sidebar)."""
    _sync_cookie()
    c1, c2 = st.columns([3, 2])
    c1.caption(
        f"👤 **{md_text(p.username)}** · {p.role.label(lang)}" + (f" · {md_text(p.commune)}" if p.commune else "")
    )
    if c2.button(tr("Đăng xuất"), key="logout"):
        end_session(base_store(), st.session_state.get("session_token"))
        _forget()
        st.rerun()


def _sync_cookie() -> None:
    """Write the session cookie once per session token, or clear it after a
    sign-out (the token is already ended in the store either way)."""
    token = st.session_state.get("session_token")
    if token and st.session_state.get("cookie_written") != token:
        st.session_state["cookie_written"] = token
        _cookie_script(f"{COOKIE}={token}; Path=/; Max-Age={SESSION_MAX_HOURS * 3600}; SameSite=Strict")
    elif not token and st.session_state.get("cookie_cleared") and st.session_state.get("cookie_written"):
        st.session_state.pop("cookie_written", None)
        _cookie_script(f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict")


def _cookie_script(cookie: str) -> None:
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    st.html(f"<script>document.cookie = {json.dumps(cookie)} + {secure};</script>", unsafe_allow_javascript=True)
