"""A human review step over generated images: what to ask a reviewer, and which records they approved.

:func:`review_request` turns an operator's records into the ``subject``, Markdown ``body`` and
``options`` of a human-in-the-loop task (``HITLOperator`` of the standard provider): one option per
landed image, with a stable, readable label (``item 3 · image 0`` for a bulk task, ``image 0`` for a
single-request task); rejected and failed items are listed in the body, not offered. :func:`approved`
maps the reviewer's ``chosen_options`` back to the records::

    request = review_request(records_per_item, gallery_url="https://airflow.example.com/...")
    # ... HITLOperator(subject=..., body=..., options=..., multiple=True) answers {"chosen_options": [...]}
    publish(approved(records_per_item, answer["chosen_options"]))

Labels depend only on each image's position among the records, so the same records always give the
same labels. Pure and light on purpose: no Airflow, boto3 or HTTP imports, so DAG files and tasks may
import it anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import quote

from typing_extensions import TypedDict

from airflow_provider_openai_images.records import items_of

if TYPE_CHECKING:
    from airflow_provider_openai_images.records import ImageRecord

#: What the helpers accept: one operator's records (single-request operators), or one list of records
#: per item (``OpenAIBulkGenerateImagesOperator``, or a mapped task's values, one list per map index).
Records: TypeAlias = "Sequence[ImageRecord] | Sequence[Sequence[ImageRecord]]"

#: At most this many images are offered by default: a longer list of checkboxes is not reviewable.
DEFAULT_MAX_OPTIONS = 100
#: The option that approves nothing: the REST API and the UI take at least one chosen option.
NONE_OPTION = "none of these"
#: Longest prompt (or revised prompt) shown in the body, in characters.
MAX_PROMPT_CHARS = 300

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~!&#])")
_PLACEHOLDERS = ("{s3_uri}", "{bucket}", "{key}")


class ReviewRequest(TypedDict):
    """The arguments of a human-in-the-loop task that reviews images (``HITLOperator(**request)``)."""

    subject: str
    """The headline: how many images wait for review."""
    body: str
    """Markdown: one line per landed image (label, model, size, cost, ``s3://`` URI, gallery link),
    then the items that did not land."""
    options: list[str]
    """One label per landed image, in record order, then :data:`NONE_OPTION` (unless disabled)."""
    multiple: bool
    """Always ``True``: any subset of the images may be approved."""


def image_label(image: int, item: int | None = None) -> str:
    """The option label of image ``image`` (its position in its list of records) of item ``item``
    (``None`` for a single-request operator's flat list): ``item 3 · image 0`` or ``image 0``."""
    return f"image {image}" if item is None else f"item {item} · image {image}"


def labelled_images(records: Records) -> dict[str, ImageRecord]:
    """The landed images by option label, in record order (rejected and failed records have none).

    :param records: a flat list of records, or one list of records per item.
    :raises TypeError: if ``records`` is neither.
    """
    return {
        image_label(position, item): record
        for item, item_records in _items(records)
        for position, record in enumerate(item_records)
        if record.get("status") == "landed"
    }


def review_request(
    records: Records,
    *,
    gallery_url: str | None = None,
    max_options: int = DEFAULT_MAX_OPTIONS,
    prompts: Sequence[str | Mapping[str, Any]] | None = None,
    subject: str | None = None,
    none_option: str | None = NONE_OPTION,
) -> ReviewRequest:
    """What a human-in-the-loop task needs to let a reviewer choose which images to publish.

    :param records: an operator's records: a flat list (single-request operators) or one list per item
        (the bulk operator, a mapped task's values).
    :param gallery_url: a page where the reviewer sees the images, linked from every image's line;
        ``{s3_uri}``, ``{bucket}`` and ``{key}`` in it are replaced by the image's (URL-quoted). Empty or
        ``None``: no links.
    :param max_options: the most images one review may offer; more raises :class:`ValueError` (review
        in smaller groups, e.g. one review task per chunk of prompts, or raise it).
    :param prompts: the items' prompts (the bulk operator's ``prompts``: texts or objects with a
        ``prompt``), shown above each item's images; the records themselves hold no prompt.
    :param subject: the headline; default: how many images wait for review.
    :param none_option: an extra option that approves nothing (the REST API and the UI take at least one
        chosen option); ``None`` leaves it out.
    :returns: ``subject``, ``body`` (Markdown), ``options`` (one label per landed image, then
        ``none_option``) and ``multiple=True``.
    :raises ValueError: if more than ``max_options`` images landed, or nothing could be offered (no
        landed image and no ``none_option``).
    :raises TypeError: if ``records`` is neither a list of records nor a list of lists of records.
    """
    items = _items(records)
    nested = bool(items) and items[0][0] is not None
    landed = labelled_images(records)
    if len(landed) > max_options:
        raise ValueError(
            f"{len(landed)} landed images are more than max_options={max_options}: review them in smaller "
            "groups (one review task per chunk of prompts) or raise max_options"
        )
    if not landed and none_option is None:
        raise ValueError("no image landed and none_option is None: a review needs at least one option")
    if none_option is not None and none_option in landed:
        raise ValueError(f"none_option={none_option!r} is also an image's label")

    lines: list[str] = []
    missing: list[str] = []
    for item, item_records in items:
        prompt = _prompt_of(prompts, item) if nested and prompts is not None else None
        shown = False
        for position, record in enumerate(item_records):
            if record.get("status") != "landed":
                missing.append(_missing_line(item, position, record, prompt))
                continue
            if prompt is not None and not shown:
                lines += ["", f"**item {item}**: {prompt}", ""]
            shown = True
            lines.append(_image_line(image_label(position, item), record, gallery_url))

    costs = [record.get("cost_usd") for record in landed.values()]
    spent = _usd(sum(cost for cost in costs if cost is not None))
    total = spent if None not in costs else f"{spent} and some at an unknown price"
    what = _count(len(items), "prompt") if nested else "one request"
    summary = (
        f"{_count(len(landed), 'image')} landed from {what}, {total} in all. Choose the images to publish; "
        "the others stay in S3 but are not published."
        if landed
        else f"No image landed from {what}: nothing to publish."
    )
    body = [summary, *([] if lines and not lines[0] else [""]), *lines]
    if missing:
        body += ["", f"**Not landed** ({_count(len(missing), 'item')}, not offered):", "", *missing]
    options = [*landed, *([] if none_option is None else [none_option])]
    headline = subject or f"Review {_count(len(landed), 'new image')}" + (
        f" ({len(missing)} not landed)" if missing else ""
    )
    return {"subject": headline, "body": "\n".join(body).strip() + "\n", "options": options, "multiple": True}


def approved(
    records: Records, chosen_options: Collection[str] | Mapping[str, Any], *, none_option: str | None = NONE_OPTION
) -> list[ImageRecord]:
    """The landed records whose label the reviewer chose, in record order.

    :param records: the records the review was built from (:func:`review_request`).
    :param chosen_options: the reviewer's ``chosen_options``, or the whole answer of the
        human-in-the-loop task (its XCom ``return_value``: ``{"chosen_options": [...], ...}``).
    :param none_option: the review's option that approves nothing (as given to :func:`review_request`);
        chosen beside images, the images count.
    :raises ValueError: if a chosen label is none of the records' (the records are not the reviewed ones).
    """
    if isinstance(chosen_options, Mapping):
        chosen_options = chosen_options["chosen_options"]
    chosen = {chosen_options} if isinstance(chosen_options, str) else set(chosen_options)
    landed = labelled_images(records)
    unknown = chosen - set(landed) - {none_option}
    if unknown:
        raise ValueError(f"chosen options {sorted(unknown)} are not labels of these records: {sorted(landed)}")
    return [record for label, record in landed.items() if label in chosen]


def _items(records: Records) -> list[tuple[int | None, Sequence[ImageRecord]]]:
    """``(item, records)`` per item; a flat list is one item numbered ``None``."""
    return cast("list[tuple[int | None, Sequence[ImageRecord]]]", items_of(records, strict=True))


def _image_line(label: str, record: ImageRecord, gallery_url: str | None) -> str:
    width, height = record.get("width"), record.get("height")
    size = _escape(f"{width}x{height}") if width and height else "size unknown"
    line = f"- **{label}**: {_escape(record.get('model') or 'model unknown')}, {size}, {_usd(record.get('cost_usd'))}"
    line += f", {_code(str(record.get('s3_uri') or ''))}"
    if gallery_url:
        line += f", [gallery]({_link(gallery_url, record)})"
    revised = record.get("revised_prompt")
    if revised:
        line += f"\n  revised prompt: {_escape(_cut(revised))}"
    return line


def _missing_line(item: int | None, position: int, record: ImageRecord, prompt: str | None) -> str:
    where = f"request (record {position})" if item is None else f"item {item}" + (f" ({prompt})" if prompt else "")
    code = record.get("code")
    reason = _escape(_cut(record.get("message") or "no message", 200))
    return f"- {where}: {record.get('status', 'failed')}{f' ({_escape(code)})' if code else ''}: {reason}"


def _link(gallery_url: str, record: ImageRecord) -> str:
    if not any(placeholder in gallery_url for placeholder in _PLACEHOLDERS):
        return gallery_url
    values = {
        "{s3_uri}": quote(record.get("s3_uri") or "", safe=""),
        "{bucket}": quote(record.get("bucket", ""), safe=""),
        "{key}": quote(record.get("key", ""), safe="/"),
    }
    for placeholder, value in values.items():
        gallery_url = gallery_url.replace(placeholder, value)
    return gallery_url


def _prompt_of(prompts: Sequence[str | Mapping[str, Any]], item: int | None) -> str:
    if item is None or item >= len(prompts):
        return "(prompt unknown)"
    entry = prompts[item]
    text = entry if isinstance(entry, str) else str(entry.get("prompt", ""))
    return _escape(_cut(text))


def _cut(text: str, limit: int = MAX_PROMPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """``text`` shown literally in Markdown: no emphasis, links, HTML or tables from it."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _code(text: str) -> str:
    """``text`` as one inline code span, whatever backticks it holds (CommonMark: a fence longer than any run
    of backticks inside, spaced from one at either end), on one line."""
    text = " ".join(text.split())
    if not text:
        return "(no URI)"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _usd(cost: Any) -> str:
    return f"${cost:,.4f}" if isinstance(cost, (int, float)) and not isinstance(cost, bool) else "price unknown"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
