"""The runs the Spend view's tests read, in a cluster of their own (:func:`spend_cluster`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_openai_images.testing import Fault
from tests.integration import spend_dags
from tests.integration.gallery_auth import OUTSIDER_DAG
from tests.ui.gallery_cluster import GalleryCluster, gallery_cluster


@contextlib.contextmanager
def spend_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GalleryCluster, dict[str, str]]]:
    """A gallery cluster and its runs by DAG id: ``generate_deferred`` (two images, the only DAG ``outsider``
    may read), ``spend_batch`` (three images through the Batch API) and ``spend_realtime`` (item 0's answer cut
    off and not retried: a ``possibly_billed`` record; item 2, a "banner", refused by the safety system)."""
    with gallery_cluster(tmp_path_factory, ("bulk.py", Path(spend_dags.__file__))) as cluster:
        runs = {OUTSIDER_DAG: cluster.run(OUTSIDER_DAG), "spend_batch": cluster.run("spend_batch")}
        cluster.api.blocked_prompt_words.add("banner")
        cluster.api.inject(Fault.truncated_body(endpoint="generations"))
        runs["spend_realtime"] = cluster.run("spend_realtime")
        yield cluster, runs
