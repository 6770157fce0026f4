"""Fault injection, end to end through operators in DAG runs: transient API and S3 faults, safety
rejections, image-URL hazards. Each case asserts on what was paid (the emulator's log), what is in
the bucket, and that the API key appears nowhere: output, logs, XCom, rendered fields, S3."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_openai_images.core.downloads import download_image
from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError
from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.landing.spill import SpillDirectory
from airflow_provider_openai_images.media.imaging import inspect_image
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.imagefactory import decode, picture
from tests.support.s3_faults import S3Fault, S3FaultProxy

from .conftest import BUCKET, SECRET, assert_no_key, bucket_objects, images_in, return_values, run_dag, tasks_test

# -- transient API faults: retried, one payment per image -----------------------------------------

# fault -> HTTP attempts it takes (one per fault answer, then the one that succeeds), and images billed:
# 2 for the answer, 2 more when the fault struck after the server had generated them
TRANSIENT = {
    "429 Retry-After seconds": (Fault.rate_limit(0.2), 2, 2),
    "429 Retry-After HTTP date": (Fault.rate_limit(1, form="http-date"), 2, 2),
    "429 retry-after-ms": (Fault.rate_limit(0.2, form="ms"), 2, 2),
    "500": (Fault.server_error(500), 2, 2),
    "502": (Fault.server_error(502), 2, 2),
    "503 twice": (Fault.server_error(503, times=2), 3, 2),
    "connection reset": (Fault.drop_connection(), 2, 2),
    "connection reset after generation": (Fault.drop_connection(after_generation=True), 2, 4),
    "read timeout": (Fault.slow(2.5), 2, 4),
    "truncated body": (Fault.truncated_body(), 2, 4),
    "non-JSON body": (Fault.non_json_body(), 2, 2),
}


@pytest.mark.parametrize("case", TRANSIENT)
def test_transient_api_faults_are_retried_and_what_may_have_been_paid_is_recorded(
    case: str, dagbag: Any, api: ImagesAPIEmulator, s3: Any, everything: Any
) -> None:
    fault, attempts, billed = TRANSIENT[case]
    api.inject(fault)
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "success"
    assert len(api.requests_to("generations")) == attempts
    records = return_values(run, "generate")[0]
    assert [record["status"] for record in records] == ["landed", "landed"]
    images = images_in(s3)
    assert sorted(images) == sorted(record["key"] for record in records)
    assert all(decode(content).size == (1024, 1024) for content in images.values())
    api.wait_until_idle()
    assert api.billed_images == billed
    sidecar = json.loads(bucket_objects(s3)[records[0]["metadata_uri"].removeprefix(f"s3://{BUCKET}/")]["Body"])
    attempts_recorded = sidecar["provenance"]["attempts"]
    assert len(attempts_recorded) == attempts
    flagged = sum(attempt["images_asked"] for attempt in attempts_recorded if attempt["possibly_billed"])
    assert billed - 2 <= flagged, "every attempt billed without an answer is recorded as possibly billed"
    assert_no_key(everything(run, s3))


def test_spent_retries_fail_the_task_saying_what_happened(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, everything: Any
) -> None:
    api.inject(Fault.server_error(503, times=20))
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    assert len(api.requests_to("generations")) == 4, "1 attempt + max_retries=3"
    assert api.billed_images == 0
    assert images_in(s3) == {}
    haystack = everything(run, s3)
    assert "failed after 4 attempts" in haystack
    assert "Airflow's task retry" in haystack
    assert_no_key(haystack)


def test_a_retry_after_beyond_the_cap_fails_at_once_saying_when_to_retry(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, everything: Any
) -> None:
    api.inject(Fault.rate_limit(120))
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    assert len(api.requests_to("generations")) == 1
    haystack = everything(run, s3)
    assert "it asks to wait 120 s, longer than the 5 s" in haystack
    assert "Retry after 20" in haystack
    assert_no_key(haystack)


# -- S3 faults after a paid generation -------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [S3Fault.slow_down(times=3), S3Fault.service_unavailable(times=2), S3Fault.drop_connection(times=2)],
    ids=["SlowDown x3", "503 x2", "dropped x2"],
)
def test_s3_throttling_and_blips_are_ridden_out_inside_the_task(
    fault: S3Fault, dagbag: Any, api: ImagesAPIEmulator, s3_proxy: S3FaultProxy, s3: Any, everything: Any
) -> None:
    s3_proxy.inject(fault)
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "success"
    assert s3_proxy.faults_left() == 0
    assert any(request.fault for request in s3_proxy.requests)
    assert api.billed_images == 2
    assert len(images_in(s3)) == 2
    assert_no_key(everything(run, s3))


def test_an_s3_outage_keeps_paid_images_and_the_retry_lands_them_without_paying(
    dagbag: Any, api: ImagesAPIEmulator, s3_proxy: S3FaultProxy, s3: Any, everything: Any
) -> None:
    s3_proxy.inject(S3Fault.slow_down(times=1000, after=2))  # image 0 and its sidecar land, then S3 is down
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    assert api.billed_images == 2
    assert len(images_in(s3)) == 1
    haystack = everything(run, s3)
    assert "1 of 2 paid images did not land" in haystack
    assert_no_key(haystack)
    s3_proxy.reset()
    output = tasks_test("fault_injection_single", "generate", run.run_id)
    assert "Landing 1 paid images an earlier try could not write" in output
    assert len(api.requests_to("generations")) == 1, "nothing paid again"
    assert len(images_in(s3)) == 2
    assert SECRET not in output


def test_on_another_worker_a_retry_pays_only_for_the_images_that_did_not_land(
    dagbag: Any, api: ImagesAPIEmulator, s3_proxy: S3FaultProxy, s3: Any
) -> None:
    s3_proxy.inject(S3Fault.slow_down(times=1000, after=2))
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    prefix = f"openai-images/fault_injection_single/{key_segment(run.run_id)}/generate"
    spill = SpillDirectory(BUCKET, prefix)
    assert len(spill.load()) == 1
    shutil.rmtree(spill.path)  # another worker has no local copy
    s3_proxy.reset()
    tasks_test("fault_injection_single", "generate", run.run_id)
    first, second = api.requests_to("generations")
    assert ((first.json or {})["n"], (second.json or {})["n"]) == (2, 1)
    assert len(images_in(s3)) == 2


# -- safety-system rejections ------------------------------------------------------------------------


def test_a_safety_rejection_fails_without_retries_by_default(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, everything: Any
) -> None:
    api.inject(Fault.content_policy("gpt-image", times=5))
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    assert len(api.requests) == 1
    haystack = everything(run, s3)
    assert "not retried" in haystack
    assert_no_key(haystack)


def test_skip_skips_the_task_on_a_safety_rejection(dagbag: Any, api: ImagesAPIEmulator, s3: Any) -> None:
    api.inject(Fault.content_policy("dall-e"))
    run = run_dag(dagbag, "fault_injection_skip")
    (task_instance,) = run.get_task_instances()
    assert task_instance.state == "skipped"
    assert len(api.requests) == 1
    assert images_in(s3) == {}


def test_record_lets_a_mapped_run_carry_on_past_one_rejected_prompt(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, everything: Any
) -> None:
    api.inject(Fault.content_policy("azure"))
    run = run_dag(dagbag, "fault_injection_mapped")
    assert run.state == "success"
    assert return_values(run, "summary") == [{"landed": 2, "rejected": 1}]
    rejected = [r for records in return_values(run, "generate") for r in records if r["status"] == "rejected"]
    assert rejected[0]["code"] == "content_filter"
    assert rejected[0]["s3_uri"] is None
    assert api.billed_images == 2
    assert len(images_in(s3)) == 2
    assert_no_key(everything(run, s3))


# -- image URLs ------------------------------------------------------------------------------------


def test_url_answers_over_plain_http_are_refused_unless_the_connection_allows_them(
    dagbag: Any, images_api_emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch, s3: Any
) -> None:
    images_api_emulator.compatible_server = True  # dall-e-2 answers with URLs where it is still served
    connection = images_api_emulator.connection()
    connection["extra"].pop("allow_http_image_urls")
    monkeypatch.setenv("AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT", json.dumps(connection))
    run = run_dag(dagbag, "fault_injection_single", model="dall-e-2", size="256x256", n=1)
    assert run.state == "failed"
    assert images_api_emulator.billed_images == 1, "the image was made: its URL is what was refused"
    assert images_api_emulator.downloads == [], "not even one request to the image host"
    assert images_in(s3) == {}


class _Redirector(BaseHTTPRequestHandler):
    """``/hop/N`` redirects N more times, then serves a PNG; ``/big`` serves 2 MB; ``/to?url`` redirects there."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path.startswith("/to?"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/to?"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/hop/") and int(self.path.removeprefix("/hop/")) > 0:
            self.send_response(302)
            self.send_header("Location", f"/hop/{int(self.path.removeprefix('/hop/')) - 1}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = picture(32, 32) if self.path.startswith("/hop/") else b"\x89PNG" + b"0" * 2_000_000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def redirector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_downloads_follow_at_most_three_redirects(redirector: str) -> None:
    assert decode(download_image(f"{redirector}/hop/3", allow_http=True)).size == (32, 32)
    with pytest.raises(OpenAIImagesResponseError, match="more than 3 times"):
        download_image(f"{redirector}/hop/4", allow_http=True)


def test_downloads_are_size_capped_and_https_only_by_default(redirector: str) -> None:
    with pytest.raises(OpenAIImagesResponseError, match="larger than 1000000 bytes"):
        download_image(f"{redirector}/big", allow_http=True, max_bytes=1_000_000)
    with pytest.raises(OpenAIImagesResponseError, match="https only"):
        download_image(f"{redirector}/hop/0")


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/secret.png", "http://[::ffff:192.168.1.1]/x.png",
     "http://[fd00::1]/x.png", "http://0.0.0.0/x.png"],
)  # fmt: skip
def test_a_redirect_to_a_private_or_link_local_address_is_refused_before_connecting(
    redirector: str, target: str
) -> None:
    """Loopback is allowed here (``allow_http``, as for the emulator); a hop elsewhere than a public address
    is refused before any connection is made (10.0.0.7 would otherwise time out; the others answer nothing)."""
    with pytest.raises(OpenAIImagesResponseError, match="not a public address"):
        download_image(f"{redirector}/to?{target}", allow_http=True, timeout=30)


def test_loopback_is_refused_unless_the_connection_allows_http_image_urls() -> None:
    from airflow_provider_openai_images.core.downloads import refuse_non_public_host

    refuse_non_public_host("127.0.0.1", 80, allow_loopback=True)
    with pytest.raises(OpenAIImagesResponseError, match=r"127\.0\.0\.1, which is not a public address"):
        refuse_non_public_host("127.0.0.1", 443)
    with pytest.raises(OpenAIImagesResponseError, match="does not resolve"):
        refuse_non_public_host("image-host.emulator.invalid", 443)


def test_answers_are_decoded_under_the_decompression_bomb_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50 * 50)
    with pytest.raises(OpenAIImagesResponseError, match="not a complete image"):
        inspect_image(picture(80, 80))
