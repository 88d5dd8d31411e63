"""The whole product on this machine: control plane, CRDs, operator and gateway.

`python -m hack.stack up` starts what is not running yet and writes `.cluster/env`
(KUBECONFIG, GATEWAY_URL, GATEWAY_TOKEN); `down` stops everything it started. The operator
and the gateway run as detached processes with logs in `.cluster/logs/`. Emitted pods are
pointed at a local conda channel and wheelhouse built into `.cluster/artifacts/`, since no
public channel is reachable here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from hack.conda_channel import TestArtifacts, build_all
from hack.controlplane import Layout, cluster, default_layout, processes

NAMESPACE = "default"
DEMO_ACCOUNT = "condatask-demo"
POLL_INTERVAL = "5"

# What a REST API user needs in RBAC: the gateway acts with the caller's token.
_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "Role",
    "metadata": {"name": "condatask-gittask-editor"},
    "rules": [
        {
            "apiGroups": ["condatask.io"],
            "resources": ["gittasks"],
            "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
        }
    ],
}


def _state_path(layout: Layout) -> Path:
    return layout.cluster_dir / "stack.json"


def up(layout: Layout) -> dict[str, str]:
    cluster.up(layout)
    root = Path(__file__).resolve().parent.parent
    _kubectl(layout, "apply", "--server-side", "-f", str(root / "crds"))
    _kubectl(
        layout,
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/gittasks.condatask.io",
        "crd/condaenvironments.condatask.io",
    )
    state = _read(layout)
    if not _alive(layout, state):
        state = _start(layout, _artifacts(layout))
        (_state_path(layout)).write_text(json.dumps(state, indent=2))
    env = {
        "KUBECONFIG": str(layout.kubeconfig),
        "GATEWAY_URL": f"http://127.0.0.1:{state['gateway_port']}",
        "GATEWAY_TOKEN": _demo_token(layout),
        "CONDATASK_CHANNEL": state["channel"],
        "UV_FIND_LINKS": state["wheelhouse"],
    }
    (layout.cluster_dir / "env").write_text(
        "".join(f"export {key}={value}\n" for key, value in env.items())
    )
    return env


def down(layout: Layout) -> None:
    state = _read(layout)
    for name in ("gateway", "operator"):
        pid = state.get("pids", {}).get(name)
        if pid:
            processes.stop(pid, marker=_marker(name))
    _state_path(layout).unlink(missing_ok=True)
    (layout.cluster_dir / "env").unlink(missing_ok=True)
    cluster.down(layout)


def _artifacts(layout: Layout) -> TestArtifacts:
    return build_all(layout.cluster_dir / "artifacts")


def _start(layout: Layout, artifacts: TestArtifacts) -> dict[str, Any]:
    gateway_port, liveness_port = processes.free_ports(2)
    environ = {
        "KUBECONFIG": str(layout.kubeconfig),
        "CONDATASK_CHANNELS": artifacts.channel_url,
        "CONDATASK_RUNNER_ENV": json.dumps(
            {"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(artifacts.wheelhouse)}
        ),
        "CONDATASK_POLL_INTERVAL": POLL_INTERVAL,
        "CONDATASK_CACHE_DIR": str(layout.cluster_dir / "repositories"),
    }
    os.environ.update(environ)
    python = sys.executable
    pids = {
        "operator": processes.spawn(
            [
                python,
                "-m",
                _marker("operator"),
                "--liveness",
                f"http://127.0.0.1:{liveness_port}/healthz",
            ],
            log_file=layout.log_dir / "operator.log",
            cwd=layout.cluster_dir,
        ),
        "gateway": processes.spawn(
            [
                python,
                "-m",
                _marker("gateway"),
                "--namespace",
                NAMESPACE,
                "--port",
                str(gateway_port),
                "--auth",
                "bearer",
            ],
            log_file=layout.log_dir / "gateway.log",
            cwd=layout.cluster_dir,
        ),
    }
    _wait_http(f"http://127.0.0.1:{liveness_port}/healthz", "the operator")
    _wait_http(f"http://127.0.0.1:{gateway_port}/healthz", "the gateway")
    print(f"operator and gateway up; logs in {layout.log_dir}")
    return {
        "pids": pids,
        "gateway_port": gateway_port,
        "channel": artifacts.channel_url,
        "wheelhouse": str(artifacts.wheelhouse),
    }


def _marker(name: str) -> str:
    # What `processes.stop` looks for in the command line before it signals a recorded pid,
    # so a pid reused by another program is never killed.
    return {"operator": "condatask_operator", "gateway": "condatask_api"}[name]


def _alive(layout: Layout, state: dict[str, Any]) -> bool:
    pids = state.get("pids", {})
    return bool(pids) and all(
        processes.is_running(pid, marker=_marker(name)) for name, pid in pids.items()
    )


def _read(layout: Layout) -> dict[str, Any]:
    path = _state_path(layout)
    return json.loads(path.read_text()) if path.exists() else {}


def _demo_token(layout: Layout) -> str:
    """A ServiceAccount token allowed to manage GitTasks in NAMESPACE, for REST calls."""
    manifests = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEMO_ACCOUNT}},
        _ROLE,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": DEMO_ACCOUNT},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": _ROLE["metadata"]["name"],
            },
            "subjects": [{"kind": "ServiceAccount", "name": DEMO_ACCOUNT, "namespace": NAMESPACE}],
        },
    ]
    _kubectl(
        layout,
        "apply",
        "-n",
        NAMESPACE,
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}),
    )
    return _kubectl(
        layout, "create", "token", DEMO_ACCOUNT, "-n", NAMESPACE, "--duration=24h"
    ).strip()


def _kubectl(layout: Layout, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(layout.bin_dir / "kubectl"), f"--kubeconfig={layout.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _wait_http(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{what} did not answer on {url}; see .cluster/logs/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hack.stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args(argv)
    layout = default_layout()
    if args.command == "up":
        env = up(layout)
        print(f"up: gateway at {env['GATEWAY_URL']}; `source .cluster/env` for the settings")
    else:
        down(layout)
        print("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
