"""A task's runs: what its CronJob's Jobs say about the last one."""

from __future__ import annotations

from typing import Any


def outcome(job_status: dict[str, Any]) -> str:
    """Succeeded, Failed, Running or Pending, from a Job's status."""
    if job_status.get("succeeded"):
        return "Succeeded"
    if job_status.get("failed"):
        return "Failed"
    return "Running" if job_status.get("active") else "Pending"


def last_run(job: dict[str, Any], recorded: dict[str, Any] | None) -> dict[str, Any] | None:
    """status.lastRun from `job`, or None when `recorded` describes a later Job.

    Events arrive in no particular order across Jobs (a restart replays them all), so an
    older Job must never replace a newer one.
    """
    meta, status = job.get("metadata", {}), job.get("status", {})
    created = meta.get("creationTimestamp")
    # RFC 3339 UTC timestamps of one format compare as text.
    other = recorded and recorded.get("jobName") != meta.get("name")
    if other and created and recorded and recorded.get("created", "") > created:
        return None
    found = {
        "jobName": meta.get("name"),
        "created": created,
        "startTime": status.get("startTime"),
        "completionTime": status.get("completionTime"),
        "outcome": outcome(status),
    }
    return {key: value for key, value in found.items() if value}
