"""SVG answers: checked as well-formed SVG by a parser that refuses entities and external references,
and measured from their ``width``/``height`` or ``viewBox``. Never rasterised, never rendered here.

An SVG is a document that browsers run script in when it is opened on its own: what serves one must
sandbox it (the gallery sends ``Content-Security-Policy: sandbox``); this module only says what it is.
"""

from __future__ import annotations

import re

from airflow_provider_openai_images.exceptions import OpenAIImagesResponseError

SVG_CONTENT_TYPE = "image/svg+xml"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$")
_XML_START = re.compile(rb"^(\xef\xbb\xbf)?\s*<")


def looks_like_xml(content: bytes) -> bool:
    """Whether ``content`` starts as an XML document (an SVG candidate) rather than a raster image."""
    return bool(_XML_START.match(content[:64]))


def svg_size(content: bytes, *, what: str = "image") -> tuple[int, int]:
    """The ``(width, height)`` of a well-formed SVG document, in pixels (``(0, 0)`` when it states none).

    :raises OpenAIImagesResponseError: for bytes that are not well-formed XML with an SVG root, or that declare
        entities or reference external ones (never resolved).
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(content, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise OpenAIImagesResponseError(
            f"The {what} is not a well-formed SVG document ({len(content)} bytes): {type(error).__name__}: {error}"
        ) from None
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise OpenAIImagesResponseError(f"The {what} is XML but not SVG: its root is {root.tag!r}")
    width, height = _length(root.get("width")), _length(root.get("height"))
    if width and height:
        return width, height
    view_box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        return round(float(view_box[2])), round(float(view_box[3]))
    except (IndexError, ValueError):
        return 0, 0


def _length(value: str | None) -> int | None:
    """A length in pixels (``"1024"``, ``"1024px"``); ``None`` for none, or for units and percentages."""
    match = _LENGTH.match(value or "")
    return round(float(match[1])) if match else None
