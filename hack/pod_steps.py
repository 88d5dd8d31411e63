"""Run the steps of an emitted pod locally, as the kubelet would run them in order.

Pods do not run on this machine (no kubelet, no container runtime), so tests and the demo run
the exact containers of a CronJob's pod template as local processes: every volume becomes a
local directory, each mount path in a container's arguments is mapped onto it, and the
containers run one after another, stopping at the first failure like init containers do.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    output: str


def pod_template(cronjob: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def run_pod(
    cronjob: Mapping[str, Any],
    root: Path,
    *,
    volumes: Mapping[str, Path] | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> list[StepResult]:
    """Run init containers then containers; `volumes` maps volume names to local folders."""
    pod = pod_template(cronjob)
    local = {
        v["name"]: Path(volumes[v["name"]])
        if volumes and v["name"] in volumes
        else root / v["name"]
        for v in pod.get("volumes", [])
    }
    for folder in local.values():
        folder.mkdir(parents=True, exist_ok=True)
    results = []
    for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        result = _run_container(container, local, environ, timeout)
        results.append(result)
        if result.returncode != 0:
            break
    return results


def _run_container(
    container: Mapping[str, Any],
    local: Mapping[str, Path],
    environ: Mapping[str, str] | None,
    timeout: float,
) -> StepResult:
    mounts = sorted(
        ((m["mountPath"], str(local[m["name"]])) for m in container.get("volumeMounts", [])),
        key=lambda pair: -len(pair[0]),
    )
    argv = [_localise(word, mounts) for word in [*container["command"], *container.get("args", [])]]
    argv[0] = _executable(argv[0])
    env = dict(os.environ if environ is None else environ)
    env.update({e["name"]: _localise(e.get("value", ""), mounts) for e in container.get("env", [])})
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return StepResult(container["name"], done.returncode, done.stdout + done.stderr)


def _localise(word: str, mounts: list[tuple[str, str]]) -> str:
    if word.startswith("--") and "=" in word:
        flag, _, value = word.partition("=")
        return f"{flag}={_localise(value, mounts)}"
    for mount_path, folder in mounts:
        if word == mount_path or word.startswith(mount_path + "/"):
            return folder + word[len(mount_path) :]
    return word


def _executable(name: str) -> str:
    # The image puts condatask-runner on PATH; locally it sits beside this interpreter.
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name) or name
