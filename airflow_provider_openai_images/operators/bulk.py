"""``OpenAIBulkGenerateImagesOperator``: a list of prompts generated in one task, concurrently and at the
rate limit, every image landed in S3 the moment it arrives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_openai_images.operators.arguments import check_choice, positive
from airflow_provider_openai_images.operators.batch_mode import BaseOpenAIImagesBatchOperator
from airflow_provider_openai_images.operators.output_options import BaseOpenAIImagesOutputOperator
from airflow_provider_openai_images.operators.request_types import RequestTypeOf

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_openai_images.jobs.outcome import JobOutcome
    from airflow_provider_openai_images.jobs.spec import JobSpec
    from airflow_provider_openai_images.records import ImageRecord, ManifestSummary

ItemErrorAction = Literal["fail", "record"]
#: about 70 KB of records in the metadata database (a record is some 700 bytes)
DEFAULT_MAX_XCOM_RECORDS = 100
_PROMPTS = "a non-empty list of prompts, each a text or an object with a 'prompt' and generate parameters"


class OpenAIBulkGenerateImagesOperator(BaseOpenAIImagesBatchOperator, BaseOpenAIImagesOutputOperator):
    """Generate images for many prompts in one task and land each in S3 as it arrives (``POST /images/generations``).

    Up to ``max_concurrency`` requests are in flight, evenly paced to ``images_per_minute`` if set; a
    429 with ``Retry-After`` holds back every new request, and ``x-ratelimit-*`` headers slow the pool
    before a 429. Landing runs beside the requests, not between them. Item ``i`` owns the prefix
    ``{prefix}/item-{i:05d}``: a retried task lists the task's prefix once and pays only for the items,
    and the images within items, that have not landed. Budgets (``max_images``, ``max_cost_usd``) cover
    the whole list and are checked before the first request. The task log shows progress every ten
    seconds or so.

    Writes ``{prefix}/manifest.jsonl``: one line per image or failure, with its ``item``. Returns one list of
    :class:`~airflow_provider_openai_images.records.ImageRecord` per item, in input order (a failed or
    rejected item ends with a ``failed`` or ``rejected`` record); when there are more records than
    ``max_xcom_records``, a :class:`~airflow_provider_openai_images.records.ManifestSummary` instead (counts,
    cost and the manifest's URI), so that the metadata database holds a few hundred bytes, not every record.
    :func:`~airflow_provider_openai_images.records.read_records` gives the records either way.

    :param prompts: the items (templated, or an upstream ``XComArg``): texts, or objects with a
        ``prompt`` and any generate parameter for that item (``size``, ``quality``, ``n``, ...); the
        operator's other arguments apply to every item.
    :param style: ``vivid`` or ``natural`` (dall-e-3).
    :param moderation: ``low`` or ``auto`` (GPT image models).
    :param max_concurrency: requests in flight at most (templated).
    :param images_per_minute: the pace, evenly spread (templated); ``None``: as fast as the server allows.
    :param on_item_error: ``"fail"`` (default): after every item ran, the task fails if any did not land
        completely (landed images stay, and a retry pays only for the rest); ``"record"``: the task
        succeeds, the failures recorded. Safety rejections count as item failures here.
    :param max_xcom_records: the most records returned through XCom (templated); above it, the task returns
        the manifest's summary (``0``: always the summary).

    With ``deferrable=True`` the requests run in the triggerer and the worker slot is free meanwhile.
    With ``use_batch_api=True`` (see
    :class:`~airflow_provider_openai_images.operators.batch_mode.BaseOpenAIImagesBatchOperator`) the
    missing items go to the Batch API in one batch at half the price, ``max_concurrency`` and
    ``images_per_minute`` do not apply, and the records are the same, ``cost_usd`` at batch prices.
    """

    template_fields: Sequence[str] = (
        "prompts",
        "style",
        "moderation",
        "max_concurrency",
        "images_per_minute",
        "max_xcom_records",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"prompts": "json", "extra_body": "json"}
    request_type = RequestTypeOf("GenerateRequest")

    def __init__(
        self,
        *,
        prompts: Sequence[str | Mapping[str, Any]] | str,
        style: str | None = None,
        moderation: str | None = None,
        max_concurrency: int | str = 8,
        images_per_minute: float | str | None = None,
        on_item_error: ItemErrorAction = "fail",
        max_xcom_records: int | str = DEFAULT_MAX_XCOM_RECORDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_choice("on_item_error", on_item_error, ("fail", "record"))
        self.prompts = prompts
        self.style = style
        self.moderation = moderation
        self.max_concurrency = max_concurrency
        self.images_per_minute = images_per_minute
        self.on_item_error = on_item_error
        self.max_xcom_records = max_xcom_records

    def request_values(self) -> dict[str, Any]:
        """The values every item starts from (each item brings its own ``prompt``)."""
        return {name: getattr(self, name) for name in self.request_type.value_fields() if name != "prompt"}

    # A bulk task returns one list of records per item (or their summary), where the others return one list.
    def execute(self, context: Context) -> list[list[ImageRecord]] | ManifestSummary:  # type: ignore[override]
        from airflow_provider_openai_images.jobs.realtime import run_images_job
        from airflow_provider_openai_images.operators.deferral import defer_job

        spec = self.job_spec(context)
        if self.use_batch_api:
            return self.returned(context, self.run_in_batch(spec))
        if self.deferrable:
            defer_job(self, spec)
        outcome = asyncio.run(run_images_job(spec, hook=self.hook, s3_hook=self.s3_hook, logger=self.log))
        return self.returned(context, outcome)

    def execute_complete(  # type: ignore[override]
        self, context: Context, event: dict[str, Any]
    ) -> list[list[ImageRecord]] | ManifestSummary:
        return self.returned(context, self.outcome_of(event))

    def execute_batch_complete(
        self, context: Context, event: dict[str, Any]
    ) -> list[list[ImageRecord]] | ManifestSummary:
        self.log_batch_spend(event)
        return self.execute_complete(context, event)

    def job_spec(self, context: Context) -> JobSpec:
        """The items, checked (every item's parameters, then the budget of all of them) before anything is sent."""
        from airflow_provider_openai_images.core.budget import Ask, Budget
        from airflow_provider_openai_images.jobs.spec import JobItem
        from airflow_provider_openai_images.operators.deferral import job_spec
        from airflow_provider_openai_images.operators.failures import bad_input_fails_at_once

        target = self.landing_target(context)
        with bad_input_fails_at_once():
            items = [
                JobItem(endpoint="generations", values=values, prefix=f"{target.prefix}/item-{number:05d}")
                for number, values in enumerate(self.item_values())
            ]
            asks = [Ask.of(self.request_type.from_values(item["values"])) for item in items]
            Budget.parse(self.max_images, self.max_cost_usd).check(self.hook.prices, asks, batch=self.use_batch_api)
            for model in sorted({ask.model for ask in asks}):
                self.hook.check_model_lifecycle(model)
            concurrency = positive("max_concurrency", self.max_concurrency, int)
            self._xcom_limit()
            pace = (
                None
                if self.images_per_minute in (None, "")
                else positive("images_per_minute", self.images_per_minute, float)
            )
        return job_spec(target, items, max_concurrency=concurrency, images_per_minute=pace, manifest=True)

    def item_values(self) -> list[dict[str, Any]]:
        """Each item's normalised, checked request values: the operator's, the item's own on top."""
        from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

        prompts = json.loads(self.prompts) if isinstance(self.prompts, str) else self.prompts
        if not isinstance(prompts, Sequence) or isinstance(prompts, str) or not prompts:
            raise OpenAIImagesValidationError("prompts", _shown(prompts), _PROMPTS)
        shared = self.request_type.normalise(self.request_values())
        items = []
        for number, entry in enumerate(prompts):
            own = {"prompt": entry} if isinstance(entry, str) else entry
            if not isinstance(own, Mapping) or "prompt" not in own:
                raise OpenAIImagesValidationError(f"prompts[{number}]", _shown(entry), _PROMPTS)
            try:
                values = self.hook.with_default_model(self.request_type, {**shared, **self.request_type.normalise(own)})
                self.request_type.from_values(values).check_parameters(self.hook.catalogue)
            except OpenAIImagesValidationError as error:
                raise OpenAIImagesValidationError(
                    f"prompts[{number}].{error.parameter}", error.value, error.allowed, model=error.model
                ) from None
            items.append(values)
        return items

    def returned(self, context: Context, outcome: JobOutcome) -> list[list[ImageRecord]] | ManifestSummary:
        """What the task returns once the job ran: the records (Airflow told what landed), or their summary
        when they are more than ``max_xcom_records``."""
        from airflow_provider_openai_images.jobs.outcome import manifest_summary

        records = self.announce(context, self.finish(outcome))
        limit = self._xcom_limit()
        if outcome["manifest_uri"] is None or sum(len(item) for item in records) <= limit:
            return records
        summary = manifest_summary(records, outcome["manifest_uri"], limit)
        self.log.info(
            "%d records (more than max_xcom_records=%d): returning the manifest's summary, %s; "
            "read_records(output) reads them back",
            summary["records"], limit, summary["manifest_uri"],
        )  # fmt: skip
        return summary

    def _xcom_limit(self) -> int:
        from airflow_provider_openai_images.core.numbers import strict_int
        from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError

        limit = strict_int(self.max_xcom_records)
        if limit is None or limit < 0:
            raise OpenAIImagesValidationError("max_xcom_records", self.max_xcom_records, "a whole number, 0 or more")
        return limit

    def finish(self, outcome: JobOutcome) -> list[list[ImageRecord]]:
        """Records per item in input order; with ``on_item_error="fail"``, fail if any item did not land completely."""
        from airflow_provider_openai_images.jobs.failures import FINAL_FAILURES

        records = [item["records"] for item in outcome["items"]]
        failures = [(number, item["failure"]) for number, item in enumerate(outcome["items"]) if item["failure"]]
        if failures and self.on_item_error == "fail":
            listed = "; ".join(f"item {number}: {failure['message']}" for number, failure in failures[:10])
            more = f" (and {len(failures) - 10} more)" if len(failures) > 10 else ""
            message = (
                f"{len(failures)} of {len(records)} items did not land completely: {listed}{more}. The landed images "
                f"stay (manifest: {outcome['manifest_uri']}); a retry pays only for what is missing."
            )
            final = all(failure["kind"] in FINAL_FAILURES for _, failure in failures)
            raise AirflowFailException(message) if final else AirflowException(message)
        return records

    def outcome_of(self, event: dict[str, Any]) -> JobOutcome:
        """The job's outcome from a trigger event; records too large for the event are read from the manifest."""
        from airflow_provider_openai_images.jobs.outcome import read_manifest
        from airflow_provider_openai_images.operators.deferral import job_outcome

        outcome = job_outcome(event)
        if outcome["manifest_uri"] and any(item.get("records") is None for item in outcome["items"]):
            lists = read_manifest(self.s3_hook, outcome["manifest_uri"], len(outcome["items"]))
            for item, records in zip(outcome["items"], lists, strict=True):
                item["records"] = records
        return outcome


def _shown(value: Any) -> Any:
    return value if not isinstance(value, (list, tuple, dict)) else json.dumps(value, default=str)[:80]
