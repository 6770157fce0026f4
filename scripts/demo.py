"""`make demo`: the main example DAG end to end on embedded defaults, with no network and no keys.

A throwaway AIRFLOW_HOME with SQLite, the package's offline Images API emulator, and moto's
standalone S3 server (real HTTP, started and stopped here). Runs ``openai_images_content_pipeline``
with ``dag.test()`` and writes ``demo-output/contact-sheet.png``; then the same prompts through the Batch
API (``openai_images_nightly_batch``), at half the price; then a task naming a model OpenAI shut down, and
an edit's inputs prepared (``demo-output/inputs-before-after.png``). It keeps a copy of the bucket for
``make gallery`` (``demo-output/s3/``).

The terminal shows what is happening and a summary; Airflow's own logs go to ``demo-output/demo.log``
(:mod:`console`). A failed DAG run stops the demo with the end of that log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console import Console

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = ROOT / ".airflow-demo"
OUTPUT = ROOT / "demo-output"
LOG = OUTPUT / "demo.log"
PROMPTS = ROOT / "dags" / "prompts" / "content_pipeline.txt"
BUCKET = "openai-images-demo"
DAG_ID = "openai_images_content_pipeline"
BATCH_DAG_ID = "openai_images_nightly_batch"
#: images on the contact sheet
SHEET_IMAGES = 16

shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
os.environ.update(
    AIRFLOW_HOME=str(AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
)


@dataclass
class Results:
    """What the summary reports."""

    images: int = 0
    cost: float = 0.0
    billed: int = 0
    image_prefix: str = ""
    published: list[str] = field(default_factory=list)
    batch_id: str = ""
    batch_requests: int = 0
    batch_images: int = 0
    batch_cost: float = 0.0
    refusal: str = ""


def main() -> int:
    started = time.monotonic()
    with Console(LOG) as console:
        try:
            results = run(console)
        except KeyboardInterrupt:
            console.say(f"\nStopped (Ctrl-C). The full log: {LOG.relative_to(ROOT)}")
            return 130
        except Exception as error:
            traceback.print_exc()  # into the log
            console.fail(f"The demo stopped: {type(error).__name__}: {error}")
            return 1
        if results is None:
            return 1
        summary(console, results, time.monotonic() - started)
    return 0


def run(console: Console) -> Results | None:
    """Every step of the demo; ``None`` once a failure was reported."""
    with console.step(f"Migrating a throwaway Airflow database (SQLite, {AIRFLOW_HOME.name}/)"):
        subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True)

    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_openai_images.testing import ImagesAPIEmulator
    from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

    with ExitStack() as servers:
        with console.step("Starting the offline Images API emulator and moto's S3 server"):
            images_api = servers.enter_context(ImagesAPIEmulator(latency=0.2))
            s3 = servers.enter_context(MotoS3Server())
            # As on api.openai.com: the Models API is asked whether a model is still served before it is paid for.
            os.environ.update(images_api.connection_env(model_lifecycle="openai"))
            os.environ.update(s3.connection_env())
            s3.client().create_bucket(Bucket=BUCKET)
            print(f"Images API emulator at {images_api.base_url}; moto's S3 server at {s3.endpoint_url}")
        dagbag = DagBag(str(ROOT / "dags"))
        if dagbag.import_errors:
            console.fail(f"The example DAGs did not import: {dagbag.import_errors}")
            return None

        prompts = len([line for line in PROMPTS.read_text().splitlines() if line.strip() and not line.startswith("#")])
        if not run_dag(console, dagbag, DAG_ID, f"Running {DAG_ID} ({prompts} prompts in one deferred bulk task)"):
            return None
        results = Results(billed=images_api.billed_images)
        with console.step(f"Drawing a contact sheet of the first {SHEET_IMAGES} images"):
            land_content(s3.client(), results)

        os.environ["AIRFLOW_VAR_OPENAI_IMAGES_BATCH_POLL_SECONDS"] = "0.5"
        images_api.batch_phase_seconds = 0.2
        batch_run = f"Running {BATCH_DAG_ID} (the same prompts in one Batch API batch)"
        if not run_dag(console, dagbag, BATCH_DAG_ID, batch_run):
            return None
        (batch,) = images_api.batches
        results.batch_id, results.batch_requests = batch.id, batch.total
        results.batch_images, results.batch_cost = images_api.batch_billed_images, images_api.batch_billed_usd

        with console.step("Asking for gpt-image-1.5, which OpenAI shut down on 2026-12-01"):
            results.refusal = shut_down_model()
        with console.step("Saving a copy of the bucket for `make gallery`"):
            save_bucket(s3.client(), OUTPUT / "s3")
        with console.step("Preparing an edit's inputs (a JPEG and a painted mask) and editing"):
            (OUTPUT / "inputs-before-after.png").write_bytes(inputs_before_after())
    return results


def run_dag(console: Console, dagbag: Any, dag_id: str, what: str) -> bool:
    """``dag.test()``, its tasks reported as they end; ``False`` once a failure was reported."""
    dag = dagbag.dags[dag_id]
    with console.step(what), console.tasks(dag):
        run = dag.test()
    if str(run.state) != "success":
        console.fail(f"{dag_id} ended {run.state}")
        return False
    return True


def land_content(client: Any, results: Results) -> None:
    """What the content pipeline landed: its images, their cost, where they are; the contact sheet."""
    from airflow_provider_openai_images.media.imaging import contact_sheet

    objects = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    keys = sorted(item["Key"] for page in objects for item in page.get("Contents", []))
    images: list[bytes] = []
    labels: list[str] = []
    for key in keys:
        if key.endswith(".json") and not key.endswith("index.json"):
            record = json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())["record"]
            results.cost += record.get("cost_usd") or 0.0
            if len(images) < SHEET_IMAGES:
                images.append(client.get_object(Bucket=BUCKET, Key=record["key"])["Body"].read())
                labels.append(f"{record['width']}x{record['height']} {record['sha256'][:8]}")
    pictures = [key for key in keys if key.endswith(".png")]
    results.images = len(pictures)
    folders = [key.rsplit("/item-", 1)[0] for key in pictures]
    results.image_prefix = os.path.commonpath(folders) + "/" if folders else ""
    results.published = [key for key in keys if key.endswith(("index.json", "manifest.jsonl"))]
    (OUTPUT / "contact-sheet.png").write_bytes(contact_sheet(images, labels))


def summary(console: Console, results: Results, seconds: float) -> None:
    def shown(path: Path) -> str:
        return str(path.relative_to(ROOT))

    console.say(f"\nDone in {seconds:.0f} s, offline: no key, no network, nothing paid.\n")
    console.say(f"{DAG_ID}: {results.images} images landed, each with a JSON sidecar")
    console.say(f"    s3://{BUCKET}/{results.image_prefix}item-NNNNN/000.png")
    for key in results.published:
        console.say(f"    s3://{BUCKET}/{key}")
    console.say(f"    estimated cost ${results.cost:.4f} (the records' cost_usd); paid generations: {results.billed}")
    console.say(f"{BATCH_DAG_ID}: the same prompts in one batch of {results.batch_requests} requests")
    console.say(f"    {results.batch_images} images landed under s3://{BUCKET}/nightly/ ({results.batch_id})")
    console.say(
        f"    estimated cost ${results.batch_cost:.4f} at Batch API prices, ${2 * results.batch_cost:.4f} in real time"
    )
    console.say(f"A task naming gpt-image-1.5 stops before any paid call:\n    {results.refusal}")
    console.say(f"\nThe bucket lived in moto's S3 server, stopped now: a copy is in {shown(OUTPUT / 's3')}/")
    console.say("Open:")
    console.say(f"    {shown(OUTPUT / 'contact-sheet.png'):37} the first {SHEET_IMAGES} images")
    console.say(f"    {shown(OUTPUT / 'inputs-before-after.png'):37} an edit's inputs as prepared, and the edit")
    console.say("Next: `make gallery` shows these runs and their images in the Airflow UI (http://localhost:8080)")
    console.say(f"The full log (Airflow's output): {shown(LOG)}")


def shut_down_model() -> str:
    """What a DAG that still names gpt-image-1.5 (shut down by OpenAI on 2026-12-01) meets: a refusal before any
    paid call, naming the date and the replacement."""
    from airflow_provider_openai_images.exceptions import OpenAIImagesModelNotFoundError
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

    try:
        OpenAIImagesHook().generate("A lighthouse at dawn", model="gpt-image-1.5")
    except OpenAIImagesModelNotFoundError as error:
        return error.message
    return "gpt-image-1.5 was served: the emulator does not behave like OpenAI today"


def save_bucket(client: Any, target: Path) -> None:
    """Every object of the demo bucket under ``target``, by key (``make gallery`` serves them again)."""
    shutil.rmtree(target, ignore_errors=True)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            path = target / item["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())


def inputs_before_after() -> bytes:
    """A landscape JPEG and a black-and-white painted mask, as prepared for a gpt-image-2.5-sunburst edit, and the
    edit."""
    import io

    from PIL import Image, ImageDraw

    from airflow_provider_openai_images.core.requests import ImageFile
    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.media.imaging import contact_sheet
    from airflow_provider_openai_images.media.preparation import prepare_inputs
    from airflow_provider_openai_images.testing.emulator import render_image

    def encode(image: Image.Image, image_format: str) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=image_format)
        return buffer.getvalue()

    source = encode(render_image("A ceramic mug on a table", 0, (1536, 1024)).convert("RGB"), "JPEG")
    painted = Image.new("L", (1536, 1024), 0)
    ImageDraw.Draw(painted).rectangle((0, 700, 1536, 1024), fill=255)
    mask = encode(painted, "PNG")
    prepared = prepare_inputs(
        [ImageFile.from_bytes(source, "mug.jpg")],
        ImageFile.from_bytes(mask, "mask.png"),
        model="gpt-image-2.5-sunburst",
        size="1536x1024",
    )
    assert prepared.mask is not None
    image = Image.open(io.BytesIO(prepared.images[0].content)).convert("RGBA")
    region = Image.open(io.BytesIO(prepared.mask.content)).getchannel("A").point(lambda a: 140 if a == 0 else 0)
    shown = Image.composite(Image.new("RGBA", image.size, (230, 30, 30, 255)), image, region)
    edited = OpenAIImagesHook().edit(
        source, "the mug on marble", mask=mask, model="gpt-image-2.5-sunburst", size="1536x1024", quality="low"
    )
    return contact_sheet(
        [source, mask, encode(shown, "PNG"), edited.data[0].decode()],
        ["JPEG 1536x1024", "painted mask: white = edit", "RGBA mask, edit region red", "edit result"],
        thumbnail=320,
    )


if __name__ == "__main__":
    sys.exit(main())
