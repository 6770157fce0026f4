"""Typed views of the ``ImagesResponse`` schema."""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.attempts import Attempt


@dataclass(frozen=True)
class GeneratedImage:
    """One ``Image`` of ``ImagesResponse.data``: exactly one of ``b64_json`` and ``url`` is usually set.

    :param content: the bytes of a base64 answer decoded already, where ``b64_json`` is then ``None``
        (batch output lines are decoded in place, never held as text).
    """

    b64_json: str | None = field(default=None, repr=False)
    url: str | None = None
    revised_prompt: str | None = None
    content: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        if self.content is not None:
            shown = f"content=<{len(self.content)} bytes>"
        else:
            shown = f"b64_json=<{len(self.b64_json)} chars>" if self.b64_json else f"url={self.url!r}"
        return f"GeneratedImage({shown}, revised_prompt={self.revised_prompt!r})"

    @property
    def is_base64(self) -> bool:
        """Whether the image came as base64 (decoded already or not), not as a URL."""
        return self.content is not None or bool(self.b64_json)

    def decode(self) -> bytes:
        """The image bytes of a base64 answer."""
        if self.content is not None:
            return self.content
        if self.b64_json is None:
            raise OpenAIImagesResponseError("This image was returned as a URL, not as b64_json")
        try:
            if sys.version_info >= (3, 11):
                # Reads the text in place; base64.b64decode would first copy it to bytes (a multi-MB copy).
                return binascii.a2b_base64(self.b64_json, strict_mode=True)
            return base64.b64decode(self.b64_json, validate=True)
        except (binascii.Error, ValueError) as error:
            raise OpenAIImagesResponseError(f"b64_json is not valid base64: {error}") from None


@dataclass(frozen=True)
class ImagesUsage:
    """Token usage reported for GPT image models (``ImageGenUsage``)."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, int] = field(default_factory=dict)
    output_tokens_details: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> ImagesUsage:
        return cls(
            input_tokens=int(payload.get("input_tokens", 0)),
            output_tokens=int(payload.get("output_tokens", 0)),
            total_tokens=int(payload.get("total_tokens", 0)),
            input_tokens_details=dict(payload.get("input_tokens_details") or {}),
            output_tokens_details=dict(payload.get("output_tokens_details") or {}),
        )


@dataclass(frozen=True)
class ImagesResponse:
    """The answer of any of the three image endpoints.

    :param request_id: the ``x-request-id`` header, for provenance and OpenAI support.
    :param attempts: every HTTP attempt behind this answer, the answered one last (set by the client).
    """

    created: int
    data: list[GeneratedImage]
    request_id: str | None = None
    usage: ImagesUsage | None = None
    background: str | None = None
    output_format: str | None = None
    size: str | None = None
    quality: str | None = None
    safety_identifier: str | None = None
    svg_usage: Mapping[str, Any] | None = None
    attempts: tuple[Attempt, ...] = ()

    @classmethod
    def from_json(
        cls, payload: Any, *, request_id: str | None = None, decoded: Mapping[int, bytes] | None = None
    ) -> ImagesResponse:
        """Parse a decoded JSON body, rejecting shapes the spec does not allow.

        :param decoded: image number -> its bytes, for images whose ``b64_json`` was decoded already.
        """
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise OpenAIImagesResponseError("Response is not an ImagesResponse (no 'data' list)", request_id=request_id)
        images = []
        for number, item in enumerate(payload["data"]):
            if decoded and number in decoded and isinstance(item, dict):
                images.append(GeneratedImage(content=decoded[number], revised_prompt=item.get("revised_prompt")))
                continue
            if not isinstance(item, dict) or not (item.get("b64_json") or item.get("url")):
                raise OpenAIImagesResponseError(
                    "Response image has neither 'b64_json' nor 'url'", request_id=request_id
                )
            images.append(
                GeneratedImage(
                    b64_json=item.get("b64_json"),
                    url=item.get("url"),
                    revised_prompt=item.get("revised_prompt"),
                )
            )
        usage = payload.get("usage")
        return cls(
            created=int(payload.get("created") or 0),
            data=images,
            request_id=request_id,
            usage=ImagesUsage.from_json(usage) if isinstance(usage, dict) else None,
            background=payload.get("background"),
            output_format=payload.get("output_format"),
            size=payload.get("size"),
            quality=payload.get("quality"),
            safety_identifier=payload.get("safety_identifier"),
            svg_usage=payload["svg_usage"] if isinstance(payload.get("svg_usage"), dict) else None,
        )
