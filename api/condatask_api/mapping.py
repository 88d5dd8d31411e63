"""Pure translation between the REST contract and GitTask resources.

Requests become GitTask manifests; GitTask objects (as the API server returns them, plain
dicts) become the contract's bodies; the operator's conditions become its verdict and, when
it stalls, the contract's error answer. Nothing here does I/O, so all of it is unit-tested.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import urllib.parse
from typing import Any

from pydantic import ValidationError

from condatask import conditions, gitsafety, models, names, resources, schedule
from condatask.conditions import Reason
from condatask_api import errors, schemas
from condatask_api.errors import GatewayError

# A task id is a positive decimal integer in its one canonical spelling (no leading zeros,
# sign or whitespace): `01` or `1\n` name no task. The bound keeps the label selector valid
# (a label value is at most 63 characters).
_TASK_ID = re.compile(r"[1-9][0-9]{0,17}")

_CLONE_FAILURES: set[str] = {
    Reason.INVALID_REPOSITORY_URL,
    Reason.REPOSITORY_UNREACHABLE,
    Reason.BRANCH_NOT_FOUND,
}
_STALL_MESSAGES: dict[str, str] = {
    Reason.ENVIRONMENT_NOT_FOUND: "Environment not found",
    Reason.INVALID_SPEC: "Invalid task specification",
    Reason.INVALID_FILTER_CONF: "Invalid filter.conf in repository",
    Reason.SECRET_NOT_FOUND: "Repository credentials Secret not found",
    Reason.CRONJOB_FAILED: "Could not schedule the task",
}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The operator's answer on the current generation: Ready, or Stalled with a reason."""

    ready: bool
    reason: str = ""
    message: str = ""


# Requests ---------------------------------------------------------------------------------


def parse_task_id(text: str) -> int | None:
    return int(text) if _TASK_ID.fullmatch(text) else None


def parse_create(raw: str) -> schemas.CreateTaskRequest:
    try:
        return schemas.CreateTaskRequest.model_validate(_json_object(raw, empty_ok=False))
    except ValidationError as error:
        raise request_error(error) from None


def parse_update(raw: str) -> schemas.UpdateTaskRequest:
    try:
        return schemas.UpdateTaskRequest.model_validate(_json_object(raw, empty_ok=True))
    except ValidationError as error:
        raise request_error(error) from None


def _json_object(raw: str, *, empty_ok: bool) -> dict[str, Any]:
    if empty_ok and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise GatewayError(400, "Invalid JSON body", "The request body is not valid JSON") from None
    except RecursionError:
        # No request of the contract nests more than one level; this one nests thousands.
        raise GatewayError(
            400, "Invalid JSON body", "The request body is nested too deeply"
        ) from None
    if not isinstance(body, dict):
        raise GatewayError(400, "Invalid JSON body", "The request body must be a JSON object")
    return body


def request_error(error: ValidationError) -> GatewayError:
    """A 400 whose message names the first bad field and whose error lists every problem."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        message = f"Missing required field: {field}"
    else:
        message = f"Invalid value for field: {field}"
    return GatewayError(400, message, _problems(error))


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in p['loc']) or 'body'}: {p['msg']}" for p in error.errors()
    )


def check_repository(request: schemas.CreateTaskRequest) -> None:
    """Refuse, before anything is created, a URL or branch that git must never see.

    A malformed branch gets the contract's clone failure too: in the seed it was the clone
    that failed, and the operator's BranchNotFound answers the same.
    """
    try:
        gitsafety.validate_repo_url(request.repo_url)
        gitsafety.validate_branch(request.branch)
    except ValueError:
        raise errors.invalid_repository() from None


def repository_name(url: str) -> str:
    """The repository's name: the last path segment of its URL, without `.git`."""
    path = urllib.parse.urlsplit(url).path if "://" in url else url.rpartition(":")[2]
    segment = path.rstrip("/").rpartition("/")[2]
    name = segment.removesuffix(".git")
    return name or url


def task_spec(request: schemas.CreateTaskRequest) -> models.GitTaskSpec:
    """The GitTask spec for a POST, checked against the resource's own schema rules.

    The model carries the CRD's patterns and bounds, so what the API server would refuse
    is refused here, before a task id is spent; a refused repository URL or branch is the
    contract's clone failure.
    """
    check_repository(request)
    mode = models.EnvironmentMode.CREATE
    if request.env_option == "existing":
        mode = models.EnvironmentMode.EXISTING
    try:
        return models.GitTaskSpec(
            display_name=request.task_name or repository_name(request.repo_url),
            repository=models.Repository(url=request.repo_url, branch=request.branch),
            command=request.command,
            environment=models.Environment(name=request.env_name, mode=mode),
        )
    except ValidationError as error:
        # Only Repository checks more than the request model does (its URL pattern).
        if {str(problem["loc"][0]) for problem in error.errors()} & {"url", "branch"}:
            raise errors.invalid_repository() from None
        raise GatewayError(400, "Invalid task specification", _problems(error)) from None


def gittask_manifest(spec: models.GitTaskSpec, *, task_id: int, namespace: str) -> dict[str, Any]:
    """The GitTask for a POST; the schedule is left to the server's default."""
    wire = spec.to_wire()
    # Send only what the caller chose; the API server fills the schema's defaults.
    wire = {key: wire[key] for key in ("displayName", "repository", "command", "environment")}
    return {
        "apiVersion": resources.API_VERSION,
        "kind": resources.GITTASK_KIND,
        "metadata": {
            "name": names.gittask_name(task_id),
            "namespace": namespace,
            "labels": {resources.LABEL_TASK_ID: str(task_id)},
        },
        "spec": wire,
    }


def rejection_error(status_body: dict[str, Any]) -> GatewayError:
    """The answer to a create the API server refused as invalid (422)."""
    causes = (status_body.get("details") or {}).get("causes") or []
    fields = {str(cause.get("field", "")) for cause in causes}
    if any(field.startswith("spec.repository") for field in fields):
        return errors.invalid_repository()
    return GatewayError(400, "Invalid task specification", str(status_body.get("message", "")))


# Verdicts ---------------------------------------------------------------------------------


def verdict(task: dict[str, Any]) -> Verdict | None:
    """Ready or Stalled for the task's current generation; None while the operator works."""
    status = task.get("status") or {}
    observed = status.get("observedGeneration")
    generation = (task.get("metadata") or {}).get("generation")
    if observed is None or generation is None or observed < generation:
        return None
    found = status.get("conditions")
    if conditions.is_true(found, "Ready"):
        return Verdict(ready=True)
    if conditions.is_true(found, "Stalled"):
        stalled = conditions.find(found, "Stalled") or {}
        return Verdict(
            ready=False,
            reason=str(stalled.get("reason", "")),
            message=str(stalled.get("message", "")),
        )
    return None


def update_handled(task: dict[str, Any], request: str) -> bool:
    """Whether the operator has handled this update request (the annotation's value)."""
    return (task.get("status") or {}).get("handledUpdateRequest") == request


def stall_error(stalled: Verdict, *, creating: bool) -> GatewayError:
    """The contract's answer to a stalled task.

    On create, missing configuration files are the contract's 404. On update a 404 would
    read as "Task not found", so there every stall is a 400 with the same message.
    """
    if stalled.reason == Reason.REPOSITORY_CONFIG_NOT_FOUND:
        return errors.config_not_found(status=404 if creating else 400)
    if stalled.reason in _CLONE_FAILURES:
        return errors.invalid_repository()
    default = "Task could not be created" if creating else "Task could not be updated"
    message = _STALL_MESSAGES.get(stalled.reason, default)
    return GatewayError(400, message, stalled.message or stalled.reason)


# Replies ----------------------------------------------------------------------------------


def rest_time(text: str | None) -> str | None:
    """A Kubernetes timestamp in the contract's "YYYY-MM-DD HH:MM:SS" (UTC)."""
    if not text:
        return None
    try:
        return schedule.rest_time(text)
    except ValueError:
        # Fractional seconds or an offset: still RFC 3339, just not the server's own form.
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).strftime(schedule.REST_TIME_FORMAT)


def task_id_of(task: dict[str, Any]) -> int:
    labels = (task.get("metadata") or {}).get("labels") or {}
    label = labels.get(resources.LABEL_TASK_ID)
    if label is not None:
        return int(label)
    return int((task.get("status") or {})["taskId"])


def created_reply(task: dict[str, Any]) -> schemas.CreateReply:
    spec, status = _parts(task)
    environment = status.environment or models.EnvironmentOutcome()
    created = schemas.CreatedTask(
        task_id=task_id_of(task),
        task_name=_task_name(spec),
        status=status.phase,
        script_path=status.script_path,
        command=spec.command,
        conda_env=spec.environment.name,
        created_at=rest_time((task.get("metadata") or {}).get("creationTimestamp")),
        cron_expression=spec.schedule,
        next_run_time=rest_time(status.next_run_time),
        repo_url=spec.repository.url,
        branch=spec.repository.branch,
    )
    return schemas.CreateReply(
        task=created,
        environment_message=environment.message,
        environment_warning=environment.warning or None,
    )


def updated_reply(task: dict[str, Any]) -> schemas.UpdateReply:
    spec, status = _parts(task)
    environment = status.environment or models.EnvironmentOutcome()
    updated = schemas.UpdatedTask(
        task_id=task_id_of(task),
        task_name=_task_name(spec),
        status=status.phase,
        updated_at=rest_time(status.updated_at),
        new_files=status.new_files or [],
        changed_files=status.changed_files or [],
        script_path=status.script_path,
        conda_env=spec.environment.name,
    )
    return schemas.UpdateReply(task=updated, environment_message=environment.message)


def status_reply(task: dict[str, Any]) -> schemas.StatusReply:
    spec, status = _parts(task)
    state = schemas.SyncState(
        task_id=task_id_of(task),
        task_name=_task_name(spec),
        repo_url=spec.repository.url,
        branch=spec.repository.branch,
        last_synced=rest_time(status.last_synced),
        local_changes=bool(status.local_changes),
        ahead_commits=status.ahead_commits or 0,
        behind_commits=status.behind_commits or 0,
    )
    return schemas.StatusReply(task=state)


def _parts(task: dict[str, Any]) -> tuple[models.GitTaskSpec, models.GitTaskStatus]:
    spec = models.GitTaskSpec.model_validate(task.get("spec") or {})
    status = models.GitTaskStatus.model_validate(task.get("status") or {})
    return spec, status


def _task_name(spec: models.GitTaskSpec) -> str:
    return spec.display_name or repository_name(spec.repository.url)
