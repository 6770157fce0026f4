"""The Spend view in a real browser: signed in through Airflow's own login page, the "Spend" entry of
the navigation frames the view, whose table shows each DAG's spend with the totals of a real-time run (a
rejected item and a possibly billed one), a Batch API run and a single-image run; the CSV it downloads says
the same; a row's run link opens that run's gallery in the view's frame (the UI's sandbox lets a framed page
navigate neither the UI nor a new tab). The pages' Content-Security-Policy blocks nothing.

``UPDATE_SCREENSHOTS=1`` also writes the screenshot to ``docs/spend.png``; otherwise it goes to the test's
temporary directory only.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.ui import spend
from tests.conftest import REPO_ROOT
from tests.integration.spend_runs import spend_cluster
from tests.ui.browser import signed_in_page
from tests.ui.gallery_cluster import GalleryCluster

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing").expect

SCREENSHOT = REPO_ROOT / "docs" / "spend.png"


@dataclass
class Seeded:
    cluster: GalleryCluster
    runs: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.cluster.airflow.base_url


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with spend_cluster(tmp_path_factory) as (cluster, runs):
        yield Seeded(cluster, runs)


@pytest.fixture
def page(browser: Any, seeded: Seeded, tmp_path: Path) -> Iterator[Any]:
    """A fresh page, signed in as admin through the UI's login form (downloads accepted)."""
    password = seeded.cluster.airflow.password("admin")
    viewport = {"width": 1440, "height": 900}
    with signed_in_page(browser, seeded.base_url, password, viewport=viewport, accept_downloads=True) as page:
        yield page


def open_spend_view(page: Any) -> Any:
    """Click the navigation's "Spend" (inside the "Plugins" menu when other plugins add entries too);
    the view's frame once its table rendered."""
    entry = page.locator("a[href$='/plugin/openai-images-spend']")
    menu = page.get_by_role("button", name="Plugins")
    entry.or_(menu).first.wait_for()  # the navigation renders once the UI has read the plugins
    if not entry.is_visible():
        menu.click()
    expect(entry).to_have_text("Spend")
    entry.click()
    frame = page.wait_for_selector("iframe[title='Spend']").content_frame()
    frame.wait_for_function("() => document.getElementById('spend').getAttribute('aria-busy') === 'false'")
    return frame


def test_the_navigation_entry_shows_each_dags_spend_and_links_its_runs(
    page: Any, seeded: Seeded, tmp_path: Path
) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)  # fmt: skip
    frame = open_spend_view(page)
    assert page.locator("iframe[title='Spend']").get_attribute("src") == "openai-images/spend"

    rows = frame.locator("#rows tr")
    assert sorted(rows.locator("td:nth-child(2)").all_inner_texts()) == sorted(seeded.runs)
    totals = frame.locator("#totals").inner_text()
    for expected in ("3 runs", "8 landed", "1 rejected", "1 failed", "possibly billed", "saved"):
        assert expected in totals, totals
    realtime = rows.filter(has_text="spend_realtime")
    cells = realtime.locator("td").all_inner_texts()
    assert cells[3:6] == ["3", "1", "1"], cells
    assert "1 request" in cells[7], "possibly billed: one request, at most its cost"
    batch = rows.filter(has_text="spend_batch").locator("td").all_inner_texts()
    assert "50.0% of the synchronous price" in batch[8], batch

    page.screenshot(path=str(tmp_path / "spend.png"))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOT))

    with page.expect_download() as download:
        frame.locator("#csv").click()
    *lines, total = spend.from_csv(Path(download.value.path()).read_text())
    assert sorted(line["dag_id"] for line in lines) == sorted(seeded.runs)
    assert (total["day"], total["images_landed"], total["images_rejected"], total["images_failed"]) == (
        "total", "8", "1", "1",
    )  # fmt: skip

    rows.filter(has_text="spend_batch").get_by_role("link", name="1 run").click()
    frame.wait_for_url(lambda url: "/openai-images/gallery?" in url)  # in the view's own frame
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(frame.url).query)
    assert query == {"dag_id": ["spend_batch"], "run_id": [seeded.runs["spend_batch"]]}
    frame.wait_for_selector(".card")
    frame.wait_for_function("() => document.getElementById('grid').getAttribute('aria-busy') === 'false'")
    assert frame.locator(".card[data-status='landed']").count() == 3
    assert violations == [], "the pages' policy blocks nothing they need"
