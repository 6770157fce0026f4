"""The httpx client against the emulator in-process (its transport, no socket): every endpoint,
multipart shape, retries, timeouts, Azure, and the API key kept out of logs and errors. The same
behaviours over real sockets are in ``tests/integration/test_client_over_http.py``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import resources

import pytest

from airflow_provider_openai_images.core.attempts import possibly_billed_images
from airflow_provider_openai_images.core.client import ImagesClient
from airflow_provider_openai_images.core.downloads import image_bytes
from airflow_provider_openai_images.core.requests import (
    EditRequest,
    GenerateRequest,
    ImageFile,
    VariationRequest,
)
from airflow_provider_openai_images.exceptions import (
    OpenAIImagesAuthenticationError,
    OpenAIImagesConnectionError,
    OpenAIImagesContentPolicyError,
    OpenAIImagesError,
    OpenAIImagesRateLimitError,
    OpenAIImagesResponseError,
    OpenAIImagesServerError,
    OpenAIImagesTimeoutError,
    OpenAIImagesValidationError,
)
from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.conftest import SHARED_SPEC, Sleeps
from tests.imagefactory import decode, picture, ribbon_edit

MakeClient = Callable[..., ImagesClient]


def test_packaged_spec_is_the_shared_official_one_with_only_the_client_s_newer_fields_added() -> None:
    import yaml

    if not SHARED_SPEC.exists():
        pytest.skip("../shared is not beside this checkout")
    packaged_file = resources.files("airflow_provider_openai_images.testing").joinpath("openai-images-openapi.yaml")
    shared, packaged = yaml.safe_load(SHARED_SPEC.read_text()), yaml.safe_load(packaged_file.read_text())
    assert set(shared["paths"]) <= set(packaged["paths"])
    for name, schema in shared["components"]["schemas"].items():
        assert set(schema.get("properties", {})) <= set(packaged["components"]["schemas"][name].get("properties", {}))
    updates = packaged["info"]["x-updated-from-openai-python"]
    assert updates["version"] == "3.63.0"
    added = [entry for entry in updates["fields"] if entry["change"] == "added"]
    assert {entry["field"] for entry in added} >= {"complexity", "safety_identifier", "frame_count", "svg", "markup"}
    for entry in added:
        before = shared["components"]["schemas"].get(entry["schema"], {}).get("properties", {})
        assert entry["field"] not in before, f"{entry} was already in the shared document"
        assert entry["field"] in packaged["components"]["schemas"][entry["schema"]]["properties"]
        assert entry["source"].startswith("openai/types/")


# -- generations ----------------------------------------------------------------------------------


def test_gpt_image_generation_returns_base64_of_the_asked_size_and_never_sends_response_format(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    response = make_client().send(
        GenerateRequest(prompt="a lighthouse", model="gpt-image-2.5-flare", n=2, size="1536x1024", output_format="webp")
    )
    assert [decode(image.decode()).size for image in response.data] == [(1536, 1024)] * 2
    assert decode(response.data[0].decode()).format == "WEBP"
    assert response.usage is not None
    assert response.usage.total_tokens > 0
    assert response.request_id
    assert response.request_id.startswith("req_")
    sent = emulator.requests_to("generations")[0]
    assert sent.json == {
        "prompt": "a lighthouse",
        "model": "gpt-image-2.5-flare",
        "n": 2,
        "size": "1536x1024",
        "output_format": "webp",
    }
    assert sent.headers["content-type"] == "application/json"


def test_gpt_image_2_takes_flexible_sizes(make_client: MakeClient) -> None:
    response = make_client().send(GenerateRequest(prompt="a wide banner", model="gpt-image-2", size="1536x864"))
    assert decode(response.data[0].decode()).size == (1536, 864)


@pytest.mark.usefixtures("compatible_server")
def test_dall_e_3_answers_with_an_expiring_url_and_a_revised_prompt(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    response = make_client().send(GenerateRequest(prompt="an otter", model="dall-e-3", size="1024x1792"))
    image = response.data[0]
    assert image.b64_json is None
    assert image.url is not None
    assert image.revised_prompt
    assert "an otter" in image.revised_prompt
    downloaded = image_bytes(image, allow_http=True, transport=emulator.transport())
    assert decode(downloaded).size == (1024, 1792)
    emulator.expire_urls()
    with pytest.raises(OpenAIImagesResponseError, match="has expired"):
        image_bytes(image, allow_http=True, transport=emulator.transport())
    assert [download.status for download in emulator.downloads] == [200, 403]
    assert all("authorization" not in download.headers for download in emulator.downloads)


@pytest.mark.usefixtures("compatible_server")
def test_model_is_always_sent_even_when_left_at_the_default(
    emulator: ImagesAPIEmulator, make_client: MakeClient
) -> None:
    image = ImageFile.from_bytes(picture(256, 256))
    make_client().send(VariationRequest(image=image))
    assert emulator.requests_to("variations")[0].form["model"] == ["dall-e-2"]


# -- multipart: edits and variations -------------------------------------------------------------


@pytest.mark.usefixtures("compatible_server")
def test_single_image_edit_with_mask_sends_named_typed_parts(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    request = ribbon_edit()
    response = make_client().send(request)
    assert len(response.data) == 2
    assert decode(response.data[0].decode()).size == (256, 256)
    sent = emulator.requests_to("edits")[0]
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert [(f.field_name, f.filename, f.content_type) for f in sent.files] == [
        ("image", "product.png", "image/png"),
        ("mask", "mask.png", "image/png"),
    ]
    assert sent.form == {
        "prompt": ["add a red ribbon"],
        "model": ["dall-e-2"],
        "n": ["2"],
        "size": ["256x256"],
        "response_format": ["b64_json"],
    }


def test_multi_image_edit_on_gpt_image_sends_repeated_image_array_parts(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    images = (
        ImageFile.from_bytes(picture(300, 200, image_format="JPEG"), "lotion.jpg"),
        ImageFile.from_bytes(picture(200, 200, image_format="WEBP"), "soap.webp"),
        ImageFile.from_bytes(picture(120, 240), "candle.png"),
    )
    make_client().send(EditRequest(images=images, prompt="a gift basket with these", model="gpt-image-2.5-flare"))
    sent = emulator.requests_to("edits")[0]
    assert [(f.field_name, f.filename, f.content_type) for f in sent.files] == [
        ("image[]", "lotion.jpg", "image/jpeg"),
        ("image[]", "soap.webp", "image/webp"),
        ("image[]", "candle.png", "image/png"),
    ]
    assert "response_format" not in sent.form


@pytest.mark.usefixtures("compatible_server")
def test_variation_returns_the_requested_count_and_size(make_client: MakeClient) -> None:
    response = make_client().send(
        VariationRequest(image=ImageFile.from_bytes(picture(512, 512)), n=3, size="256x256", response_format="b64_json")
    )
    assert [decode(image.decode()).size for image in response.data] == [(256, 256)] * 3


# -- validation before any call -------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        GenerateRequest(prompt="x", model="dall-e-3", n=2),
        GenerateRequest(prompt="x", model="gpt-image-2.5-flare", response_format="url"),
        GenerateRequest(prompt="   ", model="gpt-image-2.5-flare"),
        VariationRequest(image=ImageFile(b"\x89PNG\r\n\x1a\n", "a.png", "image/png"), model="gpt-image-2.5-flare"),
        EditRequest(images=(ImageFile(b"\x89PNG\r\n\x1a\n", "a.png", "image/png"),) * 2, prompt="x", model="dall-e-2"),
        EditRequest(
            images=(ImageFile(b"\x89PNG\r\n\x1a\n", "a.png", "image/png"),) * 17,
            prompt="x",
            model="gpt-image-2.5-flare",
        ),
        EditRequest(images=(ImageFile(b"\xff\xd8\xff", "a.jpg", "image/jpeg"),), prompt="x", model="dall-e-2"),
    ],
)
def test_impossible_requests_never_reach_the_server(
    request_: GenerateRequest, make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    with pytest.raises(OpenAIImagesValidationError):
        make_client().send(request_)
    assert emulator.requests == []


# -- retries --------------------------------------------------------------------------------------

GENERATE = GenerateRequest(prompt="an otter", model="gpt-image-2.5-flare", size="1024x1024", quality="low")


@pytest.mark.parametrize(
    ("fault", "expected_wait"),
    [
        (Fault.rate_limit(3), 3.0),
        (Fault.rate_limit(2.5, form="ms"), 2.5),
        (Fault.rate_limit(4, form="http-date"), 4.0),
    ],
)
def test_429_waits_as_long_as_the_server_says_then_succeeds_billing_once(
    fault: Fault,
    expected_wait: float,
    make_client: MakeClient,
    emulator: ImagesAPIEmulator,
    sleeps: Sleeps,
) -> None:
    emulator.inject(fault)
    response = make_client().send(GENERATE)
    assert len(response.data) == 1
    assert [r.status for r in emulator.requests] == [429, 200]
    assert sleeps == [pytest.approx(expected_wait, abs=1.1)]
    assert emulator.billed_images == 1


@pytest.mark.parametrize(
    ("fault", "billed"),
    [
        (Fault.server_error(500), 1),
        (Fault.server_error(502), 1),
        (Fault.server_error(503), 1),
        (Fault.drop_connection(), 1),
        (Fault.drop_connection(after_generation=True), 2),
        (Fault.truncated_body(), 2),
        (Fault.non_json_body(), 1),
        (Fault("status", status=408), 1),
        (Fault("status", status=409), 1),
    ],
    ids=["500", "502", "503", "dropped", "dropped after generation", "truncated", "non-json", "408", "409"],
)
def test_transient_faults_are_retried_with_backoff_and_what_was_generated_is_billed(
    fault: Fault, billed: int, make_client: MakeClient, emulator: ImagesAPIEmulator, sleeps: Sleeps
) -> None:
    emulator.inject(fault)
    response = make_client().send(GENERATE)
    assert len(emulator.requests) == 2
    assert len(sleeps) == 1
    assert 0.375 <= sleeps[0] <= 0.5
    assert emulator.billed_images == billed, "a retry after a generated but lost answer pays again"
    assert billed - 1 <= possibly_billed_images(response.attempts), "each billed attempt without an answer is flagged"


def test_retries_are_bounded_and_the_error_says_how_many_attempts(
    make_client: MakeClient, emulator: ImagesAPIEmulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault.server_error(503, times=10))
    with pytest.raises(OpenAIImagesServerError) as raised:
        make_client(max_retries=3).send(GENERATE)
    assert len(emulator.requests) == 4
    assert raised.value.attempts == 4
    assert "attempts=4" in str(raised.value)
    assert len(sleeps) == 3
    assert sleeps == sorted(sleeps)
    assert emulator.billed_images == 0


def test_429s_are_retried_beyond_max_retries_while_their_waits_fit_in_max_retry_after(
    make_client: MakeClient, emulator: ImagesAPIEmulator, sleeps: Sleeps
) -> None:
    """A 429 bills nothing: six of them, 10 s each, are waited out with max_retries=2 (60 s in all)."""
    emulator.inject(Fault.rate_limit(10, times=6))
    response = make_client(max_retries=2, max_retry_after=60).send(GENERATE)
    assert len(response.data) == 1
    assert [r.status for r in emulator.requests] == [429] * 6 + [200]
    assert sleeps == [pytest.approx(10, abs=1.1)] * 6
    assert emulator.billed_images == 1


def test_429s_whose_waits_outgrow_max_retry_after_count_as_retries(
    make_client: MakeClient, emulator: ImagesAPIEmulator, sleeps: Sleeps
) -> None:
    """Past the budget (25 s + 25 s, then 25 s more), a 429 counts against max_retries like any failure."""
    emulator.inject(Fault.rate_limit(25, times=10))
    with pytest.raises(OpenAIImagesRateLimitError):
        make_client(max_retries=1, max_retry_after=60).send(GENERATE)
    assert [r.status for r in emulator.requests] == [429] * 4, "two free retries, then one counted, then stop"
    assert emulator.billed_images == 0


def test_retry_after_beyond_the_cap_fails_fast_saying_when_to_retry(
    make_client: MakeClient, emulator: ImagesAPIEmulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault.rate_limit(900))
    with pytest.raises(OpenAIImagesRateLimitError) as raised:
        make_client(max_retry_after=60).send(GENERATE)
    assert raised.value.retry_after == 900
    assert len(emulator.requests) == 1
    assert sleeps == []


def test_x_should_retry_false_is_obeyed(make_client: MakeClient, emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault("status", status=500, headers=(("x-should-retry", "false"),)))
    with pytest.raises(OpenAIImagesServerError):
        make_client().send(GENERATE)
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("flavour", ["dall-e", "gpt-image", "azure"])
def test_safety_rejections_are_typed_and_not_retried(
    flavour: str, make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    emulator.inject(Fault.content_policy(flavour))  # type: ignore[arg-type]
    with pytest.raises(OpenAIImagesContentPolicyError) as raised:
        make_client(max_retries=5).send(GENERATE)
    assert len(emulator.requests) == 1
    assert raised.value.status_code == 400
    assert raised.value.request_id


def test_a_wrong_key_is_an_authentication_error_and_not_retried(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    with pytest.raises(OpenAIImagesAuthenticationError):
        make_client(api_key="sk-wrong-key-1234567890").send(GENERATE)
    assert len(emulator.requests) == 1


# -- timeouts -------------------------------------------------------------------------------------


def test_a_slow_answer_times_out_with_a_typed_error(make_client: MakeClient, emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.slow(1.5))
    with pytest.raises(OpenAIImagesTimeoutError) as raised:
        make_client(max_retries=0, timeout=0.3).send(GENERATE)
    assert isinstance(raised.value, OpenAIImagesConnectionError)


def test_a_timed_out_attempt_is_retried(make_client: MakeClient, emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.slow(1.5))
    assert len(make_client(max_retries=1, timeout=0.3).send(GENERATE).data) == 1
    assert len(emulator.requests) == 2


# -- Azure OpenAI ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("compatible_server")
def test_azure_uses_deployment_urls_api_version_and_the_api_key_header(
    make_client: MakeClient, emulator: ImagesAPIEmulator
) -> None:
    client = make_client(base_url=emulator.root_url, api_type="azure", api_version="2025-04-01-preview")
    client.send(GENERATE)
    client.send(GenerateRequest(prompt="x", model="dall-e-3"))
    first, second = emulator.requests
    assert first.path == "/openai/deployments/gpt-image-2.5-flare/images/generations"
    assert second.path == "/openai/deployments/dall-e-3/images/generations"
    assert first.query == {"api-version": ["2025-04-01-preview"]}
    assert first.auth_scheme == "api-key"
    assert "authorization" not in first.headers


def test_azure_named_deployment_overrides_the_model(make_client: MakeClient, emulator: ImagesAPIEmulator) -> None:
    client = make_client(base_url=f"{emulator.root_url}/openai", api_type="azure", azure_deployment="my images")
    client.send(GENERATE)
    assert emulator.requests[0].path == "/openai/deployments/my%20images/images/generations"
    assert emulator.requests[0].json["model"] == "gpt-image-2.5-flare"  # type: ignore[index]


# -- the key stays secret -------------------------------------------------------------------------

SECRET = "sk-test-SECRETVALUE-do-not-leak-0123456789"


def test_the_key_never_appears_in_logs_errors_or_reprs(
    emulator: ImagesAPIEmulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(emulator, "api_key", SECRET)
    caplog.set_level(logging.DEBUG)
    client = make_client(api_key=SECRET, max_retries=2, timeout=0.3)
    texts: list[str] = [repr(client), repr(client.settings), repr(client._http.auth), str(client.settings)]
    emulator.inject(
        Fault.rate_limit(0.01),
        Fault.server_error(502),
        Fault.truncated_body(),
        Fault.drop_connection(),
        Fault.non_json_body(),
        Fault.slow(1.0),
        Fault.content_policy("azure"),
        Fault.server_error(500, times=3),
    )
    for _ in range(4):
        try:
            texts.append(repr(client.send(GENERATE)))
        except OpenAIImagesError as error:
            texts += [str(error), repr(error), repr(error.__cause__)]
    with pytest.raises(OpenAIImagesAuthenticationError) as raised:
        make_client(api_key=SECRET + "-wrong").send(GENERATE)
    texts.append(str(raised.value))
    assert len(emulator.requests) >= 8
    assert caplog.records, "the client logs what it does"
    haystack = "\n".join(texts + [record.getMessage() for record in caplog.records] + [caplog.text])
    assert SECRET not in haystack
    assert "SECRETVALUE" not in haystack
