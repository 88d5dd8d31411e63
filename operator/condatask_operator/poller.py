"""The poll: every interval, fetch each repository once and record how far its tasks are behind.

It runs as one loop beside kopf's handlers rather than as a kopf timer per task: a kopf timer
puts a finalizer on every GitTask, which would block deleting tasks (and their namespaces)
while the operator is down, and one loop makes "many tasks on one repository cost one fetch"
plain to see. It never moves a task; it re-runs the reconcile of tasks whose stall the remote
can heal (unreachable, missing branch or files), so they recover on their own.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
from collections import defaultdict
from typing import Any

from condatask import conditions, schedule
from condatask.conditions import Reason
from condatask.kube import is_status
from condatask_operator import reconcile
from condatask_operator.repository import RepositoryError
from condatask_operator.stall import Stall

logger = logging.getLogger(__name__)

HEALABLE = {
    Reason.REPOSITORY_UNREACHABLE,
    Reason.BRANCH_NOT_FOUND,
    Reason.REPOSITORY_CONFIG_NOT_FOUND,
    Reason.INVALID_FILTER_CONF,
    Reason.SECRET_NOT_FOUND,
    Reason.ENVIRONMENT_NOT_FOUND,
}


async def run_forever(ctx: reconcile.Context, *, interval: float, namespaces: list[str]) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await poll_once(ctx, namespaces=namespaces)
        except Exception:
            # One bad round (the API server restarting, say) must not end the polling.
            logger.exception("The poll failed; trying again in %.0fs", interval)


async def poll_once(ctx: reconcile.Context, *, namespaces: list[str]) -> None:
    started = time.monotonic()
    by_repository: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in await ctx.kube.list_tasks():
        namespace = task["metadata"]["namespace"]
        if not namespaces or any(fnmatch.fnmatchcase(namespace, n) for n in namespaces):
            url = ((task.get("spec") or {}).get("repository") or {}).get("url", "")
            by_repository[url].append(task)
    for tasks in by_repository.values():
        for task in tasks:
            # The first task of a repository fetches; the others reuse that fetch.
            await _poll_task(ctx, task, fresh_after=started)


async def _poll_task(ctx: reconcile.Context, task: dict[str, Any], *, fresh_after: float) -> None:
    meta = task["metadata"]
    try:
        if _needs_reconcile(task):
            update = await reconcile.reconcile(ctx, task)
        else:
            update = await _divergence(ctx, task, fresh_after=fresh_after)
        await ctx.kube.patch_task_status(meta["namespace"], meta["name"], update)
    except (RepositoryError, Stall) as error:
        logger.warning(
            "Could not check the remote of %s/%s: %s", meta["namespace"], meta["name"], error
        )
    except Exception as error:
        if not is_status(error, 404):  # deleted meanwhile
            raise


def _needs_reconcile(task: dict[str, Any]) -> bool:
    """Whether to re-run the whole reconcile rather than only count commits."""
    status = task.get("status") or {}
    stalled = conditions.find(status.get("conditions"), "Stalled") or {}
    current = status.get("observedGeneration") == task["metadata"].get("generation")
    if stalled.get("status") == "True" and current:
        # Only the remote can heal these; a bad spec waits for its owner to change it.
        return stalled.get("reason") in HEALABLE
    return not status.get("commit")


async def _divergence(
    ctx: reconcile.Context, task: dict[str, Any], *, fresh_after: float
) -> dict[str, Any]:
    spec = reconcile.parse_spec(task)
    auth = await reconcile.credentials(ctx, task["metadata"]["namespace"], spec)
    url = spec.repository.url
    await ctx.repositories.fetch(url, credentials=auth, fresh_after=fresh_after)
    remote = await ctx.repositories.head(url, spec.repository.branch)
    ahead, behind = await ctx.repositories.divergence(url, task["status"]["commit"], remote)
    return {
        "remoteCommit": remote,
        "aheadCommits": ahead,
        "behindCommits": behind,
        "lastFetched": schedule.rfc3339(schedule.now()),
    }
