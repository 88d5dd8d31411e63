"""The contract's three routes and the health check.

Handlers are short lists of steps: parse, find or create the GitTask, wait (bounded) for
the operator, answer from the status. Errors travel as `GatewayError` to the middleware.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from aiohttp import web

from condatask import models, names, schedule
from condatask_api import errors, mapping
from condatask_api.cluster import Cluster, GitTasks
from condatask_api.errors import GatewayError
from condatask_api.settings import Settings

logger = logging.getLogger(__name__)

CLUSTER = web.AppKey("cluster", Cluster)
SETTINGS = web.AppKey("settings", Settings)

# A new id is taken when `task-<id>` already exists (someone named a kubectl task so).
_NAME_ATTEMPTS = 5
# How long a failed create waits for its deleted task to disappear (a finalizer that another
# controller adds would hold it).
_REMOVAL_WAIT = 10.0

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


@routes.post("/api/git/tasks")
async def create_task(request: web.Request) -> web.Response:
    spec = mapping.task_spec(mapping.parse_create(await request.text()))
    cluster, timeout = request.app[CLUSTER], request.app[SETTINGS].verdict_timeout

    async with cluster.tasks_for(bearer_token(request)) as tasks:
        # Ids are taken with the gateway's identity: ask first whether the caller may create.
        await tasks.check_may_create()
        created = await _create(cluster, tasks, spec)
        name = created["metadata"]["name"]
        try:
            task = await _first_verdict(tasks, name, within=timeout)
        except BaseException:
            # Stalled, timed out, or interrupted: the contract's failures create nothing.
            await _remove(tasks, name)
            raise
    logger.info("Created GitTask %s/%s through the REST API", cluster.namespace, name)
    return web.json_response(mapping.created_reply(task).body(), status=201)


@routes.get("/api/git/tasks/{task_id}")
async def get_task(request: web.Request) -> web.Response:
    task_id = _task_id(request)
    cluster = request.app[CLUSTER]
    async with cluster.tasks_for(bearer_token(request)) as tasks:
        task = await tasks.find(task_id)
    if task is None:
        raise errors.task_not_found(request.match_info["task_id"])
    return web.json_response(mapping.status_reply(task).body())


@routes.put("/api/git/tasks/{task_id}")
async def update_task(request: web.Request) -> web.Response:
    task_id = _task_id(request)
    body = mapping.parse_update(await request.text())
    cluster, timeout = request.app[CLUSTER], request.app[SETTINGS].verdict_timeout

    async with cluster.tasks_for(bearer_token(request)) as tasks:
        found = await tasks.find(task_id)
        # The contract's 400 "Not a Git repository task" cannot arise: the seed also had
        # plain script tasks under the same ids, but here every task is a GitTask.
        if found is None:
            raise errors.task_not_found(request.match_info["task_id"])
        name = found["metadata"]["name"]
        update = f"{schedule.rfc3339(schedule.now())}/{uuid.uuid4().hex}"
        await tasks.request_update(name, request=update, update_env=body.update_env)
        task = await _update_handled(tasks, name, update=update, within=timeout)

    verdict = mapping.verdict(task)
    if verdict is not None and not verdict.ready:
        raise mapping.stall_error(verdict, creating=False)
    return web.json_response(mapping.updated_reply(task).body())


def bearer_token(request: web.Request) -> str | None:
    """The caller's bearer token, or None; never logged."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        return None
    return token


def _task_id(request: web.Request) -> int:
    text = request.match_info["task_id"]
    task_id = mapping.parse_task_id(text)
    if task_id is None:
        raise errors.task_not_found(text)
    return task_id


async def _create(cluster: Cluster, tasks: GitTasks, spec: models.GitTaskSpec) -> dict[str, Any]:
    for _ in range(_NAME_ATTEMPTS):
        task_id = await cluster.allocate_task_id()
        manifest = mapping.gittask_manifest(spec, task_id=task_id, namespace=cluster.namespace)
        created = await tasks.create(manifest)
        if created is not None:
            return created
        logger.warning(
            "GitTask %s already exists in %s; taking another task id",
            names.gittask_name(task_id),
            cluster.namespace,
        )
    raise GatewayError(
        409, "Could not name the task", "Every task name tried already exists in the namespace"
    )


async def _first_verdict(tasks: GitTasks, name: str, *, within: float) -> dict[str, Any]:
    """The task once the operator has judged it Ready; a GatewayError otherwise."""
    try:
        async with asyncio.timeout(within):
            task = await tasks.wait_for(name, done=lambda t: mapping.verdict(t) is not None)
    except TimeoutError:
        raise errors.timed_out(
            f"The operator gave no verdict on the task within {within:g} seconds"
        ) from None
    if task is None:
        raise GatewayError(409, "Task was deleted", "The task was deleted while being created")
    verdict = mapping.verdict(task)
    if verdict is not None and not verdict.ready:
        raise mapping.stall_error(verdict, creating=True)
    return task


async def _update_handled(
    tasks: GitTasks, name: str, *, update: str, within: float
) -> dict[str, Any]:
    try:
        async with asyncio.timeout(within):
            task = await tasks.wait_for(name, done=lambda t: mapping.update_handled(t, update))
    except TimeoutError:
        raise errors.timed_out(
            f"The operator did not handle the update within {within:g} seconds"
        ) from None
    if task is None:
        raise GatewayError(409, "Task was deleted", "The task was deleted while being updated")
    return task


async def _remove(tasks: GitTasks, name: str) -> None:
    """Delete a task that failed, and see it gone, so the answer leaves nothing behind."""
    try:
        await tasks.delete(name)
        # Deletion is asynchronous: wait until the object is really gone before answering.
        async with asyncio.timeout(_REMOVAL_WAIT):
            await tasks.wait_for(name, done=lambda _: False)
    except GatewayError as error:
        # The answer still tells the caller what failed; an admin must clean up.
        logger.warning("Could not remove GitTask %s/%s: %s", tasks.namespace, name, error)
    except TimeoutError:
        logger.warning("GitTask %s/%s is deleted but not yet gone", tasks.namespace, name)
    else:
        logger.info("Removed GitTask %s/%s after a failed create", tasks.namespace, name)
