"""What the bulk operator costs and how fast it goes, against its references; prints a table, not a test.

Run: ``.venv/bin/python benchmarks/bulk.py`` (``make bench``). The AsyncOpenAI column needs the
``benchmark`` extra: ``.venv/bin/python -m pip install -e '.[benchmark]'``.

Everything runs on this machine: the Images API is the package's emulator in its own process (a fixed
latency per request, real HTTP), S3 is moto's server (real HTTP). Three parts:

1. One bulk task's job, run as the worker runs it: ``OpenAIBulkGenerateImagesOperator.execute`` called
   in this process with a minimal context (``deferrable=False``), timed around ``execute`` only; against
   the bound ``ceil(N/c) * L`` and against a script doing the same with ``AsyncOpenAI`` and boto3.
2. The same with ``images_per_minute=R``: wall against ``N/R``, and the pace of request starts read
   from the images' sidecars.
3. A real Airflow (:class:`LocalAirflow`, ``parallelism`` slots): mapped ``OpenAIGenerateImageOperator``
   task instances vs one bulk task vs the same bulk task deferrable (``benchmarks/dags/bench.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-home-")  # before anything imports Airflow
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

from support import EmulatorProcess, quiet  # first: it puts the repository root on sys.path

from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
from tests.support.local_airflow import LocalAirflow

DAGS = Path(__file__).resolve().parent / "dags"
BUCKET = "openai-images-demo"
REQUEST: dict[str, Any] = {"model": "gpt-image-2.5-flare", "size": "1024x1024", "quality": "low"}
COMMAND = ".venv/bin/python benchmarks/bulk.py"


def prompts(count: int, label: str) -> list[str]:
    return [f"A watercolour postcard {label}, number {number}" for number in range(count)]


def cpu_of(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


@dataclass
class Measure:
    wall: float
    client_cpu: float  # this process: the event loop and its threads
    server_cpu: float  # the emulator's and moto's processes

    def cpu_floor(self, cores: int) -> float:
        return (self.client_cpu + self.server_cpu) / cores


LOG = Path(tempfile.mkstemp(prefix="bench-bulk-", suffix=".log")[1])


@contextmanager
def measuring(servers: list[psutil.Process]) -> Iterator[Callable[[], Measure]]:
    """Wall and CPU of the block, quiet; the measure is read after the block."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    served = sum(map(cpu_of, servers))
    start = time.perf_counter()
    result: list[Measure] = []
    with quiet(LOG):
        yield lambda: result[0]
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    client = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result.append(Measure(wall, client, sum(map(cpu_of, servers)) - served))


# -- part 1 and 2: the bulk job in this process, and the script a user would write ---------------------


def bulk_task(count: int, concurrency: int, label: str, images_per_minute: float | None = None) -> Callable[[], Any]:
    """The bulk operator, built (not timed) and ready to ``execute`` as a worker would, undeferred."""
    from airflow_provider_openai_images.operators import OpenAIBulkGenerateImagesOperator

    operator = OpenAIBulkGenerateImagesOperator(
        task_id="generate",
        prompts=prompts(count, label),
        max_concurrency=concurrency,
        images_per_minute=images_per_minute,
        s3_bucket=BUCKET,
        s3_key_prefix=f"bench/{label}",
        **REQUEST,
    )
    context: Any = {"dag": SimpleNamespace(dag_id="bench"), "run_id": label, "ti": SimpleNamespace(map_index=-1)}

    def execute() -> list[list[dict[str, Any]]]:
        per_item = operator.execute(context)
        assert [record["status"] for records in per_item for record in records] == ["landed"] * count
        return per_item  # type: ignore[return-value]

    return execute


def by_hand(count: int, concurrency: int, label: str, emulator: EmulatorProcess, moto: MotoS3Server) -> None:
    """What a user would write instead: AsyncOpenAI, a semaphore, boto3 ``put_object`` in threads."""
    from openai import AsyncOpenAI

    async def main() -> None:
        client = AsyncOpenAI(base_url=emulator.connection["host"], api_key=emulator.connection["password"])
        s3 = moto.client()
        slots = asyncio.Semaphore(concurrency)

        async def one(number: int, prompt: str) -> None:
            async with slots:
                answer = await client.images.generate(prompt=prompt, n=1, **REQUEST)
            body = base64.b64decode((answer.data or [])[0].b64_json or "")
            key = f"bench/{label}/{number:05d}.png"
            await asyncio.to_thread(s3.put_object, Bucket=BUCKET, Key=key, Body=body, ContentType="image/png")

        try:
            await asyncio.gather(*(one(number, prompt) for number, prompt in enumerate(prompts(count, label))))
        finally:
            await client.close()

    asyncio.run(main())
    listed = moto.client().list_objects_v2(Bucket=BUCKET, Prefix=f"bench/{label}/")
    assert listed.get("KeyCount") == count, listed.get("KeyCount")


def request_starts(moto: MotoS3Server, per_item: list[list[dict[str, Any]]]) -> list[datetime]:
    """When each request was sent (the first attempt in each image's sidecar), sorted."""
    client, starts = moto.client(), []
    for (record,) in per_item:
        body = client.get_object(Bucket=BUCKET, Key=record["metadata_uri"].removeprefix(f"s3://{BUCKET}/"))["Body"]
        starts.append(datetime.fromisoformat(json.loads(body.read())["provenance"]["attempts"][0]["started_at"]))
    return sorted(starts)


def ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


@dataclass
class Goal:
    what: str
    figure: str
    met: bool


GOALS: list[Goal] = []


def direct_part(args: argparse.Namespace, emulator: EmulatorProcess, moto: MotoS3Server, have_openai: bool) -> None:
    servers = [psutil.Process(emulator.process.pid), *moto_processes()]
    latency, cores = args.latency, os.cpu_count() or 1
    with quiet(LOG):  # imports and first connections, not measured
        bulk_task(2, 2, "warm-up")()
        if have_openai:
            by_hand(2, 2, "warm-up-by-hand", emulator, moto)
    print(f"\n1. One bulk task's job (operator.execute in this process), N prompts, c in flight, L={latency}s")
    print(
        f"   {'case':12} {'bound':>6} {'bulk s':>7} {'/bound':>7} {'script s':>8} {'/script':>8} | "
        f"CPU s: {'bulk':>5} {'script':>6} {'servers':>8} {'script':>6} | CPU floor s: {'bulk':>5} {'script':>6}"
    )
    for count, concurrency in ((40, 8), (200, 32)):
        bound = math.ceil(count / concurrency) * latency
        run = bulk_task(count, concurrency, f"bulk-{count}-{concurrency}")
        with measuring(servers) as measured_bulk:
            run()
        bulk, script = measured_bulk(), None
        if have_openai:
            with measuring(servers) as measured_script:
                by_hand(count, concurrency, f"script-{count}-{concurrency}", emulator, moto)
            script = measured_script()
        nan = float("nan")
        print(
            f"   N={count:<3} c={concurrency:<3} {bound:6.2f} {bulk.wall:7.2f} {ratio(bulk.wall, bound):>7} "
            f"{script.wall if script else nan:8.2f} {ratio(bulk.wall, script.wall if script else None):>8} | "
            f"       {bulk.client_cpu:5.2f} {script.client_cpu if script else nan:6.2f} {bulk.server_cpu:8.2f} "
            f"{script.server_cpu if script else nan:6.2f} |              {bulk.cpu_floor(cores):5.2f} "
            f"{script.cpu_floor(cores) if script else nan:6.2f}"
        )
        if count == 200:
            case = f"N={count}, c={concurrency}"
            GOALS.append(
                Goal(f"bulk wall <= 1.1x ceil(N/c)*L at {case}", ratio(bulk.wall, bound), bulk.wall <= 1.1 * bound)
            )
            if script:
                figure, met = ratio(bulk.wall, script.wall), bulk.wall <= script.wall
                GOALS.append(Goal(f"bulk no slower than AsyncOpenAI+boto3 at {case}", figure, met))
    print(
        "   bulk: per image a completeness check (PNG: chunk CRCs), sha256 and MD5, the image PUT and a\n"
        "   sidecar PUT; one listing and a manifest per job. script: one PUT per image. servers: the\n"
        "   emulator's and moto's processes.\n"
        f"   CPU floor: (client + servers CPU) / {cores} cores, the least wall this machine allows"
    )
    if not have_openai:
        print("   (no script column: .venv/bin/python -m pip install -e '.[benchmark]' installs openai)")

    count, rate, concurrency = 200, 600.0, 8  # N/R = 20 s, clearly longer than L
    run = bulk_task(count, concurrency, "paced", images_per_minute=rate)
    began = datetime.now(timezone.utc)
    with measuring(servers) as measured:
        per_item = run()
    paced, starts = measured(), request_starts(moto, per_item)
    span = (starts[-1] - starts[0]).total_seconds()
    pace = (count - 1) / span * 60 if span else float("inf")
    target, floor = count / rate * 60, (count - 1) / rate * 60 + latency
    first, tail = (starts[0] - began).total_seconds(), paced.wall - (starts[-1] - began).total_seconds() - latency
    print(f"\n2. Paced: N={count}, images_per_minute R={rate:g}, c={concurrency}, L={latency}s")
    print(f"   wall {paced.wall:.2f}s vs N/R {target:.2f}s: {ratio(paced.wall, target)}")
    print(f"   vs (N-1)/R + L = {floor:.2f}s, the least an even pace allows: {ratio(paced.wall, floor)}")
    print(
        f"   request starts: {pace:.1f}/min vs R: {ratio(pace, rate)}; first request {first:.2f}s after execute began,"
    )
    print(f"   execute ended {tail:.2f}s after the last answer was due")
    what = f"paced wall within 5% of N/R (N={count}, R={rate:g}/min)"
    GOALS.append(Goal(what, ratio(paced.wall, target), paced.wall <= 1.05 * target))


def moto_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "moto.server" in " ".join(p.cmdline())]


# -- part 3: a real Airflow -------------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Every ``every`` seconds: which LocalExecutor workers hold a task (slot time), and the memory of
    each task process (titled ``airflow worker -- <task instance id>``) and of the triggerer."""

    def __init__(self, airflow: LocalAirflow, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.airflow, self.every = airflow, every
        self.slot_seconds = 0.0
        self.busy_now = 0
        self.task_rss: dict[str, int] = {}
        self.triggerer_start = self.triggerer_rss = 0
        self._done = threading.Event()

    def run(self) -> None:
        busy, last, scheduler = 0, time.monotonic(), self.airflow.processes["scheduler"].pid
        while not self._done.wait(self.every):
            now = time.monotonic()
            self.slot_seconds += busy * (now - last)
            self.busy_now, busy, last = busy, 0, now
            for proc in self.airflow.all_processes():
                try:
                    title = " ".join(proc.cmdline()).strip()
                    if title.startswith("airflow worker -- LocalExecutor:"):
                        # an executor worker (the scheduler's child), not a task process it forked and not yet renamed
                        busy += proc.ppid() == scheduler and not title.endswith("<idle>")
                    elif title.startswith("airflow worker -- "):
                        ti_id = title.removeprefix("airflow worker -- ")
                        self.task_rss[ti_id] = max(self.task_rss.get(ti_id, 0), proc.memory_info().rss)
                except psutil.Error:
                    continue
            rss = 0
            for proc in self.airflow.all_processes("triggerer"):
                with contextlib.suppress(psutil.Error):
                    rss += proc.memory_info().rss
            self.triggerer_start = self.triggerer_start or rss
            self.triggerer_rss = max(self.triggerer_rss, rss)

    def stop(self) -> None:
        self._done.set()
        self.join()


def idle_cpu_rate(airflow: LocalAirflow, seconds: float = 5.0) -> float:
    before, start = airflow.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (airflow.cpu_seconds() - before) / (time.monotonic() - start)


def task_segments(log: str) -> list[float]:
    """Seconds of each stretch a task process ran (from its log: one per start, two for a deferred task)."""
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    segments: list[list[datetime]] = []
    for line in lines:
        if line["event"] == "::group::Pre Execute":
            segments.append([])
        if segments:
            segments[-1].append(datetime.fromisoformat(line["timestamp"]))
    return [(times[-1] - times[0]).total_seconds() for times in segments]


def observe(airflow: LocalAirflow, dag_id: str, count: int) -> dict[str, Any]:
    """Trigger ``dag_id`` and watch it to the end: wall, CPU of every Airflow process, slot time, memory."""
    sampler = Sampler(airflow)
    sampler.start()
    cpu, start = airflow.cpu_seconds(), time.monotonic()
    run_id = airflow.trigger(dag_id)
    state = airflow.wait(dag_id, run_id, timeout=900)
    wall = time.monotonic() - start
    time.sleep(2 * sampler.every)
    airflow.poll(lambda: sampler.busy_now == 0, 120, "the executor's workers to be idle")  # they finish after the run
    cpu = airflow.cpu_seconds() - cpu
    sampler.stop()
    assert state == "success", f"{dag_id}: {state}"
    tis = [ti for ti in airflow.task_instances(dag_id, run_id) if ti["task_id"] == "generate"]
    peaks = [sampler.task_rss[ti["id"]] for ti in tis if ti["id"] in sampler.task_rss]
    return {
        "wall": wall,
        "cpu": cpu,
        "slot": sampler.slot_seconds,
        "durations": sum(ti["duration"] or 0 for ti in tis),
        "segments": task_segments(airflow.task_log(dag_id, run_id, "generate")) if len(tis) == 1 else [],
        "peak_rss": max(peaks, default=0),
        "triggerer_rss": sampler.triggerer_rss - sampler.triggerer_start,
        "tis": len(tis),
    }


def airflow_part(args: argparse.Namespace, emulator: EmulatorProcess, moto: MotoS3Server) -> None:
    count, slots = args.airflow_images, args.slots
    env = {
        **emulator.env(),
        **moto.connection_env(),
        "OPENAI_IMAGES_BENCH_N": str(count),
        "OPENAI_IMAGES_BENCH_CONCURRENCY": str(slots),
    }
    started = time.monotonic()
    with LocalAirflow(DAGS, env=env, parallelism=slots, min_file_process_interval=3600) as airflow:
        ready = time.monotonic() - started
        for dag_id in ("bench_bulk", "bench_bulk_deferred"):  # warm-up: first task processes, triggerer imports
            observe(airflow, dag_id, count)
        idle = idle_cpu_rate(airflow)
        variants = ("bench_mapped", "bench_bulk", "bench_bulk_deferred")
        results = {dag_id: observe(airflow, dag_id, count) for dag_id in variants}
    mapped, bulk, deferred = results["bench_mapped"], results["bench_bulk"], results["bench_bulk_deferred"]
    print(f"\n3. A local Airflow, {slots} task slots (LocalExecutor, ready in {ready:.0f}s, not counted), N={count}")
    print(
        f"   {'variant':26} {'wall s':>6} {'ratio':>6} | {'CPU s/img':>9} {'ratio':>6} {'net':>6} {'ratio':>6} | "
        f"{'slot s/img':>10} {'ratio':>6} | {'task RSS MB':>11} {'triggerer +MB':>13}"
    )
    net_mapped = (mapped["cpu"] - idle * mapped["wall"]) / count
    for r, label in (
        (mapped, f"mapped ({mapped['tis']} task instances)"),
        (bulk, f"bulk (1 task, c={slots})"),
        (deferred, "bulk deferrable"),
    ):
        cpu, net, slot = r["cpu"] / count, (r["cpu"] - idle * r["wall"]) / count, r["slot"] / count
        print(
            f"   {label:26} {r['wall']:6.1f} {ratio(r['wall'], mapped['wall']):>6} | {cpu:9.3f} "
            f"{ratio(cpu, mapped['cpu'] / count):>6} {net:6.3f} {ratio(net, net_mapped):>6} | {slot:10.3f} "
            f"{ratio(slot, mapped['slot'] / count):>6} | {r['peak_rss'] / 2**20:11.0f} "
            f"{r['triggerer_rss'] / 2**20:13.0f}"
        )
    before, after = (deferred["segments"] + [0.0, 0.0])[:2]
    print(
        "   wall: trigger to success seen through the REST API. CPU: user+system of every Airflow process and\n"
        f"   its children over the run; net: less what the idle Airflow burns ({idle:.2f} CPU s/s). slot: time\n"
        "   LocalExecutor workers held a task, sampled every 0.1s (sums of task instance durations:\n"
        f"   mapped {mapped['durations']:.1f}s, bulk {bulk['durations']:.1f}s, deferrable {deferred['durations']:.1f}s"
        f" with its deferral); the deferrable task's process\n   ran {before:.2f}s before deferring and {after:.2f}s"
        " after resuming (its log). task RSS: peak of the largest task process.\n"
        "   triggerer +MB: peak RSS of the triggerer's processes over their RSS at the start of the run."
    )
    bulk_cpu, mapped_cpu = bulk["cpu"] / count, mapped["cpu"] / count
    GOALS.append(
        Goal("bulk CPU per image <= 1/10 of a mapped task's", ratio(bulk_cpu, mapped_cpu), bulk_cpu <= mapped_cpu / 10)
    )
    slot = deferred["slot"] / count
    figure = f"{slot:.3f}s per image, {ratio(slot, mapped['slot'] / count)} of a mapped task's"
    GOALS.append(Goal("deferrable worker-slot seconds per image near zero", figure, slot < 0.05))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per image request (L)")
    parser.add_argument("--airflow-images", type=int, default=40, help="prompts in part 3")
    parser.add_argument("--slots", type=int, default=8, help="task slots (parallelism) in part 3")
    parser.add_argument("--skip-airflow", action="store_true", help="parts 1 and 2 only")
    parser.add_argument("--airflow-only", action="store_true", help="part 3 only")
    args = parser.parse_args()
    try:
        run(args)
    finally:
        shutil.rmtree(os.environ["AIRFLOW_HOME"], ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    try:
        import openai

        have_openai, versions = True, f"openai {openai.__version__}"
    except ImportError:
        have_openai, versions = False, "openai not installed"
    from importlib.metadata import version

    print(f"Reproduce: {COMMAND}{' '.join(['', *sys.argv[1:]])}")
    print(
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, apache-airflow {version('apache-airflow')}, "
        f"{versions}; {REQUEST['model']} {REQUEST['size']} quality={REQUEST['quality']} from the emulator "
        f"(its own process, L={args.latency}s per request), moto's S3 server"
    )
    with EmulatorProcess("--latency", str(args.latency), log=LOG) as emulator, MotoS3Server() as moto:
        os.environ.update({**emulator.env(), **moto.connection_env()})
        moto.client().create_bucket(Bucket=BUCKET)
        if not args.airflow_only:
            direct_part(args, emulator, moto, have_openai)
        if not args.skip_airflow:
            airflow_part(args, emulator, moto)
    print("\nGoals")
    for goal in GOALS:
        print(f"   {'met   ' if goal.met else 'MISSED'} {goal.what}: {goal.figure}")
    print(f"(task logs of parts 1 and 2: {LOG})")


if __name__ == "__main__":
    main()
