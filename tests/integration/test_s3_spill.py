"""An ``s3://`` spill path: paid images S3 refused wait in another bucket that every worker reads, through the
task's own AWS connection (its ``endpoint_url``: here moto's server; the real AWS endpoint is not reachable
from the tests, so a spill that went there would fail them), and a retry on another worker lands them without
paying again. A spill that refuses the image too keeps it on the worker's disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.keys import key_segment
from airflow_provider_openai_images.landing.spill import S3Spill, open_spill
from airflow_provider_openai_images.records import Provenance
from airflow_provider_openai_images.testing import ImagesAPIEmulator
from tests.imagefactory import picture
from tests.support.s3_faults import S3Fault, S3FaultProxy

from .conftest import BUCKET, images_in, retry_on_another_worker, run_dag

SPILL_BUCKET = "openai-images-spill"
SPILL_PATH = f"s3://{SPILL_BUCKET}/paid-not-landed"
PROVENANCE = cast(Provenance, {"model": "gpt-image-2.5-flare", "prompt": "a fox", "request_id": "req_1"})


def s3_hook() -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="aws_default")


@pytest.fixture
def spill_bucket(s3: Any) -> Any:
    s3.create_bucket(Bucket=SPILL_BUCKET)
    return s3


def spilled_keys(client: Any) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=SPILL_BUCKET).get("Contents", []))


def test_images_wait_in_the_spill_bucket_through_the_connection_and_half_written_ones_are_not_trusted(
    spill_bucket: Any,
) -> None:
    spill = open_spill(BUCKET, "p/t", SPILL_PATH, s3_hook())
    assert isinstance(spill, S3Spill)
    first, second = picture(8, 8), picture(16, 16)
    assert spill.save(0, first, PROVENANCE) == spill.where
    spill.save(1, second, PROVENANCE)
    keys = spilled_keys(spill_bucket)
    assert len(keys) == 4, "each image and its provenance"
    assert all(key.startswith("paid-not-landed/") for key in keys), keys
    spill_bucket.put_object(Bucket=SPILL_BUCKET, Key=f"{spill.prefix}/002.bin", Body=b"cut before its provenance")
    assert {index: content for index, (content, _) in spill.load().items()} == {0: first, 1: second}
    spill.discard(0)
    assert sorted(spill.load()) == [1]
    assert open_spill(BUCKET, "p/other-task", SPILL_PATH, s3_hook()).load() == {}, "one folder per task instance"


@pytest.mark.parametrize("spill_path", ["s3://", "s3:///no-bucket"])
def test_an_s3_spill_path_without_a_bucket_is_refused_naming_the_parameter(spill_path: str) -> None:
    with pytest.raises(OpenAIImagesValidationError, match="spill_path"):
        open_spill(BUCKET, "p/t", spill_path, s3_hook())


def test_a_spill_that_refuses_the_image_too_keeps_it_on_the_worker(
    spill_bucket: Any, s3_proxy: S3FaultProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("airflow_provider_openai_images.landing.spill.DEFAULT_SPILL_ROOT", tmp_path)
    monkeypatch.setattr("airflow_provider_openai_images.landing.spill.SPILL_WRITE_RETRY", RetryPolicy(max_retries=0))
    spill = open_spill(BUCKET, "p/t", SPILL_PATH, s3_hook())
    s3_proxy.inject(S3Fault.slow_down(times=1000, bucket=SPILL_BUCKET))
    where = spill.save(3, picture(8, 8), PROVENANCE)
    assert str(tmp_path) in where
    assert f"{spill.where} refused it too" in where
    assert sorted(spill.load()) == [3]
    assert spilled_keys(spill_bucket) == []
    s3_proxy.reset()
    spill.discard(3)
    assert spill.load() == {}


def test_with_an_s3_spill_a_retry_on_another_worker_pays_nothing(
    dagbag: Any,
    api: ImagesAPIEmulator,
    s3_proxy: S3FaultProxy,
    spill_bucket: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for name, value in api.connection_env(spill_path=SPILL_PATH, max_retries=1).items():
        monkeypatch.setenv(name, value)
    # image 0 and its sidecar land, then the destination bucket refuses writes; the spill bucket does not
    s3_proxy.inject(S3Fault.slow_down(times=1000, after=2, bucket=BUCKET))
    run = run_dag(dagbag, "fault_injection_single")
    assert run.state == "failed"
    assert api.billed_images == 2
    prefix = f"openai-images/fault_injection_single/{key_segment(run.run_id)}/generate"
    spill = open_spill(BUCKET, prefix, SPILL_PATH, s3_hook())
    assert sorted(spill.load()) == [1], "the image S3 refused waits in the spill bucket"
    s3_proxy.reset()
    output = retry_on_another_worker("fault_injection_single", "generate", run.run_id, tmp_path)
    assert "Landing 1 paid images an earlier try could not write" in output
    assert len(api.requests_to("generations")) == 1, "nothing paid again"
    assert api.billed_images == 2
    assert len(images_in(spill_bucket)) == 2
    assert spilled_keys(spill_bucket) == [], "the spill is emptied once the images landed"


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.integers(0, 4), max_size=3, unique=True),
    st.booleans(),
    st.lists(st.tuples(st.sampled_from(["save", "discard"]), st.integers(0, 4)), max_size=8),
)
def test_the_spill_holds_exactly_what_was_saved_and_not_discarded(
    moto_s3_server: Any, earlier: list[int], listed: bool, operations: Any
) -> None:
    """Whatever an earlier try on another worker left, and whether this spill listed it first (recovery does;
    ``overwrite=True`` does not), a third worker's spill finds exactly what was saved and not discarded."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        from airflow_provider_openai_images.testing.pytest_plugin import fresh_moto_bucket

        fresh_moto_bucket(moto_s3_server, monkeypatch, SPILL_BUCKET)
        expected = {index: picture(4 + index, 5) for index in earlier}
        for index, content in expected.items():
            open_spill(BUCKET, "p/t", SPILL_PATH, s3_hook()).save(index, content, PROVENANCE)
        spill = open_spill(BUCKET, "p/t", SPILL_PATH, s3_hook())
        if listed:
            assert sorted(spill.load()) == sorted(expected)
        for operation, index in operations:
            if operation == "save":
                expected[index] = picture(4 + index, 4)
                spill.save(index, expected[index], PROVENANCE)
            else:
                expected.pop(index, None)
                spill.discard(index)
        elsewhere = open_spill(BUCKET, "p/t", SPILL_PATH, s3_hook())
        assert {index: content for index, (content, _) in elsewhere.load().items()} == expected


def test_landing_with_an_s3_spill_sends_the_spill_nothing_but_one_listing_per_item(
    dagbag: Any, api: ImagesAPIEmulator, s3_proxy: S3FaultProxy, spill_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing waited in the spill: recovery lists it once, and landing removes nothing from it."""
    for name, value in api.connection_env(spill_path=SPILL_PATH).items():
        monkeypatch.setenv(name, value)
    s3_proxy.reset()
    run = run_dag(dagbag, "bulk_generate", count=6, max_concurrency=3)
    assert run.state == "success"
    to_spill = [(r.method, r.path.split("?")[0]) for r in s3_proxy.requests if r.path.startswith(f"/{SPILL_BUCKET}")]
    assert to_spill == [("GET", f"/{SPILL_BUCKET}")] * 6, "one listing per item, no write, no delete"
