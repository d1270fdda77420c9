"""A small demo store for the page tests, and a helper to run a page."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@contextmanager
def database_url(url: str):
    """``DATABASE_URL`` set to ``url`` (the pages' store) while the block runs, then as it was."""
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        yield url
    finally:
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    from data.demo import load_demo
    from models.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    load_demo(Store(url), hk_limit=400)
    with database_url(url):
        yield url


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at
