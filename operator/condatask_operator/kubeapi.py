"""The operator's calls to the Kubernetes API (besides kopf's own watching and patching).

Owned objects are written by read, then create or replace (carrying the resourceVersion it
read, so a concurrent writer makes it retry rather than lose data). Server-side apply would
be neater, but the client sends apply patches as JSON with non-BMP characters escaped as
surrogate pairs, which the API server's YAML decoder rejects: a command with an emoji in it
would never apply.
"""

from __future__ import annotations

import base64
import logging
import uuid
from typing import Any

from kubernetes_asyncio import client

from condatask import resources, schedule, taskids
from condatask.kube import api_message, is_status

logger = logging.getLogger(__name__)

FIELD_MANAGER = "condatask-operator"
_MERGE = "application/merge-patch+json"


class CronJobTaken(Exception):
    """The CronJob of a task's name is controlled by another object: never take it over."""


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

    async def get_task(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._get_custom(resources.GITTASK_PLURAL, namespace, name)

    async def _get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """One of our custom objects, or None when it does not exist."""
        try:
            found: dict[str, Any] = await self._custom.get_namespaced_custom_object(
                resources.GROUP, resources.VERSION, namespace, plural, name
            )
        except client.ApiException as error:
            if is_status(error, 404):
                return None
            raise
        return found

    async def list_tasks(self) -> list[dict[str, Any]]:
        found = await self._custom.list_cluster_custom_object(
            resources.GROUP, resources.VERSION, resources.GITTASK_PLURAL
        )
        items: list[dict[str, Any]] = found["items"]
        return items

    async def task_id_taken(self, namespace: str, task_id: int, *, but: str) -> bool:
        """Whether a GitTask other than the one with uid `but` already holds `task_id`."""
        found = await self._custom.list_namespaced_custom_object(
            resources.GROUP, resources.VERSION, namespace, resources.GITTASK_PLURAL,
            label_selector=f"{resources.LABEL_TASK_ID}={task_id}",
        )  # fmt: skip
        return any(
            item["metadata"]["uid"] != but and (item.get("status") or {}).get("taskId") == task_id
            for item in found["items"]
        )

    async def patch_task_status(
        self,
        namespace: str,
        name: str,
        status: dict[str, Any],
        *,
        resource_version: str | None = None,
    ) -> None:
        """Merge `status` in; with `resource_version`, only over that version (else 409)."""
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        await self._custom.patch_namespaced_custom_object_status(
            resources.GROUP,
            resources.VERSION,
            namespace,
            resources.GITTASK_PLURAL,
            name,
            body,
            _content_type=_MERGE,
        )

    async def request_retry(self, namespace: str, name: str) -> None:
        """Ask the handlers for another reconcile of a task, through a change kopf notices."""
        stamp = f"{schedule.rfc3339(schedule.now())}/{uuid.uuid4().hex[:8]}"
        await self._custom.patch_namespaced_custom_object(
            resources.GROUP,
            resources.VERSION,
            namespace,
            resources.GITTASK_PLURAL,
            name,
            {"metadata": {"annotations": {resources.ANNOTATION_RETRY_REQUESTED: stamp}}},
            _content_type=_MERGE,
        )

    async def apply_cronjob(self, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        try:
            current = await self._batch.read_namespaced_cron_job(meta["name"], meta["namespace"])
        except client.ApiException as error:
            if not is_status(error, 404):
                raise
            await self._batch.create_namespaced_cron_job(
                meta["namespace"], body, field_manager=FIELD_MANAGER
            )
            return
        existing = self.api.sanitize_for_serialization(current)
        owner = body["metadata"]["ownerReferences"][0]["uid"]
        holders = [o["uid"] for o in existing["metadata"].get("ownerReferences") or []
                   if o.get("controller")]  # fmt: skip
        if holders and owner not in holders:
            raise CronJobTaken(f"CronJob {meta['name']} belongs to another task")
        await self._batch.replace_namespaced_cron_job(
            meta["name"], meta["namespace"], _desired(existing, body), field_manager=FIELD_MANAGER
        )

    async def get_environment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._get_custom(resources.CONDAENV_PLURAL, namespace, name)

    async def apply_environment(self, body: dict[str, Any]) -> None:
        """Create a CondaEnvironment, or update its spec and add this task as an owner.

        The other tasks' owner references stay: the environment is garbage collected only
        when the last task that uses it is gone.
        """
        meta = body["metadata"]
        kind = (resources.GROUP, resources.VERSION, meta["namespace"], resources.CONDAENV_PLURAL)
        existing = await self.get_environment(meta["namespace"], meta["name"])
        if existing is None:
            await self._custom.create_namespaced_custom_object(*kind, body)
            return
        owners = existing["metadata"].get("ownerReferences") or []
        for owner in meta.get("ownerReferences", []):
            if all(o.get("uid") != owner["uid"] for o in owners):
                owners.append(owner)
        existing["metadata"]["ownerReferences"] = owners
        existing["metadata"]["labels"] = {
            **existing["metadata"].get("labels", {}),
            **meta.get("labels", {}),
        }
        existing["spec"] = body["spec"]
        await self._custom.replace_namespaced_custom_object(*kind, meta["name"], existing)

    async def post_event(
        self, task: dict[str, Any], *, warning: bool, reason: str, message: str
    ) -> None:
        """A Kubernetes Event on the task, as `kubectl describe gittask` shows them."""
        meta = task["metadata"]
        now = schedule.now()
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{meta['name']}.", namespace=meta["namespace"]
            ),
            involved_object=client.V1ObjectReference(
                api_version=resources.API_VERSION, kind=resources.GITTASK_KIND,
                name=meta["name"], namespace=meta["namespace"], uid=meta.get("uid"),
            ),
            reason=reason, message=message[:1024], type="Warning" if warning else "Normal",
            source=client.V1EventSource(component=FIELD_MANAGER),
            first_timestamp=now, last_timestamp=now, count=1,
        )  # fmt: skip
        try:
            await self._core.create_namespaced_event(meta["namespace"], event)
        except client.ApiException as error:
            # Events are a courtesy: a refused one must not fail the reconcile.
            logger.warning(
                "Could not post event %s on %s: %s", reason, meta["name"], api_message(error)
            )

    async def secret_data(
        self, namespace: str, secret_name: str
    ) -> tuple[dict[str, str], dict[str, str]] | None:
        """The decoded data and the annotations of a Secret; None when it does not exist.

        The values are credentials: callers hand them to git and never log them.
        """
        try:
            secret = await self._core.read_namespaced_secret(secret_name, namespace)
        except client.ApiException as error:
            if is_status(error, 404):
                return None
            raise
        data = {
            key: base64.b64decode(value).decode(errors="replace")
            for key, value in (secret.data or {}).items()
        }
        return data, dict(secret.metadata.annotations or {})


def _desired(existing: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the resourceVersion read, and labels and annotations others added kept."""
    meta = existing["metadata"]
    desired = {**body, "metadata": {**body["metadata"]}}
    desired["metadata"]["resourceVersion"] = meta["resourceVersion"]
    desired["metadata"]["labels"] = {**(meta.get("labels") or {}), **body["metadata"]["labels"]}
    if meta.get("annotations"):
        desired["metadata"]["annotations"] = meta["annotations"]
    return desired
