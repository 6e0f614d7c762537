"""Debian's Chromium driven by Playwright, for the browser tests: where it is, how it starts, and
what a test does on a machine without it (skipped; failed on CI where the test says CI must have it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"
# As root in a container (CI), with nothing talking to Google's servers behind the test's back.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def playwright_or_skip(*, ci_needs_it: bool = False):
    """Playwright's sync API, once Debian's Chromium is known to be there; the test is skipped
    otherwise, or failed if ``ci_needs_it`` and this is CI."""
    if not os.path.exists(CHROMIUM):
        if ci_needs_it and os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium")
        pytest.skip("Debian's chromium is not installed")
    return pytest.importorskip("playwright.sync_api")


@contextmanager
def launch(sync_api, *extra_args: str) -> Iterator:
    """Chromium launched (``ARGS`` and ``extra_args``), closed on leaving."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()
