"""``OpenAIImagesBatchTrigger``: waits for a batch of image requests in the triggerer, then lands its output.

It polls ``GET /batches/{id}`` every ``poll_interval`` seconds with the async client (the connection
read with ``aget_connection``, never carried in the trigger's arguments), streams the output and error
files line by line into S3 once the batch ends, and fires one event with the records (or only the
manifest's URI when they are many). Run again after a triggerer restart, it skips what has landed.
Killed by a user (mark failed, clear), it cancels the batch when ``cancel_on_kill`` is set: from Airflow 3.3,
whose triggerer calls ``on_kill``; on 3.2 it logs that a killed task leaves its batch running.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.compat import TRIGGER_ON_KILL_SINCE, needs_airflow, triggerer_calls_on_kill
from airflow_provider_openai_images.jobs.batch.waiting import BatchJobSpec, run_batch_job
from airflow_provider_openai_images.triggers.base import BaseImagesJobTrigger

if TYPE_CHECKING:
    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.jobs.outcome import JobOutcome


class OpenAIImagesBatchTrigger(BaseImagesJobTrigger):
    """Waits for batch ``spec["batch_id"]`` and lands its images, then fires one event with the outcome.

    :param spec: the batch, the items it was sent for and where they land (JSON; no secrets, no bytes).
    :param conn_id: the ``openai_images`` connection, read in the triggerer.
    :param aws_conn_id: the AWS connection images land through.
    :param cancel_on_kill: cancel the batch when a user kills the deferred task.
    """

    serialized_arguments = ("spec", "conn_id", "aws_conn_id", "cancel_on_kill")

    def __init__(
        self,
        spec: BatchJobSpec,
        conn_id: str,
        aws_conn_id: str | None = "aws_default",
        cancel_on_kill: bool = True,
    ) -> None:
        super().__init__(conn_id, aws_conn_id)
        self.spec = spec
        self.cancel_on_kill = cancel_on_kill

    async def run_job(self, hook: OpenAIImagesHook, s3_hook: Any) -> JobOutcome:
        if self.cancel_on_kill and not triggerer_calls_on_kill():
            self.log.warning(
                "%s: killing this task while it waits will not cancel batch %s (POST /batches/{id}/cancel does)",
                needs_airflow(TRIGGER_ON_KILL_SINCE, "cancel_on_kill in the triggerer"),
                self.spec["batch_id"],
            )
        return await run_batch_job(self.spec, hook=hook, s3_hook=s3_hook, logger=self.log)

    def event_fields(self) -> dict[str, Any]:
        return {"batch_id": self.spec["batch_id"]}

    async def on_kill(self) -> None:
        """The task was killed by a user: cancel the batch (what it finished stays in its output file)."""
        if not self.cancel_on_kill:
            return
        hook = self.hook()
        await hook.aload_connection()
        client = await asyncio.to_thread(hook.get_async_batch_client)
        try:
            batch = await client.cancel_batch(self.spec["batch_id"])
            self.log.info("Task killed: batch %s is %s", self.spec["batch_id"], batch["status"])
        finally:
            await client.aclose()
