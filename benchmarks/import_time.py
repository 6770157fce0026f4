"""What importing the provider costs a DAG file parse, on top of ``airflow.sdk`` itself.

Run: ``.venv/bin/python benchmarks/import_time.py`` (or ``make bench``). For each module it prints the median
of fresh interpreters and the ratio to the import of ``airflow.sdk`` that every DAG file pays anyway, in two
settings:

- **installed**: the package's bytecode compiled, as ``pip install`` leaves it and as a dag-processor finds it
  after its first parse. The goal (at most 15 ms for the operators) is for this setting.
- **from source**: no bytecode of ours (``PYTHONDONTWRITEBYTECODE=1`` and no ``__pycache__``, as in a
  sandbox that sets it): every module we import is compiled at every parse, so each one costs about twice.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

RUNS = 7
GOAL_MS = 15.0
PACKAGE = Path(__file__).resolve().parents[1] / "airflow_provider_openai_images"
MODULES = (
    "airflow_provider_openai_images.operators",
    "airflow_provider_openai_images.hooks",
    "airflow_provider_openai_images.core.client",
)
PROBE = """
import time
start = time.perf_counter()
import airflow.sdk
middle = time.perf_counter()
import {module}
end = time.perf_counter()
print(middle - start, end - middle)
"""


def probe(module: str, *, bytecode: bool) -> tuple[float, float]:
    """``airflow.sdk``'s import time and then ``module``'s, in seconds, in a fresh interpreter."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    if not bytecode:
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True, check=True, env=environment
    ).stdout.split()
    return float(output[0]), float(output[1])


def measure(module: str, *, bytecode: bool) -> tuple[float, float]:
    """Medians of :data:`RUNS` probes (after one that writes the bytecode, when ``bytecode``)."""
    if bytecode:
        probe(module, bytecode=True)
    else:
        for cache in PACKAGE.rglob("__pycache__"):
            shutil.rmtree(cache)
    runs = [probe(module, bytecode=bytecode) for _ in range(RUNS)]
    return statistics.median(sdk for sdk, _ in runs), statistics.median(ours for _, ours in runs)


def main() -> None:
    print(f"Median of {RUNS} fresh interpreters; goal: the operators in at most {GOAL_MS:.0f} ms when installed")
    for setting, bytecode in (("from source", False), ("installed", True)):
        for module in MODULES:
            sdk, ours = measure(module, bytecode=bytecode)
            line = f"{setting:11s} {module:45s} {ours * 1000:6.1f} ms after airflow.sdk ({sdk * 1000:.0f} ms): "
            line += f"ratio {ours / sdk:.3f}"
            if bytecode and module.endswith(".operators"):
                line += f"  goal {GOAL_MS:.0f} ms: {'met' if ours * 1000 <= GOAL_MS else 'MISSED'}"
            print(line)


if __name__ == "__main__":
    main()
