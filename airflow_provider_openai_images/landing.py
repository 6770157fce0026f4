"""Landing paid images in S3 without losing any: verify, write with retries, or keep on the worker.

One task instance owns one key prefix (see :mod:`~airflow_provider_openai_images.keys`). Each image is
decoded first (a truncated or corrupt answer fails here, not downstream), then written with its
``Content-Type``, a ``Content-MD5`` that S3 verifies and small metadata, then its JSON sidecar. An
image S3 still refuses after the write retries is kept in the worker-local spill for the next try.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError
from airflow_provider_openai_images.imaging import decode_errors, inspect_image, thumbnail
from airflow_provider_openai_images.keys import image_key, thumbnail_key
from airflow_provider_openai_images.records import ImageRecord, Provenance, Sidecar, bounded
from airflow_provider_openai_images.spill import SpillDirectory

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.responses import GeneratedImage, ImagesResponse
    from airflow_provider_openai_images.core.retry import RetryPolicy

log = logging.getLogger(__name__)
#: the long side of each image's WEBP thumbnail, in pixels
DEFAULT_THUMBNAIL_SIZE = 256


@dataclass(frozen=True)
class PaidImage:
    """An image already paid for, to land at ``index``.

    :param fetch: returns its bytes (decodes base64 or downloads a URL); may raise
        :class:`OpenAIImagesResponseError`. Called only when the image is landed, so each image lands
        before the next one is fetched.
    """

    index: int
    fetch: Callable[[], bytes]
    provenance: Provenance


def paid_images(
    indices: Iterable[int],
    response: ImagesResponse,
    provenance: Provenance,
    fetch: Callable[[GeneratedImage], bytes],
) -> list[PaidImage]:
    """The images of ``response``, one per index (the indices still missing), ready to land one by one."""
    return [
        PaidImage(index, functools.partial(fetch, image), image_provenance(provenance, image))
        for index, image in zip(indices, response.data, strict=False)
    ]


def image_provenance(provenance: Provenance, image: GeneratedImage) -> Provenance:
    """The answer's ``provenance`` with what is particular to one of its images."""
    return {**provenance, "revised_prompt": image.revised_prompt, "source": "b64_json" if image.is_base64 else "url"}


@dataclass
class LandingReport:
    """What became of a batch of paid images: records of the landed ones, and why the others did not land."""

    paid: int
    landed: dict[int, ImageRecord] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def failure_message(self) -> str:
        return (
            f"{len(self.problems)} of {self.paid} paid images did not land: {'; '.join(self.problems)}. The others "
            "are in S3. A retry of this task lands the images kept on this worker without paying again, and pays "
            "only for images that are neither in S3 nor kept here (on another worker, only the missing ones)."
        )


@dataclass
class Recovery:
    """What an earlier try of the same task instance left behind.

    :param landed: records of every image that is in S3 now.
    :param in_s3: how many of them were there already.
    :param kept: the landing of images kept in the spill (its ``problems`` say which still failed).
    """

    landed: dict[int, ImageRecord]
    in_s3: int
    kept: LandingReport


class ImageLander:
    """Writes one task instance's images under one prefix, and finds what an earlier try wrote.

    :param s3_hook: the amazon provider's hook (its connection carries credentials and endpoint).
    :param bucket: destination bucket.
    :param prefix: key prefix owned by this task instance (no trailing slash).
    :param retry: how S3 writes are retried (default :data:`~airflow_provider_openai_images.s3.S3_WRITE_RETRY`).
    :param spill_path: where paid images S3 refuses wait for the next try (see
        :mod:`~airflow_provider_openai_images.spill`); default: the worker's temp directory.
    :param thumbnail_size: the long side of the WEBP thumbnail written beside each image; ``None``: none.
    """

    def __init__(
        self,
        s3_hook: S3Hook,
        bucket: str,
        prefix: str,
        *,
        retry: RetryPolicy | None = None,
        spill_path: str | None = None,
        thumbnail_size: int | None = DEFAULT_THUMBNAIL_SIZE,
    ) -> None:
        self.s3_hook = s3_hook
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.retry = retry or s3.S3_WRITE_RETRY
        self.spill = SpillDirectory(bucket, self.prefix, spill_path, conn_id=s3_hook.aws_conn_id)
        self.thumbnail_size = thumbnail_size

    def already_landed(self, count: int, sizes: Mapping[str, int] | None = None) -> dict[int, ImageRecord]:
        """Records of images ``0..count-1`` that are complete in S3 (object and sidecar, sizes matching).

        :param sizes: key -> size of the objects under the prefix, when a listing was made already
            (a job lists its whole prefix once for all its items).
        """
        if sizes is None:
            sizes = s3.object_sizes(self.s3_hook, self.bucket, f"{self.prefix}/")
        landed: dict[int, ImageRecord] = {}
        for index in range(count):
            sidecar_key = image_key(self.prefix, index, "json")
            if sidecar_key not in sizes:
                continue
            location = s3.S3Location(self.bucket, sidecar_key)
            record = json.loads(s3.read_object(self.s3_hook, location, parameter="sidecar")).get("record", {})
            if sizes.get(record.get("key")) == record.get("size_bytes"):
                landed[index] = record
        return landed

    def kept_images(self, count: int, landed: Iterable[int]) -> list[PaidImage]:
        """Images ``0..count-1`` an earlier try on this worker paid for but could not write, and not in S3."""
        skip = set(landed)
        return [
            PaidImage(index, _already_fetched(content), provenance)
            for index, (content, provenance) in sorted(self.spill.load().items())
            if index < count and index not in skip
        ]

    def recover(self, count: int, sizes: Mapping[str, int] | None = None) -> Recovery:
        """What earlier tries left: images already in S3, and kept images landed now (not paid again)."""
        landed = self.already_landed(count, sizes)
        kept = self.kept_images(count, landed)
        report = self.land_each(kept)
        return Recovery(landed=landed | report.landed, in_s3=len(landed), kept=report)

    def land_each(self, images: Iterable[PaidImage]) -> LandingReport:
        """Fetch and land each image in turn; one that fails does not stop the others, and none is lost."""
        images = list(images)
        report = LandingReport(paid=len(images))
        for image in images:
            content = b""
            try:
                content = image.fetch()
                report.landed[image.index] = self.land(image.index, content, image.provenance)
            except OpenAIImagesResponseError as error:  # expired URL, corrupt or truncated bytes: nothing to keep
                report.problems.append(f"image {image.index}: {error}")
                continue
            except Exception as error:
                if not s3.is_transient_s3_error(error):
                    raise
                self.spill.save(image.index, content, image.provenance)
                report.problems.append(
                    f"image {image.index} could not be written to s3://{self.bucket}/{self.prefix} after "
                    f"{self.retry.max_retries + 1} attempts ({type(error).__name__}: {error}); kept on this worker "
                    f"in {self.spill.path}"
                )
                continue
            self.spill.discard(image.index)
            log.info("Landed image %d at %s", image.index, report.landed[image.index]["s3_uri"])
        return report

    def land(self, index: int, content: bytes, provenance: Provenance) -> ImageRecord:
        """Verify ``content`` is a complete image, write it and its sidecar, return its XCom record."""
        info = inspect_image(content, what=f"image {index}")
        key = image_key(self.prefix, index, info.extension)
        record: ImageRecord = {
            "s3_uri": f"s3://{self.bucket}/{key}",
            "bucket": self.bucket,
            "key": key,
            "content_type": info.content_type,
            "width": info.width,
            "height": info.height,
            "size_bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "model": provenance.get("model"),
            "revised_prompt": provenance.get("revised_prompt"),
            "request_id": provenance.get("request_id"),
            "index": index,
            "metadata_uri": f"s3://{self.bucket}/{image_key(self.prefix, index, 'json')}",
            "status": "landed",
            "cost_usd": provenance.get("cost_usd"),
        }
        if info.frames > 1:
            record["frames"] = info.frames
        if "prepared" in provenance:
            record["prepared"] = provenance["prepared"]
        if "batch_id" in provenance:
            record["batch_id"] = provenance["batch_id"]
        s3.put_object(
            self.s3_hook,
            self.retry,
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
        if self.thumbnail_size and info.is_raster:
            self._thumbnail(index, content, record)
        sidecar: Sidecar = {"record": record, "provenance": bounded(provenance)}
        s3.put_object(
            self.s3_hook,
            self.retry,
            Bucket=self.bucket,
            Key=image_key(self.prefix, index, "json"),
            Body=json.dumps(sidecar, indent=1, default=str).encode(),
            ContentType="application/json",
        )
        return record

    def _thumbnail(self, index: int, content: bytes, record: ImageRecord) -> None:
        """Write the image's WEBP thumbnail and name it in ``record``; an image Pillow cannot shrink keeps
        no thumbnail (the image itself has landed: that is not worth failing for)."""
        assert self.thumbnail_size
        try:
            small = thumbnail(content, self.thumbnail_size)
        except decode_errors() as error:
            log.warning("No thumbnail for image %d (%s: %s)", index, type(error).__name__, error)
            return
        key = thumbnail_key(self.prefix, index)
        s3.put_object(self.s3_hook, self.retry, Bucket=self.bucket, Key=key, Body=small, ContentType="image/webp")
        record["thumbnail_uri"] = f"s3://{self.bucket}/{key}"


def _already_fetched(content: bytes) -> Callable[[], bytes]:
    return lambda: content


def _ascii(value: Any) -> str:
    return str(value or "").encode("ascii", "replace").decode()[:256]
