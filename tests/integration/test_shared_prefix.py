"""Two runs never share images by accident: a run whose prefix holds another run's images fails at try 1,
naming that run and the way out, and neither returns nor overwrites them; run ids that sanitise alike get
prefixes of their own."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from airflow_provider_openai_images.testing import ImagesAPIEmulator

from .conftest import images_in, return_values, run_dag


def test_a_second_run_on_a_shared_prefix_fails_at_try_1_and_leaves_the_first_run_s_images_alone(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    first = run_dag(dagbag, "fault_injection_shared_prefix")
    assert first.state == "success"
    before = {key: hashlib.sha256(body).hexdigest() for key, body in images_in(s3).items()}
    assert len(before) == 2
    api.requests.clear()

    second = run_dag(dagbag, "fault_injection_shared_prefix")
    assert second.state == "failed"
    (task_instance,) = second.get_task_instances()
    assert task_instance.try_number == 1, "failed at once: a retry would meet the same images"
    output = capfd.readouterr().out
    assert f"run {first.run_id}" in output, "names the run whose images are there"
    assert "overwrite=True" in output
    assert api.requests == [], "nothing sent"
    assert {key: hashlib.sha256(body).hexdigest() for key, body in images_in(s3).items()} == before
    assert return_values(second, "generate") == [], "the first run's images are not returned as the second's"


def test_the_run_that_owns_the_prefix_still_recovers_its_own_images(
    dagbag: Any, api: ImagesAPIEmulator, s3: Any
) -> None:
    from .conftest import tasks_test

    run = run_dag(dagbag, "fault_injection_shared_prefix")
    assert run.state == "success"
    output = tasks_test("fault_injection_shared_prefix", "generate", run.run_id)
    assert "2 of 2 images already landed" in output
    assert len(api.requests_to("generations")) == 1
