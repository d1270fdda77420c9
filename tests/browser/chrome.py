"""What every browser test shares: Debian's Chromium (never a browser
download), its flags, and a demo store to serve."""

from __future__ import annotations

import os

import pytest

from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"


def pictures_dir():
    """Where the browser tests put their pictures: an ignored folder
    (``tests/_artifacts/pictures``), or the README's ``docs/screenshots`` when
    ``make screenshots`` runs them (``BLACKSPOT_SCREENSHOTS=1``)."""
    from tests.conftest import ROOT

    folder = (
        ROOT / "docs" / "screenshots"
        if os.environ.get("BLACKSPOT_SCREENSHOTS") == "1"
        else ROOT / "tests" / "_artifacts" / "pictures"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip without Chromium; under CI its absence fails the run."""
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"CI needs Debian's chromium at {CHROMIUM}")
        pytest.skip("chromium not installed")


def demo_store(folder, *, hk_limit: int):
    """(database URL, store) of a fresh demo store in ``folder``."""
    from data.demo import load_demo
    from models.store import Store

    url = f"sqlite:///{folder / 'demo.sqlite'}"
    store = Store(url)
    load_demo(store, hk_limit=hk_limit)
    return url, store


def launch(playwright, profile_dir, **kwargs):
    """A headless Chromium with a fresh user-data folder."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=CHROMIUM, headless=True, args=ARGS, **kwargs
    )


#: The app's own server: the only host a browser test may reach.
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def launch_offline(playwright, profile_dir, **kwargs):
    """(context, requests outside the app's server): :func:`launch` with every
    request to another host aborted and recorded (the test asserts none)."""
    from urllib.parse import urlsplit

    external: list[str] = []

    def route(r):
        if urlsplit(r.request.url).hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    ctx = launch(playwright, profile_dir, **kwargs)
    ctx.route("**/*", route)
    return ctx, external
