"""The kopf entry points. Thin: they parse, call the reconcile steps, and map errors.

kopf runs async handlers on its event loop; every blocking call (git, above all) is
pushed to a thread by the modules below this one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import kopf
from kubernetes_asyncio import client

from condatask import kube, resources
from condatask_operator import config, poller, reconcile, runs
from condatask_operator.kubeapi import Kube
from condatask_operator.repository import Repositories

SETTINGS = config.load()
KOPF_PREFIX = f"operator.{resources.GROUP}"
GITTASKS = (resources.GROUP, resources.VERSION, resources.GITTASK_PLURAL)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # kopf's bookkeeping under a prefix of its own. Not `condatask.io` itself: kopf ignores
    # every annotation under its storage prefix when it compares objects, and our update
    # request annotations live there. No finalizers: owner references clean up.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    # Events are posted by the reconcile itself, one per transition (reconcile.announce);
    # kopf's own would add one per handler run.
    settings.posting.enabled = False
    memo.context = reconcile.Context(
        settings=SETTINGS,
        kube=Kube(await kube.api_client()),
        repositories=Repositories(SETTINGS.cache_dir),
        logger=logging.getLogger("condatask_operator"),
    )
    memo.poller = asyncio.create_task(
        poller.run_forever(
            memo.context, interval=SETTINGS.poll_interval, namespaces=SETTINGS.namespaces
        )
    )


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    memo.poller.cancel()
    await asyncio.gather(memo.poller, return_exceptions=True)
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


@kopf.on.event("batch", "v1", "jobs", labels={resources.LABEL_MANAGED_BY: resources.MANAGED_BY})
async def job_changed(
    type: str, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Record the latest run of a task from the Jobs its CronJob creates."""
    meta = body.get("metadata", {})
    task_name = (meta.get("labels") or {}).get(resources.LABEL_TASK_NAME)
    # A deleted Job is history being pruned, not a run.
    if not task_name or type == "DELETED" or meta.get("deletionTimestamp"):
        return
    kube_ = memo.context.kube
    try:
        task = await kube_.get_task(meta["namespace"], task_name)
        if task is None:
            return
        found = runs.last_run(_plain(body), (task.get("status") or {}).get("lastRun"))
        if found is not None:
            await kube_.patch_task_status(meta["namespace"], task_name, {"lastRun": found})
    except client.ApiException as error:
        # Event handlers are not retried; the Job's next change brings the record up to date.
        if not kube.is_status(error, 404):
            logger.warning(
                "Could not record the run %s: %s", meta.get("name"), kube.api_message(error)
            )


@kopf.on.event("batch", "v1", "cronjobs", labels={resources.LABEL_MANAGED_BY: resources.MANAGED_BY})
async def cronjob_changed(
    type: str, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """A task's CronJob was deleted behind its back: reconcile the task to bring it back."""
    meta = body.get("metadata", {})
    task_name = (meta.get("labels") or {}).get(resources.LABEL_TASK_NAME)
    if type != "DELETED" or not task_name:
        return
    logger.warning("CronJob %s was deleted; reconciling its task", meta.get("name"))
    try:
        await memo.context.kube.request_retry(meta["namespace"], task_name)
    except client.ApiException as error:
        if not kube.is_status(error, 404):  # the task is gone too: nothing to bring back
            raise


async def _guarded(step: Any) -> dict[str, Any]:
    """Await a reconcile; API failures become kopf's retry-later errors."""
    try:
        result: dict[str, Any] = await step
    except client.ApiException as error:
        raise kopf.TemporaryError(
            f"Kubernetes API answered {error.status}: {kube.api_message(error)}; retrying",
            delay=10,
        ) from error
    return result


def _plain(body: kopf.Body) -> dict[str, Any]:
    """A detached, plain-dict copy of a kopf body, safe to keep and to modify."""
    plain: dict[str, Any] = json.loads(json.dumps(dict(body), default=dict))
    return plain
