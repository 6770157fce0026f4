"""`make gallery`: the demo's images in the Airflow UI, after `make demo`.

``make demo`` leaves its Airflow home (``.airflow-demo/``: the runs, their XCom records) and a copy of
its bucket (``demo-output/s3/``). This starts moto's S3 server again with that copy, then
``airflow api-server`` on the same home (every user an admin: no login), and prints where the
provider's "Images" view of the demo runs is. Ctrl-C stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = ROOT / ".airflow-demo"
SNAPSHOT = ROOT / "demo-output" / "s3"
BUCKET = "openai-images-demo"
PORT = int(os.environ.get("GALLERY_PORT", "8080"))


def main() -> int:
    if not (AIRFLOW_HOME / "airflow.db").exists() or not SNAPSHOT.is_dir():
        print("Run `make demo` first: this shows its runs.")
        return 1
    os.environ.update(
        AIRFLOW_HOME=str(AIRFLOW_HOME),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
    )
    from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

    with MotoS3Server() as s3:
        os.environ.update(s3.connection_env())
        client = s3.client()
        client.create_bucket(Bucket=BUCKET)
        files = [path for path in SNAPSHOT.rglob("*") if path.is_file()]
        for path in files:
            client.put_object(Bucket=BUCKET, Key=str(path.relative_to(SNAPSHOT)), Body=path.read_bytes())
        print(f"moto's S3 server at {s3.endpoint_url}: {len(files)} objects of the demo restored")
        airflow = str(Path(sys.executable).with_name("airflow"))
        server = subprocess.Popen([airflow, "api-server", "--port", str(PORT)])
        print(
            f"\nThe Airflow UI: http://localhost:{PORT}/dags/openai_images_content_pipeline "
            '(no login: every user is an admin here).\nOpen the run, then its "Images" tab; or a task '
            'instance\'s "Images" tab or extra link. Ctrl-C stops it.\n'
        )
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
            return 0


if __name__ == "__main__":
    sys.exit(main())
