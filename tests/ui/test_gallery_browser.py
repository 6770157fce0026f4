"""The Images view in a real browser: signed in through Airflow's own login page, a DAG run's "Images" tab
frames the gallery, whose thumbnails load (every ``img`` decoded, ``naturalWidth > 0``) and whose landed,
rejected and failed images show as such; a task instance's tab shows the same, a click opens the full
image and "Show prompt" fetches the sidecar's prompt.

An animated GIF and an SVG show in the gallery too; an SVG carrying ``<script>``, opened on its own from the
gallery's URL in the browser that holds the Airflow session, runs no script. A record an "op" user pointed at
another team's bucket shows as a card that says why it is not served, without an image. The gallery's own
Content-Security-Policy blocks nothing the page needs: no violation is reported while it works.

``UPDATE_SCREENSHOTS=1 make test-ui`` also writes the screenshot to ``docs/gallery.png``; otherwise it
goes to the test's temporary directory only (each run's ids differ: the tracked file would change).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.testing import Fault
from tests.conftest import REPO_ROOT
from tests.ui.browser import signed_in_page
from tests.ui.gallery_cluster import GalleryCluster, gallery_cluster

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing").expect

DAG_ID = "bulk_generate_recorded"
SCREENSHOT = REPO_ROOT / "docs" / "gallery.png"


@dataclass
class LandedRun:
    cluster: GalleryCluster
    run_id: str
    gif_run: str
    svg_run: str
    forged_run: str

    @property
    def base_url(self) -> str:
        return self.cluster.airflow.base_url


@pytest.fixture(scope="module")
def landed_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LandedRun]:
    """A run of ``bulk_generate_recorded`` with six items: item 0 failed, item 3 refused, four landed."""
    with gallery_cluster(tmp_path_factory, ("bulk.py", "models_today.py")) as cluster:
        gif_run = cluster.run("models_today", {"output_format": "gif", "frame_count": "3", "quality": "low"})
        svg_run = cluster.run("models_today", {"output_format": "svg", "model": "gpt-image-2"})
        forged_run = _forged_run(cluster)
        cluster.api.blocked_prompt_words.add("banner")
        cluster.api.inject(Fault.server_error(400))
        run_id = cluster.run(DAG_ID, {"count": 6, "max_concurrency": 1})
        yield LandedRun(cluster, run_id, gif_run, svg_run, forged_run)


def _forged_run(cluster: GalleryCluster) -> str:
    """A run of ``generate_deferred`` (two images) to which an "op" user added, through the REST API, a
    record of another team's object (a bucket the API server's AWS connection can read)."""
    run_id = cluster.run("generate_deferred")
    own = cluster.airflow.xcom("generate_deferred", run_id, "generate")
    cluster.s3.create_bucket(Bucket="hr-payroll")
    cluster.s3.put_object(Bucket="hr-payroll", Key="salaries.csv", Body=b"name,salary\nAda,185000\n")
    salaries = own[0] | {"s3_uri": "s3://hr-payroll/salaries.csv", "bucket": "hr-payroll", "key": "salaries.csv"}
    salaries |= {"metadata_uri": "s3://hr-payroll/salaries.json", "thumbnail_uri": "s3://hr-payroll/salaries.webp"}
    answer = cluster.patch_return_value("generate_deferred", run_id, "generate", [*own, salaries])
    assert answer.status == 200, answer.body[:500]
    return run_id


@pytest.fixture
def page(browser: Any, landed_run: LandedRun) -> Iterator[Any]:
    """A fresh page, signed in as admin through the UI's login form."""
    with signed_in_page(browser, landed_run.base_url, landed_run.cluster.airflow.password("admin")) as page:
        yield page


@pytest.fixture
def csp_violations(page: Any) -> list[str]:
    """What the browser reports blocking under a Content-Security-Policy, in any frame of ``page``."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)  # fmt: skip
    return violations


def open_images_tab(page: Any, path: str, url_route: str) -> Any:
    """Open ``path`` of the UI, click its "Images" tab; the gallery's frame once its cards rendered."""
    page.goto(path)
    tab = page.locator(f"a[href$='/plugin/{url_route}']")
    expect(tab).to_have_text("Images")
    tab.click()
    frame_element = page.wait_for_selector("iframe[title='Images']")
    frame = frame_element.content_frame()
    frame.wait_for_selector(".card")
    frame.wait_for_function("() => document.getElementById('grid').getAttribute('aria-busy') === 'false'")
    return frame


def assert_rendered(frame: Any) -> None:
    """Six cards: four landed with decoded thumbnails, one rejected and one failed without an image."""
    badges = frame.locator(".card .badge").all_inner_texts()
    assert sorted(text.lower() for text in badges) == ["failed", "landed", "landed", "landed", "landed", "rejected"]
    for status, count in (("rejected", 1), ("failed", 1)):
        assert frame.locator(f".card[data-status='{status}'] img").count() == 0, f"{status}: no image"
        assert frame.locator(f".card[data-status='{status}'] .picture.{status}").count() == count
    images = frame.locator("img")
    assert images.count() == 4
    assert images.evaluate_all("images => images.every(image => image.loading === 'lazy')")
    images.evaluate_all("images => images.forEach(image => image.scrollIntoView())")  # lazy: load them all
    frame.wait_for_function("() => [...document.images].every(image => image.complete)")
    widths = images.evaluate_all("images => images.map(image => image.naturalWidth)")
    assert all(width > 0 for width in widths), f"every thumbnail decoded: natural widths {widths}"
    frame.evaluate("window.scrollTo(0, 0)")


def test_the_run_page_images_tab_shows_the_gallery(
    page: Any, landed_run: LandedRun, tmp_path: Path, csp_violations: list[str]
) -> None:
    run_path = f"{landed_run.base_url}/dags/{DAG_ID}/runs/{urllib.parse.quote(landed_run.run_id, safe='')}"
    frame = open_images_tab(page, run_path, "openai-images")
    src = page.locator("iframe[title='Images']").get_attribute("src")
    assert src == f"openai-images/gallery?dag_id={DAG_ID}&run_id={urllib.parse.quote(landed_run.run_id, safe='')}"
    assert_rendered(frame)
    summary = frame.locator("#summary").inner_text()
    assert "4 landed" in summary
    assert "1 rejected" in summary
    assert "1 failed" in summary

    first = frame.locator(".card[data-status='landed']").first
    first.locator(".show-prompt").click()
    expect(first.locator(".prompt")).to_have_text("A watercolour postcard, number 1")  # fetched from the sidecar
    assert frame.locator(".card[data-status='rejected'] .problem").inner_text().endswith("moderation_blocked")

    page.screenshot(path=str(tmp_path / "gallery.png"))
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOT))

    first.locator(".picture a").click()
    frame.wait_for_function("() => document.getElementById('viewer').open")
    frame.wait_for_function("() => document.getElementById('viewer-image').complete")
    assert frame.locator("#viewer-image").evaluate("image => image.naturalWidth") == 1024, "the full image"
    assert csp_violations == [], "the page's policy blocks nothing it needs"


def test_a_task_instance_images_tab_shows_its_images(
    page: Any, landed_run: LandedRun, csp_violations: list[str]
) -> None:
    run = urllib.parse.quote(landed_run.run_id, safe="")
    task_path = f"{landed_run.base_url}/dags/{DAG_ID}/runs/{run}/tasks/generate"
    frame = open_images_tab(page, task_path, "openai-images-task")
    src = page.locator("iframe[title='Images']").get_attribute("src")
    assert "&task_id=generate&map_index={MAP_INDEX}" in src, "not mapped: the UI leaves the map index as it is"
    assert_rendered(frame)
    scope = [part.strip() for part in frame.locator("#scope").inner_text().split("\u203a")]
    assert scope[:2] == [DAG_ID, landed_run.run_id]
    assert scope[2].startswith("generate")
    assert csp_violations == []


def test_a_record_pointing_at_another_bucket_shows_as_not_served(
    page: Any, landed_run: LandedRun, csp_violations: list[str], tmp_path: Path
) -> None:
    run = urllib.parse.quote(landed_run.forged_run, safe="")
    frame = open_images_tab(page, f"{landed_run.base_url}/dags/generate_deferred/runs/{run}/tasks/generate",
                            "openai-images-task")  # fmt: skip
    assert frame.locator(".card").count() == 3
    refused = frame.locator(".card[data-refused='true']")
    assert refused.count() == 1
    assert refused.locator("img").count() == 0, "no image, and no request for one"
    expect(refused.locator(".picture.refused .label")).to_have_text("Not served")
    assert [text.lower() for text in refused.locator(".badge").all_inner_texts()] == ["landed", "not served"]
    problem = refused.locator(".problem").inner_text()
    assert problem.startswith("Not served: the bucket 'hr-payroll' is not this task's own bucket"), problem
    assert "1 not served" in frame.locator("#summary").inner_text()
    images = frame.locator("img")
    assert images.count() == 2
    images.evaluate_all("images => images.forEach(image => image.scrollIntoView())")
    frame.wait_for_function("() => [...document.images].every(image => image.complete)")
    assert all(width > 0 for width in images.evaluate_all("images => images.map(image => image.naturalWidth)"))
    requested = frame.evaluate("performance.getEntriesByType('resource').map(entry => entry.name)")
    assert not [url for url in requested if "salaries" in url], "the page never asks for the refused object"
    assert csp_violations == []
    page.screenshot(path=str(tmp_path / "not-served.png"))


#: What the planted SVG's script would do if it ran: mark the document, and read the UI's session cookie.
SCRIPT = "document.documentElement.setAttribute('data-ran', 'yes'); document.title = 'stolen: ' + document.cookie;"
PLANTED = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
    f'<rect width="64" height="64" fill="red"/><script>{SCRIPT}</script>'
    f'<image href="x" onerror="{SCRIPT}"/></svg>'
).encode()


def _run_images(page: Any, landed_run: LandedRun, run_id: str) -> Any:
    run = urllib.parse.quote(run_id, safe="")
    return open_images_tab(page, f"{landed_run.base_url}/dags/models_today/runs/{run}/tasks/generate",
                           "openai-images-task")  # fmt: skip


@pytest.mark.parametrize("kind", ["gif", "svg"])
def test_an_animated_gif_and_an_svg_show_in_the_gallery(
    page: Any, landed_run: LandedRun, kind: str, csp_violations: list[str]
) -> None:
    frame = _run_images(page, landed_run, landed_run.gif_run if kind == "gif" else landed_run.svg_run)
    image = frame.locator(".card[data-status='landed'] img")
    image.scroll_into_view_if_needed()
    frame.wait_for_function("() => [...document.images].every(image => image.complete)")
    assert image.evaluate("image => image.naturalWidth") > 0, f"the {kind} decoded"
    frame.locator(".card[data-status='landed'] .picture a").click()
    frame.wait_for_function("() => document.getElementById('viewer-image').complete")
    width = frame.locator("#viewer-image").evaluate("image => image.naturalWidth")
    assert width == 1024, f"the full {kind} shows in the viewer"
    assert csp_violations == []


def test_an_svg_with_a_script_served_by_the_gallery_cannot_run_it(
    page: Any, browser: Any, landed_run: LandedRun
) -> None:
    (svg,) = landed_run.cluster.get(
        f"/openai-images/api/dags/models_today/dagRuns/{urllib.parse.quote(landed_run.svg_run, safe='')}/images",
        user="admin",
    ).json()["images"]
    key = svg["s3_uri"].split("/", 3)[3]
    landed_run.cluster.s3.put_object(Bucket="openai-images-demo", Key=key, Body=PLANTED, ContentType="image/svg+xml")

    # The control: the same document served without the gallery's headers runs its script.
    control = browser.new_page()
    control.route("http://control.invalid/planted.svg", lambda route: route.fulfill(
        status=200, body=PLANTED, content_type="image/svg+xml"))  # fmt: skip
    control.goto("http://control.invalid/planted.svg")
    assert control.evaluate("document.documentElement.getAttribute('data-ran')") == "yes", "the script works"
    control.close()

    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    answer = page.goto(landed_run.base_url + svg["image_url"])  # opened on its own, with the session cookie
    assert answer is not None
    assert answer.status == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert page.evaluate("document.documentElement.getAttribute('data-ran')") is None, "no script ran"
    assert "stolen" not in page.title()
    assert page.evaluate("document.querySelector('rect') !== null"), "the SVG itself was rendered"
    assert page.evaluate("window.origin") == "null", "sandboxed: an opaque origin, not the Airflow UI's"
    assert any("sandboxed" in text for text in blocked), blocked

    frame = _run_images(page, landed_run, landed_run.svg_run)  # in the gallery: an <img>, which runs nothing
    frame.wait_for_function("() => [...document.images].every(image => image.complete)")
    assert frame.locator(".card[data-status='landed'] img").evaluate("image => image.naturalWidth") == 64
    assert frame.evaluate("document.documentElement.getAttribute('data-ran')") is None
    assert page.evaluate("document.documentElement.getAttribute('data-ran')") is None
