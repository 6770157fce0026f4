"""`make demo`: the hook end to end against the offline Images API emulator (no network, no keys).

Generates with a GPT image model (base64) and dall-e-3 (an expiring URL), edits with a mask and
makes variations, and writes every image to ``demo-output/``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import httpx

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-demo-"))

from airflow_provider_openai_images.hooks import OpenAIImagesHook
from airflow_provider_openai_images.testing import ImagesAPIEmulator

OUTPUT = Path(__file__).resolve().parent.parent / "demo-output"


def main() -> int:
    OUTPUT.mkdir(exist_ok=True)
    with ImagesAPIEmulator() as emulator:
        os.environ.update(emulator.connection_env())
        hook = OpenAIImagesHook()
        ok, message = hook.test_connection()
        print(f"connection test: {ok}: {message}")
        written: list[Path] = []

        generated = hook.generate("A lighthouse at dawn, watercolour", model="gpt-image-1.5", n=2, quality="low")
        for index, image in enumerate(generated.data):
            written.append(OUTPUT / f"generated-{index}.png")
            written[-1].write_bytes(image.decode())

        dalle = hook.generate("An otter reading a newspaper", model="dall-e-3", size="1024x1024")
        assert dalle.data[0].url is not None
        written.append(OUTPUT / "dall-e-3.png")
        written[-1].write_bytes(httpx.get(dalle.data[0].url).raise_for_status().content)
        print(f"dall-e-3 revised prompt: {dalle.data[0].revised_prompt}")

        variations = hook.create_variation(written[-1].read_bytes(), n=2, size="256x256", response_format="b64_json")
        for index, image in enumerate(variations.data):
            written.append(OUTPUT / f"variation-{index}.png")
            written[-1].write_bytes(image.decode())
        hook.close()
    for path in written:
        print(f"wrote {path.relative_to(OUTPUT.parent)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
