"""Fixtures that run the real operator against the test control plane.

The operator runs as a child process, exactly as `condatask-operator` runs in its pod, with
settings that point the emitted pods at the local conda channel and wheelhouse.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack.conda_channel import TestArtifacts
from hack.controlplane import Layout
from tests.support.kubectl import Kubectl, fresh_namespace, poll

REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_INTERVAL = 2.0
# The test operator watches only namespaces with this prefix (a kopf glob), so API-tier tests
# that answer as the operator in their own namespaces never race the real one.
WATCHED_PREFIX = "op-"


@dataclasses.dataclass(frozen=True)
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def crds_installed(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "crds"))
    kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/gittasks.condatask.io",
        "crd/condaenvironments.condatask.io",
    )


@pytest.fixture
def task_namespace(
    kubectl: Kubectl, operator: OperatorProcess, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh namespace that the real test operator watches."""
    with fresh_namespace(kubectl, f"{WATCHED_PREFIX}{request.node.name}") as name:
        yield name


def operator_environ(kubeconfig: Path, artifacts: TestArtifacts, cache: Path) -> dict[str, str]:
    """The operator's settings for tests: local channel, local wheelhouse, a fast poll."""
    environ = dict(os.environ)
    environ.update(
        KUBECONFIG=str(kubeconfig),
        CONDATASK_CHANNELS=artifacts.channel_url,
        CONDATASK_RUNNER_ENV=json.dumps(
            {"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(artifacts.wheelhouse)}
        ),
        CONDATASK_POLL_INTERVAL=str(POLL_INTERVAL),
        CONDATASK_CACHE_DIR=str(cache),
    )
    return environ


@contextlib.contextmanager
def running_operator(
    *, kubeconfig: Path, artifacts: TestArtifacts, work: Path, watch: str
) -> Iterator[OperatorProcess]:
    """`condatask-operator` as a child process watching the namespaces that match `watch`."""
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = work / "operator.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "condatask_operator",
                "--verbose",
                f"--namespace={watch}",
                "--liveness",
                f"http://127.0.0.1:{port}/healthz",
            ],
            env=operator_environ(kubeconfig, artifacts, work / "cache"),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = OperatorProcess(process=process, log=log)
    try:
        _wait_alive(running, f"http://127.0.0.1:{port}/healthz")
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def operator(
    control_plane: Layout,
    crds_installed: None,
    conda_test_artifacts: TestArtifacts,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    with running_operator(
        kubeconfig=control_plane.kubeconfig,
        artifacts=conda_test_artifacts,
        work=tmp_path_factory.mktemp("operator"),
        watch=f"{WATCHED_PREFIX}*",
    ) as running:
        yield running


def _wait_alive(running: OperatorProcess, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"the operator exited:\n{running.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"the operator did not become alive:\n{running.tail()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- Driving a task through kubectl -----------------------------------------------------------


def apply_example(kubectl: Kubectl, namespace: str, url: str, **spec: Any) -> dict[str, Any]:
    """examples/gittask.yaml in `namespace`, pointed at `url`, with `spec` fields replaced."""
    manifest: dict[str, Any] = yaml.safe_load((REPO_ROOT / "examples" / "gittask.yaml").read_text())
    manifest["metadata"]["namespace"] = namespace
    manifest["spec"]["repository"]["url"] = url
    manifest["spec"].update(spec)
    kubectl.apply(manifest)
    return manifest


def wait_ready(kubectl: Kubectl, namespace: str, name: str, operator: OperatorProcess) -> None:
    done = kubectl(
        "wait",
        "--for=condition=Ready",
        f"gittask/{name}",
        f"-n={namespace}",
        "--timeout=90s",
        check=False,
    )
    assert done.returncode == 0, f"{done.stderr}\n--- operator log ---\n{operator.tail()}"


def condition(kubectl: Kubectl, namespace: str, name: str, kind: str) -> dict[str, Any] | None:
    task = kubectl.get_json("gittask", name, f"-n={namespace}")
    for condition in task.get("status", {}).get("conditions", []):
        if condition["type"] == kind:
            found: dict[str, Any] = condition
            return found
    return None


def wait_stalled(kubectl: Kubectl, namespace: str, name: str = "example") -> dict[str, Any]:
    """The task's Stalled condition, once the operator has written one."""
    return poll(
        lambda: condition(kubectl, namespace, name, "Stalled"),
        timeout=60,
        interval=0.5,
        what=f"the Stalled condition of {namespace}/{name}",
    )


def observed_texts(
    kubectl: Kubectl, namespace: str, name: str, operator: OperatorProcess
) -> list[str]:
    """Everything a user or an admin can read about a task: where no credential may show."""
    task = kubectl("get", "gittask", name, f"-n={namespace}", "-o=json").stdout
    status = kubectl.get_json("gittask", name, f"-n={namespace}").get("status", {})
    texts = [task, operator.log.read_text(errors="replace")]
    if status.get("cronJobName"):
        texts.append(
            kubectl("get", "cronjob", status["cronJobName"], f"-n={namespace}", "-o=json").stdout
        )
    return texts
