"""The kopf entry points. Thin: they parse, call the reconcile steps, and map errors.

kopf runs async handlers on its event loop; every blocking call (git, above all) is
pushed to a thread by the modules below this one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

import kopf
from kubernetes_asyncio import client

from condatask import conditions, kube, resources, schedule
from condatask.conditions import Reason
from condatask_operator import config, reconcile
from condatask_operator.kubeapi import Kube
from condatask_operator.repository import Repositories, RepositoryError
from condatask_operator.stall import Stall

SETTINGS = config.load()
KOPF_PREFIX = f"operator.{resources.GROUP}"
GITTASKS = (resources.GROUP, resources.VERSION, resources.GITTASK_PLURAL)

# Stalls that a change on the remote can heal: the poll retries them.
_REMOTE_REASONS = {
    Reason.REPOSITORY_UNREACHABLE,
    Reason.BRANCH_NOT_FOUND,
    Reason.REPOSITORY_CONFIG_NOT_FOUND,
    Reason.INVALID_FILTER_CONF,
    Reason.SECRET_NOT_FOUND,
    Reason.ENVIRONMENT_NOT_FOUND,
}


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # kopf's bookkeeping under a prefix of its own. Not `condatask.io` itself: kopf ignores
    # every annotation under its storage prefix when it compares objects, and our update
    # request annotations live there. No finalizers: owner references clean up.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    memo.context = reconcile.Context(
        settings=SETTINGS,
        kube=Kube(await kube.api_client()),
        repositories=Repositories(SETTINGS.cache_dir),
        logger=logging.getLogger("condatask_operator"),
    )


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    await memo.context.kube.api.close()


@kopf.on.resume(*GITTASKS)
@kopf.on.create(*GITTASKS)
@kopf.on.update(*GITTASKS)
async def reconcile_task(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Create, resume, spec change or update request: run every reconcile step."""
    ctx = dataclasses.replace(memo.context, logger=logger)
    status = await _guarded(reconcile.reconcile(ctx, _plain(body)))
    patch.status.update(status)


@kopf.timer(*GITTASKS, interval=SETTINGS.poll_interval, initial_delay=SETTINGS.poll_interval)
async def poll(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Fetch the remote and record how far the task is behind; never move the task."""
    ctx: reconcile.Context = dataclasses.replace(memo.context, logger=logger)
    task = _plain(body)
    status = task.get("status") or {}
    stalled = conditions.find(status.get("conditions"), "Stalled") or {}
    current = status.get("observedGeneration") == task["metadata"].get("generation")
    if not status.get("commit") or (
        stalled.get("status") == "True" and current and stalled.get("reason") in _REMOTE_REASONS
    ):
        patch.status.update(await _guarded(reconcile.reconcile(ctx, task)))
        return
    spec = task["spec"]["repository"]
    try:
        auth = await reconcile.credentials(
            ctx, task["metadata"]["namespace"], reconcile.parse_spec(task)
        )
        # Another task's fetch within half an interval is as good as ours.
        await ctx.repositories.fetch(
            spec["url"], auth_header=auth, fresh_after=time.monotonic() - SETTINGS.poll_interval / 2
        )
        remote = await ctx.repositories.head(spec["url"], spec.get("branch", "main"))
        ahead, behind = await ctx.repositories.divergence(spec["url"], status["commit"], remote)
    except (RepositoryError, Stall) as error:
        logger.warning("Could not check the remote: %s", error)
        return
    patch.status.update(
        {
            "remoteCommit": remote,
            "aheadCommits": ahead,
            "behindCommits": behind,
            "lastFetched": schedule.rfc3339(schedule.now()),
        }
    )


@kopf.on.event("batch", "v1", "jobs", labels={resources.LABEL_MANAGED_BY: resources.MANAGED_BY})
async def job_changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Record the latest run of a task from the Jobs its CronJob creates."""
    meta = body.get("metadata", {})
    task_name = (meta.get("labels") or {}).get(resources.LABEL_TASK_NAME)
    if not task_name or meta.get("deletionTimestamp"):
        return
    job_status = body.get("status", {})
    outcome = (
        "Succeeded"
        if job_status.get("succeeded")
        else "Failed"
        if job_status.get("failed")
        else "Running"
        if job_status.get("active")
        else "Pending"
    )
    last_run = {
        "jobName": meta.get("name"),
        "startTime": job_status.get("startTime"),
        "completionTime": job_status.get("completionTime"),
        "outcome": outcome,
    }
    try:
        await memo.context.kube.patch_task_status(
            meta["namespace"], task_name, {"lastRun": {k: v for k, v in last_run.items() if v}}
        )
    except client.ApiException as error:
        if not kube.is_status(error, 404):
            raise


async def _guarded(step: Any) -> dict[str, Any]:
    """Await a reconcile; API failures become kopf's retry-later errors."""
    try:
        result: dict[str, Any] = await step
    except client.ApiException as error:
        raise kopf.TemporaryError(
            f"Kubernetes API answered {error.status} {error.reason}; retrying", delay=10
        ) from error
    return result


def _plain(body: kopf.Body) -> dict[str, Any]:
    """A detached, plain-dict copy of a kopf body, safe to keep and to modify."""
    plain: dict[str, Any] = json.loads(json.dumps(dict(body), default=dict))
    return plain
