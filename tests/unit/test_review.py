"""``review_request`` and ``approved``: what a human review step shows and offers, and the records the
reviewer's choice stands for."""

from __future__ import annotations

import copy
import re
import unicodedata
import urllib.parse
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_openai_images.records import ImageRecord
from airflow_provider_openai_images.review import (
    LABEL_PROMPT_CHARS,
    NONE_OPTION,
    approved,
    gallery_thumbnail_url,
    image_label,
    labelled_images,
    review_request,
)


def landed(item: int, index: int, *, cost: float | None = 0.011, model: str = "gpt-image-2.5-flare") -> ImageRecord:
    key = f"review/run/generate_images/item-{item:05d}/{index:03d}.png"
    return {
        "status": "landed",
        "s3_uri": f"s3://bucket/{key}",
        "bucket": "bucket",
        "key": key,
        "model": model,
        "request_id": f"req_{item}_{index}",
        "width": 1024,
        "height": 1536,
        "cost_usd": cost,
        "index": index,
    }


def rejected(message: str = "Your request was rejected by the safety system.") -> ImageRecord:
    return {"status": "rejected", "s3_uri": None, "model": "gpt-image-2.5-flare", "code": "moderation_blocked",
            "message": message, "request_id": "req_x", "cost_usd": 0.0}  # fmt: skip


def failed() -> ImageRecord:
    return {"status": "failed", "s3_uri": None, "model": "gpt-image-2.5-flare", "code": None,
            "message": "rate limited for longer than the task waits", "request_id": None, "cost_usd": None}  # fmt: skip


def bulk() -> list[list[ImageRecord]]:
    """Five items: one image; two images; rejected; one image then a failure; one image."""
    return [[landed(0, 0)], [landed(1, 0), landed(1, 1)], [rejected()], [landed(3, 0), failed()], [landed(4, 0)]]


PROMPTS = [
    "A hero image for a post on spring gardening: seedlings on a sunny windowsill",
    "A hero image for a post on remote work: a tidy desk by a window overlooking a harbour",
    "A hero image for a post on forbidden fruit",
    "A hero image for a post on home baking: a rustic loaf on a floured board",
    "A hero image for a post on city cycling",
]
LABELS = [
    "#1 · …spring gardening: seedlings on a…",
    "#2 · …remote work: a tidy desk by a window…",
    "#3 · …remote work: a tidy desk by a window…",
    "#4 · …home baking: a rustic loaf on a…",
    "#5 · …city cycling",
]
PAGE = "/openai-images/gallery?dag_id=d&run_id=manual__2026-01-01T00%3A00%3A00%2B00%3A00&task_id=gen&map_index=-1"


def test_each_landed_image_is_one_option_labelled_with_its_number_and_what_its_prompt_says() -> None:
    request = review_request(bulk(), prompts=PROMPTS)
    assert request["options"] == [*LABELS, NONE_OPTION], "the words every prompt shares are left out"
    assert request["multiple"] is True
    assert request["subject"] == "Review 5 new images (2 not landed)"
    assert review_request(bulk(), prompts=PROMPTS) == request, "the same records and prompts: the same labels"


def test_without_prompts_labels_say_the_item_or_the_revised_prompt() -> None:
    assert review_request(bulk())["options"][:3] == ["#1 · item 0", "#2 · item 1", "#3 · item 1"]
    records = [landed(0, 0), landed(0, 1)]
    records[1]["revised_prompt"] = "A *revised* prompt\nover two lines"
    assert review_request(records)["options"] == ["#1", "#2 · A *revised* prompt over two lines", NONE_OPTION]
    assert review_request(records, prompts=["A fox in the snow"])["options"][:2] == [
        "#1 · A fox in the snow",
        "#2 · A fox in the snow",
    ], "a flat list's prompt: the request's"


def test_labels_are_plain_text_cut_at_a_word_and_shared_words_are_left_out_only_when_worth_it() -> None:
    assert image_label(3, "A fox\n\tin\x07 the \u202esnow\u200b") == "#3 · A fox in the snow"
    assert image_label(12, "x" * 100) == "#12 · " + "x" * (LABEL_PROMPT_CHARS - 1) + "…"
    long = image_label(1, "seedlings on a sunny windowsill in soft morning light")
    assert long == "#1 · seedlings on a sunny windowsill in…"
    assert image_label(1, " \n ") == image_label(1) == "#1"
    two_shared = labelled_images([[landed(0, 0)], [landed(1, 0)]], prompts=["A red fox", "A red hen"])
    assert list(two_shared) == ["#1 · A red fox", "#2 · A red hen"], "two shared words: kept"
    same = labelled_images([[landed(0, 0)], [landed(1, 0)]], prompts=["A fox in the snow"] * 2)
    assert list(same) == ["#1 · A fox in the snow", "#2 · A fox in the snow"], "the same prompt: nothing left out"
    prefix = labelled_images([[landed(0, 0)], [landed(1, 0)]], prompts=["A big red fox", "A big red fox in snow"])
    assert list(prefix) == ["#1 · …fox", "#2 · …fox in snow"], "each label keeps a word at least"


TEXTS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
PROMPT_LISTS = st.lists(st.one_of(TEXTS, st.sampled_from(["A fox", "A fox", "**[x](y)** <b>", "🦊‍🔥 ✨"])), max_size=12)
OUTCOMES = st.lists(st.lists(st.sampled_from(["landed", "rejected", "failed"]), max_size=3), max_size=12)


#: control, format, surrogate, line and paragraph separator characters
HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _records(outcomes: list[list[str]]) -> list[list[ImageRecord]]:
    made = {"landed": lambda item, index: landed(item, index), "rejected": lambda *_: rejected(),
            "failed": lambda *_: failed()}  # fmt: skip
    return [[made[status](item, index) for index, status in enumerate(item_outcomes)]
            for item, item_outcomes in enumerate(outcomes)]  # fmt: skip


@given(outcomes=OUTCOMES, prompts=PROMPT_LISTS)
def test_labels_are_unique_stable_one_line_and_map_back_to_their_records(
    outcomes: list[list[str]], prompts: list[str]
) -> None:
    records = _records(outcomes)
    labels = labelled_images(records, prompts)
    landed_records = [record for item in records for record in item if record["status"] == "landed"]
    assert list(labels.values()) == landed_records, "one label per landed image, in record order"
    assert len(set(labels)) == len(labels)
    assert list(labelled_images(copy.deepcopy(records), list(prompts))) == list(labels), "stable"
    for number, label in enumerate(labels, start=1):
        assert label == f"#{number}" or label.startswith(f"#{number} · ")
        assert len(label) <= len(f"#{number} · ") + LABEL_PROMPT_CHARS
        hidden = [char for char in label if unicodedata.category(char) in HIDDEN and char != "\u200d"]
        assert not hidden, f"one plain line: {label!r}"
    if landed_records:
        request = review_request(records, prompts=prompts)
        assert request["options"] == [*labels, NONE_OPTION]
        chosen = list(labels)[::2]
        assert approved(records, chosen, prompts=prompts) == landed_records[::2]
        assert approved(records, chosen) == landed_records[::2], "without the prompts: by number"


def test_approved_gives_the_chosen_records_in_record_order() -> None:
    records = bulk()
    chosen = [LABELS[4], LABELS[2]]
    assert approved(records, chosen, prompts=PROMPTS) == [records[1][1], records[4][0]]
    answer = {"chosen_options": chosen, "params_input": {}, "responded_by_user": {"id": "a", "name": "a"}}
    expected = [records[1][1], records[4][0]]
    assert approved(records, answer, prompts=PROMPTS) == expected, "the HITL task's whole XCom answer"
    assert approved(records, LABELS[0], prompts=PROMPTS) == [records[0][0]]
    assert approved(records, [NONE_OPTION], prompts=PROMPTS) == []
    assert approved(records, [NONE_OPTION, LABELS[0]], prompts=PROMPTS) == [records[0][0]]
    own = review_request(records, none_option="publish nothing")["options"][-1]
    assert approved(records, [own], none_option="publish nothing") == []
    with pytest.raises(ValueError, match="not labels"):
        approved(records, [NONE_OPTION], none_option=None)


def test_approved_without_the_prompts_matches_by_number_and_takes_the_earlier_labels_too() -> None:
    records = bulk()
    assert approved(records, [LABELS[4], "#2"]) == [records[1][0], records[4][0]], "the excerpt is not checked"
    assert approved(records, ["item 4 · image 0", "item 1 · image 1"]) == [records[1][1], records[4][0]]
    flat = [landed(0, 0), landed(0, 1)]
    assert approved(flat, ["image 1"]) == [flat[1]]
    with pytest.raises(ValueError, match="not labels"):
        approved(records, ["#2 · …something else"], prompts=PROMPTS)  # with the prompts: exactly


def test_a_label_the_records_do_not_have_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(ValueError, match=r"\['#9 · x'\] are not labels of these records"):
        approved(bulk(), [LABELS[0], "#9 · x"], prompts=PROMPTS)
    for label in ("#9", "#0", "#01", "item 2 · image 0", "image 0"):  # item 2 was rejected: no option
        with pytest.raises(ValueError, match="not labels"):
            approved(bulk(), [label])


def test_the_body_has_per_landed_image_its_label_model_size_cost_and_uri() -> None:
    records = bulk()
    body = review_request(records, prompts=PROMPTS)["body"]
    image_lines = [line for line in body.splitlines() if line.startswith("- **\\#")]
    assert len(image_lines) == 5
    for line, (label, record) in zip(image_lines, labelled_images(records, PROMPTS).items(), strict=True):
        escaped = label.replace("#", "\\#")
        assert line.startswith(f"- **{escaped}**: gpt-image-2.5-flare, 1024x1536, $0.0110, ")
        assert f"`{record['s3_uri']}`" in line
        assert "](" not in line, "no link without a gallery URL, no image without a thumbnail URL"
    assert "5 images landed from 5 prompts, $0.0550 in all" in body
    assert "**item 1**: A hero image for a post on remote work: a tidy desk" in body, "the whole prompt heads"


def test_rejected_and_failed_items_are_listed_apart_with_their_reason() -> None:
    body = review_request(bulk())["body"]
    landed_part, missing_part = body.split("**Not landed** (2 items, not offered):")
    assert "item 2" not in landed_part
    assert "- item 2: rejected (moderation\\_blocked): Your request was rejected by the safety system." in missing_part
    assert "- item 3: failed: rate limited for longer than the task waits" in missing_part
    assert "s3://" not in missing_part
    with_prompts = review_request(bulk(), prompts=PROMPTS)["body"].split("**Not landed**")[1]
    assert "- item 2 (A hero image for a post on forbidden fruit): rejected (moderation\\_blocked): " in with_prompts


def test_gallery_links_fill_in_the_image_s_uri_bucket_and_key_url_quoted() -> None:
    records = [[landed(0, 0)], [landed(1, 0)]]
    body = review_request(records, gallery_url="https://airflow.example.com/gallery?uri={s3_uri}")["body"]
    assert "[gallery](https://airflow.example.com/gallery?uri=s3%3A%2F%2Fbucket%2Freview%2Frun%2F" in body
    assert body.count("[gallery](") == 2
    by_key = review_request(records, gallery_url="https://g.example/{bucket}/{key}")["body"]
    assert "(https://g.example/bucket/review/run/generate_images/item-00001/000.png)" in by_key
    plain = review_request(records, gallery_url="/openai-images/gallery?dag_id=d&run_id=r")["body"]
    assert plain.count("[gallery](/openai-images/gallery?dag_id=d&run_id=r)") == 2
    assert "[gallery]" not in review_request(records, gallery_url="")["body"], "a Variable rendered empty: no link"
    odd = review_request(records, gallery_url='/g?q=a (b) <c>\\d"e')["body"]
    assert "[gallery](/g?q=a%20%28b%29%20%3Cc%3E%5Cd%22e)" in odd, "one Markdown link destination, whatever the URL"


def test_prompts_head_their_items_shown_literally_and_cut() -> None:
    prompts: list[Any] = ["A [link](javascript:alert(1)) <b>bold</b> *stars*", {"prompt": "x" * 1000, "n": 2}]
    body = review_request([[landed(0, 0)], [landed(1, 0)]], prompts=prompts)["body"]
    assert "**item 0**: A \\[link\\](javascript:alert(1)) \\<b\\>bold\\</b\\> \\*stars\\*" in body
    (long_line,) = [line for line in body.splitlines() if line.startswith("**item 1**")]
    assert long_line.endswith("…")
    assert len(long_line) < 320
    unknown = review_request([[landed(0, 0)], [landed(1, 0)]], prompts=["Only the first"])["body"]
    assert "**item 1**: (prompt unknown)" in unknown, "an item's images never under another item's prompt"


def test_an_unknown_price_and_a_revised_prompt_are_said() -> None:
    record = landed(0, 0, cost=None)
    record["revised_prompt"] = "A _revised_ prompt"
    body = review_request([record])["body"]
    assert "price unknown" in body
    assert "some at an unknown price" in body
    assert "revised prompt: A \\_revised\\_ prompt" in body


def test_more_landed_images_than_max_options_raise_instead_of_offering_only_some() -> None:
    records = [[landed(number, 0)] for number in range(4)]
    assert len(review_request(records, max_options=4)["options"]) == 5
    with pytest.raises(ValueError, match="4 landed images are more than max_options=3"):
        review_request(records, max_options=3)


def test_nothing_landed_still_offers_the_none_option_and_without_it_raises() -> None:
    request = review_request([[rejected()], [failed()]])
    assert request["options"] == [NONE_OPTION]
    assert request["body"].startswith("No image landed from 2 prompts: nothing to publish.")
    assert request["subject"] == "Review 0 new images (2 not landed)"
    with pytest.raises(ValueError, match="at least one option"):
        review_request([[rejected()]], none_option=None)
    assert review_request([landed(0, 0)], none_option=None)["options"] == ["#1"]
    assert review_request([landed(0, 0)], subject="Today's heroes")["subject"] == "Today's heroes"

    records = bulk()
    chosen = ["item 4 · image 0", "item 1 · image 1"]
    assert approved(records, chosen) == [records[1][1], records[4][0]]
    answer = {"chosen_options": chosen, "params_input": {}, "responded_by_user": {"id": "a", "name": "a"}}
    assert approved(records, answer) == [records[1][1], records[4][0]], "the HITL task's whole XCom answer"
    assert approved(records, "item 0 · image 0") == [records[0][0]]
    assert approved(records, [NONE_OPTION]) == []
    assert approved(records, [NONE_OPTION, "item 0 · image 0"]) == [records[0][0]]
    own = review_request(records, none_option="publish nothing")["options"][-1]
    assert approved(records, [own], none_option="publish nothing") == []
    with pytest.raises(ValueError, match="not labels"):
        approved(records, [NONE_OPTION], none_option=None)


def _parsed(body: str) -> list[Any]:
    """The inline tokens of ``body`` as a CommonMark parser reads it."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(body)
    blocks = {"paragraph_open", "paragraph_close", "bullet_list_open", "bullet_list_close", "list_item_open",
              "list_item_close", "inline"}  # fmt: skip
    assert {token.type for token in tokens} <= blocks, "no heading, quote, rule, code block or HTML"
    return [child for token in tokens if token.type == "inline" for child in token.children or []]


def test_with_a_thumbnail_url_each_landed_image_shows_inline_and_the_others_do_not() -> None:
    records = bulk()
    records[4][0]["sha256"] = "ab" * 32
    request = review_request(records, prompts=PROMPTS, gallery_url=PAGE, thumbnail_url=gallery_thumbnail_url(PAGE))
    images = [token for token in _parsed(request["body"]) if token.type == "image"]
    alts = ["".join(child.content for child in image.children or []) for image in images]
    assert alts == LABELS, "the alt text: the option's label"
    landed_records = [record for item in records for record in item if record["status"] == "landed"]
    for image, record in zip(images, landed_records, strict=True):
        src = image.attrs["src"]
        assert src.startswith("/openai-images/api/dags/d/dagRuns/manual__2026-01-01T00%3A00%3A00%2B00%3A00/"
                              "taskInstances/gen/thumbnail?map_index=-1&key=")  # fmt: skip
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(src).query)["key"] == [record["key"]]
    assert images[4].attrs["src"].endswith("&v=" + "ab" * 32), "a new image at the same key: a new URL"
    _, not_landed = request["body"].split("**Not landed**")
    assert "![" not in not_landed, "no image for a rejected or failed item"
    assert review_request(records, thumbnail_url="")["body"] == review_request(records)["body"]


def test_the_gallery_thumbnail_url_is_the_task_instance_s_thumbnail_endpoint() -> None:
    assert gallery_thumbnail_url(
        "https://airflow.example.com/base/openai-images/gallery?dag_id=a%2Fb&run_id=r&task_id=t&map_index=3"
    ) == (
        "https://airflow.example.com/base/openai-images/api/dags/a%2Fb/dagRuns/r/taskInstances/t/thumbnail"
        "?map_index=3&key={key}&v={sha256}"
    )
    assert "thumbnail?map_index=-1&" in gallery_thumbnail_url("/openai-images/gallery?dag_id=d&run_id=r&task_id=t")
    for page in ("/openai-images/gallery?dag_id=d&run_id=r", "/elsewhere?dag_id=d&run_id=r&task_id=t",
                 "/openai-images/gallery?dag_id=d&run_id=r&task_id=t&map_index=x"):  # fmt: skip
        with pytest.raises(ValueError, match=r"gallery page of a task instance|not a number"):
            gallery_thumbnail_url(page)


HOSTILE = [
    "[a link](https://evil.example) ![img](https://evil.example/i.png) <img src=x onerror=alert(1)> <b>b</b>",
    "www.evil.example, https://evil.example/x and boss@evil.example | a | b |",
    "`code` *em* __strong__ ~~del~~ # heading\n\n1. list\n> quote\n\n---\n&amp; &#60;script&#62;",
]
#: the literal autolinks that remark-gfm (mdast-util-gfm-autolink-literal, in the Airflow UI) makes of text, its
#: e-mail pattern without the check of the character before it (stricter)
GFM_AUTOLINKS = re.compile(r"(https?://|www(?=\.))[-.\w]+|[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.IGNORECASE)


@given(texts=st.lists(st.one_of(TEXTS, st.sampled_from(HOSTILE)), min_size=1, max_size=4))
def test_nothing_from_a_prompt_or_a_message_makes_markup_links_or_images(texts: list[str]) -> None:
    records: list[list[ImageRecord]] = [[landed(item, 0)] for item in range(len(texts))]
    records.append([rejected(message=texts[0])])
    for record, text in zip(records, texts, strict=False):
        record[0]["revised_prompt"] = text
    body = review_request(records, prompts=texts, gallery_url=PAGE, thumbnail_url=gallery_thumbnail_url(PAGE))["body"]
    tokens = _parsed(body)
    kinds = {token.type for token in tokens}
    assert kinds <= {"text", "strong_open", "strong_close", "image", "link_open", "link_close", "code_inline",
                     "softbreak", "hardbreak"}, kinds  # fmt: skip
    assert sum(token.type == "image" for token in tokens) == len(texts), "the thumbnails only"
    assert [token.attrs["href"] for token in tokens if token.type == "link_open"] == [PAGE] * len(texts)
    for text in (token.content for token in tokens if token.type == "text"):
        assert not GFM_AUTOLINKS.search(text), text


@pytest.mark.parametrize(
    "records",
    [
        pytest.param("s3://bucket/key", id="text"),
        pytest.param({"status": "landed"}, id="one record"),
        pytest.param([landed(0, 0), [landed(1, 0)]], id="mixed"),
        pytest.param([["not a record"]], id="list of texts"),
    ],
)
def test_anything_but_records_or_lists_of_records_is_a_type_error(records: Any) -> None:
    with pytest.raises(TypeError, match="records"):
        review_request(records)


def test_the_request_is_the_keyword_arguments_of_a_hitl_operator() -> None:
    from airflow.providers.standard.operators.hitl import HITLOperator

    request = review_request(bulk())
    operator = HITLOperator(task_id="review", **request)
    assert operator.options == request["options"]
    assert operator.multiple is True
    assert set(request) == {"subject", "body", "options", "multiple"}


def _rendered_line(record: ImageRecord) -> Any:
    """The body's line for ``record``, rendered by a CommonMark parser: its inline tokens."""
    from markdown_it import MarkdownIt

    body = review_request([record], gallery_url=None)["body"]
    (line,) = [text for text in body.splitlines() if text.startswith("- **\\#1**")]
    tokens = MarkdownIt("commonmark").parseInline(line)[0].children
    return [token for token in tokens or [] if token.type in ("code_inline", "html_inline", "link_open", "image")]


@pytest.mark.parametrize(
    "uri",
    ["s3://b/k`x.png", "s3://b/``k``.png", "s3://b/`k", "s3://b/<img src=x onerror=alert(1)>", "s3://b/[a](http://e)"],
)
def test_a_uri_with_backticks_or_markup_stays_one_literal_code_span(uri: str) -> None:
    record = landed(0, 0)
    record["s3_uri"] = uri
    (span,) = _rendered_line(record)
    assert (span.type, span.content) == ("code_inline", uri)


URIS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(str.strip)


@given(uri=URIS)
def test_any_uri_is_shown_as_exactly_one_code_span_of_its_text(uri: str) -> None:
    record = landed(0, 0)
    record["s3_uri"] = uri
    (span,) = _rendered_line(record)
    assert span.type == "code_inline"
    assert span.content == " ".join(uri.split())
