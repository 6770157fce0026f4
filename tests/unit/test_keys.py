"""The S3 key layout: one prefix per task instance, safe segments whatever run and task ids hold."""

from __future__ import annotations

import pytest

from airflow_provider_openai_images.keys import image_key, key_segment, task_instance_prefix


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("manual__2026-11-22T04:55:57.123456+00:00", "manual__2026-11-22T04_55_57.123456_00_00"),
        ("scheduled__2026-01-01T00:00:00+00:00", "scheduled__2026-01-01T00_00_00_00_00"),
        ("group.task", "group.task"),
        ("a b/c", "a_b_c"),
        (":::", "_"),
    ],
)
def test_key_segments_hold_only_safe_characters(value: str, segment: str) -> None:
    assert key_segment(value) == segment


def test_the_default_prefix_names_dag_run_and_task() -> None:
    prefix = task_instance_prefix(None, dag_id="d", run_id="manual__2026-01-01T00:00:00+00:00", task_id="t",
                                  map_index=-1)  # fmt: skip
    assert prefix == "openai-images/d/manual__2026-01-01T00_00_00_00_00/t"


def test_a_given_prefix_is_kept_and_mapped_task_instances_get_their_own() -> None:
    assert task_instance_prefix("/content/2026-11-22/", dag_id="d", run_id="r", task_id="t", map_index=None) == (
        "content/2026-11-22/t"
    )
    assert task_instance_prefix("content", dag_id="d", run_id="r", task_id="t", map_index=7) == "content/t/map-7"
    assert task_instance_prefix("", dag_id="d", run_id="r", task_id="t", map_index=0) == "openai-images/d/r/t/map-0"


def test_image_and_sidecar_keys() -> None:
    assert image_key("p/t", 3, "png") == "p/t/003.png"
    assert image_key("p/t", 12, "json") == "p/t/012.json"
