"""A finished batch's output and error lines, landed one line at a time.

Each line is parsed, its images decoded, checked and written to S3 before the next line is read, so
memory holds one line (and its images) at most, whatever the size of the file. The line's buffer is
emptied as soon as it is parsed. A line whose item an earlier run landed already is skipped, so a
retry after half the output landed writes only the rest and pays nothing. Refused requests and
requests the batch never ran become item failures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.accounting import answer_provenance
from airflow_provider_openai_images.batch.record import custom_id, item_number
from airflow_provider_openai_images.core.batches import LineResult, parse_output_line
from airflow_provider_openai_images.core.pricing import BATCH_DISCOUNT
from airflow_provider_openai_images.exceptions import OpenAIImagesError, error_for_status
from airflow_provider_openai_images.jobs import REQUEST_TYPES, JobSpec, item_landers, recover_item
from airflow_provider_openai_images.landing import LandingReport, PaidImage, image_provenance
from airflow_provider_openai_images.records import ImageRecord, ItemFailure, Provenance
from airflow_provider_openai_images.results import ItemOutcome, Spend, count_spend, item_outcome, no_spend, not_landed

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.pricing import PriceTable
    from airflow_provider_openai_images.core.responses import GeneratedImage, ImagesResponse

log = logging.getLogger(__name__)


class BatchOutputLanding:
    """Lands the lines of batch ``batch_id`` into the items of ``spec`` (every method runs in a thread).

    :param sent: custom id -> the image indices its request asked for.
    :param image_bytes: an answered image's bytes (decoded base64).
    :param describe_failure: what a refused request means for its item.
    """

    def __init__(
        self,
        spec: JobSpec,
        batch_id: str,
        sent: Mapping[str, list[int]],
        *,
        s3_hook: S3Hook,
        prices: PriceTable,
        image_bytes: Callable[[GeneratedImage], bytes],
        describe_failure: Callable[[OpenAIImagesError], ItemFailure],
        logger: logging.Logger | Any = log,
    ) -> None:
        self.spec = spec
        self.batch_id = batch_id
        self.sent = sent
        self.prices = prices
        self.image_bytes = image_bytes
        self.describe_failure = describe_failure
        self.log = logger
        self.landers = item_landers(s3_hook, spec)
        self.landed: list[dict[int, ImageRecord]] = [{} for _ in spec["items"]]
        self.failures: list[ItemFailure | None] = [None for _ in spec["items"]]
        self.lines = 0
        self.spend: Spend = no_spend(batch=True)

    def recover(self, sizes: Mapping[str, int]) -> None:
        """What earlier runs landed, from one listing of the prefix (``sizes``)."""
        for number, (lander, item) in enumerate(zip(self.landers, self.spec["items"], strict=True)):
            self.landed[number], self.failures[number] = recover_item(lander, item, sizes)

    def land_line(self, raw: bytearray) -> None:
        """Parse one output or error line (its buffer is emptied first), then land its images one by one,
        each image's base64 text dropped before it is checked and written (or record its failure)."""
        result = parse_output_line(raw)
        self.lines += 1
        number = item_number(result.custom_id)
        indices = self.sent.get(result.custom_id)
        if number is None or indices is None or number >= len(self.landed):
            self.log.warning("Batch %s answered custom_id %r, which it was not sent", self.batch_id, result.custom_id)
            return
        if all(index in self.landed[number] for index in indices):
            return
        if result.response is None:
            self.failures[number] = self._failure(result)
            return
        response = result.response
        del result  # from here on, only the answer holds the images
        self._land_answer(number, indices, response)

    def _land_answer(self, number: int, indices: list[int], response: ImagesResponse) -> None:
        item = self.spec["items"][number]
        request = REQUEST_TYPES[item["endpoint"]].from_values({**item["values"], "n": len(indices)})
        provenance = answer_provenance(
            request,
            response,
            prices=self.prices,
            sources=item.get("sources", []),
            task=self.spec["task"],
            prepared=item.get("prepared"),
            batch_id=self.batch_id,
        )
        landed, lander = self.landed[number], self.landers[number]
        pending = list(zip(indices, response.data, strict=False))
        response.data.clear()
        problems: list[str] = []
        while pending:
            index, image = pending.pop(0)
            if index in landed:
                continue
            paid = PaidImage(index, _decoded(self.image_bytes(image)), image_provenance(provenance, image))
            del image  # the base64 text: gone before the image is checked and written
            report = lander.land_each([paid])
            del paid
            landed |= report.landed
            problems += report.problems
            self._count(len(report.landed), provenance)
        failure = not_landed(LandingReport(len(indices), problems=problems).failure_message()) if problems else None
        self.failures[number] = failure

    def _count(self, images: int, provenance: Provenance) -> None:
        """Add landed images to the spend, and to what they would have cost at synchronous prices."""
        count_spend(self.spend, images, provenance)
        each, synchronous = provenance.get("cost_usd"), self.spend.get("synchronous_cost_usd")
        if each is None or synchronous is None:
            self.spend["synchronous_cost_usd"] = None
        else:
            self.spend["synchronous_cost_usd"] = synchronous + each / BATCH_DISCOUNT * images

    def _failure(self, result: LineResult) -> ItemFailure:
        error = result.error or {}
        if result.status_code is None:  # never run: the batch expired or was cancelled first
            message = (
                f"Batch {self.batch_id} did not run this request ({error.get('code')}: {error.get('message')}); "
                "a retry of the task sends it in a new batch."
            )
            return {"kind": "gave_up", "message": message, "code": error.get("code"), "request_id": None}
        refusal = error_for_status(result.status_code, {"error": error}, request_id=result.request_id)
        failure = self.describe_failure(refusal)
        return {**failure, "message": f"Batch {self.batch_id}: {failure['message']}"}

    def outcomes(self, status: str, final_failures: Mapping[str, ItemFailure]) -> list[ItemOutcome]:
        """Every item's outcome once all lines are landed; items sent but never answered failed with the batch."""
        outcomes = []
        for number, item in enumerate(self.spec["items"]):
            wanted = item["values"].get("n") or 1
            landed, failure = self.landed[number], self.failures[number]
            cid = custom_id(number)
            if failure is None and len(landed) < wanted:
                failure = final_failures.get(cid) or self._unanswered(cid, status)
            outcomes.append(item_outcome(landed, failure, item["values"].get("model")))
        return outcomes

    def _unanswered(self, cid: str, status: str) -> ItemFailure:
        if cid not in self.sent:
            message = "not sent: an earlier try left this item incomplete; a retry of the task sends it again"
        else:
            message = f"Batch {self.batch_id} ended {status} without answering this request; a retry sends it again"
        return {"kind": "gave_up", "message": message, "code": None, "request_id": None}


def _decoded(content: bytes) -> Callable[[], bytes]:
    return lambda: content
