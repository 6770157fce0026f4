"""S3 through the amazon provider's ``S3Hook``: addresses, reads, and writes that ride out throttling.

boto3, botocore and the amazon provider are imported inside functions: DAG files import this package
at every parse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

log = logging.getLogger(__name__)

#: S3 writes are retried by botocore as the AWS connection configures it; this outer layer rides out
#: longer throttling (SlowDown) and brief outages before a paid image is given up on.
S3_WRITE_RETRY = RetryPolicy(max_retries=5, initial_delay=1.0, max_delay=16.0)
_TRANSIENT_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "ThrottlingException"}
)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})


@dataclass(frozen=True)
class S3Location:
    """An object's bucket and key."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def parse(cls, uri: str, *, parameter: str = "image") -> S3Location:
        """``s3://bucket/key`` -> location; anything else is a validation error naming ``parameter``."""
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
            raise OpenAIImagesValidationError(parameter, uri, "an s3://bucket/key URI")
        return cls(parts.netloc, parts.path.lstrip("/"))


def _error_code(error: Exception) -> str:
    response: Any = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code"))


def read_object(s3_hook: S3Hook, location: S3Location, *, parameter: str) -> bytes:
    """The bytes of an S3 object; a missing key is a validation error naming ``parameter``, not a paid failure."""
    from botocore.exceptions import ClientError

    try:
        body = s3_hook.get_conn().get_object(Bucket=location.bucket, Key=location.key)["Body"]
        return bytes(body.read())
    except ClientError as error:
        if _error_code(error) in _MISSING_CODES:
            raise OpenAIImagesValidationError(parameter, location.uri, "an existing S3 object") from None
        raise


def object_sizes(s3_hook: S3Hook, bucket: str, prefix: str) -> dict[str, int]:
    """Key -> size of every object under ``prefix``."""
    sizes: dict[str, int] = {}
    for page in s3_hook.get_conn().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        sizes.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return sizes


def is_transient_s3_error(error: BaseException) -> bool:
    """Throttling, 5xx and connection failures: worth another attempt."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return _error_code(error) in _TRANSIENT_CODES or status >= 500
    return isinstance(error, (ConnectionError, HTTPClientError))


def put_object(s3_hook: S3Hook, retry: RetryPolicy, **request: Any) -> None:
    """``put_object`` with ``retry`` on transient errors; the last error is raised when they are spent."""
    import tenacity

    attempts = retry.max_retries + 1
    # Only the bucket and key in the callbacks: tenacity's state is a reference cycle, and a callback
    # holding ``request`` would keep its ``Body`` (a whole image) alive until the garbage collector runs.
    bucket, key = request["Bucket"], request["Key"]
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        retry=tenacity.retry_if_exception(is_transient_s3_error),
        wait=lambda state: retry.backoff(state.attempt_number),
        before_sleep=lambda state: log.warning(
            "Writing s3://%s/%s failed (%s); attempt %d of %d",
            bucket,
            key,
            state.outcome.exception() if state.outcome else None,
            state.attempt_number,
            attempts,
        ),
        reraise=True,
    )
    retrying(s3_hook.get_conn().put_object, **request)
