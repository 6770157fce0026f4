"""A finished batch's output and error lines, landed one line at a time, whatever each line holds.

Each line is parsed, its images decoded, checked and written to S3 before the next line is read, so
memory holds one line (and its images) at most, whatever the size of the file. The line's buffer is
emptied as soon as it is parsed. A line whose item an earlier run landed already is skipped, so a
retry after half the output landed writes only the rest and pays nothing.

No line stops the landing (per line, never per file). A line that names one of the requests the
batch was sent, but brought no images (refused, never run, or not the spec's), is its item's failure
(see :mod:`.line_failures`); an image of it that cannot be landed (bad base64 or URL, not an image) is
that image's, and the line's other images land. A line that names no such request (not JSON, no or a
foreign ``custom_id``, longer than the line cap) is an unknown line (see :mod:`.unknown_lines`). Only
S3 refusing a write (or a file's stream breaking, in :mod:`.job`) stops the landing: the batch stays
unfinished, and a retry re-attaches to it and lands what is left without paying again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.core import batches
from airflow_provider_openai_images.core.batches import OversizedLine
from airflow_provider_openai_images.core.pricing import BATCH_DISCOUNT
from airflow_provider_openai_images.jobs.accounting import answer_provenance
from airflow_provider_openai_images.jobs.batch.line_failures import DescribeFailure, line_failure, unanswered_failure
from airflow_provider_openai_images.jobs.batch.output_lines import LineResult, parse_output_line
from airflow_provider_openai_images.jobs.batch.record import custom_id, item_number
from airflow_provider_openai_images.jobs.batch.unknown_lines import UnknownLines
from airflow_provider_openai_images.jobs.failures import item_failure, not_landed
from airflow_provider_openai_images.jobs.outcome import ItemOutcome, Spend, count_spend, item_outcome, no_spend
from airflow_provider_openai_images.jobs.spec import REQUEST_TYPES, JobSpec, item_landers, recover_item
from airflow_provider_openai_images.landing.lander import (
    LandingReport,
    PaidImage,
    answer_targets,
    image_provenance,
    shortfall,
    shortfall_message,
)
from airflow_provider_openai_images.records import ImageRecord, ItemFailure, Provenance

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.core.pricing import PriceTable
    from airflow_provider_openai_images.core.responses import GeneratedImage, ImagesResponse

log = logging.getLogger(__name__)


class BatchOutputLanding:
    """Lands the lines of batch ``batch_id`` into the items of ``spec`` (every method runs in a thread).

    :param sent: custom id -> the image indices its request asked for.
    :param image_bytes: an answered image's bytes (decoded base64, or downloaded from its URL).
    :param describe_failure: what a refused request, or one that may have been billed, means for its item.
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
        describe_failure: DescribeFailure,
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
        #: lines that named one of the batch's requests but were not the spec's
        self.malformed = 0
        self.unknown = UnknownLines(batch_id, logger)
        self.spend: Spend = no_spend(batch=True)
        self._line_numbers: dict[str, int] = {}

    @property
    def keeps_files(self) -> bool:
        """Whether the batch's files hold lines that did not land as the spec's lines do (to be kept)."""
        return bool(self.malformed or len(self.unknown))

    def recover(self, sizes: Mapping[str, int]) -> None:
        """What earlier runs landed, from one listing of the prefix (``sizes``)."""
        for number, (lander, item) in enumerate(zip(self.landers, self.spec["items"], strict=True)):
            self.landed[number], self.failures[number] = recover_item(lander, item, sizes)

    def land_line(self, raw: bytearray, file_id: str = "") -> None:
        """Parse line ``raw`` of file ``file_id`` (its buffer is emptied first), then land its images one by
        one, each image's base64 text dropped before it is checked and written; or record its item's
        failure, or the line as an unknown line. Raises only what S3 raises."""
        self.lines += 1
        number_in_file = self._line_numbers[file_id] = self._line_numbers.get(file_id, 0) + 1
        where = f"line {number_in_file} of file {file_id}"
        size = raw.size if isinstance(raw, OversizedLine) else len(raw)
        if isinstance(raw, OversizedLine):
            problem = f"is over the {batches.MAX_OUTPUT_LINE_BYTES} byte cap of a line: skipped unread"
            self.unknown.add(file_id, number_in_file, size, None, problem)
            return
        result = self._parsed(raw, where)
        number = item_number(result.custom_id) if result.custom_id is not None else None
        indices = self.sent.get(result.custom_id) if result.custom_id is not None else None
        if number is None or indices is None or number >= len(self.landed):
            problem = result.problem or "names no request this batch was sent"
            self.unknown.add(file_id, number_in_file, size, result.custom_id, problem)
            return
        if all(index in self.landed[number] for index in indices):
            return
        if result.problem is not None:
            self.malformed += 1
            self.log.warning("Batch %s: %s (%s) %s", self.batch_id, where, result.custom_id, result.problem)
        if result.kind != "answered" or result.response is None:
            self.failures[number] = line_failure(
                result, batch_id=self.batch_id, where=where, describe_failure=self.describe_failure
            )
            return
        response, unusable = result.response, result.unusable_images
        del result  # from here on, only the answer holds the images
        self._land_answer(number, indices, response, unusable)

    def _parsed(self, raw: bytearray, where: str) -> LineResult:
        try:
            return parse_output_line(raw)
        except Exception as error:  # parsing touches nothing but the line: what it raises is about the line
            raw.clear()
            self.log.warning("Batch %s: %s could not be parsed", self.batch_id, where, exc_info=True)
            return LineResult("unreadable", None, problem=f"could not be parsed ({type(error).__name__}: {error})")

    def _land_answer(
        self, number: int, indices: list[int], response: ImagesResponse, unusable: Mapping[int, str]
    ) -> None:
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
        missing = [index for index in shortfall(indices, response) if index not in landed]
        problems = [shortfall_message(len(indices), missing, response.request_id)] if missing else []
        # The same line may be streamed again (a landing that stopped halfway): its surplus images must map to
        # the same indices each time, so they start right after the item's own, whatever has landed.
        surplus_from = item["values"].get("n") or 1
        targets = answer_targets(indices, len(response.data), surplus_from)
        pending = list(enumerate(zip(targets, response.data, strict=True)))
        response.data.clear()
        while pending:
            place, ((index, surplus), image) = pending.pop(0)
            if index in landed:
                continue
            if place in unusable:
                problems.append(f"image {index}: {unusable[place]}")
                continue
            each = image_provenance(provenance, image)
            if surplus:
                each["surplus"] = True
            content, problem = self._fetched(image)
            del image  # the base64 text: gone before the image is checked and written
            if problem is not None:
                problems.append(f"image {index}: {problem}")
                continue
            report = lander.land_each([PaidImage(index, _decoded(content), each)])
            del content
            landed |= report.landed
            problems += report.problems
            self._count(len(report.landed), provenance)
        report = LandingReport(len(indices), problems=problems)
        self.failures[number] = not_landed(f"Batch {self.batch_id}: {report.failure_message()}") if problems else None

    def _fetched(self, image: GeneratedImage) -> tuple[bytes, str | None]:
        """The image's bytes, or what is wrong with its base64 or URL."""
        try:
            return self.image_bytes(image), None
        except Exception as error:  # decoding or downloading one image: what it raises is about that image
            return b"", str(error) or type(error).__name__

    def _count(self, images: int, provenance: Provenance) -> None:
        """Add landed images to the spend, and to what they would have cost at synchronous prices."""
        count_spend(self.spend, images, provenance)
        each, synchronous = provenance.get("cost_usd"), self.spend.get("synchronous_cost_usd")
        if each is None or synchronous is None:
            self.spend["synchronous_cost_usd"] = None
        else:
            self.spend["synchronous_cost_usd"] = synchronous + each / BATCH_DISCOUNT * images

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
            return item_failure("gave_up", message)
        return unanswered_failure(
            batch_id=self.batch_id, status=status, unknown_lines=len(self.unknown),
            describe_failure=self.describe_failure,
        )  # fmt: skip


def _decoded(content: bytes) -> Callable[[], bytes]:
    return lambda: content
