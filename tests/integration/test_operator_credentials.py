"""A private repository: credentials from a Secret reach git, and nothing else.

The operator fetches with the Secret's username and password; the emitted pod mounts the
Secret and its checkout step uses it. The password must never appear in the GitTask, the
CronJob, the operator's log or the pod's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from condatask import resources
from hack.git_server import GitServer
from hack.pod_steps import run_pod
from tests.support.kubectl import Kubectl
from tests.support.operator import (
    OperatorProcess,
    apply_example,
    observed_texts,
    wait_ready,
    wait_stalled,
)
from tests.support.runner_steps import GIT_PASSWORD, GIT_USERNAME, TASK_FILES

pytestmark = pytest.mark.integration


def _secret(kubectl: Kubectl, namespace: str, password: str) -> None:
    kubectl.apply({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "git-credentials",
            "namespace": namespace,
            "annotations": {resources.ANNOTATION_GIT_HOSTS: "127.0.0.1"},
        },
        "type": "kubernetes.io/basic-auth",
        "stringData": {"username": GIT_USERNAME, "password": password},
    })  # fmt: skip


def test_a_private_repository_is_synced_and_run_with_the_secret_and_never_shows_it(
    kubectl: Kubectl,
    task_namespace: str,
    operator: OperatorProcess,
    authenticated_git_server: GitServer,
    tmp_path: Path,
) -> None:
    url = authenticated_git_server.create_repository("private", TASK_FILES)
    _secret(kubectl, task_namespace, GIT_PASSWORD)
    apply_example(
        kubectl,
        task_namespace,
        url,
        command="python main.py 0",
        repository={"url": url, "secretRef": {"name": "git-credentials"}},
    )
    wait_ready(kubectl, task_namespace, "example", operator)

    status = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"]
    assert status["commit"] == authenticated_git_server.head("private")
    for text in observed_texts(kubectl, task_namespace, "example", operator):
        assert GIT_PASSWORD not in text

    # The pod's Secret volume, as the kubelet would project it.
    credentials = tmp_path / "secret"
    credentials.mkdir()
    (credentials / "username").write_text(GIT_USERNAME)
    (credentials / "password").write_text(GIT_PASSWORD)
    steps = run_pod(
        kubectl.get_json("cronjob", status["cronJobName"], f"-n={task_namespace}"),
        tmp_path / "pod",
        volumes={"git-credentials": credentials},
    )

    assert [s.returncode for s in steps] == [0, 0, 0], steps[-1].output
    assert "Hello from pip!" in steps[-1].output
    assert all(GIT_PASSWORD not in step.output for step in steps)


def test_a_wrong_password_stalls_without_showing_it(
    kubectl: Kubectl,
    task_namespace: str,
    operator: OperatorProcess,
    authenticated_git_server: GitServer,
) -> None:
    url = authenticated_git_server.create_repository("locked", TASK_FILES)
    wrong = "not-the-password-8f3c"
    _secret(kubectl, task_namespace, wrong)
    apply_example(
        kubectl,
        task_namespace,
        url,
        repository={"url": url, "secretRef": {"name": "git-credentials"}},
    )

    stalled = wait_stalled(kubectl, task_namespace)

    assert (stalled["status"], stalled["reason"]) == ("True", "RepositoryUnreachable")
    for text in observed_texts(kubectl, task_namespace, "example", operator):
        assert wrong not in text


def test_a_secret_not_meant_for_that_host_is_never_used(
    kubectl: Kubectl,
    task_namespace: str,
    operator: OperatorProcess,
    authenticated_git_server: GitServer,
) -> None:
    url = authenticated_git_server.create_repository("elsewhere", TASK_FILES)
    kubectl.apply({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "git-credentials",
            "namespace": task_namespace,
            "annotations": {resources.ANNOTATION_GIT_HOSTS: "git.example.com"},
        },
        "stringData": {"username": GIT_USERNAME, "password": GIT_PASSWORD},
    })  # fmt: skip
    apply_example(
        kubectl,
        task_namespace,
        url,
        repository={"url": url, "secretRef": {"name": "git-credentials"}},
    )

    stalled = wait_stalled(kubectl, task_namespace)

    assert (stalled["status"], stalled["reason"]) == ("True", "SecretNotAllowed")
    assert "127.0.0.1" in stalled["message"]
    # Nothing emitted: no pod could mount the Secret.
    assert kubectl.get_json("cronjobs", f"-n={task_namespace}")["items"] == []
