"""The Batch API's line contracts: input lines as the spec's bodies, output lines parsed in place, and a
line splitter that hands over each line without holding the stream."""

from __future__ import annotations

import base64
import json
import sys

import pytest

from airflow_provider_openai_images.core import batches
from airflow_provider_openai_images.core.batches import LineSplitter, OversizedLine, input_line
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageFile, VariationRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.jobs.batch.input_file import write_input_file
from airflow_provider_openai_images.jobs.batch.output_lines import parse_output_line
from airflow_provider_openai_images.jobs.batch.record import (
    batch_metadata_for,
    custom_id,
    item_number,
    items_fingerprint,
)
from tests.imagefactory import picture
from tests.unit.conftest import TASK

#: what Python 3.10 does not do: ``take_base64_images`` leaves every value in the line there (output_lines.py)
needs_strict_base64 = pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="base64 cut out of the line's buffer needs Python 3.11 (binascii.a2b_base64's strict_mode)",
)


def test_a_generation_line_carries_the_synchronous_json_body() -> None:
    request = GenerateRequest(prompt="a fox", model="gpt-image-2.5-flare", n=2, quality="low", extra_body={"seed": 7})
    line = input_line("item-00003", request)
    assert (line.endswith(b"\n"), line.count(b"\n")) == (True, 1)
    assert json.loads(line) == {
        "custom_id": "item-00003",
        "method": "POST",
        "url": "/v1/images/generations",
        "body": {"model": "gpt-image-2.5-flare", "n": 2, "prompt": "a fox", "quality": "low", "seed": 7},
    }


def test_an_edit_line_references_its_images_and_mask_as_data_urls() -> None:
    image = ImageFile.from_bytes(picture(32, 32), "photo.png")
    mask = ImageFile.from_bytes(picture(32, 32, mode="RGBA"), "mask.png")
    request = EditRequest(prompt="add a hat", model="gpt-image-2.5-flare", images=(image, image), mask=mask)
    body = json.loads(input_line("item-00000", request))["body"]
    assert body["images"][0]["image_url"].startswith("data:image/png;base64,")
    assert base64.b64decode(body["images"][1]["image_url"].split(",", 1)[1]) == image.content
    assert base64.b64decode(body["mask"]["image_url"].split(",", 1)[1]) == mask.content
    assert {"image", "image[]"} & set(body) == set()


def test_a_request_the_batch_api_cannot_take_is_refused_naming_why() -> None:
    image = ImageFile.from_bytes(picture(32, 32), "photo.png")
    with pytest.raises(OpenAIImagesValidationError, match="no variations"):
        input_line("item-00000", VariationRequest(image=image))
    with pytest.raises(OpenAIImagesValidationError, match=r"Invalid model='dall-e-2'.*JSON edits"):
        input_line("item-00000", EditRequest(prompt="p", model="dall-e-2", images=(image,)))
    with pytest.raises(OpenAIImagesValidationError, match="size"):
        input_line("item-00000", GenerateRequest(prompt="p", model="gpt-image-2.5-flare", size="999x999"))


def test_an_output_line_gives_the_answer_and_a_refused_or_unrun_line_its_error() -> None:
    answer = {"created": 1, "data": [{"b64_json": "aGk="}], "usage": {"input_tokens": 5, "output_tokens": 9}}
    ok = {"id": "b1", "custom_id": "item-00001", "error": None,
          "response": {"status_code": 200, "request_id": "req_1", "body": answer}}  # fmt: skip
    result = parse_output_line(bytearray(json.dumps(ok).encode()))
    assert (result.custom_id, result.status_code, result.request_id) == ("item-00001", 200, "req_1")
    assert result.response is not None
    assert result.response.data[0].decode() == b"hi"
    assert result.response.usage is not None
    assert result.response.usage.output_tokens == 9

    blocked = {"error": {"code": "moderation_blocked", "message": "no"}}
    refused = {"id": "b2", "custom_id": "item-00002", "error": None,
               "response": {"status_code": 400, "request_id": "req_2", "body": blocked}}  # fmt: skip
    result = parse_output_line(json.dumps(refused).encode())
    assert (result.response, result.status_code, result.error) == (None, 400, blocked["error"])

    expired = {"id": "b3", "custom_id": "item-00003", "response": None,
               "error": {"code": "batch_expired", "message": "late"}}  # fmt: skip
    result = parse_output_line(json.dumps(expired).encode())
    assert (result.status_code, result.error) == (None, {"code": "batch_expired", "message": "late"})


@pytest.mark.parametrize(
    ("line", "kind", "custom_id", "problem"),
    [
        (b'{"custom_id": "item-1", "resp', "unreadable", None, "is not JSON"),
        (b"\xff" * 10, "unreadable", None, "is not JSON"),
        (b"[" * 100_000, "unreadable", None, "is not JSON"),
        (b"[1]", "unreadable", None, "is not a JSON object but a JSON array of 1"),
        (b'{"response": null}', "unreadable", None, "has no string custom_id (its custom_id: null)"),
        (b'{"custom_id": ["item-00001"]}', "unreadable", None, "has no string custom_id"),
        (b'{"custom_id": "c", "response": null, "error": "late"}', "not_run", "c", "has an error that is 'late'"),
        (b'{"custom_id": "c", "response": 5}', "unusable", "c", "has a response that is 5"),
        (b'{"custom_id": "c", "response": {"status_code": true}}', "unusable", "c", "status_code is True"),
        (b'{"custom_id": "c", "response": {"status_code": 200, "body": {}}}', "unusable", "c", "without a 'data'"),
        (
            b'{"custom_id": "c", "response": {"status_code": 500, "body": []}}',
            "refused",
            "c",
            "has an error body that is",
        ),
        (b'{"custom_id": "c", "response": {"status_code": 200, "body": {"data": []}}}', "answered", "c", None),
    ],
)
def test_a_line_that_is_not_the_spec_s_says_how_and_is_never_raised(
    line: bytes, kind: str, custom_id: str | None, problem: str | None
) -> None:
    result = parse_output_line(bytearray(line))
    assert (result.kind, result.custom_id) == (kind, custom_id)
    assert (problem is None and result.problem is None) or (problem and problem in (result.problem or ""))


def test_an_answer_s_images_that_cannot_be_landed_are_named_and_the_others_kept() -> None:
    image = picture(16, 16)
    data = [{"b64_json": base64.b64encode(image).decode()}, "x", {"url": 5}, {"url": "https://host/a.png"}]
    body = {"created": "yesterday", "data": data, "usage": {"input_tokens": "many"}, "size": 1024, "quality": "low"}
    line = {"custom_id": "item-00000", "response": {"status_code": 200, "request_id": 7, "body": body}}
    result = parse_output_line(bytearray(json.dumps(line).encode()))
    assert result.kind == "answered"
    assert result.response is not None
    assert len(result.response.data) == 4, "every image counts in the answer's cost"
    assert result.response.data[0].decode() == image
    assert result.response.data[3].url == "https://host/a.png"
    assert dict(result.unusable_images) == {
        1: "it is 'x', not an image object",
        2: "it has neither a b64_json nor a url string (b64_json: null, url: 5)",
    }
    assert (result.response.created, result.response.usage, result.response.size) == (0, None, None)
    assert (result.response.quality, result.request_id) == ("low", None)


def test_an_error_keeps_its_string_fields_and_says_which_are_not() -> None:
    error = {"code": "moderation_blocked", "message": ["no"], "param": None, "type": "x" * 500}
    line = {"custom_id": "c", "response": {"status_code": 400, "request_id": "q", "body": {"error": error}}}
    result = parse_output_line(json.dumps(line).encode())
    assert result.error == {"code": "moderation_blocked", "message": None, "type": "x" * 197 + "..."}
    assert result.problem == "has an error body whose message is a JSON array of 1, not a string"


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 10_000])
def test_the_splitter_yields_each_line_whole_whatever_the_chunks(chunk_size: int) -> None:
    lines = [b'{"a": 1}', b"x" * 5000, b"", b'{"b": "\\n"}', b"last-without-newline"]
    stream = b"\n".join(lines)
    splitter, seen = LineSplitter(), []
    for start in range(0, len(stream), chunk_size):
        seen += [bytes(line) for line in splitter.feed(stream[start : start + chunk_size])]
    seen += [bytes(line) for line in splitter.finish()]
    assert seen == [line for line in lines if line]


def test_the_splitter_keeps_no_more_than_the_line_it_is_reading() -> None:
    splitter = LineSplitter()
    big = b"y" * 1_000_000
    lines = list(splitter.feed(big + b"\nsmall"))
    assert [len(line) for line in lines] == [1_000_000]
    assert len(splitter._buffer) == len(b"small")  # the megabyte left with its line, not with the splitter


def test_a_line_over_the_cap_is_skipped_as_it_streams_and_stands_for_itself() -> None:
    splitter, cap, chunk = LineSplitter(max_line_bytes=100_000), 100_000, b"z" * 65_536
    seen: list[bytearray] = [*splitter.feed(b'{"a": 1}\n')]
    for _ in range(160):  # a 10 MB line, in 64 KB chunks
        seen += splitter.feed(chunk)
        assert len(splitter._buffer) <= cap + len(chunk), "never more than the cap and a chunk"
    seen += splitter.feed(b"zz\n" + b"x" * 100_000 + b'\n{"b": 2}\n' + b"y" * 100_001)
    seen += splitter.finish()
    assert [bytes(line) for line in seen if not isinstance(line, OversizedLine)] == [b'{"a": 1}', b"x" * 100_000,
                                                                                      b'{"b": 2}']  # fmt: skip
    oversized = [line for line in seen if isinstance(line, OversizedLine)]
    assert [line.size for line in oversized] == [160 * 65_536 + 2, 100_001]
    assert [len(line) for line in oversized] == [0, 0], "stands for the line without holding it"
    assert isinstance(seen[1], OversizedLine), "in the place of the line"


def test_the_default_cap_is_well_above_the_largest_answer() -> None:
    png_rgba_4k = 2160 * (1 + 3840 * 4)  # scanlines, uncompressed: the worst a PNG of the largest size can be
    assert 1.4 * 16 * png_rgba_4k * 4 / 3 < batches.MAX_OUTPUT_LINE_BYTES


def test_custom_ids_name_items_and_metadata_fits_the_api() -> None:
    assert (custom_id(42), item_number("item-00042"), item_number("other-1")) == ("item-00042", 42, None)
    assert item_number("item-123456") == 123456
    for foreign in ("item-²", "item-42", "item-000042", "item--0042", "item-0004\uff12", "item-" + "9" * 5000, "item-"):
        assert item_number(foreign) is None, foreign
    metadata = batch_metadata_for({**TASK, "run_id": "r" * 600}, "f" * 64, 2)
    assert len(metadata) <= 16
    assert all(len(k) <= 64 and len(v) <= 512 for k, v in metadata.items())
    assert (metadata["batch_number"], metadata["airflow_map_index"]) == ("2", "-1")


def test_the_fingerprint_changes_with_the_items_and_only_with_them() -> None:
    items = [{"endpoint": "generations", "values": {"prompt": "a", "model": "m"}, "prefix": "p/item-00000"}]
    same = [{"endpoint": "generations", "values": {"model": "m", "prompt": "a"}, "prefix": "elsewhere"}]
    other = [{"endpoint": "generations", "values": {"prompt": "b", "model": "m"}, "prefix": "p/item-00000"}]
    assert items_fingerprint(items) == items_fingerprint(same)  # type: ignore[arg-type]
    assert items_fingerprint(items) != items_fingerprint(other)  # type: ignore[arg-type]


def test_the_input_file_is_written_line_by_line_and_a_bad_item_is_named() -> None:
    good = [(custom_id(n), GenerateRequest(prompt=f"p{n}", model="gpt-image-2.5-flare")) for n in range(3)]
    written = write_input_file(iter(good))
    try:
        with written.open() as file:
            assert [json.loads(line)["custom_id"] for line in file] == ["item-00000", "item-00001", "item-00002"]
        assert written.lines == 3
    finally:
        written.remove()
    bad = [*good, (custom_id(3), GenerateRequest(prompt="p", model="gpt-image-2.5-flare", quality="ultra"))]
    with pytest.raises(OpenAIImagesValidationError, match=r"prompts\[3\]\.quality"):
        write_input_file(iter(bad))


def test_the_input_file_limits_are_checked_before_anything_is_uploaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow_provider_openai_images.jobs.batch.input_file as input_file

    monkeypatch.setattr(input_file, "MAX_BATCH_REQUESTS", 2)
    requests = [(custom_id(n), GenerateRequest(prompt="p", model="gpt-image-2.5-flare")) for n in range(3)]
    with pytest.raises(OpenAIImagesValidationError, match="at most 50,000 requests"):
        write_input_file(iter(requests))
    monkeypatch.setattr(input_file, "MAX_BATCH_REQUESTS", batches.MAX_BATCH_REQUESTS)
    monkeypatch.setattr(input_file, "MAX_INPUT_FILE_BYTES", 150)
    with pytest.raises(OpenAIImagesValidationError, match="at most 200 MB"):
        write_input_file(iter(requests))


def _answer_line(*images: str, custom_id: str = "item-00000") -> bytearray:
    data = [{"b64_json": image, "revised_prompt": f"r{n}"} for n, image in enumerate(images)]
    body = {"created": 1, "data": data}
    line = {"id": "b", "custom_id": custom_id, "response": {"status_code": 200, "request_id": "q", "body": body}}
    return bytearray(json.dumps(line).encode())


@needs_strict_base64
def test_base64_images_are_decoded_from_the_line_s_buffer_and_cut_out_of_it() -> None:
    first, second = picture(16, 16), picture(24, 24)
    raw = _answer_line(base64.b64encode(first).decode(), base64.b64encode(second).decode())
    result = parse_output_line(raw)
    assert raw == bytearray(), "the buffer is consumed"
    assert result.response is not None
    assert [image.decode() for image in result.response.data] == [first, second]
    assert [image.b64_json for image in result.response.data] == [None, None], "no base64 text kept"
    assert [image.revised_prompt for image in result.response.data] == ["r0", "r1"]
    assert all(image.is_base64 for image in result.response.data)


def test_a_value_that_is_not_plain_base64_is_left_for_its_image_to_decode_or_refuse() -> None:
    from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError

    image = picture(16, 16)
    escaped = base64.b64encode(image).decode().replace("/", "\\/")  # legal JSON, not plain base64 in the buffer
    raw = bytearray(bytes(_answer_line("x")).replace(b'"x"', f'"{escaped}"'.encode()))
    result = parse_output_line(raw)
    assert result.response is not None
    assert result.response.data[0].decode() == image
    broken = parse_output_line(_answer_line("not base64!", base64.b64encode(image).decode()))
    assert broken.response is not None
    assert broken.response.data[1].decode() == image, "the other image of the line is not lost"
    with pytest.raises(OpenAIImagesResponseError, match="not valid base64"):
        broken.response.data[0].decode()


@needs_strict_base64
def test_parsing_a_multi_megabyte_line_holds_it_less_than_twice() -> None:
    import os
    import tracemalloc

    image = os.urandom(3 * 1024 * 1024)
    raw = _answer_line(base64.b64encode(image).decode())
    size = len(raw)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = parse_output_line(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.response is not None
    assert result.response.data[0].decode() == image
    # the line and the decoded image: 1.75x the line; as text, then parsed, it would be 3x
    assert peak < 2 * size, f"peak {peak / size:.2f}x the line"


def test_a_line_whose_base64_stays_in_it_is_held_as_bytes_then_text_then_parsed_never_all_three() -> None:
    import os
    import tracemalloc

    escaped = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode().replace("/", "\\/")  # not cut: an escape
    line = bytes(_answer_line("x")).replace(b'"x"', f'"{escaped}"'.encode())
    tracemalloc.start()
    try:
        raw = bytearray(line)  # traced: letting it go before parsing counts
        tracemalloc.reset_peak()
        result = parse_output_line(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.response is not None
    assert result.response.data[0].b64_json is not None
    # the bytes, then the text (2x), then the text and the parsed value (2x); all three would be 3x
    assert peak < 2.5 * len(line), f"peak {peak / len(line):.2f}x the line"
