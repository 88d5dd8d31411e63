"""Reconcile one GitTask: an ordered list of named steps, summarised once into conditions.

resolve the remote → check the repository → environment → CronJob → status.

A step that finds bad input raises `Stall` with a reason: the task is marked Stalled and the
operator waits for the spec or the repository to change instead of retrying in a loop.
Transient API failures propagate, and kopf retries them with a delay.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shlex
import time
from typing import Any

import pydantic
from kubernetes_asyncio import client

from condatask import gitsafety, models, names, resources, schedule
from condatask.conditions import Reason, find, summarise
from condatask.filterconf import FILTER_CONF, FilterConf, InvalidFilterConf, parse_filter_conf
from condatask.kube import api_message
from condatask_operator import cronjob, environment
from condatask_operator.config import Settings
from condatask_operator.kubeapi import CronJobTaken, Kube
from condatask_operator.repository import (
    CONFIG_FILES,
    BranchNotFound,
    FileChanges,
    Repositories,
    RepositoryError,
    Unreachable,
)
from condatask_operator.stall import Stall

NO_CONFIG_MESSAGE = "No filter.conf or requirements.txt found in repository"
SSH_WITHOUT_CREDENTIALS = (
    "SSH repository URLs need spec.repository.secretRef: a Secret with 'identity' (an OpenSSH "
    "private key) and 'known_hosts' (the server's host key)"
)


@dataclasses.dataclass(frozen=True)
class Context:
    settings: Settings
    kube: Kube
    repositories: Repositories
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger]


@dataclasses.dataclass
class Sync:
    """What the remote step decided: the commit the task runs and how it got there."""

    commit: str
    remote: str
    moved: bool
    changes: FileChanges | None
    handled_request: str | None


async def reconcile(ctx: Context, task: dict[str, Any]) -> dict[str, Any]:
    """Run every step for `task` and return the status to write (conditions included)."""
    meta = task["metadata"]
    previous = task.get("status") or {}
    task_id = await ensure_task_id(ctx, task)
    status: dict[str, Any] = {"taskId": task_id, "observedGeneration": meta.get("generation")}
    try:
        spec = parse_spec(task)
        git_credentials = await credentials(ctx, meta["namespace"], spec)
        sync = await resolve_remote(ctx, task, spec, git_credentials)
        filter_conf = await check_repository(ctx, spec, sync.commit)
        spec = with_repository_defaults(spec, filter_conf)
        status["environment"] = await environment.decide(
            ctx.kube,
            task=task,
            spec=spec,
            repository=ctx.repositories,
            commit=sync.commit,
            filter_conf=filter_conf,
            first_sync=not previous.get("commit"),
            moved=sync.moved,
            update_environment=_update_environment_requested(meta),
        )
        await apply_cronjob(
            ctx, task, spec, task_id, sync.commit, refresh=_update_environment_requested(meta)
        )
    except Stall as stall:
        ctx.logger.warning("%s: %s", stall.reason, stall.message)
        status |= _stalled_status(task, stall)
        status["conditions"] = summarise(
            generation=meta.get("generation"),
            stalled=(stall.reason, stall.message),
            previous=previous.get("conditions"),
        )
        await announce(ctx, task, status["conditions"])
        return status
    status |= await _synced_status(ctx, task, spec, task_id, sync)
    status["conditions"] = summarise(
        generation=meta.get("generation"), previous=previous.get("conditions")
    )
    await announce(ctx, task, status["conditions"], moved_to=sync.commit if sync.moved else None)
    return status


async def announce(
    ctx: Context,
    task: dict[str, Any],
    now: list[dict[str, Any]],
    *,
    moved_to: str | None = None,
) -> None:
    """An Event when Ready changes (status or reason) or the task moves to a commit.

    Events mark transitions, not every reconcile, so `kubectl describe` stays readable.
    """
    before = find((task.get("status") or {}).get("conditions"), "Ready") or {}
    ready = find(now, "Ready") or {}
    changed = (before.get("status"), before.get("reason")) != (ready["status"], ready["reason"])
    if moved_to:
        message = f"Synced to commit {moved_to[:12]}"
        await ctx.kube.post_event(task, warning=False, reason="Synced", message=message)
    if changed:
        await ctx.kube.post_event(
            task, warning=ready["status"] != "True", reason=ready["reason"],
            message=ready["message"] or ready["reason"],
        )  # fmt: skip


async def ensure_task_id(ctx: Context, task: dict[str, Any]) -> int:
    """The task's integer id: from its label (set by the gateway), else a new one."""
    meta = task["metadata"]
    label = (meta.get("labels") or {}).get(resources.LABEL_TASK_ID, "")
    known = (task.get("status") or {}).get("taskId")
    if known and label == str(known):
        return int(known)
    # A label without a recorded id may be the gateway's, or copied with another task's
    # manifest: it is only taken when no other task of the namespace holds that id.
    if (
        label.isdigit()
        and not known
        and not await ctx.kube.task_id_taken(meta["namespace"], int(label), but=meta["uid"])
    ):
        return int(label)
    task_id = int(known) if known else await ctx.kube.allocate_task_id(meta["namespace"])
    await ctx.kube.label_task(
        meta["namespace"], meta["name"], {resources.LABEL_TASK_ID: str(task_id)}
    )
    ctx.logger.info("Assigned task id %d", task_id)
    return task_id


def parse_spec(task: dict[str, Any]) -> models.GitTaskSpec:
    try:
        spec = models.GitTaskSpec.model_validate(task.get("spec") or {})
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        if where == "repository.url":
            raise Stall(Reason.INVALID_REPOSITORY_URL, _url_problem(task)) from error
        raise Stall(Reason.INVALID_SPEC, f"spec.{where}: {first['msg']}") from error
    try:
        gitsafety.validate_repo_url(spec.repository.url)
    except gitsafety.InvalidRepositoryURL as error:
        raise Stall(Reason.INVALID_REPOSITORY_URL, str(error)) from error
    if gitsafety.is_ssh_url(spec.repository.url) and spec.repository.secret_ref is None:
        # Without a Secret ssh would fall back to whatever keys and hosts the machine trusts.
        # InvalidRepositoryURL keeps the REST answer "Invalid Git repository URL": a REST
        # client cannot name a Secret, so for it such a URL is unusable.
        raise Stall(Reason.INVALID_REPOSITORY_URL, SSH_WITHOUT_CREDENTIALS)
    _check_resources(spec.resources)
    try:
        gitsafety.validate_branch(spec.repository.branch)
        schedule.validate(spec.schedule, spec.time_zone)
    except (gitsafety.InvalidBranch, schedule.InvalidSchedule) as error:
        raise Stall(Reason.INVALID_SPEC, str(error)) from error
    return spec


# Kubernetes' quantity syntax (resource.Quantity): a number with an optional suffix.
_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")


def _check_resources(resources_: dict[str, Any] | None) -> None:
    """Requests and limits must be maps of quantities, or the CronJob will never apply."""
    for section, values in (resources_ or {}).items():
        if section not in ("requests", "limits") or not isinstance(values, dict):
            raise Stall(
                Reason.INVALID_SPEC,
                f"spec.resources.{section}: only requests and limits maps are allowed",
            )
        for name, value in values.items():
            if not _QUANTITY.match(str(value)):
                raise Stall(
                    Reason.INVALID_SPEC,
                    f"spec.resources.{section}.{name}: {value!r} is not a quantity",
                )


def _url_problem(task: dict[str, Any]) -> str:
    url = str(((task.get("spec") or {}).get("repository") or {}).get("url", ""))
    try:
        gitsafety.validate_repo_url(url)
    except gitsafety.InvalidRepositoryURL as error:
        return str(error)
    return "The repository URL is not a Git URL this operator accepts."


async def credentials(
    ctx: Context, namespace: str, spec: models.GitTaskSpec
) -> gitsafety.Credentials | None:
    """What git authenticates with: a Basic header for HTTP(S), a key and known hosts for SSH."""
    if spec.repository.secret_ref is None:
        return None
    name = spec.repository.secret_ref.name
    return credentials_from(name, await ctx.kube.secret_data(namespace, name), spec.repository.url)


def credentials_from(
    name: str, found: tuple[dict[str, str], dict[str, str]] | None, url: str
) -> gitsafety.Credentials:
    """The credentials in Secret `name` (its data and annotations) for `url`, or a Stall."""
    if found is None:
        raise Stall(Reason.SECRET_NOT_FOUND, f"Secret {name!r} does not exist")
    data, annotations = found
    if not gitsafety.host_allowed(url, annotations.get(resources.ANNOTATION_GIT_HOSTS, "")):
        raise Stall(
            Reason.SECRET_NOT_ALLOWED,
            f"Secret {name!r} may not be sent to {gitsafety.repository_host(url)}: its "
            f"annotation {resources.ANNOTATION_GIT_HOSTS} must list that host",
        )
    if gitsafety.is_ssh_url(url):
        wanted = (gitsafety.SSH_IDENTITY, gitsafety.SSH_KNOWN_HOSTS)
        missing = [key for key in wanted if not data.get(key, "").strip()]
        if missing:
            keys = " and ".join(repr(key) for key in missing)
            raise Stall(
                Reason.SECRET_NOT_FOUND,
                f"Secret {name!r} has no {keys} key; an SSH repository needs 'identity' (an "
                "OpenSSH private key) and 'known_hosts' (the server's host key)",
            )
        return gitsafety.SshKey(
            identity=data[gitsafety.SSH_IDENTITY], known_hosts=data[gitsafety.SSH_KNOWN_HOSTS]
        )
    if "password" not in data:
        raise Stall(Reason.SECRET_NOT_FOUND, f"Secret {name!r} has no 'password' key")
    return gitsafety.basic_auth_header(data.get("username", ""), data["password"])


async def resolve_remote(
    ctx: Context,
    task: dict[str, Any],
    spec: models.GitTaskSpec,
    git_credentials: gitsafety.Credentials | None,
) -> Sync:
    """Fetch the remote and decide the commit: keep it, take the head, or move on request."""
    previous = task.get("status") or {}
    source = {"url": spec.repository.url, "branch": spec.repository.branch}
    synced = previous.get("commit") if previous.get("syncedFrom") == source else None
    request = _pending_update_request(task)
    # A first sync or an explicit update must see the remote as it is now; otherwise a
    # recent fetch made for another task on the same repository is good enough.
    fresh_after = time.monotonic() if synced is None or request else 0.0
    url = spec.repository.url
    try:
        await ctx.repositories.fetch(url, credentials=git_credentials, fresh_after=fresh_after)
        remote = await ctx.repositories.head(url, spec.repository.branch)
    except Unreachable as error:
        raise Stall(Reason.REPOSITORY_UNREACHABLE, str(error)) from error
    except BranchNotFound as error:
        raise Stall(Reason.BRANCH_NOT_FOUND, str(error)) from error
    if synced is None:
        return Sync(commit=remote, remote=remote, moved=True, changes=None, handled_request=request)
    if request:
        try:
            changes = await ctx.repositories.changes(url, synced, remote)
        except RepositoryError:
            # The old commit is gone from the remote (history was rewritten): the move
            # still happens, but what changed cannot be told.
            ctx.logger.warning("Commit %s is no longer on the remote; moving on", synced[:12])
            changes = FileChanges(new=[], changed=[], deleted=[])
        return Sync(
            commit=remote, remote=remote, moved=True, changes=changes, handled_request=request
        )
    return Sync(commit=synced, remote=remote, moved=False, changes=None, handled_request=None)


async def check_repository(
    ctx: Context, spec: models.GitTaskSpec, commit: str
) -> FilterConf | None:
    """The repository must say how to build the environment; filter.conf must parse."""
    try:
        files = set(await ctx.repositories.files(spec.repository.url, commit))
    except RepositoryError as error:
        # The fetch worked, so the remote no longer has the recorded commit (a force-push):
        # an update request moves the task to the head.
        raise Stall(
            Reason.COMMIT_NOT_FOUND,
            f"Commit {commit[:12]} is no longer on the remote; request an update to move to "
            "the head of the branch",
        ) from error
    if not files & set(CONFIG_FILES):
        raise Stall(Reason.REPOSITORY_CONFIG_NOT_FOUND, NO_CONFIG_MESSAGE)
    if FILTER_CONF not in files:
        return None
    text = await ctx.repositories.read(spec.repository.url, commit, FILTER_CONF)
    try:
        return parse_filter_conf(text)
    except InvalidFilterConf as error:
        raise Stall(Reason.INVALID_FILTER_CONF, f"filter.conf: {error}") from error


def with_repository_defaults(
    spec: models.GitTaskSpec, filter_conf: FilterConf | None
) -> models.GitTaskSpec:
    """The spec with what the repository's filter.conf sets where the spec says nothing.

    Only the timeout: the API server defaults the schedule, so a spec that names none cannot
    be told from one that names the default.
    """
    if filter_conf is None or spec.timeout_seconds is not None or not filter_conf.task.timeout:
        return spec
    return spec.model_copy(update={"timeout_seconds": filter_conf.task.timeout})


async def apply_cronjob(
    ctx: Context,
    task: dict[str, Any],
    spec: models.GitTaskSpec,
    task_id: int,
    commit: str,
    *,
    refresh: bool,
) -> None:
    secret = spec.repository.secret_ref.name if spec.repository.secret_ref else None
    body = cronjob.build(
        task=task,
        spec=spec,
        task_id=task_id,
        commit=commit,
        settings=ctx.settings,
        credentials_secret=secret,
        refresh_environment=refresh,
    )
    try:
        await ctx.kube.apply_cronjob(body)
    except CronJobTaken as error:
        raise Stall(Reason.CRONJOB_FAILED, str(error)) from error
    except client.ApiException as error:
        if error.status not in (400, 422):
            raise
        # The server refused what the spec made of the CronJob: a bad spec, not a hiccup.
        raise Stall(
            Reason.INVALID_SPEC, f"the CronJob was refused: {api_message(error)}"
        ) from error


def script_path(command: str, checkout: str) -> str:
    """Where the command's script lives in the pod: its first `*.py` word, else the checkout."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    script = next((word for word in words if word.endswith(".py")), None)
    if script is None:
        return checkout
    return script if script.startswith("/") else f"{checkout}/{script.removeprefix('./')}"


async def _synced_status(
    ctx: Context, task: dict[str, Any], spec: models.GitTaskSpec, task_id: int, sync: Sync
) -> dict[str, Any]:
    previous = task.get("status") or {}
    now = schedule.rfc3339(schedule.now())
    try:
        divergence = await ctx.repositories.divergence(
            spec.repository.url, sync.commit, sync.remote
        )
    except RepositoryError:
        divergence = None  # unknown until the next poll
    status: dict[str, Any] = {
        "phase": "suspended" if spec.suspend else "scheduled",
        "commit": sync.commit,
        "shortCommit": sync.commit[:8],
        "syncedFrom": {"url": spec.repository.url, "branch": spec.repository.branch},
        "lastSynced": now if sync.moved else previous.get("lastSynced", now),
        "remoteCommit": sync.remote,
        "lastFetched": now,
        # The operator keeps no working copy: the pod checks out a clean tree every run.
        "localChanges": False,
        "scriptPath": script_path(spec.command, ctx.settings.checkout_path),
        "cronJobName": names.cronjob_name(task_id),
        "nextRunTime": schedule.rfc3339(schedule.next_run(spec.schedule, time_zone=spec.time_zone)),
    }
    if divergence is not None:
        status |= {"aheadCommits": divergence[0], "behindCommits": divergence[1]}
    if sync.moved:
        changes = sync.changes or FileChanges(new=[], changed=[], deleted=[])
        status |= {
            "newFiles": changes.new,
            "changedFiles": changes.changed,
            "deletedFiles": changes.deleted,
        }
    if sync.handled_request:
        status |= {"handledUpdateRequest": sync.handled_request, "updatedAt": now}
    return status


def _stalled_status(task: dict[str, Any], stall: Stall) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "failed"}
    # A caller waiting for its update request gets its answer even when the update failed.
    request = _pending_update_request(task)
    if request:
        status |= {"handledUpdateRequest": request, "updatedAt": schedule.rfc3339(schedule.now())}
    return status


def _pending_update_request(task: dict[str, Any]) -> str | None:
    annotations = task["metadata"].get("annotations") or {}
    request = annotations.get(resources.ANNOTATION_UPDATE_REQUESTED)
    handled = (task.get("status") or {}).get("handledUpdateRequest")
    return request if request and request != handled else None


def _update_environment_requested(meta: dict[str, Any]) -> bool:
    annotations: dict[str, str] = meta.get("annotations") or {}
    return annotations.get(resources.ANNOTATION_UPDATE_ENVIRONMENT, "true").lower() != "false"
