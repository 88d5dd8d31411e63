"""Gateway GET latency against reading the same GitTask from the Kubernetes API directly.

Needs the project's test control plane (`make cluster-up`) with the CRDs installed; without
them it says so and measures nothing. The gateway app runs in this process behind aiohttp's
TestServer (real HTTP over 127.0.0.1, `--auth none`), in a namespace made for the run and
deleted after it. A few GitTasks are created straight through the API (no operator runs
here), then `GET /api/git/tasks/<id>` is timed, one request after another. The peers are the
gateway's own query done directly (a list by task-id label) and a get by name.

    python -m benchmarks.gateway
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from kubernetes_asyncio import client, config

from benchmarks.table import print_table, ratio
from condatask import names, resources
from condatask_api import mapping, schemas
from condatask_api.app import create_app
from condatask_api.settings import Settings

KUBECONFIG = Path(".cluster/kubeconfig")
TASKS = 5
REQUESTS = 200
FIRST_TASK_ID = 900_001  # far from the ids the gateway hands out in tests
GITTASK = (resources.GROUP, resources.VERSION)


@dataclass(frozen=True)
class Latency:
    name: str
    seconds: list[float]

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def control_plane_ready() -> str | None:
    """None when the test control plane is up, else why the benchmark is skipped."""
    if not KUBECONFIG.is_file():
        return f"no {KUBECONFIG} (run `make cluster-up`)"
    status = subprocess.run(
        [sys.executable, "hack/cluster.py", "status"], capture_output=True, check=False
    )
    return None if status.returncode == 0 else "the test control plane is not up"


@contextlib.asynccontextmanager
async def admin_client() -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(KUBECONFIG), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        yield api


@contextlib.asynccontextmanager
async def fresh_namespace(api: client.ApiClient) -> AsyncIterator[str]:
    name = f"bench-gateway-{secrets.token_hex(3)}"
    core = client.CoreV1Api(api)
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        # The namespace controller empties and removes it in the background.
        await core.delete_namespace(name)


async def create_tasks(api: client.ApiClient, namespace: str) -> list[int]:
    objects = client.CustomObjectsApi(api)
    task_ids = list(range(FIRST_TASK_ID, FIRST_TASK_ID + TASKS))
    for task_id in task_ids:
        request = schemas.CreateTaskRequest(
            repo_url="https://git.example.invalid/team/job.git",
            command="python main.py",
            env_option="create",
            env_name="bench-env",
        )
        manifest = mapping.gittask_manifest(
            mapping.task_spec(request), task_id=task_id, namespace=namespace
        )
        await objects.create_namespaced_custom_object(
            *GITTASK, namespace, resources.GITTASK_PLURAL, manifest
        )
    return task_ids


async def timed(name: str, task_ids: list[int], call: Callable[[int], Awaitable[None]]) -> Latency:
    for task_id in task_ids:  # warm-up: connections, caches
        await call(task_id)
    seconds: list[float] = []
    for index in range(REQUESTS):
        started = time.perf_counter()
        await call(task_ids[index % len(task_ids)])
        seconds.append(time.perf_counter() - started)
    return Latency(name, seconds)


async def measure() -> list[Latency]:
    async with admin_client() as api, fresh_namespace(api) as namespace:
        task_ids = await create_tasks(api, namespace)
        objects = client.CustomObjectsApi(api)
        # `--auth none` is meant here; its start-up warning would only clutter the table.
        logging.getLogger("condatask_api.app").setLevel(logging.ERROR)
        app = create_app(Settings(namespace=namespace, auth="none"), api=api)
        async with TestServer(app) as server, aiohttp.ClientSession() as http:

            async def gateway_get(task_id: int) -> None:
                async with http.get(server.make_url(f"/api/git/tasks/{task_id}")) as reply:
                    assert reply.status == 200, await reply.text()
                    await reply.read()

            async def list_by_label(task_id: int) -> None:
                await objects.list_namespaced_custom_object(
                    *GITTASK,
                    namespace,
                    resources.GITTASK_PLURAL,
                    label_selector=f"{resources.LABEL_TASK_ID}={task_id}",
                )

            async def get_by_name(task_id: int) -> None:
                await objects.get_namespaced_custom_object(
                    *GITTASK, namespace, resources.GITTASK_PLURAL, names.gittask_name(task_id)
                )

            return [
                await timed("gateway GET (ours)", task_ids, gateway_get),
                await timed("API list by label", task_ids, list_by_label),
                await timed("API get by name", task_ids, get_by_name),
            ]


def run() -> list[Latency] | None:
    reason = control_plane_ready()
    if reason is not None:
        print(f"\nGateway GET latency: skipped, {reason}.")
        return None
    latencies = asyncio.run(measure())
    report(latencies)
    return latencies


def report(latencies: list[Latency]) -> None:
    ours = latencies[0]
    rows = [
        (
            latency.name,
            f"{latency.percentile(0.5) * 1000:.2f}",
            f"{latency.percentile(0.95) * 1000:.2f}",
            f"{len(latency.seconds) / sum(latency.seconds):.0f}",
            ratio(ours.percentile(0.5), latency.percentile(0.5)),
        )
        for latency in latencies
    ]
    print_table(
        f"Gateway GET latency, {REQUESTS} sequential requests over {TASKS} tasks (ms)",
        ("call", "p50 ms", "p95 ms", "req/s", "ours/peer"),
        rows,
    )


if __name__ == "__main__":
    run()
