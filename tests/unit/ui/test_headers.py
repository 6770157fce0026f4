"""The gallery app's security headers (``ui/headers.py``): its page, assets and JSON answers, errors included,
carry ``Content-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'self'`` and
``X-Content-Type-Options: nosniff``; an answer with its own policy (an S3 object, sandboxed) keeps it.
The page itself, signed in, is checked through a real API server in ``tests/integration/test_gallery.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.testclient import TestClient

from airflow_provider_openai_images.ui.app import create_app
from airflow_provider_openai_images.ui.headers import PAGE_CSP, SecurityHeaders
from airflow_provider_openai_images.ui.objects import OBJECT_CSP

EXPECTED_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'self'"


def test_the_page_policy_is_the_one_asked_for() -> None:
    assert PAGE_CSP == EXPECTED_CSP


def test_json_answers_of_the_gallery_app_carry_the_policy_and_nosniff() -> None:
    client = TestClient(create_app())
    for path in ("/api/dags/d/dagRuns/r/images", "/static/gallery.js", "/no-such-path",
                 "/api/dags/d/dagRuns/r/taskInstances/t/image?key=k"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code in (401, 404), path
        assert answer.headers["content-security-policy"] == EXPECTED_CSP, path
        assert answer.headers["x-content-type-options"] == "nosniff", path


def test_an_answer_with_its_own_policy_keeps_it() -> None:
    app = FastAPI()

    def chunks() -> Iterator[bytes]:
        yield b"<svg/>"

    @app.get("/object")
    def sandboxed() -> StreamingResponse:
        headers = {"Content-Security-Policy": OBJECT_CSP, "X-Content-Type-Options": "nosniff"}
        return StreamingResponse(chunks(), media_type="image/svg+xml", headers=headers)

    @app.get("/page")
    def page() -> HTMLResponse:
        return HTMLResponse("<!doctype html><p>hello")

    app.add_middleware(SecurityHeaders)
    client = TestClient(app)
    answer = client.get("/object")
    assert answer.content == b"<svg/>"
    assert answer.headers.get_list("content-security-policy") == [OBJECT_CSP]
    assert answer.headers.get_list("x-content-type-options") == ["nosniff"]
    page_answer = client.get("/page")
    assert page_answer.headers["content-security-policy"] == EXPECTED_CSP
    assert page_answer.headers["x-content-type-options"] == "nosniff"
