"""The gateway's pure mapping: requests to GitTasks, GitTasks to the contract's bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from condatask import conditions, resources
from condatask.conditions import Reason
from condatask_api import mapping
from condatask_api.errors import GatewayError

CONTRACT_POST = {
    "repo_url": "https://github.com/username/repo.git",
    "branch": "main",
    "task_name": "从Git创建的任务",
    "command": "python main.py --arg value",
    "env_option": "create",
    "env_name": "my_new_env",
}


def gittask(*, status: dict[str, Any] | None = None, generation: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": resources.API_VERSION,
        "kind": resources.GITTASK_KIND,
        "metadata": {
            "name": "task-7",
            "generation": generation,
            "creationTimestamp": "2025-05-01T10:30:00Z",
            "labels": {resources.LABEL_TASK_ID: "7"},
        },
        "spec": {
            "displayName": "从Git创建的任务",
            "repository": {"url": "https://github.com/username/repo.git", "branch": "main"},
            "command": "python main.py --arg value",
            "environment": {"name": "my_new_env", "mode": "Create"},
            "schedule": "*/10 * * * *",
        },
        "status": status or {},
    }


def ready_status(**extra: Any) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "phase": "scheduled",
        "scriptPath": "/workspace/repo/main.py",
        "nextRunTime": "2025-05-01T10:40:00Z",
        "lastSynced": "2025-05-01T10:30:05Z",
        "environment": {"message": "New environment 'my_new_env' created with requirements"},
        "conditions": conditions.summarise(generation=1),
        **extra,
    }


def stalled_status(reason: Reason, message: str = "why") -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "phase": "failed",
        "conditions": conditions.summarise(generation=1, stalled=(reason, message)),
    }


# Requests ---------------------------------------------------------------------------------


def test_parse_create_applies_contract_defaults() -> None:
    body = {k: v for k, v in CONTRACT_POST.items() if k not in ("branch", "task_name")}
    request = mapping.parse_create(_json(body))
    assert request.branch == "main"
    assert request.task_name is None


@pytest.mark.parametrize("field", ["repo_url", "command", "env_option", "env_name"])
def test_parse_create_names_the_missing_field(field: str) -> None:
    body = {k: v for k, v in CONTRACT_POST.items() if k != field}
    with pytest.raises(GatewayError) as caught:
        mapping.parse_create(_json(body))
    assert caught.value.status == 400
    assert caught.value.message == f"Missing required field: {field}"
    assert caught.value.error.startswith(f"{field}: ")


def test_parse_create_rejects_unknown_env_option() -> None:
    with pytest.raises(GatewayError) as caught:
        mapping.parse_create(_json({**CONTRACT_POST, "env_option": "clone"}))
    assert caught.value.message == "Invalid value for field: env_option"
    assert "'create' or 'existing'" in caught.value.error


@pytest.mark.parametrize("raw", ["", "{", "[1, 2]", '"text"'])
def test_parse_create_rejects_non_objects(raw: str) -> None:
    with pytest.raises(GatewayError) as caught:
        mapping.parse_create(raw)
    assert (caught.value.status, caught.value.message) == (400, "Invalid JSON body")


def test_parse_update_allows_an_empty_body() -> None:
    assert mapping.parse_update("").update_env is True
    assert mapping.parse_update('{"update_env": false}').update_env is False


@pytest.mark.parametrize("value", ['"yes"', '"true"', "1", "0", "null", "[]"])
def test_parse_update_wants_a_json_boolean(value: str) -> None:
    with pytest.raises(GatewayError) as caught:
        mapping.parse_update(f'{{"update_env": {value}}}')
    assert (caught.value.status, caught.value.message) == (
        400,
        "Invalid value for field: update_env",
    )


@pytest.mark.parametrize("raw", ["[" * 100_000, '{"a": ' * 100_000, "[" * 100_000 + "]" * 100_000])
def test_deeply_nested_json_is_400(raw: str) -> None:
    for parse in (mapping.parse_create, mapping.parse_update):
        with pytest.raises(GatewayError) as caught:
            parse(raw)
        assert (caught.value.status, caught.value.message) == (400, "Invalid JSON body")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("42", 42),
        ("0", None),
        ("-1", None),
        ("abc", None),
        ("1.5", None),
        # Only the canonical spelling names a task: no leading zeros, signs or whitespace.
        ("01", None),
        ("00", None),
        ("+1", None),
        ("1\n", None),
        (" 1", None),
        ("1 ", None),
        ("\u0661", None),  # ARABIC-INDIC DIGIT ONE: int() reads it, a task id is ASCII
    ],
)
def test_parse_task_id(text: str, expected: int | None) -> None:
    assert mapping.parse_task_id(text) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% /tmp/x",
        "-uhttps://x/y",
        "file:///etc",
        "not a url",
        "ftp://h/r.git",
        "https://host-without-a-path",
    ],
)
def test_task_spec_refuses_malformed_urls(url: str) -> None:
    request = mapping.parse_create(_json({**CONTRACT_POST, "repo_url": url}))
    with pytest.raises(GatewayError) as caught:
        mapping.task_spec(request)
    assert caught.value.body() == {
        "success": False,
        "message": "Invalid Git repository URL",
        "error": "Failed to clone repository",
    }


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://github.com/username/repo.git", "repo"),
        ("https://github.com/username/repo", "repo"),
        ("https://github.com/username/repo.git/", "repo"),
        ("git@github.com:username/tools.git", "tools"),
        ("ssh://git@host:2222/team/job.git", "job"),
    ],
)
def test_repository_name(url: str, name: str) -> None:
    assert mapping.repository_name(url) == name


def test_manifest_follows_the_contract_request() -> None:
    request = mapping.parse_create(_json({**CONTRACT_POST, "env_option": "existing"}))
    manifest = mapping.gittask_manifest(mapping.task_spec(request), task_id=7, namespace="ns")
    assert manifest["metadata"] == {
        "name": "task-7",
        "namespace": "ns",
        "labels": {resources.LABEL_TASK_ID: "7"},
    }
    assert manifest["spec"] == {
        "displayName": "从Git创建的任务",
        "repository": {"url": "https://github.com/username/repo.git", "branch": "main"},
        "command": "python main.py --arg value",
        "environment": {"name": "my_new_env", "mode": "Existing"},
    }


def test_manifest_defaults_the_display_name_to_the_repository_name() -> None:
    request = mapping.parse_create(_json({**CONTRACT_POST, "task_name": ""}))
    manifest = mapping.gittask_manifest(mapping.task_spec(request), task_id=1, namespace="ns")
    assert manifest["spec"]["displayName"] == "repo"


def test_task_spec_refuses_a_malformed_branch() -> None:
    request = mapping.parse_create(_json({**CONTRACT_POST, "branch": "--orphan"}))
    with pytest.raises(GatewayError) as caught:
        mapping.task_spec(request)
    assert caught.value.message == "Invalid Git repository URL"


def test_rejection_of_the_url_by_the_api_server_is_the_contract_400() -> None:
    status = {"details": {"causes": [{"field": "spec.repository.url"}]}, "message": "bad"}
    assert mapping.rejection_error(status).message == "Invalid Git repository URL"
    other = mapping.rejection_error({"details": {"causes": [{"field": "spec.command"}]}})
    assert other.message == "Invalid task specification"


# Verdicts ---------------------------------------------------------------------------------


def test_no_verdict_until_the_current_generation_is_observed() -> None:
    assert mapping.verdict(gittask()) is None
    assert mapping.verdict(gittask(status=ready_status(), generation=2)) is None
    reconciling = {
        "observedGeneration": 1,
        "conditions": conditions.summarise(
            generation=1, reconciling=(Reason.PROGRESSING, "cloning")
        ),
    }
    assert mapping.verdict(gittask(status=reconciling)) is None


def test_verdicts() -> None:
    assert mapping.verdict(gittask(status=ready_status())) == mapping.Verdict(ready=True)
    stalled = mapping.verdict(gittask(status=stalled_status(Reason.BRANCH_NOT_FOUND, "no dev")))
    assert stalled == mapping.Verdict(ready=False, reason="BranchNotFound", message="no dev")


@pytest.mark.parametrize(
    ("reason", "creating", "status", "message"),
    [
        (Reason.REPOSITORY_CONFIG_NOT_FOUND, True, 404, "Repository configuration files not found"),
        (
            Reason.REPOSITORY_CONFIG_NOT_FOUND,
            False,
            400,
            "Repository configuration files not found",
        ),
        (Reason.INVALID_REPOSITORY_URL, True, 400, "Invalid Git repository URL"),
        (Reason.REPOSITORY_UNREACHABLE, True, 400, "Invalid Git repository URL"),
        (Reason.BRANCH_NOT_FOUND, False, 400, "Invalid Git repository URL"),
        (Reason.ENVIRONMENT_NOT_FOUND, True, 400, "Environment not found"),
        (Reason.INVALID_FILTER_CONF, True, 400, "Invalid filter.conf in repository"),
        (Reason.SECRET_NOT_FOUND, True, 400, "Repository credentials Secret not found"),
    ],
)
def test_stall_errors(reason: Reason, creating: bool, status: int, message: str) -> None:
    error = mapping.stall_error(
        mapping.Verdict(ready=False, reason=reason, message="detail"), creating=creating
    )
    assert (error.status, error.message) == (status, message)


def test_config_not_found_is_the_contract_404() -> None:
    error = mapping.stall_error(
        mapping.Verdict(ready=False, reason=Reason.REPOSITORY_CONFIG_NOT_FOUND), creating=True
    )
    assert error.body() == {
        "success": False,
        "message": "Repository configuration files not found",
        "error": "No filter.conf or requirements.txt found in repository",
    }


def test_other_stalls_carry_the_condition_message() -> None:
    error = mapping.stall_error(
        mapping.Verdict(ready=False, reason="SomethingNew", message="it broke"), creating=True
    )
    assert (error.status, error.message, error.error) == (
        400,
        "Task could not be created",
        "it broke",
    )


# Replies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-01T10:30:00Z", "2025-05-01 10:30:00"),
        ("2025-05-01T10:30:00.123456Z", "2025-05-01 10:30:00"),
        ("2025-05-01T12:30:00+02:00", "2025-05-01 10:30:00"),
        (None, None),
    ],
)
def test_rest_time(text: str | None, expected: str | None) -> None:
    assert mapping.rest_time(text) == expected


def test_created_reply_has_every_contract_field() -> None:
    body = mapping.created_reply(gittask(status=ready_status())).body()
    assert body == {
        "success": True,
        "message": "Task created from Git repository successfully",
        "task": {
            "task_id": 7,
            "task_name": "从Git创建的任务",
            "status": "scheduled",
            "script_path": "/workspace/repo/main.py",
            "command": "python main.py --arg value",
            "conda_env": "my_new_env",
            "created_at": "2025-05-01 10:30:00",
            "cron_expression": "*/10 * * * *",
            "next_run_time": "2025-05-01 10:40:00",
            "repo_url": "https://github.com/username/repo.git",
            "branch": "main",
        },
        "environment_message": "New environment 'my_new_env' created with requirements",
        "environment_warning": None,
    }


def test_created_reply_shows_a_warning_when_there_is_one() -> None:
    status = ready_status(environment={"message": "m", "warning": "already exists"})
    body = mapping.created_reply(gittask(status=status)).body()
    assert body["environment_warning"] == "already exists"


def test_status_reply_defaults() -> None:
    body = mapping.status_reply(gittask(status=ready_status())).body()
    assert body == {
        "success": True,
        "task": {
            "task_id": 7,
            "task_name": "从Git创建的任务",
            "repo_url": "https://github.com/username/repo.git",
            "branch": "main",
            "last_synced": "2025-05-01 10:30:05",
            "local_changes": False,
            "ahead_commits": 0,
            "behind_commits": 0,
        },
    }


def test_status_reply_of_a_kubectl_task_without_label_or_display_name() -> None:
    task = gittask(status={**ready_status(), "taskId": 9, "behindCommits": 2})
    del task["metadata"]["labels"]
    del task["spec"]["displayName"]
    body = mapping.status_reply(task).body()
    assert (body["task"]["task_id"], body["task"]["task_name"]) == (9, "repo")
    assert body["task"]["behind_commits"] == 2


def test_updated_reply() -> None:
    status = ready_status(
        updatedAt="2025-05-02T08:00:00Z",
        newFiles=["file1.py"],
        changedFiles=["config.ini"],
        environment={"message": "Requirements updated in environment 'my_new_env'"},
        handledUpdateRequest="r1",
    )
    task = gittask(status=status)
    assert mapping.update_handled(task, "r1")
    assert not mapping.update_handled(task, "r2")
    body = mapping.updated_reply(task).body()
    assert body == {
        "success": True,
        "message": "Task updated from Git repository successfully",
        "task": {
            "task_id": 7,
            "task_name": "从Git创建的任务",
            "status": "scheduled",
            "updated_at": "2025-05-02 08:00:00",
            "new_files": ["file1.py"],
            "changed_files": ["config.ini"],
            "script_path": "/workspace/repo/main.py",
            "conda_env": "my_new_env",
        },
        "environment_message": "Requirements updated in environment 'my_new_env'",
    }


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body)
