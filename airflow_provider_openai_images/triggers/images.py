"""``OpenAIImagesTrigger``: a deferred operator's images, requested and landed in the triggerer.

It runs the operator's :class:`~airflow_provider_openai_images.jobs.JobSpec` with the async client
(the connection read with ``aget_connection``, never carried in the trigger's arguments) and lands
each image itself, off the event loop. Its event carries records, never image bytes; when there are
many, only the manifest's URI. Run again after a triggerer restart, it lists the prefix and pays only
for what has not landed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_openai_images.jobs import JobSpec, run_images_job
from airflow_provider_openai_images.results import JobOutcome

#: above this many records an event carries the manifest's URI instead (trigger events live in the database)
MAX_EVENT_RECORDS = 200


class OpenAIImagesTrigger(BaseTrigger):
    """Requests and lands the images of ``spec``, then fires one event with the outcome.

    :param spec: what to request and where to land it (JSON; no secrets, no bytes).
    :param conn_id: the ``openai_images`` connection, read in the triggerer.
    :param aws_conn_id: the AWS connection images land through.
    :param retry_possibly_billed: the operator's override of the connection's retry policy.
    """

    def __init__(
        self,
        spec: JobSpec,
        conn_id: str,
        aws_conn_id: str | None = "aws_default",
        retry_possibly_billed: bool | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id
        self.retry_possibly_billed = retry_possibly_billed

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "spec": self.spec,
                "conn_id": self.conn_id,
                "aws_conn_id": self.aws_conn_id,
                "retry_possibly_billed": self.retry_possibly_billed,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_openai_images.hooks import OpenAIImagesHook

        hook = OpenAIImagesHook(conn_id=self.conn_id, retry_possibly_billed=self.retry_possibly_billed)
        try:
            await hook.aload_connection()
            # Importing boto3 takes a tenth of a second: not on the triggerer's shared event loop.
            s3_hook = await asyncio.to_thread(s3_hook_for, self.aws_conn_id)
            outcome = await run_images_job(self.spec, hook=hook, s3_hook=s3_hook, logger=self.log)
        except Exception as error:  # the task reports it; the triggerer must not just log it
            self.log.exception("The images job failed")
            yield TriggerEvent({"status": "error", "message": f"{type(error).__name__}: {error}"})
            return
        yield TriggerEvent({"status": "success", "outcome": event_outcome(outcome)})


def s3_hook_for(aws_conn_id: str | None) -> Any:
    """An ``S3Hook`` (boto3 imported here: call it off the event loop)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=aws_conn_id)


def event_outcome(outcome: JobOutcome) -> dict[str, Any]:
    """The outcome as an event carries it: records, or only the manifest's URI when they are many."""
    records = sum(len(item["records"]) for item in outcome["items"])
    if records <= MAX_EVENT_RECORDS or not outcome["manifest_uri"]:
        return dict(outcome)
    items = [{"records": None, "failure": item["failure"]} for item in outcome["items"]]
    return {**outcome, "items": items}
