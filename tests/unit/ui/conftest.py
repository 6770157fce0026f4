"""The metadata database of the listing's tests: an in-memory SQLite holding Airflow's own XCom, rendered-fields
and DAG-run tables (without their foreign keys), so the queries are the ones the API server runs; one run,
``dag_run.id`` 1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session


@pytest.fixture
def session() -> Iterator[Session]:
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel

    engine = sa.create_engine("sqlite://")
    metadata = sa.MetaData()
    for model in (XComModel, RenderedTaskInstanceFields, DagRun):
        columns = [sa.Column(c.name, c.type, primary_key=c.primary_key) for c in model.__table__.columns]
        sa.Table(model.__tablename__, metadata, *columns)
    metadata.create_all(engine)
    with Session(engine, info={"tables": metadata.tables}) as session:
        session.execute(metadata.tables["dag_run"].insert().values(id=1))
        yield session
