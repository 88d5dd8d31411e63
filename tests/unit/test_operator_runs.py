"""The last run of a task, from its Jobs."""

from __future__ import annotations

from typing import Any

import pytest

from condatask_operator import runs


def _job(name: str, created: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": status}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ({}, "Pending"),
        ({"active": 1}, "Running"),
        ({"failed": 1}, "Failed"),
        ({"succeeded": 1, "failed": 1}, "Succeeded"),
    ],
)
def test_outcome_follows_the_job_status(status: dict[str, Any], outcome: str) -> None:
    assert runs.outcome(status) == outcome


def test_a_newer_job_replaces_the_record_and_an_older_one_does_not() -> None:
    older = _job("t-100", "2026-12-03T10:00:00Z", succeeded=1)
    newer = _job("t-110", "2026-12-03T10:10:00Z", active=1, startTime="2026-12-03T10:10:01Z")

    recorded = runs.last_run(newer, None)
    assert recorded == {
        "jobName": "t-110",
        "created": "2026-12-03T10:10:00Z",
        "startTime": "2026-12-03T10:10:01Z",
        "outcome": "Running",
    }
    assert runs.last_run(older, recorded) is None
    # The same Job moving on is always recorded.
    assert (
        runs.last_run(_job("t-110", "2026-12-03T10:10:00Z", succeeded=1), recorded)["outcome"]
        == "Succeeded"
    )
