"""``OpenAIImagesTrigger``: a deferred operator's images, requested and landed in the triggerer.

It runs the operator's :class:`~airflow_provider_openai_images.jobs.realtime.JobSpec` with the async client
(the connection read with ``aget_connection``, never carried in the trigger's arguments) and lands
each image itself, off the event loop. Its event carries records, never image bytes; when there are
many, only the manifest's URI. Run again after a triggerer restart, it lists the prefix and pays only
for what has not landed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.jobs.realtime import run_images_job
from airflow_provider_openai_images.jobs.spec import JobSpec
from airflow_provider_openai_images.triggers.base import BaseImagesJobTrigger

if TYPE_CHECKING:
    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.jobs.outcome import JobOutcome


class OpenAIImagesTrigger(BaseImagesJobTrigger):
    """Requests and lands the images of ``spec``, then fires one event with the outcome.

    :param spec: what to request and where to land it (JSON; no secrets, no bytes).
    :param conn_id: the ``openai_images`` connection, read in the triggerer.
    :param aws_conn_id: the AWS connection images land through.
    :param retry_possibly_billed: the operator's override of the connection's retry policy.
    """

    serialized_arguments = ("spec", *BaseImagesJobTrigger.serialized_arguments)

    def __init__(
        self,
        spec: JobSpec,
        conn_id: str,
        aws_conn_id: str | None = "aws_default",
        retry_possibly_billed: bool | None = None,
    ) -> None:
        super().__init__(conn_id, aws_conn_id, retry_possibly_billed)
        self.spec = spec

    async def run_job(self, hook: OpenAIImagesHook, s3_hook: Any) -> JobOutcome:
        return await run_images_job(self.spec, hook=hook, s3_hook=s3_hook, logger=self.log)
