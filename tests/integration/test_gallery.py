"""The Images view (``airflow_provider_openai_images.ui``) in a real Airflow, through real HTTP to its API
server: the plugin listed with its external views, the listing of a run and of a task instance against
the XCom records, images and thumbnails streamed from moto's S3 server, prompts from the sidecars,
access control (401 without a token, 403 for a user the auth manager refuses the DAG, 404 for an object
no record names), the security headers of every answer, and records an "op" user forged through the REST
API (another bucket, another run's image, a manifest, a ``../`` key, a key its ``s3_uri`` contradicts):
listed as refused with the reason, answered 403, their bytes never sent; ``[openai_images] gallery_buckets``
(the API server restarted with it) replaces the task's own bucket.

One cluster for the module (:func:`tests.ui.gallery_cluster.gallery_cluster`): one run of
``bulk_generate_recorded`` with six items (item 0 failed by a 400, item 3 refused by the safety system,
four landed), one of ``generate_deferred`` (two images, the only DAG ``outsider`` may read), and one
animated GIF and one SVG from ``models_today``; more runs of ``generate_deferred`` for the forged records.
"""

from __future__ import annotations

import hashlib
import io
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from airflow_provider_openai_images.testing import Fault
from tests.integration.gallery_auth import OUTSIDER, OUTSIDER_DAG
from tests.ui.gallery_cluster import BUCKET, Answer, GalleryCluster, gallery_cluster, images_of

BULK = "bulk_generate_recorded"
APP = "/openai-images"
PAGE_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'self'"
#: another team's bucket, readable with the API server's AWS connection, and what it holds
SALARIES_BUCKET = "hr-payroll"
SALARIES = b"name,team,salary\nAda Lovelace,Engineering,185000\nGrace Hopper,Research,192500\n"


@dataclass
class Landed:
    cluster: GalleryCluster
    bulk_run: str
    single_run: str
    gif_run: str
    svg_run: str

    def records(self, dag_id: str, run_id: str) -> list[tuple[int | None, int, dict[str, Any]]]:
        return images_of(self.cluster.airflow.xcom(dag_id, run_id, "generate"))

    def listing(self, dag_id: str, run_id: str, query: str = "", user: str = "viewer") -> dict[str, Any]:
        answer = self.cluster.get(f"{APP}/api/dags/{dag_id}/dagRuns/{_q(run_id)}/images{query}", user=user)
        assert answer.status == 200, answer.body[:500]
        return dict(answer.json())


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landed]:
    with gallery_cluster(tmp_path_factory, ("bulk.py", "models_today.py")) as cluster:
        single_run = cluster.run(OUTSIDER_DAG)
        gif_run = cluster.run("models_today", {"output_format": "gif", "frame_count": "4", "quality": "low"})
        svg_run = cluster.run("models_today", {"output_format": "svg", "model": "gpt-image-2"})
        cluster.api.blocked_prompt_words.add("banner")  # item 3: "A wide banner, number 3"
        cluster.api.inject(Fault.server_error(400))  # the first request (item 0): refused, not retried
        bulk_run = cluster.run(BULK, {"count": 6, "max_concurrency": 1})
        yield Landed(cluster, bulk_run, single_run, gif_run, svg_run)


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def test_the_plugin_is_listed_with_its_app_and_views(landed: Landed) -> None:
    plugins = landed.cluster.get("/api/v2/plugins", user="admin").json()["plugins"]
    (plugin,) = [plugin for plugin in plugins if plugin["name"] == "openai_images"]
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == [APP]
    views = {view["destination"]: view for view in plugin["external_views"]}
    assert set(views) == {"dag_run", "task_instance", "nav"}
    assert views["dag_run"]["href"] == "openai-images/gallery?dag_id={DAG_ID}&run_id={RUN_ID}"
    assert views["task_instance"]["href"] == (
        "openai-images/gallery?dag_id={DAG_ID}&run_id={RUN_ID}&task_id={TASK_ID}&map_index={MAP_INDEX}"
    )
    assert views["nav"]["href"] == "openai-images/spend"
    assert [views[tab]["name"] for tab in ("dag_run", "task_instance", "nav")] == ["Images", "Images", "Spend"]
    routes = [view["url_route"] for view in views.values()]
    assert all(routes), "the UI shows a tab only for a view with a url_route"
    assert len(set(routes)) == 3, "and finds the view by it: one each"
    errors = landed.cluster.get("/api/v2/plugins/importErrors", user="admin").json()["import_errors"]
    assert errors == []


def _expected(dag_id: str, run_id: str, records: list[tuple[int | None, int, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": "generate",
            "map_index": -1,
            "item": item,
            "index": record.get("index", position),
            "status": record["status"],
            "model": record["model"],
            "width": record.get("width"),
            "height": record.get("height"),
            "cost_usd": record.get("cost_usd"),
            "s3_uri": record["s3_uri"],
            "revised_prompt": record.get("revised_prompt"),
            "message": record.get("message"),
            "code": record.get("code"),
            "has_thumbnail": bool(record.get("thumbnail_uri")),
        }
        for item, position, record in records
    ]


def _compared(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fields = ("dag_id", "run_id", "task_id", "map_index", "item", "index", "status", "model", "width", "height")
    more = ("cost_usd", "s3_uri", "revised_prompt", "message", "code", "has_thumbnail")
    return [{name: image[name] for name in fields + more} for image in images]


def test_the_listing_of_a_run_is_its_xcom_records(landed: Landed) -> None:
    records = landed.records(BULK, landed.bulk_run)
    page = landed.listing(BULK, landed.bulk_run)
    assert [record["status"] for _, _, record in records] == [
        "failed",
        "landed",
        "landed",
        "rejected",
        "landed",
        "landed",
    ]
    assert _compared(page["images"]) == _expected(BULK, landed.bulk_run, records)
    assert page["total_entries"] == 6
    assert page["run_state"] == "success"
    summary = page["summary"]
    assert (summary["landed"], summary["rejected"], summary["failed"], summary["task_instances"]) == (4, 1, 1, 1)
    assert summary["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0 for _, _, r in records))
    by_status = {image["status"]: image for image in page["images"]}
    assert by_status["rejected"]["code"] == "moderation_blocked"
    assert "status=400" in by_status["failed"]["message"]
    for image in page["images"]:
        landed_image = image["status"] == "landed"
        assert (image["image_url"] is not None) == landed_image, "rejected and failed records have no image"
        assert (image["thumbnail_url"] is not None) == landed_image
        assert (image["prompt_url"] is not None) == landed_image
        assert image["size"] == (f"{image['width']}x{image['height']}" if landed_image else None)

    single = landed.listing(OUTSIDER_DAG, landed.single_run)
    assert _compared(single["images"]) == _expected(
        OUTSIDER_DAG, landed.single_run, landed.records(OUTSIDER_DAG, landed.single_run)
    )
    assert [(image["item"], image["index"]) for image in single["images"]] == [(None, 0), (None, 1)]


def test_the_listing_of_a_task_instance_pages_and_filters(landed: Landed) -> None:
    full = landed.listing(BULK, landed.bulk_run)["images"]
    assert landed.listing(BULK, landed.bulk_run, "?task_id=generate&map_index=-1")["images"] == full
    unresolved = "?task_id=generate&map_index=" + _q("{MAP_INDEX}")  # a task that is not mapped, in the UI
    assert landed.listing(BULK, landed.bulk_run, unresolved)["images"] == full
    assert landed.listing(BULK, landed.bulk_run, "?task_id=prompts")["images"] == [], "not images: skipped"
    assert landed.listing(BULK, landed.bulk_run, "?task_id=generate&map_index=3")["images"] == []

    pages = [landed.listing(BULK, landed.bulk_run, f"?limit=4&offset={offset}") for offset in (0, 4)]
    assert [len(page["images"]) for page in pages] == [4, 2]
    assert pages[0]["images"] + pages[1]["images"] == full
    assert all(page["total_entries"] == 6 and page["summary"]["landed"] == 4 for page in pages)

    rejected = landed.listing(BULK, landed.bulk_run, "?status=rejected")
    assert [image["item"] for image in rejected["images"]] == [3]
    assert rejected["total_entries"] == 1
    assert landed.listing(BULK, landed.bulk_run)["limit"] == 100, "the default page"
    too_many = landed.cluster.get(
        f"{APP}/api/dags/{BULK}/dagRuns/{_q(landed.bulk_run)}/images?limit=501", user="viewer"
    )
    assert too_many.status == 422
    missing = landed.cluster.get(f"{APP}/api/dags/{BULK}/dagRuns/no_such_run/images", user="viewer")
    assert missing.status == 404


def test_images_and_thumbnails_stream_from_s3_as_their_records_say(landed: Landed) -> None:
    records = {record["s3_uri"]: record for _, _, record in landed.records(BULK, landed.bulk_run)}
    images = [image for image in landed.listing(BULK, landed.bulk_run)["images"] if image["status"] == "landed"]
    assert len(images) == 4
    for image in images:
        record = records[image["s3_uri"]]
        full = landed.cluster.get(image["image_url"], user="viewer")
        assert full.status == 200
        assert full.headers["content-type"] == record["content_type"] == "image/png"
        assert full.headers["cache-control"].startswith("private")
        assert hashlib.sha256(full.body).hexdigest() == record["sha256"]
        with Image.open(io.BytesIO(full.body)) as decoded:
            assert decoded.format == "PNG"
            assert decoded.size == (record["width"], record["height"])

        thumbnail = landed.cluster.get(image["thumbnail_url"], user="viewer")
        assert thumbnail.status == 200
        assert record.get("thumbnail_uri"), "the operators land a thumbnail beside each image"
        assert thumbnail.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(thumbnail.body)) as decoded:
            assert decoded.format == "WEBP"
            assert max(decoded.size) <= 256
        stored = landed.cluster.s3.get_object(Bucket=BUCKET, Key=record["thumbnail_uri"].split("/", 3)[3])
        assert thumbnail.body == stored["Body"].read()


def test_a_bulk_task_that_returned_its_manifest_summary_is_listed_and_served_from_its_manifest(
    landed: Landed,
) -> None:
    """``max_xcom_records=0``: the XCom holds the summary only; the gallery reads the task instance's own
    manifest and lists and serves the same images as for records in XCom."""
    run_id = landed.cluster.run(BULK, {"count": 3, "max_xcom_records": 0})
    summary = landed.cluster.airflow.xcom(BULK, run_id, "generate")
    assert (summary["items"], summary["records"], summary["images_landed"]) == (3, 3, 3), summary
    page = landed.listing(BULK, run_id)
    assert [(image["item"], image["status"], image["refused"]) for image in page["images"]] == [
        (0, "landed", None), (1, "landed", None), (2, "landed", None)
    ]  # fmt: skip
    assert page["summary"]["landed"] == 3
    assert page["summary"]["cost_usd"] == pytest.approx(summary["cost_usd"])
    for image in page["images"]:
        for url in (image["image_url"], image["thumbnail_url"], image["prompt_url"]):
            assert landed.cluster.get(url, user="viewer").status == 200, url


def test_an_animated_gif_and_an_svg_are_listed_and_served_as_what_they_are(landed: Landed) -> None:
    ((gif,), (svg,)) = (landed.listing("models_today", run)["images"] for run in (landed.gif_run, landed.svg_run))
    assert (gif["status"], gif["has_thumbnail"], svg["status"], svg["has_thumbnail"]) == (
        "landed",
        True,
        "landed",
        False,
    )
    full = landed.cluster.get(gif["image_url"], user="viewer")
    assert full.headers["content-type"] == "image/gif"
    with Image.open(io.BytesIO(full.body)) as decoded:
        assert decoded.n_frames == 4
    thumbnail = landed.cluster.get(gif["thumbnail_url"], user="viewer")
    assert thumbnail.headers["content-type"] == "image/webp", "a GIF's thumbnail: its first frame, as a WEBP"

    document = landed.cluster.get(svg["image_url"], user="viewer")
    assert document.status == 200
    assert document.headers["content-type"] == "image/svg+xml"
    assert document.body.lstrip().startswith((b"<?xml", b"<svg"))
    instead = landed.cluster.get(svg["thumbnail_url"], user="viewer")
    assert (instead.headers["content-type"], instead.body) == ("image/svg+xml", document.body), (
        "no raster thumbnail: the gallery shows the SVG itself"
    )


def test_every_object_is_served_sandboxed_so_an_svg_can_never_run_script_in_the_airflow_origin(
    landed: Landed,
) -> None:
    """A browser opening the SVG on its own would run its scripts in the API server's origin, where the UI's
    session cookie lives: the answer forbids it (``sandbox``: no scripts, a unique origin), loads nothing,
    cannot be framed elsewhere, and is never sniffed into another type. A browser proves it in tests/ui."""
    (svg,) = landed.listing("models_today", landed.svg_run)["images"]
    (gif,) = landed.listing("models_today", landed.gif_run)["images"]
    for url in (svg["image_url"], svg["thumbnail_url"], gif["image_url"], gif["thumbnail_url"]):
        answer = landed.cluster.get(url, user="viewer")
        policy = [directive.strip() for directive in answer.headers["content-security-policy"].split(";")]
        assert "sandbox" in policy, url
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'self'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_thumbnail_missing_from_s3_is_replaced_by_its_image(landed: Landed) -> None:
    (image, *_) = [image for image in landed.listing(BULK, landed.bulk_run)["images"] if image["status"] == "landed"]
    record = next(r for _, _, r in landed.records(BULK, landed.bulk_run) if r["s3_uri"] == image["s3_uri"])
    key = record["thumbnail_uri"].split("/", 3)[3]
    stored = landed.cluster.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    landed.cluster.s3.delete_object(Bucket=BUCKET, Key=key)
    try:
        thumbnail = landed.cluster.get(image["thumbnail_url"], user="viewer")
        assert thumbnail.status == 200
        assert hashlib.sha256(thumbnail.body).hexdigest() == record["sha256"], "the full image, as a fallback"
    finally:
        landed.cluster.s3.put_object(Bucket=BUCKET, Key=key, Body=stored, ContentType="image/webp")


def test_the_prompt_comes_from_the_sidecar_on_demand(landed: Landed) -> None:
    images = landed.listing(BULK, landed.bulk_run)["images"]
    prompts = {}
    for image in images:
        if image["prompt_url"]:
            answer = landed.cluster.get(image["prompt_url"], user="viewer")
            assert answer.status == 200
            prompts[image["item"]] = answer.json()["prompt"]
    assert prompts == {n: f"A watercolour postcard, number {n}" for n in (1, 2, 4, 5)}
    assert "watercolour" not in json.dumps(images), "fetched on demand: not in the listing"


def _endpoints(landed: Landed) -> list[str]:
    image = next(i for i in landed.listing(BULK, landed.bulk_run)["images"] if i["status"] == "landed")
    return [
        f"{APP}/api/dags/{BULK}/dagRuns/{_q(landed.bulk_run)}/images",
        image["image_url"],
        image["thumbnail_url"],
        image["prompt_url"],
        f"{APP}/gallery?dag_id={BULK}&run_id={_q(landed.bulk_run)}",
    ]


def test_without_a_token_every_endpoint_answers_401_and_the_ui_cookie_is_enough(landed: Landed) -> None:
    for path in [*_endpoints(landed), f"{APP}/static/gallery.js"]:
        assert landed.cluster.get(path).status == 401, path
        assert landed.cluster.get(path, cookie=landed.cluster.token("viewer")).status == 200, path
    page = landed.cluster.get(f"{APP}/gallery?dag_id={BULK}&run_id={_q(landed.bulk_run)}")
    assert page.headers["content-type"].startswith("text/html")
    assert b"Sign in to Airflow" in page.body


def test_a_user_the_auth_manager_refuses_the_dag_gets_403(landed: Landed) -> None:
    assert landed.cluster.get(f"/api/v2/dags/{OUTSIDER_DAG}", user=OUTSIDER).status == 200, "a valid token"
    assert landed.cluster.get(f"/api/v2/dags/{BULK}", user=OUTSIDER).status == 403
    for path in _endpoints(landed):
        assert landed.cluster.get(path, user=OUTSIDER).status == 403, path
        assert landed.cluster.get(path, user="viewer").status == 200, path
    own = landed.listing(OUTSIDER_DAG, landed.single_run, user=OUTSIDER)["images"]
    assert len(own) == 2
    assert landed.cluster.get(own[0]["image_url"], user=OUTSIDER).status == 200


def test_the_gallery_page_and_its_assets_are_served(landed: Landed) -> None:
    page = landed.cluster.get(f"{APP}/gallery?dag_id={BULK}&run_id={_q(landed.bulk_run)}", user="viewer")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.body.decode()
    assert '<main id="grid"' in html
    assert "static/gallery.js?v=" in html, "relative: works under any base URL"
    assert "static/gallery.css?v=" in html
    assert "http://" not in html, "no CDN"
    assert "https://" not in html
    script = landed.cluster.get(f"{APP}/static/gallery.js", user="viewer")
    assert script.status == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert b'loading: "lazy"' in script.body
    assert landed.cluster.get(f"{APP}/static/../plugin.py", user="viewer").status == 404


def test_an_object_no_record_of_the_task_instance_names_is_refused(landed: Landed) -> None:
    image = next(i for i in landed.listing(BULK, landed.bulk_run)["images"] if i["status"] == "landed")
    key = urllib.parse.parse_qs(urllib.parse.urlsplit(image["image_url"]).query)["key"][0]
    prefix = key.rsplit("/item-", 1)[0]
    other_run = landed.records(OUTSIDER_DAG, landed.single_run)[0][2]["key"]
    base = f"{APP}/api/dags/{BULK}/dagRuns/{_q(landed.bulk_run)}/taskInstances/generate"
    listed = {item["Key"] for item in landed.cluster.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    for stranger in (f"{prefix}/manifest.jsonl", key.replace(".png", ".json"), other_run, f"{prefix}/../{key}"):
        assert stranger in listed or "/../" in stranger, f"{stranger} is in the bucket: a real object, not named"
        for endpoint in ("image", "thumbnail", "prompt"):
            answer = landed.cluster.get(f"{base}/{endpoint}?map_index=-1&key={_q(stranger)}", user="admin")
            assert answer.status == 404, (endpoint, stranger)
    assert landed.cluster.get(f"{base}/image?map_index=0&key={_q(key)}", user="admin").status == 404, "another TI"
    assert landed.cluster.get(f"{base}/image?map_index=-1&key={_q(key)}", user="admin").status == 200


def test_the_gallery_reads_s3_through_the_configured_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.amazon.aws.hooks import s3 as s3_hooks

    from airflow_provider_openai_images.ui import objects
    from airflow_provider_openai_images.ui.ttl_cache import TTLCache

    class Hook:
        def __init__(self, aws_conn_id: str) -> None:
            self.aws_conn_id = aws_conn_id

        def get_conn(self) -> str:
            return f"client of {self.aws_conn_id}"

    monkeypatch.setattr(s3_hooks, "S3Hook", Hook)
    monkeypatch.setattr(objects, "_clients", TTLCache(objects.CLIENT_TTL_SECONDS, kept=8))  # none made yet
    assert objects.s3_client() == "client of aws_default"
    monkeypatch.setenv("AIRFLOW__OPENAI_IMAGES__GALLERY_AWS_CONN_ID", "gallery_s3")
    assert objects.s3_client() == "client of gallery_s3"
    assert objects.s3_client() is objects.s3_client(), "one client per connection, shared by requests"


def test_the_page_and_every_json_answer_carry_the_policy_and_nosniff(landed: Landed) -> None:
    run = _q(landed.bulk_run)
    answers = {
        "page": landed.cluster.get(f"{APP}/gallery?dag_id={BULK}&run_id={run}", user="viewer"),
        "listing": landed.cluster.get(f"{APP}/api/dags/{BULK}/dagRuns/{run}/images", user="viewer"),
        "script": landed.cluster.get(f"{APP}/static/gallery.js", user="viewer"),
        "no such run": landed.cluster.get(f"{APP}/api/dags/{BULK}/dagRuns/nope/images", user="viewer"),
        "refused the DAG": landed.cluster.get(f"{APP}/api/dags/{BULK}/dagRuns/{run}/images", user=OUTSIDER),
        "no token": landed.cluster.get(f"{APP}/api/dags/{BULK}/dagRuns/{run}/images"),
        "no record": landed.cluster.get(
            f"{APP}/api/dags/{BULK}/dagRuns/{run}/taskInstances/generate/image?key=x", user="viewer"
        ),
    }
    assert [answer.status for answer in answers.values()] == [200, 200, 200, 404, 403, 401, 404]
    for name, answer in answers.items():
        assert answer.headers["content-security-policy"] == PAGE_CSP, name
        assert answer.headers["x-content-type-options"] == "nosniff", name
    sign_in = landed.cluster.get(f"{APP}/gallery?dag_id={BULK}&run_id={run}")
    assert (sign_in.status, sign_in.headers["content-type"].split(";")[0]) == (401, "text/html")
    policy = [part.strip() for part in sign_in.headers["content-security-policy"].split(";")]
    assert "default-src 'none'" in policy, "the error page: its inline style only"
    assert "frame-ancestors 'self'" in policy
    assert sign_in.headers["x-content-type-options"] == "nosniff"


# --- Records forged through the REST API ----------------------------------------------------------------


@dataclass
class Forged:
    """A run of ``generate_deferred`` whose ``return_value`` an "op" user replaced: its two landed records,
    then ``forged`` (name -> record); ``secrets``: the bytes of the objects the forged records point at."""

    cluster: GalleryCluster
    run_id: str
    own: list[dict[str, Any]]
    forged: dict[str, dict[str, Any]]
    secrets: dict[str, bytes]
    listing_before: dict[str, Any]

    def base(self) -> str:
        return f"{APP}/api/dags/{OUTSIDER_DAG}/dagRuns/{_q(self.run_id)}/taskInstances/generate"


def _like(record: dict[str, Any], key: str, bucket: str = BUCKET) -> dict[str, Any]:
    """``record`` moved to ``bucket``/``key``, its sidecar and thumbnail beside it, as landing would name them."""
    stem = key.rsplit(".", 1)[0]
    return record | {
        "s3_uri": f"s3://{bucket}/{key}",
        "bucket": bucket,
        "key": key,
        "metadata_uri": f"s3://{bucket}/{stem}.json",
        "thumbnail_uri": f"s3://{bucket}/{stem}.thumb.webp",
    }


def _read(cluster: GalleryCluster, bucket: str, key: str) -> bytes:
    return bytes(cluster.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _salaries_bucket(cluster: GalleryCluster) -> None:
    if SALARIES_BUCKET not in {bucket["Name"] for bucket in cluster.s3.list_buckets()["Buckets"]}:
        cluster.s3.create_bucket(Bucket=SALARIES_BUCKET)
    cluster.s3.put_object(Bucket=SALARIES_BUCKET, Key="salaries.csv", Body=SALARIES, ContentType="text/csv")


#: what each forged record is refused for, as the listing says
REASONS = {
    "another bucket": "bucket 'hr-payroll' is not this task's own bucket 'openai-images-demo'",
    "another bucket, the task's own key": "bucket 'hr-payroll' is not this task's own bucket",
    "another run's image": "is not under this task instance's prefix",
    "another task's manifest": "is not under this task instance's prefix",
    "a ../ key": "is not a plain S3 path: it has a '.' or '..' segment",
    "a key its s3_uri contradicts": "is not the key of its s3_uri",
    "a bucket its s3_uri contradicts": "bucket 'openai-images-demo' is not the bucket of its s3_uri",
    "a thumbnail in another bucket": "thumbnail_uri 's3://hr-payroll/salaries.csv' is not beside its image",
}


@pytest.fixture(scope="module")
def forged(landed: Landed) -> Forged:
    cluster = landed.cluster
    run_id = cluster.run(OUTSIDER_DAG)
    own = [record for _, _, record in images_of(cluster.airflow.xcom(OUTSIDER_DAG, run_id, "generate"))]
    assert [record["status"] for record in own] == ["landed", "landed"]
    listing_before = landed.listing(OUTSIDER_DAG, run_id)
    prefix = own[0]["key"].rsplit("/", 1)[0]
    bulk_image = next(r for _, _, r in landed.records(BULK, landed.bulk_run) if r["status"] == "landed")["key"]
    bulk_prefix = bulk_image.rsplit("/item-", 1)[0]
    manifest = f"{bulk_prefix}/manifest.jsonl"
    _salaries_bucket(cluster)
    for index in ("007", "010"):  # another team's object at keys under the task's own prefix
        cluster.s3.put_object(Bucket=SALARIES_BUCKET, Key=f"{prefix}/{index}.png", Body=SALARIES)
    for index in ("008", "009"):  # an image of the task's own prefix, so only the check refuses the record
        cluster.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{index}.png", Body=_read(cluster, BUCKET, own[0]["key"]))
    up = "../" * prefix.count("/") + "../"
    template = own[0]
    records = {
        "another bucket": _like(template, "salaries.csv", SALARIES_BUCKET),
        "another bucket, the task's own key": _like(template, f"{prefix}/007.png", SALARIES_BUCKET),
        "another run's image": _like(template, bulk_image),
        "another task's manifest": _like(template, manifest),
        "a ../ key": _like(template, f"{prefix}/{up}{bulk_image}"),
        "a key its s3_uri contradicts": _like(template, f"{prefix}/008.png")
        | {"s3_uri": f"s3://{BUCKET}/{bulk_image}"},
        "a bucket its s3_uri contradicts": _like(template, f"{prefix}/010.png")
        | {"s3_uri": f"s3://{SALARIES_BUCKET}/{prefix}/010.png"},
        "a thumbnail in another bucket": _like(template, f"{prefix}/009.png")
        | {"thumbnail_uri": f"s3://{SALARIES_BUCKET}/salaries.csv"},
    }
    assert set(records) == set(REASONS)
    assert len({record["key"] for record in records.values()}) == len(records), "each addressed by its own key"
    secrets = {
        "salaries": _read(cluster, SALARIES_BUCKET, "salaries.csv"),
        "another run's image": _read(cluster, BUCKET, bulk_image),
        "another task's manifest": _read(cluster, BUCKET, manifest),
    }
    assert secrets["salaries"] == SALARIES, "the API server's AWS connection can read the other bucket"

    viewer = cluster.patch_return_value(OUTSIDER_DAG, run_id, "generate", [*own, *records.values()], user="viewer")
    assert viewer.status == 403, "a viewer may not edit XComs"
    answer = cluster.patch_return_value(OUTSIDER_DAG, run_id, "generate", [*own, *records.values()], user="op")
    assert answer.status == 200, answer.body[:500]
    assert cluster.airflow.xcom(OUTSIDER_DAG, run_id, "generate") == [*own, *records.values()]
    return Forged(cluster, run_id, own, records, secrets, listing_before)


def _assert_no_secret(forged: Forged, answer: Answer, what: str) -> None:
    for name, secret in forged.secrets.items():
        assert secret not in answer.body, f"{what}: the bytes of {name} were sent"


def test_a_forged_record_is_listed_as_refused_with_the_reason(forged: Forged) -> None:
    assert [image["s3_uri"] for image in forged.listing_before["images"]] == [r["s3_uri"] for r in forged.own]
    answer = forged.cluster.get(f"{APP}/api/dags/{OUTSIDER_DAG}/dagRuns/{_q(forged.run_id)}/images", user="viewer")
    assert answer.status == 200
    _assert_no_secret(forged, answer, "the listing")
    page = answer.json()
    images = page["images"]
    assert [image["s3_uri"] for image in images] == [r["s3_uri"] for r in [*forged.own, *forged.forged.values()]], (
        "the listing reads the patched return value"
    )
    assert page["summary"]["refused"] == len(forged.forged)
    assert page["summary"]["landed"] == len(images), "their status stays what the records say"
    for image in images[: len(forged.own)]:
        assert image["refused"] is None
        served = forged.cluster.get(image["image_url"], user="viewer")
        assert served.status == 200, "the task's own images are still served"
    for (name, record), image in zip(forged.forged.items(), images[len(forged.own) :], strict=True):
        assert image["s3_uri"] == record["s3_uri"]
        assert REASONS[name] in (image["refused"] or ""), (name, image["refused"])
        assert (image["image_url"], image["thumbnail_url"], image["prompt_url"]) == (None, None, None), name


def test_the_object_endpoints_refuse_a_forged_record_and_never_send_its_bytes(forged: Forged) -> None:
    for name, record in forged.forged.items():
        for endpoint in ("image", "thumbnail", "prompt"):
            answer = forged.cluster.get(f"{forged.base()}/{endpoint}?map_index=-1&key={_q(record['key'])}",
                                        user="admin")  # fmt: skip
            assert answer.status == 403, (name, endpoint, answer.status, answer.body[:300])
            assert REASONS[name] in answer.json()["detail"], (name, answer.json())
            assert answer.headers["content-type"] == "application/json"
            _assert_no_secret(forged, answer, f"{endpoint} of {name}")
    page = forged.cluster.get(f"{APP}/gallery?dag_id={OUTSIDER_DAG}&run_id={_q(forged.run_id)}", user="viewer")
    assert page.status == 200
    _assert_no_secret(forged, page, "the page")
    own = forged.cluster.get(f"{forged.base()}/image?map_index=-1&key={_q(forged.own[0]['key'])}", user="viewer")
    assert hashlib.sha256(own.body).hexdigest() == forged.own[0]["sha256"], "the control: the endpoint serves"


def test_gallery_buckets_replaces_the_task_bucket(landed: Landed) -> None:
    """The API server restarted with ``[openai_images] gallery_buckets``: a bucket of the list is served
    (a copy of an image in it, under the task instance's prefix), the task's own bucket and any other not.
    Last in the module: it restarts the API server twice."""
    cluster = landed.cluster
    run_id = cluster.run(OUTSIDER_DAG)
    own = next(record for _, _, record in images_of(cluster.airflow.xcom(OUTSIDER_DAG, run_id, "generate")))
    prefix = own["key"].rsplit("/", 1)[0]
    if "gallery-shared" not in {bucket["Name"] for bucket in cluster.s3.list_buckets()["Buckets"]}:
        cluster.s3.create_bucket(Bucket="gallery-shared")
    shared = _like(own, f"{prefix}/005.png", "gallery-shared")
    for field, source in (("s3_uri", own["key"]), ("thumbnail_uri", own["thumbnail_uri"].split("/", 3)[3]),
                          ("metadata_uri", own["metadata_uri"].split("/", 3)[3])):  # fmt: skip
        cluster.s3.put_object(
            Bucket="gallery-shared", Key=shared[field].split("/", 3)[3], Body=_read(cluster, BUCKET, source)
        )
    _salaries_bucket(cluster)
    salaries = _like(own, "salaries.csv", SALARIES_BUCKET)
    assert cluster.patch_return_value(OUTSIDER_DAG, run_id, "generate", [own, shared, salaries]).status == 200
    base = f"{APP}/api/dags/{OUTSIDER_DAG}/dagRuns/{_q(run_id)}/taskInstances/generate"

    def image(record: dict[str, Any]) -> Answer:
        return cluster.get(f"{base}/image?map_index=-1&key={_q(record['key'])}", user="viewer")

    default = landed.listing(OUTSIDER_DAG, run_id)["images"]
    assert [entry["refused"] is None for entry in default] == [True, False, False], "unset: the task's own bucket"
    assert (image(own).status, image(shared).status) == (200, 403)

    cluster.restart_api_server({"AIRFLOW__OPENAI_IMAGES__GALLERY_BUCKETS": "gallery-shared, gallery-archive"})
    try:
        listed = landed.listing(OUTSIDER_DAG, run_id)["images"]
        assert [entry["s3_uri"] for entry in listed] == [own["s3_uri"], shared["s3_uri"], salaries["s3_uri"]]
        assert "'openai-images-demo' is not one of [openai_images] gallery_buckets" in listed[0]["refused"]
        assert listed[1]["refused"] is None
        assert "'hr-payroll' is not one of [openai_images] gallery_buckets" in listed[2]["refused"]
        assert "gallery-archive" not in json.dumps(listed), "the configured list is not shown"
        served = image(shared)
        assert served.status == 200
        assert hashlib.sha256(served.body).hexdigest() == own["sha256"]
        for endpoint in ("thumbnail_url", "prompt_url"):
            assert cluster.get(listed[1][endpoint], user="viewer").status == 200, endpoint
        for refused in (own, salaries):
            answer = image(refused)
            assert answer.status == 403
            assert SALARIES not in answer.body
    finally:
        cluster.restart_api_server({"AIRFLOW__OPENAI_IMAGES__GALLERY_BUCKETS": None})
    assert (image(own).status, image(shared).status) == (200, 403), "unset again: the task's own bucket"
