"""What importing the provider costs a DAG file parse, on top of ``airflow.sdk`` itself.

Run: ``.venv/bin/python benchmarks/import_time.py`` (or ``make bench``). Prints the median of fresh
interpreter runs and the ratio to the import of ``airflow.sdk`` that every DAG file pays anyway.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

RUNS = 7
PROBE = """
import time
start = time.perf_counter()
import airflow.sdk
middle = time.perf_counter()
import {module}
end = time.perf_counter()
print(middle - start, end - middle)
"""


def measure(module: str) -> tuple[float, float]:
    sdk, ours = [], []
    for _ in range(RUNS):
        output = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, check=True
        ).stdout.split()
        sdk.append(float(output[0]))
        ours.append(float(output[1]))
    return statistics.median(sdk), statistics.median(ours)


def main() -> None:
    for module in (
        "airflow_provider_openai_images.hooks",
        "airflow_provider_openai_images.operators",
        "airflow_provider_openai_images.core.client",
    ):
        sdk, ours = measure(module)
        print(f"{module:45s} {ours * 1000:7.1f} ms after airflow.sdk ({sdk * 1000:.0f} ms): ratio {ours / sdk:.3f}")


if __name__ == "__main__":
    main()
