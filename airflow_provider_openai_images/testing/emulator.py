"""An offline emulator of the OpenAI Images API: a test double, not a model.

``ImagesAPIEmulator`` is a real HTTP server on loopback that implements ``POST /images/generations``,
``/images/edits``, ``/images/variations`` and ``GET /models`` (OpenAI paths under ``/v1`` and Azure
OpenAI deployment paths), validates every request against the packaged OpenAPI document and the
provider's model rules, and answers with real PNG/JPEG/WEBP images of the requested size, as
``b64_json`` or as URLs served by a second server that expire. It draws pictures from the prompt's
hash; nothing here calls OpenAI.

Faults are scriptable (``emulator.inject(Fault.rate_limit(retry_after=1))``) and every request is
recorded (``emulator.requests``), with how many images were billed, so tests can prove that nothing
was paid for twice. The transport is the standard library's ``http.server`` on purpose: dropped
connections and truncated bodies need byte-level control of the socket that ASGI servers hide.

Run it by hand with ``python -m airflow_provider_openai_images.testing.emulator --port 8089``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import io
import itertools
import json
import secrets
import textwrap
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from airflow_provider_openai_images.core.models import parse_size, validate_parameters
from airflow_provider_openai_images.exceptions import OpenAIImagesValidationError
from airflow_provider_openai_images.testing._scripts import FaultScript

DEFAULT_API_KEY = "sk-emulator-0000000000000000"
_SUPPORTED_UPLOAD_TYPES = ("image/png", "image/jpeg", "image/webp")
_SCHEMAS = {
    "generations": "CreateImageRequest",
    "edits": "CreateImageEditRequest",
    "variations": "CreateImageVariationRequest",
}
_INTEGER_FORM_FIELDS = ("n", "output_compression", "partial_images")
_FORMATS = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}


# -- faults ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour, applied to the next matching request(s).

    :param kind: ``status`` (an error response), ``drop`` (close the socket without answering),
        ``truncate`` (announce a body, send half of it, close), ``non_json`` (200 with HTML) or
        ``delay`` (wait, then answer normally).
    :param endpoint: only requests to this endpoint (``generations``, ``edits``, ``variations``,
        ``models``) match; ``None`` matches all.
    :param times: how many matching requests it applies to.
    """

    kind: Literal["status", "drop", "truncate", "non_json", "delay"]
    status: int = 500
    headers: tuple[tuple[str, str], ...] = ()
    error: dict[str, Any] | None = None
    seconds: float = 0.0
    endpoint: str | None = None
    times: int = 1
    #: send ``Retry-After`` as an HTTP date this many seconds after the moment of the answer
    retry_after_date: float | None = None

    @classmethod
    def rate_limit(
        cls,
        retry_after: float | None = 1,
        *,
        form: Literal["seconds", "http-date", "ms"] = "seconds",
        times: int = 1,
        endpoint: str | None = None,
    ) -> Fault:
        """429 with ``Retry-After`` in seconds, as an HTTP date, or as ``retry-after-ms``."""
        headers: tuple[tuple[str, str], ...] = ()
        if retry_after is not None and form == "seconds":
            headers = (("Retry-After", f"{retry_after:g}"),)
        elif retry_after is not None and form == "ms":
            headers = (("retry-after-ms", f"{retry_after * 1000:g}"),)
        error = {
            "message": "Rate limit reached for images per minute.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
        return cls(
            "status",
            status=429,
            headers=headers,
            error=error,
            times=times,
            endpoint=endpoint,
            retry_after_date=retry_after if form == "http-date" else None,
        )

    @classmethod
    def server_error(cls, status: int = 500, *, times: int = 1, endpoint: str | None = None) -> Fault:
        error = {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        return cls("status", status=status, error=error, times=times, endpoint=endpoint)

    @classmethod
    def content_policy(
        cls,
        flavour: Literal["dall-e", "gpt-image", "azure"] = "gpt-image",
        *,
        times: int = 1,
        endpoint: str | None = None,
    ) -> Fault:
        """The safety system's rejection, as OpenAI's DALL-E, OpenAI's GPT image models or Azure word it."""
        errors: dict[str, dict[str, Any]] = {
            "dall-e": {
                "message": "Your request was rejected as a result of our safety system.",
                "type": "invalid_request_error",
                "param": None,
                "code": "content_policy_violation",
            },
            "gpt-image": {
                "message": "Your request was rejected by the safety system.",
                "type": "image_generation_user_error",
                "param": None,
                "code": "moderation_blocked",
            },
            "azure": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
                "content management policy.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "innererror": {"code": "ResponsibleAIPolicyViolation"},
            },
        }
        return cls("status", status=400, error=errors[flavour], times=times, endpoint=endpoint)

    @classmethod
    def drop_connection(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("drop", times=times, endpoint=endpoint)

    @classmethod
    def truncated_body(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("truncate", times=times, endpoint=endpoint)

    @classmethod
    def non_json_body(cls, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("non_json", times=times, endpoint=endpoint)

    @classmethod
    def slow(cls, seconds: float, *, times: int = 1, endpoint: str | None = None) -> Fault:
        return cls("delay", seconds=seconds, times=times, endpoint=endpoint)


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request, as received."""

    field_name: str
    filename: str | None
    content_type: str | None
    content: bytes = field(repr=False)


@dataclass
class RecordedRequest:
    """One request the emulator received; secrets in headers are replaced by ``<redacted>``."""

    method: str
    path: str
    endpoint: str | None
    query: dict[str, list[str]]
    headers: dict[str, str]
    auth_scheme: Literal["bearer", "api-key"] | None
    json: dict[str, Any] | None = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)
    status: int | None = None
    fault: str | None = None
    billed_images: int = 0


@dataclass(frozen=True)
class DownloadRecord:
    """One request to the image host (where ``url`` responses point)."""

    path: str
    headers: dict[str, str]
    status: int


class _RequestRejected(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}


# -- spec -----------------------------------------------------------------------------------------


@cache
def _spec_validators() -> dict[str, Any]:
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    text = resources.files(__package__).joinpath("openai-images-openapi.yaml").read_text("utf-8")
    spec = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    registry = Registry().with_resource("urn:openai-images", Resource.from_contents(spec, DRAFT202012))
    return {
        endpoint: Draft202012Validator({"$ref": f"urn:openai-images#/components/schemas/{schema}"}, registry=registry)
        for endpoint, schema in _SCHEMAS.items()
    }


def validate_against_spec(endpoint: str, body: dict[str, Any]) -> None:
    """Raise :class:`_RequestRejected` if ``body`` does not match the endpoint's request schema."""
    error = next(iter(_spec_validators()[endpoint].iter_errors(body)), None)
    if error is not None:
        param = str(error.absolute_path[0]) if error.absolute_path else None
        raise _RequestRejected(400, f"Invalid request body: {error.message}", param=param, code="invalid_value")


# -- pictures -------------------------------------------------------------------------------------


def _colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    return digest[0], digest[1], digest[2]


def _encode(image: Any, output_format: str, compression: int | None) -> bytes:
    pil_format, _ = _FORMATS[output_format]
    if pil_format == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    quality = compression if compression is not None else 90
    image.save(buffer, format=pil_format, **({"quality": quality} if pil_format != "PNG" else {}))
    return buffer.getvalue()


def render_image(
    prompt: str,
    index: int,
    size: tuple[int, int],
    *,
    source: Any = None,
    mask: Any = None,
    transparent: bool = False,
) -> Any:
    """Draw a deterministic picture for ``prompt``: new, or ``source`` repainted where ``mask`` is clear."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    width, height = size
    colour = _colour(f"{prompt}#{index}")
    if source is not None:
        base = ImageOps.fit(source.convert("RGBA"), size)
        overlay = Image.new("RGBA", size, (*colour, 255))
        if mask is not None:
            alpha = ImageOps.fit(mask.convert("RGBA"), size).getchannel("A")
            base = Image.composite(base, overlay, alpha.point(lambda value: 255 if value else 0))
        else:
            base = Image.blend(base, overlay, 0.35)
    else:
        base = Image.new("RGBA", size, (*colour, 0 if transparent else 255))
    draw = ImageDraw.Draw(base)
    accent = tuple(255 - channel for channel in colour)
    draw.ellipse(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4), outline=(*accent, 255), width=max(2, width // 64)
    )
    font = ImageFont.load_default(size=max(10, min(width, height) // 16))
    lines = textwrap.wrap(f"#{index} {prompt}", width=24)[:4]
    draw.multiline_text((width // 16, height // 16), "\n".join(lines), fill=(*accent, 255), font=font)
    return base


def _open_upload(upload: UploadedFile, parameter: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    if upload.content_type not in _SUPPORTED_UPLOAD_TYPES:
        raise _RequestRejected(
            400,
            f"Invalid file '{parameter}': unsupported mimetype ('{upload.content_type}'). Supported file "
            "formats are 'image/png', 'image/jpeg', and 'image/webp'.",
            param=parameter,
            code="invalid_image_format",
        )
    if not upload.filename:
        raise _RequestRejected(400, f"Invalid file '{parameter}': a filename is required.", param=parameter)
    try:
        image = Image.open(io.BytesIO(upload.content))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise _RequestRejected(
            400, f"Invalid image file '{parameter}': {error}", param=parameter, code="invalid_image"
        ) from None
    declared = upload.content_type.split("/")[1]
    if (image.format or "").lower() != declared:
        raise _RequestRejected(
            400,
            f"Invalid file '{parameter}': content is {image.format}, declared {declared}.",
            param=parameter,
            code="invalid_image_format",
        )
    return image


# -- the server -----------------------------------------------------------------------------------


class ImagesAPIEmulator:
    """A local, offline stand-in for the OpenAI Images API, for demos and tests.

    :param api_key: the key requests must carry (``Authorization: Bearer`` or Azure's ``api-key``).
    :param url_ttl: seconds a ``url`` answer stays downloadable (OpenAI: 3600).
    :param host: interface to listen on (loopback by default).
    :param port: API port; 0 picks a free one. The image host always takes a free port.
    :param latency: seconds added to every image request, to imitate generation time.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        url_ttl: float = 3600.0,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.url_ttl = url_ttl
        self.latency = latency
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._faults: FaultScript[Fault] = FaultScript()
        self._files: dict[str, tuple[bytes, str, float]] = {}
        self.requests: list[RecordedRequest] = []
        self.downloads: list[DownloadRecord] = []
        self._api_server: ThreadingHTTPServer | None = None
        self._file_server: ThreadingHTTPServer | None = None
        self._ids = itertools.count(1)

    # lifecycle

    def start(self) -> ImagesAPIEmulator:
        api_handler = type("APIHandler", (_APIHandler,), {"emulator": self})
        file_handler = type("FileHandler", (_FileHandler,), {"emulator": self})
        self._api_server = ThreadingHTTPServer((self._host, self._port), api_handler)
        self._file_server = ThreadingHTTPServer((self._host, 0), file_handler)
        for server in (self._api_server, self._file_server):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="images-emulator", daemon=True).start()
        _spec_validators()
        return self

    def stop(self) -> None:
        for server in (self._api_server, self._file_server):
            if server is not None:
                server.shutdown()
                server.server_close()
        self._api_server = self._file_server = None

    def __enter__(self) -> ImagesAPIEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses

    @property
    def root_url(self) -> str:
        assert self._api_server is not None, "start() the emulator first"
        host, port = self._api_server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What an ``openai_images`` connection's host should be (``.../v1``)."""
        return f"{self.root_url}/v1"

    @property
    def image_host_url(self) -> str:
        assert self._file_server is not None, "start() the emulator first"
        host, port = self._file_server.server_address[:2]
        return f"http://{host!s}:{port}"

    def connection(self, **extra: Any) -> dict[str, Any]:
        """An Airflow connection (JSON form) pointing at this emulator; ``extra`` goes into its extra.

        Image URLs are plain http on loopback here, so the connection allows them.
        """
        return {
            "conn_type": "openai_images",
            "host": self.base_url,
            "password": self.api_key,
            "extra": {"allow_http_image_urls": True, **extra},
        }

    def connection_env(self, conn_id: str = "openai_images_default", **extra: Any) -> dict[str, str]:
        """``{"AIRFLOW_CONN_<ID>": json}``, to put into ``os.environ`` for DAG runs and hooks."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.connection(**extra))}

    # scripting and inspection

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each applies to its next ``times`` matching requests, in order."""
        self._faults.add(*faults)

    def reset(self) -> None:
        """Forget faults, recorded requests, downloads and served files."""
        self._faults.clear()
        with self._lock:
            self.requests.clear()
            self.downloads.clear()
            self._files.clear()

    def expire_urls(self) -> None:
        """Make every URL handed out so far expire now."""
        with self._lock:
            self._files = {token: (data, ctype, 0.0) for token, (data, ctype, _) in self._files.items()}

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.endpoint == endpoint]

    @property
    def billed_images(self) -> int:
        """Images generated and delivered in a complete response: what a real account would pay for."""
        return sum(request.billed_images for request in self.requests)

    def _take_fault(self, endpoint: str | None) -> Fault | None:
        return self._faults.take(lambda fault: fault.endpoint in (None, endpoint))

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _store(self, content: bytes, content_type: str, extension: str) -> str:
        token = secrets.token_urlsafe(12)
        expires = time.time() + self.url_ttl
        with self._lock:
            self._files[token] = (content, content_type, expires)
        return f"{self.image_host_url}/files/{token}.{extension}?se={int(expires)}&sig={secrets.token_hex(8)}"

    def _served_file(self, token: str) -> tuple[bytes, str, float] | None:
        with self._lock:
            return self._files.get(token)

    def _request_id(self) -> str:
        return f"req_emulator_{next(self._ids):06d}"

    # the API itself

    def answer(self, record: RecordedRequest) -> dict[str, Any]:
        """Validate a parsed request and produce the ``ImagesResponse`` (raises ``_RequestRejected``)."""
        if record.endpoint == "models":
            from airflow_provider_openai_images.core.models import KNOWN_MODELS

            return {
                "object": "list",
                "data": [{"id": name, "object": "model", "owned_by": "emulator"} for name in KNOWN_MODELS],
            }
        endpoint = record.endpoint
        assert endpoint in _SCHEMAS
        if endpoint == "generations":
            params = record.json if record.json is not None else {}
            uploads: dict[str, list[UploadedFile]] = {}
        else:
            params, uploads = self._multipart_parameters(record)
        validate_against_spec(endpoint, params)
        model = params.get("model") or ("dall-e-2" if endpoint != "edits" else "gpt-image-1.5")
        scalars = {key: value for key, value in params.items() if key not in ("image", "image[]", "mask")}
        try:
            rules = validate_parameters(model, endpoint, scalars)  # type: ignore[arg-type]
        except OpenAIImagesValidationError as error:
            raise _RequestRejected(400, error.message, param=error.parameter, code="invalid_value") from None
        sources = [_open_upload(upload, "image") for upload in uploads.get("image", [])]
        mask = _open_upload(uploads["mask"][0], "mask") if uploads.get("mask") else None
        self._check_uploads(
            rules.name if rules else model, rules is not None and not rules.is_gpt_image, endpoint, sources, mask
        )
        if self.latency:
            time.sleep(self.latency)
        return self._respond(model, rules, params, sources, mask)

    @staticmethod
    def _multipart_parameters(
        record: RecordedRequest,
    ) -> tuple[dict[str, Any], dict[str, list[UploadedFile]]]:
        params: dict[str, Any] = {}
        for name, values in record.form.items():
            value: Any = values[-1]
            if name in _INTEGER_FORM_FIELDS:
                try:
                    value = int(value)
                except ValueError:
                    raise _RequestRejected(400, f"Invalid integer for '{name}': {value!r}", param=name) from None
            elif name == "stream":
                value = value == "true"
            params[name] = value
        uploads: dict[str, list[UploadedFile]] = {}
        for upload in record.files:
            uploads.setdefault("image" if upload.field_name == "image[]" else upload.field_name, []).append(upload)
        multi = [upload for upload in record.files if upload.field_name == "image[]"]
        if multi:
            params["image"] = ["<binary>"] * len(multi)
        elif uploads.get("image"):
            params["image"] = "<binary>"
        if uploads.get("mask"):
            params["mask"] = "<binary>"
        if len([u for u in record.files if u.field_name == "image"]) > 1:
            raise _RequestRejected(
                400, "Several files in 'image': send them as repeated 'image[]' parts.", param="image"
            )
        return params, uploads

    @staticmethod
    def _check_uploads(model: str, dall_e: bool, endpoint: str, sources: list[Any], mask: Any) -> None:
        if dall_e and endpoint in ("edits", "variations"):
            if len(sources) != 1:
                raise _RequestRejected(400, f"{model} takes exactly one image.", param="image")
            if sources[0].format != "PNG" or sources[0].width != sources[0].height:
                raise _RequestRejected(
                    400,
                    "Invalid input image - format must be a square PNG.",
                    param="image",
                    code="invalid_image_format",
                )
        if mask is not None:
            if mask.format != "PNG" or ("A" not in mask.getbands() and mask.mode != "P"):
                raise _RequestRejected(
                    400,
                    "Invalid mask image - format must be a PNG with an alpha channel.",
                    param="mask",
                    code="invalid_image_format",
                )
            if mask.size != sources[0].size:
                raise _RequestRejected(
                    400,
                    f"Invalid mask: size {mask.width}x{mask.height} does not match image "
                    f"{sources[0].width}x{sources[0].height}.",
                    param="mask",
                )

    def _respond(self, model: str, rules: Any, params: dict[str, Any], sources: list[Any], mask: Any) -> dict:
        gpt = rules.is_gpt_image if rules is not None else model.startswith(("gpt-image", "chatgpt-image"))
        size_value = params.get("size") or "auto"
        size = parse_size(size_value) or (
            (sources[0].width, sources[0].height) if sources and not gpt else (1024, 1024)
        )
        output_format = params.get("output_format") or "png"
        response_format = params.get("response_format") or ("b64_json" if gpt else "url")
        transparent = params.get("background") == "transparent"
        prompt = params.get("prompt") or "variation"
        data = []
        for index in range(int(params.get("n") or 1)):
            picture = render_image(
                prompt, index, size, source=sources[0] if sources else None, mask=mask, transparent=transparent
            )
            content = _encode(picture, output_format, params.get("output_compression"))
            item: dict[str, Any] = {}
            if response_format == "url":
                item["url"] = self._store(content, _FORMATS[output_format][1], output_format)
            else:
                item["b64_json"] = base64.b64encode(content).decode("ascii")
            if model.startswith("dall-e-3"):
                item["revised_prompt"] = f"A detailed, vivid rendering of: {prompt}"
            data.append(item)
        answer: dict[str, Any] = {"created": int(time.time()), "data": data}
        if gpt:
            answer.update(
                background="transparent" if transparent else "opaque",
                output_format=output_format,
                size=f"{size[0]}x{size[1]}",
                quality=params.get("quality") if params.get("quality") in ("low", "medium", "high") else "medium",
                usage={
                    "input_tokens": 50,
                    "output_tokens": 272 * len(data),
                    "total_tokens": 50 + 272 * len(data),
                    "input_tokens_details": {
                        "text_tokens": 50 - 40 * bool(sources),
                        "image_tokens": 40 * bool(sources),
                    },
                },
            )
        return answer


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: ClassVar[ImagesAPIEmulator]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


_AZURE_PREFIX = "/openai/deployments/"


class _APIHandler(_QuietHandler):
    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _route(self, path: str) -> tuple[str | None, Literal["bearer", "api-key"]]:
        if path.startswith(_AZURE_PREFIX):
            tail = path[len(_AZURE_PREFIX) :].split("/", 1)
            rest = tail[1] if len(tail) == 2 else ""
            return (rest.removeprefix("images/") if rest.startswith("images/") else None), "api-key"
        if path == "/openai/models":
            return "models", "api-key"
        rest = path.removeprefix("/v1/")
        if rest == "models":
            return "models", "bearer"
        return (rest.removeprefix("images/") if rest.startswith("images/") else None), "bearer"

    def _record(self) -> RecordedRequest:
        split = urlsplit(self.path)
        endpoint, scheme = self._route(split.path)
        if endpoint not in (*_SCHEMAS, "models"):
            endpoint = None
        headers = {key.lower(): value for key, value in self.headers.items()}
        used: Literal["bearer", "api-key"] | None = None
        if scheme == "bearer" and headers.get("authorization") == f"Bearer {self.emulator.api_key}":
            used = "bearer"
        if scheme == "api-key" and headers.get("api-key") == self.emulator.api_key:
            used = "api-key"
        for secret in ("authorization", "api-key"):
            if secret in headers:
                headers[secret] = "<redacted>"
        return RecordedRequest(
            method=self.command,
            path=split.path,
            endpoint=endpoint,
            query=parse_qs(split.query),
            headers=headers,
            auth_scheme=used,
        )

    def _read_body(self, record: RecordedRequest) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        if record.method != "POST":
            return
        if content_type.startswith("application/json"):
            try:
                record.json = json.loads(raw or b"null")
            except ValueError:
                raise _RequestRejected(400, "We could not parse the JSON body of your request.") from None
            if not isinstance(record.json, dict):
                raise _RequestRejected(400, "The request body must be a JSON object.")
        elif content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_param("filename", header="content-disposition")
                decoded = part.get_payload(decode=True)
                payload = decoded if isinstance(decoded, bytes) else b""
                if filename is None:
                    record.form.setdefault(str(name), []).append(payload.decode("utf-8"))
                else:
                    declared = part.get("Content-Type")
                    record.files.append(
                        UploadedFile(
                            str(name), str(filename), str(declared).split(";")[0] if declared else None, bytes(payload)
                        )
                    )
        else:
            raise _RequestRejected(400, f"Unsupported content type {content_type!r} for {record.path}.")

    def _handle(self) -> None:
        record = self._record()
        emulator = self.emulator
        request_id = emulator._request_id()
        try:
            self._read_body(record)
        except _RequestRejected as rejection:
            record.status = rejection.status
            emulator._record(record)
            self._send_json(rejection.status, rejection.body, request_id)
            return
        emulator._record(record)
        if record.endpoint is None or (record.method == "GET") != (record.endpoint == "models"):
            record.status = 404
            self._send_json(
                404,
                {
                    "error": {
                        "message": f"Unknown path {record.method} {record.path}",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
                request_id,
            )
            return
        if record.auth_scheme is None:
            record.status = 401
            self._send_json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
                request_id,
            )
            return
        if record.path.startswith("/openai/") and not record.query.get("api-version"):
            record.status = 404
            self._send_json(404, {"error": {"code": "404", "message": "Resource not found"}}, request_id)
            return
        fault = emulator._take_fault(record.endpoint)
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif self._apply_fault(fault, record, request_id):
                return
        try:
            answer = emulator.answer(record)
        except _RequestRejected as rejection:
            record.status = rejection.status
            self._send_json(rejection.status, rejection.body, request_id)
            return
        record.status = 200
        body = json.dumps(answer).encode()
        if fault is not None and fault.kind == "truncate":
            self._send_truncated(body, request_id)
            return
        record.billed_images = len(answer.get("data", [])) if record.endpoint != "models" else 0
        self._send(200, body, "application/json", {"x-request-id": request_id})

    def _apply_fault(self, fault: Fault, record: RecordedRequest, request_id: str) -> bool:
        """Send the fault's answer; ``False`` when the request should still be processed."""
        if fault.kind == "drop":
            record.status = None
            self.close_connection = True
            self.connection.close()
            return True
        if fault.kind == "non_json":
            record.status = 200
            self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html", {"x-request-id": request_id})
            return True
        if fault.kind == "status":
            record.status = fault.status
            headers = dict(fault.headers)
            if fault.retry_after_date is not None:
                headers["Retry-After"] = formatdate(time.time() + fault.retry_after_date, usegmt=True)
            self._send_json(fault.status, {"error": fault.error or {}}, request_id, headers)
            return True
        return False

    def _send_truncated(self, body: bytes, request_id: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", request_id)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.close()

    def _send_json(
        self, status: int, payload: dict[str, Any], request_id: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send(
            status, json.dumps(payload).encode(), "application/json", {"x-request-id": request_id, **(headers or {})}
        )


class _FileHandler(_QuietHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        headers = {key.lower(): value for key, value in self.headers.items()}
        token = path.removeprefix("/files/").rsplit(".", 1)[0]
        served = self.emulator._served_file(token) if path.startswith("/files/") else None
        if served is None:
            status, body, content_type = 404, b"<Error><Code>BlobNotFound</Code></Error>", "application/xml"
        elif served[2] < time.time():
            status, content_type = 403, "application/xml"
            body = b"<Error><Code>AuthenticationFailed</Code><Message>Signed expiry time has passed.</Message></Error>"
        else:
            status, body, content_type = 200, served[0], served[1]
        with self.emulator._lock:
            self.emulator.downloads.append(DownloadRecord(path=path, headers=headers, status=status))
        self._send(status, body, content_type)


def _main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Offline OpenAI Images API emulator (a test double).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    with ImagesAPIEmulator(host=args.host, port=args.port, api_key=args.api_key, latency=args.latency) as emulator:
        print(f"Images API emulator at {emulator.base_url} (images served from {emulator.image_host_url})")
        print(f"export AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT='{json.dumps(emulator.connection())}'")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    _main()
