"""The CronJob a GitTask emits: a pure function of the task, its recorded commit and settings.

Its pod runs the project's runner in three steps that also run on a laptop:
`checkout` (init: the recorded commit into the workspace), `environment` (init: the named
conda environment made to match the checkout's requirements) and `run` (the command).
"""

from __future__ import annotations

from typing import Any

from condatask import models, names, resources
from condatask_operator.config import Settings

WORKSPACE_VOLUME = "workspace"
ENVIRONMENTS_VOLUME = "environments"
CREDENTIALS_VOLUME = "git-credentials"
CREDENTIALS_PATH = "/etc/condatask/git"
RUNNER_UID = 1000  # the image's non-root user


def labels(task_name: str, task_id: int) -> dict[str, str]:
    return {
        resources.LABEL_TASK_ID: str(task_id),
        resources.LABEL_TASK_NAME: task_name,
        resources.LABEL_MANAGED_BY: resources.MANAGED_BY,
    }


def owner_reference(task: dict[str, Any], *, controller: bool) -> dict[str, Any]:
    return {
        "apiVersion": resources.API_VERSION,
        "kind": resources.GITTASK_KIND,
        "name": task["metadata"]["name"],
        "uid": task["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def build(
    *,
    task: dict[str, Any],
    spec: models.GitTaskSpec,
    task_id: int,
    commit: str,
    settings: Settings,
    credentials_secret: str | None = None,
    refresh_environment: bool = True,
) -> dict[str, Any]:
    """The CronJob manifest for `task` running `commit`.

    Without `refresh_environment` (an update asked not to touch it) the pod only creates the
    environment when it is missing.
    """
    task_labels = labels(task["metadata"]["name"], task_id)
    cronjob_spec: dict[str, Any] = {
        "schedule": spec.schedule,
        "suspend": spec.suspend,
        "concurrencyPolicy": spec.concurrency_policy,
        "successfulJobsHistoryLimit": spec.successful_jobs_history_limit,
        "failedJobsHistoryLimit": spec.failed_jobs_history_limit,
        "jobTemplate": {
            "metadata": {"labels": task_labels},
            "spec": _job_spec(
                spec, commit, settings, task_labels, credentials_secret, refresh_environment
            ),
        },
    }
    if spec.time_zone:
        cronjob_spec["timeZone"] = spec.time_zone
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": names.cronjob_name(task_id),
            "namespace": task["metadata"]["namespace"],
            "labels": task_labels,
            "ownerReferences": [owner_reference(task, controller=True)],
        },
        "spec": cronjob_spec,
    }


def _job_spec(
    spec: models.GitTaskSpec,
    commit: str,
    settings: Settings,
    task_labels: dict[str, str],
    credentials_secret: str | None,
    refresh_environment: bool,
) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [
        {"name": WORKSPACE_VOLUME, "emptyDir": {}},
        {
            "name": ENVIRONMENTS_VOLUME,
            "persistentVolumeClaim": {"claimName": settings.environments_claim},
        },
    ]
    if credentials_secret:
        volumes.append(
            {
                "name": CREDENTIALS_VOLUME,
                "secret": {"secretName": credentials_secret, "defaultMode": 0o400},
            }
        )
    init_containers = [_checkout(spec, commit, settings, credentials_secret)]
    if spec.environment.mode == models.EnvironmentMode.CREATE:
        init_containers.append(_environment(spec, settings, refresh=refresh_environment))
    job: dict[str, Any] = {
        # A run that fails is reported, not retried: the next schedule is the retry.
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": task_labels},
            "spec": {
                "restartPolicy": "Never",
                # The task's code comes from whoever can push: no API token for it.
                "automountServiceAccountToken": False,
                # The Pod Security "restricted" level; fsGroup lets uid 1000 write the
                # environments volume whoever created it.
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": RUNNER_UID,
                    "runAsGroup": RUNNER_UID,
                    "fsGroup": RUNNER_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "initContainers": init_containers,
                "containers": [_run(spec, settings)],
                "volumes": volumes,
            },
        },
    }
    if spec.timeout_seconds:
        job["activeDeadlineSeconds"] = spec.timeout_seconds
    return job


def _container(name: str, args: list[str], settings: Settings) -> dict[str, Any]:
    return {
        "name": name,
        "image": settings.runner_image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["condatask-runner"],
        "args": args,
        "env": [
            {"name": key, "value": value} for key, value in sorted(settings.runner_env.items())
        ],
        "volumeMounts": [{"name": WORKSPACE_VOLUME, "mountPath": settings.workspace_path}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _checkout(
    spec: models.GitTaskSpec, commit: str, settings: Settings, credentials_secret: str | None
) -> dict[str, Any]:
    # --flag=value throughout: a value that starts with "-" can never be read as an option.
    args = [
        "checkout",
        f"--repo-url={spec.repository.url}",
        f"--branch={spec.repository.branch}",
        f"--commit={commit}",
        f"--dest={settings.checkout_path}",
    ]
    container = _container("checkout", args, settings)
    if credentials_secret:
        args.append(f"--credentials-dir={CREDENTIALS_PATH}")
        container["volumeMounts"].append(
            {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_PATH, "readOnly": True}
        )
    return container


def _environment(spec: models.GitTaskSpec, settings: Settings, *, refresh: bool) -> dict[str, Any]:
    args = [
        "environment",
        f"--name={spec.environment.name}",
        f"--envs-dir={settings.environments_path}",
        f"--source={settings.checkout_path}",
        *(f"--channel={channel}" for channel in settings.channels),
        *([] if refresh else ["--keep-existing"]),
    ]
    container = _container("environment", args, settings)
    container["volumeMounts"].append(_environments_mount(settings))
    return container


def _run(spec: models.GitTaskSpec, settings: Settings) -> dict[str, Any]:
    args = [
        "run",
        f"--env={spec.environment.name}",
        f"--envs-dir={settings.environments_path}",
        f"--workdir={settings.checkout_path}",
        f"--command={spec.command}",
    ]
    container = _container("run", args, settings)
    container["volumeMounts"].append(_environments_mount(settings))
    if spec.resources:
        container["resources"] = spec.resources
    return container


def _environments_mount(settings: Settings) -> dict[str, Any]:
    return {"name": ENVIRONMENTS_VOLUME, "mountPath": settings.environments_path}
