"""Fixtures of the API tier: the gateway in-process, callers with and without RBAC, and a
stand-in that answers like the operator by writing the GitTask status itself.

The stand-in is the API tier's substitute for the real operator: it lets these tests pin the
gateway's side of the verdict flow (wait, answer, delete). The end-to-end acceptance tests
run the real operator instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from kubernetes_asyncio import client, config

from condatask import conditions, resources, schedule
from condatask.conditions import Reason
from condatask_api.app import create_app
from condatask_api.settings import AuthMode, Settings

MERGE_PATCH = "application/merge-patch+json"
GITTASK = (resources.GROUP, resources.VERSION)

AiohttpClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def admin_api(kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    """The test cluster's admin: the gateway's own identity, and the operator's."""
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        yield api


@dataclasses.dataclass
class GatewayClient:
    """The gateway app behind aiohttp's test client, with the caller's bearer token."""

    http: TestClient[Any, Any]
    namespace: str
    token: str | None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"} if token else self.headers()
        async with self.http.request(method, path, headers=headers, **kwargs) as response:
            return response.status, await response.json()


@pytest.fixture
async def make_gateway(
    aiohttp_client: AiohttpClient, admin_api: client.ApiClient, namespace: str, crds_installed: None
) -> Callable[..., Awaitable[GatewayClient]]:
    async def make(
        *, token: str | None, auth: AuthMode = "bearer", verdict_timeout: float = 15.0
    ) -> GatewayClient:
        settings = Settings(namespace=namespace, auth=auth, verdict_timeout=verdict_timeout)
        http = await aiohttp_client(create_app(settings, api=admin_api))
        return GatewayClient(http=http, namespace=namespace, token=token)

    return make


@pytest.fixture
async def gateway(
    make_gateway: Callable[..., Awaitable[GatewayClient]], task_user_token: str
) -> GatewayClient:
    """The gateway in bearer mode, called by a user whose Role allows everything on gittasks."""
    return await make_gateway(token=task_user_token)


async def service_account_token(
    api: client.ApiClient, namespace: str, name: str, *, gittask_verbs: list[str]
) -> str:
    """A ServiceAccount with these verbs on gittasks (none: no Role at all), and its token."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    await core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
    )
    if gittask_verbs:
        rule = client.V1PolicyRule(
            api_groups=[resources.GROUP], resources=[resources.GITTASK_PLURAL], verbs=gittask_verbs
        )
        await rbac.create_namespaced_role(
            namespace, client.V1Role(metadata=client.V1ObjectMeta(name=name), rules=[rule])
        )
        binding = client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name=name),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name=name
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)],
        )
        await rbac.create_namespaced_role_binding(namespace, binding)
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    minted = await core.create_namespaced_service_account_token(name, namespace, request)
    token: str = minted.status.token
    return token


@pytest.fixture
async def task_user_token(admin_api: client.ApiClient, namespace: str) -> str:
    verbs = ["create", "get", "list", "watch", "patch", "update", "delete"]
    return await service_account_token(admin_api, namespace, "task-user", gittask_verbs=verbs)


@pytest.fixture
async def no_rbac_token(admin_api: client.ApiClient, namespace: str) -> str:
    return await service_account_token(admin_api, namespace, "no-rbac-user", gittask_verbs=[])


async def list_gittasks(api: client.ApiClient, namespace: str) -> list[dict[str, Any]]:
    found = await client.CustomObjectsApi(api).list_namespaced_custom_object(
        *GITTASK, namespace, resources.GITTASK_PLURAL
    )
    items: list[dict[str, Any]] = found["items"]
    return items


# --- The operator's stand-in ----------------------------------------------------------------


@dataclasses.dataclass
class OperatorStandIn:
    """Answers every new GitTask like the operator would: Ready, or Stalled with `stall`.

    Update requests get `new_files` and `changed_files`, or `stall` when set. (For a
    timeout, a test simply runs without it: nothing answers then.)
    """

    api: client.ApiClient
    namespace: str
    stall: tuple[Reason, str] | None = None
    new_files: list[str] = dataclasses.field(default_factory=lambda: ["file1.py"])
    changed_files: list[str] = dataclasses.field(default_factory=lambda: ["config.ini"])

    async def run(self) -> None:
        while True:
            for task in await list_gittasks(self.api, self.namespace):
                await self._answer(task)
            await asyncio.sleep(0.05)

    async def _answer(self, task: dict[str, Any]) -> None:
        status = task.get("status") or {}
        generation = task["metadata"]["generation"]
        requested = (task["metadata"].get("annotations") or {}).get(
            resources.ANNOTATION_UPDATE_REQUESTED
        )
        if status.get("observedGeneration") != generation:
            await self._write(task, self._verdict(task, generation))
        elif requested and status.get("handledUpdateRequest") != requested:
            update = {
                **self._verdict(task, generation),
                "handledUpdateRequest": requested,
                "updatedAt": schedule.rfc3339(schedule.now()),
                "newFiles": self.new_files,
                "changedFiles": self.changed_files,
                "environment": {"message": "Requirements updated in environment"},
            }
            await self._write(task, update)

    def _verdict(self, task: dict[str, Any], generation: int) -> dict[str, Any]:
        found = conditions.summarise(generation=generation, stalled=self.stall)
        if self.stall:
            return {"observedGeneration": generation, "phase": "failed", "conditions": found}
        env = task["spec"]["environment"]["name"]
        return {
            "observedGeneration": generation,
            "taskId": int(task["metadata"]["labels"][resources.LABEL_TASK_ID]),
            "phase": "scheduled",
            "scriptPath": "/workspace/repo/main.py",
            "lastSynced": schedule.rfc3339(schedule.now()),
            "nextRunTime": schedule.rfc3339(schedule.next_run(task["spec"]["schedule"])),
            "environment": {"message": f"New environment '{env}' created with requirements"},
            "conditions": found,
        }

    async def _write(self, task: dict[str, Any], status: dict[str, Any]) -> None:
        with contextlib.suppress(client.ApiException):  # deleted meanwhile
            await client.CustomObjectsApi(self.api).patch_namespaced_custom_object_status(
                *GITTASK,
                self.namespace,
                resources.GITTASK_PLURAL,
                task["metadata"]["name"],
                body={"status": status},
                _content_type=MERGE_PATCH,
            )


@pytest.fixture
async def respond_as_operator(
    admin_api: client.ApiClient, namespace: str
) -> AsyncIterator[OperatorStandIn]:
    stand_in = OperatorStandIn(api=admin_api, namespace=namespace)
    running = asyncio.create_task(stand_in.run())
    yield stand_in
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
