"""The Spend view in a real Airflow, through real HTTP to its API server: totals per DAG that are what the
records of real DAG runs say, DAGs a user may not read absent from rows and totals alike, a CSV equal to the
JSON, a signed-in user only, and the navigation entry listed by the plugin.

One cluster for the module (:func:`tests.ui.gallery_cluster.gallery_cluster`), with four runs:

* ``spend_realtime`` (:mod:`tests.integration.spend_dags`): five items in real time; item 0's answer is cut
  off (billed, never answered) and the task does not retry it (``retry_possibly_billed=False``): a
  ``possibly_billed`` record; item 2 is refused by the safety system; three land;
* ``spend_batch``: three images through the Batch API, at half price;
* ``generate_deferred``: one request of two images, the only DAG ``outsider`` may read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_openai_images.ui import spend
from airflow_provider_openai_images.ui.spend import tally_records
from tests.integration.gallery_auth import OUTSIDER, OUTSIDER_DAG
from tests.integration.spend_runs import spend_cluster
from tests.ui.gallery_cluster import GalleryCluster, images_of

APP = "/openai-images"
DAGS = ("spend_realtime", "spend_batch", OUTSIDER_DAG)


@dataclass
class Seeded:
    cluster: GalleryCluster
    runs: dict[str, str]

    def records(self, dag_id: str) -> list[dict[str, Any]]:
        value = self.cluster.airflow.xcom(dag_id, self.runs[dag_id], "generate")
        return [record for _, _, record in images_of(value)]

    def table(self, user: str, query: str = "") -> dict[str, Any]:
        answer = self.cluster.get(f"{APP}/api/spend{query}", user=user)
        assert answer.status == 200, answer.body[:500]
        return dict(answer.json())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with spend_cluster(tmp_path_factory) as (cluster, runs):
        yield Seeded(cluster, runs)


def per_dag(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The table's rows added up per DAG (a run near midnight UTC may fall on another day)."""
    summed: dict[str, dict[str, Any]] = {}
    for row in table["rows"]:
        into = summed.setdefault(row["dag_id"], {"run_ids": []})
        for name, value in row.items():
            if isinstance(value, (int, float)) and name != "saved_share":
                into[name] = into.get(name, 0) + value
        into["run_ids"] += row["run_ids"]
    return summed


def test_the_totals_are_what_the_records_of_each_run_say(seeded: Seeded) -> None:
    table = seeded.table("viewer")
    dags = per_dag(table)
    assert set(dags) == set(DAGS)
    for dag_id in DAGS:
        expected = tally_records(seeded.records(dag_id)).figures(runs=1)
        for name, value in expected.items():
            if name != "saved_share":
                assert dags[dag_id][name] == pytest.approx(value, abs=1e-9), f"{dag_id}: {name}"
        assert dags[dag_id]["run_ids"] == [seeded.runs[dag_id]]

    realtime, batch, single = (dags[dag_id] for dag_id in DAGS)
    assert (realtime["images_landed"], realtime["images_rejected"], realtime["images_failed"]) == (3, 1, 1)
    assert realtime["possibly_billed"] == 1
    assert realtime["possibly_billed_unpriced"] == 0
    assert realtime["possibly_billed_cost_usd"] > 0, "at most what the unanswered request could cost"
    assert realtime["batch_images"] == realtime["saved_usd"] == 0
    assert (batch["images_landed"], batch["batch_images"]) == (3, 3)
    assert batch["saved_usd"] == pytest.approx(batch["cost_usd"]), "the Batch API bills half"
    assert (single["images_landed"], single["images_rejected"], single["images_failed"]) == (2, 0, 0)
    for figures in (realtime, batch, single):
        assert figures["cost_usd"] > 0
        assert figures["unpriced"] == 0

    totals = table["totals"]
    assert totals["runs"] == 3
    assert (totals["images_landed"], totals["images_rejected"], totals["images_failed"]) == (8, 1, 1)
    assert totals["cost_usd"] == pytest.approx(sum(dags[dag_id]["cost_usd"] for dag_id in DAGS), abs=1e-9)
    assert totals["saved_usd"] == pytest.approx(batch["saved_usd"])
    share = totals["saved_usd"] / (totals["cost_usd"] + totals["saved_usd"])
    assert totals["saved_share"] == pytest.approx(share, abs=1e-4)

    failure = next(record for record in seeded.records("spend_realtime") if record["status"] == "failed")
    assert failure["failure_kind"] == "possibly_billed"
    assert failure["possibly_billed_cost_usd"] == realtime["possibly_billed_cost_usd"]


def test_a_user_sees_neither_rows_nor_totals_of_dags_he_may_not_read(seeded: Seeded) -> None:
    everything = seeded.table("viewer")
    outsider = seeded.table(OUTSIDER)
    assert {row["dag_id"] for row in outsider["rows"]} == {OUTSIDER_DAG}
    single = per_dag(everything)[OUTSIDER_DAG]
    for name, value in outsider["totals"].items():
        if name != "saved_share":
            assert value == pytest.approx(single[name], abs=1e-9), f"outsider's {name}: his one DAG's only"
    assert outsider["totals"]["runs"] == 1
    assert outsider["totals"]["images_landed"] < everything["totals"]["images_landed"]
    for dag_id in ("spend_realtime", "spend_batch"):  # the other DAGs are not in his answers at all
        assert dag_id.encode() not in seeded.cluster.get(f"{APP}/api/spend", user=OUTSIDER).body
        assert dag_id.encode() not in seeded.cluster.get(f"{APP}/api/spend.csv", user=OUTSIDER).body


@pytest.mark.parametrize("user", ["viewer", OUTSIDER])
def test_the_csv_is_the_json(seeded: Seeded, user: str) -> None:
    answer = seeded.cluster.get(f"{APP}/api/spend.csv?days=7", user=user)
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="openai-images-spend-')
    table = seeded.table(user, "?days=7")
    *rows, totals = spend.from_csv(answer.body.decode())
    assert len(rows) == len(table["rows"])
    for line, row in zip(rows, table["rows"], strict=True):
        assert same(line, row), (line, row)
    assert totals["day"] == "total"
    assert same(totals, {**table["totals"], "day": "total", "dag_id": "", "run_ids": []})


def same(line: dict[str, str], row: dict[str, Any]) -> bool:
    """Whether a CSV line says what a JSON row says."""
    for column in spend.CSV_COLUMNS:
        value = row[column]
        if column == "run_ids":
            ok = line[column].split() == value
        elif value is None:
            ok = line[column] == ""
        elif isinstance(value, float) or column.endswith("usd"):
            ok = float(line[column]) == value
        else:
            ok = line[column] == str(value)
        if not ok:
            return False
    return True


def test_only_a_signed_in_user_gets_the_view(seeded: Seeded) -> None:
    for path in ("/api/spend", "/api/spend.csv"):
        answer = seeded.cluster.get(APP + path)
        assert answer.status == 401, path
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    page = seeded.cluster.get(f"{APP}/spend")
    assert page.status == 401
    assert b"Sign in to Airflow" in page.body
    page = seeded.cluster.get(f"{APP}/spend", user=OUTSIDER)
    assert page.status == 200
    assert page.headers["content-security-policy"] == "default-src 'self'; img-src 'self' data:; frame-ancestors 'self'"
    assert b"static/spend.js?v=" in page.body
    assert seeded.cluster.get(f"{APP}/static/spend.js", user=OUTSIDER).status == 200
    assert seeded.cluster.get(f"{APP}/api/spend?days=0", user="viewer").status == 422


def test_the_plugin_lists_the_navigation_entry(seeded: Seeded) -> None:
    plugins = seeded.cluster.get("/api/v2/plugins", user="admin").json()["plugins"]
    (plugin,) = [plugin for plugin in plugins if plugin["name"] == "openai_images"]
    (nav,) = [view for view in plugin["external_views"] if view["destination"] == "nav"]
    assert (nav["name"], nav["href"], nav["url_route"]) == ("Spend", "openai-images/spend", "openai-images-spend")
