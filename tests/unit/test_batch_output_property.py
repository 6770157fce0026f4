"""A property of the batch landing: whatever a batch's files hold besides valid lines (arbitrary bytes,
JSON of any shape, lines of the spec's shape with values of any type), in whatever chunks they
arrive and whatever the line cap, the line splitter and ``land_line`` never raise out of a line, every
valid line's images land, and every item whose lines are all bad fails with a reason (never silently)."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_openai_images.core.batches import LineSplitter
from airflow_provider_openai_images.core.downloads import image_bytes
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.jobs.batch.output import BatchOutputLanding
from airflow_provider_openai_images.jobs.batch.record import custom_id
from airflow_provider_openai_images.jobs.failures import describe_failure
from airflow_provider_openai_images.jobs.spec import JobSpec
from tests.imagefactory import picture
from tests.unit.conftest import JOBS_BUCKET
from tests.unit.crafted_lines import b64

#: items with one valid line each, then items sent whose lines (if any) are all bad
VALID, BAD = 2, 2
IMAGES = [picture(16 + 4 * number, 16) for number in range(VALID)]
FOREIGN_IDS = ["item-²", "item-99999", "../x", "item-1", "", custom_id(VALID + BAD)]
BAD_IDS = [custom_id(number) for number in range(VALID, VALID + BAD)]
_prefixes = itertools.count()


def mostly(likely: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``likely`` four times out of five, else ``other``."""
    return st.integers(0, 4).flatmap(lambda draw: other if draw == 0 else likely)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
#: an image that lands nowhere: a cut PNG
CUT_PNG = picture(16, 16)[:-20]
bad_base64 = mostly(st.sampled_from([b64(CUT_PNG), "!!", "aGk="]) | st.binary(max_size=60).map(b64), json_values)
bad_urls = mostly(st.sampled_from(["http://[::1", "http://host/gone.png", "ftp://x"]), json_values)
images = mostly(
    st.one_of(
        st.fixed_dictionaries({"b64_json": bad_base64}, optional={"revised_prompt": json_values}),
        st.fixed_dictionaries({"url": bad_urls}, optional={"revised_prompt": json_values}),
        st.fixed_dictionaries({}, optional={"b64_json": bad_base64, "url": bad_urls, "revised_prompt": json_values}),
    ),
    json_values,
)
bodies = mostly(
    st.fixed_dictionaries(
        {"data": mostly(st.lists(images, max_size=3), json_values)},
        optional={"error": json_values, "usage": json_values, "created": json_values, "size": json_values},
    ),
    st.one_of(st.fixed_dictionaries({"error": json_values}), json_values),
)
statuses = mostly(st.just(200), st.one_of(st.sampled_from([201, 302, 400, 429, 500, 999]), json_values))
responses = mostly(
    st.fixed_dictionaries({"status_code": statuses, "body": bodies}, optional={"request_id": json_values}),
    json_values,
)
spec_shaped = st.fixed_dictionaries(
    {"custom_id": mostly(st.sampled_from(BAD_IDS + FOREIGN_IDS), json_values), "response": responses},
    optional={"id": json_values, "error": json_values},
).map(lambda line: json.dumps(line).encode())
bad_lines = mostly(
    spec_shaped,
    st.one_of(
        spec_shaped.flatmap(lambda line: st.integers(0, len(line)).map(lambda cut: line[:cut])),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
    ),
)


def valid_line(number: int) -> bytes:
    body = {"created": 1, "data": [{"b64_json": b64(IMAGES[number]), "revised_prompt": "r"}]}
    line = {"id": f"b{number}", "custom_id": custom_id(number), "error": None,
            "response": {"status_code": 200, "request_id": f"q{number}", "body": body}}  # fmt: skip
    return json.dumps(line).encode()


VALID_LINES = [valid_line(number) for number in range(VALID)]


def job(prefix: str) -> JobSpec:
    items: list[Any] = [
        {"endpoint": "generations", "values": {"prompt": f"p{number}", "model": "gpt-image-2.5-flare", "n": 1},
         "prefix": f"{prefix}/{custom_id(number)}"}
        for number in range(VALID + BAD)
    ]  # fmt: skip
    return {
        "bucket": JOBS_BUCKET, "prefix": prefix, "items": items, "overwrite": False, "max_concurrency": 1,
        "images_per_minute": None, "spill_path": None, "manifest": True, "thumbnail_size": None,
        "task": {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1},
    }  # fmt: skip


# one in-memory S3 for every example: each lands under a prefix of its own (examples and seed: the profile)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    order=st.permutations(range(VALID)).flatmap(
        lambda valid: st.lists(bad_lines, max_size=6).flatmap(
            lambda bad: st.permutations([*(VALID_LINES[n] for n in valid), *bad])
        )
    ),
    chunk=st.integers(1, 4096),
    cap_margin=st.integers(0, 400),
)
def test_no_line_stops_the_landing_and_every_valid_line_lands(
    s3_hook: Any, order: list[bytes], chunk: int, cap_margin: int
) -> None:
    prefix = f"p{next(_prefixes)}"
    spec = job(prefix)
    no_downloads = httpx.MockTransport(lambda request: httpx.Response(404))
    landing = BatchOutputLanding(
        spec,
        "batch_p",
        {custom_id(number): [0] for number in range(VALID + BAD)},
        s3_hook=s3_hook,
        prices=PriceTable(),
        image_bytes=functools.partial(image_bytes, allow_http=True, transport=no_downloads),
        describe_failure=functools.partial(describe_failure, retry=RetryPolicy()),
    )
    stream = b"\n".join(order)
    splitter = LineSplitter(max_line_bytes=max(map(len, VALID_LINES)) + cap_margin)
    for start in range(0, len(stream), chunk):
        for line in splitter.feed(stream[start : start + chunk]):
            landing.land_line(line, "file-p")
    for line in splitter.finish():
        landing.land_line(line, "file-p")

    outcomes = landing.outcomes("completed", {})
    for number in range(VALID):
        assert outcomes[number]["failure"] is None
        (record,) = outcomes[number]["records"]
        assert record["sha256"] == hashlib.sha256(IMAGES[number]).hexdigest(), "written with S3's MD5 check"
    for number in range(VALID, VALID + BAD):
        failure = outcomes[number]["failure"]
        assert failure is not None, "an item whose lines are all bad fails, with a reason"
        assert failure["message"]
    json.dumps([outcomes, landing.unknown.entries()])  # what the event, the manifest and the record carry
