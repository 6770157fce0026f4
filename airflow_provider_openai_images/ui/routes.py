"""The gallery's JSON API: a run's images, page by page, and each image, thumbnail and prompt from S3.

Every endpoint checks access first (:data:`~airflow_provider_openai_images.ui.access.READ_IMAGES`). An
object is served only when a record of that task instance names it: the ``key`` parameter must be a
landed record's ``key``, and the bucket, thumbnail and sidecar come from that record, never from the
request; and only when the record passed the check of :mod:`~airflow_provider_openai_images.ui.allowed`
(its bucket one the gallery may read for the task instance, its keys under the task instance's prefix):
a refused record answers 403 with the reason, and nothing is read from S3 for it. Endpoints are plain
functions: FastAPI runs them, their database reads and boto3's blocking calls in its thread pool, off
the API server's event loop.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from airflow_provider_openai_images.ui import objects
from airflow_provider_openai_images.ui.access import READ_IMAGES
from airflow_provider_openai_images.ui.allowed import RecordObjects
from airflow_provider_openai_images.ui.listing import FoundRecord, find_records, record_for_key, run_state
from airflow_provider_openai_images.ui.schemas import GalleryPage, Status, gallery_image, summarize

router = APIRouter(prefix="/api", dependencies=READ_IMAGES, tags=["OpenAI Images gallery"])
RUN = "/dags/{dag_id}/dagRuns/{dag_run_id}"
TASK_INSTANCE = RUN + "/taskInstances/{task_id}"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_MAP_INDEX = re.compile(r"-?\d+")

MapIndex = Annotated[int, Query(description="The task instance's map index (-1: not mapped)")]
Key = Annotated[str, Query(description="The image's S3 key, as its record names it")]


class SidecarPrompt(BaseModel):
    """What an image's sidecar says about its prompt."""

    prompt: str | None
    prompt_truncated_from: int | None = None
    revised_prompt: str | None = None


@router.get(RUN + "/images", response_model=GalleryPage)
def list_images(
    request: Request,
    dag_id: str,
    dag_run_id: str,
    session: SessionDep,
    task_id: str | None = None,
    map_index: Annotated[str | None, Query(description="A map index; anything else (or none): all")] = None,
    status_filter: Annotated[Status | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> GalleryPage:
    """The images of a DAG run, or of one task (``task_id``) or task instance (``task_id``, ``map_index``),
    by task, map index, item and index; ``offset`` and ``limit`` page them, ``status`` filters them. The
    summary covers every page. The records come from the metadata database, or, when a task returned a
    manifest summary or its XCom backend keeps only a reference, from its own manifest or sidecars in S3
    (:mod:`~airflow_provider_openai_images.ui.listing`); the images are read by the URLs of each entry."""
    state = run_state(session, dag_id, dag_run_id)
    if state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No run {dag_run_id!r} of DAG {dag_id!r}")
    index = int(map_index) if map_index is not None and _MAP_INDEX.fullmatch(map_index) else None
    found = find_records(session, dag_id, dag_run_id, task_id or None, index if task_id else None)
    shown = [one for one in found if status_filter is None or one.record["status"] == status_filter]
    url = _urls(request, dag_id, dag_run_id)
    return GalleryPage(
        dag_id=dag_id,
        run_id=dag_run_id,
        run_state=state,
        task_id=task_id or None,
        map_index=index if task_id else None,
        status=status_filter,
        offset=offset,
        limit=limit,
        total_entries=len(shown),
        summary=summarize(found),
        images=[gallery_image(one, dag_id, dag_run_id, url) for one in shown[offset : offset + limit]],
    )


@router.get(TASK_INSTANCE + "/image", response_class=StreamingResponse)
def image(dag_id: str, dag_run_id: str, task_id: str, session: SessionDep, key: Key, map_index: MapIndex = -1) -> Any:
    """The landed image whose record names ``key``, streamed from S3."""
    found, served = _record(session, dag_id, dag_run_id, task_id, map_index, key)
    return objects.stream(served.image, found.record.get("content_type"))


@router.get(TASK_INSTANCE + "/thumbnail", response_class=StreamingResponse)
def thumbnail(
    dag_id: str, dag_run_id: str, task_id: str, session: SessionDep, key: Key, map_index: MapIndex = -1
) -> Any:
    """The record's thumbnail (``thumbnail_uri``, a WEBP); the image itself when it has none."""
    found, served = _record(session, dag_id, dag_run_id, task_id, map_index, key)
    if served.thumbnail is not None:
        try:
            return objects.stream(served.thumbnail, "image/webp")
        except HTTPException as error:
            if not objects.is_missing(error):
                raise
    return objects.stream(served.image, found.record.get("content_type"))


@router.get(TASK_INSTANCE + "/prompt", response_model=SidecarPrompt)
def prompt(
    response: Response,
    dag_id: str,
    dag_run_id: str,
    task_id: str,
    session: SessionDep,
    key: Key,
    map_index: MapIndex = -1,
) -> SidecarPrompt:
    """The prompt the image was asked for, from its sidecar (``metadata_uri``)."""
    found, served = _record(session, dag_id, dag_run_id, task_id, map_index, key)
    record = found.record
    if served.sidecar is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The image's record names no sidecar")
    provenance = objects.read_sidecar(served.sidecar).get("provenance") or {}
    response.headers["Cache-Control"] = "private, max-age=300"
    truncated = provenance.get("prompt_truncated_from")
    return SidecarPrompt(
        prompt=provenance.get("prompt") if isinstance(provenance.get("prompt"), str) else None,
        prompt_truncated_from=truncated if isinstance(truncated, int) else None,
        revised_prompt=record.get("revised_prompt") or provenance.get("revised_prompt"),
    )


def _record(
    session: Any, dag_id: str, run_id: str, task_id: str, map_index: int, key: str
) -> tuple[FoundRecord, RecordObjects]:
    """The record naming ``key`` and the objects the gallery may read for it: 404 when no record names it,
    403 (with the reason) when the record's objects may not be served."""
    found = record_for_key(session, dag_id, run_id, task_id, map_index, key)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No image record of this task instance names that key")
    if found.objects is None:
        reason = found.refused or "the record names no image"
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"The gallery does not serve this record's objects: {reason}")
    return found, found.objects


def _urls(request: Request, dag_id: str, run_id: str) -> Any:
    """``url(endpoint, record)``: the path of a record's image, thumbnail or prompt, under the app's mount."""
    run = f"{request.scope.get('root_path', '')}/api/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"

    def url(endpoint: str, one: FoundRecord) -> str:
        query: dict[str, Any] = {"map_index": one.map_index, "key": one.key}
        if endpoint != "prompt" and isinstance(one.record.get("sha256"), str):
            query["v"] = one.record["sha256"][:16]  # a new image at the same key gets a new URL
        return f"{run}/taskInstances/{quote(one.task_id, safe='')}/{endpoint}?{urlencode(query)}"

    return url
