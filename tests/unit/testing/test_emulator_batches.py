"""The emulator's Files and Batch APIs in-process (no sockets): files, the batch life cycle, line and
file validation, scripted fates, cancellation, JSON edits, billing at batch price, and answers valid
against the packaged Batch and Files OpenAPI document."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_openai_images.testing import BatchFault, Fault, ImagesAPIEmulator
from airflow_provider_openai_images.testing.emulator.batches import lines as batch_lines
from airflow_provider_openai_images.testing.emulator.batches.output import shuffled_order
from airflow_provider_openai_images.testing.emulator.specs import batch_spec_validator, spec_validator
from tests.imagefactory import decode, picture, transparent_mask

pytest_plugins = ["pytester"]

GENERATIONS, EDITS = "/v1/images/generations", "/v1/images/edits"
BODY = {"model": "gpt-image-2.5-flare", "prompt": "an otter", "quality": "low", "size": "1024x1024"}


@pytest.fixture
def batch_emulator(emulator: ImagesAPIEmulator) -> ImagesAPIEmulator:
    emulator.batch_phase_seconds = 0.03
    return emulator


@pytest.fixture
def client(batch_emulator: ImagesAPIEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {batch_emulator.api_key}"}
    with httpx.Client(transport=batch_emulator.transport(), base_url=batch_emulator.base_url, headers=headers) as http:
        yield http


def valid(schema: str, payload: Any) -> Any:
    """``payload``, once checked against ``schema`` of the Batch and Files document."""
    assert [error.message for error in batch_spec_validator(schema).iter_errors(payload)] == []
    return payload


def line(custom_id: str, body: Any = None, url: str = GENERATIONS, method: str = "POST") -> dict[str, Any]:
    return {"custom_id": custom_id, "method": method, "url": url, "body": BODY if body is None else body}


def upload(client: httpx.Client, content: bytes | list[dict[str, Any]], purpose: str = "batch") -> str:
    if isinstance(content, list):
        content = b"".join(json.dumps(each).encode() + b"\n" for each in content)
    answer = client.post(
        "/files", files={"file": ("input.jsonl", content, "application/jsonl")}, data={"purpose": purpose}
    )
    assert answer.status_code == 200, answer.text
    return str(valid("OpenAIFile", answer.json())["id"])


def create(client: httpx.Client, lines: list[dict[str, Any]] | bytes, endpoint: str = GENERATIONS) -> str:
    request = {"input_file_id": upload(client, lines), "endpoint": endpoint, "completion_window": "24h"}
    answer = client.post("/batches", json=request)
    assert answer.status_code == 200, answer.text
    assert valid("Batch", answer.json())["status"] == "validating"
    return str(answer.json()["id"])


def finished(client: httpx.Client, batch_id: str, timeout: float = 10.0) -> tuple[list[str], dict[str, Any]]:
    """Poll until the batch is terminal: every status seen, in order, and the last answer."""
    statuses: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = valid("Batch", client.get(f"/batches/{batch_id}").json())
        if not statuses or statuses[-1] != batch["status"]:
            statuses.append(batch["status"])
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return statuses, batch
        time.sleep(0.003)
    raise AssertionError(f"batch still {statuses[-1]} after {timeout} s")


def content(client: httpx.Client, file_id: str) -> list[dict[str, Any]]:
    raw = client.get(f"/files/{file_id}/content").content
    assert raw.endswith(b"\n")
    return [json.loads(each) for each in raw.split(b"\n")[:-1]]


def data_url(image: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(image).decode()}"


def test_files_are_uploaded_listed_retrieved_downloaded_and_deleted(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    first, second = upload(client, b'{"a": 1}\n'), upload(client, b"notes", purpose="user_data")
    stored = client.get(f"/files/{first}").json()
    assert stored["bytes"] == 9
    assert stored["filename"] == "input.jsonl"
    assert stored["purpose"] == "batch"
    assert stored["expires_at"] == stored["created_at"] + 30 * 24 * 3600
    assert "expires_at" not in client.get(f"/files/{second}").json()
    assert client.get(f"/files/{first}/content").content == b'{"a": 1}\n'
    listed = valid("ListFilesResponse", client.get("/files").json())
    assert [each["id"] for each in listed["data"]] == [second, first], "newest first by default"
    page = valid("ListFilesResponse", client.get("/files", params={"limit": 1, "order": "asc"}).json())
    assert ([each["id"] for each in page["data"]], page["has_more"]) == ([first], True)
    rest = client.get("/files", params={"limit": 1, "order": "asc", "after": first}).json()
    assert ([each["id"] for each in rest["data"]], rest["has_more"]) == ([second], False)
    assert [each["id"] for each in client.get("/files", params={"purpose": "user_data"}).json()["data"]] == [second]
    deleted = valid("DeleteFileResponse", client.delete(f"/files/{first}").json())
    assert deleted == {"id": first, "object": "file", "deleted": True}
    gone = {
        "error": {
            "message": f"No such File object: {first}",
            "type": "invalid_request_error",
            "param": "id",
            "code": None,
        }
    }
    for path in (f"/files/{first}", f"/files/{first}/content"):
        assert (client.get(path).status_code, client.get(path).json()) == (404, gone)
    assert client.delete(f"/files/{first}").status_code == 404
    assert [each["id"] for each in client.get("/files").json()["data"]] == [second]
    assert batch_emulator.files[first].deleted
    assert not batch_emulator.files[first].path.exists()
    assert [r.endpoint for r in batch_emulator.requests][:5] == ["files", "files", "file", "file", "file_content"]
    assert batch_emulator.requests_to("files")[0].files[0].content == b"", "the content is on disk, not recorded"


def test_files_and_batches_refuse_a_bad_key_a_bad_purpose_and_a_missing_file_part(client: httpx.Client) -> None:
    for method, path in (("GET", "/files"), ("GET", "/batches"), ("POST", "/batches"), ("GET", "/files/file-x")):
        assert client.request(method, path, json={}, headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
    bad_purpose = client.post("/files", files={"file": ("a.jsonl", b"{}")}, data={"purpose": "batch_output"})
    assert (bad_purpose.status_code, bad_purpose.json()["error"]["param"]) == (400, "purpose")
    assert client.post("/files", data={"purpose": "batch"}, files={"other": ("a", b"x")}).status_code == 400
    assert client.get("/batches/batch_unknown").status_code == 404


def test_a_batch_goes_through_every_status_to_completed_with_shuffled_output(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    lines = [line(f"request-{index}", {**BODY, "prompt": f"otter {index}"}) for index in range(6)]
    batch_id = create(client, lines)
    statuses, batch = finished(client, batch_id)
    assert statuses == ["validating", "in_progress", "finalizing", "completed"]
    stamps = [batch[name] for name in ("created_at", "in_progress_at", "finalizing_at", "completed_at")]
    assert stamps == sorted(stamps)
    assert batch["expires_at"] == batch["created_at"] + 24 * 3600
    assert batch["request_counts"] == {"total": 6, "completed": 6, "failed": 0}
    assert batch["model"] == "gpt-image-2.5-flare"
    assert "error_file_id" not in batch
    output = content(client, batch["output_file_id"])
    custom_ids = [each["custom_id"] for each in output]
    assert sorted(custom_ids) == sorted(each["custom_id"] for each in lines)
    assert custom_ids != [each["custom_id"] for each in lines], "output is not in input order"
    for each in output:
        assert each["id"].startswith("batch_req_")
        assert each["error"] is None
        assert each["response"]["status_code"] == 200
        assert each["response"]["request_id"].startswith("req_")
        assert list(spec_validator("ImagesResponse").iter_errors(each["response"]["body"])) == []
    assert batch["usage"]["output_tokens"] == sum(each["response"]["body"]["usage"]["output_tokens"] for each in output)
    stored = batch_emulator.files[batch["output_file_id"]]
    assert (stored.purpose, stored.filename) == ("batch_output", f"{batch_id}_output.jsonl")
    (record,) = batch_emulator.batches
    assert (record.lines_processed, record.billed_images, record.cancel_requested) == (6, 6, False)
    assert [r.endpoint for r in batch_emulator.requests][2:4] == ["batch", "batch"]


def test_shuffled_order_is_deterministic_and_never_the_input_order() -> None:
    for count in range(2, 30):
        order = shuffled_order(count, f"batch_{count}")
        assert sorted(order) == list(range(count))
        assert order != list(range(count))
        assert order == shuffled_order(count, f"batch_{count}")


def test_refused_bodies_and_blocked_prompts_go_to_the_error_file_unbilled(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    batch_emulator.blocked_prompt_words.add("Forbidden")
    batch_emulator.unavailable_models.add("gpt-image-2")
    lines = [
        line("fine"),
        line("url-for-gpt", {**BODY, "response_format": "url"}),
        line("blocked", {**BODY, "prompt": "a FORBIDDEN otter"}),
        line("gone", {**BODY, "model": "gpt-image-2"}),
        line("retired", {"model": "dall-e-3", "prompt": "an otter"}),
        line("no-body", "not an object"),
    ]
    _, batch = finished(client, create(client, lines))
    assert batch["status"] == "completed"
    assert batch["request_counts"] == {"total": 6, "completed": 1, "failed": 5}
    errors = {each["custom_id"]: each for each in content(client, batch["error_file_id"])}
    assert {name: each["response"]["status_code"] for name, each in errors.items()} == {
        "url-for-gpt": 400, "blocked": 400, "gone": 404, "retired": 404, "no-body": 400,
    }  # fmt: skip
    assert errors["blocked"]["response"]["body"] == {"error": Fault.content_policy("gpt-image").error}
    for name in ("gone", "retired"):
        assert errors[name]["response"]["body"]["error"]["code"] == "model_not_found"
    assert all(each["error"] is None for each in errors.values())
    assert [each["custom_id"] for each in content(client, batch["output_file_id"])] == ["fine"]
    assert batch_emulator.batch_billed_images == 1
    refused = client.post("/images/generations", json={**BODY, "prompt": "forbidden fruit"})
    assert (refused.status_code, refused.json()) == (400, {"error": Fault.content_policy("gpt-image").error})
    assert batch_emulator.billed_images == 0


@pytest.mark.parametrize(
    ("content", "errors"),
    [
        (
            [line("a"), line("b", url=EDITS), line("a"), line("c", method="GET"), {"method": "POST"}, [1]],
            [
                ("url_mismatch", "url", 2), ("duplicate_custom_id", "custom_id", 3), ("invalid_method", "method", 4),
                ("missing_required_parameter", "custom_id", 5), ("invalid_json_line", None, 6),
            ],
        ),
        (b'{"custom_id": "a", "method": "POST", "url": "/v1/images/generations", "body": {}}\n{not json\n',
         [("invalid_json_line", None, 2)]),
        (b"", [("empty_file", None, None)]),
        (b'{"custom_id": 1}\n' * 50_001, [("too_many_tasks", None, None)]),
    ],
    ids=["line-problems", "not-json", "empty", "too-many"],
)  # fmt: skip
def test_an_invalid_input_file_fails_the_batch_with_line_numbers(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client, content: Any, errors: list[Any]
) -> None:
    statuses, batch = finished(client, create(client, content))
    assert statuses == ["validating", "failed"]
    found = [(error["code"], error["param"], error["line"]) for error in batch["errors"]["data"]]
    assert found[: len(errors)] == errors
    assert "output_file_id" not in batch
    assert "error_file_id" not in batch
    assert batch["failed_at"] >= batch["created_at"]
    assert batch_emulator.batch_billed_images == 0


def test_an_input_file_over_the_size_limit_fails_the_batch(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert batch_lines.MAX_FILE_BYTES == 200 * 1024 * 1024
    monkeypatch.setattr(batch_lines, "MAX_FILE_BYTES", 100)  # rather than writing 200 MB
    _, batch = finished(client, create(client, [line(f"r{index}") for index in range(2)]))
    assert [(error["code"], error["line"]) for error in batch["errors"]["data"]] == [("file_too_large", None)]


def test_create_batch_refuses_what_the_api_refuses(client: httpx.Client) -> None:
    file_id, other = upload(client, [line("a")]), upload(client, b"x", purpose="user_data")
    good = {"input_file_id": file_id, "endpoint": GENERATIONS, "completion_window": "24h"}
    refusals = [
        ({**good, "completion_window": "48h"}, "completion_window"),
        ({key: value for key, value in good.items() if key != "endpoint"}, None),
        ({**good, "endpoint": "/v1/chat/completions"}, "endpoint"),
        ({**good, "input_file_id": "file-unknown"}, "input_file_id"),
        ({**good, "input_file_id": other}, "input_file_id"),
        ({**good, "metadata": {f"k{index}": "v" for index in range(17)}}, "metadata"),
        ({**good, "metadata": {"k" * 65: "v"}}, "metadata"),
        ({**good, "metadata": {"k": "v" * 513}}, "metadata"),
    ]
    for request, param in refusals:
        answer = client.post("/batches", json=request)
        assert (answer.status_code, answer.json()["error"]["param"]) == (400, param), request
    assert "only emulates the Images API" in client.post("/batches", json=refusals[2][0]).json()["error"]["message"]
    assert client.post("/batches", json={**good, "metadata": {"k" * 64: "v" * 512}}).status_code == 200


def test_batches_are_listed_newest_first_page_by_page(client: httpx.Client) -> None:
    ids = [create(client, [line("a")]) for _ in range(3)]
    page = valid("ListBatchesResponse", client.get("/batches", params={"limit": 2}).json())
    assert ([each["id"] for each in page["data"]], page["has_more"]) == (ids[:0:-1], True)
    assert (page["first_id"], page["last_id"]) == (ids[2], ids[1])
    rest = valid("ListBatchesResponse", client.get("/batches", params={"limit": 2, "after": page["last_id"]}).json())
    assert ([each["id"] for each in rest["data"]], rest["has_more"]) == ([ids[0]], False)
    assert client.get("/batches", params={"limit": 101}).status_code == 400


def test_a_stalled_batch_stays_in_progress_until_cancelled(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    batch_emulator.inject_batch(BatchFault.stall_after(1))
    batch_id = create(client, [line(f"r{index}") for index in range(3)])
    batch_emulator.wait_for_batch(batch_id, "in_progress")
    time.sleep(batch_emulator.batch_phase_seconds * 4)
    (record,) = batch_emulator.batches
    assert (record.status, record.lines_processed) == ("in_progress", 1)
    cancelling = valid("Batch", client.post(f"/batches/{batch_id}/cancel").json())
    assert cancelling["status"] == "cancelling"
    assert cancelling["cancelling_at"] >= cancelling["created_at"]
    statuses, batch = finished(client, batch_id)
    assert statuses == ["cancelling", "cancelled"]
    assert "cancelled_at" in batch
    assert [each["custom_id"] for each in content(client, batch["output_file_id"])] == ["r0"]
    unexecuted = content(client, batch["error_file_id"])
    assert sorted(each["custom_id"] for each in unexecuted) == ["r1", "r2"]
    assert {(each["response"], each["error"]["code"]) for each in unexecuted} == {(None, "batch_cancelled")}
    refused = client.post(f"/batches/{batch_id}/cancel")
    assert refused.status_code == 409
    assert "cancel" in refused.json()["error"]["message"]
    assert batch_emulator.batches[0].cancel_requested
    assert batch_emulator.batch_billed_images == 1


def test_a_batch_cancelled_while_validating_executes_nothing(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    batch_emulator.batch_phase_seconds = 0.2
    batch_id = create(client, [line("a")])
    assert client.post(f"/batches/{batch_id}/cancel").json()["status"] == "cancelling"
    statuses, _batch = finished(client, batch_id)
    assert statuses == ["cancelling", "cancelled"]
    assert batch_emulator.batch_billed_images == 0


def test_scripted_failure_and_expiry(batch_emulator: ImagesAPIEmulator, client: httpx.Client) -> None:
    batch_emulator.inject_batch(
        BatchFault.fail(code="token_limit_exceeded", message="Too many."), BatchFault.expire_after(2)
    )
    _, failed = finished(client, create(client, [line("a")]))
    assert failed["status"] == "failed"
    assert failed["errors"]["data"] == [
        {"code": "token_limit_exceeded", "message": "Too many.", "param": None, "line": None}
    ]
    assert batch_emulator.batch_billed_images == 0
    statuses, expired = finished(client, create(client, [line(f"r{index}") for index in range(4)]))
    assert statuses[-1] == "expired"
    assert "finalizing" not in statuses
    assert "expired_at" in expired
    assert len(content(client, expired["output_file_id"])) == 2
    message = "This request could not be executed before the completion window expired."
    errors = content(client, expired["error_file_id"])
    assert [(each["response"], each["error"]) for each in errors] == [
        (None, {"code": "batch_expired", "message": message})
    ] * 2
    assert expired["request_counts"] == {"total": 4, "completed": 2, "failed": 2}
    assert batch_emulator.batch_billed_images == 2


def test_json_edits_take_data_urls_and_file_ids_in_batches_and_synchronously(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    image, mask = picture(256, 256), transparent_mask(256, 256)
    image_file = upload(client, image, purpose="vision")
    edit = {"model": "gpt-image-2.5-sunburst", "prompt": "add a ribbon", "quality": "low", "size": "1024x1536"}
    lines = [
        line(
            "by-data-url",
            {**edit, "images": [{"image_url": data_url(image)}], "mask": {"image_url": data_url(mask)}},
            EDITS,
        ),
        line("by-file-id", {**edit, "images": [{"file_id": image_file}]}, EDITS),
        line("by-web-url", {**edit, "images": [{"image_url": "https://example.com/a.png"}]}, EDITS),
        line(
            "bad-mask",
            {**edit, "images": [{"file_id": image_file}], "mask": {"image_url": data_url(picture(64, 64))}},
            EDITS,
        ),
        line("unknown-file", {**edit, "images": [{"file_id": "file-nothing"}]}, EDITS),
    ]
    _, batch = finished(client, create(client, lines, endpoint=EDITS))
    answers = {each["custom_id"]: each["response"]["body"] for each in content(client, batch["output_file_id"])}
    assert sorted(answers) == ["by-data-url", "by-file-id"]
    assert all(decode(base64.b64decode(body["data"][0]["b64_json"])).size == (1024, 1536) for body in answers.values())
    refused = {each["custom_id"]: each["response"] for each in content(client, batch["error_file_id"])}
    assert {name: answer["status_code"] for name, answer in refused.items()} == dict.fromkeys(
        ("by-web-url", "bad-mask", "unknown-file"), 400
    )
    assert "offline" in refused["by-web-url"]["body"]["error"]["message"]
    synchronous = client.post("/images/edits", json={**edit, "images": [{"file_id": image_file}]})
    assert synchronous.status_code == 200
    assert batch_emulator.billed_images == 1


def test_batch_images_are_billed_at_half_the_synchronous_price(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    body = {**BODY, "n": 2, "quality": "medium"}
    usage = client.post("/images/generations", json=body).json()["usage"]
    # OpenAI's published gpt-image-2.5 prices, USD per million tokens: text in 5, image in 8, image out 30
    synchronous = (
        usage["input_tokens_details"]["text_tokens"] * 5
        + usage["input_tokens_details"]["image_tokens"] * 8
        + usage["output_tokens_details"]["image_tokens"] * 30
    ) / 1_000_000
    assert usage["output_tokens_details"]["image_tokens"] == 2 * 1760
    finished(client, create(client, [line("a", body), line("b", body)]))
    assert batch_emulator.batch_billed_images == 4
    assert batch_emulator.billed_images == 2
    assert batch_emulator.batch_billed_usd == pytest.approx(synchronous)  # two answers at half price
    assert batch_emulator.batches[0].billed_usd == pytest.approx(synchronous)


def test_faults_target_the_new_endpoints_by_name(batch_emulator: ImagesAPIEmulator, client: httpx.Client) -> None:
    batch_id = create(client, [line("a")])
    batch_emulator.inject(Fault.server_error(endpoint="batch"), Fault.rate_limit(endpoint="file_content"))
    assert client.get(f"/batches/{batch_id}").status_code == 500
    assert client.get(f"/batches/{batch_id}").status_code == 200
    _, batch = finished(client, batch_id)
    assert client.get(f"/files/{batch['output_file_id']}/content").status_code == 429
    assert len(content(client, batch["output_file_id"])) == 1
    assert [(r.endpoint, r.status) for r in batch_emulator.requests_to("batch")][:2] == [("batch", 500), ("batch", 200)]


def test_reset_ends_batch_threads_and_forgets_batches_and_files(
    batch_emulator: ImagesAPIEmulator, client: httpx.Client
) -> None:
    batch_emulator.inject_batch(BatchFault.stall_after(0))
    batch_id = create(client, [line("a")])
    batch_emulator.wait_for_batch(batch_id, "in_progress")
    directory = next(iter(batch_emulator.files.values())).path.parent
    batch_emulator.reset()
    assert not [thread for thread in threading.enumerate() if thread.name == f"images-emulator-{batch_id}"]
    assert (batch_emulator.batches, batch_emulator.files, directory.exists()) == ([], {}, False)
    assert client.get(f"/batches/{batch_id}").status_code == 404


def test_the_async_client_streams_an_output_file(batch_emulator: ImagesAPIEmulator) -> None:
    batch_emulator.incompressible_images = True

    async def scenario() -> tuple[dict[str, Any], list[int]]:
        headers = {"Authorization": f"Bearer {batch_emulator.api_key}"}
        transport = batch_emulator.transport()
        async with httpx.AsyncClient(transport=transport, base_url=batch_emulator.base_url, headers=headers) as http:
            data = json.dumps(line("big")).encode() + b"\n"
            uploaded = await http.post("/files", files={"file": ("in.jsonl", data)}, data={"purpose": "batch"})
            request = {"input_file_id": uploaded.json()["id"], "endpoint": GENERATIONS, "completion_window": "24h"}
            created = await http.post("/batches", json=request)
            await asyncio.to_thread(batch_emulator.wait_for_batch, created.json()["id"])
            batch = (await http.get(f"/batches/{created.json()['id']}")).json()
            async with http.stream("GET", f"/files/{batch['output_file_id']}/content") as response:
                return batch, [len(chunk) async for chunk in response.aiter_raw()]

    batch, chunks = asyncio.run(scenario())
    assert batch["status"] == "completed"
    assert sum(chunks) == batch_emulator.files[batch["output_file_id"]].size > 4_000_000, "a 3 MB noise PNG, in base64"
    assert (max(chunks) <= 64 * 1024, len(chunks) > 60) == (True, True), "read from disk chunk by chunk"


def test_the_fixture_puts_the_batch_settings_back(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from airflow_provider_openai_images.testing import ImagesAPIEmulator

        @pytest.fixture(scope="session")
        def images_api_emulator_server():
            return ImagesAPIEmulator()
        """
    )
    pytester.makepyfile(
        """
        def test_a_changes_them(images_api_emulator):
            images_api_emulator.batch_phase_seconds = 5
            images_api_emulator.batch_seconds_per_line = 1
            images_api_emulator.incompressible_images = True
            images_api_emulator.blocked_prompt_words.add("otter")
            images_api_emulator.add_file(b"x")

        def test_b_finds_them_as_they_were(images_api_emulator):
            emulator = images_api_emulator
            assert (emulator.batch_phase_seconds, emulator.batch_seconds_per_line) == (0.1, 0.0)
            assert (emulator.incompressible_images, emulator.blocked_prompt_words, emulator.files) == (False, set(), {})
        """
    )
    result = pytester.runpytest("-p", "airflow_provider_openai_images.testing.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
