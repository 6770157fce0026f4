"""The emulator's Files and Batch APIs over real sockets: a batch from upload to output file,
``DELETE``, cancellation, faults on a poll, and an output file of about 50 MB streamed to the client
without the emulator (or the client) holding it in memory."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_openai_images.testing import BatchFault, Fault, ImagesAPIEmulator
from airflow_provider_openai_images.testing.emulator.specs import batch_spec_validator

BODY = {"model": "gpt-image-2.5-flare", "prompt": "an otter", "quality": "low", "size": "1024x1024"}


@pytest.fixture
def emulator(images_api_emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    """The session's emulator over HTTP, with quick batch phases (the fixture puts them back)."""
    images_api_emulator.wait_until_idle()
    images_api_emulator.batch_phase_seconds = 0.03
    return images_api_emulator


@pytest.fixture
def client(emulator: ImagesAPIEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10.0) as http:
        yield http


def valid(schema: str, payload: Any) -> Any:
    assert [error.message for error in batch_spec_validator(schema).iter_errors(payload)] == []
    return payload


def create(client: httpx.Client, count: int, body: dict[str, Any] = BODY) -> tuple[str, str]:
    """Upload ``count`` generation lines and create their batch: (input file id, batch id)."""
    lines = [
        {"custom_id": f"r{index}", "method": "POST", "url": "/v1/images/generations", "body": body}
        for index in range(count)
    ]
    data = b"".join(json.dumps(each).encode() + b"\n" for each in lines)
    uploaded = client.post("/files", files={"file": ("in.jsonl", data, "application/jsonl")}, data={"purpose": "batch"})
    file_id = valid("OpenAIFile", uploaded.json())["id"]
    request = {"input_file_id": file_id, "endpoint": "/v1/images/generations", "completion_window": "24h"}
    created = client.post("/batches", json={**request, "metadata": {"run": "nightly"}})
    assert created.status_code == 200, created.text
    return file_id, valid("Batch", created.json())["id"]


def poll(client: httpx.Client, batch_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = valid("Batch", client.get(f"/batches/{batch_id}").json())
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return batch
        time.sleep(0.01)
    raise AssertionError(f"batch {batch_id} not finished after {timeout} s")


def test_a_batch_over_http_from_upload_to_output_file(emulator: ImagesAPIEmulator, client: httpx.Client) -> None:
    file_id, batch_id = create(client, 3)
    batch = poll(client, batch_id)
    assert (batch["status"], batch["request_counts"]) == ("completed", {"total": 3, "completed": 3, "failed": 0})
    assert batch["metadata"] == {"run": "nightly"}
    listed = valid("ListBatchesResponse", client.get("/batches", params={"limit": 1}).json())
    assert [each["id"] for each in listed["data"]] == [batch_id]
    output = client.get(f"/files/{batch['output_file_id']}/content")
    assert output.headers["content-length"] == str(emulator.files[batch["output_file_id"]].size)
    assert sorted(json.loads(each)["custom_id"] for each in output.content.splitlines()) == ["r0", "r1", "r2"]
    assert valid("DeleteFileResponse", client.delete(f"/files/{file_id}").json())["deleted"] is True
    assert client.delete(f"/files/{file_id}").json()["error"]["message"] == f"No such File object: {file_id}"
    assert emulator.files[file_id].deleted
    assert emulator.batch_billed_images == 3
    assert emulator.billed_images == 0, "batch lines are not synchronous requests"
    endpoints = {request.endpoint for request in emulator.requests}
    assert endpoints == {"files", "batches", "batch", "file_content", "file"}


def test_a_stalled_batch_is_cancelled_over_http_and_a_poll_fails_once(
    emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    emulator.inject_batch(BatchFault.stall_after(2))
    _, batch_id = create(client, 4)
    emulator.wait_for_batch(batch_id, "in_progress")
    emulator.inject(Fault.server_error(endpoint="batch"))
    assert client.get(f"/batches/{batch_id}").status_code == 500
    deadline = time.monotonic() + 10
    while emulator.batches[0].lines_processed < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.get(f"/batches/{batch_id}").json()["status"] == "in_progress"
    assert valid("Batch", client.post(f"/batches/{batch_id}/cancel").json())["status"] == "cancelling"
    batch = poll(client, batch_id)
    assert batch["status"] == "cancelled"
    errors = [json.loads(each) for each in client.get(f"/files/{batch['error_file_id']}/content").content.splitlines()]
    assert sorted(each["custom_id"] for each in errors) == ["r2", "r3"]
    assert {each["error"]["code"] for each in errors} == {"batch_cancelled"}
    assert emulator.batch_billed_images == 2
    assert client.post(f"/batches/{batch_id}/cancel").status_code == 409


def test_a_50_mb_output_file_is_streamed_over_http_in_little_memory(
    emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    emulator.incompressible_images = True
    _, batch_id = create(client, 12)
    batch = poll(client, batch_id)
    size = emulator.files[batch["output_file_id"]].size
    assert size > 50_000_000, "twelve 3 MB noise PNGs, in base64"
    received = 0
    tracemalloc.start()
    try:
        with client.stream("GET", f"/files/{batch['output_file_id']}/content") as response:
            assert response.headers["content-length"] == str(size)
            for chunk in response.iter_raw():
                received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 5_000_000, f"{peak} bytes traced at peak, server thread included: the file went in chunks"
