"""The operator's calls to the Kubernetes API (besides kopf's own watching and patching).

Owned objects are written with server-side apply under one field manager, so a re-run
converges instead of fighting over fields, and a user's own additions are left alone.
"""

from __future__ import annotations

import base64
from typing import Any

from kubernetes_asyncio import client

from condatask import gitsafety, resources, taskids
from condatask.kube import is_status

FIELD_MANAGER = "condatask-operator"
_APPLY = "application/apply-patch+yaml"
_MERGE = "application/merge-patch+json"


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self._batch = client.BatchV1Api(api)
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)

    async def allocate_task_id(self, namespace: str) -> int:
        return await taskids.allocate(self.api, namespace)

    async def label_task(self, namespace: str, name: str, labels: dict[str, str]) -> None:
        await self._custom.patch_namespaced_custom_object(
            resources.GROUP,
            resources.VERSION,
            namespace,
            resources.GITTASK_PLURAL,
            name,
            {"metadata": {"labels": labels}},
            _content_type=_MERGE,
        )

    async def list_tasks(self) -> list[dict[str, Any]]:
        found = await self._custom.list_cluster_custom_object(
            resources.GROUP, resources.VERSION, resources.GITTASK_PLURAL
        )
        items: list[dict[str, Any]] = found["items"]
        return items

    async def patch_task_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        await self._custom.patch_namespaced_custom_object_status(
            resources.GROUP,
            resources.VERSION,
            namespace,
            resources.GITTASK_PLURAL,
            name,
            {"status": status},
            _content_type=_MERGE,
        )

    async def apply_cronjob(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        await self._batch.patch_namespaced_cron_job(
            meta["name"],
            meta["namespace"],
            body,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type=_APPLY,
        )

    async def get_environment(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await self._custom.get_namespaced_custom_object(
                resources.GROUP, resources.VERSION, namespace, resources.CONDAENV_PLURAL, name
            )
        except client.ApiException as error:
            if is_status(error, 404):
                return None
            raise
        return found

    async def apply_environment(self, body: dict[str, Any], *, task_name: str) -> None:
        """Apply a CondaEnvironment on behalf of one task.

        Each task applies as its own field manager: the owner reference it adds then stays
        its own, and another task's apply cannot remove it (one manager's apply would).
        """
        meta = body["metadata"]
        await self._custom.patch_namespaced_custom_object(
            resources.GROUP,
            resources.VERSION,
            meta["namespace"],
            resources.CONDAENV_PLURAL,
            meta["name"],
            body,
            field_manager=f"{FIELD_MANAGER}/{task_name}"[:128],
            force=True,
            _content_type=_APPLY,
        )

    async def basic_auth_header(self, namespace: str, secret_name: str) -> str | None:
        """The HTTP Authorization header of a credentials Secret; None when it is missing."""
        try:
            secret = await self._core.read_namespaced_secret(secret_name, namespace)
        except client.ApiException as error:
            if is_status(error, 404):
                return None
            raise
        data = {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}
        if "password" not in data:
            return None
        return gitsafety.basic_auth_header(data.get("username", ""), data["password"])
