"""The gallery's check of a record's S3 location (``ui/allowed.py``): its s3_uri, bucket and key agree, the
bucket is one the deployment allows for the task instance, and every key lies under the task instance's own
prefix, computed as landing computes it. Examples of each attack a record can carry, then properties: for
any prefix, run, task, map index and key, nothing outside the prefix is accepted, and everything landing
writes is.

``make fuzz`` runs the properties with fresh randomness and many more examples (the ``fuzz`` Hypothesis
profile of ``tests/conftest.py``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from airflow_provider_openai_images.keys import image_key, task_instance_prefix, thumbnail_key
from airflow_provider_openai_images.ui.allowed import (
    GALLERY_BUCKETS,
    Refused,
    TaskInstanceScope,
    is_under,
    key_problem,
    parse_buckets,
    record_objects,
    task_instance_scope,
)

BUCKET = "openai-images-demo"
DAG, RUN, TASK = "bulk_generate", "manual__2026-12-05T10:00:00+00:00", "generate"
PREFIX = task_instance_prefix(None, dag_id=DAG, run_id=RUN, task_id=TASK, map_index=-1)
RUN_FOLDER = PREFIX.rsplit("/", 1)[0]
OTHER_RUN = task_instance_prefix(None, dag_id=DAG, run_id="manual__2026-12-01T00:00:00+00:00", task_id=TASK,
                                 map_index=-1)  # fmt: skip


def scope(
    bucket: str | None = BUCKET,
    key_prefix: str | None = None,
    *,
    buckets: frozenset[str] | None = None,
    run_id: str = RUN,
    task_id: str = TASK,
    map_index: int = -1,
) -> TaskInstanceScope:
    rendered = {"s3_bucket": bucket, "s3_key_prefix": key_prefix}
    return task_instance_scope(
        rendered, gallery_buckets=buckets, dag_id=DAG, run_id=run_id, task_id=task_id, map_index=map_index
    )


def record(key: str, bucket: str = BUCKET, **fields: Any) -> dict[str, Any]:
    """A landed record as landing writes it: image, sidecar and thumbnail side by side."""
    stem = key.rsplit(".", 1)[0]
    return {
        "status": "landed",
        "s3_uri": f"s3://{bucket}/{key}",
        "bucket": bucket,
        "key": key,
        "metadata_uri": f"s3://{bucket}/{stem}.json",
        "thumbnail_uri": f"s3://{bucket}/{stem}.thumb.webp",
        **fields,
    }


def refusal(record_: dict[str, Any], scope_: TaskInstanceScope | None = None) -> str:
    with pytest.raises(Refused) as refused:
        record_objects(record_, scope_ or scope())
    return refused.value.reason


def test_the_task_instance_prefix_is_the_one_landing_computes() -> None:
    assert scope().prefix == PREFIX
    assert PREFIX.startswith("openai-images/bulk_generate/manual__2026-12-05T10_00_00_00_00")
    assert scope(key_prefix="content/2026/").prefix == "content/2026/generate"
    assert scope(map_index=4).prefix == PREFIX + "/map-4"
    assert scope(key_prefix="").prefix == PREFIX, "empty: the operator's default"


def test_a_landed_record_of_the_task_instance_is_served_with_its_thumbnail_and_sidecar() -> None:
    for key in (f"{PREFIX}/000.png", f"{PREFIX}/item-00003/001.webp", f"{PREFIX}/1234.svg"):
        objects = record_objects(record(key), scope())
        assert (objects.image.bucket, objects.image.key) == (BUCKET, key)
        assert objects.thumbnail is not None
        assert objects.thumbnail.key == key.rsplit(".", 1)[0] + ".thumb.webp"
        assert objects.sidecar is not None
        assert objects.sidecar.key == key.rsplit(".", 1)[0] + ".json"
    bare = {name: value for name, value in record(f"{PREFIX}/000.svg").items() if not name.endswith("_uri")}
    bare["s3_uri"] = f"s3://{BUCKET}/{PREFIX}/000.svg"
    objects = record_objects(bare, scope())
    assert (objects.thumbnail, objects.sidecar) == (None, None), "an SVG has no thumbnail"


def test_another_bucket_is_refused_unless_the_deployment_allows_it() -> None:
    salaries = record("salaries.csv", bucket="hr-payroll")
    assert "'hr-payroll' is not this task's own bucket 'openai-images-demo'" in refusal(salaries)
    same_key_elsewhere = record(f"{PREFIX}/000.png", bucket="hr-payroll")
    assert "is not this task's own bucket" in refusal(same_key_elsewhere), "the prefix alone is not enough"

    shared = frozenset({"gallery-shared", "gallery-archive"})
    assert scope(buckets=shared).buckets == shared
    record_objects(record(f"{PREFIX}/000.png", bucket="gallery-archive"), scope(buckets=shared))
    reason = refusal(record(f"{PREFIX}/000.png"), scope(buckets=shared))
    assert reason == f"the bucket 'openai-images-demo' is not one of {GALLERY_BUCKETS}", "the list replaces the default"
    assert "gallery-shared" not in reason, "the configured list is not shown to readers"


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (f"{OTHER_RUN}/000.png", "not under"),  # another run's image
        (f"{RUN_FOLDER}/other_task/manifest.jsonl", "not under"),  # another task's manifest
        (f"{PREFIX}-other/000.png", "not under"),  # a look-alike prefix
        (f"{PREFIX}2/000.png", "not under"),
        (f"{RUN_FOLDER}/000.png", "not under"),  # the run's folder
        (PREFIX, "not under"),  # the prefix itself is no object of it
        (f"{PREFIX}/../other_task/000.png", "'..' segment"),
        (f"{PREFIX}/item-00001/../../other_task/000.png", "'..' segment"),
        (f"{PREFIX}/./000.png", "'..' segment"),
        (f"{PREFIX}//000.png", "empty segment"),
        (f"/{PREFIX}/000.png", "empty segment"),
        (f"{PREFIX}/000.png/", "empty segment"),
        (f"{PREFIX}/..\\..\\other\\000.png", "backslash"),
        (f"{PREFIX}/000.png\x00.csv", "control character"),
        (f"{PREFIX}/000\n.png", "control character"),
        (f"{PREFIX.upper()}/000.png", "not under"),  # S3 keys are case-sensitive
        (PREFIX.replace("generate", "g\u0435nerate") + "/000.png", "not under"),  # Cyrillic e
        (PREFIX.replace("/generate", "\uff0fgenerate") + "/000.png", "not under"),  # a fullwidth solidus
        (f"{PREFIX}/{'x' * 1100}.png", "1024 bytes"),
    ],
)
def test_a_key_outside_the_task_instance_prefix_is_refused(key: str, why: str) -> None:
    assert why in refusal(record(key) | {"thumbnail_uri": None, "metadata_uri": None})


def test_a_percent_encoded_dot_is_a_name_to_s3_and_stays_under_the_prefix() -> None:
    """S3 does not decode keys (boto3 sends ``%`` as ``%25``): ``%2e%2e`` is an object named so, in the prefix."""
    key = f"{PREFIX}/%2e%2e/000.png"
    assert record_objects(record(key), scope()).image.key == key
    assert "not under" in refusal(record(f"{PREFIX}%2f..%2fother/000.png"))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"key": f"{PREFIX}/000.png", "s3_uri": "s3://hr-payroll/salaries.csv"}, "not the bucket of its s3_uri"),
        ({"key": f"{PREFIX}/000.png", "s3_uri": f"s3://{BUCKET}/{PREFIX}/../x/000.png"}, "not the key of its s3_uri"),
        ({"bucket": "hr-payroll"}, "bucket 'hr-payroll' is not the bucket of its s3_uri"),
        ({"bucket": None}, "not the bucket of its s3_uri"),
        ({"key": None}, "not the key of its s3_uri"),
        ({"s3_uri": f"https://{BUCKET}.s3.amazonaws.com/{PREFIX}/000.png"}, "not an s3://bucket/key URI"),
        ({"s3_uri": f"s3://{BUCKET}"}, "not an s3://bucket/key URI"),
        ({"s3_uri": f"s3://{BUCKET}/{PREFIX}/000.png?x=1"}, "not the key of its s3_uri"),
        (
            {"thumbnail_uri": "s3://hr-payroll/salaries.csv"},
            "thumbnail_uri 's3://hr-payroll/salaries.csv' is not beside",
        ),
        ({"metadata_uri": f"s3://{BUCKET}/{PREFIX}/../000.json"}, "metadata_uri"),
        ({"metadata_uri": f"s3://{BUCKET}/{PREFIX}/item-00001/000.json"}, "not beside its image"),
        ({"thumbnail_uri": f"s3://{BUCKET}/{PREFIX}/..\\000.thumb.webp"}, "backslash"),
        ({"thumbnail_uri": 7}, "not an s3://bucket/key URI"),
    ],
)
def test_a_record_that_contradicts_itself_is_refused(change: dict[str, Any], why: str) -> None:
    assert why in refusal(record(f"{PREFIX}/000.png") | change)


@pytest.mark.parametrize(
    ("rendered", "why"),
    [
        (None, "Airflow keeps no rendered template fields"),
        ({}, "no rendered s3_bucket"),
        ({"s3_bucket": ""}, "no rendered s3_bucket"),
        ({"s3_bucket": 5}, "no rendered s3_bucket"),
        ({"s3_bucket": BUCKET, "s3_key_prefix": ["a"]}, "s3_key_prefix is not text"),
        ({"s3_bucket": BUCKET, "s3_key_prefix": "content//2026"}, "not a plain S3 path"),
        ({"s3_bucket": BUCKET, "s3_key_prefix": "content/../hr"}, "not a plain S3 path"),
    ],
)
def test_without_a_known_location_nothing_of_the_task_instance_is_served(rendered: Any, why: str) -> None:
    for buckets in (None, frozenset({BUCKET})):
        found = task_instance_scope(
            rendered, gallery_buckets=buckets, dag_id=DAG, run_id=RUN, task_id=TASK, map_index=-1
        )
        assert found.refused is not None
        assert why in found.refused
        assert why in refusal(record(f"{PREFIX}/000.png"), found)


def test_gallery_buckets_is_a_comma_separated_list() -> None:
    assert parse_buckets(None) is None
    assert parse_buckets(" , ") is None
    assert parse_buckets("a, b ,,c") == frozenset({"a", "b", "c"})


# --- Properties -------------------------------------------------------------------------------------------

#: pieces of keys and ids that have fooled path checks: dots, encodings, separators, look-alikes, controls
TRICKY = [
    "", ".", "..", "...", "%2e", "%2e%2e", "%2f", "..%2f", "%00", "\\", "..\\", "\x00", "\n", "\u200b", "~",
    "generate", "generate-other", "generate2", "g\u0435nerate", "GENERATE", "\uff0f", "\u2215", "item-00001",
    "map-0", "map-1", "map--1", "000.png", "000.json", "manifest.jsonl", "openai-images", "d", "r", "é", "e\u0301",
]  # fmt: skip
plain = st.from_regex(r"[a-z0-9_-][a-z0-9._-]{0,7}", fullmatch=True).filter(lambda piece: piece not in (".", ".."))
#: half plain segments, so that keys the check must accept come up as often as keys it must refuse
pieces = st.one_of(plain, plain, plain, st.sampled_from(TRICKY), st.text(alphabet="a./-_%2e\\\x00é", max_size=6))
ids = st.one_of(st.sampled_from(["generate", "d", "r", "manual__2026-01-01T00:00:00+00:00", "..", "."]), pieces)
prefixes = st.one_of(st.none(), st.just(""), st.lists(pieces, max_size=4).map("/".join))
map_indexes = st.integers(min_value=-2, max_value=3)


@st.composite
def task_instances(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "s3_key_prefix": draw(prefixes),
        "dag_id": draw(ids),
        "run_id": draw(ids),
        "task_id": draw(ids),
        "map_index": draw(map_indexes),
    }


def own_prefix(ti: dict[str, Any]) -> str:
    return task_instance_prefix(
        ti["s3_key_prefix"], dag_id=ti["dag_id"], run_id=ti["run_id"], task_id=ti["task_id"], map_index=ti["map_index"]
    )


@st.composite
def keys_near(draw: st.DrawFn, prefix: str, other: str) -> str:
    """Keys built to fool a check of ``prefix``: it with tricky tails, cut, bent or look-alike; another task
    instance's prefix (``other``); or anything at all."""
    tail = "/".join(draw(st.lists(pieces, min_size=1, max_size=4)))
    segments = prefix.split("/")
    cut = "/".join(segments[: draw(st.integers(0, len(segments)))])
    at = draw(st.integers(0, len(segments) - 1))
    bent = "/".join([*segments[:at], draw(pieces), *segments[at + 1 :]])
    return draw(
        st.sampled_from(
            [
                f"{prefix}/{tail}",
                f"{prefix}{tail}",
                f"{prefix}-{tail}",
                f"{prefix}/../{tail}",
                f"{cut}/{tail}",
                f"{bent}/{tail}",
                f"{other}/{tail}",
                f"{prefix}/{tail}/../../{other}",
                draw(st.text(max_size=40)),
            ]
        )
    )


def is_plainly_under(key: str, prefix: str) -> bool:
    """The oracle, by strings rather than segments: ``key`` starts with ``prefix/``, and neither has an empty,
    ``.`` or ``..`` segment, a backslash or a control character (S3 keys are literal, but tools and servers
    between the gallery and S3 may normalise such paths)."""
    plain = all(
        part not in ("", ".", "..") and "\\" not in part and not re.search(r"[\x00-\x1f\x7f]", part)
        for part in key.split("/")
    )
    return plain and key.startswith(prefix + "/") and len(key.encode("utf-8", "surrogatepass")) <= 1024


@given(ti=task_instances(), other=task_instances(), data=st.data())
def test_no_key_outside_the_task_instance_prefix_is_ever_accepted(
    ti: dict[str, Any], other: dict[str, Any], data: st.DataObject
) -> None:
    prefix = own_prefix(ti)
    key = data.draw(keys_near(prefix, own_prefix(other)), label="key")
    bucket = data.draw(st.sampled_from([BUCKET, BUCKET, "hr-payroll", "openai-images-demo2"]), label="bucket")
    allowed = data.draw(st.sampled_from([None, frozenset({"hr-payroll"})]), label="gallery_buckets")
    found = task_instance_scope({"s3_bucket": BUCKET, **ti}, gallery_buckets=allowed, **_ids(ti))
    entry = {"status": "landed", "s3_uri": f"s3://{bucket}/{key}", "bucket": bucket, "key": key}
    try:
        objects = record_objects(entry, found)
    except Refused:
        event("refused")
        return
    assert is_plainly_under(key, prefix), (key, prefix)
    assert found.refused is None
    assert key_problem(prefix) is None, "a prefix that is no plain path serves nothing"
    assert bucket in (allowed or {BUCKET})
    assert (objects.image.bucket, objects.image.key) == (bucket, key)
    event("accepted")


@given(ti=task_instances(), field=st.sampled_from(["thumbnail_uri", "metadata_uri"]), data=st.data())
def test_no_thumbnail_or_sidecar_outside_the_task_instance_prefix_is_ever_accepted(
    ti: dict[str, Any], field: str, data: st.DataObject
) -> None:
    prefix = own_prefix(ti)
    key = f"{prefix}/000.png"
    beside = data.draw(keys_near(prefix, "openai-images/other/run/task"), label=field)
    bucket = data.draw(st.sampled_from([BUCKET, "hr-payroll"]), label="bucket")
    entry = record(key) | {field: f"s3://{bucket}/{beside}"}
    try:
        objects = record_objects(
            entry, task_instance_scope({"s3_bucket": BUCKET, **ti}, gallery_buckets=None, **_ids(ti))
        )
    except Refused:
        event("refused")
        return
    event("accepted")
    assert bucket == BUCKET
    assert is_plainly_under(beside, prefix), (beside, prefix)
    named = objects.thumbnail if field == "thumbnail_uri" else objects.sidecar
    assert named is not None
    assert named.key == beside


@given(
    ti=task_instances(),
    index=st.integers(0, 12_000),
    item=st.one_of(st.none(), st.integers(0, 99_999)),
    extension=st.sampled_from(["png", "jpeg", "webp", "gif", "svg"]),
)
def test_every_key_landing_writes_for_the_task_instance_is_accepted(
    ti: dict[str, Any], index: int, item: int | None, extension: str
) -> None:
    prefix = own_prefix(ti)
    found = task_instance_scope({"s3_bucket": BUCKET, **ti}, gallery_buckets=None, **_ids(ti))
    if key_problem(prefix) is not None:  # a prefix with '..' or '//' segments: refused, said so
        assert found.refused is not None
        event("a prefix that is no plain path")
        return
    landing = prefix if item is None else f"{prefix}/item-{item:05d}"
    entry = {
        "status": "landed",
        "s3_uri": f"s3://{BUCKET}/{image_key(landing, index, extension)}",
        "bucket": BUCKET,
        "key": image_key(landing, index, extension),
        "metadata_uri": f"s3://{BUCKET}/{image_key(landing, index, 'json')}",
        "thumbnail_uri": f"s3://{BUCKET}/{thumbnail_key(landing, index)}",
    }
    objects = record_objects(entry, found)
    assert objects.image.key == entry["key"]
    assert is_under(objects.image.key, prefix)


@given(key=st.text(max_size=30), prefix=st.text(max_size=30))
def test_is_under_compares_whole_segments(key: str, prefix: str) -> None:
    if is_under(key, prefix):
        assert key.startswith(prefix + "/")
    elif key.startswith(prefix + "/"):
        raise AssertionError(f"{key!r} starts with {prefix + '/'!r} but is not under it")


def _ids(ti: dict[str, Any]) -> dict[str, Any]:
    return {name: ti[name] for name in ("dag_id", "run_id", "task_id", "map_index")}
