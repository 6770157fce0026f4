"""Landing images in S3 and the small JSON record that travels through XCom.

One task instance owns one key prefix; image ``i`` lands at ``{prefix}/{i:03d}.{ext}`` with a JSON
sidecar ``{prefix}/{i:03d}.json`` holding its record and provenance. A retried task lists the prefix
first and does not pay again for what an earlier try already landed.

boto3, httpx and the amazon provider are imported inside functions: DAG files import this package
at every parse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_openai_images.core.requests import ImageFile
from airflow_provider_openai_images.core.retry import RetryPolicy
from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError, OpenAIImagesValidationError
from airflow_provider_openai_images.imaging import inspect_image

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

#: Longest prompt kept in a sidecar; the record itself never holds the prompt.
MAX_SIDECAR_PROMPT = 4000
#: Largest image we download from a URL answer (GPT image inputs are capped at 50 MB; outputs are smaller).
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
_UNSAFE_KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9._=-]+")

ImageRecord = dict[str, Any]
log = logging.getLogger(__name__)


def key_segment(value: str) -> str:
    """A run id or task id made safe for an S3 key segment (``manual__2026-01-01T00:00:00+00:00`` ...)."""
    return _UNSAFE_KEY_CHARACTERS.sub("_", value).strip("_") or "_"


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def parse(cls, uri: str, *, parameter: str = "image") -> S3Location:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
            raise OpenAIImagesValidationError(parameter, uri, "an s3://bucket/key URI")
        return cls(parts.netloc, parts.path.lstrip("/"))


# -- getting the bytes of an answer ---------------------------------------------------------------


def download_image(
    url: str, *, allow_http: bool = False, timeout: float = 120.0, max_bytes: int = MAX_DOWNLOAD_BYTES
) -> bytes:
    """Fetch a ``url`` answer at once (they expire after 60 minutes).

    The client is a fresh one without the API key: the image host never sees an Authorization
    header. Only ``https`` is accepted, on every redirect hop too, unless ``allow_http`` (the
    connection's ``allow_http_image_urls`` extra, for the emulator); at most 3 redirects are followed,
    and bodies above ``max_bytes`` are refused while streaming.
    """
    import httpx

    def refuse_plain_http(request: httpx.Request) -> None:
        if request.url.scheme != "https" and not (allow_http and request.url.scheme == "http"):
            raise OpenAIImagesResponseError(
                f"Refusing to download an image over {request.url.scheme}:// (https only unless the connection "
                "sets allow_http_image_urls)"
            )

    try:
        with (
            httpx.Client(
                timeout=timeout, follow_redirects=True, max_redirects=3, event_hooks={"request": [refuse_plain_http]}
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code in (401, 403, 404, 410):
                raise OpenAIImagesResponseError(
                    f"The image URL answered {response.status_code}: it has expired (URLs last 60 minutes) or "
                    "was never valid. Regenerate, or ask for response_format='b64_json'.",
                    status_code=response.status_code,
                )
            if not response.is_success:
                raise OpenAIImagesResponseError(
                    f"Downloading the image failed with HTTP {response.status_code}", status_code=response.status_code
                )
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise OpenAIImagesResponseError(f"The image at the URL is larger than {max_bytes} bytes")
                chunks.append(chunk)
    except httpx.TooManyRedirects:
        raise OpenAIImagesResponseError("The image URL redirected more than 3 times") from None
    except httpx.HTTPError as error:
        raise OpenAIImagesResponseError(f"Downloading the image failed: {type(error).__name__}: {error}") from None
    return b"".join(chunks)


# -- S3 -------------------------------------------------------------------------------------------


def _missing_key(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code")) in ("NoSuchKey", "404", "NotFound", "NoSuchBucket")


def read_s3_bytes(s3_hook: S3Hook, location: S3Location, *, parameter: str) -> bytes:
    """The bytes of an S3 object; a missing key is a clear validation error, not a paid failure."""
    from botocore.exceptions import ClientError

    try:
        body = s3_hook.get_conn().get_object(Bucket=location.bucket, Key=location.key)["Body"]
        return bytes(body.read())
    except ClientError as error:
        if _missing_key(error):
            raise OpenAIImagesValidationError(parameter, location.uri, "an existing S3 object") from None
        raise


#: S3 writes are retried by botocore as the AWS connection configures it; this outer layer rides out
#: longer throttling (SlowDown) and brief outages before a paid image is given up on.
S3_WRITE_RETRY = RetryPolicy(max_retries=5, initial_delay=1.0, max_delay=16.0)
_TRANSIENT_S3_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "ThrottlingException"}
)


def is_transient_s3_error(error: BaseException) -> bool:
    """Throttling, 5xx and connection failures: worth another attempt."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code"))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in _TRANSIENT_S3_CODES or status >= 500
    return isinstance(error, (ConnectionError, HTTPClientError))


class SpillDirectory:
    """Paid images that could not be written to S3 yet, kept on the worker's disk for the next try.

    A retry of the task on the same worker lands them without paying again; on another worker (or a
    new Kubernetes pod) they are gone and only the missing images are generated again.
    """

    def __init__(self, bucket: str, prefix: str, root: Path | None = None) -> None:
        digest = hashlib.sha256(f"{bucket}/{prefix}".encode()).hexdigest()[:24]
        self.path = (root or Path(tempfile.gettempdir()) / "airflow-openai-images-spill") / digest

    def save(self, index: int, content: bytes, provenance: Mapping[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.path / f"{index:03d}.bin").write_bytes(content)
        (self.path / f"{index:03d}.json").write_text(json.dumps(provenance, default=str))

    def load(self) -> dict[int, tuple[bytes, dict[str, Any]]]:
        kept: dict[int, tuple[bytes, dict[str, Any]]] = {}
        for image in sorted(self.path.glob("*.bin")) if self.path.is_dir() else []:
            provenance = image.with_suffix(".json")
            if provenance.exists():
                kept[int(image.stem)] = (image.read_bytes(), json.loads(provenance.read_text()))
        return kept

    def discard(self, index: int) -> None:
        for suffix in (".bin", ".json"):
            (self.path / f"{index:03d}{suffix}").unlink(missing_ok=True)


class ImageLander:
    """Writes one task instance's images under one prefix, and finds what an earlier try wrote.

    :param s3_hook: the amazon provider's hook (its connection carries credentials and endpoint).
    :param bucket: destination bucket.
    :param prefix: key prefix owned by this task instance (no trailing slash).
    """

    def __init__(self, s3_hook: S3Hook, bucket: str, prefix: str, *, retry: RetryPolicy | None = None) -> None:
        self.s3_hook = s3_hook
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.retry = retry or S3_WRITE_RETRY
        self.spill = SpillDirectory(bucket, self.prefix)

    def _put(self, **request: Any) -> None:
        import tenacity

        client = self.s3_hook.get_conn()
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retry.max_retries + 1),
            retry=tenacity.retry_if_exception(is_transient_s3_error),
            wait=lambda state: self.retry.backoff(state.attempt_number),
            before_sleep=lambda state: log.warning(
                "Writing s3://%s/%s failed (%s); attempt %d of %d",
                self.bucket,
                request["Key"],
                state.outcome.exception() if state.outcome else None,
                state.attempt_number,
                self.retry.max_retries + 1,
            ),
            reraise=True,
        )
        retrying(client.put_object, **request)

    def _key(self, index: int, extension: str) -> str:
        return f"{self.prefix}/{index:03d}.{extension}"

    def already_landed(self, count: int) -> dict[int, ImageRecord]:
        """Records of images ``0..count-1`` that are complete in S3 (object and sidecar, sizes matching)."""
        client = self.s3_hook.get_conn()
        sizes: dict[str, int] = {}
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/"):
            sizes.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        landed: dict[int, ImageRecord] = {}
        for index in range(count):
            sidecar = self._key(index, "json")
            if sidecar not in sizes:
                continue
            document = json.loads(read_s3_bytes(self.s3_hook, S3Location(self.bucket, sidecar), parameter="sidecar"))
            record = document.get("record", {})
            if sizes.get(record.get("key")) == record.get("size_bytes"):
                landed[index] = record
        return landed

    def land(self, index: int, content: bytes, provenance: Mapping[str, Any]) -> ImageRecord:
        """Verify ``content`` is a complete image, write it and its sidecar, return its XCom record."""
        info = inspect_image(content, what=f"image {index}")
        digest = hashlib.sha256(content)
        key = self._key(index, info.extension)
        record: ImageRecord = {
            "s3_uri": f"s3://{self.bucket}/{key}",
            "bucket": self.bucket,
            "key": key,
            "content_type": info.content_type,
            "width": info.width,
            "height": info.height,
            "size_bytes": len(content),
            "sha256": digest.hexdigest(),
            "model": provenance.get("model"),
            "revised_prompt": provenance.get("revised_prompt"),
            "request_id": provenance.get("request_id"),
            "index": index,
            "metadata_uri": f"s3://{self.bucket}/{self._key(index, 'json')}",
            "status": "landed",
        }
        if "prepared" in provenance:
            record["prepared"] = provenance["prepared"]
        self._put(
            Bucket=self.bucket,
            Key=key,
            Body=content,
            ContentType=info.content_type,
            ContentMD5=base64.b64encode(hashlib.md5(content).digest()).decode(),  # S3 verifies the upload
            Metadata={
                "model": _ascii(provenance.get("model")),
                "request-id": _ascii(provenance.get("request_id")),
                "sha256": record["sha256"],
                "image-index": str(index),
            },
        )
        sidecar = {"record": record, "provenance": _bounded(provenance)}
        self._put(
            Bucket=self.bucket,
            Key=self._key(index, "json"),
            Body=json.dumps(sidecar, indent=1, default=str).encode(),
            ContentType="application/json",
        )
        return record


def _ascii(value: Any) -> str:
    return str(value or "").encode("ascii", "replace").decode()[:256]


def _bounded(provenance: Mapping[str, Any]) -> dict[str, Any]:
    bounded = dict(provenance)
    prompt = bounded.get("prompt")
    if isinstance(prompt, str) and len(prompt) > MAX_SIDECAR_PROMPT:
        bounded["prompt"] = prompt[:MAX_SIDECAR_PROMPT]
        bounded["prompt_truncated_from"] = len(prompt)
    return bounded


# -- inputs for edits and variations --------------------------------------------------------------

ImageInput = str | bytes | Mapping[str, Any] | ImageFile


def load_image_inputs(
    value: ImageInput | Sequence[ImageInput], s3_hook_factory: Any, *, parameter: str
) -> list[ImageFile]:
    """Resolve ``image``/``mask`` arguments: ``s3://`` URIs, local paths, bytes, upstream records, lists of these."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise OpenAIImagesValidationError(parameter, value, "at least one image")
        return [file for item in value for file in load_image_inputs(item, s3_hook_factory, parameter=parameter)]
    if isinstance(value, ImageFile):
        return [value]
    if isinstance(value, Mapping):
        if "s3_uri" not in value:
            raise OpenAIImagesValidationError(parameter, dict(value), "a record with an 's3_uri'")
        value = str(value["s3_uri"])
    if isinstance(value, str) and value.startswith("s3://"):
        location = S3Location.parse(value, parameter=parameter)
        content = read_s3_bytes(s3_hook_factory(), location, parameter=parameter)
        return [ImageFile.from_bytes(content, location.key.rsplit("/", 1)[-1], parameter=parameter)]
    if isinstance(value, (str, bytes)):
        return [ImageFile.coerce(value, parameter=parameter)]
    raise OpenAIImagesValidationError(
        parameter, type(value).__name__, "an s3:// URI, a local path, bytes, an upstream record, or a list of these"
    )


__all__ = [
    "ImageLander",
    "ImageRecord",
    "S3Location",
    "download_image",
    "key_segment",
    "load_image_inputs",
    "read_s3_bytes",
]
