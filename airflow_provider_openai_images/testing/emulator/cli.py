"""``python -m airflow_provider_openai_images.testing.emulator``: the emulator by hand, until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import time

from airflow_provider_openai_images.testing.emulator.images_api_emulator import DEFAULT_API_KEY, ImagesAPIEmulator


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Offline OpenAI Images API emulator (a test double).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--batch-phase-seconds", type=float, default=0.1, help="least time in each batch status")
    parser.add_argument("--batch-seconds-per-line", type=float, default=0.0)
    parser.add_argument("--incompressible-images", action="store_true", help="noise images, as big as real ones")
    parser.add_argument(
        "--compatible-server", action="store_true", help="serve every model, retired ones included (as Azure does)"
    )
    parser.add_argument("--images-per-minute", type=float, default=None, help="the account's rate limit (429 beyond)")
    args = parser.parse_args(argv)
    emulator = ImagesAPIEmulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        latency=args.latency,
        batch_phase_seconds=args.batch_phase_seconds,
        batch_seconds_per_line=args.batch_seconds_per_line,
        incompressible_images=args.incompressible_images,
        compatible_server=args.compatible_server,
        images_per_minute=args.images_per_minute,
    )
    with emulator:
        print(f"Images API emulator at {emulator.base_url} (images served from {emulator.image_host_url})")
        print(f"export AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT='{json.dumps(emulator.connection())}'")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
