"""The Spend view's arithmetic (``ui/spend.py``): what each record adds, totals that are the sum of the rows,
rows that partition the runs and their records, a CSV that reads back as the page's table, and a cache that
reads a finished run once and a running one every time.

The runs of the last tests are in an in-memory SQLite holding Airflow's own tables, so the queries are the
ones the API server runs, and the records are read through the gallery's ``find_records``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from airflow_provider_openai_images.ui import spend
from airflow_provider_openai_images.ui.schemas import SpendFigures, SpendTable
from airflow_provider_openai_images.ui.spend import RunCache, RunSpend, Tally, aggregate, tally_records

FIGURES = [name for name in SpendFigures.model_fields if name != "saved_share"]
TODAY = date(2026, 12, 5)


def landed(cost: float | None = 0.011, **fields: Any) -> dict[str, Any]:
    return {"status": "landed", "s3_uri": "s3://b/k/000.png", "model": "m", "request_id": "r", "cost_usd": cost,
            **fields}  # fmt: skip


def rejected() -> dict[str, Any]:
    return {"status": "rejected", "s3_uri": None, "model": "m", "request_id": "r", "cost_usd": 0.0,
            "failure_kind": "rejected", "code": "moderation_blocked", "message": "no"}  # fmt: skip


def failed(kind: str = "gave_up", **fields: Any) -> dict[str, Any]:
    return {"status": "failed", "s3_uri": None, "model": "m", "request_id": None, "cost_usd": None,
            "failure_kind": kind, "code": None, "message": "failed", **fields}  # fmt: skip


def test_each_record_adds_what_it_says() -> None:
    tally = tally_records([
        landed(0.011), landed(None), landed(0.0055, batch_id="batch_1"), landed(None, batch_id="batch_1"),
        rejected(), failed(), failed("possibly_billed", possibly_billed_cost_usd=0.04),
        failed("possibly_billed", possibly_billed_cost_usd=None), failed("possibly_billed"),
        {"status": "landed"}, "not a record",  # type: ignore[list-item]
    ])  # fmt: skip
    assert tally == Tally(
        images_landed=4, images_rejected=1, images_failed=4, cost=16_500, unpriced=2, possibly_billed=3,
        possibly_billed_cost=40_000, possibly_billed_unpriced=2, batch_images=2, saved=5_500,
    )  # fmt: skip
    figures = SpendFigures(**tally.figures(runs=1))
    assert figures.cost_usd == 0.0165
    assert figures.saved_usd == 0.0055
    assert figures.saved_share == 0.25, "0.0055 saved of 0.022 at synchronous prices"
    assert figures.possibly_billed_cost_usd == 0.04


def test_a_failure_record_says_its_kind_and_at_most_what_it_cost() -> None:
    from airflow_provider_openai_images.jobs.failures import item_failure
    from airflow_provider_openai_images.records import failure_record

    failure = item_failure("possibly_billed", "The request may have been billed", request_id="req_1")
    failure["possibly_billed_cost_usd"] = 0.04
    record = failure_record(failure, model="m")
    assert (record["status"], record["failure_kind"], record.get("possibly_billed_cost_usd")) == (
        "failed", "possibly_billed", 0.04,
    )  # fmt: skip
    assert tally_records([record]) == Tally(images_failed=1, possibly_billed=1, possibly_billed_cost=40_000)
    refusal = failure_record(item_failure("rejected", "no", code="moderation_blocked"), model="m")
    assert (refusal["status"], refusal["failure_kind"], refusal["cost_usd"]) == ("rejected", "rejected", 0.0)
    assert "possibly_billed_cost_usd" not in refusal


def test_a_record_of_another_version_without_a_failure_kind_is_failed_but_not_possibly_billed() -> None:
    old = failed()
    del old["failure_kind"]
    assert tally_records([old]) == Tally(images_failed=1)


def test_nothing_spent_has_no_share_saved() -> None:
    assert SpendFigures(**Tally().figures(0)).saved_share is None


money = st.one_of(st.none(), st.integers(0, 200_000).map(lambda micro: micro / 1_000_000))
records = st.lists(
    st.one_of(
        st.builds(landed, money),
        st.builds(lambda cost: landed(cost, batch_id="batch_x"), money),
        st.just(rejected()),
        st.builds(failed, st.sampled_from(["gave_up", "refused", "not_landed", "rate_limited"])),
        st.builds(lambda cost: failed("possibly_billed", possibly_billed_cost_usd=cost), money),
    ),
    max_size=8,
)
#: Airflow's run ids (``[scheduler] allowed_run_id_pattern``, and what it makes itself): no spaces
run_ids = st.from_regex(r"[A-Za-z0-9_.~:+-]{1,24}", fullmatch=True)
runs = st.lists(
    st.tuples(st.sampled_from(["bulk", "batch", "=cmd", "single.dag"]), run_ids, st.integers(0, 3), records),
    max_size=25,
    unique_by=lambda run: (run[0], run[1]),
)


def _spent(generated: list[tuple[str, str, int, list[dict[str, Any]]]]) -> list[RunSpend]:
    return [RunSpend(dag, run, TODAY - timedelta(days=ago), tally_records(rs)) for dag, run, ago, rs in generated]


@settings(max_examples=150, deadline=None)
@given(runs)
def test_the_totals_are_the_sum_of_the_rows_and_the_rows_partition_the_runs_and_records(
    generated: list[tuple[str, str, int, list[dict[str, Any]]]],
) -> None:
    table = aggregate(_spent(generated), since=TODAY - timedelta(days=29), until=TODAY)
    for name in FIGURES:
        assert getattr(table.totals, name) == pytest.approx(sum(getattr(row, name) for row in table.rows), abs=1e-9)
    with_records = {(dag, run, ago) for dag, run, ago, rs in generated if rs}
    in_rows = [(row.dag_id, run, (TODAY - row.day).days) for row in table.rows for run in row.run_ids]
    assert sorted(in_rows) == sorted(with_records), "each run with records in one row: its DAG and day"
    everything = tally_records(record for *_, rs in generated for record in rs)
    assert table.totals == SpendFigures(**everything.figures(len(with_records))), "each record counted once"
    assert [(row.day, row.dag_id) for row in table.rows] == sorted(
        ((row.day, row.dag_id) for row in table.rows), key=lambda key: (-key[0].toordinal(), key[1])
    ), "newest day first, then by DAG, one row each"
    assert len({(row.day, row.dag_id) for row in table.rows}) == len(table.rows)


@settings(max_examples=150, deadline=None)
@given(runs)
def test_the_csv_reads_back_as_the_table(generated: list[tuple[str, str, int, list[dict[str, Any]]]]) -> None:
    table = aggregate(_spent(generated), since=TODAY - timedelta(days=29), until=TODAY)
    assert csv_table(spend.to_csv(table), table) == table


def csv_table(text: str, like: SpendTable) -> SpendTable:
    """The table the CSV holds (``since``/``until`` are not in it: taken from ``like``)."""
    lines = spend.from_csv(text)
    assert list(lines[0]) == list(spend.CSV_COLUMNS)
    *rows, totals = lines
    assert totals["day"] == "total"

    def figures(line: dict[str, str]) -> dict[str, Any]:
        parsed: dict[str, Any] = {name: (float if name.endswith("usd") else int)(line[name]) for name in FIGURES}
        parsed["saved_share"] = float(line["saved_share"]) if line["saved_share"] else None
        return parsed

    return SpendTable(
        since=like.since,
        until=like.until,
        rows=[
            {**figures(line), **{key: line[key] for key in ("day", "dag_id")}, "run_ids": line["run_ids"].split()}
            for line in rows
        ],
        totals=SpendFigures(**figures(totals)),
    )


def test_a_cell_a_spreadsheet_would_run_is_guarded() -> None:
    table = aggregate([RunSpend("=cmd", "+run", TODAY, tally_records([landed()]))], since=TODAY, until=TODAY)
    text = spend.to_csv(table)
    assert "'=cmd" in text
    assert "'+run" in text
    assert spend.from_csv(text)[0]["dag_id"] == "=cmd"


# --- runs in the metadata database, read through find_records, cached per run ---


@pytest.fixture
def session() -> Iterator[Session]:
    """Airflow's own tables in an in-memory SQLite (foreign keys not enforced: no task instance rows)."""
    from airflow.models import import_all_models
    from airflow.models.base import Base

    import_all_models()
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def add_run(
    session: Session, dag_id: str, run_id: str, at: datetime, state: str, values: list[Any], *, logical: bool = True
) -> int:
    """A run of ``dag_id`` after ``at`` (its logical date too, unless not ``logical``) whose ``generate`` task
    returned each of ``values`` (one per map index)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel

    columns = {"dag_id": dag_id, "run_id": run_id, "logical_date": at if logical else None, "run_after": at}
    columns["state"] = state
    columns |= {"run_type": "manual", "clear_number": 0, "span_status": "ended"}
    run_key = session.execute(sa.insert(DagRun.__table__).values(**columns)).inserted_primary_key[0]
    for map_index, value in enumerate(values):
        xcom = {"dag_run_id": run_key, "task_id": "generate", "map_index": map_index, "key": "return_value"}
        xcom |= {"dag_id": dag_id, "run_id": run_id, "value": XComModel.serialize_value(value)}
        session.execute(sa.insert(XComModel.__table__).values(**xcom, timestamp=at))
    session.commit()
    return int(run_key)


def noon(days_ago: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), timezone.utc) + timedelta(hours=12)


def test_runs_of_the_window_by_day_and_dag_only_the_dags_asked_for(session: Session) -> None:
    add_run(session, "bulk", "a", noon(0), "success", [[[landed(0.01)], [rejected()]]])
    add_run(session, "bulk", "b", noon(0), "success", [[[landed(0.02)], [failed("possibly_billed")]]], logical=False)
    add_run(session, "bulk", "c", noon(3), "success", [[[landed(0.03, batch_id="batch_1")]]])
    add_run(session, "bulk", "old", noon(30), "success", [[[landed(5.0)]]])  # a day before the window
    add_run(session, "secret", "s", noon(0), "success", [[landed(7.0)]])
    add_run(session, "other", "not-images", noon(0), "success", ["a path", {"rows": 3}])
    add_run(session, "other", "no-values", noon(1), "success", [])
    assert spend.dags_in_window(session, *spend.window(TODAY)[1:]) == {"bulk", "secret", "other"}

    table = spend.spend_table(session, {"bulk", "other"}, today=TODAY, cache=RunCache())
    assert [(row.day, row.dag_id, row.run_ids) for row in table.rows] == [
        (TODAY, "bulk", ["a", "b"]),
        (TODAY - timedelta(days=3), "bulk", ["c"]),
    ]
    assert (table.totals.images_landed, table.totals.images_rejected, table.totals.images_failed) == (3, 1, 1)
    assert table.totals.cost_usd == 0.06, "the secret DAG's 7.0 and the old run's 5.0 are not in it"
    assert (table.totals.possibly_billed, table.totals.possibly_billed_unpriced) == (1, 1)
    assert (table.totals.batch_images, table.totals.saved_usd, table.totals.saved_share) == (1, 0.03, 0.3333)
    assert table.since == TODAY - timedelta(days=29)


def returned(session: Session, run_id: str, value: Any, at: datetime) -> None:
    """The run's ``generate`` task returned ``value`` at ``at`` (a retry, or an edit through the REST API)."""
    from airflow.models.xcom import XComModel

    xcom = XComModel.__table__
    session.execute(sa.update(xcom).where(xcom.c.run_id == run_id).values(
        value=XComModel.serialize_value(value), timestamp=at))  # fmt: skip
    session.commit()


class Counting:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        real = spend.find_records

        def counted(session: Session, dag_id: str, run_id: str, *args: Any) -> Any:
            self.calls.append(run_id)
            return real(session, dag_id, run_id, *args)

        monkeypatch.setattr(spend, "find_records", counted)


def test_a_finished_run_is_read_once_a_running_one_every_time_and_a_changed_one_again(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.dagrun import DagRun

    add_run(session, "bulk", "done", noon(1), "success", [[[landed(0.01)]]])
    running = add_run(session, "bulk", "going", noon(0), "running", [[[landed(0.01)]]])
    cache, counting = RunCache(), Counting(monkeypatch)
    first = spend.spend_table(session, {"bulk"}, today=TODAY, cache=cache)
    second = spend.spend_table(session, {"bulk"}, today=TODAY, cache=cache)
    assert first == second
    assert counting.calls == ["done", "going", "going"]
    assert len(cache) == 1

    # the running run finishes with another image; then an "op" user edits the finished run's return value
    returned(session, "going", [[landed(0.01)], [landed(0.01)]], noon(0) + timedelta(hours=1))
    session.execute(sa.update(DagRun.__table__).where(DagRun.__table__.c.id == running).values(state="success"))
    session.commit()
    assert spend.spend_table(session, {"bulk"}, today=TODAY, cache=cache).totals.images_landed == 3
    assert spend.spend_table(session, {"bulk"}, today=TODAY, cache=cache).totals.images_landed == 3
    assert counting.calls == ["done", "going", "going", "going"], "finished now: read once more, then cached"
    returned(session, "done", [[landed(0.5)]], noon(0) + timedelta(hours=2))
    assert spend.spend_table(session, {"bulk"}, today=TODAY, cache=cache).totals.cost_usd == 0.52
    assert counting.calls[-1] == "done", "its return value changed: read again"


def test_the_cache_keeps_at_most_its_size_the_least_recently_used_going_first() -> None:
    cache = RunCache(max_runs=2)
    runs = [spend.RunInWindow("d", name, TODAY, "success", (1,)) for name in "abc"]
    for run in runs:
        cache.put(run, Tally(images_landed=1))
    assert len(cache) == 2
    assert cache.get(runs[0]) is None
    assert cache.get(runs[2]) == Tally(images_landed=1)
    assert cache.get(spend.RunInWindow("d", "c", TODAY, "success", (2,))) is None, "another version"
    assert cache.get(spend.RunInWindow("d", "c", TODAY, "running", (1,))) is None, "running again (cleared)"
