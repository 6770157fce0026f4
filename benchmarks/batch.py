"""What landing a completed Batch API batch costs: time, and memory against the largest image; prints a table.

Run: ``.venv/bin/python benchmarks/batch.py`` (``--images N``, default 500). The baseline row needs the
``benchmark`` extra: ``.venv/bin/python -m pip install -e '.[benchmark]'`` (installs ``openai``).

Everything runs on this machine over real HTTP: the Images, Files and Batch APIs are the package's
emulator in its own process (``--incompressible-images``: noise PNGs, ~3 MB each at 1024x1024, as big
as real ones), S3 is moto's server. One batch of N generations (``gpt-image-1``, ``1024x1024``,
``quality=low``, one image each) is created and waited for, not measured; its output file (one JSONL
line per request, each holding a base64 image of several MB) is then landed, and that is measured:

- provider: ``land_batch`` (``airflow_provider_openai_images.jobs.batch.waiting``), as the triggerer runs it. It
  streams the output file and parses, decodes, checks and writes each line's image to S3 (image and
  sidecar) before reading the next line;
- baseline: what a user would write by hand: ``AsyncOpenAI.files.content`` (the whole file, as the
  official client gives it), split into lines, base64-decoded, one boto3 ``put_object`` per image.

Each landing runs in a fresh subprocess of this script (``--land-only``), after its imports and setup
(clients, connections), twice: once untraced, for the wall time and the RSS high-water growth over the
landing (``VmHWM`` in ``/proc/self/status``, reset just before through ``/proc/self/clear_refs``: what a
triggerer pod pays), once under ``tracemalloc`` (started just before the landing), for the peak of what
Python allocated during it: the primary memory figure. Both are set against the largest landed image
(decoded bytes), the largest output line and the output file's size.

Goal: the provider's peak memory during the landing is at most 3x the largest image, whatever the
size of the file (the baseline's grows with the file).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from support import EmulatorProcess, quiet

if TYPE_CHECKING:
    from airflow_provider_openai_images.core.batches import BatchObject
    from airflow_provider_openai_images.jobs.batch.record import BatchRecord
    from airflow_provider_openai_images.jobs.batch.waiting import BatchJobSpec
    from airflow_provider_openai_images.jobs.spec import JobSpec
    from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

COMMAND = ".venv/bin/python benchmarks/batch.py"
SCRIPT = Path(__file__).resolve()
BUCKET = "openai-images-batch-bench"
PREFIX = "bench/provider"  # the provider's landing (and the batch record written at submission)
BASELINE_PREFIX = "bench/baseline"
REQUEST: dict[str, Any] = {"model": "gpt-image-2.5-flare", "size": "1024x1024", "quality": "low", "n": 1}
TASK: dict[str, Any] = {"dag_id": "bench", "run_id": "bench", "task_id": "generate", "map_index": -1, "try_number": 1}
GOAL_RATIO = 3.0
MB = 1e6


# -- the batch (created and waited for, not measured) ------------------------------------------------------


def job_spec(count: int) -> JobSpec:
    from airflow_provider_openai_images.jobs.spec import JobItem

    items: list[JobItem] = [
        {
            "endpoint": "generations",
            "values": {"prompt": f"A field of noise, number {number}", **REQUEST},
            "prefix": f"{PREFIX}/item-{number:05d}",
        }
        for number in range(count)
    ]
    return {
        "bucket": BUCKET,
        "prefix": PREFIX,
        "items": items,
        "overwrite": False,
        "max_concurrency": 1,
        "images_per_minute": None,
        "spill_path": None,
        "task": TASK,  # type: ignore[typeddict-item]
        "manifest": True,
    }


def batch_job_spec(count: int, batch_id: str) -> BatchJobSpec:
    from airflow_provider_openai_images.jobs.batch.record import custom_id

    return {
        "job": job_spec(count),
        "batch_id": batch_id,
        "sent": {custom_id(number): [0] for number in range(count)},
        "final_failures": {},
        "poll_interval": 0.25,
        "deadline": time.time() + 3600,
        "keep_files": True,  # the baseline reads the same output file afterwards
    }


def create_batch(count: int) -> tuple[BatchRecord, BatchObject]:
    """Plan, submit and wait for a batch of ``count`` generations, as the operator and its trigger do."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.jobs.batch.submission import plan_batch, submit_batch
    from airflow_provider_openai_images.jobs.batch.waiting import wait_for_batch

    s3_hook = S3Hook(aws_conn_id="aws_default")
    plan = plan_batch(s3_hook, job_spec(count))

    async def go() -> tuple[BatchRecord, BatchObject]:
        client = OpenAIImagesHook(conn_id="openai_images_default").get_async_batch_client()
        try:
            record = await submit_batch(client, s3_hook, plan, plan.to_send())
            batch = await wait_for_batch(client, batch_job_spec(count, record["batch_id"]))
        finally:
            await client.aclose()
        return record, batch

    return asyncio.run(go())


def file_size(connection: dict[str, Any], file_id: str) -> int:
    import httpx

    headers = {"Authorization": f"Bearer {connection['password']}"}
    answer = httpx.get(f"{connection['host']}/files/{file_id}", headers=headers, timeout=30)
    answer.raise_for_status()
    return int(answer.json()["bytes"])


def fresh_bucket(moto: MotoS3Server, record: BatchRecord) -> None:
    """An empty bucket (moto keeps objects in memory) holding only the batch's record, as at submission."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_openai_images.jobs.batch.record import write_batch_record

    moto.reset()
    moto.client().create_bucket(Bucket=BUCKET)
    write_batch_record(S3Hook(aws_conn_id="aws_default"), BUCKET, PREFIX, record)


# -- one landing, in a fresh subprocess (--land-only) -----------------------------------------------------


@dataclass
class Landing:
    wall: float
    traced_peak: int | None  # bytes above what was allocated before the landing (tracemalloc), if traced
    rss_before: int
    rss_growth: int  # VmHWM after the landing less VmRSS before it
    hwm_reset: bool  # whether VmHWM could be reset before the landing (else growth is a lower bound)
    images: int
    largest_image: int
    largest_line: int | None
    lines: int | None


def proc_status(field: str) -> int:
    """``VmHWM``, ``VmRSS``... of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_hwm() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux ``clear_refs`` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Measured:
    def __init__(self) -> None:
        self.wall = 0.0
        self.traced_peak: int | None = None
        self.rss_before = self.hwm_before = self.rss_growth = 0
        self.hwm_reset = False

    def landing(self, images: int, largest_image: int, largest_line: int | None, lines: int | None) -> Landing:
        return Landing(
            self.wall,
            self.traced_peak,
            self.rss_before,
            self.rss_growth,
            self.hwm_reset,
            images,
            largest_image,
            largest_line,
            lines,
        )


@contextmanager
def measuring(trace: bool) -> Iterator[Measured]:
    measured = Measured()
    gc.collect()
    measured.rss_before, measured.hwm_before = proc_status("VmRSS"), proc_status("VmHWM")
    measured.hwm_reset = reset_hwm()
    if trace:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    try:
        yield measured
    finally:
        measured.wall = time.perf_counter() - start
        if trace:
            measured.traced_peak = tracemalloc.get_traced_memory()[1] - before
            tracemalloc.stop()
        hwm = proc_status("VmHWM")
        # without the reset, the peak before the landing may hide part of it: a lower bound then
        measured.rss_growth = max(0, hwm - (measured.rss_before if measured.hwm_reset else measured.hwm_before))


def land_provider(count: int, batch_id: str, trace: bool) -> Landing:
    """``land_batch`` of batch ``batch_id`` through the connections in the environment."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from PIL import Image, PngImagePlugin  # noqa: F401  (imported by the landing: not counted)

    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.jobs.batch.waiting import land_batch

    hook = OpenAIImagesHook(conn_id="openai_images_default")
    s3_hook = S3Hook(aws_conn_id="aws_default")
    s3_hook.get_conn().head_bucket(Bucket=BUCKET)
    _ = hook.prices, hook.settings
    spec = batch_job_spec(count, batch_id)

    async def go() -> Landing:
        client = hook.get_async_batch_client()
        try:
            batch = await client.retrieve_batch(batch_id)
            with measuring(trace) as measured:
                outcome = await land_batch(client, batch, spec, hook=hook, s3_hook=s3_hook)
        finally:
            await client.aclose()
        sizes = [r["size_bytes"] for item in outcome["items"] for r in item["records"] if r["status"] == "landed"]
        return measured.landing(len(sizes), max(sizes, default=0), None, None)

    return asyncio.run(go())


def land_baseline(output_file_id: str, trace: bool) -> Landing:
    """By hand: the whole file from ``AsyncOpenAI``, its lines split, each image decoded and ``put_object``."""
    import boto3
    from openai import AsyncOpenAI

    openai_connection = json.loads(os.environ["AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT"])
    aws = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
    s3 = boto3.client(
        "s3",
        endpoint_url=aws["extra"]["endpoint_url"],
        region_name=aws["extra"]["region_name"],
        aws_access_key_id=aws["login"],
        aws_secret_access_key=aws["password"],
    )
    s3.head_bucket(Bucket=BUCKET)

    async def go() -> Landing:
        client = AsyncOpenAI(base_url=openai_connection["host"], api_key=openai_connection["password"])
        images = largest_image = largest_line = lines = 0
        try:
            with measuring(trace) as measured:
                content = (await client.files.content(output_file_id)).content
                for line in content.splitlines():
                    if not line:
                        continue
                    lines += 1
                    largest_line = max(largest_line, len(line) + 1)  # with its newline, as in the file
                    answer = json.loads(line)
                    for index, image in enumerate(answer["response"]["body"]["data"]):
                        body = base64.b64decode(image["b64_json"])
                        key = f"{BASELINE_PREFIX}/{answer['custom_id']}/{index:03d}.png"
                        await asyncio.to_thread(
                            s3.put_object, Bucket=BUCKET, Key=key, Body=body, ContentType="image/png"
                        )
                        images, largest_image = images + 1, max(largest_image, len(body))
                del content
        finally:
            await client.close()
        return measured.landing(images, largest_image, largest_line, lines)

    return asyncio.run(go())


def land_only(args: argparse.Namespace) -> None:
    if args.land_only == "provider":
        landing = land_provider(args.images, args.batch_id, args.trace)
    else:
        landing = land_baseline(args.output_file_id, args.trace)
    Path(args.result).write_text(json.dumps(asdict(landing)))


def land_in_subprocess(
    mode: str, args: argparse.Namespace, batch: BatchObject, trace: bool, root: Path, log: Path
) -> Landing:
    result = root / f"{mode}-{'traced' if trace else 'untraced'}.json"
    command = [sys.executable, str(SCRIPT), "--land-only", mode, "--images", str(args.images)]
    command += ["--batch-id", batch["id"], "--output-file-id", str(batch.get("output_file_id"))]
    command += ["--result", str(result), *(["--trace"] if trace else [])]
    with log.open("a") as output:
        output.write(f"\n=== {' '.join(command)}\n")
        output.flush()
        code = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    if code != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise RuntimeError(f"the {mode} landing exited with {code}; the end of its log:\n{tail}")
    return Landing(**json.loads(result.read_text()))


# -- the report --------------------------------------------------------------------------------------------


def times(value: float) -> str:
    """A ratio as ``2.4x`` (more digits when small)."""
    digits = 1 if value >= 10 else 2 if value >= 0.1 else 4
    return f"{value:.{digits}f}x"


def row(label: str, untraced: Landing, traced: Landing, size: int, image: int, line: int) -> str:
    peak = traced.traced_peak or 0
    growth = untraced.rss_growth
    return (
        f"   {label:22} {untraced.wall:6.2f} {untraced.images / untraced.wall:8.1f} {size / MB / untraced.wall:7.1f} | "
        f"{peak / MB:8.1f} {times(peak / image):>7} {times(peak / line):>7} {times(peak / size):>8} | "
        f"{growth / MB:8.1f} {times(growth / image):>7} {times(growth / size):>8} | {traced.wall:6.2f}"
    )


def run(args: argparse.Namespace, root: Path) -> None:
    from importlib.metadata import PackageNotFoundError, version

    from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

    try:
        import openai  # noqa: F401

        have_openai, versions = True, f"openai {version('openai')}"
    except ImportError:
        have_openai, versions = False, "openai not installed"
    with contextlib.suppress(PackageNotFoundError):
        versions += f", httpx {version('httpx')}, boto3 {version('boto3')}"
    log = root / "bench-batch.log"
    print(f"Reproduce: {COMMAND}{' '.join(['', *sys.argv[1:]])}")
    print(
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, apache-airflow {version('apache-airflow')}, "
        f"{versions}; {REQUEST['model']} {REQUEST['size']} quality={REQUEST['quality']}, noise PNGs from the "
        "emulator (its own process), moto's S3 server",
        flush=True,
    )
    options = ("--batch-phase-seconds", "0.05", "--incompressible-images")
    with EmulatorProcess(*options, log=log, tmp=root / "tmp") as emulator, MotoS3Server() as moto:
        os.environ.update({**emulator.env(), **moto.connection_env()})
        moto.client().create_bucket(Bucket=BUCKET)
        started = time.perf_counter()
        with quiet(log):
            record, batch = create_batch(args.images)
        created = time.perf_counter() - started
        if batch["status"] != "completed" or not batch.get("output_file_id"):
            raise RuntimeError(f"batch {batch['id']} ended {batch['status']}: {batch.get('errors')}")
        size = file_size(emulator.connection, str(batch["output_file_id"]))
        counts = batch.get("request_counts") or {"completed": 0, "failed": 0}
        print(
            f"Batch {batch['id']}: {counts['completed']} requests completed, {counts['failed']} failed; created, "
            f"run and waited for in {created:.1f}s (not measured); output file {size / MB:,.1f} MB",
            flush=True,
        )
        landings: dict[str, tuple[Landing, Landing]] = {}
        for mode in ("provider", "baseline") if have_openai else ("provider",):
            pair = []
            for trace in (False, True):
                with quiet(log):
                    fresh_bucket(moto, record)
                pair.append(land_in_subprocess(mode, args, batch, trace, root, log))
            landings[mode] = (pair[0], pair[1])
    provider = landings["provider"]
    baseline = landings.get("baseline")
    image = provider[0].largest_image
    if baseline is not None and baseline[0].largest_line:
        line, line_note = baseline[0].largest_line, "largest line"
    else:
        line, line_note = size // args.images, "mean line (file size / N: no baseline to measure the largest)"
    print(
        f"\nLanding the completed batch: N={args.images} images, output file {size / MB:,.1f} MB, {line_note} "
        f"{line / MB:.2f} MB, largest image {image / MB:.2f} MB (decoded)"
    )
    print(
        f"   {'':22} {'wall s':>6} {'images/s':>8} {'MB/s':>7} | {'peak MB':>8} {'/image':>7} {'/line':>7} "
        f"{'/file':>8} | {'RSS +MB':>8} {'/image':>7} {'/file':>8} | {'traced wall s':>6}"
    )
    print(row("provider land_batch", *provider, size, image, line))
    if baseline is not None:
        print(row("AsyncOpenAI + boto3", *baseline, size, image, line))
    else:
        print(f"   {'AsyncOpenAI + boto3':22} skipped (pip install -e '.[benchmark]')")
    for label, pair in landings.items():
        landed = sorted({landing.images for landing in pair})
        if landed != [args.images]:
            print(f"   note: the {label} landed {landed} images, not {args.images}")
    reset_note = "" if provider[0].hwm_reset else " (VmHWM could not be reset: a lower bound)"
    print(
        "   wall, images/s, MB/s (of the output file): an untraced landing, in a fresh subprocess after its imports\n"
        "   and setup. peak MB: tracemalloc's peak over the landing (a second, traced landing; what Python\n"
        "   allocated, not memory C libraries allocate themselves), against the largest image, the largest line\n"
        f"   and the file. RSS +MB: VmHWM after the untraced landing less VmRSS just before it{reset_note}.\n"
        "   traced wall s: the traced landing's wall (tracemalloc slows allocation down). provider: image and\n"
        "   sidecar PUT per image (PNG chunk CRCs checked, sha256, MD5), a manifest and the batch record;\n"
        "   baseline: one PUT per image, nothing checked."
    )
    peak = provider[1].traced_peak or 0
    figure = f"{times(peak / image)} ({peak / MB:.1f} MB; RSS growth {times(provider[0].rss_growth / image)})"
    print("\nGoals")
    print(f"   {'met   ' if peak <= GOAL_RATIO * image else 'MISSED'} peak memory <= 3x the largest image: {figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500, help="requests in the batch, one image each (N)")
    parser.add_argument("--land-only", choices=("provider", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--batch-id", help=argparse.SUPPRESS)
    parser.add_argument("--output-file-id", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.land_only:  # a landing subprocess: the parent's AIRFLOW_HOME, TMPDIR and connections
        land_only(args)
        return
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        (root / "tmp").mkdir()
        (root / "airflow-home").mkdir()
        # Before anything imports Airflow; every child process's temporary files under root too.
        os.environ["AIRFLOW_HOME"] = str(root / "airflow-home")
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        os.environ["TMPDIR"] = str(root / "tmp")
        tempfile.tempdir = str(root / "tmp")
        run(args, root)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
