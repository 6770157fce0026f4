"""What the provider's triggers share: the connection read in the triggerer, the S3 hook built off the
event loop, one job run, and one event with its outcome (records, or the manifest's URI when many)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.jobs.outcome import JobOutcome

#: above this many records an event carries the manifest's URI instead (trigger events live in the database)
MAX_EVENT_RECORDS = 200


class BaseImagesJobTrigger(BaseTrigger):
    """Runs one job in the triggerer and fires one event: ``{"status": "success", "outcome": ...}`` or
    ``{"status": "error", "message": ...}``.

    :param conn_id: the ``openai_images`` connection, read in the triggerer (the key is never an argument).
    :param aws_conn_id: the AWS connection images land through.
    :param retry_possibly_billed: the operator's override of the connection's retry policy.
    """

    def __init__(
        self, conn_id: str, aws_conn_id: str | None = "aws_default", retry_possibly_billed: bool | None = None
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id
        self.retry_possibly_billed = retry_possibly_billed

    #: the constructor's arguments, each an attribute of the same name: what :meth:`serialize` stores
    serialized_arguments: tuple[str, ...] = ("conn_id", "aws_conn_id", "retry_possibly_billed")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        path = f"{type(self).__module__}.{type(self).__qualname__}"
        return path, {name: getattr(self, name) for name in self.serialized_arguments}

    def hook(self) -> OpenAIImagesHook:
        from airflow_provider_openai_images.hooks import OpenAIImagesHook

        return OpenAIImagesHook(conn_id=self.conn_id, retry_possibly_billed=self.retry_possibly_billed)

    async def run_job(self, hook: OpenAIImagesHook, s3_hook: Any) -> JobOutcome:
        """The job itself (the connection is read and the S3 hook built already)."""
        raise NotImplementedError

    def event_fields(self) -> dict[str, Any]:
        """What the success event carries besides the outcome."""
        return {}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.hook()
        try:
            await hook.aload_connection()
            # Importing boto3 takes a tenth of a second: not on the triggerer's shared event loop.
            s3_hook = await asyncio.to_thread(s3_hook_for, self.aws_conn_id)
            outcome = await self.run_job(hook, s3_hook)
        except Exception as error:  # the task reports it; the triggerer must not just log it
            self.log.exception("The images job failed")
            yield TriggerEvent({"status": "error", "message": f"{type(error).__name__}: {error}"})
            return
        yield TriggerEvent({"status": "success", "outcome": event_outcome(outcome), **self.event_fields()})


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
