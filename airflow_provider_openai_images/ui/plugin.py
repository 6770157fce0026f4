"""``OpenAIImagesPlugin``: the gallery app mounted in the API server, and the "Images" tabs of the UI.

Every Airflow process that loads plugins imports this module (a task process does, for macros), so it
stays cheap: FastAPI, Airflow's API server modules and the amazon provider are imported only when the
API server reads :attr:`OpenAIImagesPlugin.fastapi_apps`.

The UI frames an external view in an iframe whose ``src`` is ``href`` with ``{DAG_ID}``, ``{RUN_ID}``,
``{TASK_ID}`` and ``{MAP_INDEX}`` replaced (URL-encoded) by the page's own; a relative ``href`` resolves
against the UI's ``<base href>``, the API server's base URL, so it works under a path prefix too. On a
task that is not mapped there is no map index and ``{MAP_INDEX}`` stays as it is: the gallery then shows
every map index of the task. A tab appears only for a view with a ``url_route``, unique across plugins.
The "Spend" entry of the navigation frames the Spend view (spend per DAG and per day).
"""

from __future__ import annotations

import functools
from typing import Any

try:
    from airflow.sdk.plugins_manager import AirflowPlugin
except ImportError:  # pragma: no cover - Airflow before the task SDK's plugins manager
    from airflow.plugins_manager import AirflowPlugin  # type: ignore[assignment]

#: where the API server mounts the app (``{base_url}/openai-images/...``)
URL_PREFIX = "/openai-images"
#: the gallery page, relative to the UI's base URL (no leading slash)
GALLERY = URL_PREFIX.lstrip("/") + "/gallery"
#: the Spend view, likewise
SPEND = URL_PREFIX.lstrip("/") + "/spend"

EXTERNAL_VIEWS: list[dict[str, Any]] = [
    {
        "name": "Images",
        "href": f"{GALLERY}?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
        "destination": "dag_run",
        "url_route": "openai-images",
    },
    {
        "name": "Images",
        "href": f"{GALLERY}?dag_id={{DAG_ID}}&run_id={{RUN_ID}}&task_id={{TASK_ID}}&map_index={{MAP_INDEX}}",
        "destination": "task_instance",
        "url_route": "openai-images-task",
    },
    {"name": "Spend", "href": SPEND, "destination": "nav", "url_route": "openai-images-spend"},
]


@functools.cache
def _fastapi_apps() -> list[dict[str, Any]]:
    from airflow_provider_openai_images.ui.app import create_app

    return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "OpenAI Images gallery"}]


class _BuiltOnRead:
    """A class attribute whose value, the gallery app, is built the first time it is read."""

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        return _fastapi_apps()


class OpenAIImagesPlugin(AirflowPlugin):
    """The "Images" view of DAG runs and task instances: a gallery of what the provider's operators landed.

    ``fastapi_apps`` mounts :func:`~airflow_provider_openai_images.ui.app.create_app` at ``/openai-images``;
    ``external_views`` adds an "Images" tab to DAG run pages (the whole run) and task instance pages (that
    task instance) that frames the app's gallery page, and a "Spend" entry to the navigation.
    """

    name = "openai_images"
    fastapi_apps = _BuiltOnRead()
    external_views = EXTERNAL_VIEWS
