"""One line of a batch's output or error file, parsed without trusting it: whatever the line holds,
:func:`parse_output_line` says what it is (:data:`LineKind`) and how it departs from the spec, and
never raises; the landing (:mod:`.output`) decides what that means for the line's item.

Pure (no Airflow, no HTTP). The line's base64 images are decoded straight from its buffer and cut out
of it before the rest is parsed (:func:`take_base64_images`), so a multi-MB line is never held twice
over as text. Fields of other types than the spec's are left out rather than trusted (they would fail
later, far from the line): a ``usage`` of other types leaves the cost to the published prices, a long
error message or revised prompt is cut.
"""

from __future__ import annotations

import binascii
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_openai_images.core.batches import BatchLineError
from airflow_provider_openai_images.core.responses import GeneratedImage, ImagesResponse, ImagesUsage

#: the longest revised prompt kept from an answer (the API's longest prompt)
MAX_REVISED_PROMPT = 32_000


#: What one output or error line is:
#:
#: - ``answered``: a 2xx with a ``data`` list (its images that cannot be landed are in ``unusable_images``);
#: - ``refused``: a 4xx or 5xx, with its error;
#: - ``not_run``: no response: the batch never ran the request (it expired or was cancelled first);
#: - ``unusable``: it names its request, but its response is none of those (not an object, no HTTP
#:   status, a 2xx without a ``data`` list): the request may have run, and its images been billed;
#: - ``unreadable``: it names no request (not JSON, not an object, no string ``custom_id``).
LineKind = Literal["answered", "refused", "not_run", "unusable", "unreadable"]


@dataclass(frozen=True)
class LineResult:
    """What one output or error line says about its request.

    :param custom_id: the request it names (``None`` for an ``unreadable`` line).
    :param response: the answer of an ``answered`` line: one image per place in its ``data``, those in
        ``unusable_images`` as empty placeholders (every image counts in the answer's cost).
    :param status_code: the request's HTTP status (``None`` when it never ran, or gave none).
    :param error: the API's error for a refused request, or the batch's for one never run, with only
        the fields of the spec's shape that are strings.
    :param problem: how the line departs from the spec (``None``: it does not).
    :param unusable_images: place in ``data`` -> why that image cannot be landed.
    """

    kind: LineKind
    custom_id: str | None
    response: ImagesResponse | None = None
    status_code: int | None = None
    request_id: str | None = None
    error: BatchLineError | None = None
    problem: str | None = None
    unusable_images: Mapping[int, str] = field(default_factory=dict)


def parse_output_line(raw: bytes | bytearray) -> LineResult:
    """Parse one line of an output or error file; a line that is not the spec's says so in its result
    (:attr:`LineResult.problem`), it is never raised.

    A ``bytearray`` is consumed: each image's base64 text is decoded straight from the line's buffer and
    cut out of it before the rest is parsed, and the buffer is emptied once decoded to text, so a
    multi-MB line is never held twice over as text (see :func:`take_base64_images`).
    """
    size = len(raw)
    decoded = take_base64_images(raw) if isinstance(raw, bytearray) else []
    line, not_json = _json(raw)
    if not_json is not None:
        return LineResult("unreadable", None, problem=f"is not JSON ({size} bytes): {_cut(not_json, 200)}")
    if not isinstance(line, dict):
        return LineResult("unreadable", None, problem=f"is not a JSON object but {_shape(line)}")
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str):
        return LineResult("unreadable", None, problem=f"has no string custom_id (its custom_id: {_shape(custom_id)})")
    response = line.get("response")
    if response is None:
        error, problem = _line_error(line.get("error"), "an error")
        return LineResult("not_run", custom_id, error=error, problem=problem)
    if not isinstance(response, dict):
        return LineResult("unusable", custom_id, problem=f"has a response that is {_shape(response)}")
    status, body = response.get("status_code"), response.get("body")
    request_id = _cut(response["request_id"], 200) if isinstance(response.get("request_id"), str) else None
    if not isinstance(status, int) or isinstance(status, bool) or not (200 <= status < 300 or 400 <= status < 600):
        problem = f"has a response whose status_code is {_shape(status)}, neither an answer's nor an error's"
        return LineResult("unusable", custom_id, request_id=request_id, problem=problem)
    if status < 300:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            shown = _shape(body.get("data")) if isinstance(body, dict) else _shape(body)
            problem = f"answers {status} without a 'data' list of images (its data: {shown})"
            return LineResult("unusable", custom_id, status_code=status, request_id=request_id, problem=problem)
        answer, unusable = _answer(body, decoded, request_id)
        return LineResult("answered", custom_id, answer, status, request_id, unusable_images=unusable)
    error, problem = _line_error(body.get("error") if isinstance(body, dict) else body, "an error body")
    return LineResult("refused", custom_id, None, status, request_id, error, problem)


def _json(raw: bytes | bytearray) -> tuple[Any, str | None]:
    """The line parsed, or why it is not JSON. A ``bytearray`` is emptied once decoded to text, before the
    text is parsed: the line is held as bytes, then as text, then parsed, never as all three."""
    try:
        text = raw.decode()
    except UnicodeDecodeError as error:
        return None, str(error)
    finally:
        if isinstance(raw, bytearray):
            raw.clear()
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as error:  # RecursionError: arrays nested thousands deep
        return None, str(error)


def _line_error(value: Any, what: str) -> tuple[BatchLineError, str | None]:
    """The spec's error fields of ``value`` that are strings; and what departs from the spec's shape."""
    if not isinstance(value, dict):
        return {"code": None, "message": None}, f"has {what} that is {_shape(value)}, not an object"
    error: BatchLineError = {"code": None, "message": None}
    odd = []
    for name in ("code", "message", "param", "type"):
        field_value = value.get(name)
        if isinstance(field_value, str):
            error[name] = _cut(field_value, 2000 if name == "message" else 200)
        elif field_value is not None:
            odd.append(f"{name} is {_shape(field_value)}")
    inner = value.get("innererror")
    if isinstance(inner, dict) and isinstance(inner.get("code"), str):
        error["innererror"] = {"code": _cut(inner["code"], 200)}
    return error, f"has {what} whose {', '.join(odd)}, not a string" if odd else None


def _answer(
    body: dict[str, Any], decoded: list[bytes], request_id: str | None
) -> tuple[ImagesResponse, dict[int, str]]:
    """The answer of a 2xx body whose ``data`` is a list, one image per place (a placeholder where it
    cannot be landed, and why in the second value); fields of other types than the spec's left out (an
    unreadable ``usage`` leaves the cost to the published prices)."""
    data: list[Any] = body["data"]
    cut = _cut_images(data, decoded)
    images: list[GeneratedImage] = []
    unusable: dict[int, str] = {}
    for place, item in enumerate(data):
        if cut is None and isinstance(item, dict) and item.get("b64_json") == "":
            image: GeneratedImage | str = "its base64 could not be told apart from the line's other base64 values"
        else:
            image = _image(item, (cut or {}).get(place))
        if isinstance(image, str):
            unusable[place], image = image, GeneratedImage()
        images.append(image)
    created = body.get("created")

    def text(name: str) -> str | None:
        value = body.get(name)
        return _cut(value, 200) if isinstance(value, str) else None

    answer = ImagesResponse(
        created=created if isinstance(created, int) and not isinstance(created, bool) else 0,
        data=images,
        request_id=request_id,
        usage=_usage(body.get("usage")),
        background=text("background"),
        output_format=text("output_format"),
        size=text("size"),
        quality=text("quality"),
        safety_identifier=text("safety_identifier"),
        svg_usage=body["svg_usage"] if isinstance(body.get("svg_usage"), dict) else None,
    )
    return answer, unusable


def _image(item: Any, content: bytes | None) -> GeneratedImage | str:
    """One image of ``data`` (``content``: its bytes, when decoded from the line already), or why it cannot be one."""
    if not isinstance(item, dict):
        return f"it is {_shape(item)}, not an image object"
    revised = item.get("revised_prompt")
    revised = _cut(revised, MAX_REVISED_PROMPT) if isinstance(revised, str) else None
    if content is not None:
        return GeneratedImage(content=content, revised_prompt=revised)
    b64_json, url = item.get("b64_json"), item.get("url")
    if isinstance(b64_json, str) and b64_json:
        return GeneratedImage(b64_json=b64_json, revised_prompt=revised)
    if isinstance(url, str) and url:
        return GeneratedImage(url=url, revised_prompt=revised)
    return f"it has neither a b64_json nor a url string (b64_json: {_shape(b64_json)}, url: {_shape(url)})"


def _usage(value: Any) -> ImagesUsage | None:
    """``usage`` when its token counts are counts (its details: the entries that are); else ``None``."""
    if not isinstance(value, dict):
        return None
    counts = {name: value.get(name, 0) for name in ("input_tokens", "output_tokens", "total_tokens")}
    if not all(_is_count(count) for count in counts.values()):
        return None
    details = {name: value.get(name) for name in ("input_tokens_details", "output_tokens_details")}
    kept = {name: {k: v for k, v in d.items() if _is_count(v)} if isinstance(d, dict) else {}
            for name, d in details.items()}  # fmt: skip
    return ImagesUsage.from_json({**counts, **kept})


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12


def _shape(value: Any) -> str:
    """A short description of a JSON value, to say what a line holds instead of what it should."""
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return repr(value)[:40]
    if isinstance(value, str):
        return repr(_cut(value, 40))
    return f"a JSON {'array' if isinstance(value, list) else 'object'} of {len(value)}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


#: where a base64 image starts in a line: the value of a ``b64_json`` key
_B64_VALUE = re.compile(rb'"b64_json"\s*:\s*"')


def take_base64_images(raw: bytearray) -> list[bytes]:
    """Decode every ``b64_json`` value of the line in ``raw`` straight from its buffer (no text copy),
    and cut each decoded value out of the line, leaving ``"b64_json": ""``; the images, in order.

    A value that is not plain base64 (an escape, a bad character) is left in the line, to be decoded,
    or refused, with its image later. Needs Python 3.11 (``a2b_base64``'s strict mode); older Pythons
    leave every value in the line.
    """
    if sys.version_info < (3, 11):
        return []
    spans = []
    position = 0
    while (found := _B64_VALUE.search(raw, position)) is not None:
        start = found.end()
        end = raw.find(b'"', start)
        if end < 0:
            break
        spans.append((start, end))
        position = end + 1
    images: list[bytes] = []
    for start, end in reversed(spans):  # from the end, so that cutting leaves the other spans in place
        if start == end or raw.find(b"\\", start, end) >= 0:
            images.append(b"")
            continue
        with memoryview(raw) as view:
            try:
                images.append(binascii.a2b_base64(view[start:end], strict_mode=True))
            except binascii.Error:
                images.append(b"")
                continue
        del raw[start:end]
    return images[::-1]


def _cut_images(data: list[Any], decoded: list[bytes]) -> dict[int, bytes] | None:
    """Image number -> bytes, for the images of ``data`` whose base64 was cut out of the line.

    The values were taken in the order of the line's text, which is the order of ``data`` only when
    each of them is the string ``b64_json`` of one image: in any other line (a ``b64_json`` elsewhere,
    a key given twice) none is given to any image, rather than one to the wrong image (``None``).
    """
    if not decoded:
        return {}
    places = [n for n, item in enumerate(data) if isinstance(item, dict) and isinstance(item.get("b64_json"), str)]
    if len(places) != len(decoded):
        return None
    return {n: content for n, content in zip(places, decoded, strict=True) if content and data[n]["b64_json"] == ""}
