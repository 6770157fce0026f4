"""The gallery page and the Spend view: plain HTML, CSS and JavaScript from :file:`static/`, no build step and no CDN.

The page reads its DAG, run, task and map index from its own query string and the JSON API relative to
its own URL, so it works in the UI's iframe, in a tab of its own, and under a base URL with a path.
"""

from __future__ import annotations

import hashlib
import html
import importlib.resources
from functools import cache
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse, Response

from airflow_provider_openai_images.ui.access import READ_IMAGES, GetUserDep

router = APIRouter(include_in_schema=False)
ASSETS = {
    "gallery.css": "text/css; charset=utf-8",
    "gallery.js": "text/javascript; charset=utf-8",
    "spend.css": "text/css; charset=utf-8",
    "spend.js": "text/javascript; charset=utf-8",
}


@cache
def _static(name: str) -> str:
    return (importlib.resources.files("airflow_provider_openai_images.ui") / "static" / name).read_text("utf-8")


@cache
def _version() -> str:
    """Changes with the assets, so a browser never runs a new page with an old script."""
    return hashlib.sha256("".join(_static(name) for name in sorted(ASSETS)).encode()).hexdigest()[:12]


@router.get("/gallery", response_class=HTMLResponse, dependencies=READ_IMAGES)
def gallery(dag_id: Annotated[str, Query()], run_id: Annotated[str, Query()]) -> HTMLResponse:
    """The gallery of a run (``task_id`` and ``map_index`` narrow it to a task instance: the page reads them)."""
    page = _static("gallery.html").replace("{{VERSION}}", _version())
    page = page.replace("{{TITLE}}", html.escape(f"Images of {dag_id} / {run_id}"))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/spend", response_class=HTMLResponse)
def spend(user: GetUserDep) -> HTMLResponse:
    """The Spend view: spend per DAG and per day of the DAGs the user may read (the page reads ``/api/spend``)."""
    page = _static("spend.html").replace("{{VERSION}}", _version())
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/static/{name}")
def asset(name: str, user: GetUserDep) -> Response:
    """The page's stylesheet and script, to a signed-in user (``get_user`` answers 401 to anybody else)."""
    if name not in ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such asset")
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(_static(name), media_type=ASSETS[name], headers=headers)
