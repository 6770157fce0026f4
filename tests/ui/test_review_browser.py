"""The review of the example review DAG in a real browser: signed in through Airflow's own login page, the
Required Action form of ``review_images`` shows each landed image's thumbnail inline, loaded from the
gallery with the reviewer's own session (every ``img`` decoded, ``naturalWidth > 0``), labelled as the
options are (``#1 · …spring gardening…``), and lists the rejected prompt apart, without an image. A prompt
full of Markdown, HTML and links makes no link, image or markup in the form. The reviewer's choice in the
form is what gets published.

``UPDATE_SCREENSHOTS=1 make test-ui`` also writes the screenshot to ``docs/review.png``; otherwise it goes
to the test's temporary directory only.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.compat import HITL_AWAITING_INPUT_SINCE, airflow_at_least
from tests.conftest import EXAMPLE_DAGS_FOLDER, REPO_ROOT
from tests.ui.browser import signed_in_page
from tests.ui.gallery_cluster import BUCKET, GalleryCluster, gallery_cluster

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing").expect

DAG_ID = "openai_images_review_pipeline"
TASK_ID = "review_images"
SCREENSHOT = REPO_ROOT / "docs" / "review.png"
WAITING = "awaiting_input" if airflow_at_least(*HITL_AWAITING_INPUT_SINCE) else "deferred"
#: the example DAG's four prompts, then one the emulator refuses (its safety system blocks "forbidden")
PROMPTS = [
    "A hero image for a post on spring gardening: seedlings on a sunny windowsill, soft morning light",
    "A hero image for a post on remote work: a tidy desk by a window overlooking a harbour",
    "A hero image for a post on home baking: a rustic loaf on a floured board, warm tones",
    "A hero image for a post on city cycling: a bicycle lane at dusk, long exposure lights",
    "A hero image for a post on forbidden fruit: an apple on a marble table",
]
#: prompts that would make links, images and markup if the body took them as Markdown
HOSTILE = [
    "See [a link](https://evil.example/a) and ![an image](https://evil.example/i.png) <b>bold</b> *stars*",
    "Visit www.evil.example or https://evil.example/b, mail boss@evil.example | a | table |",
    "<img src=https://evil.example/x.png onerror=alert(1)> `code` # heading\n\n1. list\n> quote",
]


@dataclass
class Review:
    cluster: GalleryCluster
    run_id: str
    hostile_run: str

    @property
    def base_url(self) -> str:
        return self.cluster.airflow.base_url

    def form_path(self, run_id: str) -> str:
        return (
            f"{self.base_url}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id, safe='')}/tasks/{TASK_ID}/required_actions"
        )


def _waiting_review(cluster: GalleryCluster, prompts: list[str]) -> str:
    """Trigger the review DAG with ``prompts``; its run id once the review task waits for a person."""
    airflow = cluster.airflow
    run_id = airflow.trigger(DAG_ID, {"prompts": prompts})

    def waiting() -> bool | None:
        states = {ti["task_id"]: ti["state"] for ti in airflow.task_instances(DAG_ID, run_id)}
        if {"failed", "upstream_failed"} & set(states.values()):
            airflow.print_logs()
            raise AssertionError(f"{DAG_ID} {run_id}: {states}")
        return states.get(TASK_ID) == WAITING or None

    airflow.poll(waiting, 180, "the review task to wait for a response")
    return run_id


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    """Two runs of the example review DAG waiting for a person: :data:`PROMPTS` (four images landed, one
    prompt refused) and :data:`HOSTILE` (three landed)."""
    with gallery_cluster(tmp_path_factory, (EXAMPLE_DAGS_FOLDER / "review_pipeline.py",)) as cluster:
        cluster.api.blocked_prompt_words.add("forbidden")
        run_id = _waiting_review(cluster, PROMPTS)
        hostile_run = _waiting_review(cluster, HOSTILE)
        yield Review(cluster, run_id, hostile_run)


@pytest.fixture
def page(browser: Any, review: Review) -> Iterator[Any]:
    """A fresh page, signed in as admin through the UI's login form."""
    password = review.cluster.airflow.password("admin")
    with signed_in_page(browser, review.base_url, password, viewport={"width": 1440, "height": 2300}) as page:
        yield page


def open_form(page: Any, review: Review, run_id: str) -> Any:
    """Open the task instance's Required Action tab; the rendered body's thumbnails once all are decoded."""
    page.goto(review.form_path(run_id))
    page.get_by_text("landed from").wait_for()  # the body's summary: the Markdown rendered
    thumbnails = page.locator("img[alt^='#']")
    thumbnails.first.wait_for()
    thumbnails.evaluate_all("images => images.forEach(image => image.scrollIntoView())")
    page.wait_for_function("() => [...document.querySelectorAll(\"img[alt^='#']\")].every(image => image.complete)")
    page.evaluate("window.scrollTo(0, 0)")
    return thumbnails


def test_the_required_action_form_shows_every_landed_image_s_thumbnail(
    page: Any, review: Review, tmp_path: Path
) -> None:
    thumbnails = open_form(page, review, review.run_id)
    assert thumbnails.count() == 4, "one thumbnail per landed image, none for the refused prompt"
    widths = thumbnails.evaluate_all("images => images.map(image => image.naturalWidth)")
    assert all(width > 0 for width in widths), f"every thumbnail loaded and decoded: natural widths {widths}"
    sources = thumbnails.evaluate_all("images => images.map(image => image.currentSrc)")
    assert all(f"{review.base_url}/openai-images/api/dags/{DAG_ID}/" in src for src in sources), sources

    labels = thumbnails.evaluate_all("images => images.map(image => image.alt)")
    assert labels == [
        "#1 · …spring gardening: seedlings on a…",
        "#2 · …remote work: a tidy desk by a window…",
        "#3 · …home baking: a rustic loaf on a…",
        "#4 · …city cycling: a bicycle lane at dusk,…",
    ]
    hitl = review.cluster.airflow.api(
        "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(review.run_id, safe='')}"
        f"/taskInstances/{TASK_ID}/-1/hitlDetails",
    )  # fmt: skip
    assert hitl["options"][:4] == labels, "the options are labelled as the images are"
    for label in labels:
        expect(page.get_by_text(label, exact=True).last).to_be_visible()
    not_landed = page.get_by_text("(A hero image for a post on forbidden fruit: an apple on a marble table)")
    expect(not_landed).to_contain_text("rejected (moderation_blocked)")

    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_a_prompt_makes_no_link_image_or_markup_in_the_form(page: Any, review: Review) -> None:
    thumbnails = open_form(page, review, review.hostile_run)
    assert thumbnails.count() == 3
    assert all(width > 0 for width in thumbnails.evaluate_all("images => images.map(image => image.naturalWidth)"))
    links = page.locator("a").evaluate_all("links => links.map(link => link.href)")
    assert not [href for href in links if "evil" in href], links
    images = page.locator("img").evaluate_all("images => images.map(image => image.src)")
    assert not [src for src in images if "evil" in src], images
    body = page.get_by_text("landed from").locator("xpath=..")
    assert body.locator("b, h1, h2, h3, blockquote, ol, table").count() == 0, "no markup from a prompt"
    text = body.inner_text().replace("\u2060", "")  # the WORD JOINERs that break GFM's autolinks
    for shown in ("See [a link](https://evil.example/a)", "<b>bold</b> *stars*", "mail boss@evil.example"):
        assert shown in text, "each prompt shown as its text"


def test_the_images_chosen_in_the_form_are_the_ones_published(page: Any, review: Review) -> None:
    airflow = review.cluster.airflow
    open_form(page, review, review.run_id)
    chosen = ["#2 · …remote work: a tidy desk by a window…", "#4 · …city cycling: a bicycle lane at dusk,…"]
    for label in chosen:
        page.get_by_role("combobox", name="Select one or multiple values").click()
        page.get_by_role("option", name=label, exact=True).click()
    # Airflow 3.3 race: an answer within a scheduler loop of the pause can re-queue the task before the
    # executor's report of the paused try arrives (see tests/integration/test_review_and_assets.py).
    time.sleep(3)
    page.get_by_role("button", name="Respond").click()
    state = airflow.wait(DAG_ID, review.run_id, timeout=180)
    if state != "success":
        airflow.print_logs()
    assert state == "success", f"{DAG_ID} {review.run_id}: {state}"

    per_item = airflow.xcom(DAG_ID, review.run_id, "generate_images")
    assert airflow.xcom(DAG_ID, review.run_id, TASK_ID)["chosen_options"] == chosen
    published = airflow.xcom(DAG_ID, review.run_id, "publish_index")
    index = json.loads(
        review.cluster.s3.get_object(Bucket=BUCKET, Key=published["index_uri"].split("/", 3)[3])["Body"].read()
    )
    assert [image["s3_uri"] for image in index["images"]] == [per_item[1][0]["s3_uri"], per_item[3][0]["s3_uri"]]
