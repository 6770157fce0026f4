"""The gallery tests' auth manager: the simple auth manager, except that ``outsider`` may read one DAG only.

The simple auth manager has no per-DAG permissions; the API server of the gallery tests loads this class,
so one user is refused a DAG that the others may read. It imports this file as the top-level module
``gallery_auth`` (``AIRFLOW__CORE__AUTH_MANAGER=gallery_auth.GalleryAuthManager``, a folder holding a link
to it on ``PYTHONPATH``): with the repository itself on the path, its ``*.egg-info`` would register the
provider's entry points, and so its plugin, twice.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

OUTSIDER = "outsider"
#: the only DAG ``outsider`` may read
OUTSIDER_DAG = "generate_deferred"


class GalleryAuthManager(SimpleAuthManager):
    """:class:`SimpleAuthManager`, with :data:`OUTSIDER` refused every DAG but :data:`OUTSIDER_DAG`."""

    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        if user.get_name() == OUTSIDER and getattr(details, "id", None) != OUTSIDER_DAG:
            return False
        return bool(super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details))
