"""Peak memory of process trees, sampled by a process of its own: in the benchmark's process a sampling thread
waits for the GIL behind the emulator's threads and falls behind (``benchmarks/cluster.py``).

Each sample sums, over each tree (a leader and all its descendants, Celery's pool forks and the task processes
they start included), RSS and PSS (shared pages divided among the processes that map them: a fork's
copy-on-write pages are not counted twice). Run as a script it samples until its standard input closes, then
prints the peaks as JSON; :class:`MemorySampler` drives it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import subprocess
import sys
import threading
import time
from typing import Any

import psutil

READY = "ready"


class MemorySampler:
    """Sample the trees of ``leaders`` (name -> pid) every ``every`` seconds from :meth:`start` to :meth:`stop`."""

    def __init__(self, leaders: dict[str, int], every: float = 0.5) -> None:
        self.leaders, self.every = leaders, every
        #: name -> bytes, and ``samples``, ``mean_interval``, ``max_interval`` (seconds), once stopped
        self.peak_rss: dict[str, int] = {}
        self.peak_pss: dict[str, int] = {}
        self.start_rss: dict[str, int] = {}
        self.timing: dict[str, float] = {}

    def start(self) -> None:
        """Start sampling; return once the first sample is taken."""
        command = [sys.executable, __file__, json.dumps(self.leaders), str(self.every)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != READY:
            raise RuntimeError(f"the memory sampler exited with {self.process.wait()}")

    def stop(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        result = json.loads(self.process.stdout.read())
        self.process.wait()
        self.peak_rss, self.peak_pss, self.start_rss = result["peak_rss"], result["peak_pss"], result["start_rss"]
        self.timing = result["timing"]


def _tree(pid: int) -> list[psutil.Process]:
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def _sample(leaders: dict[str, int], every: float) -> dict[str, Any]:
    stopped = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.read()  # until the parent closes it
        stopped.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    peak_rss, peak_pss = dict.fromkeys(leaders, 0), dict.fromkeys(leaders, 0)
    start_rss: dict[str, int] = {}
    moments: list[float] = []
    while True:
        moments.append(time.monotonic())
        for name, pid in leaders.items():
            rss = pss = 0
            for process in _tree(pid):
                with contextlib.suppress(psutil.Error):
                    memory = process.memory_full_info()
                    rss, pss = rss + memory.rss, pss + getattr(memory, "pss", memory.rss)
            start_rss.setdefault(name, rss)
            peak_rss[name], peak_pss[name] = max(peak_rss[name], rss), max(peak_pss[name], pss)
        if len(moments) == 1:
            print(READY, flush=True)
        if stopped.wait(max(0.0, moments[-1] + every - time.monotonic())):  # at a fixed rate while it can
            break
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)] or [0.0]
    timing = {"samples": len(moments), "mean_interval": sum(gaps) / len(gaps), "max_interval": max(gaps)}
    return {"peak_rss": peak_rss, "peak_pss": peak_pss, "start_rss": start_rss, "timing": timing}


if __name__ == "__main__":
    print(json.dumps(_sample(json.loads(sys.argv[1]), float(sys.argv[2]))), flush=True)
