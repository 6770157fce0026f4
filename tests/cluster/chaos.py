"""What each chaos scenario on the Celery cluster measures, the same way for all: the run's images in S3 (listed,
one per prompt), the emulator's bills since just before the run was triggered (real-time and batch), and what was
paid twice: every prompt asks for one image, so whatever was billed beyond the prompts."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_openai_images.keys import key_segment
from tests.support.cluster import WORKERS, CeleryCluster

if TYPE_CHECKING:
    from airflow_provider_openai_images.testing import ImagesAPIEmulator

BUCKET = "openai-images-cluster"
#: the name under which ``chaos_report`` records a scenario's figures (read by ``tests/conftest.py``)
CHAOS_PROPERTY = "chaos"
_ITEM_IMAGE = re.compile(r"/item-(\d{5})/(\d{3})\.png$")
T = TypeVar("T")


@dataclass(frozen=True)
class Figures:
    """One scenario's line in the terminal summary."""

    scenario: str
    prompts: int
    landed: int
    billed: int
    note: str = ""

    @property
    def paid_twice(self) -> int:
        return self.billed - self.prompts

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "paid_twice": self.paid_twice}


def bills(api: ImagesAPIEmulator) -> int:
    """Every image the emulator billed so far, in real time and in batches."""
    return api.billed_images + api.batch_billed_images


@dataclass
class ChaosRun:
    """A DAG run of one bulk task ``generate`` under chaos, and the emulator's bills since just before it began."""

    cluster: CeleryCluster
    dag_id: str
    run_id: str
    prompts: int
    billed_before: int

    @classmethod
    def trigger(cls, cluster: CeleryCluster, dag_id: str, prompts: int) -> ChaosRun:
        """Trigger ``dag_id`` with ``{"prompts": prompts}`` (DAGs of a fixed size ignore it)."""
        before = bills(cluster.images_api) if cluster.images_api else 0
        return cls(cluster, dag_id, cluster.trigger(dag_id, {"prompts": prompts}), prompts, before)

    @property
    def api(self) -> ImagesAPIEmulator:
        assert self.cluster.images_api is not None
        return self.cluster.images_api

    def task(self) -> dict[str, Any]:
        """The task instance ``generate``, as the REST API shows it now."""
        (ti,) = self.cluster.task_instances(self.dag_id, self.run_id)
        return ti

    def running_on(self) -> str | None:
        """The worker running the task now, if one is."""
        ti = self.task()
        return str(ti["hostname"]) if ti["state"] == "running" and ti["hostname"] in WORKERS else None

    def billed(self) -> int:
        """Images billed since the run was triggered."""
        return bills(self.api) - self.billed_before

    def landed(self) -> list[tuple[int, int]]:
        """(item, image index) of every image of the run in S3, listed."""
        return sorted((int(match[1]), int(match[2])) for key in self._keys() if (match := _ITEM_IMAGE.search(key)))

    def safely_landed(self) -> list[tuple[int, int]]:
        """(item, image index) of every image of the run whose sidecar is in S3 too: what a retry finds landed
        and never pays again (an image without its sidecar was cut mid-landing, and is paid again)."""
        keys = self._keys()
        return sorted(
            (int(match[1]), int(match[2]))
            for key in keys
            if (match := _ITEM_IMAGE.search(key)) and key.removesuffix(".png") + ".json" in keys
        )

    def _keys(self) -> set[str]:
        """The keys of the run's task instance in S3, listed."""
        assert self.cluster.s3 is not None
        prefix = f"openai-images/{key_segment(self.dag_id)}/{key_segment(self.run_id)}/generate/"
        pages = self.cluster.s3.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def finish(self, timeout: float = 300.0) -> dict[str, Any]:
        """Wait until the run is final, assert it succeeded (printing every log if not); its task instance."""
        state = self.cluster.wait(self.dag_id, self.run_id, timeout=timeout)
        ti = self.task()
        if state != "success":
            self.cluster.print_logs()
            for try_number in range(1, max(ti["try_number"], 1) + 1):
                print(self.cluster.task_log(self.dag_id, self.run_id, "generate", try_number))
        assert state == "success", f"{self.dag_id} {self.run_id}: {state} (logs above)"
        return ti

    def figures(self, scenario: str, note: str = "") -> Figures:
        return Figures(scenario, self.prompts, len(self.landed()), self.billed(), note)

    def assert_every_prompt_landed_once(self) -> None:
        """One image per prompt in S3, each prompt's own, and the task's records say so."""
        assert self.landed() == [(item, 0) for item in range(self.prompts)], "every prompt landed exactly once"
        records = self.cluster.xcom(self.dag_id, self.run_id, "generate")
        assert [[record["status"] for record in item] for item in records] == [["landed"]] * self.prompts


def until(condition: Callable[[], T | None], timeout: float, what: str, every: float = 0.25) -> T:
    """``condition()``'s first truthy value within ``timeout`` seconds. Unlike the cluster's ``poll``, it does not
    give up when a component exits: for the waits in which components are expected to."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"Waiting for {what}: not within {timeout:.0f}s")
        time.sleep(every)
    return value
