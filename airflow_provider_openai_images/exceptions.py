"""Typed errors raised by the OpenAI Images client, hook and operators.

Everything derives from :class:`OpenAIImagesError`. Messages are built only from the API's
error body, the status and the request id: never from request headers, so they cannot carry
the API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.attempts import Attempt

__all__ = [
    "OpenAIImagesAPIError",
    "OpenAIImagesAuthenticationError",
    "OpenAIImagesBadRequestError",
    "OpenAIImagesBudgetError",
    "OpenAIImagesConflictError",
    "OpenAIImagesConnectionError",
    "OpenAIImagesContentPolicyError",
    "OpenAIImagesError",
    "OpenAIImagesForeignImagesError",
    "OpenAIImagesModelNotFoundError",
    "OpenAIImagesNotFoundError",
    "OpenAIImagesPermissionDeniedError",
    "OpenAIImagesRateLimitError",
    "OpenAIImagesResponseError",
    "OpenAIImagesServerError",
    "OpenAIImagesTimeoutError",
    "OpenAIImagesValidationError",
]

#: Error codes the safety system uses (OpenAI DALL-E, OpenAI GPT image models, Azure OpenAI).
CONTENT_POLICY_CODES = frozenset({"content_policy_violation", "moderation_blocked", "content_filter", "contentFilter"})


class OpenAIImagesError(Exception):
    """Base class of every error this provider raises about the Images API.

    :param message: human readable explanation.
    :param status_code: HTTP status, when a response was received.
    :param code: the API's ``error.code``.
    :param param: the request parameter the API (or our validation) blames.
    :param request_id: the ``x-request-id`` of the failed response, for OpenAI support.
    :param attempts: how many HTTP attempts were made before giving up.
    :param possibly_billed: the request reached the server and no usable answer came back (no answer
        in time, connection lost, a cut or non-JSON 200): the images may have been generated and billed.

    ``attempt_log`` holds every HTTP attempt of the call (see
    :class:`~airflow_provider_openai_images.core.attempts.Attempt`), set by the client when it gives up.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        attempts: int | None = None,
        possibly_billed: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.param = param
        self.error_type = error_type
        self.request_id = request_id
        self.attempts = attempts
        self.possibly_billed = possibly_billed
        self.attempt_log: tuple[Attempt, ...] = ()

    def __str__(self) -> str:
        details = [
            f"{label}={value}"
            for label, value in (
                ("status", self.status_code),
                ("code", self.code),
                ("param", self.param),
                ("request_id", self.request_id),
                ("attempts", self.attempts),
            )
            if value is not None
        ]
        if self.possibly_billed:
            details.append("may have been billed")
        return f"{self.message} ({', '.join(details)})" if details else self.message


class OpenAIImagesValidationError(OpenAIImagesError, ValueError):
    """A request that cannot succeed, rejected before any HTTP call (and so before any charge).

    :param parameter: the offending parameter name.
    :param value: what was given.
    :param allowed: a description of what is allowed.
    """

    def __init__(self, parameter: str, value: Any, allowed: str, *, model: str | None = None) -> None:
        shown = value if not isinstance(value, str) or len(value) <= 80 else f"{value[:77]}..."
        scope = f" for model {model!r}" if model else ""
        super().__init__(f"Invalid {parameter}={shown!r}{scope}: allowed {allowed}.", param=parameter)
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.model = model


class OpenAIImagesBudgetError(OpenAIImagesError):
    """A request that would, or might, spend more than its budget (``max_images``, ``max_cost_usd``)
    allows, refused before anything was sent."""


class OpenAIImagesForeignImagesError(OpenAIImagesError):
    """The task instance's prefix holds images another task instance landed (two runs sharing an
    ``s3_key_prefix``): they are neither returned as this one's nor overwritten. Nothing was sent."""


class OpenAIImagesConnectionError(OpenAIImagesError):
    """The API could not be reached, or the connection broke before a full response arrived."""


class OpenAIImagesTimeoutError(OpenAIImagesConnectionError):
    """Connecting or reading timed out."""


class OpenAIImagesResponseError(OpenAIImagesError):
    """A 2xx response whose body is not the JSON the spec describes (truncated, HTML, empty...)."""


class OpenAIImagesAPIError(OpenAIImagesError):
    """The API answered with an error status.

    :param retry_after: seconds the server asked us to wait (``retry-after-ms`` / ``retry-after``).
    :param should_retry: whether the status (or the server's ``x-should-retry``) says a retry may succeed.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, should_retry: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.should_retry = should_retry


class OpenAIImagesBadRequestError(OpenAIImagesAPIError):
    """400: the API rejected the request."""


class OpenAIImagesContentPolicyError(OpenAIImagesBadRequestError):
    """The safety system rejected the prompt or image. Never retried: it would be rejected again."""


class OpenAIImagesAuthenticationError(OpenAIImagesAPIError):
    """401: missing or invalid API key."""


class OpenAIImagesPermissionDeniedError(OpenAIImagesAPIError):
    """403: the key may not use this model, organisation or project."""


class OpenAIImagesNotFoundError(OpenAIImagesAPIError):
    """404: unknown model, deployment or path."""


class OpenAIImagesModelNotFoundError(OpenAIImagesNotFoundError):
    """404 ``model_not_found``: the endpoint does not serve this model (shut down, or not deployed).

    Never retried: it will not come back by itself. :meth:`explain` says what is known about the model.
    Also raised before any paid call when the Models API says OpenAI no longer serves the model.
    """

    def explain(self, explanation: str) -> None:
        """Put ``explanation`` (when the model was shut down, what replaces it) before the API's message."""
        self.message = f"{explanation} {self.message}" if self.message else explanation


class OpenAIImagesConflictError(OpenAIImagesAPIError):
    """409: a conflicting concurrent operation (retried)."""


class OpenAIImagesRateLimitError(OpenAIImagesAPIError):
    """429: rate limit or quota (``insufficient_quota`` is not retried by the API's own verdict)."""


class OpenAIImagesServerError(OpenAIImagesAPIError):
    """5xx: a fault on the server side (retried)."""


def error_for_status(
    status_code: int,
    body: dict[str, Any] | None,
    *,
    request_id: str | None,
    retry_after: float | None = None,
    should_retry: bool = False,
    fallback_text: str = "",
) -> OpenAIImagesAPIError:
    """Build the typed exception for an error response, from the ``{"error": {...}}`` body."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    message = str(error.get("message") or fallback_text or f"HTTP {status_code}").strip()
    code = error.get("code")
    code = str(code) if code is not None else None
    inner: dict[str, Any] = error["innererror"] if isinstance(error.get("innererror"), dict) else {}
    fields: dict[str, Any] = {
        "status_code": status_code,
        "code": code,
        "param": error.get("param"),
        "error_type": error.get("type"),
        "request_id": request_id,
    }
    if code in CONTENT_POLICY_CODES or inner.get("code") == "ResponsibleAIPolicyViolation":
        return OpenAIImagesContentPolicyError(f"Rejected by the safety system: {message}", **fields)
    fields.update(retry_after=retry_after, should_retry=should_retry)
    by_status: dict[int, type[OpenAIImagesAPIError]] = {
        400: OpenAIImagesBadRequestError,
        401: OpenAIImagesAuthenticationError,
        403: OpenAIImagesPermissionDeniedError,
        404: OpenAIImagesNotFoundError,
        409: OpenAIImagesConflictError,
        429: OpenAIImagesRateLimitError,
    }
    if status_code >= 500:
        return OpenAIImagesServerError(message, **fields)
    if status_code == 404 and code == "model_not_found":
        return OpenAIImagesModelNotFoundError(message, **{**fields, "should_retry": False})
    return by_status.get(status_code, OpenAIImagesAPIError)(message, **fields)
