"""S3 writes: retried on transient errors, and holding nothing once done."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from airflow_provider_openai_images import s3
from tests.unit.conftest import JOBS_BUCKET


class Body(bytearray):
    """An upload body that can be watched for being freed."""


def test_a_write_keeps_no_reference_to_its_body_once_it_returns(s3_hook: Any) -> None:
    body = Body(b"x" * 1024)
    freed = weakref.ref(body)
    gc.disable()  # what frees a body only through the garbage collector is what this test is about
    try:
        s3.put_object(s3_hook, s3.S3_WRITE_RETRY, Bucket=JOBS_BUCKET, Key="k", Body=body)
        del body
        assert freed() is None, "the body outlived the write: each landed image would stay in memory until a GC"
    finally:
        gc.enable()
    assert s3_hook.get_conn().get_object(Bucket=JOBS_BUCKET, Key="k")["Body"].read() == b"x" * 1024
