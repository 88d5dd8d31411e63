"""Integer task ids, unique within a namespace, handed out by a ConfigMap counter.

The REST API names tasks by integer. The counter is a ConfigMap updated with optimistic
concurrency (the write carries the resourceVersion it read), so concurrent gateways and
operators never hand out one id twice: a loser gets 409 Conflict and tries again.
"""

from __future__ import annotations

import asyncio
import random

from kubernetes_asyncio import client

from condatask import resources
from condatask.kube import is_status

MAX_ATTEMPTS = 50


class TaskIdUnavailable(RuntimeError):
    """The counter could not be advanced (too much contention or no permission)."""


async def allocate(api: client.ApiClient, namespace: str) -> int:
    core = client.CoreV1Api(api)
    for attempt in range(MAX_ATTEMPTS):
        try:
            return await _advance(core, namespace)
        except client.ApiException as error:
            if not is_status(error, 409):
                raise
        # Spread the retries of many concurrent callers apart.
        await asyncio.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311
    raise TaskIdUnavailable(f"could not allocate a task id in {namespace} after contention")


async def _advance(core: client.CoreV1Api, namespace: str) -> int:
    try:
        counter = await core.read_namespaced_config_map(resources.TASK_ID_CONFIGMAP, namespace)
    except client.ApiException as error:
        if not is_status(error, 404):
            raise
        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(
                name=resources.TASK_ID_CONFIGMAP,
                labels={resources.LABEL_MANAGED_BY: resources.MANAGED_BY},
            ),
            data={resources.TASK_ID_KEY: "2"},
        )
        await core.create_namespaced_config_map(namespace, body)
        return 1
    current = int((counter.data or {}).get(resources.TASK_ID_KEY, "1"))
    counter.data = {**(counter.data or {}), resources.TASK_ID_KEY: str(current + 1)}
    # replace carries metadata.resourceVersion: the server refuses it if anyone wrote since.
    await core.replace_namespaced_config_map(resources.TASK_ID_CONFIGMAP, namespace, counter)
    return current
