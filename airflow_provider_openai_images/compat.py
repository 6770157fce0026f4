"""Which Airflow the provider runs on, asked in one place: it supports ``apache-airflow>=3.2,<4``, and what needs a
newer minor version asks here, degrades with a log line on an older one, and its tests skip with the same reason.

``make test-oldest`` runs the unit tests and a DAG run on the oldest supported Airflow (see docs/development.md).
"""

from __future__ import annotations

from functools import cache

#: the first Airflow whose triggerer calls ``BaseTrigger.on_kill`` when a user kills a deferred task
TRIGGER_ON_KILL_SINCE = (3, 3)
#: the first Airflow whose human-in-the-loop tasks wait in ``awaiting_input``; 3.2's defer to the triggerer
HITL_AWAITING_INPUT_SINCE = (3, 3)


@cache
def airflow_version() -> tuple[int, int]:
    """The running Airflow's ``(major, minor)``: ``(3, 2)`` for 3.2.2, ``(3, 3)`` for 3.3.0rc1."""
    from airflow import __version__
    from packaging.version import Version

    major, minor = Version(__version__).release[:2]
    return major, minor


def airflow_at_least(major: int, minor: int) -> bool:
    """Whether the running Airflow is ``major.minor`` or newer."""
    return airflow_version() >= (major, minor)


def triggerer_calls_on_kill() -> bool:
    """Whether a user killing a deferred task (mark failed, clear) runs its trigger's ``on_kill`` (Airflow 3.3+)."""
    return airflow_at_least(*TRIGGER_ON_KILL_SINCE)


def needs_airflow(since: tuple[int, int], feature: str) -> str:
    """Why ``feature`` is missing here: for a log line, and for the reason of a skipped test."""
    from airflow import __version__

    return f"{feature} needs Airflow {since[0]}.{since[1]} or newer; this is Airflow {__version__}"
