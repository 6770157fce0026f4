"""Making inputs acceptable before anything is paid for: squared, resized, re-encoded, masks drawn.

One path for the hook and the operators: :class:`InputPreparation` applied to an edit or variation
request. Pillow is imported inside functions: DAG files import the operators at every parse.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_openai_images.core.requests import EditRequest, ImageFile, ImageRequest, VariationRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.media.imaging import bomb_errors, decode_errors, decode_image
from airflow_provider_openai_images.records import PreparationReport

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.catalogue import ModelCatalogue

SquarePolicy = Literal["crop", "pad"]
SQUARE_POLICIES: tuple[SquarePolicy, ...] = ("crop", "pad")
Box = tuple[int, int, int, int]
#: DALL-E edits and variations: a square PNG under 4 MB. GPT image models: PNG/JPEG/WEBP under 50 MB.
DALL_E_MAX_BYTES = 4 * 1024 * 1024
DALL_E_MAX_SIDE = 1024
_KEEP_AS_IS = {"PNG", "JPEG", "WEBP"}


@dataclass(frozen=True)
class PreparedInputs:
    """Images and mask ready for the endpoint, and what preparation did to them (for the XCom record)."""

    images: tuple[ImageFile, ...]
    mask: ImageFile | None
    report: dict[str, Any]


def _open(upload: ImageFile, parameter: str) -> Any:
    """Decode an input with Pillow's decompression-bomb limit enforced as an error, not a warning."""
    from PIL import Image

    try:
        return decode_image(upload.content)
    except bomb_errors() as error:
        raise OpenAIImagesValidationError(
            parameter, upload.filename, f"at most {Image.MAX_IMAGE_PIXELS} pixels (Pillow's limit): {error}"
        ) from None
    except decode_errors():
        raise OpenAIImagesValidationError(
            parameter, f"{upload.filename} ({len(upload.content)} bytes)", "a decodable PNG, JPEG or WEBP image"
        ) from None


def _upright(image: Any, report: dict[str, Any]) -> Any:
    from PIL import ImageOps

    orientation = image.getexif().get(0x0112, 1)
    if orientation not in (None, 1):
        report["exif_rotated"] = orientation
        return ImageOps.exif_transpose(image)
    return image


def _normalised(image: Any, report: dict[str, Any]) -> Any:
    """RGB or RGBA from palette, greyscale, 16-bit, CMYK... keeping transparency where there is some."""
    mode = image.mode
    if mode in ("RGB", "RGBA"):
        return image
    report["converted_from"] = mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = mode in ("LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info)
    return image.convert("RGBA" if has_alpha else "RGB")


def _encode_png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Geometry:
    """The crop or pad, then resize, that makes an image what the endpoint wants; applied to its mask too."""

    crop: Box | None
    pad_to: int | None
    final: tuple[int, int]

    def apply(self, image: Any, *, mask: bool = False) -> Any:
        from PIL import Image

        if self.crop is not None:
            image = image.crop(self.crop)
        if self.pad_to is not None:
            fill: Any = 255 if mask else ((255, 255, 255, 0) if image.mode == "RGBA" else "white")
            canvas = Image.new(image.mode, (self.pad_to, self.pad_to), fill)
            canvas.paste(image, ((self.pad_to - image.width) // 2, (self.pad_to - image.height) // 2))
            image = canvas
        if image.size != self.final:
            image = image.resize(self.final, Image.Resampling.NEAREST if mask else Image.Resampling.LANCZOS)
        return image


def _square_geometry(size: tuple[int, int], policy: SquarePolicy, target: int | None) -> _Geometry:
    width, height = size
    side = min(width, height) if policy == "crop" else max(width, height)
    crop = None
    if policy == "crop" and width != height:
        left, top = (width - side) // 2, (height - side) // 2
        crop = (left, top, left + side, top + side)
    pad_to = side if policy == "pad" and width != height else None
    final_side = target if target is not None else min(side, DALL_E_MAX_SIDE)
    return _Geometry(crop=crop, pad_to=pad_to, final=(final_side, final_side))


def _describe_geometry(geometry: _Geometry, before: tuple[int, int], report: dict[str, Any]) -> None:
    if geometry.crop is not None:
        report["cropped"] = True
    if geometry.pad_to is not None:
        report["padded"] = True
    if geometry.final != before:
        report["resized_from"] = list(before)


def _mask_alpha(mask: Any, report: dict[str, Any]) -> Any:
    """An 'L' image, 0 where the edit goes: from real transparency, else from white-on-black paint."""
    if mask.mode in ("RGBA", "LA", "PA") or (mask.mode == "P" and "transparency" in mask.info):
        alpha = mask.convert("RGBA").getchannel("A")
        if alpha.getextrema()[0] < 255:
            report["mask_from"] = "alpha"
            return alpha.point(lambda value: 255 if value >= 128 else 0)
    report["mask_from"] = "greyscale (white = edit)"
    grey = _normalised(mask, {}).convert("L")
    return grey.point(lambda value: 0 if value >= 128 else 255)


def _boxes_alpha(size: tuple[int, int], boxes: Sequence[Box]) -> Any:
    from PIL import Image, ImageDraw

    alpha = Image.new("L", size, 255)
    draw = ImageDraw.Draw(alpha)
    for box in boxes:
        left, top, right, bottom = box
        if not (0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]):
            raise OpenAIImagesValidationError(
                "mask_box", list(box), f"(left, top, right, bottom) inside the {size[0]}x{size[1]} image"
            )
        draw.rectangle((left, top, right - 1, bottom - 1), fill=0)
    return alpha


def normalise_boxes(mask_box: Any) -> list[Box] | None:
    """``(l, t, r, b)`` or a list of them -> a list of integer boxes (``None`` for no boxes)."""
    if mask_box is None or mask_box == []:
        return None
    boxes = [mask_box] if len(mask_box) == 4 and all(isinstance(v, (int, float)) for v in mask_box) else mask_box
    try:
        return [tuple(int(v) for v in box) for box in boxes if len(box) == 4] or None  # type: ignore[misc]
    except TypeError:
        raise OpenAIImagesValidationError(
            "mask_box", mask_box, "(left, top, right, bottom) or a list of them"
        ) from None


def prepare_inputs(
    images: Sequence[ImageFile],
    mask: ImageFile | None = None,
    *,
    model: str,
    size: str | None = None,
    square_policy: SquarePolicy = "crop",
    mask_boxes: Sequence[Box] | None = None,
    catalogue: ModelCatalogue | None = None,
) -> PreparedInputs:
    """Make ``images`` and ``mask`` acceptable to ``model`` on ``endpoint``, before anything is paid for.

    DALL-E (edits, variations): upright (EXIF), squared by ``square_policy`` (``"crop"`` keeps the
    centre, ``"pad"`` adds white, or transparent for images with alpha), resized to ``size`` (or to at
    most 1024 px), PNG under 4 MB. GPT image models: PNG, JPEG and WEBP pass untouched unless they need
    turning upright or are too large; other formats are re-encoded as PNG. Masks are turned into the
    RGBA PNG the API wants (transparent = edit) from an alpha mask, a black-and-white or greyscale
    painting (white = edit) or ``mask_boxes``, and get exactly the first image's final geometry.
    """
    from PIL import Image

    from airflow_provider_openai_images.core.catalogue import packaged_catalogue
    from airflow_provider_openai_images.core.models import parse_size

    if square_policy not in SQUARE_POLICIES:
        raise OpenAIImagesValidationError("square_policy", square_policy, "'crop' or 'pad'")
    if mask is not None and mask_boxes:
        raise OpenAIImagesValidationError("mask_box", mask_boxes, "no mask_box when a mask image is given")
    rules = (catalogue or packaged_catalogue()).rules_for(model)
    dall_e = rules is not None and not rules.is_gpt_image
    requested = parse_size(size or "")
    target = requested[0] if dall_e and requested and requested[0] == requested[1] else None

    prepared: list[ImageFile] = []
    reports: list[dict[str, Any]] = []
    first_geometry: _Geometry | None = None
    first_upright_size: tuple[int, int] | None = None
    for position, upload in enumerate(images):
        report: dict[str, Any] = {}
        decoded = _open(upload, "image")
        image = _upright(decoded, report)
        upright_size = image.size
        if dall_e:
            geometry = _square_geometry(image.size, square_policy, target)
            _describe_geometry(geometry, image.size, report)
            image = geometry.apply(_normalised(image, report))
            content = _encode_png(image)
            while len(content) >= DALL_E_MAX_BYTES and image.width > 256:
                if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
                    image = image.convert("RGB")
                else:
                    image = image.resize((image.width * 3 // 4,) * 2, Image.Resampling.LANCZOS)
                    geometry = _Geometry(geometry.crop, geometry.pad_to, image.size)
                report["reduced_for_4mb_limit"] = True
                content = _encode_png(image)
            prepared.append(ImageFile(content, f"{_stem(upload.filename)}.png", "image/png"))
        else:
            geometry = _Geometry(None, None, image.size)
            limit = rules.max_input_image_bytes if rules else 50 * 1024 * 1024
            upright = "exif_rotated" not in report
            if upright and decoded.format in _KEEP_AS_IS and len(upload.content) < limit:
                prepared.append(upload)
            else:
                report["reencoded_from"] = decoded.format
                image = _normalised(image, report)
                content = _encode_png(image)
                prepared.append(ImageFile(content, f"{_stem(upload.filename)}.png", "image/png"))
        if position == 0:
            first_geometry, first_upright_size = geometry, upright_size
        reports.append(report)

    report_all: dict[str, Any] = {"image": reports[0]} if len(reports) == 1 else {"images": reports}
    prepared_mask = None
    if (mask is not None or mask_boxes) and first_geometry is not None and first_upright_size is not None:
        mask_report: dict[str, Any] = {}
        if mask is not None:
            mask_image = _upright(_open(mask, "mask"), mask_report)
            alpha = _mask_alpha(mask_image, mask_report)
            if alpha.size != first_upright_size:
                mask_report["resized_from"] = list(alpha.size)
                alpha = alpha.resize(first_upright_size, Image.Resampling.NEAREST)
        else:
            mask_report["mask_from"] = "boxes"
            alpha = _boxes_alpha(first_upright_size, mask_boxes or [])
        alpha = first_geometry.apply(alpha, mask=True)
        if alpha.getextrema()[0] != 0:
            raise OpenAIImagesValidationError(
                "mask", mask.filename if mask else mask_boxes, "a mask marking at least one pixel to edit"
            )
        prepared_mask = _mask_png(alpha)
        report_all["mask"] = mask_report
    return PreparedInputs(tuple(prepared), prepared_mask, report_all)


def _mask_png(alpha: Any) -> ImageFile:
    from PIL import Image

    rgba = Image.new("RGBA", alpha.size, (0, 0, 0, 255))
    rgba.putalpha(alpha)
    return ImageFile(_encode_png(rgba), "mask.png", "image/png")


def _stem(filename: str) -> str:
    return filename.rsplit(".", 1)[0] or "image"


def check_inputs(
    images: Sequence[ImageFile], mask: ImageFile | None, *, model: str, catalogue: ModelCatalogue | None = None
) -> None:
    """With preparation turned off: refuse, before the call, inputs the endpoint would reject."""
    from airflow_provider_openai_images.core.catalogue import packaged_catalogue

    rules = (catalogue or packaged_catalogue()).rules_for(model)
    decoded = [_open(upload, "image") for upload in images]
    if rules is not None and not rules.is_gpt_image:
        for image in decoded:
            if image.format != "PNG" or image.width != image.height:
                raise OpenAIImagesValidationError(
                    "image",
                    f"{image.format} {image.width}x{image.height}",
                    "a square PNG (or prepare=True)",
                    model=model,
                )
    if mask is not None and decoded:
        mask_image = _open(mask, "mask")
        if mask_image.size != decoded[0].size:
            raise OpenAIImagesValidationError(
                "mask",
                f"{mask_image.width}x{mask_image.height}",
                f"the size of the first image, {decoded[0].width}x{decoded[0].height} (or prepare=True)",
            )
        if "A" not in mask_image.getbands() and not (mask_image.mode == "P" and "transparency" in mask_image.info):
            raise OpenAIImagesValidationError("mask", mask.filename, "an RGBA PNG (or prepare=True)")


@dataclass(frozen=True)
class InputPreparation:
    """How edit and variation inputs are made acceptable: the ``prepare``, ``square_policy`` and
    ``mask_box`` arguments of the hook and the operators, applied the same way by both.

    :param enabled: prepare (default), or send the files as they are after a check that refuses what
        the endpoint would reject.
    :param square_policy: DALL-E inputs: ``"crop"`` keeps the centre, ``"pad"`` pads.
    :param mask_box: ``(left, top, right, bottom)`` or a list of them, in the first image's pixels:
        the mask is drawn from them instead of given.
    :param catalogue: where the model's family is read (default: the packaged catalogue).
    """

    enabled: bool = True
    square_policy: SquarePolicy = "crop"
    mask_box: Box | Sequence[Box] | None = None
    catalogue: ModelCatalogue | None = None

    def apply(self, request: ImageRequest) -> tuple[ImageRequest, PreparationReport]:
        """The edit or variation ``request`` with prepared inputs, and what preparation did.

        Requests without inputs pass through with an empty report.
        """
        if isinstance(request, EditRequest):
            images, mask = request.images, request.mask
        elif isinstance(request, VariationRequest) and request.image is not None:
            images, mask = (request.image,), None
        else:
            return request, {}
        boxes = normalise_boxes(self.mask_box)
        if not self.enabled:
            if boxes:
                raise OpenAIImagesValidationError("mask_box", boxes, "no mask_box when prepare=False")
            check_inputs(images, mask, model=request.model, catalogue=self.catalogue)
            return request, {}
        prepared = prepare_inputs(
            images,
            mask,
            model=request.model,
            size=request.size,
            square_policy=self.square_policy,
            mask_boxes=boxes,
            catalogue=self.catalogue,
        )
        if isinstance(request, EditRequest):
            return dataclasses.replace(request, images=prepared.images, mask=prepared.mask), prepared.report
        return dataclasses.replace(request, image=prepared.images[0]), prepared.report
