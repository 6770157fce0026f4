"""The Batch API mode end to end: DAG runs (the trigger run inline by ``dag.test()``) and task re-runs
in fresh processes (``airflow tasks test``, as a retry or a clear), against the emulator over HTTP and
moto's S3 server: one batch for many prompts, retries that re-attach instead of paying again, a retry
after half the output landed, expiry and cancellation, bad output lines that stop only their own item,
and bad input stopped before any upload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.responses import ImagesUsage
from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.testing import BatchFault, Fault, ImagesAPIEmulator
from tests.unit.crafted_lines import Line, craft_in_emulator

from .conftest import BUCKET, bucket_objects, images_in, return_values, run_dag, tasks_test


@pytest.fixture
def api(images_api_emulator: ImagesAPIEmulator, monkeypatch: pytest.MonkeyPatch) -> ImagesAPIEmulator:
    """The emulator with quick batches and a safety system that refuses "forbidden"."""
    monkeypatch.setattr(images_api_emulator, "batch_phase_seconds", 0.05)
    images_api_emulator.blocked_prompt_words.add("forbidden")
    extra = {"max_retries": 2, "retry_initial_delay": 0.05}
    for name, value in images_api_emulator.connection_env(**extra).items():
        monkeypatch.setenv(name, value)
    return images_api_emulator


def prefix_of(run: Any, dag_id: str, task_id: str = "generate") -> str:
    return f"openai-images/{dag_id}/{key_segment(run.run_id)}/{task_id}"


def batch_record(client: Any, prefix: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(bucket_objects(client)[f"{prefix}/batch.json"]["Body"])
    return record


def uploads(api: ImagesAPIEmulator) -> list[Any]:
    return [stored for stored in api.files.values() if stored.purpose == "batch"]


def test_twenty_images_and_a_rejected_prompt_go_in_one_batch_at_half_the_price_and_a_second_run_sends_nothing(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    run = run_dag(dagbag, "batch_generate", count=21, blocked=7)
    assert run.state == "success"
    (per_item,) = return_values(run, "generate")
    assert len(per_item) == 21
    assert per_item[7] == [
        {**per_item[7][0], "status": "rejected", "s3_uri": None, "code": "moderation_blocked", "cost_usd": 0.0}
    ]
    landed = [records[0] for number, records in enumerate(per_item) if number != 7]
    assert all(record["status"] == "landed" for record in landed)
    assert len(images_in(s3)) == 20
    assert len(uploads(api)) == 1, "one input file"
    assert len(api.batches) == 1, "one batch"
    assert api.batches[0].endpoint == "/v1/images/generations"
    assert api.requests_to("generations") == [], "nothing went through the synchronous endpoint"
    assert all(stored.deleted for stored in api.files.values()), "input, output and error files deleted once landed"

    prices = PriceTable()
    for record in landed:
        sidecar = json.loads(bucket_objects(s3)[record["key"].rsplit(".", 1)[0] + ".json"]["Body"])
        usage = ImagesUsage.from_json(sidecar["provenance"]["usage"])
        synchronous = prices.answer_cost("gpt-image-2.5-flare", images=1, usage=usage, quality="low", size="1024x1024")
        assert synchronous
        assert record["cost_usd"] == pytest.approx(synchronous / 2, abs=1e-6), (
            "half the synchronous price (to 6 places)"
        )
        assert record["batch_id"] == api.batches[0].id
    assert sum(record["cost_usd"] for record in landed) == pytest.approx(api.batch_billed_usd, abs=2e-5)
    assert api.batch_billed_images == 20

    api.requests.clear()
    output = tasks_test("batch_generate", "generate", run.run_id)  # the same task instance again
    assert api.requests == [], "no batch created, no request sent"
    assert len(api.batches) == 1
    assert "Nothing to send" in output


def test_a_retry_after_the_try_failed_while_deferred_re_attaches_and_pays_once(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    api.inject(Fault.server_error(endpoint="file_content", times=3))  # the trigger cannot read the output
    run = run_dag(dagbag, "batch_generate", count=6)
    assert run.state == "failed"
    prefix = prefix_of(run, "batch_generate")
    record = batch_record(s3, prefix)
    assert record["finished"] is False
    assert images_in(s3) == {}

    output = tasks_test("batch_generate", "generate", run.run_id)  # the retry, in a new worker process
    assert f"Re-attaching to batch {record['batch_id']}" in output
    assert len(api.batches) == 1, "the retry waited for the same batch"
    assert len(uploads(api)) == 1
    assert api.batch_billed_images == 6, "every image paid for once"
    assert len(images_in(s3)) == 6
    assert batch_record(s3, prefix)["finished"] is True


def test_a_batch_created_by_a_worker_that_died_before_recording_it_is_found_by_its_metadata(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    api.inject(Fault.server_error(endpoint="file_content", times=3))
    run = run_dag(dagbag, "batch_generate", count=4)
    prefix = prefix_of(run, "batch_generate")
    batch_id = batch_record(s3, prefix)["batch_id"]
    s3.delete_object(Bucket=BUCKET, Key=f"{prefix}/batch.json")  # as if the worker died before writing it

    output = tasks_test("batch_generate", "generate", run.run_id)
    assert f"Found batch {batch_id} of this task instance" in output
    assert len(api.batches) == 1
    assert len(uploads(api)) == 1, "not even the input file was uploaded again"
    assert api.batch_billed_images == 4
    assert len(images_in(s3)) == 4


def test_a_retry_after_half_the_output_landed_lands_the_rest_and_pays_nothing(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    api.inject(Fault.truncated_body(endpoint="file_content", times=1))  # the stream is cut halfway through
    run = run_dag(dagbag, "batch_generate", count=10)
    assert run.state == "failed"
    landed_first = len(images_in(s3))
    assert 0 < landed_first < 10, "part of the output landed before the cut"
    api.requests.clear()

    output = tasks_test("batch_generate", "generate", run.run_id)
    assert len(images_in(s3)) == 10
    assert len(api.batches) == 1
    assert api.batch_billed_images == 10, "the retry paid nothing"
    assert [r.endpoint for r in api.requests].count("batches") == 0, "no batch created or looked up"
    assert f"{10 - landed_first} images landed" in output


def test_an_expired_batch_lands_what_it_finished_and_a_retry_sends_only_the_rest(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    api.inject_batch(BatchFault.expire_after(4))
    run = run_dag(dagbag, "batch_generate", count=10)
    assert run.state == "success"
    (per_item,) = return_values(run, "generate")
    statuses = [records[0]["status"] for records in per_item]
    assert statuses.count("landed") == 4
    assert statuses.count("failed") == 6
    assert all("batch_expired" in records[0]["message"] for records in per_item if records[0]["status"] == "failed")

    tasks_test("batch_generate", "generate", run.run_id)
    assert len(api.batches) == 2, "a second batch, for what the first did not run"
    assert api.batches[1].total == 6
    assert api.batch_billed_images == 10, "each image paid once"
    assert len(images_in(s3)) == 10
    record = batch_record(s3, prefix_of(run, "batch_generate"))
    assert (record["number"], record["previous"]) == (2, [api.batches[0].id])


def _bad_lines(line: Line) -> list[Line | bytes]:
    """Item 2's line cut short (not JSON), item 4's image not base64, and a line for no item of ours."""
    if line["custom_id"] == "item-00002":
        return [json.dumps(line).encode()[:200]]
    if line["custom_id"] == "item-00004":
        line["response"]["body"]["data"][0]["b64_json"] = "!! not base64 !!"
    if line["custom_id"] == "item-00000":
        return [line, {**line, "custom_id": "../item-00000"}]
    return [line]


def test_bad_output_lines_fail_only_their_items_and_a_retry_sends_only_those(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    craft_in_emulator(monkeypatch, output=_bad_lines)
    run = run_dag(dagbag, "batch_generate", count=6)
    assert run.state == "success", "on_item_error='record': the bad lines are their items' failures"
    (per_item,) = return_values(run, "generate")
    assert [records[0]["status"] for records in per_item] == [
        "landed",
        "landed",
        "failed",
        "landed",
        "failed",
        "landed",
    ]
    assert "its answer may be one of them" in per_item[2][0]["message"]
    assert "image 0: b64_json is not valid base64" in per_item[4][0]["message"]
    assert len(images_in(s3)) == 4
    prefix = prefix_of(run, "batch_generate")
    manifest = [json.loads(line) for line in bucket_objects(s3)[f"{prefix}/manifest.jsonl"]["Body"].splitlines()]
    unknown = [entry for entry in manifest if entry["item"] is None]
    assert sorted(str(entry["custom_id"]) for entry in unknown) == ["../item-00000", "None"]  # in any order
    assert all(entry["status"] == "unknown_line" and entry["file_id"] == api.batches[0].output_file_id
               for entry in unknown)  # fmt: skip
    record = batch_record(s3, prefix)
    assert (record["finished"], record["final_failures"], len(record["unknown_lines"])) == (True, {}, 2)
    assert not api.files[unknown[0]["file_id"]].deleted, "the files with bad lines are kept"

    output = tasks_test("batch_generate", "generate", run.run_id)  # the retry
    assert len(api.batches) == 2
    assert api.batches[1].total == 2, "only the two items whose images did not land"
    assert api.batch_billed_images == 6 + 2, "their images again, nothing else (retry_possibly_billed is on)"
    assert len(images_in(s3)) == 6
    assert "2 images landed" in output
    again = [json.loads(line) for line in bucket_objects(s3)[f"{prefix}/manifest.jsonl"]["Body"].splitlines()]
    assert [entry for entry in again if entry["item"] is None] == unknown, "the first batch's unknown lines stay"


def test_a_batch_still_running_at_batch_timeout_is_cancelled_and_what_it_finished_lands(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    api.inject_batch(BatchFault.stall_after(3))
    run = run_dag(dagbag, "batch_generate_strict", count=8, batch_timeout=1)
    assert run.state == "failed", "on_item_error='fail': the unrun items fail the task"
    assert api.batches[0].status == "cancelled"
    assert len(images_in(s3)) == 3
    manifest = bucket_objects(s3)[f"{prefix_of(run, 'batch_generate_strict')}/manifest.jsonl"]["Body"].decode()
    lines = [json.loads(line) for line in manifest.splitlines()]
    assert [line["status"] for line in lines].count("failed") == 5
    assert all("batch_cancelled" in line["message"] for line in lines if line["status"] == "failed")


def test_a_killed_task_cancels_its_batch(api: ImagesAPIEmulator) -> None:
    import asyncio

    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.triggers import OpenAIImagesBatchTrigger

    api.inject_batch(BatchFault.stall_after(0))
    client = OpenAIImagesHook().get_async_batch_client()

    async def create() -> str:
        uploaded = await client.upload_file(_one_line_file(), "in.jsonl")
        batch = await client.create_batch(uploaded["id"], "/v1/images/generations", {})
        await client.aclose()
        return batch["id"]

    batch_id = asyncio.run(create())
    spec: Any = {"batch_id": batch_id}
    asyncio.run(OpenAIImagesBatchTrigger(spec, conn_id="openai_images_default", cancel_on_kill=True).on_kill())
    assert api.wait_for_batch(batch_id).status == "cancelled"
    api.inject_batch(BatchFault.stall_after(0))
    kept = asyncio.run(create_again(api))
    asyncio.run(OpenAIImagesBatchTrigger({"batch_id": kept}, "openai_images_default", cancel_on_kill=False).on_kill())  # type: ignore[arg-type]
    assert not next(batch for batch in api.batches if batch.id == kept).cancel_requested


@pytest.mark.parametrize("calls_on_kill", [True, False], ids=["airflow-3.3", "airflow-3.2"])
def test_on_airflow_3_2_the_trigger_logs_that_a_killed_task_leaves_its_batch_running(
    calls_on_kill: bool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Airflow 3.2's triggerer never calls ``on_kill``: the batch trigger says so when it starts waiting."""
    import asyncio

    from airflow_provider_openai_images.triggers import batch

    async def waited(*args: Any, **kwargs: Any) -> Any:
        return {"items": [], "manifest_uri": None}

    monkeypatch.setattr(batch, "run_batch_job", waited)
    monkeypatch.setattr(batch, "triggerer_calls_on_kill", lambda: calls_on_kill)
    trigger = batch.OpenAIImagesBatchTrigger({"batch_id": "batch_1"}, "openai_images_default")  # type: ignore[typeddict-item]
    asyncio.run(trigger.run_job(hook=None, s3_hook=None))  # type: ignore[arg-type]
    logged = caplog.text + capsys.readouterr().out  # the trigger's logger may be structlog's (to stdout)
    warned = "killing this task while it waits will not cancel batch batch_1" in logged
    assert warned is not calls_on_kill
    assert not warned or "cancel_on_kill in the triggerer needs Airflow 3.3 or newer" in logged


async def create_again(api: ImagesAPIEmulator) -> str:
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

    client = OpenAIImagesHook().get_async_batch_client()
    try:
        uploaded = await client.upload_file(_one_line_file(), "in.jsonl")
        return (await client.create_batch(uploaded["id"], "/v1/images/generations", {}))["id"]
    finally:
        await client.aclose()


def _one_line_file() -> Any:
    import io

    line = {"custom_id": "item-00000", "method": "POST", "url": "/v1/images/generations",
            "body": {"model": "gpt-image-2.5-flare", "prompt": "p"}}  # fmt: skip
    return io.BytesIO(json.dumps(line).encode() + b"\n")


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"count": 0}, "Invalid prompts='[]'"),
        ({"batch_timeout": 0}, "Invalid batch_timeout='0'"),
        ({"count": 3, "size": "999x999"}, "Invalid prompts[0].size='999x999'"),
    ],
)
def test_bad_input_fails_at_try_one_before_anything_is_uploaded(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, conf: dict[str, Any], message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    run = run_dag(dagbag, "batch_generate_strict", **conf)
    assert run.state == "failed"
    assert api.requests == [], "nothing sent, nothing uploaded"
    assert message in capfd.readouterr().out


def test_a_gpt_image_edit_goes_through_a_batch_as_a_json_edit_with_its_prepared_input(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    run = run_dag(dagbag, "batch_edit")
    assert run.state == "success"
    (records,) = return_values(run, "edit")
    assert [record["status"] for record in records] == ["landed"]
    assert records[0]["batch_id"] == api.batches[0].id
    assert api.batches[0].endpoint == "/v1/images/edits"
    assert api.requests_to("edits") == []
    assert api.batch_billed_images == 1
