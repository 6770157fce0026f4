"""`make test-oldest`: the claims of pyproject.toml checked on what `make test` never runs.

`apache-airflow>=3.2,<4` and `requires-python = ">=3.10"`, three legs, each in its own venv (git-ignored,
reused while a stamp says nothing changed):

- oldest: Python 3.11 and the newest 3.2.x Airflow (OLDEST_AIRFLOW), with the package's `test` extra so that
  pip picks the amazon provider Airflow 3.2 gets; `tests/unit`, then one DAG run (the content pipeline through
  `dag.test()`, against the emulator and moto's S3 server) and the test of what 3.2 lacks (a trigger's on_kill);
- py310: Python 3.10 and the newest Airflow; `tests/unit`;
- py313: Python 3.13 and the newest Airflow; `tests/unit`.

A Python that is not on the machine skips its leg with a message; anything else that goes wrong (an install,
a test) fails. One summary line per run of pytest at the end. Run with python3 from the repository's root:
`python3 scripts/test_oldest.py [oldest py310 py313]` (all legs without arguments).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the newest 3.2 patch on the package index (`pip index versions apache-airflow`)
OLDEST_AIRFLOW = os.environ.get("OLDEST_AIRFLOW", "3.2.2")
WORKERS = os.environ.get("PYTEST_WORKERS", "2")
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
#: Airflow 3.2.2 caps none of these, and pip's newest of each breaks every task run (`dag.test()` included):
#: fastapi 0.137+ fails to build 3.2's execution API ("TITerminalStatePayload needs a discriminator field"),
#: so 3.3 caps it (<0.137.0); svcs 26.2 leaves the in-process execution API without its registry
#: ("'State' object has no attribute 'svcs_registry'"; 3.3 gives that app its own lifespan). Airflow's
#: constraint files pin both; a user installing 3.2 without them needs the same two pins.
OLDEST_PINS = [f"apache-airflow=={OLDEST_AIRFLOW}", "fastapi<0.137", "svcs<26.2"]
UNIT = ["-n", WORKERS, "tests/unit"]
DAG_RUN = [
    "tests/integration/test_dags.py::test_content_pipeline_generates_the_day_s_prompts_in_one_deferred_bulk_task",
    "tests/integration/test_batch.py::test_on_airflow_3_2_the_trigger_logs_that_a_killed_task_leaves_its_batch_running",
]


@dataclass
class Leg:
    name: str
    python: str  # major.minor
    pins: list[str]
    runs: dict[str, list[str]]  # what pytest runs: a name -> its arguments
    venv: Path = field(init=False)
    interpreter: Path | None = None
    problem: str = ""  # why the leg failed before its tests, or was skipped
    skipped: bool = False

    def __post_init__(self) -> None:
        self.venv = ROOT / f".venv-{self.name}"


LEGS = [
    Leg("oldest", "3.11", OLDEST_PINS, {"unit": UNIT, "dag run": DAG_RUN}),
    Leg("py310", "3.10", [], {"unit": UNIT}),
    Leg("py313", "3.13", [], {"unit": UNIT}),
]


def say(text: str) -> None:
    print(f"[test-oldest] {text}", flush=True)


def find_python(minor: str) -> Path | None:
    """The newest pyenv Python `minor`.x, else `pythonX.Y` or `python3` on PATH when it is that version."""
    patch = lambda path: [int(number) for number in re.findall(r"\d+", path.parts[-3])]  # noqa: E731
    found = sorted(PYENV_VERSIONS.glob(f"{minor}.*/bin/python3"), key=patch, reverse=True)
    candidates = [*found, *(shutil.which(name) for name in (f"python{minor}", "python3"))]
    for candidate in candidates:
        if candidate and python_version(Path(candidate)).startswith(f"{minor}."):
            return Path(candidate)
    return None


def python_version(python: Path) -> str:
    try:
        done = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def stamp_key(leg: Leg) -> str:
    """What the venv was built from: pyproject.toml, the pins, the interpreter and its version."""
    assert leg.interpreter
    parts = [(ROOT / "pyproject.toml").read_text(), *leg.pins, str(leg.interpreter), python_version(leg.interpreter)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def install(leg: Leg) -> None:
    """Build the leg's venv unless its stamp says it is current; a failed install leaves no stamp."""
    assert leg.interpreter
    stamp, key = leg.venv / ".installed-stamp", stamp_key(leg)
    if stamp.exists() and stamp.read_text() == key:
        say(f"{leg.name}: {leg.venv.name} is current (reused)")
        return
    say(f"{leg.name}: building {leg.venv.name} with {leg.interpreter} ({' '.join(leg.pins) or 'the newest Airflow'})")
    started = time.monotonic()
    log = ROOT / f"{leg.venv.name}.install.log"  # git-ignored, removed once the install succeeded
    pip = [str(leg.venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    steps = [
        [str(leg.interpreter), "-m", "venv", "--clear", str(leg.venv)],  # no leftovers of an earlier resolution
        [*pip, "--upgrade", "pip"],
        [*pip, "-e", ".[test]", *leg.pins],
    ]
    with log.open("w") as out:
        for step in steps:
            out.write(f"$ {' '.join(step)}\n")
            out.flush()
            if subprocess.run(step, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                errors = [line for line in log.read_text().splitlines() if line.startswith("ERROR")]
                leg.problem = f"install failed: {(errors or ['see ' + log.name])[-1]}"
                tail = [line[:300] for line in log.read_text().splitlines()[-15:]]  # pip's lines can be long
                say(f"{leg.name}: {leg.problem} (pip's last lines, all in {log.name}):\n" + "\n".join(tail))
                return
    stamp.write_text(key)
    log.unlink()
    say(f"{leg.name}: {leg.venv.name} built in {time.monotonic() - started:.0f} s")


def versions(leg: Leg) -> str:
    code = (
        "import importlib.metadata as m, platform; "
        "print(m.version('apache-airflow'), m.version('apache-airflow-providers-amazon'), platform.python_version())"
    )
    done = subprocess.run([str(leg.venv / "bin" / "python"), "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return "versions unknown (importlib.metadata failed)"
    airflow, amazon, python = done.stdout.split()
    return f"Airflow {airflow} (amazon {amazon}), Python {python}"


COUNTS = ("tests", "failures", "errors", "skipped")


def run_tests(leg: Leg, name: str, arguments: list[str]) -> tuple[str, bool]:
    """Run pytest, its output shown as it comes; the summary line and whether it passed."""
    report = leg.venv / f"junit-{name.replace(' ', '-')}.xml"
    report.unlink(missing_ok=True)
    say(f"{leg.name}: pytest {' '.join(arguments)}")
    command = [str(leg.venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}"]
    started = time.monotonic()
    code = subprocess.run([*command, *arguments], cwd=ROOT).returncode
    seconds = time.monotonic() - started
    if not report.exists():
        return f"pytest exited with {code} before reporting, {seconds:.0f} s", False
    root = ElementTree.parse(report).getroot()
    suites = root.findall("testsuite") if root.tag == "testsuites" else [root]
    total, failed, errors, skipped = (sum(int(suite.get(key, 0)) for suite in suites) for key in COUNTS)
    passed = total - failed - errors - skipped
    counts = f"{passed} passed, {failed + errors} failed, {skipped} skipped, {seconds:.0f} s"
    return counts, code == 0 and failed + errors == 0 and passed > 0


def main(names: list[str]) -> int:
    started = time.monotonic()
    legs = [leg for leg in LEGS if not names or leg.name in names]
    for leg in legs:
        leg.interpreter = find_python(leg.python)
        if leg.interpreter is None:
            leg.skipped = True
            leg.problem = f"no Python {leg.python} here (looked in {PYENV_VERSIONS}, for python{leg.python}, python3)"
            say(f"{leg.name}: SKIPPED: {leg.problem}; `pyenv install {leg.python}` to run it")
    ready = [leg for leg in legs if leg.interpreter]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(ready) or 1) as pool:  # pip waits on disk, not CPU
        list(pool.map(install, ready))
    lines, ok = [], True
    for leg in legs:
        if leg.problem:
            ok = ok and leg.skipped
            lines.append(f"{leg.name:7} {'SKIPPED' if leg.skipped else 'FAILED '} {leg.problem}")
            continue
        about = versions(leg)
        for name, arguments in leg.runs.items():
            counts, passed = run_tests(leg, name, arguments)
            ok = ok and passed
            lines.append(f"{leg.name:7} {'ok     ' if passed else 'FAILED '} {name:8} {about}: {counts}")
    say(f"summary ({time.monotonic() - started:.0f} s in all):")
    for line in lines:
        print(f"  {line}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
