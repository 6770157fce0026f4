"""The Spend view's JSON and CSV: spend per DAG and per day (:mod:`.spend`), of the DAGs the user may read.

``GET /api/spend?days=``
    the table as JSON (:class:`~airflow_provider_openai_images.ui.schemas.SpendTable`);
``GET /api/spend.csv?days=``
    the same table as a CSV download.

A signed-in user only (``get_user``: 401 otherwise). A DAG counts only when the auth manager lets the user
read its runs, task instances and XComs, the gallery's own rule
(:data:`~airflow_provider_openai_images.ui.access.READ_IMAGES`): any other DAG is left out before a run is
read, so it adds neither rows nor totals.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from airflow_provider_openai_images.ui import spend
from airflow_provider_openai_images.ui.access import GetUserDep
from airflow_provider_openai_images.ui.schemas import SpendTable

router = APIRouter(prefix="/api", tags=["OpenAI Images spend"])
MAX_DAYS = 90
Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="How many days, ending today (UTC)")]


def readable_dag_ids(session: Session, user: Any, dag_ids: set[str]) -> set[str]:
    """The DAGs of ``dag_ids`` whose runs, task instances and XComs ``user`` may read (as for the gallery)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.batch_apis import IsAuthorizedDagRequest
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel

    manager = get_auth_manager()
    teams = DagModel.get_dag_id_to_team_name_mapping(sorted(dag_ids), session=session) if dag_ids else {}
    entities = (DagAccessEntity.RUN, DagAccessEntity.TASK_INSTANCE, DagAccessEntity.XCOM)

    def readable(dag_id: str) -> bool:
        details = DagDetails(id=dag_id, team_name=teams.get(dag_id))
        asked: list[IsAuthorizedDagRequest] = [
            {"method": "GET", "access_entity": entity, "details": details} for entity in entities
        ]
        return bool(manager.batch_is_authorized_dag(asked, user=user))

    return {dag_id for dag_id in dag_ids if readable(dag_id)}


def table_for(session: Session, user: Any, days: int) -> SpendTable:
    """The table of the ``days`` days ending today, of the DAGs ``user`` may read."""
    today = datetime.now(timezone.utc).date()
    _, start, end = spend.window(today, days)
    readable = readable_dag_ids(session, user, spend.dags_in_window(session, start, end))
    return spend.spend_table(session, readable, today=today, days=days)


@router.get("/spend", response_model=SpendTable)
def spend_json(user: GetUserDep, session: SessionDep, days: Days = spend.DEFAULT_DAYS) -> SpendTable:
    """Spend per DAG and per day, newest first, with totals: only DAGs the user may read."""
    return table_for(session, user, days)


@router.get("/spend.csv", response_class=Response)
def spend_csv(user: GetUserDep, session: SessionDep, days: Days = spend.DEFAULT_DAYS) -> Response:
    """The same table as CSV: a line per row, then the totals."""
    table = table_for(session, user, days)
    name = f"openai-images-spend-{table.since.isoformat()}-{table.until.isoformat()}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(spend.to_csv(table), media_type="text/csv; charset=utf-8", headers=headers)
