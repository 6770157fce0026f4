"""``BaseOpenAIImagesOperator``: what every operator of this provider shares.

It owns the connections, the landing path and the parameters of every Images API request. A
subclass declares only its own arguments and the request type it sends (``request_type``); the
request is built from the operator's fields in one generic step. ``execute`` runs three phases:
recover what an earlier try landed, request what is missing, land the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from airflow.sdk import BaseOperator, conf

from airflow_provider_openai_images import DEFAULT_CONN_ID
from airflow_provider_openai_images.landing import DEFAULT_THUMBNAIL_SIZE
from airflow_provider_openai_images.operators.arguments import (
    CONTENT_POLICY_ACTIONS,
    ContentPolicyAction,
    check_choice,
    check_thumbnail_size,
)
from airflow_provider_openai_images.operators.links import OpenAIImagesGalleryLink, OpenAIImagesS3Link
from airflow_provider_openai_images.operators.request_types import RequestTypeOf
from airflow_provider_openai_images.operators.template_fields import images_template_fields

# What a task needs only when it runs is imported in the methods that need it: DAG files import the
# operators at every parse, and the request types, landing, jobs and budgets cost more than the parse
# should pay (benchmarks/import_time.py).
if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from airflow_provider_openai_images.core.requests import ImageRequest
    from airflow_provider_openai_images.core.responses import ImagesResponse
    from airflow_provider_openai_images.exceptions import OpenAIImagesContentPolicyError, OpenAIImagesError
    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.jobs.spec import JobSpec
    from airflow_provider_openai_images.landing.target import LandingTarget
    from airflow_provider_openai_images.records import (
        ImageRecord,
        ItemFailure,
        PreparationReport,
    )

R = TypeVar("R")


class BaseOpenAIImagesOperator(BaseOperator):
    """What every operator of this provider shares: connections, landing, idempotent retries.

    :param conn_id: the ``openai_images`` connection (templated).
    :param aws_conn_id: the AWS connection used by ``S3Hook`` (templated).
    :param s3_bucket: where images land.
    :param s3_key_prefix: key prefix (templated); the task id and, for mapped tasks, the map index are
        appended so that every task instance owns its own prefix. Default:
        ``openai-images/{dag_id}/{run_id}``.
    :param overwrite: generate again even if an earlier try of this task instance landed its images.
    :param on_content_policy_violation: what a safety-system rejection does: ``"fail"`` (default) fails
        without retries; ``"skip"`` skips the task; ``"record"`` returns a record with
        ``"status": "rejected"`` and succeeds, so one rejected prompt in a mapped run of hundreds does not
        stop its downstream tasks.
    :param model: the model; default: the connection's ``default_model``, else the request type's
        (``gpt-image-2.5-flare`` for generations, ``gpt-image-2.5-sunburst`` for edits, ``dall-e-2`` for variations).
    :param n: how many images (templated numbers are accepted).
    :param size: ``WIDTHxHEIGHT`` or ``auto``, as the model allows.
    :param response_format: ``url`` or ``b64_json`` (DALL-E only; GPT image models always answer base64).
    :param safety_identifier: a stable, hashed id of the end user, for OpenAI's abuse monitoring.
    :param user: the deprecated form of ``safety_identifier`` (still sent when given).
    :param extra_body: parameters this release does not know yet, sent as they are.
    :param max_images: the most images this task may ask for (templated); more fails before anything is sent.
    :param max_cost_usd: the most this task may spend, in USD (templated): the worst case of the request
        (every image at the highest price its model, quality and size allow) is checked before anything
        is sent; over it, or with no known price for the model, the task fails without retries.
    :param retry_possibly_billed: retry in place a request that may already have been billed (no answer
        in time, connection lost, a cut or non-JSON answer); default: the connection's extra, else ``True``
        (the images are lost otherwise). ``False`` fails at once, without Airflow retries, saying which
        attempt may have been billed.
    :param spill_path: where paid images S3 refuses wait for the next try (templated): a location every
        worker can read (``/mnt/shared/spill``, ``s3://other-bucket/spill``); default: the connection's
        ``spill_path`` extra, else the worker's temp directory.
    :param deferrable: request and land the images in the triggerer, freeing the worker slot meanwhile
        (default: ``[operators] default_deferrable``). Bad input and budgets are still checked in the
        worker, before deferring.
    :param thumbnail_size: each landed image gets a WEBP rendition of at most this many pixels on its
        long side beside it (``{index:03d}.thumb.webp``, the record's ``thumbnail_uri``), for galleries
        and reviews; ``None``: none.
    :param asset_alias: each landed image emits an asset event for ``Asset("s3://bucket/key")`` through
        ``AssetAlias(asset_alias)`` (extra: ``model``, ``sha256``, ``width``, ``height``, ``cost_usd``), so
        DAGs scheduled on the alias run when images land.
    :param lineage_prompt: include the prompt in the task's OpenLineage facets (off by default: prompts
        may hold what should not leave the pipeline).

    Parameters left at ``None`` (or rendered empty) are not sent. Without ``model``, generations and
    edits use the connection's ``default_model`` extra, else the request type's default.
    """

    #: A subclass lists only its own template fields: :meth:`__init_subclass__` adds its bases'.
    template_fields: Sequence[str] = images_template_fields()
    template_fields_renderers: ClassVar[dict[str, str]] = {"prompt": "md", "extra_body": "json"}
    ui_color = "#d9f2e9"
    operator_extra_links = (OpenAIImagesGalleryLink(), OpenAIImagesS3Link())
    #: the request this operator sends; its value fields are read from the operator's attributes
    request_type: RequestTypeOf

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's template fields: its own, and every base's (so that none is dropped by forgetting it)."""
        super().__init_subclass__(**kwargs)
        inherited = {field for base in cls.__mro__[1:] for field in getattr(base, "template_fields", ())}
        cls.template_fields = tuple(sorted({*inherited, *cls.__dict__.get("template_fields", ())}))

    def __init__(
        self,
        *,
        conn_id: str = DEFAULT_CONN_ID,
        aws_conn_id: str | None = "aws_default",
        s3_bucket: str,
        s3_key_prefix: str | None = None,
        overwrite: bool = False,
        on_content_policy_violation: ContentPolicyAction = "fail",
        model: str | None = None,
        n: int | str | None = None,
        size: str | None = None,
        response_format: str | None = None,
        safety_identifier: str | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        max_images: int | str | None = None,
        max_cost_usd: float | str | None = None,
        retry_possibly_billed: bool | None = None,
        spill_path: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        thumbnail_size: int | None = DEFAULT_THUMBNAIL_SIZE,
        asset_alias: str | None = None,
        lineage_prompt: bool = False,
        **kwargs: Any,
    ) -> None:
        if asset_alias:
            from airflow.sdk import AssetAlias

            kwargs["outlets"] = [*(kwargs.get("outlets") or []), AssetAlias(asset_alias)]
        super().__init__(**kwargs)
        check_thumbnail_size(thumbnail_size)
        check_choice("on_content_policy_violation", on_content_policy_violation, CONTENT_POLICY_ACTIONS)
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id
        self.s3_bucket = s3_bucket
        self.s3_key_prefix = s3_key_prefix
        self.overwrite = overwrite
        self.on_content_policy_violation = on_content_policy_violation
        self.model = model
        self.n = n
        self.size = size
        self.response_format = response_format
        self.safety_identifier = safety_identifier
        self.user = user
        self.extra_body = extra_body
        self.max_images = max_images
        self.max_cost_usd = max_cost_usd
        self.retry_possibly_billed = retry_possibly_billed
        self.spill_path = spill_path
        self.deferrable = deferrable
        self.thumbnail_size = thumbnail_size
        self.asset_alias = asset_alias
        self.lineage_prompt = lineage_prompt
        #: the landed images' records, once the task has them (for OpenLineage)
        self.landed_records: list[ImageRecord] = []

    @cached_property
    def hook(self) -> OpenAIImagesHook:
        """The Images API hook for ``conn_id``."""
        from airflow_provider_openai_images.hooks import OpenAIImagesHook

        return OpenAIImagesHook(conn_id=self.conn_id, retry_possibly_billed=self.retry_possibly_billed)

    @cached_property
    def s3_hook(self) -> S3Hook:
        """The S3Hook for ``aws_conn_id``: one boto client for landing and every S3 input."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id)

    @property
    def at_batch_prices(self) -> bool:
        """Whether this task's requests are priced as Batch API requests (budgets, costs)."""
        return False

    # -- what subclasses with input images provide -------------------------------------------------

    def load_inputs(self) -> dict[str, Any]:
        """The request's upload fields, fetched before anything is paid for (none for generations)."""
        return {}

    def input_image_count(self) -> int:
        """How many input images the request will carry, known before they are fetched (for the budget)."""
        return 0

    def prepare_inputs(self, request: ImageRequest) -> tuple[ImageRequest, PreparationReport | None]:
        """The request with its inputs prepared, and what preparation did (``None``: no inputs)."""
        return request, None

    def describe_inputs(self) -> list[str]:
        """Where the input images came from, for provenance."""
        return []

    # -- the phases ----------------------------------------------------------------------------

    def execute(self, context: Context) -> list[ImageRecord]:
        return self.announce(context, self.land_requested(context))

    def land_requested(self, context: Context) -> list[ImageRecord]:
        """Recover what an earlier try landed, request what is missing (or hand it off), land the answer."""
        from airflow_provider_openai_images.exceptions import OpenAIImagesContentPolicyError
        from airflow_provider_openai_images.jobs.accounting import answer_provenance, spend_summary
        from airflow_provider_openai_images.landing.lander import paid_images
        from airflow_provider_openai_images.operators.worker_landing import land_answer, recover_landed

        values, wanted = self.checked_values()
        target = self.landing_target(context)
        lander = target.lander(self.s3_hook)
        landed = {} if target.overwrite else recover_landed(lander, wanted, self.log)
        missing = [index for index in range(wanted) if index not in landed]
        if not missing:
            return _in_order(landed)
        request, prepared = self.request_for(values, len(missing))
        handed_off = self.hand_off(target, request, values, wanted, prepared)
        if handed_off is not None:
            return handed_off
        try:
            response = self.send(request)
        except OpenAIImagesContentPolicyError as error:
            return _in_order(landed) + self.rejected(error, request)
        provenance = answer_provenance(
            request, response, prices=self.hook.prices, sources=self.describe_inputs(), task=target.task,
            prepared=prepared,
        )  # fmt: skip
        try:
            surplus_from = max([wanted - 1, *landed]) + 1
            paid = paid_images(missing, response, provenance, self.hook.image_bytes, surplus_from=surplus_from)
            landed |= land_answer(lander, paid, missing, response, self.log)
        finally:
            self.log.info("%s", spend_summary(len(response.data), provenance))
        return _in_order(landed)

    def hand_off(
        self,
        target: LandingTarget,
        request: ImageRequest,
        values: Mapping[str, Any],
        wanted: int,
        prepared: PreparationReport | None,
    ) -> list[ImageRecord] | None:
        """Hand the request to another runner (the triggerer when ``deferrable``): its records, or ``None``
        to send it from the worker. Deferring raises ``TaskDeferred`` and does not return."""
        if self.deferrable:
            from airflow_provider_openai_images.operators.deferral import defer_job

            defer_job(self, self.single_request_job(target, request, values, wanted, prepared))
        return None

    def single_request_job(
        self,
        target: LandingTarget,
        request: ImageRequest,
        values: Mapping[str, Any],
        wanted: int,
        prepared: PreparationReport | None,
    ) -> JobSpec:
        """This operator's request as a one-item job for the triggerer or a batch."""
        from airflow_provider_openai_images.operators.deferral import single_request_job

        return single_request_job(
            target, request, values, wanted, prepared, sources=self.describe_inputs(), s3_hook=self.s3_hook
        )

    def checked_values(self) -> tuple[dict[str, Any], int]:
        """The request's values and how many images it asks for, checked before anything is fetched
        or sent: parameters against the model's rules, then the budget."""
        from airflow_provider_openai_images.core.budget import Ask, Budget
        from airflow_provider_openai_images.core.validation import advisories
        from airflow_provider_openai_images.operators.failures import bad_input_fails_at_once

        with bad_input_fails_at_once():
            values = self.hook.with_default_model(self.request_type, self.request_type.normalise(self.request_values()))
            probe = self.request_type.from_values(values)
            rules = probe.check_parameters(self.hook.catalogue)
            budget = Budget.parse(self.max_images, self.max_cost_usd)
            budget.check(
                self.hook.prices, [Ask.of(probe, input_images=self.input_image_count())], batch=self.at_batch_prices
            )
            self.hook.check_model_lifecycle(probe.model)
        for note in advisories(rules, probe.parameters()):
            self.log.warning("%s", note)
        return values, probe.n or 1

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[ImageRecord]:
        """Resume after the trigger: its records, or the exception its failure means for this task."""
        return self.announce(context, self.job_result(event))

    def job_result(self, event: dict[str, Any]) -> list[ImageRecord]:
        """The records of this operator's one-item job, from its trigger event, or the exception its failure means."""
        from airflow_provider_openai_images.operators.deferral import single_request_result

        return single_request_result(event, on_content_policy_violation=self.on_content_policy_violation, log=self.log)

    def request_for(self, values: Mapping[str, Any], count: int) -> tuple[ImageRequest, PreparationReport | None]:
        """The validated request for ``count`` images, inputs loaded and prepared; nothing is sent yet."""
        from airflow_provider_openai_images.operators.failures import bad_input_fails_at_once

        with bad_input_fails_at_once():
            request = self.request_type.from_values({**values, "n": count}, **self.load_inputs())
            request, prepared = self.prepare_inputs(request)
            request.validate(self.hook.catalogue)
        return request, prepared

    def send(self, request: ImageRequest) -> ImagesResponse:
        """Send ``request``; a failure the client gave up on fails the try, saying what a retry will do."""
        from airflow_provider_openai_images.exceptions import OpenAIImagesContentPolicyError, OpenAIImagesError
        from airflow_provider_openai_images.operators.failures import airflow_exception

        try:
            return self.hook.send(request)
        except OpenAIImagesContentPolicyError:
            raise
        except OpenAIImagesError as error:
            raise airflow_exception(self.describe_failure(error)) from error
        finally:
            self.hook.close()

    def rejected(self, error: OpenAIImagesContentPolicyError, request: ImageRequest) -> list[ImageRecord]:
        """A safety rejection: fail without retries, skip, or record it, as ``on_content_policy_violation`` says."""
        from airflow_provider_openai_images.operators.failures import content_policy_outcome

        action = self.on_content_policy_violation
        self.log.warning("Safety rejection, on_content_policy_violation=%r: %s", action, error)
        failure = self.describe_failure(error)
        return content_policy_outcome(failure, action=action, model=request.model)

    def describe_failure(self, error: OpenAIImagesError) -> ItemFailure:
        """What ``error`` means for this task, under the connection's retry policy."""
        from airflow_provider_openai_images.jobs.failures import describe_failure

        return describe_failure(error, self.hook.settings.retry)

    def announce(self, context: Context, result: R) -> R:
        """``result``, once Airflow is told what landed: an asset event per image through ``asset_alias``;
        the landed records are kept for OpenLineage."""
        from airflow_provider_openai_images.operators.lineage import announce
        from airflow_provider_openai_images.records import landed_records

        self.landed_records = landed_records(result)
        announce(self.asset_alias, context, self.landed_records)
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: S3 inputs, the landed objects, the model and parameters (see ``lineage_prompt``)."""
        from airflow_provider_openai_images.operators.lineage import openlineage_facets

        return openlineage_facets(
            self.landed_records,
            inputs=self.describe_inputs(),
            parameters=self.request_values(),
            lineage_prompt=self.lineage_prompt,
        )

    # -- helpers -----------------------------------------------------------------------------------

    def request_values(self) -> dict[str, Any]:
        """The request's value fields, read from this operator's attributes of the same names."""
        return {name: getattr(self, name) for name in self.request_type.value_fields()}

    def landing_target(self, context: Context) -> LandingTarget:
        """Where this try lands: the prefix this task instance owns (the same across its tries), and how."""
        from airflow_provider_openai_images.landing.target import LandingTarget, task_instance_of

        return LandingTarget.of_task_instance(
            self.s3_key_prefix,
            bucket=self.s3_bucket,
            task=task_instance_of(context, self.task_id),
            spill_path=self.spill_path or self.hook.spill_path,
            thumbnail_size=self.thumbnail_size,
            overwrite=self.overwrite,
        )


def _in_order(records: dict[int, ImageRecord]) -> list[ImageRecord]:
    return [records[index] for index in sorted(records)]
