"""The worker's side of landing, for a single-request operator: what an earlier try left, and an answer's
images landed, each outcome turned into what it means for the try (Airflow exceptions that say what a retry
does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from airflow_provider_openai_images.exceptions import OpenAIImagesForeignImagesError
from airflow_provider_openai_images.landing.lander import ImageLander, PaidImage, shortfall, shortfall_message
from airflow_provider_openai_images.records import ImageRecord

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.responses import ImagesResponse


def recover_landed(lander: ImageLander, wanted: int, log: Any) -> dict[int, ImageRecord]:
    """Images an earlier try of this task instance landed, and those it paid for but kept in the spill.

    :raises AirflowFailException: the prefix holds another task instance's images (no retry helps).
    :raises AirflowException: kept images S3 still refuses (a retry lands them).
    """
    try:
        recovery = lander.recover(wanted)
    except OpenAIImagesForeignImagesError as error:
        raise AirflowFailException(str(error)) from error
    if recovery.in_s3:
        log.info(
            "%d of %d images already landed under s3://%s/%s by an earlier try: not paying for them again",
            recovery.in_s3,
            wanted,
            lander.bucket,
            lander.prefix,
        )
    if recovery.kept.paid:
        log.info("Landing %d paid images an earlier try could not write to S3", recovery.kept.paid)
    if recovery.kept.problems:
        raise AirflowException(recovery.kept.failure_message())
    return recovery.landed


def land_answer(
    lander: ImageLander, paid: list[PaidImage], missing: list[int], response: ImagesResponse, log: Any
) -> dict[int, ImageRecord]:
    """Land each paid image of ``response`` (asked for the ``missing`` indices) the moment it is fetched.

    :raises AirflowException: an image did not land (it is kept for the next try), or the answer had fewer
        images than asked (the next try asks only for those), once the others landed.
    """
    report = lander.land_each(paid)
    if report.problems:
        raise AirflowException(report.failure_message())
    if len(response.data) > len(missing):
        log.warning(
            "Asked for %d image(s), the API answered %d: all landed, the extra ones flagged surplus",
            len(missing),
            len(response.data),
        )
    if short := shortfall(missing, response):
        raise AirflowException(shortfall_message(len(missing), short, response.request_id))
    return report.landed
