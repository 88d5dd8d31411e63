"""Bring the test control plane up and down, and tell whether this checkout's one is healthy.

`.cluster/state.json` records the ports and pids of what `up` started; it is written as soon as a
process starts, so a failed `up` can always be undone by `down`.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hack.controlplane import commands, pki, processes
from hack.controlplane.binaries import build_all, link_tools
from hack.controlplane.kubeapi import AdminClient, etcd_healthy, write_kubeconfig
from hack.controlplane.layout import COMPONENTS, Layout, hold_lock

READY_TIMEOUT = 180.0


@dataclass
class ClusterStatus:
    """What `status` found: the recorded state, which components run, and /readyz."""

    server: str | None = None
    cluster_id: str | None = None
    running: dict[str, bool] = field(default_factory=dict)
    ready: bool = False

    @property
    def healthy(self) -> bool:
        return self.ready and len(self.running) == len(COMPONENTS) and all(self.running.values())


def status(layout: Layout) -> ClusterStatus:
    state = _read_state(layout)
    if state is None:
        return ClusterStatus()
    marker = str(layout.cluster_dir)
    running = {
        name: processes.is_running(pid, marker=marker) for name, pid in state["pids"].items()
    }
    keys = pki.Pki(layout.pki_dir)
    ready = False
    if all(running.values()) and keys.ca_cert.exists():
        ready = AdminClient(server=state["server"], pki=keys).ready()
    return ClusterStatus(
        server=state["server"], cluster_id=state["cluster_id"], running=running, ready=ready
    )


def up(layout: Layout) -> bool:
    """Start the control plane unless it is already healthy; True when this call started it."""
    with hold_lock(layout.lock_file):
        return _up(layout)


def down(layout: Layout) -> None:
    """Stop exactly the recorded processes, wait until their ports close, remove etcd data."""
    with hold_lock(layout.lock_file):
        _down(layout)


def _up(layout: Layout) -> bool:
    current = status(layout)
    if current.running and all(current.running.values()) and not current.ready:
        # All processes run but /readyz did not answer ok: on a loaded machine (a build beside
        # it) that is slowness, not death; give it time before replacing a working cluster.
        current = _await_ready(layout, timeout=60.0)
    if current.healthy:
        link_tools(layout)
        print(f"up: already running at {current.server}", flush=True)
        return False
    if current.server is not None:
        print("up: found a stale or unhealthy control plane; stopping it first", flush=True)
        _down(layout)

    build_all(layout)
    started = time.monotonic()
    try:
        _start(layout)
    except BaseException:
        _print_log_tails(layout)
        _down(layout)
        raise
    print(f"up: control plane ready in {time.monotonic() - started:.1f}s", flush=True)
    print(f"up: export KUBECONFIG={layout.kubeconfig}", flush=True)
    return True


def _await_ready(layout: Layout, *, timeout: float) -> ClusterStatus:
    deadline = time.monotonic() + timeout
    current = status(layout)
    while not current.healthy and time.monotonic() < deadline:
        time.sleep(1.0)
        current = status(layout)
    return current


def _down(layout: Layout) -> None:
    started = time.monotonic()
    state = _read_state(layout)
    if state is not None:
        marker = str(layout.cluster_dir)
        for name in reversed(COMPONENTS):
            pid = state["pids"].get(name)
            if pid is not None:
                processes.stop(pid, marker=marker)
        _wait_ports_closed(list(state["ports"].values()))
    for path in (layout.etcd_data_dir, layout.run_dir, layout.pki_dir):
        shutil.rmtree(path, ignore_errors=True)
    for path in (layout.state_file, layout.cluster_id_file, layout.kubeconfig):
        path.unlink(missing_ok=True)
    print(f"down: stopped in {time.monotonic() - started:.1f}s", flush=True)


def env_lines(layout: Layout) -> list[str]:
    """Shell lines that point kubectl and helm at the test control plane."""
    return [
        f"export KUBECONFIG={layout.kubeconfig}",
        f'export PATH="{layout.bin_dir}:$PATH"',
    ]


def _start(layout: Layout) -> None:
    shutil.rmtree(layout.log_dir, ignore_errors=True)
    for path in (layout.etcd_data_dir, layout.run_dir, layout.pki_dir):
        shutil.rmtree(path, ignore_errors=True)
    layout.etcd_data_dir.mkdir(parents=True, mode=0o700)

    keys = pki.generate(layout.pki_dir)
    ports = commands.Ports(*processes.free_ports(4))
    server = f"https://{processes.LOOPBACK}:{ports.apiserver}"
    state: dict[str, Any] = {
        "server": server,
        "cluster_id": secrets.token_hex(16),
        "ports": vars(ports),
        "pids": {},
    }
    write_kubeconfig(layout.kubeconfig, server=server, pki=keys, user="admin")
    write_kubeconfig(
        layout.pki_dir / "controller-manager.kubeconfig",
        server=server,
        pki=keys,
        user="controller-manager",
    )

    client = AdminClient(server=server, pki=keys)
    _launch(layout, state, "etcd", commands.etcd(layout, ports))
    _wait_for(layout, state, "etcd /health", lambda: etcd_healthy(ports.etcd_client))
    _launch(layout, state, "kube-apiserver", commands.apiserver(layout, ports, keys))
    _wait_for(layout, state, "kube-apiserver /readyz", client.ready)
    _launch(
        layout, state, "kube-controller-manager", commands.controller_manager(layout, ports, keys)
    )
    _wait_for(
        layout,
        state,
        "kube-controller-manager",
        lambda: processes.port_is_open(ports.controller_manager),
    )

    # The marker goes in last: a guard that finds it knows the whole control plane came up.
    client.write_marker(state["cluster_id"])
    layout.cluster_id_file.write_text(state["cluster_id"] + "\n")
    link_tools(layout)


def _launch(layout: Layout, state: dict[str, Any], name: str, command: list[str]) -> None:
    pid = processes.spawn(command, log_file=layout.log_dir / f"{name}.log", cwd=layout.cluster_dir)
    state["pids"][name] = pid
    _write_state(layout, state)


def _wait_for(layout: Layout, state: dict[str, Any], what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    marker = str(layout.cluster_dir)
    while time.monotonic() < deadline:
        if check():
            return
        for name, pid in state["pids"].items():
            if not processes.is_running(pid, marker=marker):
                raise RuntimeError(f"{name} exited; see {layout.log_dir / (name + '.log')}")
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {READY_TIMEOUT:.0f}s; logs in {layout.log_dir}")


def _wait_ports_closed(ports: list[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while any(processes.port_is_open(port) for port in ports):
        if time.monotonic() > deadline:
            raise RuntimeError(f"ports still open after stopping the control plane: {ports}")
        time.sleep(0.1)


def _read_state(layout: Layout) -> dict[str, Any] | None:
    if not layout.state_file.exists():
        return None
    data: dict[str, Any] = json.loads(layout.state_file.read_text())
    return data


def _write_state(layout: Layout, state: dict[str, Any]) -> None:
    scratch = layout.state_file.with_suffix(".tmp")
    scratch.write_text(json.dumps(state, indent=2) + "\n")
    scratch.replace(layout.state_file)


def _print_log_tails(layout: Layout, lines: int = 15) -> None:
    for log in sorted(layout.log_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- last lines of {log}:", *tail, sep="\n", flush=True)
