"""What the benchmarks share: the repository root on ``sys.path`` (they run as scripts, from ``benchmarks/``,
and use the harnesses of ``tests/support``), the emulator in a process of its own, and their output sent to
a log while they measure.

Import it before anything from ``tests.support``: ``from support import EmulatorProcess, quiet``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.ports import free_port  # noqa: E402  (needs the root on sys.path)

_CONNECTION_LINE = "export AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT="


class EmulatorProcess:
    """``python -m airflow_provider_openai_images.testing.emulator`` in a subprocess, so that its CPU is not the
    client's; its output goes to ``log``.

    :param options: the emulator's command-line options (``"--latency", "0.5"``, ``"--incompressible-images"``).
    :param log: where its output goes (appended).
    :param tmp: its temporary directory (the files of its Files API), if not the system's.
    """

    def __init__(self, *options: str, log: Path, tmp: Path | None = None) -> None:
        self.options, self.log, self.tmp = options, log, tmp
        self.port = free_port()
        #: the ``openai_images`` connection it printed once serving (JSON form)
        self.connection: dict[str, Any] = {}

    def __enter__(self) -> EmulatorProcess:
        command = [sys.executable, "-u", "-m", "airflow_provider_openai_images.testing.emulator"]
        env = {**os.environ, **({"TMPDIR": str(self.tmp)} if self.tmp is not None else {})}
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), *self.options],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        log = self.log.open("a")
        for line in self.process.stdout:
            log.write(line)
            if line.startswith(_CONNECTION_LINE):  # printed once it serves
                self.connection = json.loads(line.removeprefix(_CONNECTION_LINE).strip().strip("'"))
                break
        else:
            log.close()
            raise RuntimeError(f"the emulator exited with {self.process.wait()} (see {self.log})")
        threading.Thread(target=self._drain, args=(self.process.stdout, log), daemon=True).start()
        return self

    @staticmethod
    def _drain(stream: IO[str], log: IO[str]) -> None:
        with log:
            for line in stream:
                log.write(line)

    def __exit__(self, *exc_info: object) -> None:
        # SIGINT first: its own clean exit (it stops the batch threads and removes its files); then SIGTERM,
        # then SIGKILL
        interrupt = functools.partial(self.process.send_signal, signal.SIGINT)
        for stop, grace in ((interrupt, 10.0), (self.process.terminate, 5.0), (self.process.kill, None)):
            if self.process.poll() is not None:
                return
            stop()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)

    def env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT`` pointing at it."""
        return {"AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT": json.dumps(self.connection)}


@contextmanager
def quiet(log: Path) -> Iterator[None]:
    """This process's stdout and stderr (Airflow's, the provider's and the task logs: still written, still paid
    for) into ``log`` for the block, at the file-descriptor level, so that subprocesses' output goes there too."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("ab") as output:
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
