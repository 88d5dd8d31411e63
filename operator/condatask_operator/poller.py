"""The poll: every interval, fetch each repository once and record how far its tasks are behind.

It runs as one loop beside kopf's handlers rather than as a kopf timer per task: a kopf timer
puts a finalizer on every GitTask, which would block deleting tasks (and their namespaces)
while the operator is down, and one loop makes "many tasks on one repository cost one fetch"
plain to see. It never moves a task; for tasks whose stall the remote can heal (unreachable,
missing branch or files) it asks kopf for another reconcile, so they recover on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import time
from collections import defaultdict
from typing import Any

from condatask import conditions, schedule
from condatask.conditions import Reason
from condatask.kube import api_message, is_status
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
    Reason.SECRET_NOT_ALLOWED,
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
            # kopf handles one object at a time: asking it to reconcile, rather than doing it
            # here, keeps this loop from racing the handlers with an older copy of the task.
            await ctx.kube.request_retry(meta["namespace"], meta["name"])
            return
        update = await _divergence(ctx, task, fresh_after=fresh_after)
        # Written only over the very version counted against: if the task moved meanwhile
        # (an update, a spec change), this round's count is stale and the next one will do.
        await ctx.kube.patch_task_status(
            meta["namespace"], meta["name"], update, resource_version=meta["resourceVersion"]
        )
    except (RepositoryError, Stall) as error:
        logger.warning(
            "Could not check the remote of %s/%s: %s", meta["namespace"], meta["name"], error
        )
        # The task keeps running its commit (still Ready), but the status says why the
        # counts have stopped moving. The message carries no credentials (see repository).
        with contextlib.suppress(Exception):
            await ctx.kube.patch_task_status(
                meta["namespace"], meta["name"], {"fetchError": str(error)[:500]},
                resource_version=meta["resourceVersion"],
            )  # fmt: skip
    except Exception as error:
        # One task's failure must not cost the others their round.
        if not is_status(error, 404, 409):
            logger.warning(
                "Could not poll %s/%s: %s", meta["namespace"], meta["name"], api_message(error)
            )


def _needs_reconcile(task: dict[str, Any]) -> bool:
    """Whether the task needs a whole reconcile rather than a count of commits."""
    status = task.get("status") or {}
    if not status:
        return False  # not seen by the handlers yet: their create or resume will do it
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
        "fetchError": None,  # a merge patch removes it
        "nextRunTime": schedule.rfc3339(schedule.next_run(spec.schedule, time_zone=spec.time_zone)),
    }
