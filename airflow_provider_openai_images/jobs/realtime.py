"""A job in real time: many image requests sent concurrently and paced, each image landed in S3 the moment it arrives.

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

from airflow_provider_openai_images import s3
from airflow_provider_openai_images.core.pacing import RequestPacer
from airflow_provider_openai_images.exceptions import OpenAIImagesError
from airflow_provider_openai_images.jobs.accounting import answer_provenance, possibly_billed_cost
from airflow_provider_openai_images.jobs.failures import describe_failure, not_landed
from airflow_provider_openai_images.jobs.outcome import (
    ItemOutcome,
    JobOutcome,
    count_spend,
    item_outcome,
    no_spend,
    write_manifest,
)
from airflow_provider_openai_images.jobs.spec import (
    REQUEST_TYPES,
    JobItem,
    JobSpec,
    item_landers,
    read_item_inputs,
    recover_item,
)
from airflow_provider_openai_images.landing.lander import ImageLander, paid_images, shortfall, shortfall_message
from airflow_provider_openai_images.records import ImageRecord, ItemFailure

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.async_client import AsyncImagesClient
    from airflow_provider_openai_images.core.pricing import PriceTable
    from airflow_provider_openai_images.core.requests import ImageRequest
    from airflow_provider_openai_images.core.responses import GeneratedImage
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

log = logging.getLogger(__name__)

T = TypeVar("T")


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
        self._input_threads: ThreadPoolExecutor | None = None
        self._done = 0
        self._spend = no_spend()

    async def run(self) -> JobOutcome:
        """Run every item (at most ``max_concurrency`` requests in flight) and write the manifest."""
        spec = self.spec
        concurrency = max(1, spec["max_concurrency"])
        # Its own threads, so that in a triggerer no other trigger starves of the event loop's shared pool; and
        # apart, those that read a request's inputs, so that landings S3 makes slow never hold back the next
        # requests (landing runs beside the requests, not between them).
        with (
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="images-job") as threads,
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="images-job-inputs") as input_threads,
        ):
            self._threads, self._input_threads = threads, input_threads
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

    async def _off_loop(self, function: Callable[..., T], *args: Any, threads: ThreadPoolExecutor | None = None) -> T:
        """``function(*args)`` in the job's threads, so the event loop keeps requests in flight meanwhile."""
        call = functools.partial(function, *args)
        return await asyncio.get_running_loop().run_in_executor(threads or self._threads, call)

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
        request: ImageRequest | None = None
        async with slots:
            try:
                files = await self._off_loop(read_item_inputs, self.s3_hook, item, threads=self._input_threads)
                request = request_type.from_values({**item["values"], "n": len(missing)}, **files)
                response = await self.client.send(request)
            except OpenAIImagesError as error:
                why = self.describe_failure(error)
                if why["kind"] == "possibly_billed" and request is not None:
                    why["possibly_billed_cost_usd"] = possibly_billed_cost(self.prices, request, error.attempt_log)
                return item_outcome(landed, why, item["values"].get("model"))
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
