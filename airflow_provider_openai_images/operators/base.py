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
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_openai_images import DEFAULT_CONN_ID
from airflow_provider_openai_images.accounting import answer_provenance, spend_summary
from airflow_provider_openai_images.core.budget import Ask, Budget
from airflow_provider_openai_images.core.numbers import strict_int
from airflow_provider_openai_images.core.requests import ImageRequest
from airflow_provider_openai_images.core.validation import advisories
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesContentPolicyError,
    OpenAIImagesError,
    OpenAIImagesForeignImagesError,
)
from airflow_provider_openai_images.keys import task_instance_prefix
from airflow_provider_openai_images.landing import (
    DEFAULT_THUMBNAIL_SIZE,
    ImageLander,
    PaidImage,
    paid_images,
    shortfall,
    shortfall_message,
)
from airflow_provider_openai_images.operators.deferral import defer_job, single_request_job, single_request_result
from airflow_provider_openai_images.operators.failures import (
    CONTENT_POLICY_ACTIONS,
    ContentPolicyAction,
    airflow_exception,
    bad_input_fails_at_once,
    content_policy_outcome,
)
from airflow_provider_openai_images.operators.lineage import announce, openlineage_facets
from airflow_provider_openai_images.operators.links import OpenAIImagesGalleryLink, OpenAIImagesS3Link
from airflow_provider_openai_images.operators.template_fields import images_template_fields
from airflow_provider_openai_images.outcomes import describe_failure
from airflow_provider_openai_images.records import (
    ImageRecord,
    ItemFailure,
    PreparationReport,
    Provenance,
    TaskInstanceInfo,
)

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from airflow_provider_openai_images.core.responses import ImagesResponse
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

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

    template_fields: Sequence[str] = images_template_fields()
    template_fields_renderers: ClassVar[dict[str, str]] = {"prompt": "md", "extra_body": "json"}
    ui_color = "#d9f2e9"
    operator_extra_links = (OpenAIImagesGalleryLink(), OpenAIImagesS3Link())
    #: the request this operator sends; its value fields are read from the operator's attributes
    request_type: ClassVar[type[ImageRequest]]

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
        longest = strict_int(thumbnail_size)
        if thumbnail_size is not None and (longest is None or not 16 <= longest <= 2048):
            raise ValueError(f"thumbnail_size={thumbnail_size!r}: allowed None or 16 to 2048 pixels")
        if on_content_policy_violation not in CONTENT_POLICY_ACTIONS:
            raise ValueError(
                f"on_content_policy_violation={on_content_policy_violation!r}: allowed 'fail', 'skip' or 'record'"
            )
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
        values, wanted = self.checked_values()
        lander = ImageLander(
            self.s3_hook,
            self.s3_bucket,
            self.key_prefix(context),
            spill_path=self.spill_path or self.hook.spill_path,
            thumbnail_size=self.thumbnail_size,
            owner=self.task_instance(context),
        )
        landed = {} if self.overwrite else self.recover_landed(lander, wanted)
        missing = [index for index in range(wanted) if index not in landed]
        if not missing:
            return _in_order(landed)
        request, prepared = self.request_for(values, len(missing))
        handed_off = self.hand_off(context, request, values, wanted, prepared)
        if handed_off is not None:
            return handed_off
        try:
            response = self.send(request)
        except OpenAIImagesContentPolicyError as error:
            return _in_order(landed) + self.rejected(error, request)
        provenance = self.provenance(request, response, prepared, context)
        try:
            landed |= self.land_answer(
                lander, missing, response, provenance, surplus_from=max([wanted - 1, *landed]) + 1
            )
        finally:
            self.log.info("%s", spend_summary(len(response.data), provenance))
        return _in_order(landed)

    def hand_off(
        self,
        context: Context,
        request: ImageRequest,
        values: Mapping[str, Any],
        wanted: int,
        prepared: PreparationReport | None,
    ) -> list[ImageRecord] | None:
        """Hand the request to another runner (the triggerer when ``deferrable``): its records, or ``None``
        to send it from the worker. Deferring raises ``TaskDeferred`` and does not return."""
        if self.deferrable:
            defer_job(self, single_request_job(self, context, request, values, wanted, prepared))
        return None

    def checked_values(self) -> tuple[dict[str, Any], int]:
        """The request's values and how many images it asks for, checked before anything is fetched
        or sent: parameters against the model's rules, then the budget."""
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
        return self.announce(context, single_request_result(self, event))

    def recover_landed(self, lander: ImageLander, wanted: int) -> dict[int, ImageRecord]:
        """Images an earlier try of this task instance landed, and those it paid for but kept in the spill."""
        try:
            recovery = lander.recover(wanted)
        except OpenAIImagesForeignImagesError as error:
            raise AirflowFailException(str(error)) from error
        if recovery.in_s3:
            self.log.info(
                "%d of %d images already landed under s3://%s/%s by an earlier try: not paying for them again",
                recovery.in_s3,
                wanted,
                lander.bucket,
                lander.prefix,
            )
        if recovery.kept.paid:
            self.log.info("Landing %d paid images an earlier try could not write to S3", recovery.kept.paid)
        if recovery.kept.problems:
            raise AirflowException(recovery.kept.failure_message())
        return recovery.landed

    def request_for(self, values: Mapping[str, Any], count: int) -> tuple[ImageRequest, PreparationReport | None]:
        """The validated request for ``count`` images, inputs loaded and prepared; nothing is sent yet."""
        with bad_input_fails_at_once():
            request = self.request_type.from_values({**values, "n": count}, **self.load_inputs())
            request, prepared = self.prepare_inputs(request)
            request.validate(self.hook.catalogue)
        return request, prepared

    def send(self, request: ImageRequest) -> ImagesResponse:
        """Send ``request``; a failure the client gave up on fails the try, saying what a retry will do."""
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
        action = self.on_content_policy_violation
        self.log.warning("Safety rejection, on_content_policy_violation=%r: %s", action, error)
        failure = self.describe_failure(error)
        return content_policy_outcome(failure, action=action, model=request.model)

    def describe_failure(self, error: OpenAIImagesError) -> ItemFailure:
        """What ``error`` means for this task, under the connection's retry policy."""
        return describe_failure(error, self.hook.settings.retry)

    def land_answer(
        self,
        lander: ImageLander,
        missing: list[int],
        response: ImagesResponse,
        provenance: Provenance,
        *,
        surplus_from: int,
    ) -> dict[int, ImageRecord]:
        """Land each answered image at the next missing index, the moment it is fetched; images beyond those
        asked at ``surplus_from`` onwards. An answer with fewer fails the try once the others landed."""
        landed = self._land(
            lander, paid_images(missing, response, provenance, self.hook.image_bytes, surplus_from=surplus_from)
        )
        if len(response.data) > len(missing):
            self.log.warning("Asked for %d image(s), the API answered %d: all landed, the extra ones flagged surplus",
                             len(missing), len(response.data))  # fmt: skip
        if short := shortfall(missing, response):
            raise AirflowException(shortfall_message(len(missing), short, response.request_id))
        return landed

    def announce(self, context: Context, result: R) -> R:
        """``result``, once Airflow is told what landed: an asset event per image through ``asset_alias``."""
        announce(self, context, result)
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: S3 inputs, the landed objects, the model and parameters (see ``lineage_prompt``)."""
        return openlineage_facets(self, self.landed_records)

    # -- helpers -----------------------------------------------------------------------------------

    def request_values(self) -> dict[str, Any]:
        """The request's value fields, read from this operator's attributes of the same names."""
        return {name: getattr(self, name) for name in self.request_type.value_fields()}

    def task_instance(self, context: Context) -> TaskInstanceInfo:
        """Which task instance and try this is."""
        return {
            "dag_id": context["dag"].dag_id,
            "run_id": context["run_id"],
            "task_id": self.task_id,
            "map_index": getattr(context["ti"], "map_index", -1),
            "try_number": getattr(context["ti"], "try_number", None),
        }

    def key_prefix(self, context: Context) -> str:
        """The prefix this task instance owns: the same across tries of the same task instance."""
        ti = self.task_instance(context)
        return task_instance_prefix(
            self.s3_key_prefix,
            dag_id=ti["dag_id"],
            run_id=ti["run_id"],
            task_id=ti["task_id"],
            map_index=ti["map_index"],
        )

    def provenance(
        self, request: ImageRequest, response: ImagesResponse, prepared: PreparationReport | None, context: Context
    ) -> Provenance:
        """What the sidecar of each image of ``response`` says about how it came to be."""
        return answer_provenance(
            request,
            response,
            prices=self.hook.prices,
            sources=self.describe_inputs(),
            task=self.task_instance(context),
            prepared=prepared,
        )

    def _land(self, lander: ImageLander, images: list[PaidImage]) -> dict[int, ImageRecord]:
        report = lander.land_each(images)
        if report.problems:
            raise AirflowException(report.failure_message())
        return report.landed


def _in_order(records: dict[int, ImageRecord]) -> list[ImageRecord]:
    return [records[index] for index in sorted(records)]
