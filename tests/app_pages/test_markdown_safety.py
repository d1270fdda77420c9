"""Text from data shown with st.markdown is data: no link, image, HTML or emphasis of its own."""

from __future__ import annotations

import re

import pytest

from app_pages.common import md_text


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://evil.example/p.png)",
        "[bấm vào đây](javascript:alert(1))",
        "<img src=x onerror=alert(1)>",
        "**đậm** _nghiêng_ `mã`",
        "# Tiêu đề",
        "QL24 Km 140+250",
        "a\\](http://x)",
        "<script>alert(1)</script>",
        "phạt $5 cho xe máy, $10 cho ô tô",  # two dollars: LaTeX between them, unless escaped
        "$x^2$ `${x}`",
    ],
)
def test_md_text_leaves_no_markdown_or_html_of_its_own(text):
    out = md_text(text)
    assert "<" not in out and ">" not in out.replace("&gt;", "")
    for sign in "![]()*_`#+$":
        # every sign from the data is escaped by a backslash that is not itself escaped
        for m in re.finditer(re.escape(sign), out):
            k, n = m.start() - 1, 0
            while k >= 0 and out[k] == "\\":
                n, k = n + 1, k - 1
            assert n % 2 == 1, (text, out, m.start())
    # what the reader sees is the text itself
    shown = re.sub(r"\\(.)", r"\1", out).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert shown == text


def test_errors_warnings_and_messages_quote_data_as_text():
    """An error can quote the user's file (a column named like an image), a message a name typed by a user:
    the page's one error, warning and message helpers show them as text."""
    from streamlit.testing.v1 import AppTest

    hostile = "![x](http://evil.example/a.png) <b>cột</b>"
    at = AppTest.from_string(
        "import streamlit as st\nfrom app_pages.common import show_error, show_flash, show_warning\n"
        f"st.session_state['flash'] = 'Đã gắn · Cơ quan chủ trì: ' + {hostile!r}\n"
        f"show_flash()\nshow_error(ValueError({hostile!r}))\nshow_warning({hostile!r})\n",
        default_timeout=30,
    )
    at.run()
    assert not at.exception, at.exception
    for shown in (at.success[0].value, at.error[0].value, at.warning[0].value):
        assert md_text(hostile) in shown and "![x](" not in shown and "<b>" not in shown


def test_an_items_title_is_text(demo_url):
    """A case's kind is typed by a user and is part of its panel's title."""
    from streamlit.testing.v1 import AppTest

    from models.store import Store
    from services.corridor import point_at_chainage

    store = Store(demo_url)
    hostile = "![x](http://evil.example/a.png)"
    cid = store.add_case(
        geometry=point_at_chainage(store, road="QL24", chainage="Km 141+000", side="left", offset_m=8), kind=hostile
    )
    at = AppTest.from_string(
        "import streamlit as st\nfrom app_pages.panel import render_item_panel\n"
        f"render_item_panel('case', {cid}, lang='vi', key='t')",
        default_timeout=60,
    )
    at.run()
    assert not at.exception, at.exception
    title = at.subheader[0].value
    assert md_text(hostile) in title and "![x](" not in title
