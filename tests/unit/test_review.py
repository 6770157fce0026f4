"""``review_request`` and ``approved``: what a human review step shows and offers, and the records the
reviewer's choice stands for."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_openai_images.records import ImageRecord
from airflow_provider_openai_images.review import (
    NONE_OPTION,
    approved,
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


def test_each_landed_image_of_a_bulk_task_is_one_readable_option_and_the_others_are_not() -> None:
    request = review_request(bulk())
    assert request["options"] == [
        "item 0 · image 0",
        "item 1 · image 0",
        "item 1 · image 1",
        "item 3 · image 0",
        "item 4 · image 0",
        NONE_OPTION,
    ]
    assert request["multiple"] is True
    assert len(set(request["options"])) == len(request["options"])
    assert request["subject"] == "Review 5 new images (2 not landed)"


def test_labels_depend_only_on_positions_so_they_are_stable_and_unaffected_by_other_items() -> None:
    first, again = review_request(bulk()), review_request(bulk())
    assert first == again
    without_failures = [[landed(0, 0)], [landed(1, 0), landed(1, 1)], [landed(2, 0)], [landed(3, 0)], [landed(4, 0)]]
    assert "item 4 · image 0" in review_request(without_failures)["options"]
    assert labelled_images(bulk())["item 4 · image 0"]["key"].endswith("item-00004/000.png")
    assert image_label(0, 3) == "item 3 · image 0"
    assert image_label(2) == "image 2"


def test_a_flat_list_of_a_single_request_operator_gets_image_labels() -> None:
    records = [landed(0, 0), landed(0, 1)]
    request = review_request(records)
    assert request["options"] == ["image 0", "image 1", NONE_OPTION]
    assert "2 images landed from one request" in request["body"]
    assert approved(records, ["image 1"]) == [records[1]]


def test_the_body_has_one_line_per_landed_image_with_model_size_cost_and_uri() -> None:
    records = bulk()
    body = review_request(records)["body"]
    image_lines = [line for line in body.splitlines() if line.startswith("- **item")]
    assert len(image_lines) == 5
    for line, record in zip(image_lines, labelled_images(records).values(), strict=True):
        assert "gpt-image-2.5-flare" in line
        assert "1024x1536" in line
        assert "$0.0110" in line
        assert f"`{record['s3_uri']}`" in line
        assert "](" not in line, "no link without a gallery URL"
    assert image_lines[3].startswith("- **item 3 · image 0**:")
    assert "5 images landed from 5 prompts, $0.0550 in all" in body


def test_rejected_and_failed_items_are_listed_apart_with_their_reason() -> None:
    body = review_request(bulk())["body"]
    landed_part, missing_part = body.split("**Not landed** (2 items, not offered):")
    assert "item 2" not in landed_part
    assert "- item 2: rejected (moderation\\_blocked): Your request was rejected by the safety system." in missing_part
    assert "- item 3: failed: rate limited for longer than the task waits" in missing_part
    assert "s3://" not in missing_part


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


def test_prompts_head_their_items_shown_literally_and_cut() -> None:
    prompts: list[Any] = ["A [link](javascript:alert(1)) <b>bold</b> *stars*", {"prompt": "x" * 1000, "n": 2}]
    body = review_request([[landed(0, 0)], [landed(1, 0)]], prompts=prompts)["body"]
    assert "**item 0**: A \\[link\\](javascript:alert(1)) \\<b\\>bold\\</b\\> \\*stars\\*" in body
    (long_line,) = [line for line in body.splitlines() if line.startswith("**item 1**")]
    assert long_line.endswith("…")
    assert len(long_line) < 320


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
    assert review_request([landed(0, 0)], none_option=None)["options"] == ["image 0"]
    assert review_request([landed(0, 0)], subject="Today's heroes")["subject"] == "Today's heroes"


def test_approved_gives_the_chosen_records_in_record_order() -> None:
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


def test_a_label_the_records_do_not_have_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(ValueError, match=r"\['item 9 · image 0'\] are not labels of these records"):
        approved(bulk(), ["item 0 · image 0", "item 9 · image 0"])
    with pytest.raises(ValueError, match="not labels"):
        approved(bulk(), ["item 2 · image 0"])  # the rejected item has no option


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
    (line,) = [text for text in body.splitlines() if text.startswith("- **image 0**")]
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
