"""Browser tests: Debian's Chromium (``apt-get install chromium``) driven by playwright's Python API.

Never ``playwright install``: no browser is downloaded. Without ``/usr/bin/chromium`` (or without the
playwright package) every test here is skipped, saying why.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None:
        return
    reason = (
        f"{CHROMIUM} is missing: `apt-get install -y chromium` (Debian's package) to run the browser tests"
        if not CHROMIUM.exists()
        else "the playwright package is missing: `pip install -e '.[test]'`"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
