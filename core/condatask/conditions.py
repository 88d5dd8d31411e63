"""Conditions in the kstatus convention: Ready, Reconciling and Stalled.

`kubectl wait --for=condition=Ready`, Argo CD and Flux read health from these without any
code of ours. Each reconcile step decides its reason; `summarise` sets all three at once so
that they never contradict each other.
"""

from __future__ import annotations

import enum
from typing import Any

from condatask import schedule


class Reason(enum.StrEnum):
    # Progress
    PROGRESSING = "Progressing"
    SUCCEEDED = "Succeeded"
    # Bad input: the task will not progress until its spec or the repository changes.
    INVALID_SPEC = "InvalidSpec"
    INVALID_REPOSITORY_URL = "InvalidRepositoryURL"
    REPOSITORY_UNREACHABLE = "RepositoryUnreachable"
    BRANCH_NOT_FOUND = "BranchNotFound"
    COMMIT_NOT_FOUND = "CommitNotFound"
    REPOSITORY_CONFIG_NOT_FOUND = "RepositoryConfigNotFound"
    INVALID_FILTER_CONF = "InvalidFilterConf"
    ENVIRONMENT_NOT_FOUND = "EnvironmentNotFound"
    SECRET_NOT_FOUND = "SecretNotFound"  # noqa: S105 (a reason, not a secret)
    SECRET_NOT_ALLOWED = "SecretNotAllowed"  # noqa: S105 (a reason, not a secret)
    CRONJOB_FAILED = "CronJobFailed"


def summarise(
    *,
    generation: int | None,
    stalled: tuple[Reason, str] | None = None,
    reconciling: tuple[Reason, str] | None = None,
    previous: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Ready/Reconciling/Stalled for one outcome, keeping transition times that did not move."""
    if stalled:
        reason, message = stalled
        wanted = [
            ("Ready", "False", reason, message),
            ("Reconciling", "False", reason, ""),
            ("Stalled", "True", reason, message),
        ]
    elif reconciling:
        reason, message = reconciling
        wanted = [
            ("Ready", "False", reason, message),
            ("Reconciling", "True", reason, message),
            ("Stalled", "False", reason, ""),
        ]
    else:
        reason = Reason.SUCCEEDED
        wanted = [
            ("Ready", "True", reason, "The task is scheduled"),
            ("Reconciling", "False", reason, ""),
            ("Stalled", "False", reason, ""),
        ]
    before = {c.get("type"): c for c in previous or []}
    stamp = schedule.rfc3339(schedule.now())
    result = []
    for type_, status, why, message in wanted:
        old = before.get(type_)
        moved = old is None or old.get("status") != status
        condition: dict[str, Any] = {
            "type": type_,
            "status": status,
            "reason": str(why),
            "message": message,
            "lastTransitionTime": stamp
            if moved or old is None
            else old.get("lastTransitionTime", stamp),
        }
        if generation is not None:
            condition["observedGeneration"] = generation
        result.append(condition)
    return result


def find(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type_), None)


def is_true(conditions: list[dict[str, Any]] | None, type_: str) -> bool:
    condition = find(conditions, type_)
    return condition is not None and condition.get("status") == "True"
