"""Starting and stopping the control plane's processes, and picking free loopback ports.

Processes run in their own session so they outlive the command that started them (`make
cluster-up` returns). They are stopped by pid, and only when the pid still runs a command that
names this checkout's `.cluster` directory, so a reused pid is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"

# Popen objects of processes this interpreter started: waiting on them reaps the child, so a
# stopped component never lingers as a zombie of a long-lived caller such as pytest.
_children: dict[int, subprocess.Popen[bytes]] = {}


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out on 127.0.0.1, all held open together so they are distinct."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def spawn(command: list[str], *, log_file: Path, cwd: Path) -> int:
    """Start a detached process whose output goes to `log_file`; return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[process.pid] = process
    return process.pid


def is_running(pid: int, *, marker: str) -> bool:
    """Whether `pid` is alive (not a zombie) and its command line contains `marker`."""
    child = _children.get(pid)
    if child is not None:
        # Our own child cannot have its pid reused before we reap it, and right after exec its
        # /proc cmdline can still read empty, so ask the Popen instead.
        if child.poll() is None:
            return True
        del _children[pid]
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state letter follows the parenthesised command name, which may itself contain spaces.
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and marker.encode() in cmdline


def stop(pid: int, *, marker: str, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; returns once the process is gone."""
    if not is_running(pid, marker=marker):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, marker=marker, timeout=timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_gone(pid, marker=marker, timeout=10.0):
        raise RuntimeError(f"process {pid} survived SIGKILL")


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _wait_gone(pid: int, *, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid, marker=marker):
            return True
        time.sleep(0.1)
    return False
