"""Calls to the emulator in-process, and checks of its answers, shared by the emulator's unit tests."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
from PIL import Image

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.emulator.specs import spec_validator

#: the models OpenAI serves on 2026-12-05, as openai 3.63.0 names them (``image_model.py``)
SERVED = (
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.6-flare",
    "gpt-image-2.6-sunburst",
)
#: the models OpenAI has shut down by 2026-12-05, and when (its deprecations page)
RETIRED = {
    "dall-e-2": "2026-05-12",
    "dall-e-3": "2026-05-12",
    "gpt-image-1": "2026-10-23",
    "gpt-image-1-mini": "2026-12-01",
    "gpt-image-1.5": "2026-12-01",
    "chatgpt-image-latest": "2026-12-01",
}
FLEXIBLE = SERVED  # every served model takes WIDTHxHEIGHT sizes (the 2.6 family by the emulator's assumption)
EXTENDED_QUALITY = tuple(name for name in SERVED if name.startswith(("gpt-image-2.5", "gpt-image-2.6")))


def client(emulator: ImagesAPIEmulator, **headers: str) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(),
        base_url=emulator.base_url,
        headers={"Authorization": f"Bearer {emulator.api_key}", **headers},
        timeout=30.0,
    )


def generate(emulator: ImagesAPIEmulator, **body: Any) -> httpx.Response:
    """``POST /images/generations`` with ``body`` (a prompt added unless given)."""
    with client(emulator) as http:
        return http.post("/images/generations", json={"prompt": "an otter", **body})


def edit(emulator: ImagesAPIEmulator, files: list[tuple[str, tuple[str, bytes, str]]], **fields: Any) -> httpx.Response:
    """A multipart ``POST /images/edits``: ``files`` as httpx takes them, ``fields`` as form fields."""
    data = {name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in fields.items()}
    with client(emulator) as http:
        return http.post("/images/edits", data={"prompt": "add a ribbon", **data}, files=files)


def png(width: int, height: int, *, alpha: int | None = None) -> bytes:
    """A PNG of ``width`` x ``height``: RGB, or RGBA of that alpha everywhere but a fully transparent
    square in its top-left quarter when ``alpha`` is given."""
    if alpha is None:
        image = Image.new("RGB", (width, height), (30, 120, 200))
    else:
        image = Image.new("RGBA", (width, height), (200, 30, 30, alpha))
        image.paste((0, 0, 0, 0), (0, 0, max(1, width // 4), max(1, height // 4)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_part(content: bytes, name: str = "image", filename: str = "in.png") -> tuple[str, tuple[str, bytes, str]]:
    return (name, (filename, content, "image/png"))


def refused(answer: httpx.Response, status: int, param: str | None, *fragments: str) -> dict[str, Any]:
    """The error of an answer refused with ``status`` on ``param``, whose message holds every fragment,
    in OpenAI's shape."""
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    for fragment in fragments:
        assert fragment in error["message"], error["message"]
    return error


def not_found(model: str) -> dict[str, Any]:
    """OpenAI's answer for a model it does not serve."""
    return {
        "error": {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }


def valid(schema: str, payload: Any) -> Any:
    """``payload``, once checked against ``schema`` of the packaged Images document."""
    assert [error.message for error in spec_validator(schema).iter_errors(payload)] == []
    return payload


def ok(answer: httpx.Response) -> dict[str, Any]:
    """A 200 answer's body, checked against ``ImagesResponse``."""
    assert answer.status_code == 200, answer.text
    return dict(valid("ImagesResponse", answer.json()))


def first_file(body: dict[str, Any]) -> bytes:
    return base64.b64decode(body["data"][0]["b64_json"], validate=True)
