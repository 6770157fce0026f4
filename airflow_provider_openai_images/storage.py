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
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_openai_images.core.requests import ImageFile
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def download_image(url: str, *, timeout: float = 120.0, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """Fetch a ``url`` answer at once (they expire after 60 minutes).

    The client is a fresh one without the API key: the image host never sees an Authorization
    header. Only ``https`` is accepted, except on loopback (the emulator). Redirects are followed
    at most 3 times, and bodies above ``max_bytes`` are refused.
    """
    import httpx

    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
        raise OpenAIImagesResponseError(f"Refusing to download an image from a non-https URL ({parts.scheme}://)")
    with (
        httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=3) as client,
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


class ImageLander:
    """Writes one task instance's images under one prefix, and finds what an earlier try wrote.

    :param s3_hook: the amazon provider's hook (its connection carries credentials and endpoint).
    :param bucket: destination bucket.
    :param prefix: key prefix owned by this task instance (no trailing slash).
    """

    def __init__(self, s3_hook: S3Hook, bucket: str, prefix: str) -> None:
        self.s3_hook = s3_hook
        self.bucket = bucket
        self.prefix = prefix.strip("/")

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
        }
        if "prepared" in provenance:
            record["prepared"] = provenance["prepared"]
        client = self.s3_hook.get_conn()
        client.put_object(
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
        client.put_object(
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
