"""Request and response bodies of the REST contract (`rest-api-git.md`), field for field.

The contract's names are snake_case and its times are "YYYY-MM-DD HH:MM:SS" strings; the
resource side (camelCase, RFC 3339) lives in `condatask.models`, and `mapping.py` converts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from condatask import models


class CreateTaskRequest(BaseModel):
    """Body of `POST /api/git/tasks`."""

    model_config = ConfigDict(extra="ignore")

    repo_url: Annotated[str, Field(min_length=1, max_length=2048)]
    branch: Annotated[str, Field(min_length=1, max_length=255)] = models.DEFAULT_BRANCH
    task_name: Annotated[str | None, Field(max_length=256)] = None
    command: Annotated[str, Field(min_length=1, max_length=4096)]
    env_option: Literal["create", "existing"]
    env_name: Annotated[
        str, Field(min_length=1, max_length=63, pattern=models.ENVIRONMENT_NAME_PATTERN)
    ]


class UpdateTaskRequest(BaseModel):
    """Body of `PUT /api/git/tasks/<task_id>`; an empty body means the defaults."""

    model_config = ConfigDict(extra="ignore")

    # Strict: only JSON true or false; "yes", 1 or "true" are refused, not guessed at.
    update_env: Annotated[bool, Field(strict=True)] = True


class CreatedTask(BaseModel):
    task_id: int
    task_name: str | None
    status: str | None
    script_path: str | None
    command: str
    conda_env: str
    created_at: str | None
    cron_expression: str
    next_run_time: str | None
    repo_url: str
    branch: str


class CreateReply(BaseModel):
    success: Literal[True] = True
    message: str = "Task created from Git repository successfully"
    task: CreatedTask
    environment_message: str | None
    environment_warning: str | None = None

    def body(self) -> dict[str, Any]:
        # Every field of the contract's reply is present; the warning is null unless the
        # environment already existed, so clients that test it for truth keep working.
        return self.model_dump(mode="json")


class UpdatedTask(BaseModel):
    task_id: int
    task_name: str | None
    status: str | None
    updated_at: str | None
    new_files: list[str]
    changed_files: list[str]
    script_path: str | None
    conda_env: str


class UpdateReply(BaseModel):
    success: Literal[True] = True
    message: str = "Task updated from Git repository successfully"
    task: UpdatedTask
    environment_message: str | None

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SyncState(BaseModel):
    task_id: int
    task_name: str | None
    repo_url: str
    branch: str
    last_synced: str | None
    local_changes: bool = False
    ahead_commits: int = 0
    behind_commits: int = 0


class StatusReply(BaseModel):
    success: Literal[True] = True
    task: SyncState

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
