"""The GitTask and CondaEnvironment resources as pydantic models.

These models are the single description of the API: the CRDs in `crds/` are generated
from them (`python -m condatask.crd`), the operator parses specs with them, and the
gateway reads statuses with them. Field names on the wire are camelCase, as Kubernetes
API conventions ask; Python attributes are snake_case.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DEFAULT_BRANCH = "main"
DEFAULT_SCHEDULE = "*/10 * * * *"

# Kept in step with condatask.gitsafety: the schema rejects what obviously is not a Git
# URL, and the operator's stricter check explains the rest in a condition.
REPO_URL_PATTERN = (
    r"^(https?://[^\s@/]+/\S+|ssh://([^\s@/]+@)?[^\s@/]+/\S+"
    r"|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)$"
)
BRANCH_PATTERN = r"^[^-\s~^:?*\[\\][^\s~^:?*\[\\]*$"
ENVIRONMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SCHEDULE_PATTERN = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"


class Model(BaseModel):
    """Base of every resource model: camelCase on the wire, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_enum_values=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The object as it is written to the Kubernetes API."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class EnvironmentMode(enum.StrEnum):
    """What the task does with its named environment."""

    CREATE = "Create"  # create it, or update it when it already exists
    EXISTING = "Existing"  # use it as it is; it must exist


class ConcurrencyPolicy(enum.StrEnum):
    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


class SecretReference(Model):
    """A Secret in the task's namespace with `username` and `password` (or a token)."""

    name: Annotated[str, Field(min_length=1, max_length=253)]


class Repository(Model):
    url: Annotated[
        str,
        Field(
            min_length=1,
            max_length=2048,
            pattern=REPO_URL_PATTERN,
            description="Git URL: https://, http://, ssh:// or user@host:path. "
            "Never put credentials in it; use secretRef.",
        ),
    ]
    branch: Annotated[str, Field(min_length=1, max_length=255, pattern=BRANCH_PATTERN)] = (
        DEFAULT_BRANCH
    )
    secret_ref: SecretReference | None = None


class Environment(Model):
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=63,
            pattern=ENVIRONMENT_NAME_PATTERN,
            description="Name of the conda environment the task runs in.",
        ),
    ]
    mode: Annotated[
        EnvironmentMode,
        Field(
            description="Create: create or update it from the repository. "
            "Existing: use an environment that already exists."
        ),
    ] = EnvironmentMode.CREATE


class GitTaskSpec(Model):
    display_name: Annotated[
        str | None,
        Field(max_length=256, description="Any text; the repository name when empty."),
    ] = None
    repository: Repository
    command: Annotated[
        str,
        Field(
            min_length=1,
            max_length=4096,
            description="Command run in the checkout, e.g. `python main.py --arg value`.",
        ),
    ]
    environment: Environment
    schedule: Annotated[str, Field(min_length=1, max_length=128, pattern=SCHEDULE_PATTERN)] = (
        DEFAULT_SCHEDULE
    )
    time_zone: Annotated[str | None, Field(max_length=64)] = None
    suspend: bool = False
    timeout_seconds: Annotated[int | None, Field(ge=1)] = None
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.FORBID
    successful_jobs_history_limit: Annotated[int, Field(ge=0, le=100)] = 3
    failed_jobs_history_limit: Annotated[int, Field(ge=0, le=100)] = 1
    resources: Annotated[
        dict[str, Any] | None,
        Field(
            description="Resource requests and limits of the run container.",
            json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
        ),
    ] = None


class Condition(Model):
    """A condition in the shape of metav1.Condition."""

    type: str
    status: str
    reason: str
    message: str = ""
    last_transition_time: str
    observed_generation: int | None = None


class EnvironmentOutcome(Model):
    name: str | None = None
    message: str | None = None
    warning: str | None = None


class LastRun(Model):
    job_name: str | None = None
    created: Annotated[str | None, Field(description="When the Job was created.")] = None
    start_time: str | None = None
    completion_time: str | None = None
    outcome: Annotated[str | None, Field(description="Running, Succeeded or Failed.")] = None


class SyncedFrom(Model):
    """Where the recorded commit came from, so a change of URL or branch is noticed."""

    url: str
    branch: str


class GitTaskStatus(Model):
    task_id: int | None = None
    phase: Annotated[
        str | None,
        Field(description="pending, scheduled, suspended or failed (the REST API's status)."),
    ] = None
    commit: Annotated[str | None, Field(description="The commit the task runs.")] = None
    short_commit: Annotated[
        str | None, Field(description="The first 8 characters of commit, for kubectl get.")
    ] = None
    last_synced: Annotated[
        str | None, Field(description="When the task last moved to a commit.")
    ] = None
    synced_from: SyncedFrom | None = None
    remote_commit: str | None = None
    last_fetched: str | None = None
    fetch_error: Annotated[
        str | None,
        Field(description="Why the last poll of the remote failed; absent once one succeeds."),
    ] = None
    behind_commits: int | None = None
    ahead_commits: int | None = None
    local_changes: bool | None = None
    script_path: str | None = None
    new_files: list[str] | None = None
    changed_files: list[str] | None = None
    deleted_files: list[str] | None = None
    environment: EnvironmentOutcome | None = None
    cron_job_name: str | None = None
    next_run_time: str | None = None
    last_run: LastRun | None = None
    handled_update_request: Annotated[
        str | None,
        Field(description="The last update request (annotation value) that was handled."),
    ] = None
    updated_at: str | None = None
    observed_generation: int | None = None
    conditions: list[Condition] | None = None


class CondaEnvironmentSpec(Model):
    channels: list[str] = []
    packages: Annotated[list[str], Field(description="Conda match specs.")] = []
    pip_requirements: Annotated[
        str | None, Field(description="requirements.txt content installed with pip.")
    ] = None
    source_task: Annotated[
        str | None, Field(description="The GitTask whose repository last defined it.")
    ] = None


class CondaEnvironmentStatus(Model):
    content_hash: str | None = None
    users: list[str] | None = None
    conditions: list[Condition] | None = None
