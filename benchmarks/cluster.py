"""A day's prompts on a real Celery cluster: what the bulk operator costs Airflow; prints a table, not a test.

Run: ``.venv/bin/python benchmarks/cluster.py`` (``make bench-cluster``; about 8 minutes at the defaults).

The cluster is :class:`tests.support.cluster.CeleryCluster`: a private Postgres (the metadata database and
Celery's result backend) and Redis, scheduler, dag-processor, triggerer, API server and two Celery workers of
``worker_concurrency=2`` slots, so that the four tasks all run at once, one slot each, and none waits for a slot.
The Images API is the package's emulator in this process, ``L`` seconds per image (``--latency``); S3 is moto's
server. One DAG (``benchmarks/cluster_dags/``, built twice: non-deferrable and ``deferrable=True``) lands
N = ``--tasks`` x ``--prompts-per-task`` images (default 4 x 250 = 1,000), each one an asset event; it runs once
per mode, one after the other, on the same cluster.

R, the account's rate (``--images-per-minute``, default 600): the rate the account may generate images at, so
N/R (100 s at the defaults) is the least wall time any design allows. The tasks share it: each is paced to R
divided by the tasks (``images_per_minute=150``), with ``max_concurrency`` twice the requests its pace keeps in
flight (``ceil(2 * R / tasks / 60 * L)``) so the pace, not the pool, sets the speed. The emulator enforces R
(``ImagesAPIEmulator(images_per_minute=R)``): a token bucket of R/60 images a second holding one second's
worth, a 429 with ``Retry-After`` beyond it. Overshoot shows as 429s.

What is measured, per mode:

- wall: from the first task instance's start to the last one's end (their ``start_date``, ``end_date``), and
  from the REST API's trigger to the run's success as polled (every 0.25 s); each against N/R.
- worker-slot seconds per image: the time Celery's pool processes ran the cluster's tasks, from the workers'
  own logs (``Task ...execute_workload[id] succeeded in 12.3s``, logged by the pool process that ran it: the
  slot was taken for exactly that long). A deferred task is two Celery tasks (up to the deferral, from the
  resumption), so the deferral itself is not counted. The task logs' timestamps give the same stretches from
  inside the task process (``Pre Execute`` to the last line): the slot time less the supervisor's start and
  end. Airflow's own ``duration`` of the task instances is shown beside them: for a deferred task it spans
  the deferral.
- peak memory of each worker and of the triggerer: every 0.5 s, by a process of its own (a thread here falls
  behind the emulator's), the sum over the component's whole process tree (the Celery worker, its pool forks,
  the task processes they start, its log server) of RSS, and of PSS (shared pages divided among the processes
  that map them, so a fork's copy-on-write pages count once); the peak of the run (``memory_sampler.py``).
- Postgres: ``pg_stat_user_tables`` counters (rows inserted, updated, deleted) per table, read after the
  previous run and again after this one, with 11 s to settle each time (a backend reports its counters within
  10 s of going idle); divided by N. An idle cluster writes too (heartbeats): its rate, measured for 20 s before
  the first run, is shown for the same time. The database's size (``pg_database_size``) before and after.
- XCom bytes per image: ``octet_length(value::text)`` of the run's ``xcom`` rows (and ``pg_column_size``, as
  stored), over N. Above ``max_xcom_records`` (100) records a bulk task returns a summary, not its records.

The non-deferrable run comes first, on workers that have run nothing yet. The emulator's images are drawings
(small PNGs), not 3 MB pictures. The machine is small and may be shared: the load average is printed before and
after.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import support  # noqa: F401  first: it puts the repository root on sys.path
from cluster_metrics import (
    KEY_TABLES,
    STATS_SETTLE_SECONDS,
    CeleryLogs,
    Metadata,
    TableStats,
    task_stretches,
)
from memory_sampler import MemorySampler

from airflow_provider_openai_images.testing import ImagesAPIEmulator
from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from tests.support.cluster import WORKERS, CeleryCluster

DAGS = Path(__file__).resolve().parent / "cluster_dags"
BUCKET = "openai-images-bench"
COMMAND = ".venv/bin/python benchmarks/cluster.py"
MODES = {"non-deferrable": "bench_cluster", "deferrable": "bench_cluster_deferred"}
WORKER_CONCURRENCY = 2
IDLE_SECONDS = 20.0
MB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts-per-task", type=int, default=250)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per image request (L)")
    parser.add_argument("--images-per-minute", type=float, default=600.0, help="the account's rate (R)")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(args)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import version

    count = args.tasks * args.prompts_per_task
    pace = args.images_per_minute / args.tasks
    concurrency = max(2, math.ceil(2 * pace / 60 * args.latency))
    print(f"Reproduce: {COMMAND}{' '.join(['', *sys.argv[1:]])}")
    print(
        f"{os.cpu_count()} CPUs (load average {_load()} at the start), Python {platform.python_version()}, "
        f"apache-airflow {version('apache-airflow')}, celery {version('celery')}\n"
        f"N={count} prompts as {args.tasks} bulk tasks of {args.prompts_per_task}, L={args.latency:g}s, "
        f"R={args.images_per_minute:g}/min (each task images_per_minute={pace:g}, max_concurrency={concurrency}); "
        f"2 Celery workers x {WORKER_CONCURRENCY} slots"
    )
    env = {
        "OPENAI_IMAGES_BENCH_TASKS": str(args.tasks),
        "OPENAI_IMAGES_BENCH_PROMPTS_PER_TASK": str(args.prompts_per_task),
        "OPENAI_IMAGES_BENCH_TASK_PACE": str(pace),
        "OPENAI_IMAGES_BENCH_CONCURRENCY": str(concurrency),
    }
    started = time.monotonic()
    with (
        ImagesAPIEmulator(latency=args.latency, images_per_minute=args.images_per_minute) as emulator,
        MotoS3Server() as s3,
        CeleryCluster(
            DAGS, env=env, images_api=emulator, s3=s3, buckets=[BUCKET], worker_concurrency=WORKER_CONCURRENCY,
            min_file_process_interval=3600,
        ) as cluster,
    ):  # fmt: skip
        metadata = Metadata(cluster.database_url)
        try:
            time.sleep(STATS_SETTLE_SECONDS)  # the start's counters reported
            idle_before = metadata.stats()
            time.sleep(IDLE_SECONDS)
            idle = idle_before, metadata.stats()
            print(f"cluster ready in {time.monotonic() - started:.0f}s (not counted)\n")
            results = {mode: measure(cluster, metadata, emulator, MODES[mode], count, args) for mode in args.modes}
        finally:
            metadata.close()
    report(results, idle, count, args.images_per_minute)
    print(f"\nload average {_load()} at the end")
    return {"n": count, "args": {k: str(v) for k, v in vars(args).items()}, "modes": results}


def measure(
    cluster: CeleryCluster,
    metadata: Metadata,
    emulator: ImagesAPIEmulator,
    dag_id: str,
    count: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One run of ``dag_id``, watched from the trigger until the workers and Postgres's counters are done."""
    logs = CeleryLogs({name: cluster.home / "component-logs" / f"{name}.log" for name in WORKERS})
    before, billed, cpu = metadata.stats(), emulator.billed_images, cluster.cpu_seconds()
    since, refused = time.monotonic(), emulator.rate_limited
    sampler = MemorySampler({name: cluster.processes[name].pid for name in [*WORKERS, "triggerer"]})
    sampler.start()
    triggered = time.monotonic()
    run_id = cluster.trigger(dag_id)
    state = cluster.wait(dag_id, run_id, timeout=3 * count / args.images_per_minute * 60 + 300)
    to_success = time.monotonic() - triggered

    def workers_done() -> tuple[dict[str, list[float]], int] | None:
        runtimes, pending = logs.slot_seconds()
        return (runtimes, pending) if pending == 0 and sum(map(len, runtimes.values())) >= args.tasks else None

    runtimes, _ = cluster.poll(workers_done, 60, "the workers to log their tasks' end")
    sampler.stop()
    cpu = cluster.cpu_seconds() - cpu
    time.sleep(STATS_SETTLE_SECONDS)
    after = metadata.stats()
    if state != "success":
        raise RuntimeError(f"{dag_id} run {run_id}: {state} (logs in {cluster.home}/component-logs)")
    tis = [ti for ti in cluster.task_instances(dag_id, run_id) if ti["task_id"].startswith("generate_")]
    stretches = [task_stretches(cluster.task_log(dag_id, run_id, ti["task_id"], ti["try_number"])) for ti in tis]
    starts = [datetime.fromisoformat(ti["start_date"]) for ti in tis]
    ends = [datetime.fromisoformat(ti["end_date"]) for ti in tis]
    return {
        "run_id": run_id,
        "wall_tasks": (max(ends) - min(starts)).total_seconds(),
        "wall_trigger_to_success": to_success,
        "ideal": count / args.images_per_minute * 60,
        "billed_images": emulator.billed_images - billed,
        "429s": emulator.rate_limited - refused,
        "peak_1s": emulator.peak_images_per(1.0, since),
        "peak_60s": emulator.peak_images_per(60.0, since),
        "slot_seconds": {name: sum(values) for name, values in runtimes.items()},
        "celery_tasks": sum(map(len, runtimes.values())),
        "task_process_seconds": [sum(parts[0] for parts in stretches), sum(sum(parts[1:]) for parts in stretches)],
        "ti_durations": sum(ti["duration"] or 0.0 for ti in tis),
        "tries": sum(ti["try_number"] for ti in tis),
        "cpu_seconds": cpu,
        "peak_rss": sampler.peak_rss,
        "peak_pss": sampler.peak_pss,
        "start_rss": sampler.start_rss,
        "memory_sampling": sampler.timing,
        "rows": {table: list(counts) for table, counts in after.minus(before).items()},
        "window": after.at - before.at,
        "database_bytes": after.database_bytes - before.database_bytes,
        "xcom": metadata.xcom(dag_id, run_id),
    }


def report(results: dict[str, dict[str, Any]], idle: tuple[TableStats, TableStats], count: int, rate: float) -> None:
    columns = list(results.values())
    both = len(columns) == 2
    print(f"{'':54}" + "".join(f"{mode:>16}" for mode in results) + (f"{'def/non':>10}" if both else ""))

    def row(label: str, values: list[float], form: str = "{:.1f}", compare: bool = True) -> None:
        ratio = f"{values[-1] / values[0]:.2f}x" if both and compare and values[0] else ""
        print(f"{label:54}" + "".join(f"{form.format(value):>16}" for value in values) + f"{ratio:>10}")

    def each(key: str, scale: float = 1.0) -> list[float]:
        return [float(r[key]) / scale for r in columns]

    ideal = columns[0]["ideal"]
    row("wall, first task start to last task end (s)", each("wall_tasks"))
    row(f"  / N/R = {ideal:.1f}s", each("wall_tasks", ideal), "{:.2f}x", False)
    row("wall, trigger to success (s)", each("wall_trigger_to_success"))
    row(f"  / N/R = {ideal:.1f}s", each("wall_trigger_to_success", ideal), "{:.2f}x", False)
    row("images billed (N: each prompt once)", each("billed_images"), "{:.0f}", False)
    row("429s from the account's limit", each("429s"), "{:.0f}", False)
    row(f"most image requests let through in 1 s (R/60 = {rate / 60:g})", each("peak_1s"), "{:.0f}", False)
    row(f"  in 60 s (R = {rate:g})", each("peak_60s"), "{:.0f}", False)
    slots = [sum(r["slot_seconds"].values()) for r in columns]
    process = [sum(r["task_process_seconds"]) for r in columns]
    row("worker-slot s per image (Celery's run times)", [value / count for value in slots], "{:.4f}")
    row("  Celery tasks run (a deferred task is two)", each("celery_tasks"), "{:.0f}", False)
    row(
        "  task process s per image, before deferring",
        [r["task_process_seconds"][0] / count for r in columns],
        "{:.4f}",
    )
    row("    after resuming", [r["task_process_seconds"][1] / count for r in columns], "{:.4f}", False)
    outside = [(slot - busy) / r["celery_tasks"] for slot, busy, r in zip(slots, process, columns, strict=True)]
    row("  slot s outside the task process, per Celery task", outside, "{:.2f}")
    row("Airflow's task durations, s per image", each("ti_durations", count), "{:.4f}")
    row("CPU s per image, every Airflow process", each("cpu_seconds", count), "{:.4f}")
    for name in [*WORKERS, "triggerer"]:
        row(f"peak RSS of {name}'s process tree (MB)", [r["peak_rss"][name] / MB for r in columns], "{:.0f}")
        row("  its peak PSS (MB)", [r["peak_pss"][name] / MB for r in columns], "{:.0f}")
        row("  its RSS at the trigger (MB)", [r["start_rss"].get(name, 0) / MB for r in columns], "{:.0f}", False)
    row("XCom bytes per image (value as text)", [r["xcom"]["bytes"] / count for r in columns], "{:.0f}")
    row("  as stored (pg_column_size)", [r["xcom"]["stored_bytes"] / count for r in columns], "{:.0f}")
    row("  XCom rows of the run", [r["xcom"]["rows"] for r in columns], "{:.0f}", False)
    row("database growth (pg_database_size), bytes per image", each("database_bytes", count), "{:.0f}")

    idle_rows, idle_seconds = idle[1].minus(idle[0]), idle[1].at - idle[0].at
    tables = sorted({*KEY_TABLES, *(table for r in columns for table in r["rows"])}, key=_table_order)
    print("\nPostgres rows per image: inserted, updated, deleted; idle: what an idle cluster writes in the same time")
    print(f"{'':30}" + "".join(f"{mode:>36}" for mode in results))
    print(f"{'table':30}" + f"{'ins':>9}{'upd':>9}{'del':>9}{'idle':>9}" * len(columns))
    for table in [*tables, "total"]:
        cells = ""
        for r in columns:
            written = _rows(r["rows"], table)
            background = sum(_rows(idle_rows, table)) * r["window"] / idle_seconds
            cells += "".join(f"{value / count:9.3f}" for value in (*written, background))
        print(f"{table:30}{cells}")
    keys = {r["xcom"]["keys"] for r in columns}
    timing = [r["memory_sampling"] for r in columns]
    samples = "; ".join(
        f"{t['samples']} samples, {t['mean_interval']:.2f}s apart, at most {t['max_interval']:.2f}s" for t in timing
    )
    print(
        "\nwall: the task instances' start_date and end_date; trigger to success as polled through the REST API.\n"
        "worker-slot: Celery's 'succeeded in' of every task the workers ran; task process: its log, from\n"
        "'Pre Execute' to its last line. Airflow's durations span a deferral. Memory: the sum over the process\n"
        f"tree, sampled every 0.5s by a process of its own:\n  {samples}.\n"
        f"XCom keys: {' / '.join(sorted(keys))}.\nPostgres: pg_stat_user_tables over the run and "
        f"{STATS_SETTLE_SECONDS:g}s after it; idle measured for {idle_seconds:.0f}s before the first run.\n"
        "New assets are activated (asset_active) when the scheduler next looks: some in the next run's window."
    )


def _rows(rows: dict[str, Any], table: str) -> tuple[int, int, int]:
    if table == "total":
        return (sum(c[0] for c in rows.values()), sum(c[1] for c in rows.values()), sum(c[2] for c in rows.values()))
    ins, upd, dele = rows.get(table, (0, 0, 0))
    return ins, upd, dele


def _table_order(table: str) -> tuple[int, str]:
    return (KEY_TABLES.index(table) if table in KEY_TABLES else len(KEY_TABLES), table)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
