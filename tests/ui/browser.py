"""Shared steps of the browser tests: a page signed in through Airflow's own login form."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

#: how long a browser step may take (the machine may be busy)
TIMEOUT_MS = 30_000


@contextlib.contextmanager
def signed_in_page(browser: Any, base_url: str, password: str, **context_options: Any) -> Iterator[Any]:
    """A fresh page, signed in as ``admin`` through the UI's login form (``context_options``: playwright's
    ``new_context``, e.g. the viewport)."""
    options = {"viewport": {"width": 1440, "height": 1400}, "color_scheme": "light", **context_options}
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(base_url + "/")
    # Not signed in: the UI sends the browser to Airflow's login page. Waiting for its form rather than for the
    # URL: the UI's own redirects can abort the navigation wait_for_url follows (net::ERR_ABORTED).
    page.get_by_label("Username").wait_for()
    assert "/auth/login" in page.url, page.url
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + "/")
    assert "_token" in {cookie["name"] for cookie in context.cookies()}, "the UI's session cookie"
    try:
        yield page
    finally:
        context.close()
