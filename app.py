"""Streamlit entry: navigation and the sidebar shared by every page.

Run with ``make run`` (or ``streamlit run app.py``)."""
from __future__ import annotations

import streamlit as st

from i18n import t

st.set_page_config(page_title="Điểm đen TNGT / Black spots", page_icon="⚠️", layout="wide")

if "lang" not in st.session_state:
    st.session_state["lang"] = "vi"

with st.sidebar:
    choice = st.radio(t("language"), ["Tiếng Việt", "English"], horizontal=True,
                      index=0 if st.session_state["lang"] == "vi" else 1, key="lang_choice")
    st.session_state["lang"] = "vi" if choice == "Tiếng Việt" else "en"

lang = st.session_state["lang"]
pages = [
    st.Page("pages/home.py", title=t("home", lang), icon=":material/map:", default=True, url_path="home"),
    st.Page("pages/import_data.py", title=t("import", lang), icon=":material/upload_file:", url_path="import"),
    st.Page("pages/blackspots.py", title=t("blackspots", lang), icon=":material/warning:", url_path="blackspots"),
]
st.navigation(pages).run()
