"""The Batch API's line contracts: input lines as the spec's bodies, output lines parsed in place, and a
line splitter that hands over each line without holding the stream."""

from __future__ import annotations

import base64
import json

import pytest

from airflow_provider_openai_images.batch.input_file import write_input_file
from airflow_provider_openai_images.batch.record import batch_metadata_for, custom_id, item_number, items_fingerprint
from airflow_provider_openai_images.core import batches
from airflow_provider_openai_images.core.batches import LineSplitter, input_line, parse_output_line
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageFile, VariationRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from tests.imagefactory import picture

TASK = {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1}


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


def test_a_line_that_is_not_the_spec_s_is_an_error_not_a_crash() -> None:
    from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError

    with pytest.raises(OpenAIImagesResponseError, match="not JSON"):
        parse_output_line(b'{"custom_id": "item-1", "resp')
    with pytest.raises(OpenAIImagesResponseError, match="no custom_id"):
        parse_output_line(b'{"response": null}')


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


def test_custom_ids_name_items_and_metadata_fits_the_api() -> None:
    assert (custom_id(42), item_number("item-00042"), item_number("other-1")) == ("item-00042", 42, None)
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
    import airflow_provider_openai_images.batch.input_file as input_file

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
