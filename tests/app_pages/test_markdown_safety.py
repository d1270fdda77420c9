"""Text from data shown with st.markdown is data: no link, image, HTML or emphasis of its own."""
from __future__ import annotations

import re

import pytest

from app_pages.common import md_text


@pytest.mark.parametrize("text", [
    "![x](http://evil.example/p.png)", "[bấm vào đây](javascript:alert(1))", "<img src=x onerror=alert(1)>",
    "**đậm** _nghiêng_ `mã`", "# Tiêu đề", "QL24 Km 140+250", "a\\](http://x)", "<script>alert(1)</script>",
])
def test_md_text_leaves_no_markdown_or_html_of_its_own(text):
    out = md_text(text)
    assert "<" not in out and ">" not in out.replace("&gt;", "")
    for sign in "![]()*_`#+":
        # every sign from the data is escaped by a backslash that is not itself escaped
        for m in re.finditer(re.escape(sign), out):
            k, n = m.start() - 1, 0
            while k >= 0 and out[k] == "\\":
                n, k = n + 1, k - 1
            assert n % 2 == 1, (text, out, m.start())
    # what the reader sees is the text itself
    shown = re.sub(r"\\(.)", r"\1", out).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert shown == text
