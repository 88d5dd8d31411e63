"""An SSH repository end to end: a Secret's key and known hosts reach ssh, and nothing else.

The operator fetches over SSH from a real sshd with the Secret's `identity` and `known_hosts`;
the emitted pod mounts the Secret and its checkout step uses it. The private key must never
appear in the GitTask, the CronJob, the operator's log or the pod's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from condatask import resources
from hack.pod_steps import run_pod
from hack.ssh_git_server import SshGitServer
from tests.support.kubectl import Kubectl
from tests.support.operator import (
    OperatorProcess,
    apply_example,
    observed_texts,
    wait_ready,
    wait_stalled,
)
from tests.support.runner_steps import TASK_FILES

pytestmark = pytest.mark.integration


def _secret(kubectl: Kubectl, namespace: str, data: dict[str, str]) -> None:
    kubectl.apply({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "git-ssh",
            "namespace": namespace,
            "annotations": {resources.ANNOTATION_GIT_HOSTS: "127.0.0.1"},
        },
        "stringData": data,
    })  # fmt: skip


def _key_body(server: SshGitServer) -> str:
    """A line of the private key's base64 body: what must never leak anywhere."""
    return server.identity.splitlines()[1]


def test_an_ssh_repository_is_synced_and_run_with_the_secret_and_never_shows_it(
    kubectl: Kubectl,
    task_namespace: str,
    operator: OperatorProcess,
    ssh_git_server: SshGitServer,
    tmp_path: Path,
) -> None:
    url = ssh_git_server.create_repository("private", TASK_FILES)
    _secret(
        kubectl,
        task_namespace,
        {"identity": ssh_git_server.identity, "known_hosts": ssh_git_server.known_hosts},
    )
    apply_example(
        kubectl,
        task_namespace,
        url,
        command="python main.py 0",
        repository={"url": url, "secretRef": {"name": "git-ssh"}},
    )
    wait_ready(kubectl, task_namespace, "example", operator)

    status = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"]
    assert status["commit"] == ssh_git_server.head("private")
    for text in observed_texts(kubectl, task_namespace, "example", operator):
        assert _key_body(ssh_git_server) not in text
        assert "PRIVATE KEY" not in text

    # The pod's Secret volume, as the kubelet would project it (read-only files).
    credentials = tmp_path / "secret"
    credentials.mkdir()
    for name, text in (
        ("identity", ssh_git_server.identity),
        ("known_hosts", ssh_git_server.known_hosts),
    ):
        (credentials / name).write_text(text)
        (credentials / name).chmod(0o400)
    steps = run_pod(
        kubectl.get_json("cronjob", status["cronJobName"], f"-n={task_namespace}"),
        tmp_path / "pod",
        volumes={"git-credentials": credentials},
    )

    assert [s.returncode for s in steps] == [0, 0, 0], steps[-1].output
    assert f"Checked out {status['commit'][:12]}" in steps[0].output
    assert "Hello from pip!" in steps[-1].output
    assert all(_key_body(ssh_git_server) not in step.output for step in steps)


def test_an_ssh_secret_without_known_hosts_stalls_without_showing_the_key(
    kubectl: Kubectl,
    task_namespace: str,
    operator: OperatorProcess,
    ssh_git_server: SshGitServer,
) -> None:
    url = ssh_git_server.create_repository("private", TASK_FILES)
    _secret(kubectl, task_namespace, {"identity": ssh_git_server.identity})
    apply_example(
        kubectl,
        task_namespace,
        url,
        repository={"url": url, "secretRef": {"name": "git-ssh"}},
    )

    stalled = wait_stalled(kubectl, task_namespace)

    assert (stalled["status"], stalled["reason"]) == ("True", "SecretNotFound")
    assert "'known_hosts'" in stalled["message"]
    task = kubectl("get", "gittask", "example", f"-n={task_namespace}", "-o=json").stdout
    assert _key_body(ssh_git_server) not in task
    assert _key_body(ssh_git_server) not in operator.log.read_text(errors="replace")
