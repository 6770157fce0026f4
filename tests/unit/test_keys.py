"""The S3 key layout: one prefix per task instance, safe segments whatever run and task ids hold."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_openai_images.keys import image_key, key_segment, task_instance_prefix

SAFE = re.compile(r"[A-Za-z0-9._=-]+")


@pytest.mark.parametrize(
    ("value", "readable"),
    [
        ("manual__2026-11-22T04:55:57.123456+00:00", "manual__2026-11-22T04_55_57.123456_00_00"),
        ("scheduled__2026-01-01T00:00:00+00:00", "scheduled__2026-01-01T00_00_00_00_00"),
        ("a b/c", "a_b_c"),
        (":::", "_"),
        ("..", ".."),
    ],
)
def test_a_sanitised_segment_stays_readable_and_gains_the_raw_value_s_hash(value: str, readable: str) -> None:
    segment = key_segment(value)
    assert segment.startswith(f"{readable}--h")
    assert len(segment) == len(readable) + 3 + 12
    assert SAFE.fullmatch(segment)


@pytest.mark.parametrize("value", ["group.task", "scheduled__2026-01-01", "manual__1", "asset_triggered__x=1"])
def test_a_safe_value_stays_as_it_is_so_existing_prefixes_stay_valid(value: str) -> None:
    assert key_segment(value) == value


def test_run_ids_that_sanitise_alike_never_share_a_segment() -> None:
    """The review's case: ``nightly:2026-12-01`` and ``nightly+2026-12-01`` used to share one prefix."""
    assert key_segment("nightly:2026-12-01") != key_segment("nightly+2026-12-01")
    assert key_segment("nightly_2026-12-01") == "nightly_2026-12-01"
    assert key_segment(key_segment("nightly:2026-12-01")) != key_segment("nightly:2026-12-01"), "looks hashed: hashed"


run_ids = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=":+_ .T0123456789-", max_size=30),
    st.from_regex(r"(manual|scheduled)__2026-12-0[1-3]T0[0-9]:00:00[+_:]00:00", fullmatch=True),
)


@given(first=run_ids, second=run_ids)
def test_key_segment_is_injective_and_always_safe(first: str, second: str) -> None:
    assert SAFE.fullmatch(key_segment(first))
    assert key_segment(first) not in (".", "..")
    if first != second:
        assert key_segment(first) != key_segment(second)


def test_the_default_prefix_names_dag_run_and_task() -> None:
    prefix = task_instance_prefix(None, dag_id="d", run_id="manual__2026-01-01T00:00:00+00:00", task_id="t",
                                  map_index=-1)  # fmt: skip
    assert prefix == f"openai-images/d/{key_segment('manual__2026-01-01T00:00:00+00:00')}/t"
    assert prefix.startswith("openai-images/d/manual__2026-01-01T00_00_00_00_00--h")


def test_a_given_prefix_is_kept_and_mapped_task_instances_get_their_own() -> None:
    assert task_instance_prefix("/content/2026-11-22/", dag_id="d", run_id="r", task_id="t", map_index=None) == (
        "content/2026-11-22/t"
    )
    assert task_instance_prefix("content", dag_id="d", run_id="r", task_id="t", map_index=7) == "content/t/map-7"
    assert task_instance_prefix("", dag_id="d", run_id="r", task_id="t", map_index=0) == "openai-images/d/r/t/map-0"


def test_image_and_sidecar_keys() -> None:
    assert image_key("p/t", 3, "png") == "p/t/003.png"
    assert image_key("p/t", 12, "json") == "p/t/012.json"
