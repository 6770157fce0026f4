"""What a batch line that brought no images means for its item, as an :class:`ItemFailure` whose kind
says whether a retry of the task sends the request again in a new batch (``gave_up``, ``rate_limited``)
or never (``refused``, ``rejected``, ``possibly_billed``: the batch record keeps those as final).

- A request the batch never ran (it expired or was cancelled first) was not billed: ``gave_up``.
- A refused request is what its status says, as for the synchronous call (a 400 ``refused``, a 5xx
  ``gave_up``), even when its error object has another shape than the spec's (the message says so).
- A request that ran and left no usable answer (a response of another shape, a 2xx without images), or
  that no line answered while some lines named no request (its answer may be one of them), may have
  been billed: as for the synchronous call, ``possibly_billed`` when the connection's
  ``retry_possibly_billed`` is off (final: not paid for twice), else ``gave_up`` (sent again, and paid
  again).

(An answer's images that cannot be landed are ``not_landed``, see :mod:`.output`.)
"""

from __future__ import annotations

from collections.abc import Callable

from airflow_provider_openai_images.exceptions import OpenAIImagesError, OpenAIImagesResponseError, error_for_status
from airflow_provider_openai_images.jobs.batch.output_lines import LineResult
from airflow_provider_openai_images.jobs.failures import item_failure
from airflow_provider_openai_images.records import ItemFailure

DescribeFailure = Callable[[OpenAIImagesError], ItemFailure]


def line_failure(result: LineResult, *, batch_id: str, where: str, describe_failure: DescribeFailure) -> ItemFailure:
    """The failure of a ``not_run``, ``refused`` or ``unusable`` line (``where``: which line of which file)."""
    error = result.error or {"code": None, "message": None}
    odd = f" ({where} {result.problem})" if result.problem else ""
    if result.kind == "not_run":
        message = (
            f"Batch {batch_id} did not run this request ({error.get('code')}: {error.get('message')}){odd}; "
            "a retry of the task sends it in a new batch."
        )
        return item_failure("gave_up", message, code=error.get("code"))
    if result.kind == "refused" and result.status_code is not None:
        refusal = error_for_status(result.status_code, {"error": dict(error)}, request_id=result.request_id)
        refusal.message += odd
        failure = describe_failure(refusal)
        return {**failure, "message": f"Batch {batch_id}: {failure['message']}"}
    happened = f"{where} {result.problem or 'holds no answer'}: the request ran, and its images may have been billed"
    return _possibly_billed(happened, batch_id, result.request_id, describe_failure)


def unanswered_failure(
    *, batch_id: str, status: str, unknown_lines: int, describe_failure: DescribeFailure
) -> ItemFailure:
    """The failure of a request the batch was sent and no line of its files answered."""
    if not unknown_lines:
        message = f"Batch {batch_id} ended {status} without answering this request; a retry sends it again"
        return item_failure("gave_up", message)
    happened = (
        f"it ended {status} with no line answering this request, and {unknown_lines} line(s) of its files named "
        "no request it was sent (listed in the manifest): its answer may be one of them, and its images billed"
    )
    return _possibly_billed(happened, batch_id, None, describe_failure)


def _possibly_billed(happened: str, batch_id: str, request_id: str | None, describe: DescribeFailure) -> ItemFailure:
    """A failure after which the images may have been billed: its kind as the connection's retry policy
    says for such failures (``possibly_billed``, final, or ``gave_up``), its message the batch's."""
    error = OpenAIImagesResponseError(happened, request_id=request_id, possibly_billed=True)
    kind = describe(error)["kind"]
    then = (
        "Not sent again (retry_possibly_billed is off), so it is not paid for twice."
        if kind == "possibly_billed"
        else "A retry of the task sends it again in a new batch (retry_possibly_billed is on), and pays for it again."
    )
    return item_failure(kind, f"Batch {batch_id}: {happened}. {then}", request_id=request_id)
