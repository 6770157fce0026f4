"""Which models the emulator serves, in-process: by default OpenAI's API on 2026-12-05 (retired models
and unknown names answered 404 ``model_not_found``, billed nothing), a compatible server serving every
model, extra models in both modes, and the Models API (list, retrieve, 404, ``shutdown_date``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from airflow_provider_openai_images.testing import Fault, ImagesAPIEmulator
from tests.imagefactory import decode, ribbon_edit
from tests.unit.testing.emulator_calls import (
    RETIRED,
    SERVED,
    client,
    edit,
    first_file,
    generate,
    image_part,
    not_found,
    ok,
    png,
    refused,
    valid,
)

RETIRED_GPT_IMAGE = [name for name in RETIRED if not name.startswith("dall-e")]


# -- the default: OpenAI's API as of 2026-12-05 -------------------------------------------------------


@pytest.mark.parametrize("model", SERVED)
def test_by_default_every_model_openai_serves_answers(model: str, emulator: ImagesAPIEmulator) -> None:
    body = ok(generate(emulator, model=model, quality="low", size="1024x1024"))
    assert decode(first_file(body)).size == (1024, 1024)
    assert emulator.billed_images == 1


@pytest.mark.parametrize("model", RETIRED)
def test_by_default_each_retired_model_is_404_model_not_found_and_billed_nothing(
    model: str, emulator: ImagesAPIEmulator
) -> None:
    emulator.inject(Fault.truncated_body(), Fault.drop_connection(after_generation=True))
    answers = [generate(emulator, model=model)]
    if model != "dall-e-3":  # the others took edits
        answers.append(edit(emulator, [image_part(png(256, 256))], model=model))
    if model == "dall-e-2":
        with client(emulator) as http:
            answers.append(http.post("/images/variations", data={"model": model}, files=[image_part(png(64, 64))]))
    for answer in answers:
        assert answer.status_code == 404
        assert answer.json() == not_found(model)
    assert [(r.status, r.billed_images) for r in emulator.requests] == [(404, 0)] * len(answers)
    assert emulator.billed_images == 0


@pytest.mark.parametrize("model", ["gpt-image-3", "dall-e-4", "gpt-image-2-2027-01-01", "stable-diffusion"])
def test_by_default_a_name_openai_does_not_know_is_404(model: str, emulator: ImagesAPIEmulator) -> None:
    answer = generate(emulator, model=model)
    assert (answer.status_code, answer.json()) == (404, not_found(model))
    assert emulator.billed_images == 0


def test_by_default_a_request_without_a_model_gets_the_documents_default_which_is_retired(
    emulator: ImagesAPIEmulator,
) -> None:
    with client(emulator) as http:
        generation = http.post("/images/generations", json={"prompt": "an otter"})
        json_edit = http.post("/images/edits", json={"prompt": "x", "images": [{"file_id": "file-x"}]})
    assert generation.json() == not_found("dall-e-2")
    assert json_edit.json() == not_found("gpt-image-1.5")


def test_by_default_the_variations_endpoint_serves_no_model(emulator: ImagesAPIEmulator) -> None:
    with client(emulator) as http:
        default = http.post("/images/variations", files=[image_part(png(64, 64))])
        gpt = http.post("/images/variations", data={"model": "gpt-image-2.5-flare"}, files=[image_part(png(64, 64))])
    assert default.json() == not_found("dall-e-2")
    refused(gpt, 400, "model", "'gpt-image-2.5-flare'", "variations", "edits and generations")
    assert emulator.billed_images == 0


# -- a compatible server: every model --------------------------------------------------------------


def test_a_compatible_server_serves_dall_e_generations_as_urls(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    with client(emulator) as http:
        two = ok(http.post("/images/generations", json={"prompt": "a kite", "model": "dall-e-2", "size": "256x256"}))
        three = ok(
            http.post(
                "/images/generations",
                json={
                    "prompt": "a kite",
                    "model": "dall-e-3",
                    "size": "1792x1024",
                    "quality": "hd",
                    "style": "natural",
                },
            )
        )
        downloads = [http.get(body["data"][0]["url"]) for body in (two, three)]
    assert [decode(download.content).size for download in downloads] == [(256, 256), (1792, 1024)]
    assert three["data"][0]["revised_prompt"] == "A detailed, vivid rendering of: a kite"
    assert "usage" not in two
    assert "revised_prompt" not in two["data"][0]
    assert emulator.billed_images == 2


def test_a_compatible_server_serves_dall_e_2_edits_and_variations(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    body = ribbon_edit().to_http_body()
    with client(emulator) as http:
        edited = ok(http.post("/images/edits", data=body.data, files=body.files))
        varied = ok(
            http.post(
                "/images/variations",
                data={"model": "dall-e-2", "n": "2", "size": "512x512"},
                files=[image_part(png(128, 128))],
            )
        )
        downloaded = [http.get(item["url"]) for item in varied["data"]]
    assert [decode(first_file({"data": [item]})).size for item in edited["data"]] == [(256, 256)] * 2
    assert [decode(download.content).size for download in downloaded] == [(512, 512)] * 2
    assert emulator.billed_images == 4


@pytest.mark.parametrize("model", RETIRED_GPT_IMAGE)
def test_a_compatible_server_serves_the_retired_gpt_image_models(model: str, emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    body = ok(generate(emulator, model=model, quality="low", size="1536x1024"))
    assert decode(first_file(body)).size == (1536, 1024)
    assert body["usage"]["output_tokens"] == 408, "gpt-image-1's documented figure"
    edited = ok(edit(emulator, [image_part(png(256, 256))], model=model, quality="low"))
    assert edited["size"] == "1024x1024"


def test_a_compatible_server_serves_names_it_does_not_know(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    gpt_like = ok(generate(emulator, model="gpt-image-9000", size="640x480"))
    other = ok(generate(emulator, model="flux-schnell", size="640x480"))
    assert decode(first_file(gpt_like)).size == (640, 480)
    assert "usage" in gpt_like
    assert "url" in other["data"][0]
    assert "usage" not in other
    refused(generate(emulator, model="flux-schnell", size="8192x8192"), 400, "size", "4096")


# -- extra models -----------------------------------------------------------------------------------


@pytest.mark.parametrize("compatible", [False, True], ids=["default", "compatible"])
def test_an_extra_model_behaves_exactly_as_the_model_it_names(compatible: bool, emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = compatible
    emulator.extra_models.update({"gpt-image-3-preview": "gpt-image-2.5-flare", "legacy-art": "dall-e-3"})
    preview = ok(generate(emulator, model="gpt-image-3-preview", quality="xhigh", size="1536x864"))
    assert (preview["quality"], preview["size"]) == ("xhigh", "1536x864")
    assert preview["usage"]["output_tokens"] == round(12000 * 1536 * 864 / 1024**2)
    refused(generate(emulator, model="gpt-image-3-preview", size="2400x2400"), 400, "size", "2160")
    legacy = ok(generate(emulator, model="legacy-art"))
    assert set(legacy["data"][0]) == {"url", "revised_prompt"}
    refused(generate(emulator, model="legacy-art", n=2), 400, "n", "from 1 to 1")
    with client(emulator) as http:
        listed = [model["id"] for model in http.get("/models").json()["data"]]
        retrieved = http.get("/models/gpt-image-3-preview").json()
    assert {"gpt-image-3-preview", "legacy-art"} <= set(listed)
    assert valid("Model", retrieved)["shutdown_date"] is None


def test_extra_models_are_read_at_every_request(emulator: ImagesAPIEmulator) -> None:
    assert generate(emulator, model="house-model").status_code == 404
    emulator.extra_models["house-model"] = "gpt-image-2"
    assert ok(generate(emulator, model="house-model", quality="high"))["quality"] == "high"
    refused(generate(emulator, model="house-model", quality="max"), 400, "quality", "'max'")


def test_an_extra_model_may_bring_back_a_retired_one_by_its_own_name(emulator: ImagesAPIEmulator) -> None:
    emulator.extra_models["gpt-image-1"] = "gpt-image-1"
    body = ok(generate(emulator, model="gpt-image-1", quality="high"))
    assert body["usage"]["output_tokens"] == 4160
    assert generate(emulator, model="gpt-image-1-mini").json() == not_found("gpt-image-1-mini")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"extra_models": {"house": "gpt-image-9"}}, "names no model"),
        ({"shutdown_dates": {"gpt-image-2": "next spring"}}, "not an ISO date"),
    ],
)
def test_settings_naming_nothing_are_refused_at_construction(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImagesAPIEmulator(**settings)


# -- the Models API ---------------------------------------------------------------------------------


def _models(emulator: ImagesAPIEmulator, path: str = "/models") -> httpx.Response:
    with client(emulator) as http:
        return http.get(path)


def test_the_models_api_lists_exactly_the_served_models_by_default(emulator: ImagesAPIEmulator) -> None:
    listing = valid("ListModelsResponse", _models(emulator).json())
    assert sorted(model["id"] for model in listing["data"]) == sorted(SERVED)
    for model in listing["data"]:
        assert valid("Model", model) == {
            "id": model["id"],
            "object": "model",
            "created": model["created"],
            "owned_by": "system",
            "shutdown_date": None,
        }
        assert model["created"] >= 1776729600, "released on 2026-04-21 or later"
    assert emulator.billed_images == 0


def test_the_models_api_retrieves_a_served_model_and_404s_the_others(emulator: ImagesAPIEmulator) -> None:
    served = _models(emulator, "/models/gpt-image-2.5-sunburst-2026-09-08")
    assert valid("Model", served.json())["id"] == "gpt-image-2.5-sunburst-2026-09-08"
    for name in [*RETIRED, "gpt-image-3"]:
        answer = _models(emulator, f"/models/{name}")
        assert (answer.status_code, answer.json()) == (404, not_found(name))
    assert _models(emulator, "/models/").status_code == 404, "no id: an unknown path"
    assert [r.endpoint for r in emulator.requests] == ["model"] * 8 + [None]
    assert emulator.billed_images == 0


def test_a_compatible_server_lists_every_model_without_shutdown_dates(emulator: ImagesAPIEmulator) -> None:
    emulator.compatible_server = True
    listing = valid("ListModelsResponse", _models(emulator).json())
    assert sorted(model["id"] for model in listing["data"]) == sorted([*SERVED, *RETIRED])
    assert {model["shutdown_date"] for model in listing["data"]} == {None}
    assert valid("Model", _models(emulator, "/models/dall-e-2").json())["shutdown_date"] is None
    assert _models(emulator, "/models/gpt-image-9000").status_code == 404, "served, but not listed"


def test_shutdown_dates_override_what_the_models_api_reports(emulator: ImagesAPIEmulator) -> None:
    emulator.shutdown_dates.update({"gpt-image-2": "2027-04-21", "gpt-image-2.6-flare": None})
    announced = valid("Model", _models(emulator, "/models/gpt-image-2").json())
    assert announced["shutdown_date"] == "2027-04-21"
    listed = {model["id"]: model["shutdown_date"] for model in _models(emulator).json()["data"]}
    assert (listed["gpt-image-2"], listed["gpt-image-2.5-flare"], listed["gpt-image-2.6-flare"]) == (
        "2027-04-21",
        None,
        None,
    )
    emulator.compatible_server = True
    emulator.shutdown_dates["dall-e-2"] = RETIRED["dall-e-2"]  # its date has passed, yet it is still listed
    listed = {model["id"]: model["shutdown_date"] for model in _models(emulator).json()["data"]}
    assert (listed["dall-e-2"], listed["dall-e-3"]) == ("2026-05-12", None)


def test_unavailable_models_leave_the_models_api_in_either_mode(emulator: ImagesAPIEmulator) -> None:
    emulator.unavailable_models.update({"gpt-image-2", "dall-e-2"})
    for compatible in (False, True):
        emulator.compatible_server = compatible
        listed = {model["id"] for model in _models(emulator).json()["data"]}
        assert not {"gpt-image-2", "dall-e-2"} & listed
        assert _models(emulator, "/models/gpt-image-2").json() == not_found("gpt-image-2")
        assert generate(emulator, model="dall-e-2").json() == not_found("dall-e-2")


def test_the_models_api_takes_faults_and_azure_paths(emulator: ImagesAPIEmulator) -> None:
    emulator.inject(Fault.server_error(endpoint="model"))
    assert _models(emulator, "/models/gpt-image-2").status_code == 500
    assert _models(emulator, "/models/gpt-image-2").status_code == 200
    with httpx.Client(transport=emulator.transport(), base_url=emulator.root_url) as http:
        azure = http.get(
            "/openai/models/gpt-image-2",
            params={"api-version": "2025-04-01-preview"},
            headers={"api-key": emulator.api_key},
        )
        bearer = http.get(
            "/openai/models/gpt-image-2",
            params={"api-version": "x"},
            headers={"Authorization": f"Bearer {emulator.api_key}"},
        )
    assert (azure.status_code, azure.json()["id"]) == (200, "gpt-image-2")
    assert bearer.status_code == 401
