"""What the Spend view's 30-day table costs the API server: uncached (every run read) and cached.

Run: ``.venv/bin/python benchmarks/spend.py`` (``--runs N``, default 1000; ``--images N`` per run, default 50;
``--dags N``, default 20).

A SQLite file holds Airflow's own tables (created from its models; foreign keys not enforced, so no task
instance rows) and N runs spread over the last 30 days and ``--dags`` DAGs, each as a real bulk task
leaves it: the ``prompts`` task's return value (the prompts), the ``generate`` task's (one list of records
per item: landed images as landing writes them, one item in 25 rejected and one in 50 possibly billed, a
third of the runs through the Batch API) and its rendered template fields (the gallery checks each landed
record against them). The table is computed as ``GET /api/spend`` computes it after the access check
(``dags_in_window`` then ``spend_table``): once with an empty cache, then ``--repeat`` times cached.

Goal: the cached table in under a second on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

GOAL_SECONDS = 1.0
BUCKET = "openai-images-demo"


def records(prefix: str, images: int, run: int, *, batch: bool) -> list[list[dict[str, Any]]]:
    """A bulk task's return value: one list per item, one record per item."""
    per_item = []
    for item in range(images):
        key = f"{prefix}/item-{item:05d}/000.png"
        if item % 25 == 3:
            per_item.append([{"status": "rejected", "s3_uri": None, "model": "gpt-image-2.5-flare",
                              "request_id": f"req_{run}_{item}", "code": "moderation_blocked", "cost_usd": 0.0,
                              "message": "Your request was rejected by the safety system.",
                              "failure_kind": "rejected"}])  # fmt: skip
            continue
        if item % 50 == 7:
            per_item.append([{"status": "failed", "s3_uri": None, "model": "gpt-image-2.5-flare", "request_id": None,
                              "code": None, "cost_usd": None, "message": "The request may have been billed: ...",
                              "failure_kind": "possibly_billed", "possibly_billed_cost_usd": 0.011}])  # fmt: skip
            continue
        record = {
            "status": "landed", "s3_uri": f"s3://{BUCKET}/{key}", "bucket": BUCKET, "key": key,
            "content_type": "image/png", "width": 1024, "height": 1024, "size_bytes": 1_843_211,
            "sha256": hashlib.sha256(key.encode()).hexdigest(), "model": "gpt-image-2.5-flare",
            "revised_prompt": None, "request_id": f"req_{run}_{item}", "index": 0,
            "metadata_uri": f"s3://{BUCKET}/{key[:-4]}.json", "thumbnail_uri": f"s3://{BUCKET}/{key[:-4]}.thumb.webp",
            "cost_usd": 0.0055 if batch else 0.011,
        }  # fmt: skip
        if batch:
            record["batch_id"] = f"batch_{run}"
        per_item.append([record])
    return per_item


def seed(path: Path, *, runs: int, images: int, dags: int, today: date) -> set[str]:
    """The metadata database at ``path`` with ``runs`` runs; the DAG ids."""
    from airflow.models import import_all_models
    from airflow.models.base import Base
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel

    from airflow_provider_openai_images.keys import task_instance_prefix

    import_all_models()
    engine = sa.create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    dag_ids = [f"images_team_{number:02d}" for number in range(dags)]
    start = datetime.combine(today - timedelta(days=29), clock.min, tzinfo=timezone.utc)
    step = timedelta(days=30) / runs
    with Session(engine) as session:
        for number in range(runs):
            dag_id, at = dag_ids[number % dags], start + step * number
            run_id = f"scheduled__{at.isoformat()}"
            row = {"dag_id": dag_id, "run_id": run_id, "logical_date": at, "run_after": at, "state": "success"}
            row |= {"run_type": "scheduled", "clear_number": 0, "span_status": "ended", "end_date": at}
            key = session.execute(sa.insert(DagRun.__table__).values(**row)).inserted_primary_key[0]
            prefix = task_instance_prefix(None, dag_id=dag_id, run_id=run_id, task_id="generate", map_index=None)
            values = {
                "prompts": [f"A watercolour postcard, number {item}" for item in range(images)],
                "generate": records(prefix, images, number, batch=number % 3 == 0),
            }
            for task_id, value in values.items():
                xcom = {"dag_run_id": key, "task_id": task_id, "map_index": -1, "key": "return_value"}
                xcom |= {"dag_id": dag_id, "run_id": run_id, "value": XComModel.serialize_value(value), "timestamp": at}
                session.execute(sa.insert(XComModel.__table__).values(**xcom))
            fields = {"s3_bucket": BUCKET, "s3_key_prefix": None}
            session.execute(sa.insert(RenderedTaskInstanceFields.__table__).values(
                dag_id=dag_id, task_id="generate", run_id=run_id, map_index=-1, rendered_fields=fields))  # fmt: skip
        session.commit()
    return set(dag_ids)


def table(path: Path, dag_ids: set[str], today: date, cache: Any) -> tuple[float, Any]:
    """Seconds to compute the table as the endpoint does (a new session, as per request), and the table."""
    from airflow_provider_openai_images.ui import spend

    engine = sa.create_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        begin = time.perf_counter()
        _, start, end = spend.window(today)
        asked = spend.dags_in_window(session, start, end) & dag_ids
        result = spend.spend_table(session, asked, today=today, cache=cache)
        return time.perf_counter() - begin, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--dags", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()

    from airflow_provider_openai_images.ui.spend import RunCache

    today = datetime.now(timezone.utc).date()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "airflow.db"
        begin = time.perf_counter()
        dag_ids = seed(path, runs=arguments.runs, images=arguments.images, dags=arguments.dags, today=today)
        print(f"seeded {arguments.runs} runs x {arguments.images} images over 30 days and {arguments.dags} DAGs "
              f"({path.stat().st_size / 1e6:.1f} MB SQLite) in {time.perf_counter() - begin:.1f} s")  # fmt: skip
        cache = RunCache()
        uncached, first = table(path, dag_ids, today, cache)
        cached_times = []
        for _ in range(arguments.repeat):
            seconds, again = table(path, dag_ids, today, cache)
            assert again == first, "the cached table is the table"
            cached_times.append(seconds)

    totals = first.totals
    print(f"table: {len(first.rows)} rows, {totals.runs} runs, {totals.images_landed} landed, "
          f"{totals.images_rejected} rejected, {totals.images_failed} failed, ${totals.cost_usd:,.2f}, "
          f"saved ${totals.saved_usd:,.2f} ({totals.saved_share:.1%})")  # fmt: skip
    cached = statistics.median(cached_times)
    print(f"{'':<10}{'seconds':>10}{'vs 1 s':>10}")
    print(f"{'uncached':<10}{uncached:>10.3f}{uncached / GOAL_SECONDS:>9.2f}x")
    print(f"{'cached':<10}{cached:>10.3f}{cached / GOAL_SECONDS:>9.2f}x   (median of {arguments.repeat}; "
          f"best {min(cached_times):.3f} s)")  # fmt: skip
    print(f"goal: cached under {GOAL_SECONDS:.0f} s: {'met' if cached < GOAL_SECONDS else 'NOT met'}")


if __name__ == "__main__":
    main()
