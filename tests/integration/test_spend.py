"""Money, end to end through DAG runs: what was paid is what the sidecars say, possibly billed
attempts are recorded (or not risked), budgets stop a run before any request, models that come and go
are followed through the connection, failures that retries cannot fix do not use them, and paid images
survive the worker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.landing.spill import SpillDirectory
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.support.s3_faults import S3Fault, S3FaultProxy

from .conftest import BUCKET, bucket_objects, images_in, retry_on_another_worker, return_values, run_dag

BAD_REQUEST = Fault(
    "status",
    status=400,
    error={"message": "Invalid value for 'background'.", "type": "invalid_request_error",
           "param": "background", "code": "invalid_value"},
)  # fmt: skip


def sidecars(client: Any) -> list[dict[str, Any]]:
    return [json.loads(stored["Body"]) for key, stored in bucket_objects(client).items() if key.endswith("0.json")]


def paid_according_to(sidecar: dict[str, Any]) -> int:
    """Images billed by the answer plus images asked by attempts that may have been billed without one."""
    attempts = sidecar["provenance"]["attempts"]
    answered = sum(a["images_answered"] or 0 for a in attempts if a["outcome"] == "answered")
    return answered + sum(a["images_asked"] for a in attempts if a["possibly_billed"])


def only_try(run: Any) -> Any:
    (task_instance,) = run.get_task_instances()
    return task_instance


def test_a_truncated_answer_is_recorded_as_possibly_billed_and_the_counts_add_up(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    api.inject(Fault.truncated_body())
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "success"
    records = return_values(run, "generate")[0]
    assert all(record["cost_usd"] and record["cost_usd"] > 0 for record in records)
    sidecar = sidecars(s3)[0]
    first, second = sidecar["provenance"]["attempts"]
    assert (first["outcome"], first["possibly_billed"], first["images_asked"]) == ("failed", True, 2)
    assert (second["outcome"], second["possibly_billed"], second["images_answered"]) == ("answered", False, 2)
    assert sidecar["provenance"]["possibly_billed_cost_usd"] > 0
    api.wait_until_idle()
    assert api.billed_images == paid_according_to(sidecar) == 4
    spend = [line for line in capfd.readouterr().out.splitlines() if "Spend of this try" in line]
    assert len(spend) == 1
    assert "2 image(s) answered, $0." in spend[0]
    assert "1 attempt(s) may have been billed without an answer (up to $" in spend[0]


def test_without_retry_possibly_billed_one_request_is_sent_and_the_task_says_it_may_have_been_billed(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    for name, value in api.connection_env(retry_possibly_billed=False, max_retries=3).items():
        monkeypatch.setenv(name, value)
    api.inject(Fault.truncated_body())
    run = run_dag(dagbag, "fault_injection_retrying")
    assert run.state == "failed"
    assert only_try(run).try_number == 1, "not retried by Airflow either"
    assert len(api.requests) == 1
    output = capfd.readouterr().out
    assert "may have been billed" in output
    assert "attempt 1 at 20" in output
    assert images_in(s3) == {}


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"model": "gpt-image-2", "quality": "high", "n": 1, "max_cost_usd": "0.01"}, "max_cost_usd=0.01"),
        (
            {"model": "gpt-image-2.5-flare", "quality": "max", "max_cost_usd": "5"},
            "no per-image price for quality 'max'",
        ),
        ({"n": 3, "max_images": "2"}, "max_images=2, and this asks for 3 images"),
        ({"model": "my-sdxl", "n": 1, "max_cost_usd": "1"}, "price of 'my-sdxl' is unknown"),
    ],
    ids=["cost", "images", "unknown price", "quality without a price"],
)
def test_a_budget_stops_the_task_before_any_request(
    conf: dict[str, Any], message: str, dagbag: Any, api: ImagesAPIEmulator, s3: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    run = run_dag(dagbag, "fault_injection_single", **conf)
    assert run.state == "failed"
    assert api.requests == []
    assert message in capfd.readouterr().out
    assert bucket_objects(s3) == {}


def test_the_connection_default_model_is_what_a_task_without_model_sends(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in api.connection_env(default_model="gpt-image-2").items():
        monkeypatch.setenv(name, value)
    run = run_dag(dagbag, "fault_injection_retrying")
    assert run.state == "success"
    assert api.requests[0].json["model"] == "gpt-image-2"  # type: ignore[index]
    assert return_values(run, "generate")[0][0]["model"] == "gpt-image-2"


@pytest.mark.parametrize(
    "refusal",
    ["model not found", "safety rejection", "other 400"],
)
def test_refusals_a_retry_cannot_fix_fail_at_try_1_of_3(
    refusal: str, dagbag: Any, api: ImagesAPIEmulator, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if refusal == "model not found":
        monkeypatch.setattr(api, "unavailable_models", {"gpt-image-2.5-flare"})
    else:
        api.inject(Fault.content_policy("gpt-image") if refusal == "safety rejection" else BAD_REQUEST)
    run = run_dag(dagbag, "fault_injection_retrying")
    assert run.state == "failed"
    assert dagbag.dags["fault_injection_retrying"].get_task("generate").retries == 2
    assert only_try(run).try_number == 1
    assert len(api.requests) == 1


def test_a_corrupt_image_in_an_answer_never_reaches_s3(dagbag: Any, api: ImagesAPIEmulator, s3: Any) -> None:
    api.inject(Fault.corrupt_image())
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    assert api.billed_images == 2
    assert images_in(s3) == {}
    assert bucket_objects(s3) == {}, "no sidecar either"


def test_with_a_shared_spill_path_a_retry_on_another_worker_pays_nothing(
    dagbag: Any,
    api: ImagesAPIEmulator,
    s3_proxy: S3FaultProxy,
    s3: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared-volume" / "spill"
    for name, value in api.connection_env(spill_path=str(shared), max_retries=1).items():
        monkeypatch.setenv(name, value)
    s3_proxy.inject(S3Fault.slow_down(times=1000, after=2))  # image 0 and its sidecar land, then S3 is down
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    prefix = f"openai-images/fault_injection_single/{key_segment(run.run_id)}/generate"
    assert sorted(SpillDirectory(BUCKET, prefix, str(shared)).load()) == [1]
    assert SpillDirectory(BUCKET, prefix).load() == {}, "nothing on this worker's own disk"
    s3_proxy.reset()
    output = retry_on_another_worker("fault_injection_single", "generate", run.run_id, tmp_path)
    assert "Landing 1 paid images an earlier try could not write" in output
    assert len(api.requests_to("generations")) == 1, "nothing paid again"
    assert len(images_in(s3)) == 2
    assert SpillDirectory(BUCKET, prefix, str(shared)).load() == {}
