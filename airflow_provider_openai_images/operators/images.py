"""Operators that generate, edit and vary images and land every one of them in S3.

All three share :class:`BaseOpenAIImagesOperator`: work out the task instance's key prefix, skip
what an earlier try already landed, build and validate the request (a bad request fails the task
without retries and without a paid call), send it, and land each image the moment it arrives.
They return a list of small JSON records (see :mod:`airflow_provider_openai_images.storage`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from airflow_provider_openai_images import DEFAULT_CONN_ID
from airflow_provider_openai_images.core.models import DEFAULT_MODEL, DEFAULT_VARIATION_MODEL
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageRequest, VariationRequest
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesAPIError,
    OpenAIImagesBadRequestError,
    OpenAIImagesContentPolicyError,
    OpenAIImagesError,
    OpenAIImagesRateLimitError,
    OpenAIImagesResponseError,
    OpenAIImagesValidationError,
)
from airflow_provider_openai_images.storage import (
    ImageInput,
    ImageLander,
    ImageRecord,
    download_image,
    is_transient_s3_error,
    key_segment,
    load_image_inputs,
)

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from airflow_provider_openai_images.core.requests import ImageFile
    from airflow_provider_openai_images.core.responses import ImagesResponse
    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.imaging import Box, SquarePolicy

ContentPolicyAction = Literal["fail", "skip", "record"]
_COMMON_TEMPLATE_FIELDS = ("model", "n", "size", "response_format", "user", "extra_body", "s3_bucket", "s3_key_prefix")


def _optional_int(name: str, value: Any) -> int | None:
    """Template rendering turns numbers into strings unless the DAG renders native objects."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise OpenAIImagesValidationError(name, value, "an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OpenAIImagesValidationError(name, value, "an integer") from None


class BaseOpenAIImagesOperator(BaseOperator):
    """What the generate, edit and variation operators share: connections, landing, idempotency.

    :param conn_id: the ``openai_images`` connection.
    :param aws_conn_id: the AWS connection used by ``S3Hook``.
    :param s3_bucket: where images land.
    :param s3_key_prefix: key prefix (templated); the task id and, for mapped tasks, the map index are
        appended so that every task instance owns its own prefix. Default:
        ``openai-images/{dag_id}/{run_id}``.
    :param overwrite: generate again even if an earlier try of this task instance landed its images.
    :param on_content_policy_violation: what a safety-system rejection does: ``"fail"`` (default) fails
        without retries; ``"skip"`` skips the task; ``"record"`` returns a record with
        ``"status": "rejected"`` and succeeds, so one rejected prompt in a mapped run of hundreds does not
        stop its downstream tasks.
    """

    ui_color = "#d9f2e9"

    def __init__(
        self,
        *,
        conn_id: str = DEFAULT_CONN_ID,
        aws_conn_id: str | None = "aws_default",
        s3_bucket: str,
        s3_key_prefix: str | None = None,
        overwrite: bool = False,
        on_content_policy_violation: ContentPolicyAction = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_content_policy_violation not in ("fail", "skip", "record"):
            raise ValueError(
                f"on_content_policy_violation={on_content_policy_violation!r}: allowed 'fail', 'skip' or 'record'"
            )
        self.conn_id = conn_id
        self.aws_conn_id = aws_conn_id
        self.s3_bucket = s3_bucket
        self.s3_key_prefix = s3_key_prefix
        self.overwrite = overwrite
        self.on_content_policy_violation = on_content_policy_violation
        self._s3_hook: S3Hook | None = None

    # -- what subclasses provide -------------------------------------------------------------------

    def build_request(self, count: int) -> ImageRequest:
        """The request asking for ``count`` images (inputs already loaded)."""
        raise NotImplementedError

    def describe_inputs(self) -> list[str]:
        """Where the input images came from, for provenance."""
        return []

    def load_inputs(self) -> None:
        """Fetch input images before anything is paid for (edits and variations)."""

    def prepared_request(self, request: ImageRequest) -> tuple[ImageRequest, dict[str, Any] | None]:
        """The request with its inputs prepared, and what preparation did (``None``: no inputs)."""
        return request, None

    # -- shared machinery --------------------------------------------------------------------------

    def s3_hook(self) -> S3Hook:
        """The S3Hook for ``aws_conn_id``, made once, so landing and every S3 input share one boto client."""
        if self._s3_hook is None:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            self._s3_hook = S3Hook(aws_conn_id=self.aws_conn_id)
        return self._s3_hook

    def key_prefix(self, context: Context) -> str:
        """The prefix this task instance owns: deterministic across tries of the same task instance."""
        base = (self.s3_key_prefix or "").strip("/") or "/".join(
            ("openai-images", key_segment(context["dag"].dag_id), key_segment(context["run_id"]))
        )
        prefix = f"{base}/{key_segment(self.task_id)}"
        map_index = getattr(context["ti"], "map_index", -1)
        return f"{prefix}/map-{map_index}" if map_index is not None and map_index >= 0 else prefix

    def execute(self, context: Context) -> list[ImageRecord]:
        wanted = _optional_int("n", getattr(self, "n", None)) or 1
        lander = ImageLander(self.s3_hook(), self.s3_bucket, self.key_prefix(context))
        landed = {} if self.overwrite else lander.already_landed(wanted)
        if landed:
            self.log.info(
                "%d of %d images already landed under s3://%s/%s by an earlier try: not paying for them again",
                len(landed),
                wanted,
                lander.bucket,
                lander.prefix,
            )
        kept = {index: item for index, item in lander.spill.load().items() if index < wanted and index not in landed}
        problems: list[str] = []
        if kept and not self.overwrite:
            self.log.info("Landing %d paid images an earlier try could not write to S3", len(kept))
            for index, (content, provenance) in kept.items():
                problems += self._land_one(lander, index, content, provenance, landed)
            self._fail_if(problems, len(kept))
        missing = [index for index in range(wanted) if index not in landed]
        if not missing:
            return [landed[index] for index in sorted(landed)]
        try:
            self.load_inputs()
            request, prepared = self.prepared_request(self.build_request(len(missing)))
            request.validate()
        except OpenAIImagesValidationError as error:
            raise AirflowFailException(f"Bad input, nothing was sent or paid for: {error}") from error
        hook = self._hook()
        try:
            response = self._send(hook, request)
        except OpenAIImagesContentPolicyError as error:
            return self._content_policy_violation(error, request, landed)
        provenance = self._provenance(response, request, prepared, context)
        if len(response.data) != len(missing):
            self.log.warning("Asked for %d images, the API returned %d", len(missing), len(response.data))
        for index, image in zip(missing, response.data, strict=False):
            # Each image lands before the next is fetched: a later failure cannot take an earlier one with it.
            try:
                content = (
                    image.decode()
                    if image.b64_json
                    else download_image(str(image.url), allow_http=hook.settings.allow_http_image_urls)
                )
            except OpenAIImagesResponseError as error:
                problems.append(f"image {index}: {error}")
                continue
            source = "b64_json" if image.b64_json else "url"
            details = {**provenance, "revised_prompt": image.revised_prompt, "source": source}
            problems += self._land_one(lander, index, content, details, landed)
        self._fail_if(problems, len(response.data))
        return [landed[index] for index in sorted(landed)]

    def _land_one(
        self,
        lander: ImageLander,
        index: int,
        content: bytes,
        provenance: dict[str, Any],
        landed: dict[int, ImageRecord],
    ) -> list[str]:
        """Land one image; if S3 will not take it, keep it on the worker's disk and say why."""
        try:
            landed[index] = lander.land(index, content, provenance)
        except Exception as error:
            if not is_transient_s3_error(error):
                raise
            lander.spill.save(index, content, provenance)
            return [
                f"image {index} could not be written to s3://{lander.bucket}/{lander.prefix} after "
                f"{lander.retry.max_retries + 1} attempts ({type(error).__name__}: {error}); kept on this worker "
                f"in {lander.spill.path}"
            ]
        lander.spill.discard(index)
        self.log.info("Landed image %d at %s", index, landed[index]["s3_uri"])
        return []

    @staticmethod
    def _fail_if(problems: list[str], paid: int) -> None:
        if problems:
            raise AirflowException(
                f"{len(problems)} of {paid} paid images did not land: {'; '.join(problems)}. The others are in S3. "
                "A retry of this task lands the images kept on this worker without paying again, and pays only "
                "for images that are neither in S3 nor kept here (on another worker, only the missing ones)."
            )

    def _hook(self) -> OpenAIImagesHook:
        from airflow_provider_openai_images.hooks import OpenAIImagesHook

        return OpenAIImagesHook(conn_id=self.conn_id)

    def _send(self, hook: OpenAIImagesHook, request: ImageRequest) -> ImagesResponse:
        try:
            return hook.send(request)
        except OpenAIImagesContentPolicyError:
            raise
        except OpenAIImagesBadRequestError as error:
            raise AirflowFailException(f"The API rejected the request; retrying would not help: {error}") from error
        except OpenAIImagesAPIError as error:
            if isinstance(error, OpenAIImagesRateLimitError) and error.retry_after is not None:
                ready = datetime.now(timezone.utc) + timedelta(seconds=error.retry_after)
                raise AirflowException(
                    f"Rate limited by the Images API: it asks to wait {error.retry_after:.0f} s, longer than the "
                    f"{hook.settings.retry.max_retry_after:.0f} s this task waits in place. Retry after "
                    f"{ready:%Y-%m-%d %H:%M:%S} UTC (Airflow's task retries do, if retries and retry_delay allow). "
                    f"{error}"
                ) from error
            raise AirflowException(f"{_gave_up(error)} {error}") from error
        except OpenAIImagesError as error:
            raise AirflowException(f"{_gave_up(error)} {error}") from error
        finally:
            hook.close()

    def _content_policy_violation(
        self, error: OpenAIImagesContentPolicyError, request: ImageRequest, landed: dict[int, ImageRecord]
    ) -> list[ImageRecord]:
        if self.on_content_policy_violation == "skip":
            raise AirflowSkipException(f"Skipped: {error}") from error
        if self.on_content_policy_violation == "record":
            self.log.warning("Recorded and carrying on: %s", error)
            rejection: ImageRecord = {
                "status": "rejected",
                "s3_uri": None,
                "model": request.parameters().get("model"),
                "code": error.code,
                "message": error.message,
                "request_id": error.request_id,
            }
            return [landed[index] for index in sorted(landed)] + [rejection]
        raise AirflowFailException(f"{error} (not retried: the safety system would reject it again)") from error

    def _provenance(
        self, response: ImagesResponse, request: ImageRequest, prepared: dict[str, Any] | None, context: Context
    ) -> dict[str, Any]:
        parameters = request.parameters()
        prompt = parameters.pop("prompt", None)
        return {
            "model": parameters.get("model"),
            "prompt": prompt,
            "request_id": response.request_id,
            "created": response.created,
            "parameters": parameters,
            "usage": dataclasses.asdict(response.usage) if response.usage else None,
            "inputs": self.describe_inputs(),
            **({"prepared": prepared} if prepared is not None else {}),
            "task": {
                "dag_id": context["dag"].dag_id,
                "run_id": context["run_id"],
                "task_id": self.task_id,
                "map_index": getattr(context["ti"], "map_index", -1),
                "try_number": getattr(context["ti"], "try_number", None),
            },
        }


def _gave_up(error: OpenAIImagesError) -> str:
    attempts = f" after {error.attempts} attempts" if error.attempts else ""
    return (
        f"The Images API call failed{attempts}; images already landed are kept and Airflow's task retry "
        "(if retries allow) asks only for the missing ones."
    )


class OpenAIGenerateImageOperator(BaseOpenAIImagesOperator):
    """Generate images from a prompt and land them in S3 (``POST /images/generations``).

    Returns one record per image: ``s3_uri``, ``bucket``, ``key``, ``content_type``, ``width``,
    ``height``, ``size_bytes``, ``sha256``, ``model``, ``revised_prompt``, ``request_id``, ``index``,
    ``metadata_uri``. Model parameters left at ``None`` are not sent (the API's defaults apply).
    """

    template_fields: Sequence[str] = (
        "prompt",
        "quality",
        "style",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        *_COMMON_TEMPLATE_FIELDS,
    )
    template_fields_renderers = {"prompt": "md", "extra_body": "json"}

    def __init__(
        self,
        *,
        prompt: str,
        model: str = DEFAULT_MODEL,
        n: int | str | None = None,
        size: str | None = None,
        quality: str | None = None,
        style: str | None = None,
        response_format: str | None = None,
        background: str | None = None,
        output_format: str | None = None,
        output_compression: int | str | None = None,
        moderation: str | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        conn_id: str = DEFAULT_CONN_ID,
        aws_conn_id: str | None = "aws_default",
        s3_bucket: str,
        s3_key_prefix: str | None = None,
        overwrite: bool = False,
        on_content_policy_violation: ContentPolicyAction = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            conn_id=conn_id,
            aws_conn_id=aws_conn_id,
            s3_bucket=s3_bucket,
            s3_key_prefix=s3_key_prefix,
            overwrite=overwrite,
            on_content_policy_violation=on_content_policy_violation,
            **kwargs,
        )
        self.prompt = prompt
        self.model = model
        self.n = n
        self.size = size
        self.quality = quality
        self.style = style
        self.response_format = response_format
        self.background = background
        self.output_format = output_format
        self.output_compression = output_compression
        self.moderation = moderation
        self.user = user
        self.extra_body = extra_body

    def build_request(self, count: int) -> ImageRequest:
        return GenerateRequest(
            prompt=self.prompt,
            model=self.model,
            n=count,
            size=self.size or None,
            quality=self.quality or None,
            style=self.style or None,
            response_format=self.response_format or None,
            background=self.background or None,
            output_format=self.output_format or None,
            output_compression=_optional_int("output_compression", self.output_compression),
            moderation=self.moderation or None,
            user=self.user or None,
            extra_body=self.extra_body,
        )


class _InputImagesMixin:
    """Input preparation switches, and where ``image`` (and ``mask``) came from, for provenance."""

    prepare: bool
    square_policy: SquarePolicy
    mask_box: Any = None

    def prepared_request(self, request: ImageRequest) -> tuple[ImageRequest, dict[str, Any] | None]:
        from airflow_provider_openai_images.imaging import normalise_boxes, prepare_request

        return prepare_request(
            request, enabled=self.prepare, square_policy=self.square_policy, mask_boxes=normalise_boxes(self.mask_box)
        )

    @staticmethod
    def _describe(value: Any) -> list[str]:
        items = value if isinstance(value, (list, tuple)) else [value]
        described = []
        for item in items:
            if isinstance(item, Mapping):
                described.append(str(item.get("s3_uri")))
            elif isinstance(item, str):
                described.append(item)
            else:
                described.append(f"<{type(item).__name__}>")
        return described


class OpenAIEditImageOperator(_InputImagesMixin, BaseOpenAIImagesOperator):
    """Edit images guided by a prompt, optionally inside a mask, and land the results in S3.

    ``image`` and ``mask`` accept an ``s3://bucket/key`` URI, a local path, a record from an upstream
    operator of this provider (a dict with ``s3_uri``), or a list of these (several images: GPT image
    models only), so ``OpenAIEditImageOperator.partial(...).expand(image=generate.output)`` works.
    With ``prepare=True`` (default) inputs are made acceptable first: for DALL-E a square PNG under 4 MB
    of the requested ``size`` (``square_policy="crop"`` keeps the centre, ``"pad"`` pads), for GPT image
    models PNG/JPEG/WEBP are kept as they are. The mask may be an RGBA PNG (transparent = edit), a
    black-and-white or greyscale painting (white = edit), or drawn from ``mask_box=(left, top, right,
    bottom)`` or a list of boxes, in the source image's pixels; it always gets the first image's final
    geometry. Records carry ``prepared``: what preparation did. Otherwise as the generate operator.
    """

    template_fields: Sequence[str] = (
        "image",
        "prompt",
        "mask",
        "quality",
        "background",
        "output_format",
        "output_compression",
        "input_fidelity",
        *_COMMON_TEMPLATE_FIELDS,
    )
    template_fields_renderers = {"prompt": "md", "extra_body": "json"}

    def __init__(
        self,
        *,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        mask: ImageInput | None = None,
        mask_box: Box | Sequence[Box] | None = None,
        prepare: bool = True,
        square_policy: SquarePolicy = "crop",
        model: str = DEFAULT_MODEL,
        n: int | str | None = None,
        size: str | None = None,
        quality: str | None = None,
        response_format: str | None = None,
        background: str | None = None,
        output_format: str | None = None,
        output_compression: int | str | None = None,
        input_fidelity: str | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        conn_id: str = DEFAULT_CONN_ID,
        aws_conn_id: str | None = "aws_default",
        s3_bucket: str,
        s3_key_prefix: str | None = None,
        overwrite: bool = False,
        on_content_policy_violation: ContentPolicyAction = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            conn_id=conn_id,
            aws_conn_id=aws_conn_id,
            s3_bucket=s3_bucket,
            s3_key_prefix=s3_key_prefix,
            overwrite=overwrite,
            on_content_policy_violation=on_content_policy_violation,
            **kwargs,
        )
        self.image = image
        self.prompt = prompt
        self.mask = mask
        self.mask_box = mask_box
        self.prepare = prepare
        self.square_policy = square_policy
        self.model = model
        self.n = n
        self.size = size
        self.quality = quality
        self.response_format = response_format
        self.background = background
        self.output_format = output_format
        self.output_compression = output_compression
        self.input_fidelity = input_fidelity
        self.user = user
        self.extra_body = extra_body
        self._images: list[ImageFile] = []
        self._mask: ImageFile | None = None

    def load_inputs(self) -> None:
        self._images = load_image_inputs(self.image, self.s3_hook, parameter="image")
        masks = load_image_inputs(self.mask, self.s3_hook, parameter="mask") if self.mask else []
        if len(masks) > 1:
            raise OpenAIImagesValidationError("mask", f"{len(masks)} images", "one mask")
        self._mask = masks[0] if masks else None

    def describe_inputs(self) -> list[str]:
        return self._describe(self.image) + ([f"mask: {m}" for m in self._describe(self.mask)] if self.mask else [])

    def build_request(self, count: int) -> ImageRequest:
        return EditRequest(
            images=tuple(self._images),
            prompt=self.prompt,
            model=self.model,
            mask=self._mask,
            n=count,
            size=self.size or None,
            quality=self.quality or None,
            response_format=self.response_format or None,
            background=self.background or None,
            output_format=self.output_format or None,
            output_compression=_optional_int("output_compression", self.output_compression),
            input_fidelity=self.input_fidelity or None,
            user=self.user or None,
            extra_body=self.extra_body,
        )


class OpenAICreateImageVariationOperator(_InputImagesMixin, BaseOpenAIImagesOperator):
    """Create variations of one image (``dall-e-2``; Azure and compatible servers) and land them in S3.

    ``image`` accepts what :class:`OpenAIEditImageOperator` accepts, resolving to exactly one image;
    with ``prepare=True`` (default) it is made the square PNG under 4 MB the endpoint wants.
    """

    template_fields: Sequence[str] = ("image", *_COMMON_TEMPLATE_FIELDS)
    template_fields_renderers = {"extra_body": "json"}

    def __init__(
        self,
        *,
        image: ImageInput | Sequence[ImageInput],
        prepare: bool = True,
        square_policy: SquarePolicy = "crop",
        model: str = DEFAULT_VARIATION_MODEL,
        n: int | str | None = None,
        size: str | None = None,
        response_format: str | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        conn_id: str = DEFAULT_CONN_ID,
        aws_conn_id: str | None = "aws_default",
        s3_bucket: str,
        s3_key_prefix: str | None = None,
        overwrite: bool = False,
        on_content_policy_violation: ContentPolicyAction = "fail",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            conn_id=conn_id,
            aws_conn_id=aws_conn_id,
            s3_bucket=s3_bucket,
            s3_key_prefix=s3_key_prefix,
            overwrite=overwrite,
            on_content_policy_violation=on_content_policy_violation,
            **kwargs,
        )
        self.image = image
        self.prepare = prepare
        self.square_policy = square_policy
        self.model = model
        self.n = n
        self.size = size
        self.response_format = response_format
        self.user = user
        self.extra_body = extra_body
        self._images: list[ImageFile] = []

    def load_inputs(self) -> None:
        self._images = load_image_inputs(self.image, self.s3_hook, parameter="image")
        if len(self._images) != 1:
            raise OpenAIImagesValidationError("image", f"{len(self._images)} images", "exactly one image")

    def describe_inputs(self) -> list[str]:
        return self._describe(self.image)

    def build_request(self, count: int) -> ImageRequest:
        return VariationRequest(
            image=self._images[0],
            model=self.model,
            n=count,
            size=self.size or None,
            response_format=self.response_format or None,
            user=self.user or None,
            extra_body=self.extra_body,
        )
