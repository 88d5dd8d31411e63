"""The REST contract end to end: the gateway in-process, the REAL operator, a real Git server.

These are the acceptance tests of the Git task API: every answer comes from the operator's
verdict on a real repository served over smart HTTP, on the test control plane.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from kubernetes_asyncio import client

from condatask import names, resources
from condatask_api.app import create_app
from condatask_api.settings import Settings
from hack.git_server import GitServer
from tests.api.conftest import GITTASK, AiohttpClient, GatewayClient, service_account_token
from tests.support.kubectl import Kubectl
from tests.support.operator import REPO_ROOT, OperatorProcess
from tests.support.runner_steps import TASK_FILES

pytestmark = pytest.mark.integration

ENV_NAME = "my_new_env"
TASK_NAME = "从Git创建的任务"
REPOSITORY = {**TASK_FILES, "config.ini": "[job]\ncolour = blue\n"}


@pytest.fixture
async def rest(
    aiohttp_client: AiohttpClient,
    admin_api: client.ApiClient,
    task_namespace: str,
) -> AsyncIterator[GatewayClient]:
    verbs = ["create", "get", "list", "watch", "patch", "update", "delete"]
    token = await service_account_token(admin_api, task_namespace, "rest-user", gittask_verbs=verbs)
    settings = Settings(namespace=task_namespace, auth="bearer", verdict_timeout=60)
    http: TestClient[Any, Any] = await aiohttp_client(create_app(settings, api=admin_api))
    yield GatewayClient(http=http, namespace=task_namespace, token=token)


def contract_post(url: str) -> dict[str, Any]:
    return {
        "repo_url": url,
        "branch": "main",
        "task_name": TASK_NAME,
        "command": "python main.py --arg value",
        "env_option": "create",
        "env_name": ENV_NAME,
    }


async def _objects(api: client.ApiClient, namespace: str) -> tuple[list[Any], list[Any]]:
    tasks = await client.CustomObjectsApi(api).list_namespaced_custom_object(
        *GITTASK, namespace, resources.GITTASK_PLURAL
    )
    cronjobs = await client.BatchV1Api(api).list_namespaced_cron_job(namespace)
    return tasks["items"], cronjobs.items


async def test_contract_post_creates_a_scheduled_task_with_an_owned_cronjob(
    rest: GatewayClient, admin_api: client.ApiClient, git_server: GitServer
) -> None:
    url = git_server.create_repository("repo", REPOSITORY)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    code, body = await rest.call("POST", "/api/git/tasks", json=contract_post(url))

    assert code == 201, body
    assert body["success"] is True
    assert body["message"] == "Task created from Git repository successfully"
    assert body["environment_message"] == f"New environment '{ENV_NAME}' created with requirements"
    assert body["environment_warning"] is None
    task = body["task"]
    assert isinstance(task["task_id"], int)
    assert task["task_name"] == TASK_NAME
    assert task["status"] == "scheduled"
    assert task["cron_expression"] == "*/10 * * * *"
    assert task["script_path"].endswith("main.py")
    assert task["conda_env"] == ENV_NAME
    assert (task["repo_url"], task["branch"]) == (url, "main")
    assert task["command"] == "python main.py --arg value"
    created = dt.datetime.strptime(task["created_at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    assert created >= before - dt.timedelta(seconds=1)
    next_run = dt.datetime.strptime(task["next_run_time"], "%Y-%m-%d %H:%M:%S")
    next_run = next_run.replace(tzinfo=dt.UTC)
    # */10: the next run is on a ten-minute boundary, within ten minutes from now.
    assert next_run.minute % 10 == 0 and next_run.second == 0
    assert before < next_run <= before + dt.timedelta(minutes=10)

    (gittask,), (cronjob,) = await _objects(admin_api, rest.namespace)
    assert names.is_dns1123_label(gittask["metadata"]["name"])
    assert gittask["spec"]["displayName"] == TASK_NAME
    assert gittask["metadata"]["labels"][resources.LABEL_TASK_ID] == str(task["task_id"])
    assert names.is_dns1123_label(cronjob.metadata.name)
    assert len(cronjob.metadata.name) <= names.CRONJOB_NAME_MAX
    assert cronjob.spec.schedule == "*/10 * * * *"
    owner = cronjob.metadata.owner_references[0]
    assert (owner.kind, owner.controller) == ("GitTask", True)
    assert owner.uid == gittask["metadata"]["uid"]

    code, status = await rest.call("GET", f"/api/git/tasks/{task['task_id']}")
    assert code == 200
    assert status["task"]["task_name"] == TASK_NAME


async def test_a_repository_without_configuration_answers_404_and_leaves_nothing(
    rest: GatewayClient, admin_api: client.ApiClient, git_server: GitServer
) -> None:
    url = git_server.create_repository("bare", {"main.py": "print('hi')\n"})

    code, body = await rest.call("POST", "/api/git/tasks", json=contract_post(url))

    assert (code, body) == (
        404,
        {
            "success": False,
            "message": "Repository configuration files not found",
            "error": "No filter.conf or requirements.txt found in repository",
        },
    )
    assert await _objects(admin_api, rest.namespace) == ([], [])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/nowhere.git",  # nothing listens on the discard port
        "not a url",
        "ext::sh -c touch% /tmp/pwned",
        "--upload-pack=touch /tmp/pwned",
    ],
)
async def test_an_unreachable_or_malformed_url_answers_400_and_leaves_nothing(
    rest: GatewayClient, admin_api: client.ApiClient, url: str
) -> None:
    code, body = await rest.call("POST", "/api/git/tasks", json=contract_post(url))

    assert (code, body) == (
        400,
        {
            "success": False,
            "message": "Invalid Git repository URL",
            "error": "Failed to clone repository",
        },
    )
    assert await _objects(admin_api, rest.namespace) == ([], [])


async def test_new_commits_show_as_behind_and_put_moves_the_task_to_them(
    rest: GatewayClient, git_server: GitServer
) -> None:
    url = git_server.create_repository("moving", REPOSITORY)
    code, body = await rest.call("POST", "/api/git/tasks", json=contract_post(url))
    assert code == 201, body
    path = f"/api/git/tasks/{body['task']['task_id']}"
    _, first = await rest.call("GET", path)
    assert first["task"]["behind_commits"] == 0

    git_server.commit("moving", {"report.py": "print('report')\n"}, message="Add a report")
    git_server.commit("moving", {"config.ini": "[job]\ncolour = green\n"}, message="Go green")
    behind = await _poll_status(rest, path, lambda task: task["behind_commits"] == 2)
    assert behind["ahead_commits"] == 0
    assert behind["local_changes"] is False
    assert behind["last_synced"] == first["task"]["last_synced"]
    await asyncio.sleep(1.1)  # last_synced has a resolution of one second

    code, updated = await rest.call("PUT", path, json={"update_env": True})

    assert code == 200, updated
    assert updated["success"] is True
    assert updated["message"] == "Task updated from Git repository successfully"
    assert updated["task"]["new_files"] == ["report.py"]
    assert updated["task"]["changed_files"] == ["config.ini"]
    assert updated["task"]["conda_env"] == ENV_NAME
    assert updated["environment_message"] == f"Requirements updated in environment '{ENV_NAME}'"
    _, after = await rest.call("GET", path)
    assert after["task"]["behind_commits"] == 0
    assert after["task"]["last_synced"] > first["task"]["last_synced"]


async def test_a_second_task_on_one_environment_is_warned_that_it_exists(
    rest: GatewayClient, git_server: GitServer
) -> None:
    url = git_server.create_repository("shared", REPOSITORY)
    first_code, first = await rest.call("POST", "/api/git/tasks", json=contract_post(url))
    code, second = await rest.call("POST", "/api/git/tasks", json=contract_post(url))

    assert (first_code, code) == (201, 201), second
    assert first["task"]["task_id"] != second["task"]["task_id"]
    assert second["environment_warning"] == (
        f"Environment '{ENV_NAME}' already exists and has been updated with new requirements"
    )


async def test_an_existing_environment_that_does_not_exist_is_400_and_leaves_nothing(
    rest: GatewayClient, admin_api: client.ApiClient, git_server: GitServer
) -> None:
    url = git_server.create_repository("existing", REPOSITORY)
    body = {**contract_post(url), "env_option": "existing", "env_name": "nowhere"}

    code, reply = await rest.call("POST", "/api/git/tasks", json=body)

    assert code == 400, reply
    assert reply["success"] is False
    assert "nowhere" in reply["error"]
    assert await _objects(admin_api, rest.namespace) == ([], [])


async def test_unknown_ids_answer_the_contract_404(rest: GatewayClient) -> None:
    for method, body in (("GET", None), ("PUT", {"update_env": True})):
        code, reply = await rest.call(method, "/api/git/tasks/424242", json=body)
        assert (code, reply) == (
            404,
            {
                "success": False,
                "message": "Task not found",
                "error": "No task with ID 424242 exists",
            },
        )


async def test_a_task_applied_with_kubectl_is_readable_by_its_id(
    rest: GatewayClient,
    kubectl: Kubectl,
    operator: OperatorProcess,
    git_server: GitServer,
    tmp_path: Path,
) -> None:
    url = git_server.create_repository("applied", REPOSITORY)
    manifest = yaml.safe_load((REPO_ROOT / "examples" / "gittask.yaml").read_text())
    manifest["spec"]["repository"]["url"] = url
    example = tmp_path / "gittask.yaml"
    example.write_text(yaml.safe_dump(manifest, allow_unicode=True))

    kubectl("apply", "-n", rest.namespace, "-f", str(example))
    waited = kubectl(
        "wait",
        "--for=condition=Ready",
        "gittask/example",
        "-n",
        rest.namespace,
        "--timeout=90s",
        check=False,
    )
    assert waited.returncode == 0, f"{waited.stderr}\n{operator.tail()}"

    task_id = kubectl.get_json("gittask", "example", "-n", rest.namespace)["status"]["taskId"]
    code, body = await rest.call("GET", f"/api/git/tasks/{task_id}")
    assert code == 200, body
    assert body["task"]["task_id"] == task_id
    assert body["task"]["task_name"] == TASK_NAME
    assert (body["task"]["repo_url"], body["task"]["branch"]) == (url, "main")


async def _poll_status(rest: GatewayClient, path: str, done: Any) -> dict[str, Any]:
    """GET until `done(task)`; the operator polls the remote every couple of seconds."""
    body: dict[str, Any] = {}
    try:
        async with asyncio.timeout(45):
            while True:
                code, body = await rest.call("GET", path)
                assert code == 200, body
                if done(body["task"]):
                    found: dict[str, Any] = body["task"]
                    return found
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(f"the status never matched; last: {body}") from None
