"""The operator end to end through kubectl: apply a GitTask, wait for Ready, run its pod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from condatask import names, resources
from hack.conda_channel import TestArtifacts
from hack.git_server import GitServer
from hack.pod_steps import run_pod
from tests.support.kubectl import Kubectl, poll
from tests.support.operator import (
    REPO_ROOT,
    OperatorProcess,
    apply_example,
    condition,
    wait_ready,
    wait_stalled,
)
from tests.support.runner_steps import TASK_FILES

pytestmark = pytest.mark.integration


def test_applied_example_becomes_ready_with_an_owned_cronjob(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("example", TASK_FILES)
    apply_example(kubectl, task_namespace, url)
    wait_ready(kubectl, task_namespace, "example", operator)

    task = kubectl.get_json("gittask", "example", f"-n={task_namespace}")
    status = task["status"]
    assert isinstance(status["taskId"], int)
    assert task["metadata"]["labels"][resources.LABEL_TASK_ID] == str(status["taskId"])
    assert status["commit"] == git_server.head("example")
    assert status["phase"] == "scheduled"
    assert status["scriptPath"].endswith("/main.py")
    assert status["behindCommits"] == 0
    # No finalizer: deleting a task never waits for the operator to be up.
    assert not task["metadata"].get("finalizers")
    assert status["environment"]["message"] == (
        "New environment 'my_new_env' created with requirements"
    )

    cronjob = kubectl.get_json("cronjob", status["cronJobName"], f"-n={task_namespace}")
    assert cronjob["metadata"]["name"] == names.cronjob_name(status["taskId"])
    assert cronjob["spec"]["schedule"] == "*/10 * * * *"
    owner = cronjob["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"]) == ("GitTask", task["metadata"]["uid"])
    environment = kubectl.get_json("condaenvironments", f"-n={task_namespace}")["items"]
    assert [e["spec"]["sourceTask"] for e in environment] == ["example"]
    assert environment[0]["metadata"]["ownerReferences"][0]["uid"] == task["metadata"]["uid"]


def test_the_emitted_pod_runs_the_script_in_its_environment(
    kubectl: Kubectl,
    task_namespace: str,
    operator: OperatorProcess,
    git_server: GitServer,
    conda_test_artifacts: TestArtifacts,
    tmp_path: Path,
) -> None:
    url = git_server.create_repository("runs", TASK_FILES)
    apply_example(kubectl, task_namespace, url, command="python main.py 0")
    wait_ready(kubectl, task_namespace, "example", operator)
    status = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"]
    cronjob = kubectl.get_json("cronjob", status["cronJobName"], f"-n={task_namespace}")

    steps = run_pod(cronjob, tmp_path)

    assert [step.name for step in steps] == ["checkout", "environment", "run"], steps[-1].output
    assert all(step.returncode == 0 for step in steps), steps[-1].output
    assert "Hello from conda, world! Hello from pip!" in steps[-1].output
    checkout = tmp_path / "workspace" / "repo"
    assert (checkout / "main.py").read_text() == TASK_FILES["main.py"]


def test_a_bad_spec_stalls_with_a_reason_and_no_cronjob(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("empty", {"README.md": "no requirements here\n"})
    apply_example(kubectl, task_namespace, url)
    stalled = wait_stalled(kubectl, task_namespace)
    assert stalled["status"] == "True"
    assert stalled["reason"] == "RepositoryConfigNotFound"
    assert "requirements.txt" in stalled["message"]
    cronjobs = kubectl.get_json("cronjobs", f"-n={task_namespace}")
    assert cronjobs["items"] == []


def test_deleting_a_task_removes_its_cronjob(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("deleted", TASK_FILES)
    apply_example(kubectl, task_namespace, url)
    wait_ready(kubectl, task_namespace, "example", operator)
    name = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"]["cronJobName"]

    kubectl("delete", "gittask", "example", f"-n={task_namespace}", "--wait=true")

    poll(
        lambda: (
            True
            if kubectl("get", "cronjob", name, f"-n={task_namespace}", check=False).returncode
            else None
        ),
        timeout=60,
        interval=0.5,
        what="the garbage collector to remove the CronJob",
    )


def test_the_operator_leaves_namespaces_it_does_not_watch_alone(
    kubectl: Kubectl,
    namespace: str,
    task_namespace: str,
    operator: OperatorProcess,
    git_server: GitServer,
) -> None:
    url = git_server.create_repository("scoped", TASK_FILES)
    apply_example(kubectl, namespace, url)  # not matched by the operator's --namespace glob
    apply_example(kubectl, task_namespace, url)

    wait_ready(kubectl, task_namespace, "example", operator)

    # The watched task is Ready, so the operator has been through its events; the other one
    # was created first and is still untouched.
    ignored = kubectl.get_json("gittask", "example", f"-n={namespace}")
    assert "status" not in ignored
    assert resources.LABEL_TASK_ID not in ignored["metadata"].get("labels", {})


def test_a_run_of_the_cronjob_is_recorded_as_the_last_run(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("runs", TASK_FILES)
    apply_example(kubectl, task_namespace, url)
    wait_ready(kubectl, task_namespace, "example", operator)
    cronjob = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"][
        "cronJobName"
    ]

    # What the CronJob controller does on schedule, asked for now.
    kubectl("create", "job", "run-now", f"--from=cronjob/{cronjob}", f"-n={task_namespace}")

    last_run = poll(
        lambda: kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"].get(
            "lastRun"
        ),
        timeout=30,
        interval=0.5,
        what="status.lastRun",
    )
    assert last_run["jobName"] == "run-now"
    # No kubelet runs here: the Job's pod is created but never starts.
    assert last_run["outcome"] in {"Pending", "Running"}


def test_a_deleted_cronjob_is_recreated(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("drift", TASK_FILES)
    apply_example(kubectl, task_namespace, url)
    wait_ready(kubectl, task_namespace, "example", operator)
    name = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"]["cronJobName"]
    first_uid = kubectl.get_json("cronjob", name, f"-n={task_namespace}")["metadata"]["uid"]

    kubectl("delete", "cronjob", name, f"-n={task_namespace}")

    recreated = poll(
        lambda: _uid_if_new(kubectl, task_namespace, name, first_uid),
        timeout=30,
        interval=0.5,
        what="the CronJob to be recreated",
    )
    assert recreated != first_uid


def _uid_if_new(kubectl: Kubectl, namespace: str, name: str, old: str) -> str | None:
    found = kubectl(
        "get", "cronjob", name, f"-n={namespace}", "-o=jsonpath={.metadata.uid}", check=False
    )
    return found.stdout if found.returncode == 0 and found.stdout not in ("", old) else None


def test_a_copied_task_id_label_gets_a_new_id_instead_of_the_original_cronjob(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("copied", TASK_FILES)
    apply_example(kubectl, task_namespace, url)
    wait_ready(kubectl, task_namespace, "example", operator)
    original = kubectl.get_json("gittask", "example", f"-n={task_namespace}")
    task_id = original["status"]["taskId"]

    # A copy of the manifest under another name, label included.
    copy = yaml.safe_load((REPO_ROOT / "examples" / "gittask.yaml").read_text())
    copy["metadata"] |= {
        "name": "copy",
        "namespace": task_namespace,
        "labels": {resources.LABEL_TASK_ID: str(task_id)},
    }
    copy["spec"]["repository"]["url"] = url
    kubectl.apply(copy)
    wait_ready(kubectl, task_namespace, "copy", operator)

    copied = kubectl.get_json("gittask", "copy", f"-n={task_namespace}")["status"]
    assert copied["taskId"] != task_id
    cronjob = kubectl.get_json("cronjob", original["status"]["cronJobName"], f"-n={task_namespace}")
    assert cronjob["metadata"]["ownerReferences"][0]["uid"] == original["metadata"]["uid"]


def test_a_command_with_any_unicode_is_scheduled_and_events_tell_the_story(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("unicode", TASK_FILES)
    command = "python main.py 0  # 💥 ünïcode 任务"
    apply_example(kubectl, task_namespace, url, command=command)
    wait_ready(kubectl, task_namespace, "example", operator)
    status = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"]
    cronjob = kubectl.get_json("cronjob", status["cronJobName"], f"-n={task_namespace}")
    run = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert run["args"][-1] == f"--command={command}"

    events = kubectl.get_json(
        "events", f"-n={task_namespace}", "--field-selector=involvedObject.kind=GitTask"
    )["items"]
    reasons = {event["reason"] for event in events}
    assert {"Synced", "Succeeded"} <= reasons


def test_a_stall_the_remote_can_heal_heals_when_the_remote_is_fixed(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("healing", {"main.py": "print('hi')\n"})
    apply_example(kubectl, task_namespace, url)
    stalled = wait_stalled(kubectl, task_namespace)
    assert stalled["reason"] == "RepositoryConfigNotFound"

    git_server.commit("healing", {"requirements.txt": "condatask-pip-hello\n"})

    # The poll notices on its own; nobody touches the GitTask.
    wait_ready(kubectl, task_namespace, "example", operator)
    status = kubectl.get_json("gittask", "example", f"-n={task_namespace}")["status"]
    assert status["commit"] == git_server.head("healing")


def test_renaming_the_environment_defines_the_new_one(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("renamed", TASK_FILES)
    apply_example(kubectl, task_namespace, url)
    wait_ready(kubectl, task_namespace, "example", operator)

    apply_example(kubectl, task_namespace, url, environment={"name": "second-env"})

    environment = poll(
        lambda: _environment_named(kubectl, task_namespace, "second-env"),
        timeout=30,
        interval=0.5,
        what="the renamed environment in the status",
    )
    assert environment["message"] == "New environment 'second-env' created with requirements"
    defined = kubectl.get_json("condaenvironments", f"-n={task_namespace}")["items"]
    assert {item["metadata"]["name"] for item in defined} >= {"second-env"}


def _environment_named(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any] | None:
    status = kubectl.get_json("gittask", "example", f"-n={namespace}")["status"]
    environment: dict[str, Any] = status.get("environment", {})
    return environment if environment.get("name") == name else None


def test_a_remote_that_goes_away_is_reported_while_the_task_keeps_its_commit(
    kubectl: Kubectl, task_namespace: str, operator: OperatorProcess, git_server: GitServer
) -> None:
    url = git_server.create_repository("vanishing", TASK_FILES)
    apply_example(kubectl, task_namespace, url)
    wait_ready(kubectl, task_namespace, "example", operator)

    git_server.stop()

    status = poll(
        lambda: _status_with(kubectl, task_namespace, "fetchError"),
        timeout=30,
        interval=0.5,
        what="status.fetchError",
    )
    assert "127.0.0.1" in status["fetchError"]
    ready = condition(kubectl, task_namespace, "example", "Ready")
    assert ready is not None and ready["status"] == "True"


def _status_with(kubectl: Kubectl, namespace: str, field: str) -> dict[str, Any] | None:
    status: dict[str, Any] = kubectl.get_json("gittask", "example", f"-n={namespace}")["status"]
    return status if field in status else None
