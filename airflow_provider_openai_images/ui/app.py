"""The gallery's FastAPI app, mounted by the API server at ``/openai-images``.

``GET /gallery?dag_id=&run_id=[&task_id=&map_index=]``
    the HTML page (and ``GET /static/gallery.css``, ``/static/gallery.js``);
``GET /api/dags/{dag_id}/dagRuns/{dag_run_id}/images?task_id=&map_index=&status=&offset=&limit=``
    a page of the run's images as JSON;
``GET /api/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/{image,thumbnail,prompt}?map_index=&key=``
    one image, its thumbnail, or the prompt from its sidecar.
``GET /spend`` (and ``/static/spend.css``, ``/static/spend.js``), ``GET /api/spend?days=``, ``GET /api/spend.csv?days=``
    the Spend view: spend per DAG and per day, as a page, JSON and CSV (:mod:`.spend_routes`).

The API server's error handlers do not reach a mounted app: errors here answer JSON, except on the page,
which answers a small HTML page (with a sign-in link when there is no session) since a person reads it.
Every answer carries a Content-Security-Policy and ``nosniff`` (:mod:`.headers`).
"""

from __future__ import annotations

import html

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from airflow_provider_openai_images.ui import pages, routes, spend_routes
from airflow_provider_openai_images.ui.headers import ERROR_PAGE_CSP, SecurityHeaders

#: the pages a person reads: their errors answer HTML
PAGES = ("/gallery", "/spend")
TITLES = {401: "Sign in to see these images", 403: "You may not see this DAG's images", 404: "Not found"}


def create_app() -> FastAPI:
    """The gallery app: the JSON API under ``/api``, the page at ``/gallery``."""
    app = FastAPI(
        title="OpenAI Images gallery",
        description="The images that the OpenAI Images provider's tasks landed in S3, per DAG run.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # every route checks access; a schema served to anybody would not
    )
    app.include_router(routes.router)
    app.include_router(spend_routes.router)
    app.include_router(pages.router)
    app.add_exception_handler(StarletteHTTPException, _error)
    app.add_middleware(SecurityHeaders)
    return app


async def _error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if request.url.path.removeprefix(request.scope.get("root_path", "")) not in PAGES:
        return await http_exception_handler(request, error)
    title = TITLES.get(error.status_code, "The gallery failed")
    hint = ""
    if error.status_code == 401:
        from airflow.api_fastapi.app import get_auth_manager

        login = get_auth_manager().get_url_login(next_url=str(request.url))
        hint = f'<p><a href="{html.escape(login)}">Sign in to Airflow</a>, then reload this page.</p>'
    body = (
        f'<!doctype html><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<body style="font: 15px system-ui, sans-serif; margin: 2rem; color: #333">'
        f"<h1 style='font-size: 1.2rem'>{html.escape(title)}</h1><p>{html.escape(str(error.detail))}</p>{hint}"
    )
    headers = {**(error.headers or {}), "Content-Security-Policy": ERROR_PAGE_CSP}
    return HTMLResponse(body, status_code=error.status_code, headers=headers)
