"""`make demo`: the main example DAG end to end on embedded defaults, with no network and no keys.

A throwaway AIRFLOW_HOME with SQLite, the package's offline Images API emulator, and moto's
standalone S3 server (real HTTP, started and stopped here). Runs ``openai_images_content_pipeline``
with ``dag.test()``, prints the S3 URIs of what landed and writes ``demo-output/contact-sheet.png``;
then the same prompts through the Batch API (``openai_images_nightly_batch``), at half the price.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = ROOT / ".airflow-demo"
OUTPUT = ROOT / "demo-output"
BUCKET = "openai-images-demo"
DAG_ID = "openai_images_content_pipeline"

shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
os.environ.update(
    AIRFLOW_HOME=str(AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
)


def main() -> int:
    print("Preparing a throwaway Airflow home (SQLite) ...")
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_openai_images.imaging import contact_sheet
    from airflow_provider_openai_images.testing import ImagesAPIEmulator
    from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

    with ImagesAPIEmulator(latency=0.2) as images_api, MotoS3Server() as s3:
        print(f"Images API emulator at {images_api.base_url}; moto S3 server at {s3.endpoint_url}")
        # As on api.openai.com: the Models API is asked whether a model is still served before it is paid for.
        os.environ.update(images_api.connection_env(model_lifecycle="openai"))
        os.environ.update(s3.connection_env())
        s3.client().create_bucket(Bucket=BUCKET)

        dagbag = DagBag(str(ROOT / "dags"))
        if dagbag.import_errors:
            print(f"DAG import errors: {dagbag.import_errors}")
            return 1
        run = dagbag.dags[DAG_ID].test()
        print(f"\n{DAG_ID}: {run.state}")
        if str(run.state) != "success":
            return 1

        client = s3.client()
        objects = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        keys = sorted(item["Key"] for page in objects for item in page.get("Contents", []))
        images, labels, cost = [], [], 0.0
        for key in keys:
            if key.endswith(".json") and not key.endswith("index.json"):
                record = json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())["record"]
                cost += record.get("cost_usd") or 0.0
                if len(images) < 16:  # the contact sheet shows the first sixteen
                    images.append(client.get_object(Bucket=BUCKET, Key=record["key"])["Body"].read())
                    labels.append(f"{record['width']}x{record['height']} {record['sha256'][:8]}")
        pictures = [key for key in keys if key.endswith(".png")]
        for key in pictures[:3]:
            print(f"  s3://{BUCKET}/{key}")
        print(f"  ... {len(pictures)} images in all, each with its JSON sidecar")
        for key in keys:
            if key.endswith(("index.json", "manifest.jsonl")):
                print(f"  s3://{BUCKET}/{key}")
        OUTPUT.mkdir(exist_ok=True)
        sheet = OUTPUT / "contact-sheet.png"
        sheet.write_bytes(contact_sheet(images, labels))
        print(f"\n{len(pictures)} images landed; contact sheet of the first {len(images)}: {sheet.relative_to(ROOT)}")
        print(f"Paid generations (emulated): {images_api.billed_images}; estimated cost ${cost:.4f} (cost_usd)")
        print(nightly_batch(dagbag, images_api))
        print(shut_down_model())
        save_bucket(s3.client(), OUTPUT / "s3")
        print(
            f"A copy of the bucket for `make gallery` (the runs in the Airflow UI): {(OUTPUT / 's3').relative_to(ROOT)}"
        )
        picture = OUTPUT / "inputs-before-after.png"
        picture.write_bytes(inputs_before_after())
        print(f"Input preparation, before and after: {picture.relative_to(ROOT)}")
    return 0


def shut_down_model() -> str:
    """What a DAG that still names gpt-image-1.5 (shut down by OpenAI on 2026-12-01) meets: a refusal before any
    paid call, naming the date and the replacement."""
    from airflow_provider_openai_images.exceptions import OpenAIImagesModelNotFoundError
    from airflow_provider_openai_images.hooks import OpenAIImagesHook

    try:
        OpenAIImagesHook().generate("A lighthouse at dawn", model="gpt-image-1.5")
    except OpenAIImagesModelNotFoundError as error:
        return f"\nA task naming gpt-image-1.5 stops before any paid call:\n  {error.message}"
    return "\ngpt-image-1.5 was served: the emulator does not behave like OpenAI today"


def save_bucket(client: Any, target: Path) -> None:
    """Every object of the demo bucket under ``target``, by key (``make gallery`` serves them again)."""
    shutil.rmtree(target, ignore_errors=True)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            path = target / item["Key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())


def nightly_batch(dagbag: Any, images_api: Any) -> str:
    """The same prompts through the Batch API (``openai_images_nightly_batch``): what it cost, and saved."""
    os.environ["AIRFLOW_VAR_OPENAI_IMAGES_BATCH_POLL_SECONDS"] = "0.5"
    images_api.batch_phase_seconds = 0.2
    run = dagbag.dags["openai_images_nightly_batch"].test()
    if str(run.state) != "success":
        return f"\nopenai_images_nightly_batch: {run.state}"
    (batch,) = images_api.batches
    return (
        f"\nopenai_images_nightly_batch: {run.state}: one batch ({batch.id}) of {batch.total} requests, "
        f"{images_api.batch_billed_images} images landed under s3://{BUCKET}/nightly/; estimated cost "
        f"${images_api.batch_billed_usd:.4f} at Batch API prices, ${2 * images_api.batch_billed_usd:.4f} in real time"
    )


def inputs_before_after() -> bytes:
    """A landscape JPEG and a black-and-white painted mask, as prepared for a gpt-image-2.5-sunburst edit, and the
    edit."""
    import io

    from PIL import Image, ImageDraw

    from airflow_provider_openai_images.core.requests import ImageFile
    from airflow_provider_openai_images.hooks import OpenAIImagesHook
    from airflow_provider_openai_images.imaging import contact_sheet
    from airflow_provider_openai_images.preparation import prepare_inputs
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
