"""``BaseOpenAIImagesBatchOperator``: the Batch API mode (``use_batch_api=True``) of generations, edits and
bulk generations: half the price, within 24 hours, the waiting done in the triggerer.

In the worker, a try checks its input and budget (at batch prices), lists what earlier tries landed,
and then either re-attaches to the batch its task instance recorded in ``{prefix}/batch.json``, or
creates one for the missing images only (its input file written and checked before anything is
uploaded), records it, and defers to :class:`~airflow_provider_openai_images.triggers.OpenAIImagesBatchTrigger`.
A try with nothing left to send sends nothing at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_openai_images.operators.arguments import seconds
from airflow_provider_openai_images.operators.base import BaseOpenAIImagesOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_openai_images.core.requests import ImageRequest
    from airflow_provider_openai_images.jobs.batch.record import BatchRecord
    from airflow_provider_openai_images.jobs.batch.submission import BatchPlan
    from airflow_provider_openai_images.jobs.outcome import JobOutcome
    from airflow_provider_openai_images.jobs.spec import JobSpec
    from airflow_provider_openai_images.landing.target import LandingTarget
    from airflow_provider_openai_images.records import ImageRecord, PreparationReport

#: a day's completion window and an hour to land what it made
DEFAULT_BATCH_TIMEOUT = 25 * 3600.0


class BaseOpenAIImagesBatchOperator(BaseOpenAIImagesOperator):
    """The Batch API mode, on top of the base operator's arguments.

    :param use_batch_api: send the requests through the Batch API (half the price, done within 24 hours,
        outside the synchronous rate limits); the task always defers to the triggerer meanwhile.
    :param poll_interval: seconds between two looks at the batch (``GET /batches/{id}``).
    :param batch_timeout: seconds from the batch's creation after which it is cancelled and what it
        finished is landed (default 25 hours: the API's 24 hour window, and an hour to spare).
    :param cancel_on_kill: cancel the batch when the task is killed (marked failed or cleared).
    :param keep_files: keep the batch's input, output and error files in the Files API once its images
        are landed (by default they are deleted then; a file is kept anyway while an image of it did
        not land, or while it holds a line that could not be read or named none of the batch's requests).
    """

    template_fields: Sequence[str] = ("poll_interval", "batch_timeout")

    def __init__(
        self,
        *,
        use_batch_api: bool = False,
        poll_interval: float | str = 60.0,
        batch_timeout: float | str = DEFAULT_BATCH_TIMEOUT,
        cancel_on_kill: bool = True,
        keep_files: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("poll_interval", poll_interval), ("batch_timeout", batch_timeout)):
            if not (isinstance(value, str) and "{{" in value):  # a template is checked once rendered
                seconds(name, value)
        self.use_batch_api = use_batch_api
        self.poll_interval = poll_interval
        self.batch_timeout = batch_timeout
        self.cancel_on_kill = cancel_on_kill
        self.keep_files = keep_files
        self._created_batch: str | None = None

    @property
    def at_batch_prices(self) -> bool:
        return self.use_batch_api

    def hand_off(
        self,
        target: LandingTarget,
        request: ImageRequest,
        values: Mapping[str, Any],
        wanted: int,
        prepared: PreparationReport | None,
    ) -> list[ImageRecord] | None:
        if not self.use_batch_api:
            return super().hand_off(target, request, values, wanted, prepared)
        spec = self.single_request_job(target, request, values, wanted, prepared)
        return self.batch_result({"status": "success", "outcome": self.run_in_batch(spec)})

    def execute_batch_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the batch trigger (``OpenAIImagesBatchTrigger`` resumes here, the images trigger in
        ``execute_complete``)."""
        return self.announce(context, self.batch_result(event))

    def batch_result(self, event: dict[str, Any]) -> Any:
        """A single-request operator's records from its batch's outcome (the bulk operator has its own)."""
        self.log_batch_spend(event)
        return self.job_result(event)

    def log_batch_spend(self, event: Mapping[str, Any]) -> None:
        if event.get("status") == "success":
            from airflow_provider_openai_images.jobs.accounting import batch_spend_summary

            self.log.info("%s", batch_spend_summary(event.get("batch_id"), event["outcome"]["spend"]))

    def run_in_batch(self, spec: JobSpec) -> JobOutcome:
        """Re-attach to the recorded batch, or create one for what is missing, and defer to it; with nothing
        to send, the outcome as it stands (no request at all)."""
        from airflow_provider_openai_images.jobs.batch.manifest import unknown_line_entries
        from airflow_provider_openai_images.jobs.batch.submission import plan_batch
        from airflow_provider_openai_images.jobs.outcome import no_spend, write_manifest
        from airflow_provider_openai_images.operators.failures import bad_input_fails_at_once

        with bad_input_fails_at_once():
            timing = {name: seconds(name, getattr(self, name)) for name in ("poll_interval", "batch_timeout")}
        plan = plan_batch(self.s3_hook, spec)
        if plan.unfinished_batch is not None and plan.record is not None:
            self.log.info("Re-attaching to batch %s, recorded by an earlier try", plan.unfinished_batch)
            self.defer_to_batch(spec, plan.record, **timing)
        sending = plan.to_send()
        if not sending:
            self.log.info("Nothing to send: every item has landed or was refused for good by an earlier batch")
            items = plan.outcomes()
            unknown = unknown_line_entries(plan.unknown_lines)  # kept from earlier batches
            manifest = (
                write_manifest(self.s3_hook, spec["bucket"], spec["prefix"], items, unknown)
                if spec["manifest"]
                else None
            )
            return {"items": items, "manifest_uri": manifest, "spend": no_spend(batch=True)}
        record = self._submit(plan, sending)
        self.defer_to_batch(spec, record, **timing)

    def _submit(self, plan: BatchPlan, sending: dict[str, list[int]]) -> BatchRecord:
        from airflow_provider_openai_images.exceptions import OpenAIImagesError
        from airflow_provider_openai_images.jobs.batch.submission import submit_batch
        from airflow_provider_openai_images.jobs.failures import batch_possibly_created
        from airflow_provider_openai_images.operators.failures import airflow_exception, bad_input_fails_at_once

        async def submit() -> BatchRecord:
            client = self.hook.get_async_batch_client()
            try:
                return await submit_batch(client, self.s3_hook, plan, sending)
            finally:
                await client.aclose()

        with bad_input_fails_at_once():
            try:
                record = asyncio.run(submit())
            except OpenAIImagesError as error:
                if error.possibly_billed:
                    raise airflow_exception(batch_possibly_created(error)) from error
                raise airflow_exception(self.describe_failure(error)) from error
        self._created_batch = record["batch_id"]
        return record

    def defer_to_batch(
        self, spec: JobSpec, record: BatchRecord, *, poll_interval: float, batch_timeout: float
    ) -> NoReturn:
        from airflow_provider_openai_images.triggers import OpenAIImagesBatchTrigger

        created_at = float(record["created_at"])
        trigger = OpenAIImagesBatchTrigger(
            {
                "job": spec,
                "batch_id": record["batch_id"],
                "sent": record["sent"],
                "final_failures": record["final_failures"],
                "poll_interval": poll_interval,
                "deadline": created_at + batch_timeout,
                "keep_files": self.keep_files,
            },
            conn_id=self.conn_id,
            aws_conn_id=self.aws_conn_id,
            cancel_on_kill=self.cancel_on_kill,
        )
        self.log.info("Deferring to batch %s (%d requests)", record["batch_id"], len(record["sent"]))
        self.defer(trigger=trigger, method_name="execute_batch_complete")
        raise AssertionError("unreachable: defer() raises TaskDeferred")

    def on_kill(self) -> None:
        """Killed in the worker after creating a batch: cancel it, as the trigger would."""
        if self._created_batch is None or not self.cancel_on_kill:
            return

        async def cancel(batch_id: str) -> None:
            client = self.hook.get_async_batch_client()
            try:
                await client.cancel_batch(batch_id)
            finally:
                await client.aclose()

        asyncio.run(cancel(self._created_batch))
