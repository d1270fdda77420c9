"""Streamlit entry: navigation and the sidebar shared by every page
(language and filters), drawn here once.

Run with ``make run`` (or ``streamlit run app.py``)."""

from __future__ import annotations

import streamlit as st

from i18n import t

st.set_page_config(page_title="Điểm đen TNGT / Black spots", page_icon="⚠️", layout="wide")

if "lang" not in st.session_state:
    st.session_state["lang"] = "vi"

with st.sidebar:
    choice = st.radio(
        t("language"),
        ["Tiếng Việt", "English"],
        horizontal=True,
        index=0 if st.session_state["lang"] == "vi" else 1,
        key="lang_choice",
    )
    st.session_state["lang"] = "vi" if choice == "Tiếng Việt" else "en"

lang = st.session_state["lang"]

from app_pages.login import account_box, current_principal, login_form  # noqa: E402
from models.permissions import ROLE_ACTIONS, Action  # noqa: E402

principal, needs_login = current_principal(lang)

pages = [
    st.Page("app_pages/home.py", title=t("home", lang), icon=":material/dashboard:", default=True),
    st.Page("app_pages/map.py", title=t("map", lang), icon=":material/map:", url_path="map"),
    st.Page("app_pages/blackspots.py", title=t("blackspots", lang), icon=":material/warning:", url_path="blackspots"),
    st.Page("app_pages/corridor.py", title=t("corridor", lang), icon=":material/fence:", url_path="corridor"),
    st.Page("app_pages/works.py", title=t("works", lang), icon=":material/construction:", url_path="works"),
    st.Page("app_pages/plans.py", title=t("plans", lang), icon=":material/flag:", url_path="plans"),
    st.Page("app_pages/exports.py", title=t("exports", lang), icon=":material/download:", url_path="exports"),
    st.Page("app_pages/import_data.py", title=t("import", lang), icon=":material/upload_file:", url_path="import"),
    st.Page(
        "app_pages/duplicates.py",
        title=t("Trùng lặp giữa các nguồn", lang),
        icon=":material/merge:",
        url_path="duplicates",
    ),
]
if needs_login or principal is None or Action.CREATE_ITEM in ROLE_ACTIONS[principal.role]:
    # field entry from a phone: for the roles that may create items (and in open mode)
    pages.append(
        st.Page(
            "app_pages/field.py",
            title=t("Ghi nhận hiện trường", lang),
            icon=":material/add_location_alt:",
            url_path="field",
        )
    )
if needs_login or (principal is not None and principal.role.value == "admin"):
    # before sign-in every page is known (hidden), so a deep link survives the sign-in
    pages.append(st.Page("app_pages/users.py", title=t("Tài khoản", lang), icon=":material/group:", url_path="users"))
nav = st.navigation(pages, position="hidden" if needs_login else "sidebar")

if needs_login:
    login_form(lang)  # stops here until signed in

with st.sidebar:
    if principal is None:
        st.caption(t("Chưa có tài khoản: chế độ mở. Tạo quản trị: `python cli.py user add TEN --role admin`", lang))
    else:
        account_box(principal, lang)
    from app_pages.sidebar import render

    render(lang)

nav.run()
