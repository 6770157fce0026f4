"""`make cluster`: the example DAGs on Airflow as users run it, until Ctrl-C.

The CeleryExecutor on a private Postgres and Redis (Debian's packages, installed if missing and this is root),
the scheduler, dag-processor, triggerer, API server and two Celery workers (``worker-a``, ``worker-b``), with
the offline Images API emulator (and a second one as a compatible server, for the variations DAG) and moto's
S3 server with the demo's bucket (:class:`tests.support.cluster.CeleryCluster`). It prints where the UI is
and the login, then waits; Ctrl-C stops everything and removes the database.

The terminal shows short lines; this script's log is ``demo-output/cluster/cluster.log`` and each
component's log is in ``demo-output/cluster/component-logs/`` (kept after the stop; the next run starts
afresh). ``CLUSTER_PORT`` chooses the UI's port (default 8080).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from console import Console

if TYPE_CHECKING:
    from tests.support.cluster import CeleryCluster

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "demo-output" / "cluster"
LOG = HOME / "cluster.log"
BUCKET = "openai-images-demo"
PORT = int(os.environ.get("CLUSTER_PORT", "8080"))
#: seconds between two looks at whether a component exited
WATCH_SECONDS = 2.0

sys.path.insert(0, str(ROOT))  # tests.support and scripts.cluster_services, as benchmarks/support.py does


def main() -> int:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            print(f"Port {PORT} is taken (`make gallery`?): stop that, or choose one with CLUSTER_PORT=8090.")
            return 1
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a `kill` stops it as Ctrl-C does: everything torn down
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started in the background, where it is ignored
    with Console(LOG) as console:
        try:
            run(console)
        except KeyboardInterrupt:
            console.say(f"Stopped; everything is shut down. The logs: {HOME.relative_to(ROOT)}/")
            return 0
        except Exception as error:
            traceback.print_exc()  # into the log
            console.fail(f"The cluster stopped: {type(error).__name__}: {str(error)[:300]}")
            return 1
    return 0


def run(console: Console) -> None:
    """Start the cluster, say where it is, watch it until Ctrl-C; stopping is the ``with`` blocks' exit."""
    from airflow_provider_openai_images.testing import ImagesAPIEmulator
    from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server
    from airflow_provider_openai_images.testing.pytest_plugin import COMPATIBLE_CONN_ID
    from scripts.cluster_services import ensure_packages
    from tests.support.cluster import CeleryCluster

    with ExitStack() as stack:
        with console.step("Checking Debian's postgresql and redis-server (installing them if missing)"):
            ensure_packages()
        with console.step("Starting the Images API emulators and moto's S3 server"):
            images_api = stack.enter_context(ImagesAPIEmulator(latency=0.2))
            compatible = stack.enter_context(ImagesAPIEmulator(compatible_server=True))
            s3 = stack.enter_context(MotoS3Server())
            s3.bucket(BUCKET)
        env = {
            # As on api.openai.com: the Models API is asked whether a model is still served before it is paid for.
            **images_api.connection_env(model_lifecycle="openai"),
            **compatible.connection_env(COMPATIBLE_CONN_ID, model_lifecycle="off"),
            "AIRFLOW_VAR_OPENAI_IMAGES_BATCH_POLL_SECONDS": "2",
        }
        cluster = CeleryCluster(ROOT / "dags", env=env, images_api=images_api, s3=s3, port=PORT, home=HOME)
        with console.step("Starting Postgres, Redis and Airflow (scheduler, dag-processor, triggerer, API server, "
                          "Celery workers worker-a and worker-b)"):  # fmt: skip
            stack.enter_context(cluster)
        console.say(f"\nThe Airflow UI: {cluster.base_url}  (user {cluster.login[0]}, password {cluster.login[1]})")
        console.say(f"DAGs: {', '.join(sorted(cluster.wait_for_dags()))}")
        console.say(f"Images API emulator {images_api.base_url}; S3 (moto) {s3.endpoint_url}, bucket {BUCKET}")
        console.say(f"Logs: {HOME.relative_to(ROOT)}/component-logs/. Ctrl-C stops everything.\n")
        watch(console, cluster)


def watch(console: Console, cluster: CeleryCluster) -> None:
    """Until Ctrl-C: say once when a component exits on its own (Airflow's logs say why)."""
    reported: set[str] = set()
    while True:
        for name, code in cluster.exited().items():
            if name not in reported:
                reported.add(name)
                console.say(f"✗ {name} exited ({code}): see {HOME.relative_to(ROOT)}/component-logs/{name}.log")
        reported &= set(cluster.exited())
        time.sleep(WATCH_SECONDS)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
