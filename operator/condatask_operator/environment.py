"""The environment step: decide what happens to the task's named conda environment.

Environments are shared, named objects (CondaEnvironment). A task in mode Create creates or
updates one and becomes one of its owners, so Kubernetes' garbage collector removes it when
the last task using it is gone. A task in mode Existing requires one to exist already.
The build itself happens in the pod's `environment` step, from the recorded commit.
"""

from __future__ import annotations

from typing import Any

from condatask import models, names, resources
from condatask.conditions import Reason
from condatask.filterconf import FilterConf
from condatask_operator import cronjob
from condatask_operator.kubeapi import Kube
from condatask_operator.repository import Repositories
from condatask_operator.stall import Stall

REQUIREMENTS = "requirements.txt"


async def decide(
    kube: Kube,
    *,
    task: dict[str, Any],
    spec: models.GitTaskSpec,
    repository: Repositories,
    commit: str,
    filter_conf: FilterConf | None,
    first_sync: bool,
    moved: bool,
    update_environment: bool,
) -> dict[str, Any]:
    """The status.environment outcome; raises Stall when an existing one is missing."""
    meta = task["metadata"]
    env = spec.environment.name
    object_name = names.condaenvironment_name(env)
    found = await kube.get_environment(meta["namespace"], object_name)
    if spec.environment.mode == models.EnvironmentMode.EXISTING:
        if found is None:
            raise Stall(
                Reason.ENVIRONMENT_NOT_FOUND,
                f"Environment '{env}' does not exist; create it or use mode Create",
            )
        return {"name": env, "message": f"Using existing environment '{env}'"}

    # An environment new to the task (its first sync, or spec.environment renamed) is
    # defined now; a known one only when the task moves and the update asks for it.
    previous = ((task.get("status") or {}).get("environment") or {}).get("name")
    fresh = first_sync or previous != env
    if fresh or (moved and update_environment):
        body = await _environment_object(
            task=task, spec=spec, repository=repository, commit=commit, filter_conf=filter_conf
        )
        await kube.apply_environment(body)
    return _message(
        env,
        first_sync=fresh,
        existed=found is not None,
        moved=moved,
        update_environment=update_environment,
        previous=task,
    )


def _message(
    env: str,
    *,
    first_sync: bool,
    existed: bool,
    moved: bool,
    update_environment: bool,
    previous: dict[str, Any],
) -> dict[str, Any]:
    if first_sync and not existed:
        return {"name": env, "message": f"New environment '{env}' created with requirements"}
    if first_sync:
        return {
            "name": env,
            "message": f"Requirements updated in environment '{env}'",
            "warning": f"Environment '{env}' already exists and has been updated "
            "with new requirements",
        }
    if moved and update_environment:
        return {"name": env, "message": f"Requirements updated in environment '{env}'"}
    if moved:
        return {"name": env, "message": f"Environment '{env}' was not updated, as requested"}
    kept: dict[str, Any] = (previous.get("status") or {}).get("environment") or {"name": env}
    return kept


async def _environment_object(
    *,
    task: dict[str, Any],
    spec: models.GitTaskSpec,
    repository: Repositories,
    commit: str,
    filter_conf: FilterConf | None,
) -> dict[str, Any]:
    url = spec.repository.url
    files = await repository.files(url, commit)
    requirements = (
        await repository.read(url, commit, REQUIREMENTS) if REQUIREMENTS in files else None
    )
    conda = filter_conf.environment if filter_conf else None
    packages = list(conda.packages) if conda else []
    if conda and conda.python:
        packages.insert(0, f"python={conda.python}")
    body_spec = models.CondaEnvironmentSpec(
        channels=list(conda.channels) if conda else [],
        packages=packages,
        pip_requirements=requirements,
        source_task=task["metadata"]["name"],
    )
    return {
        "apiVersion": resources.API_VERSION,
        "kind": resources.CONDAENV_KIND,
        "metadata": {
            "name": names.condaenvironment_name(spec.environment.name),
            "namespace": task["metadata"]["namespace"],
            "labels": {
                resources.LABEL_ENVIRONMENT: names.condaenvironment_name(spec.environment.name),
                resources.LABEL_MANAGED_BY: resources.MANAGED_BY,
            },
            "ownerReferences": [cronjob.owner_reference(task, controller=False)],
        },
        "spec": body_spec.to_wire(),
    }
