"""The gateway in-process against the real test control plane, the operator played by a stand-in.

Each test runs in its own namespace; the contract's bodies are compared field for field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from kubernetes_asyncio import client

from condatask import resources, taskids
from condatask.conditions import Reason
from tests.api.conftest import (
    GITTASK,
    GatewayClient,
    OperatorStandIn,
    list_gittasks,
)

pytestmark = pytest.mark.integration

CONTRACT_POST = {
    "repo_url": "https://git.example.test/username/repo.git",
    "branch": "main",
    "task_name": "从Git创建的任务",
    "command": "python main.py --arg value",
    "env_option": "create",
    "env_name": "my_new_env",
}
INVALID_REPOSITORY = {
    "success": False,
    "message": "Invalid Git repository URL",
    "error": "Failed to clone repository",
}

MakeGateway = Callable[..., Awaitable[GatewayClient]]


def not_found(task_id: str) -> dict[str, Any]:
    return {
        "success": False,
        "message": "Task not found",
        "error": f"No task with ID {task_id} exists",
    }


async def test_healthz_needs_no_token(make_gateway: MakeGateway) -> None:
    gateway = await make_gateway(token=None)
    async with gateway.http.get("/healthz") as response:
        assert (response.status, await response.text()) == (200, "ok")


# --- Create --------------------------------------------------------------------------------


async def test_create_answers_the_contract_201(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn, admin_api: client.ApiClient
) -> None:
    status, body = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)

    assert status == 201, body
    task = body["task"]
    assert body["success"] is True
    assert body["message"] == "Task created from Git repository successfully"
    assert body["environment_message"] == "New environment 'my_new_env' created with requirements"
    assert body["environment_warning"] is None
    assert isinstance(task["task_id"], int)
    assert task["task_name"] == "从Git创建的任务"
    assert task["status"] == "scheduled"
    assert task["script_path"].endswith("main.py")
    assert task["command"] == CONTRACT_POST["command"]
    assert task["conda_env"] == "my_new_env"
    assert task["cron_expression"] == "*/10 * * * *"
    assert task["repo_url"] == CONTRACT_POST["repo_url"]
    assert task["branch"] == "main"
    for key in ("created_at", "next_run_time"):
        assert len(task[key]) == len("2025-05-01 10:30:00") and task[key][10] == " "

    [stored] = await list_gittasks(admin_api, gateway.namespace)
    assert stored["metadata"]["name"] == f"task-{task['task_id']}"
    assert stored["metadata"]["labels"][resources.LABEL_TASK_ID] == str(task["task_id"])
    assert stored["spec"]["environment"] == {"name": "my_new_env", "mode": "Create"}
    assert stored["spec"]["displayName"] == "从Git创建的任务"


async def test_create_names_the_task_after_the_repository(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn
) -> None:
    post = {k: v for k, v in CONTRACT_POST.items() if k not in ("task_name", "branch")}
    status, body = await gateway.call("POST", "/api/git/tasks", json=post)
    assert status == 201, body
    assert (body["task"]["task_name"], body["task"]["branch"]) == ("repo", "main")


@pytest.mark.parametrize("field", ["repo_url", "command", "env_option", "env_name"])
async def test_create_without_a_required_field_is_400_and_creates_nothing(
    gateway: GatewayClient, admin_api: client.ApiClient, field: str
) -> None:
    post = {k: v for k, v in CONTRACT_POST.items() if k != field}
    status, body = await gateway.call("POST", "/api/git/tasks", json=post)
    assert status == 400
    assert body["success"] is False
    assert body["message"] == f"Missing required field: {field}"
    assert await list_gittasks(admin_api, gateway.namespace) == []


async def test_create_with_bad_json_is_400(gateway: GatewayClient) -> None:
    status, body = await gateway.call("POST", "/api/git/tasks", data="{not json")
    assert (status, body["message"]) == (400, "Invalid JSON body")


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c 'touch /tmp/pwned'",
        "--upload-pack=touch /tmp/pwned",
        "file:///etc",
        "not a url",
        # Passes the gateway's own check; the CRD's pattern (a path is required) refuses it.
        "https://git.example.test",
    ],
)
async def test_create_with_a_malformed_url_is_the_contract_400(
    gateway: GatewayClient, admin_api: client.ApiClient, url: str
) -> None:
    status, body = await gateway.call(
        "POST", "/api/git/tasks", json={**CONTRACT_POST, "repo_url": url}
    )
    assert (status, body) == (400, INVALID_REPOSITORY)
    assert await list_gittasks(admin_api, gateway.namespace) == []


@pytest.mark.parametrize(
    ("reason", "status", "message", "error"),
    [
        (
            Reason.REPOSITORY_CONFIG_NOT_FOUND,
            404,
            "Repository configuration files not found",
            "No filter.conf or requirements.txt found in repository",
        ),
        (
            Reason.REPOSITORY_UNREACHABLE,
            400,
            "Invalid Git repository URL",
            "Failed to clone repository",
        ),
        (Reason.BRANCH_NOT_FOUND, 400, "Invalid Git repository URL", "Failed to clone repository"),
        (Reason.ENVIRONMENT_NOT_FOUND, 400, "Environment not found", "no environment my_new_env"),
    ],
)
async def test_a_stalled_task_is_answered_and_deleted(
    gateway: GatewayClient,
    respond_as_operator: OperatorStandIn,
    admin_api: client.ApiClient,
    reason: Reason,
    status: int,
    message: str,
    error: str,
) -> None:
    respond_as_operator.stall = (reason, "no environment my_new_env")
    answer = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    assert answer == (status, {"success": False, "message": message, "error": error})
    assert await list_gittasks(admin_api, gateway.namespace) == []


async def test_no_verdict_in_time_is_504_and_deletes_the_task(
    make_gateway: MakeGateway, task_user_token: str, admin_api: client.ApiClient
) -> None:
    # No operator and no stand-in answers in this namespace: the verdict never comes.
    gateway = await make_gateway(token=task_user_token, verdict_timeout=1.0)
    status, body = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    assert status == 504
    assert body["success"] is False
    assert body["message"] == "Timed out waiting for the operator"
    assert await list_gittasks(admin_api, gateway.namespace) == []


async def test_concurrent_creates_get_distinct_ids(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn
) -> None:
    answers = await asyncio.gather(
        *(gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST) for _ in range(20))
    )
    assert [status for status, _ in answers] == [201] * 20
    ids = {body["task"]["task_id"] for _, body in answers}
    assert ids == set(range(1, 21))


# --- Read and update -------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["999", "abc", "0", "-1", "1.5"])
async def test_unknown_ids_are_the_contract_404(gateway: GatewayClient, task_id: str) -> None:
    assert await gateway.call("GET", f"/api/git/tasks/{task_id}") == (404, not_found(task_id))
    put = await gateway.call("PUT", f"/api/git/tasks/{task_id}", json={"update_env": True})
    assert put == (404, not_found(task_id))


async def test_only_the_canonical_id_names_a_task(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn
) -> None:
    _, created = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    assert created["task"]["task_id"] == 1
    assert (await gateway.call("GET", "/api/git/tasks/1"))[0] == 200

    # aiohttp hands the handler the decoded path: `1%0A` arrives as "1\n".
    for path, task_id in [("01", "01"), ("1%0A", "1\n"), ("%201", " 1")]:
        assert await gateway.call("GET", f"/api/git/tasks/{path}") == (404, not_found(task_id))
        put = await gateway.call("PUT", f"/api/git/tasks/{path}", json={"update_env": True})
        assert put == (404, not_found(task_id))


async def test_get_reads_the_sync_state(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn
) -> None:
    _, created = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    task_id = created["task"]["task_id"]

    status, body = await gateway.call("GET", f"/api/git/tasks/{task_id}")

    assert status == 200
    assert body["success"] is True
    assert body["task"]["last_synced"][10] == " "
    assert {k: v for k, v in body["task"].items() if k != "last_synced"} == {
        "task_id": task_id,
        "task_name": "从Git创建的任务",
        "repo_url": CONTRACT_POST["repo_url"],
        "branch": "main",
        "local_changes": False,
        "ahead_commits": 0,
        "behind_commits": 0,
    }


async def test_get_finds_a_task_made_with_kubectl_by_its_label(
    gateway: GatewayClient, admin_api: client.ApiClient
) -> None:
    manifest = {
        "apiVersion": resources.API_VERSION,
        "kind": resources.GITTASK_KIND,
        "metadata": {"name": "nightly-report", "labels": {resources.LABEL_TASK_ID: "77"}},
        "spec": {
            "repository": {"url": "https://git.example.test/team/report.git"},
            "command": "python report.py",
            "environment": {"name": "reports"},
        },
    }
    await client.CustomObjectsApi(admin_api).create_namespaced_custom_object(
        *GITTASK, gateway.namespace, resources.GITTASK_PLURAL, manifest
    )
    status, body = await gateway.call("GET", "/api/git/tasks/77")
    assert status == 200
    assert body["task"]["task_name"] == "report"
    assert body["task"]["last_synced"] is None


async def test_update_answers_the_contract_200(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn, admin_api: client.ApiClient
) -> None:
    _, created = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    task_id = created["task"]["task_id"]

    status, body = await gateway.call(
        "PUT", f"/api/git/tasks/{task_id}", json={"update_env": False}
    )

    assert status == 200, body
    assert body["message"] == "Task updated from Git repository successfully"
    assert body["environment_message"] == "Requirements updated in environment"
    task = body["task"]
    assert task["task_id"] == task_id
    assert (task["new_files"], task["changed_files"]) == (["file1.py"], ["config.ini"])
    assert (task["status"], task["conda_env"]) == ("scheduled", "my_new_env")
    assert task["updated_at"][10] == " "
    [stored] = await list_gittasks(admin_api, gateway.namespace)
    annotations = stored["metadata"]["annotations"]
    assert annotations[resources.ANNOTATION_UPDATE_ENVIRONMENT] == "false"
    assert (
        stored["status"]["handledUpdateRequest"]
        == annotations[resources.ANNOTATION_UPDATE_REQUESTED]
    )


async def test_update_with_an_empty_body_updates_the_environment(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn, admin_api: client.ApiClient
) -> None:
    _, created = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    status, _ = await gateway.call("PUT", f"/api/git/tasks/{created['task']['task_id']}")
    assert status == 200
    [stored] = await list_gittasks(admin_api, gateway.namespace)
    assert stored["metadata"]["annotations"][resources.ANNOTATION_UPDATE_ENVIRONMENT] == "true"


@pytest.mark.parametrize("value", ["yes", "false", 1, None])
async def test_update_env_must_be_a_json_boolean(
    gateway: GatewayClient,
    respond_as_operator: OperatorStandIn,
    admin_api: client.ApiClient,
    value: object,
) -> None:
    _, created = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    path = f"/api/git/tasks/{created['task']['task_id']}"

    status, body = await gateway.call("PUT", path, json={"update_env": value})

    assert (status, body["success"]) == (400, False)
    assert body["message"] == "Invalid value for field: update_env"
    [stored] = await list_gittasks(admin_api, gateway.namespace)
    assert resources.ANNOTATION_UPDATE_REQUESTED not in (
        stored["metadata"].get("annotations") or {}
    )


async def test_a_deeply_nested_body_is_400(gateway: GatewayClient) -> None:
    for method, path in [("POST", "/api/git/tasks"), ("PUT", "/api/git/tasks/1")]:
        status, body = await gateway.call(method, path, data="[" * 100_000)
        assert (status, body["success"], body["message"]) == (400, False, "Invalid JSON body")


async def test_an_update_that_stalls_is_400_and_keeps_the_task(
    gateway: GatewayClient, respond_as_operator: OperatorStandIn, admin_api: client.ApiClient
) -> None:
    _, created = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    respond_as_operator.stall = (Reason.REPOSITORY_CONFIG_NOT_FOUND, "gone")

    status, body = await gateway.call("PUT", f"/api/git/tasks/{created['task']['task_id']}")

    assert (status, body["message"]) == (400, "Repository configuration files not found")
    assert len(await list_gittasks(admin_api, gateway.namespace)) == 1


# --- Authorization -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/git/tasks"), ("GET", "/api/git/tasks/1"), ("PUT", "/api/git/tasks/1")],
)
async def test_no_token_is_401(
    make_gateway: MakeGateway, admin_api: client.ApiClient, method: str, path: str
) -> None:
    gateway = await make_gateway(token=None)
    async with gateway.http.request(method, path, json=CONTRACT_POST) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        body = await response.json()
    assert (body["success"], body["message"]) == (False, "Unauthorized")
    assert await list_gittasks(admin_api, gateway.namespace) == []


async def test_a_token_kubernetes_rejects_is_401(make_gateway: MakeGateway) -> None:
    gateway = await make_gateway(token="not-a-real-token")
    status, body = await gateway.call("GET", "/api/git/tasks/1")
    assert (status, body["message"]) == (401, "Unauthorized")
    assert "not-a-real-token" not in str(body)


async def test_a_caller_without_rbac_is_403_and_creates_nothing(
    make_gateway: MakeGateway, no_rbac_token: str, admin_api: client.ApiClient
) -> None:
    gateway = await make_gateway(token=no_rbac_token)
    for method, path in [("POST", "/api/git/tasks"), ("GET", "/api/git/tasks/1")]:
        status, body = await gateway.call(method, path, json=CONTRACT_POST)
        assert (status, body["success"], body["message"]) == (403, False, "Forbidden")
        assert no_rbac_token not in str(body)
    assert await list_gittasks(admin_api, gateway.namespace) == []


async def counter_value(api: client.ApiClient, namespace: str) -> str | None:
    """The task-id counter's next id, None while no id was ever handed out."""
    try:
        counter = await client.CoreV1Api(api).read_namespaced_config_map(
            resources.TASK_ID_CONFIGMAP, namespace
        )
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise
    value: str = counter.data[resources.TASK_ID_KEY]
    return value


@pytest.mark.parametrize("caller", ["garbage", "no-rbac"])
async def test_a_refused_create_takes_no_task_id(
    make_gateway: MakeGateway, no_rbac_token: str, admin_api: client.ApiClient, caller: str
) -> None:
    token = no_rbac_token if caller == "no-rbac" else "garbage"
    gateway = await make_gateway(token=token)
    await taskids.allocate(admin_api, gateway.namespace)
    before = await counter_value(admin_api, gateway.namespace)

    status, body = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)

    expected = (403, "Forbidden") if caller == "no-rbac" else (401, "Unauthorized")
    assert (status, body["message"]) == expected
    assert token not in str(body)
    assert await counter_value(admin_api, gateway.namespace) == before == "2"


async def test_auth_none_uses_the_gateways_identity(
    make_gateway: MakeGateway, respond_as_operator: OperatorStandIn
) -> None:
    gateway = await make_gateway(token=None, auth="none")
    status, body = await gateway.call("POST", "/api/git/tasks", json=CONTRACT_POST)
    assert status == 201, body
