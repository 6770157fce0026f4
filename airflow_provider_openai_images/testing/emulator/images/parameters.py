"""A multipart image request's parameters: its form fields typed as the JSON body would type them
(integers, ``stream``, the ``svg`` object from ``svg[model]`` and ``svg[reasoning][effort]`` fields), and
its file parts by parameter (``image``, repeated ``image[]`` parts, ``mask``, ``markup``), each file
standing as ``"<binary>"`` among the parameters, as the OpenAPI document's ``format: binary`` fields do.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_openai_images.testing.emulator.recordings import RecordedRequest, UploadedFile
from airflow_provider_openai_images.testing.emulator.rejections import RequestRejected

_INTEGER_FORM_FIELDS = ("n", "output_compression", "partial_images", "frame_count", "frame_duration_ms")


def multipart_parameters(record: RecordedRequest) -> tuple[dict[str, Any], dict[str, list[UploadedFile]]]:
    """The parameters of a multipart request, and its uploads by parameter (raises :class:`RequestRejected`)."""
    params: dict[str, Any] = {}
    for name, values in record.form.items():
        value: Any = values[-1]
        if name in _INTEGER_FORM_FIELDS:
            try:
                value = int(value)
            except ValueError:
                raise RequestRejected(400, f"Invalid integer for '{name}': {value!r}", param=name) from None
        elif name == "stream":
            value = value == "true"
        if name.startswith("svg["):
            _set_svg_field(params, name, value)
        else:
            params[name] = value
    uploads: dict[str, list[UploadedFile]] = {}
    for upload in record.files:
        uploads.setdefault("image" if upload.field_name == "image[]" else upload.field_name, []).append(upload)
    multi = [upload for upload in record.files if upload.field_name == "image[]"]
    if multi:
        params["image"] = ["<binary>"] * len(multi)
    elif uploads.get("image"):
        params["image"] = "<binary>"
    for name in ("mask", "markup"):
        if uploads.get(name):
            params[name] = "<binary>"
    if len([u for u in record.files if u.field_name == "image"]) > 1:
        raise RequestRejected(400, "Several files in 'image': send them as repeated 'image[]' parts.", param="image")
    return params, uploads


def _set_svg_field(params: dict[str, Any], name: str, value: str) -> None:
    """``svg[model]`` and ``svg[reasoning][effort]`` fields into ``params["svg"]``, as the client sends them."""
    path = name.removeprefix("svg[").removesuffix("]").split("][")
    if path not in (["model"], ["reasoning", "effort"]):
        raise RequestRejected(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    svg = params.setdefault("svg", {})
    if not isinstance(svg, dict):
        raise RequestRejected(400, "Invalid 'svg': send svg[model] and svg[reasoning][effort] fields.", param="svg")
    if path == ["model"]:
        svg["model"] = value
    else:
        svg.setdefault("reasoning", {})["effort"] = value
