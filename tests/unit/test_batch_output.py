"""Batch output and error lines that are not the spec's, landed against the emulator (in-process) and
moto's in-memory S3: one test per kind of bad line. Each shows that the good lines' images land, the
bad line becomes its item's failure or an unknown line in the manifest, the batch record is finished,
and a retry of the task sends only what can still land, paying nothing twice."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import pytest

from airflow_provider_openai_images.core import batches
from airflow_provider_openai_images.core.batches import BatchObject
from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.jobs.batch.record import BatchRecord, read_batch_record
from airflow_provider_openai_images.jobs.batch.submission import plan_batch, submit_batch
from airflow_provider_openai_images.jobs.batch.waiting import BatchJobSpec, land_batch, run_batch_job
from airflow_provider_openai_images.jobs.outcome import JobOutcome
from airflow_provider_openai_images.jobs.spec import JobItem, JobSpec
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import picture
from tests.unit.conftest import JOBS_BUCKET, TASK
from tests.unit.crafted_lines import Craft, Line, b64, crafted_batch, for_item, keep, stored_lines, with_extra

BUCKET = JOBS_BUCKET

#: what Python 3.10 does not do: ``take_base64_images`` leaves every value in the line there (output_lines.py)
needs_strict_base64 = pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="base64 cut out of the line's buffer needs Python 3.11 (binascii.a2b_base64's strict_mode)",
)


def job(count: int, *, n: dict[int, int] | None = None, forbidden: tuple[int, ...] = ()) -> JobSpec:
    items: list[JobItem] = [
        {
            "endpoint": "generations",
            "values": {
                "prompt": f"a forbidden thing {number}" if number in forbidden else f"item {number}",
                "model": "gpt-image-2.5-flare", "quality": "low", "n": (n or {}).get(number, 1),
            },
            "prefix": f"run/item-{number:05d}",
        }
        for number in range(count)
    ]  # fmt: skip
    return {
        "bucket": BUCKET, "prefix": "run", "items": items, "overwrite": False, "max_concurrency": 1,
        "images_per_minute": None, "spill_path": None, "task": TASK, "manifest": True,  # type: ignore[typeddict-item]
    }  # fmt: skip


def hook(api: ImagesAPIEmulator, **options: Any) -> OpenAIImagesHook:
    return OpenAIImagesHook(transport=api.transport(), **options)


def submit(api: ImagesAPIEmulator, s3_hook: Any, spec: JobSpec) -> BatchRecord:
    plan = plan_batch(s3_hook, spec)
    assert plan.unfinished_batch is None

    async def go() -> BatchRecord:
        client = hook(api).get_async_batch_client()
        try:
            return await submit_batch(client, s3_hook, plan, plan.to_send())
        finally:
            await client.aclose()

    return asyncio.run(go())


def batch_spec(spec: JobSpec, record: BatchRecord) -> BatchJobSpec:
    return {
        "job": spec, "batch_id": record["batch_id"], "sent": record["sent"], "final_failures": record["final_failures"],
        "poll_interval": 0.01, "deadline": time.time() + 60, "keep_files": False,
    }  # fmt: skip


def land_crafted(
    api: ImagesAPIEmulator, s3_hook: Any, spec: JobSpec, *, output: Craft = keep, errors: Craft = keep, **options: Any
) -> tuple[BatchRecord, BatchObject, JobOutcome]:
    """Submit ``spec`` as a batch, let the emulator run it, then land it from crafted copies of its files."""
    record = submit(api, s3_hook, spec)
    batch: BatchObject = api.wait_for_batch(record["batch_id"]).to_json()  # type: ignore[assignment]
    crafted = crafted_batch(api, batch, output=output, errors=errors)
    return record, crafted, land_from(api, s3_hook, crafted, spec, record, **options)


def land_from(
    api: ImagesAPIEmulator, s3_hook: Any, crafted: BatchObject, spec: JobSpec, record: BatchRecord, **options: Any
) -> JobOutcome:
    """Land ``spec``'s batch ``record`` from the files of ``crafted``."""
    images_hook = hook(api, **options)

    async def go() -> JobOutcome:
        client = images_hook.get_async_batch_client()
        try:
            return await land_batch(client, crafted, batch_spec(spec, record), hook=images_hook, s3_hook=s3_hook)
        finally:
            await client.aclose()

    return asyncio.run(go())


def retry(api: ImagesAPIEmulator, s3_hook: Any, spec: JobSpec, **options: Any) -> dict[str, list[int]]:
    """A retry of the task: what it sends (landed through a real batch); nothing sent, nothing created."""
    plan = plan_batch(s3_hook, spec)
    assert plan.unfinished_batch is None, "the first batch's record is finished: no re-attaching to it"
    sending = plan.to_send()
    if sending:
        record = submit(api, s3_hook, spec)
        asyncio.run(run_batch_job(batch_spec(spec, record), hook=hook(api, **options), s3_hook=s3_hook))
    return sending


def manifest(s3_hook: Any) -> list[dict[str, Any]]:
    body = s3_hook.read_key("run/manifest.jsonl", BUCKET)
    return [json.loads(line) for line in body.splitlines()]


def unknown_in_manifest(s3_hook: Any) -> list[dict[str, Any]]:
    return [entry for entry in manifest(s3_hook) if entry["item"] is None]


def landed_images(s3_hook: Any) -> set[str]:
    keys = s3_hook.list_keys(BUCKET, prefix="run/item-") or []
    return {key for key in keys if key.endswith(".png") and not key.endswith(".thumb.webp")}


def finished(s3_hook: Any) -> BatchRecord:
    record = read_batch_record(s3_hook, BUCKET, "run")
    assert record is not None
    assert record["finished"], "the batch record is finished: a retry does not wait for this batch again"
    return record


def failures(outcome: JobOutcome) -> list[Any]:
    return [item["failure"] for item in outcome["items"]]


def truncated(line: Line) -> list[bytes]:
    return [json.dumps(line).encode()[:300]]


def without_custom_id(line: Line) -> list[Line]:
    del line["custom_id"]
    return [line]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (truncated, "is not JSON"),
        (without_custom_id, "has no string custom_id (its custom_id: null)"),
        (lambda line: [{**line, "custom_id": 3}], "has no string custom_id (its custom_id: 3)"),
        (lambda line: [b"\xff\xfe" + json.dumps(line).encode()], "is not JSON"),
    ],
    ids=["not-json", "no-custom-id", "custom-id-not-a-string", "not-utf-8"],
)
def test_a_line_that_names_no_request_is_an_unknown_line_and_its_item_may_have_been_billed(
    api: ImagesAPIEmulator, s3_hook: Any, change: Any, message: str
) -> None:
    spec = job(4)
    record, crafted, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00002", change))

    assert len(landed_images(s3_hook)) == 3, "the other lines' images landed"
    assert [f is None for f in failures(outcome)] == [True, True, False, True]
    failure = failures(outcome)[2]
    assert failure["kind"] == "gave_up", "retry_possibly_billed is on (the default): sent again"
    assert "may be one of them" in failure["message"]
    (unknown,) = unknown_in_manifest(s3_hook)
    assert unknown["status"] == "unknown_line"
    assert (unknown["batch_id"], unknown["file_id"], unknown["custom_id"]) == (
        record["batch_id"], crafted["output_file_id"], None
    )  # fmt: skip
    assert message in unknown["message"]
    done = finished(s3_hook)
    assert done["unknown_lines"] == [{k: v for k, v in unknown.items() if k not in ("item", "status")}]
    assert not api.files[unknown["file_id"]].deleted, "a file with a bad line is kept"

    assert retry(api, s3_hook, spec) == {"item-00002": [0]}, "only the item whose line could not be read"
    assert len(landed_images(s3_hook)) == 4
    assert api.batch_billed_images == 4 + 1
    assert unknown_in_manifest(s3_hook) == [unknown], "the first batch's unknown line stays in the manifest"


def test_when_the_connection_does_not_retry_possibly_billed_requests_an_unreadable_line_s_item_is_final(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    spec = job(3)
    _, _, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00001", truncated),
                                 retry_possibly_billed=False)  # fmt: skip
    failure = failures(outcome)[1]
    assert failure["kind"] == "possibly_billed"
    assert "not paid for twice" in failure["message"]
    assert set(finished(s3_hook)["final_failures"]) == {"item-00001"}
    assert retry(api, s3_hook, spec) == {}, "nothing sent: not paid for twice"
    assert api.batch_billed_images == 3


FOREIGN_IDS = ["item-²", "item-99999", "../x", "item-1", "", "item-00003"]


def test_lines_naming_requests_the_batch_was_not_sent_are_unknown_lines_and_land_nothing(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    spec = job(3)

    def foreign(line: Line) -> list[Line]:
        return [line, *({**line, "custom_id": cid} for cid in FOREIGN_IDS)]

    _, _, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00000", foreign))
    assert failures(outcome) == [None, None, None]
    assert len(landed_images(s3_hook)) == 3
    assert not s3_hook.list_keys(BUCKET, prefix="run/item-00003"), "nothing landed under an item that is not sent"
    assert not s3_hook.list_keys(BUCKET, prefix="x"), "nor outside the prefix"
    unknown = unknown_in_manifest(s3_hook)
    assert [entry["custom_id"] for entry in unknown] == FOREIGN_IDS
    assert all(entry["message"] == "names no request this batch was sent" for entry in unknown)
    assert len(finished(s3_hook)["unknown_lines"]) == len(FOREIGN_IDS)
    assert retry(api, s3_hook, spec) == {}
    assert api.batch_billed_images == 3


def test_a_line_that_is_not_an_object_is_an_unknown_line_and_the_items_land(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    spec = job(2)
    extra = [b"[1, 2]", b'"text"', b"{" * 100_000, b"null"]
    _, _, outcome = land_crafted(api, s3_hook, spec, output=with_extra(keep, *extra))
    assert failures(outcome) == [None, None]
    assert [entry["line"] for entry in unknown_in_manifest(s3_hook)] == [2, 3, 4, 5]
    assert retry(api, s3_hook, spec) == {}


def _response(value: Any = None, **fields: Any) -> Any:
    """A change of a line: its response replaced by ``value``, or some of its fields by ``fields``."""

    def change(line: Line) -> list[Line]:
        return [{**line, "response": {**line["response"], **fields} if value is None else value}]

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_response(body={"created": 1}), "without a 'data' list of images (its data: null)"),
        (_response(body={"data": {"0": 1}}), "without a 'data' list of images (its data: a JSON object of 1)"),
        (_response(body="images"), "without a 'data' list of images (its data: 'images')"),
        (_response("ok"), "has a response that is 'ok'"),
        (_response(status_code="200"), "status_code is '200'"),
        (_response(status_code=302), "status_code is 302"),
    ],
    ids=["no-data", "data-not-a-list", "body-not-an-object", "response-not-an-object", "status-a-string", "status-3xx"],
)
@pytest.mark.parametrize("retry_possibly_billed", [True, False])
def test_an_answer_of_another_shape_is_its_item_s_failure_and_may_have_been_billed(
    api: ImagesAPIEmulator, s3_hook: Any, change: Any, message: str, retry_possibly_billed: bool
) -> None:
    spec = job(3)
    _, crafted, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00001", change),
                                       retry_possibly_billed=retry_possibly_billed)  # fmt: skip
    assert len(landed_images(s3_hook)) == 2
    failure = failures(outcome)[1]
    assert message in failure["message"]
    assert "may have been billed" in failure["message"]
    assert unknown_in_manifest(s3_hook) == []
    assert [entry["status"] for entry in manifest(s3_hook) if entry["item"] == 1] == ["failed"]
    assert not api.files[str(crafted.get("output_file_id"))].deleted, "a file with a bad line is kept"
    if retry_possibly_billed:
        assert failure["kind"] == "gave_up"
        assert finished(s3_hook)["final_failures"] == {}
        assert retry(api, s3_hook, spec) == {"item-00001": [0]}, "sent again, and paid again, as the policy says"
        assert api.batch_billed_images == 3 + 1
    else:
        assert failure["kind"] == "possibly_billed"
        assert set(finished(s3_hook)["final_failures"]) == {"item-00001"}
        assert retry(api, s3_hook, spec) == {}, "not paid for twice"
        assert api.batch_billed_images == 3


def _second_image(value: Any) -> Any:
    """A change of item 1's line: its second image replaced by ``value`` (a callable gets the emulator)."""

    def change(line: Line) -> list[Line]:
        line["response"]["body"]["data"][1] = value
        return [line]

    return change


BAD_IMAGES: list[tuple[Any, str]] = [
    ({"b64_json": "!!! not base64 !!!"}, "not valid base64"),
    ({"b64_json": b64(b"a text, not an image")}, "not a complete image"),
    ({"b64_json": b64(picture(16, 16))[:-40]}, "not a complete image"),
    ({"b64_json": b64(picture(16, 16))[:-41]}, "not valid base64"),
    ({"b64_json": 7}, "neither a b64_json nor a url string (b64_json: 7"),
    ({"url": "http://[::1"}, "Invalid port"),
    ({"url": "http://image-host.emulator.invalid/gone.png"}, "The image URL answered 404"),
    ({"url": ["http://x"]}, "neither a b64_json nor a url string"),
    ({}, "neither a b64_json nor a url string"),
    ("an image", "it is 'an image', not an image object"),
]


@pytest.mark.parametrize(("image", "message"), BAD_IMAGES)
def test_a_bad_image_fails_alone_and_the_line_s_other_image_lands(
    api: ImagesAPIEmulator, s3_hook: Any, image: Any, message: str
) -> None:
    spec = job(3, n={1: 2})
    _, _, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00001", _second_image(image)))
    assert landed_images(s3_hook) == {
        "run/item-00000/000.png", "run/item-00001/000.png", "run/item-00002/000.png"
    }, "the line's first image landed"  # fmt: skip
    failure = failures(outcome)[1]
    assert failure["kind"] == "not_landed"
    assert "image 1: " in failure["message"]
    assert message in failure["message"]
    assert unknown_in_manifest(s3_hook) == []
    assert finished(s3_hook)["final_failures"] == {}
    assert retry(api, s3_hook, spec) == {"item-00001": [1]}, "only the image that did not land"
    assert len(landed_images(s3_hook)) == 4
    assert api.batch_billed_images == 4 + 1


def test_an_answer_with_fewer_images_than_asked_lands_them_and_a_retry_asks_for_the_rest(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    spec = job(2, n={0: 3})

    def fewer(line: Line) -> list[Line]:
        del line["response"]["body"]["data"][1:]
        return [line]

    _, _, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00000", fewer))
    assert "Asked for 3 image(s), the API answered 1" in failures(outcome)[0]["message"]
    assert "image(s) 1, 2 missing" in failures(outcome)[0]["message"]
    assert retry(api, s3_hook, spec) == {"item-00000": [1, 2]}
    assert len(landed_images(s3_hook)) == 4


def test_an_answer_with_more_images_than_asked_lands_them_all_flagged_and_a_retry_sends_nothing(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    spec = job(2, n={0: 2})

    def more(line: Line) -> list[Line]:
        line["response"]["body"]["data"] += [dict(line["response"]["body"]["data"][0])]
        return [line]

    _, _, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00000", more))
    assert failures(outcome) == [None, None]
    records = outcome["items"][0]["records"]
    assert [(record["index"], record.get("surplus", False)) for record in records] == [(0, False), (1, False),
                                                                                       (2, True)]  # fmt: skip
    assert sorted(landed_images(s3_hook)) == ["run/item-00000/000.png", "run/item-00000/001.png",
                                              "run/item-00000/002.png", "run/item-00001/000.png"]  # fmt: skip
    assert retry(api, s3_hook, spec) == {}, "nothing missing, the surplus image included"


@needs_strict_base64
def test_base64_values_that_cannot_be_matched_to_their_images_land_none_in_the_wrong_place(
    api: ImagesAPIEmulator, s3_hook: Any
) -> None:
    spec = job(2)

    def decoy(line: Line) -> list[Line]:
        line["response"]["body"]["usage"] = {"b64_json": b64(picture(8, 8))}  # a b64_json outside the images
        return [line]

    _, _, outcome = land_crafted(api, s3_hook, spec, output=for_item("item-00001", decoy))
    assert failures(outcome)[0] is None
    assert failures(outcome)[1]["kind"] == "not_landed"
    assert "could not be told apart" in failures(outcome)[1]["message"]
    assert landed_images(s3_hook) == {"run/item-00000/000.png"}


def _refusal(status: int | None, error: Any) -> Any:
    """A change of a refused line: its status (``None``: never run) and its error, of another shape."""

    def change(line: Line) -> list[Line]:
        if status is None:
            return [{**line, "response": None, "error": error}]
        return [{**line, "response": {**line["response"], "status_code": status, "body": {"error": error}}}]

    return change


@pytest.mark.parametrize(
    ("status", "error", "kind", "resent", "message"),
    [
        (400, "nope", "refused", False, "has an error body that is 'nope', not an object"),
        (
            400,
            {"code": 5, "message": ["x"]},
            "refused",
            False,
            "has an error body whose code is 5, message is a JSON array of 1, not a string",
        ),
        (503, {"message": {"a": 1}}, "gave_up", True, "has an error body whose message is a JSON object of 1"),
        (429, [], "gave_up", True, "has an error body that is a JSON array of 0"),
        (None, "expired", "gave_up", True, "has an error that is 'expired', not an object"),
        (None, {"code": 1, "message": None}, "gave_up", True, "has an error whose code is 1, not a string"),
    ],
    ids=["400-string", "400-odd-fields", "503-odd-message", "429-array", "never-run-string", "never-run-odd-code"],
)
def test_an_error_of_another_shape_is_classified_by_what_the_line_says_happened(
    api: ImagesAPIEmulator, s3_hook: Any, status: int | None, error: Any, kind: str, resent: bool, message: str
) -> None:
    spec = job(3, forbidden=(2,))  # item 2 is refused by the safety system: a line of the error file
    _, crafted, outcome = land_crafted(api, s3_hook, spec, errors=for_item("item-00002", _refusal(status, error)))
    assert len(landed_images(s3_hook)) == 2
    failure = failures(outcome)[2]
    assert failure["kind"] == kind
    assert message in failure["message"]
    assert f"of file {crafted['error_file_id']}" in failure["message"]
    assert unknown_in_manifest(s3_hook) == []
    assert set(finished(s3_hook)["final_failures"]) == (set() if resent else {"item-00002"})
    assert retry(api, s3_hook, spec) == ({"item-00002": [0]} if resent else {})
    assert api.batch_billed_images == 2, "refusals are not billed, not even when sent again"


def test_a_line_over_the_cap_is_skipped_unread_as_an_unknown_line_and_its_item_may_have_been_billed(
    api: ImagesAPIEmulator, s3_hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = job(3)
    record = submit(api, s3_hook, spec)
    batch: Any = api.wait_for_batch(record["batch_id"]).to_json()
    longest = max(len(json.dumps(line)) for line in stored_lines(api, batch["output_file_id"]))
    cap = batches.MAX_OUTPUT_LINE_BYTES
    monkeypatch.setattr(batches, "MAX_OUTPUT_LINE_BYTES", longest + 1000)

    def padded(line: Line) -> list[Line]:
        line["response"]["body"]["data"][0]["revised_prompt"] = "x" * (longest + 5000)
        return [line]

    crafted = crafted_batch(api, batch, output=for_item("item-00001", padded))
    outcome = land_from(api, s3_hook, crafted, spec, record)
    assert len(landed_images(s3_hook)) == 2
    (unknown,) = unknown_in_manifest(s3_hook)
    assert unknown["size_bytes"] > longest + 5000
    assert f"over the {longest + 1000} byte cap of a line: skipped unread" in unknown["message"]
    assert failures(outcome)[1]["kind"] == "gave_up"
    assert finished(s3_hook)["finished"]
    monkeypatch.setattr(batches, "MAX_OUTPUT_LINE_BYTES", cap)
    assert retry(api, s3_hook, spec) == {"item-00001": [0]}
    assert len(landed_images(s3_hook)) == 3
    assert api.batch_billed_images == 3 + 1


def test_more_unknown_lines_than_are_listed_are_summed_up_in_one_entry(api: ImagesAPIEmulator, s3_hook: Any) -> None:
    from airflow_provider_openai_images.jobs.batch.unknown_lines import MAX_LISTED_UNKNOWN_LINES

    spec = job(1)
    junk = [f"junk {n}".encode() for n in range(MAX_LISTED_UNKNOWN_LINES + 50)]
    _, _, outcome = land_crafted(api, s3_hook, spec, output=with_extra(keep, *junk))
    assert failures(outcome) == [None]
    unknown = unknown_in_manifest(s3_hook)
    assert len(unknown) == MAX_LISTED_UNKNOWN_LINES + 1
    assert unknown[-1]["line"] == MAX_LISTED_UNKNOWN_LINES + 2
    assert unknown[-1]["message"].startswith("and 50 more lines naming none of the batch's requests")


def test_a_line_the_parser_fails_on_is_an_unknown_line_not_the_end_of_the_landing(
    api: ImagesAPIEmulator, s3_hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_openai_images.jobs.batch import output

    parse = output.parse_output_line

    def failing(raw: bytearray) -> Any:
        if b"item-00001" in raw:
            raise RecursionError("a parser bug")
        return parse(raw)

    monkeypatch.setattr(output, "parse_output_line", failing)
    spec = job(3)
    _, _, outcome = land_crafted(api, s3_hook, spec)
    assert [failure is None for failure in failures(outcome)] == [True, False, True]
    (unknown,) = unknown_in_manifest(s3_hook)
    assert unknown["message"] == "could not be parsed (RecursionError: a parser bug)"
    assert finished(s3_hook)["finished"]
