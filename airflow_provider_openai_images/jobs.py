"""A job: many image requests sent concurrently and paced, each image landed in S3 the moment it arrives.

The bulk operator runs one in its worker; a deferred operator runs one in the triggerer. A job is
JSON (:class:`JobSpec`: no image bytes, no secrets), so a trigger can carry it; running it again (a
retried task, a restarted triggerer) lists its prefix once and pays only for what has not landed.
Requests go through one :class:`~airflow_provider_openai_images.core.async_client.AsyncImagesClient`
and its pacer; everything that blocks (S3, Pillow, URL downloads) runs in threads, so requests stay in
flight while images are written.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import NotRequired, TypedDict

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.accounting import answer_provenance
from airflow_provider_openai_images.core.models import Endpoint
from airflow_provider_openai_images.core.pacing import RequestPacer
from airflow_provider_openai_images.core.requests import (
    EditRequest,
    GenerateRequest,
    ImageFile,
    ImageRequest,
    VariationRequest,
)
from airflow_provider_openai_images.exceptions import OpenAIImagesError, OpenAIImagesForeignImagesError
from airflow_provider_openai_images.landing import ImageLander, paid_images, shortfall, shortfall_message
from airflow_provider_openai_images.outcomes import describe_failure
from airflow_provider_openai_images.records import ImageRecord, ItemFailure, PreparationReport, TaskInstanceInfo
from airflow_provider_openai_images.results import (
    ItemOutcome,
    JobOutcome,
    count_spend,
    item_outcome,
    no_spend,
    not_landed,
    refused,
    write_manifest,
)

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.async_client import AsyncImagesClient
    from airflow_provider_openai_images.core.pricing import PriceTable
    from airflow_provider_openai_images.core.responses import GeneratedImage
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

log = logging.getLogger(__name__)

REQUEST_TYPES: dict[Endpoint, type[ImageRequest]] = {
    "generations": GenerateRequest,
    "edits": EditRequest,
    "variations": VariationRequest,
}
T = TypeVar("T")


class JobItem(TypedDict):
    """One request of a job.

    :param values: the request's normalised values; ``n`` is how many images the item wants.
    :param prefix: the key prefix the item's images land under.
    :param inputs: upload field -> ``s3://`` URIs of its prepared input files (edits, variations).
    """

    endpoint: Endpoint
    values: dict[str, Any]
    prefix: str
    inputs: NotRequired[dict[str, list[str]]]
    prepared: NotRequired[PreparationReport]
    sources: NotRequired[list[str]]


class JobSpec(TypedDict):
    """Everything a job needs but the connections: JSON, so a trigger can carry it."""

    bucket: str
    prefix: str
    items: list[JobItem]
    overwrite: bool
    max_concurrency: int
    images_per_minute: float | None
    spill_path: str | None
    task: TaskInstanceInfo
    manifest: bool
    thumbnail_size: NotRequired[int | None]


class ImagesJob:
    """Runs a :class:`JobSpec`.

    :param client: sends the requests (its pacer, if any, paces them).
    :param s3_hook: lands the images (called from threads only).
    :param image_bytes: an answered image's bytes (decoded, or downloaded without the key).
    :param describe_failure: what a request the client gave up on means for its item.
    :param progress_every: seconds between progress lines in the log.
    """

    def __init__(
        self,
        spec: JobSpec,
        *,
        client: AsyncImagesClient,
        s3_hook: S3Hook,
        prices: PriceTable,
        image_bytes: Callable[[GeneratedImage], bytes],
        describe_failure: Callable[[OpenAIImagesError], ItemFailure],
        logger: logging.Logger | Any = log,
        progress_every: float = 10.0,
    ) -> None:
        self.spec = spec
        self.client = client
        self.s3_hook = s3_hook
        self.prices = prices
        self.image_bytes = image_bytes
        self.describe_failure = describe_failure
        self.log = logger
        self.progress_every = progress_every
        self._started = time.monotonic()
        self._threads: ThreadPoolExecutor | None = None
        self._done = 0
        self._spend = no_spend()

    async def run(self) -> JobOutcome:
        """Run every item (at most ``max_concurrency`` requests in flight) and write the manifest."""
        spec = self.spec
        concurrency = max(1, spec["max_concurrency"])
        # Its own threads: as many landings at once as requests in flight, and in a triggerer, no
        # starving other triggers of the event loop's shared default pool.
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="images-job") as threads:
            self._threads = threads
            sizes: Mapping[str, int] = {}
            if not spec["overwrite"]:
                sizes = await self._off_loop(s3.object_sizes, self.s3_hook, spec["bucket"], f"{spec['prefix']}/")
            landers = item_landers(self.s3_hook, spec)
            # First what earlier runs left, for every item; then the requests, in input order (the
            # semaphore serves its waiters first come, first served).
            recovered = await asyncio.gather(
                *(self._recover(lander, item, sizes) for lander, item in zip(landers, spec["items"], strict=True))
            )
            slots = asyncio.Semaphore(concurrency)
            progress = asyncio.create_task(self._report_progress())
            try:
                items = await asyncio.gather(
                    *(self._run_item(*each, slots) for each in zip(spec["items"], landers, recovered, strict=True))
                )
            finally:
                progress.cancel()
            manifest_uri = (
                await self._off_loop(write_manifest, self.s3_hook, spec["bucket"], spec["prefix"], items)
                if spec["manifest"]
                else None
            )
        self.log.info("%s", self.progress())
        return {"items": list(items), "manifest_uri": manifest_uri, "spend": self._spend}

    async def _off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in the job's threads, so the event loop keeps requests in flight meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, functools.partial(function, *args))

    def progress(self) -> str:
        """``items 12/40, images 12 landed, 23.5 images/min, $0.48 so far``."""
        minutes = max(time.monotonic() - self._started, 1e-9) / 60
        cost = self._spend["cost_usd"]
        spent = "cost unknown" if cost is None else f"${cost:.2f} so far"
        possibly = self._spend["possibly_billed_attempts"]
        maybe = f"; {possibly} attempt(s) may have been billed without an answer" if possibly else ""
        landed = self._spend["images_landed"]
        return (
            f"items {self._done}/{len(self.spec['items'])}, images {landed} landed, "
            f"{landed / minutes:.1f} images/min, {spent}{maybe}"
        )

    async def _report_progress(self) -> None:
        while True:
            await asyncio.sleep(self.progress_every)
            self.log.info("%s", self.progress())

    async def _recover(
        self, lander: ImageLander, item: JobItem, sizes: Mapping[str, int]
    ) -> tuple[dict[int, ImageRecord], ItemFailure | None]:
        if self.spec["overwrite"]:
            return {}, None
        return await self._off_loop(recover_item, lander, item, sizes)

    async def _run_item(
        self,
        item: JobItem,
        lander: ImageLander,
        recovered: tuple[dict[int, ImageRecord], ItemFailure | None],
        slots: asyncio.Semaphore,
    ) -> ItemOutcome:
        landed, failure = recovered
        try:
            if failure is not None:
                return item_outcome(landed, failure, item["values"].get("model"))
            return await self._land_item(item, lander, landed, slots)
        finally:
            self._done += 1

    async def _land_item(
        self, item: JobItem, lander: ImageLander, landed: dict[int, ImageRecord], slots: asyncio.Semaphore
    ) -> ItemOutcome:
        spec = self.spec
        wanted = item["values"].get("n") or 1
        missing = [index for index in range(wanted) if index not in landed]
        if not missing:
            return item_outcome(landed, None, item["values"].get("model"))
        request_type = REQUEST_TYPES[item["endpoint"]]
        async with slots:
            try:
                files = await self._off_loop(read_item_inputs, self.s3_hook, item)
                request = request_type.from_values({**item["values"], "n": len(missing)}, **files)
                response = await self.client.send(request)
            except OpenAIImagesError as error:
                return item_outcome(landed, self.describe_failure(error), item["values"].get("model"))
        provenance = answer_provenance(
            request,
            response,
            prices=self.prices,
            sources=item.get("sources", []),
            task=spec["task"],
            prepared=item.get("prepared"),
        )
        surplus_from = max([wanted - 1, *landed]) + 1
        paid = paid_images(missing, response, provenance, self.image_bytes, surplus_from=surplus_from)
        report = await self._off_loop(lander.land_each, paid)
        landed |= report.landed
        count_spend(self._spend, len(report.landed), provenance)
        problems = [report.failure_message()] if report.problems else []
        if short := shortfall(missing, response):
            problems.append(shortfall_message(len(missing), short, response.request_id))
        failure = not_landed(" ".join(problems)) if problems else None
        return item_outcome(landed, failure, item["values"].get("model"))


def recover_item(
    lander: ImageLander, item: JobItem, sizes: Mapping[str, int]
) -> tuple[dict[int, ImageRecord], ItemFailure | None]:
    """The item's images an earlier run landed (those kept in the spill landed now), and the failure
    if the spill still cannot be landed."""
    try:
        recovery = lander.recover(item["values"].get("n") or 1, sizes)
    except OpenAIImagesForeignImagesError as error:
        return {}, refused(str(error))
    failure = not_landed(recovery.kept.failure_message()) if recovery.kept.problems else None
    return recovery.landed, failure


def item_landers(s3_hook: S3Hook, spec: JobSpec) -> list[ImageLander]:
    """One lander per item of ``spec``, each on the item's prefix."""
    options: dict[str, Any] = {"spill_path": spec["spill_path"]}
    if "thumbnail_size" in spec:
        options["thumbnail_size"] = spec["thumbnail_size"]
    return [
        ImageLander(s3_hook, spec["bucket"], item["prefix"], owner=spec["task"], **options) for item in spec["items"]
    ]


def read_item_inputs(s3_hook: S3Hook, item: JobItem) -> dict[str, Any]:
    """The item's prepared input files, read back from S3 (several for ``images``, one otherwise)."""
    files: dict[str, Any] = {}
    for field, uris in item.get("inputs", {}).items():
        read = [
            ImageFile.from_bytes(s3.read_object(s3_hook, location, parameter=field), location.key.rsplit("/", 1)[-1])
            for location in map(s3.S3Location.parse, uris)
        ]
        files[field] = tuple(read) if field == "images" else read[0]
    return files


def stage_inputs(s3_hook: S3Hook, request: ImageRequest, bucket: str, prefix: str) -> dict[str, list[str]]:
    """Write a request's (prepared) uploads under ``prefix`` so a job can read them back; their URIs by field."""
    staged: dict[str, list[str]] = {}
    for field in request.file_fields:
        value = getattr(request, field)
        files = [] if value is None else list(value) if isinstance(value, tuple) else [value]
        for number, upload in enumerate(files):
            key = f"{prefix}/{field}-{number}.{upload.filename.rsplit('.', 1)[-1]}"
            s3.put_object(s3_hook, s3.S3_WRITE_RETRY, Bucket=bucket, Key=key, Body=upload.content,
                          ContentType=upload.content_type)  # fmt: skip
            staged.setdefault(field, []).append(f"s3://{bucket}/{key}")
    return staged


async def run_images_job(spec: JobSpec, *, hook: OpenAIImagesHook, s3_hook: S3Hook, logger: Any = log) -> JobOutcome:
    """Run ``spec`` through ``hook``'s connection (its settings read already) and ``s3_hook``; closes the client."""
    # Building the client makes an SSL context (tens of milliseconds): not on a shared event loop.
    client = await asyncio.to_thread(hook.get_async_conn, pacer=RequestPacer(spec["images_per_minute"]))
    try:
        job = ImagesJob(
            spec,
            client=client,
            s3_hook=s3_hook,
            prices=hook.prices,
            image_bytes=hook.image_bytes,
            describe_failure=functools.partial(describe_failure, retry=hook.settings.retry),
            logger=logger,
        )
        return await job.run()
    finally:
        await client.aclose()
