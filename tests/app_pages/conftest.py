"""A small demo store for the page tests, and a helper to run a page."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    import os

    from data.demo import load_demo
    from models.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    load_demo(Store(url), hk_limit=400)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    yield url
    if old is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = old


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at
