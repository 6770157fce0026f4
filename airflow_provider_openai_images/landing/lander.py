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
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.exceptions import OpenAIImagesForeignImagesError, OpenAIImagesResponseError
from airflow_provider_openai_images.keys import image_key, thumbnail_key
from airflow_provider_openai_images.landing import DEFAULT_THUMBNAIL_SIZE
from airflow_provider_openai_images.landing.spill import open_spill
from airflow_provider_openai_images.media.imaging import decode_errors, inspect_image, thumbnail
from airflow_provider_openai_images.records import ImageRecord, Provenance, Sidecar, TaskInstanceInfo, bounded

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.responses import GeneratedImage, ImagesResponse
    from airflow_provider_openai_images.core.retry import RetryPolicy

log = logging.getLogger(__name__)
#: An image's sidecar, directly under its prefix: ``{index:03d}.json``.
_SIDECAR = re.compile(r"([0-9]{3,})\.json")


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
    indices: Sequence[int],
    response: ImagesResponse,
    provenance: Provenance,
    fetch: Callable[[GeneratedImage], bytes],
    *,
    surplus_from: int,
) -> list[PaidImage]:
    """Every image of ``response``, ready to land one by one: one per index of ``indices`` (those still
    missing), and any the API answered beyond them (paid for all the same) at ``surplus_from`` onwards,
    flagged ``surplus``. See :func:`shortfall` for an answer with fewer."""
    paid = []
    for (index, surplus), image in zip(
        answer_targets(indices, len(response.data), surplus_from), response.data, strict=True
    ):
        own = image_provenance(provenance, image)
        if surplus:
            own["surplus"] = True
        paid.append(PaidImage(index, functools.partial(fetch, image), own))
    return paid


def answer_targets(indices: Sequence[int], answered: int, surplus_from: int) -> list[tuple[int, bool]]:
    """Where each of ``answered`` images lands, and whether it is surplus: ``indices`` first (the first of
    them when fewer were answered), then ``surplus_from`` onwards for images beyond those asked."""
    extra = range(surplus_from, surplus_from + max(0, answered - len(indices)))
    return [(index, False) for index in indices[:answered]] + [(index, True) for index in extra]


def shortfall(indices: Sequence[int], response: ImagesResponse) -> list[int]:
    """The indices an answer left without an image: it answered fewer than asked."""
    return list(indices[len(response.data) :])


def shortfall_message(asked: int, missing: Sequence[int], request_id: str | None) -> str:
    """What a try says of an answer with fewer images than asked."""
    return (
        f"Asked for {asked} image(s), the API answered {asked - len(missing)} (request {request_id}): image(s) "
        f"{', '.join(map(str, missing))} missing. Those answered have landed; a retry asks only for the missing ones."
    )


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
            "are in S3. A retry of this task lands the kept images without paying again, and pays only for images "
            "that are neither in S3 nor kept (a spill on this worker's disk is not seen by a retry on another worker: "
            "a shared spill_path is)."
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
        :mod:`~airflow_provider_openai_images.landing.spill`); default: the worker's temp directory.
    :param thumbnail_size: the long side of the WEBP thumbnail written beside each image; ``None``: none.
    :param owner: the task instance this prefix belongs to: an earlier try's images are recovered only if
        their sidecar names it (``None``: not checked).
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
        owner: TaskInstanceInfo | None = None,
    ) -> None:
        self.s3_hook = s3_hook
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.retry = retry or s3.S3_WRITE_RETRY
        self.spill = open_spill(bucket, self.prefix, spill_path, s3_hook)
        self.thumbnail_size = thumbnail_size
        self.owner = owner

    def already_landed(self, count: int, sizes: Mapping[str, int] | None = None) -> dict[int, ImageRecord]:
        """Records of images ``0..count-1``, and of surplus images after them, that are complete in S3 (object
        and sidecar, sizes matching) and were landed by this task instance.

        :param sizes: key -> size of the objects under the prefix, when a listing was made already
            (a job lists its whole prefix once for all its items).
        :raises OpenAIImagesForeignImagesError: when a sidecar names another task instance (two runs share the
            prefix): its images are neither taken as this one's nor overwritten.
        """
        if sizes is None:
            sizes = s3.object_sizes(self.s3_hook, self.bucket, f"{self.prefix}/")
        landed: dict[int, ImageRecord] = {}
        for index, sidecar_key in self._sidecars(sizes):
            location = s3.S3Location(self.bucket, sidecar_key)
            sidecar = json.loads(s3.read_object(self.s3_hook, location, parameter="sidecar"))
            record = sidecar.get("record", {})
            if index >= count and not record.get("surplus"):
                continue
            self._check_owner(location, (sidecar.get("provenance") or {}).get("task"))
            if sizes.get(record.get("key")) == record.get("size_bytes"):
                landed[index] = record
        return landed

    def _sidecars(self, sizes: Mapping[str, int]) -> list[tuple[int, str]]:
        """``(index, key)`` of every image sidecar directly under the prefix, by index."""
        found = (_SIDECAR.fullmatch(key[len(self.prefix) + 1 :]) for key in sizes if key.startswith(f"{self.prefix}/"))
        return sorted((int(match[1]), f"{self.prefix}/{match[0]}") for match in found if match)

    def _check_owner(self, location: s3.S3Location, task: Any) -> None:
        if self.owner is None:
            return
        fields = ("dag_id", "run_id", "task_id", "map_index")
        theirs = tuple(task.get(name) for name in fields) if isinstance(task, Mapping) else None
        if theirs == tuple(self.owner[name] for name in fields):  # type: ignore[literal-required]
            return
        landed_by = (
            "an unknown task instance" if theirs is None else "dag {}, run {}, task {}, map index {}".format(*theirs)
        )
        raise OpenAIImagesForeignImagesError(
            f"{location.uri} was landed by {landed_by}, not by this task instance: its prefix s3://{self.bucket}/"
            f"{self.prefix} is shared with another run. Nothing was sent, and nothing there is returned or "
            "overwritten. Give each run its own prefix (an s3_key_prefix with {{ run_id }}, or none: the default "
            "is per run), or set overwrite=True to replace those images."
        )

    def kept_images(self, count: int, landed: Iterable[int]) -> list[PaidImage]:
        """Images an earlier try on this worker paid for but could not write, and not in S3: ``0..count-1`` and
        surplus ones."""
        skip = set(landed)
        return [
            PaidImage(index, _already_fetched(content), provenance)
            for index, (content, provenance) in sorted(self.spill.load().items())
            if (index < count or provenance.get("surplus")) and index not in skip
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
                kept = self.spill.save(image.index, content, image.provenance)
                report.problems.append(
                    f"image {image.index} could not be written to s3://{self.bucket}/{self.prefix} after "
                    f"{self.retry.max_retries + 1} attempts ({type(error).__name__}: {error}); kept in {kept}"
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
        if provenance.get("surplus"):
            record["surplus"] = True
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
