"""The demo's terminal: everything Airflow, the provider and their subprocesses print goes to a log file, and
the terminal shows short progress lines, each DAG run's tasks as they end, and the summary.

:class:`Console` redirects file descriptors 1 and 2 to the log (so subprocesses' output follows) and keeps
the original standard output for itself. :meth:`Console.tasks` follows the log while ``dag.test()`` runs,
reading its ``[DAG TEST]`` lines: if they change wording, the demo still runs, without the task lines.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

_TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT")
_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(\S+)")
_ENDING = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
#: lines shown when something fails
TAIL_LINES = 40


class Console:
    """Start with ``with Console(log) as console:``; :meth:`say` writes to the terminal (and the log).

    :param log: the log file, created anew.
    """

    def __init__(self, log: Path) -> None:
        self.log = log
        self._lock = threading.Lock()
        self._line_open = False  # a step's line waits for its duration
        self._terminal: IO[str] | None = None
        self._saved: tuple[int, int] | None = None

    def __enter__(self) -> Console:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = os.dup(1), os.dup(2)
        self._terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8", errors="replace")
        with self.log.open("wb") as output:
            os.dup2(output.fileno(), 1)
            os.dup2(output.fileno(), 2)
        return self

    def __exit__(self, *exc_info: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        assert self._saved is not None
        assert self._terminal is not None
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for descriptor in self._saved:
            os.close(descriptor)
        self._terminal.close()

    # -- writing ----------------------------------------------------------------------------------

    def say(self, text: str = "", *, end: str = "\n") -> None:
        """``text`` on the terminal, and in the log (marked ``[demo]``) to show where the demo was."""
        assert self._terminal is not None
        with self._lock:
            if self._line_open:
                self._terminal.write("\n")
                self._line_open = False
            self._terminal.write(text + end)
            self._terminal.flush()
            self._line_open = end == ""
        if text.strip():
            print(f"[demo] {text.strip()}", flush=True)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """``what…`` now, then how long it took, on the same line unless task lines came in between."""
        started = time.monotonic()
        self.say(f"{what}…", end="")
        yield
        seconds = time.monotonic() - started
        assert self._terminal is not None
        with self._lock:
            finished = f" {seconds:.1f} s" if self._line_open else f"  finished in {seconds:.1f} s"
            self._terminal.write(finished + "\n")
            self._terminal.flush()
            self._line_open = False

    def fail(self, what: str) -> None:
        """Say what failed, then the end of the log and where the whole of it is."""
        sys.stdout.flush()
        sys.stderr.flush()
        tail = self.log.read_text("utf-8", errors="replace").splitlines()[-TAIL_LINES:]
        self.say(f"\n✗ {what}")
        self.say(f"\nThe last {len(tail)} lines of {self.log.name}:")
        for line in tail:
            self.say(f"  | {line}")
        self.say(f"\nThe full log: {self.log}")

    # -- a DAG run's tasks --------------------------------------------------------------------------

    @contextmanager
    def tasks(self, dag: Any) -> Iterator[None]:
        """While the block runs ``dag.test()``: a line per task instance as it ends (how its try went)."""
        sys.stdout.flush()
        follower = _TaskFollower(self, dag, self.log.stat().st_size)
        follower.start()
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            follower.stop()


class _TaskFollower(threading.Thread):
    """Reads the log as it grows and reports each ``[DAG TEST]`` task end to the console."""

    def __init__(self, console: Console, dag: Any, offset: int) -> None:
        super().__init__(name="demo-task-follower", daemon=True)
        self.console, self.dag, self.offset = console, dag, offset
        self._done = threading.Event()
        self._tries: dict[str, int] = {}
        self._failed = self._deferred = False
        self._error = ""

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)

    def run(self) -> None:
        with self.console.log.open("rb") as log:
            log.seek(self.offset)
            pending = b""
            while True:
                stopping = self._done.is_set()  # read what is there once more after the block ended
                pending += log.read()
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._read(line.decode("utf-8", errors="replace"))
                if stopping:
                    return
                self._done.wait(0.2)

    def _read(self, line: str) -> None:
        if "[DAG TEST] running trigger in line" in line:
            self._deferred = True
        elif "Task failed with exception" in line:
            self._failed, self._error = True, ""
        elif self._failed and line and not _TIMESTAMPED.match(line) and not line.startswith((" ", "Traceback")):
            self._error = line.strip()  # the traceback's last line names the exception
        elif starting := _STARTING.search(line):
            self._failed = self._deferred = False
            self._tries[starting.group(1)] = self._tries.get(starting.group(1), 0) + 1
        elif ending := _ENDING.search(line):
            self.console.say(self._outcome(ending.group(1)))

    def _outcome(self, task_id: str) -> str:
        if not self._failed:
            return f"  ✓ {task_id}" + (" (deferred; its trigger ran in line)" if self._deferred else "")
        line = f"  ✗ {task_id} failed" + (f": {self._error[:160]}" if self._error else "")
        task = self.dag.task_dict.get(task_id)
        tries, retries = self._tries.get(task_id, 1), int(getattr(task, "retries", 0) or 0)
        if tries <= retries:
            delay = getattr(task, "retry_delay", None)
            wait = f" in {_duration(delay)}" if isinstance(delay, timedelta) else ""
            line += f"\n    Airflow retries it{wait} (try {tries} of {retries + 1}); Ctrl-C stops the demo"
        return line


def _duration(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    return f"{seconds // 60} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds} s"
