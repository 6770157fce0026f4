"""Who may see a DAG's images: the API server's own authentication and the auth manager's decision.

:func:`~airflow.api_fastapi.core_api.security.get_user` reads the ``Authorization: Bearer`` token, or else
the ``_token`` cookie the UI sets (what its iframe sends): no token is a 401. The auth manager must then
allow the user to read the DAG's runs, task instances and XComs (the records come from XComs): otherwise a
403. The DAG is the ``dag_id`` path or query parameter of the request.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends

#: the dependencies of every gallery endpoint (FastAPI resolves ``get_user`` once per request)
READ_IMAGES = [
    Depends(requires_access_dag("GET", DagAccessEntity.RUN)),
    Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE)),
    Depends(requires_access_dag("GET", DagAccessEntity.XCOM)),
]

__all__ = ["READ_IMAGES", "GetUserDep"]
