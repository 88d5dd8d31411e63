"""The CronJob builder: a pure function of the task, its commit and the settings."""

from __future__ import annotations

from typing import Any

from condatask import models, names, resources
from condatask_operator import cronjob
from condatask_operator.config import Settings

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _task(**spec: Any) -> tuple[dict[str, Any], models.GitTaskSpec]:
    raw = {
        "repository": {"url": "https://git.example.com/team/jobs.git"},
        "command": "python main.py --arg value",
        "environment": {"name": "my_new_env"},
        **spec,
    }
    task = {"metadata": {"name": "nightly", "namespace": "jobs", "uid": "u-1"}, "spec": raw}
    return task, models.GitTaskSpec.model_validate(raw)


def _build(task_id: int = 7, **spec: Any) -> dict[str, Any]:
    task, parsed = _task(**spec)
    return cronjob.build(
        task=task,
        spec=parsed,
        task_id=task_id,
        commit=COMMIT,
        settings=Settings(channels=["file:///srv/channel"]),
    )


def _pod(body: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = body["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def test_cronjob_is_owned_by_the_task_and_named_from_its_id() -> None:
    body = _build(task_id=12345)
    meta = body["metadata"]
    assert meta["name"] == names.cronjob_name(12345) == "gittask-12345"
    assert meta["namespace"] == "jobs"
    owner = meta["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "GitTask",
        "nightly",
        "u-1",
        True,
    )
    assert meta["labels"][resources.LABEL_TASK_ID] == "12345"


def test_schedule_and_policies_come_from_the_spec() -> None:
    body = _build(schedule="5 4 * * *", timeZone="Europe/Berlin", suspend=True, timeoutSeconds=600)
    spec = body["spec"]
    assert spec["schedule"] == "5 4 * * *"
    assert spec["timeZone"] == "Europe/Berlin"
    assert spec["suspend"] is True
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 600


def test_pod_checks_out_the_recorded_commit_then_builds_then_runs() -> None:
    pod = _pod(_build())
    checkout, environment = pod["initContainers"]
    assert [checkout["name"], environment["name"]] == ["checkout", "environment"]
    assert f"--commit={COMMIT}" in checkout["args"]
    assert "--name=my_new_env" in environment["args"]
    assert "--channel=file:///srv/channel" in environment["args"]
    (run,) = pod["containers"]
    assert run["name"] == "run"
    assert run["args"][-1] == "--command=python main.py --arg value"
    assert pod["restartPolicy"] == "Never"


def test_an_existing_environment_is_not_rebuilt_by_the_pod() -> None:
    pod = _pod(_build(environment={"name": "shared", "mode": "Existing"}))
    assert [c["name"] for c in pod["initContainers"]] == ["checkout"]


def test_untrusted_text_stays_a_single_argument() -> None:
    # The command and URL are arguments of our runner, never a shell line or a git option.
    pod = _pod(_build(command="python main.py; rm -rf /"))
    run = pod["containers"][0]
    assert run["command"] == ["condatask-runner"]
    assert "--command=python main.py; rm -rf /" in run["args"]


def test_option_like_values_stay_values() -> None:
    pod = _pod(_build(command="--help"))
    assert pod["containers"][0]["args"][-1] == "--command=--help"


def test_credentials_are_mounted_not_inlined() -> None:
    task, parsed = _task(
        repository={"url": "https://git.example.com/x.git", "secretRef": {"name": "git-creds"}}
    )
    body = cronjob.build(
        task=task,
        spec=parsed,
        task_id=1,
        commit=COMMIT,
        settings=Settings(),
        credentials_secret="git-creds",
    )
    pod = _pod(body)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[cronjob.CREDENTIALS_VOLUME]["secret"]["secretName"] == "git-creds"
    assert "git-creds" not in str(pod["initContainers"][0]["args"])


def test_cronjob_name_fits_the_kubernetes_limit() -> None:
    name = names.cronjob_name(2**63 - 1)
    assert len(name) <= names.CRONJOB_NAME_MAX
    assert names.is_dns1123_label(name)


def test_task_pods_meet_the_restricted_pod_security_level() -> None:
    pod = _pod(_build())
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_an_update_without_update_env_keeps_the_built_environment() -> None:
    task, parsed = _task()
    body = cronjob.build(
        task=task,
        spec=parsed,
        task_id=1,
        commit=COMMIT,
        settings=Settings(),
        refresh_environment=False,
    )
    assert "--keep-existing" in _pod(body)["initContainers"][1]["args"]
    assert "--keep-existing" not in _pod(_build())["initContainers"][1]["args"]
