"""A human review step over generated images: what to ask a reviewer, and which records they approved.

:func:`review_request` turns an operator's records into the ``subject``, Markdown ``body`` and
``options`` of a human-in-the-loop task (``HITLOperator`` of the standard provider): one option per
landed image, labelled with the image's number in the review and an excerpt of its prompt
(``#2 · …remote work: a tidy desk by a window…``); the body shows each landed image's thumbnail, number
and facts; rejected and failed items are listed apart, not offered. :func:`approved` maps the reviewer's
``chosen_options`` back to the records::

    page = gallery_url(dag_id, run_id, "generate_images")  # operators.links: the task instance's gallery
    request = review_request(records_per_item, prompts=prompts, gallery_url=page,
                             thumbnail_url=gallery_thumbnail_url(page))
    # ... HITLOperator(subject=..., body=..., options=..., multiple=True) answers {"chosen_options": [...]}
    publish(approved(records_per_item, answer, prompts=prompts))

Labels depend only on the records and prompts given, so the same ones always give the same labels.
Pure and light on purpose: no Airflow, boto3 or HTTP imports, so DAG files and tasks may import it
anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import parse_qsl, quote

from typing_extensions import TypedDict

from airflow_provider_openai_images.records import items_of

if TYPE_CHECKING:
    from airflow_provider_openai_images.records import ImageRecord

#: What the helpers accept: one operator's records (single-request operators), or one list of records
#: per item (``OpenAIBulkGenerateImagesOperator``, or a mapped task's values, one list per map index).
Records: TypeAlias = "Sequence[ImageRecord] | Sequence[Sequence[ImageRecord]]"
#: The items' prompts: texts, or objects with a ``prompt`` (the bulk operator's ``prompts``).
Prompts: TypeAlias = "Sequence[str | Mapping[str, Any]]"

#: At most this many images are offered by default: a longer list of checkboxes is not reviewable.
DEFAULT_MAX_OPTIONS = 100
#: The option that approves nothing: the REST API and the UI take at least one chosen option.
NONE_OPTION = "none of these"
#: Longest prompt (or revised prompt) shown in the body, in characters.
MAX_PROMPT_CHARS = 300
#: Longest prompt excerpt in an option label, in characters.
LABEL_PROMPT_CHARS = 40
#: Leading words that every prompt shares (``A hero image for a post on``) are left out of the labels
#: when there are at least this many: the labels then show what differs.
MIN_SHARED_WORDS = 3

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~!&#])")
# GFM's literal autolinks (remark-gfm links any "www.", "http://", "https://" and e-mail address in text,
# escaped or not): a WORD JOINER (U+2060, invisible) before "://", "@" and the "." after "www" breaks them.
_AUTOLINK = re.compile(r"(?=://)|(?=@)|(?<=www)(?=\.)", re.IGNORECASE)
_WORD_JOINER = "\u2060"
# Control, format (bidirectional overrides among them) and surrogate characters; ZERO WIDTH JOINER (emoji
# sequences) stays.
_HIDDEN = frozenset({"Cc", "Cf", "Cs"})
_NUMBERED = re.compile(r"#([1-9][0-9]*)(?: · .*)?", re.DOTALL)
_PLACEHOLDERS = ("{s3_uri}", "{bucket}", "{key}", "{sha256}")
_DESTINATION_UNSAFE = re.compile(r"[\s()<>\\\"'`\x00-\x1f\x7f]")
_GALLERY_PAGE = "/gallery"


class ReviewRequest(TypedDict):
    """The arguments of a human-in-the-loop task that reviews images (``HITLOperator(**request)``)."""

    subject: str
    """The headline: how many images wait for review."""
    body: str
    """Markdown: per landed image its thumbnail (given a ``thumbnail_url``), label, model, size, cost,
    ``s3://`` URI and gallery link, under its item's prompt; then the items that did not land."""
    options: list[str]
    """One label per landed image, in record order, then :data:`NONE_OPTION` (unless disabled)."""
    multiple: bool
    """Always ``True``: any subset of the images may be approved."""


def image_label(number: int, prompt: str | None = None) -> str:
    """The option label of the review's image ``number`` (1, 2, … over the landed images, in record order)
    whose prompt is ``prompt``: ``#2 · A tidy desk by a window overlooking a…``, or ``#2`` without one.

    The prompt is made one plain line (no control or bidirectional characters) and cut to
    :data:`LABEL_PROMPT_CHARS`. The number alone tells images apart: labels of one review never collide.
    """
    text = _excerpt(prompt or "")
    return f"#{number} · {text}" if text else f"#{number}"


def labelled_images(records: Records, prompts: Prompts | None = None) -> dict[str, ImageRecord]:
    """The landed images by option label, in record order (rejected and failed records have none).

    :param records: a flat list of records, or one list of records per item.
    :param prompts: the items' prompts (for a flat list: the request's prompt first), for the labels'
        excerpts; without them, an image's revised prompt or its item number.
    :raises TypeError: if ``records`` is neither.
    """
    items = _items(records)
    texts = _label_texts(items, prompts)
    labels: dict[str, ImageRecord] = {}
    for item, item_records in items:
        for record in item_records:
            if record.get("status") == "landed":
                fallback = record.get("revised_prompt") or ("" if item is None else f"item {item}")
                labels[image_label(len(labels) + 1, texts.get(item) or fallback)] = record
    return labels


def gallery_thumbnail_url(gallery_url: str) -> str:
    """The ``thumbnail_url`` for :func:`review_request` of the task instance whose gallery page is
    ``gallery_url`` (:func:`~airflow_provider_openai_images.operators.links.gallery_url` with a
    ``task_id``): the gallery's thumbnail endpoint, which serves a landed record's thumbnail to a
    signed-in user who may read the DAG (the UI sends its session cookie with the ``<img>``).

    :raises ValueError: if ``gallery_url`` is not the gallery page of a task instance.
    """
    page, _, query = gallery_url.partition("?")
    fields = dict(parse_qsl(query))
    map_index = fields.get("map_index", "-1")
    if not page.endswith(_GALLERY_PAGE) or not {"dag_id", "run_id", "task_id"} <= fields.keys():
        raise ValueError(f"{gallery_url!r} is not the gallery page of a task instance (gallery_url(..., task_id))")
    if not re.fullmatch(r"-?[0-9]+", map_index):
        raise ValueError(f"{gallery_url!r}: map_index {map_index!r} is not a number")
    api = page.removesuffix(_GALLERY_PAGE) + "/api/dags/{}/dagRuns/{}/taskInstances/{}/thumbnail".format(
        *(quote(fields[name], safe="") for name in ("dag_id", "run_id", "task_id"))
    )
    return f"{api}?map_index={int(map_index)}&key={{key}}&v={{sha256}}"


def review_request(
    records: Records,
    *,
    gallery_url: str | None = None,
    thumbnail_url: str | None = None,
    max_options: int = DEFAULT_MAX_OPTIONS,
    prompts: Prompts | None = None,
    subject: str | None = None,
    none_option: str | None = NONE_OPTION,
) -> ReviewRequest:
    """What a human-in-the-loop task needs to let a reviewer choose which images to publish.

    :param records: an operator's records: a flat list (single-request operators) or one list per item
        (the bulk operator, a mapped task's values).
    :param gallery_url: a page where the reviewer sees the images, linked from every image's line;
        ``{s3_uri}``, ``{bucket}``, ``{key}`` and ``{sha256}`` in it are replaced by the image's
        (URL-quoted). Empty or ``None``: no links.
    :param thumbnail_url: the URL of an image's thumbnail, shown inline under its label; placeholders as
        in ``gallery_url``. The Airflow UI loads it with the reviewer's session, so the gallery's own
        (:func:`gallery_thumbnail_url`) works. Empty or ``None``: no thumbnails.
    :param max_options: the most images one review may offer; more raises :class:`ValueError` (review
        in smaller groups, e.g. one review task per chunk of prompts, or raise it).
    :param prompts: the items' prompts (the bulk operator's ``prompts``: texts or objects with a
        ``prompt``; for a flat list, the request's prompt), shown above each item's images and excerpted
        in the labels; the records themselves hold no prompt. Pass the same to :func:`approved`.
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
    landed = labelled_images(records, prompts)
    if len(landed) > max_options:
        raise ValueError(
            f"{len(landed)} landed images are more than max_options={max_options}: review them in smaller "
            "groups (one review task per chunk of prompts) or raise max_options"
        )
    if not landed and none_option is None:
        raise ValueError("no image landed and none_option is None: a review needs at least one option")
    if none_option is not None and none_option in landed:
        raise ValueError(f"none_option={none_option!r} is also an image's label")

    labels = iter(landed)
    lines: list[str] = []
    missing: list[str] = []
    for item, item_records in items:
        prompt = _prompt_of(prompts, item) if prompts is not None else None
        shown = False
        for position, record in enumerate(item_records):
            if record.get("status") != "landed":
                missing.append(_missing_line(item, position, record, prompt if nested else None))
                continue
            if prompts is not None and not shown:
                heading = _escape(_cut(prompt)) if prompt is not None else "(prompt unknown)"
                lines += ["", f"**{'prompt' if item is None else f'item {item}'}**: {heading}", ""]
            shown = True
            lines += _image_lines(next(labels), record, gallery_url, thumbnail_url)

    costs = [record.get("cost_usd") for record in landed.values()]
    spent = _usd(sum(cost for cost in costs if cost is not None))
    total = spent if None not in costs else f"{spent} and some at an unknown price"
    what = _count(len(items), "prompt") if nested else "one request"
    summary = (
        f"{_count(len(landed), 'image')} landed from {what}, {total} in all. Choose the images to publish "
        "by their numbers; the others stay in S3 but are not published."
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
    records: Records,
    chosen_options: Collection[str] | Mapping[str, Any],
    *,
    none_option: str | None = NONE_OPTION,
    prompts: Prompts | None = None,
) -> list[ImageRecord]:
    """The landed records whose label the reviewer chose, in record order.

    :param records: the records the review was built from (:func:`review_request`).
    :param chosen_options: the reviewer's ``chosen_options``, or the whole answer of the
        human-in-the-loop task (its XCom ``return_value``: ``{"chosen_options": [...], ...}``).
    :param none_option: the review's option that approves nothing (as given to :func:`review_request`);
        chosen beside images, the images count.
    :param prompts: the prompts given to :func:`review_request`: a label must then match exactly. Without
        them a label is matched by its number (``#2 · …``), since its excerpt cannot be checked. The earlier
        positional labels (``item 3 · image 0``, ``image 0``) still match: a review that waited through an
        upgrade of the provider is answered as it was asked.
    :raises ValueError: if a chosen label is none of the records' (the records are not the reviewed ones).
    """
    if isinstance(chosen_options, Mapping):
        chosen_options = chosen_options["chosen_options"]
    chosen = {chosen_options} if isinstance(chosen_options, str) else set(chosen_options)
    landed = labelled_images(records, prompts)
    numbers = {label: number for number, label in enumerate(landed)}
    numbers |= {label: number for label, number in _positional_labels(records).items() if label not in numbers}
    picked: set[int] = set()
    unknown: list[str] = []
    for label in chosen - {none_option}:
        match = _NUMBERED.fullmatch(label) if prompts is None else None
        if label in numbers:
            picked.add(numbers[label])
        elif match and int(match[1]) <= len(landed):
            picked.add(int(match[1]) - 1)
        else:
            unknown.append(label)
    if unknown:
        raise ValueError(f"chosen options {sorted(unknown)} are not labels of these records: {list(landed)}")
    records_in_order = list(landed.values())
    return [records_in_order[number] for number in sorted(picked)]


def _items(records: Records) -> list[tuple[int | None, Sequence[ImageRecord]]]:
    """``(item, records)`` per item; a flat list is one item numbered ``None``."""
    return cast("list[tuple[int | None, Sequence[ImageRecord]]]", items_of(records, strict=True))


def _positional_labels(records: Records) -> dict[str, int]:
    """The labels of earlier versions (``item 3 · image 0``, ``image 0``): the image's index among the landed."""
    labels: dict[str, int] = {}
    for item, item_records in _items(records):
        for position, record in enumerate(item_records):
            if record.get("status") == "landed":
                labels[f"image {position}" if item is None else f"item {item} · image {position}"] = len(labels)
    return labels


def _label_texts(items: list[tuple[int | None, Sequence[ImageRecord]]], prompts: Prompts | None) -> dict[Any, str]:
    """Each item's prompt for its labels, without the leading words every prompt shares (marked ``…``)."""
    if prompts is None:
        return {}
    words = {item: _plain(_prompt_of(prompts, item) or "").split() for item, _ in items}
    known = [text for text in words.values() if text]
    shared = 0
    if len({tuple(text) for text in known}) > 1:
        while all(len(text) > shared + 1 and text[shared] == known[0][shared] for text in known):
            shared += 1
    if shared < MIN_SHARED_WORDS:
        shared = 0
    return {item: ("…" if shared else "") + " ".join(text[shared:]) for item, text in words.items() if text}


def _image_lines(label: str, record: ImageRecord, gallery_url: str | None, thumbnail_url: str | None) -> list[str]:
    """A list entry: the label, the thumbnail (on a line of its own), the record's facts, a revised prompt."""
    width, height = record.get("width"), record.get("height")
    size = _escape(f"{width}x{height}") if width and height else "size unknown"
    facts = f"{_escape(record.get('model') or 'model unknown')}, {size}, {_usd(record.get('cost_usd'))}"
    facts += f", {_code(str(record.get('s3_uri') or ''))}"
    if gallery_url:
        facts += f", [gallery]({_link(gallery_url, record)})"
    lines = [f"- **{_escape(label)}**: {facts}"]
    if thumbnail_url and record.get("key"):
        image = f"![{_escape(label)}]({_link(thumbnail_url, record)})"
        lines = [f"- **{_escape(label)}**\\", f"  {image}\\", f"  {facts}"]
    revised = record.get("revised_prompt")
    if revised:
        lines[-1] += "\\"
        lines.append(f"  revised prompt: {_escape(_cut(revised))}")
    return lines


def _missing_line(item: int | None, position: int, record: ImageRecord, prompt: str | None) -> str:
    where = f"request (record {position})" if item is None else f"item {item}"
    where += f" ({_escape(_cut(prompt))})" if prompt else ""
    code = record.get("code")
    reason = _escape(_cut(record.get("message") or "no message", 200))
    return f"- {where}: {record.get('status', 'failed')}{f' ({_escape(code)})' if code else ''}: {reason}"


def _link(template: str, record: ImageRecord) -> str:
    """``template`` with the record's placeholders filled in, safe as a Markdown link destination."""
    values = {
        "{s3_uri}": quote(record.get("s3_uri") or "", safe=""),
        "{bucket}": quote(record.get("bucket", ""), safe=""),
        "{key}": quote(record.get("key", ""), safe="/"),
        "{sha256}": quote(str(record.get("sha256") or ""), safe=""),
    }
    for placeholder in _PLACEHOLDERS:
        template = template.replace(placeholder, values[placeholder])
    return _DESTINATION_UNSAFE.sub(lambda unsafe: quote(unsafe[0], safe=""), template)


def _prompt_of(prompts: Prompts | None, item: int | None) -> str | None:
    """Item ``item``'s prompt text (the first for a flat list's ``None``); ``None`` when unknown."""
    number = 0 if item is None else item
    if not prompts or number >= len(prompts):
        return None
    entry = prompts[number]
    return entry if isinstance(entry, str) else str(entry.get("prompt", ""))


def _plain(text: str) -> str:
    """``text`` on one line, without control, format or surrogate characters (ZERO WIDTH JOINER kept)."""
    shown = (" " if unicodedata.category(char) in _HIDDEN and char != "\u200d" else char for char in text)
    return " ".join("".join(shown).split())


def _excerpt(text: str, limit: int = LABEL_PROMPT_CHARS) -> str:
    """``text`` made plain and cut to ``limit`` characters, at a space when one is near the end."""
    text = _plain(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def _cut(text: str, limit: int = MAX_PROMPT_CHARS) -> str:
    text = _plain(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    """``text`` shown literally in Markdown: no emphasis, links (GFM's literal autolinks too), HTML or
    tables from it."""
    return _AUTOLINK.sub(_WORD_JOINER, _MARKDOWN_SPECIAL.sub(r"\\\1", _plain(text)))


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
