"""Running the test control plane's kubectl against the test kubeconfig, and polling it."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class Kubectl:
    """Calls `.cluster/bin/kubectl` with the test kubeconfig; returns the CompletedProcess."""

    def __init__(self, *, binary: Path, kubeconfig: Path, cache_dir: Path) -> None:
        self.binary = binary
        self.kubeconfig = kubeconfig
        # A discovery cache of our own: the user's ~/.kube/cache may describe another cluster.
        self.cache_dir = cache_dir

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        command = [
            str(self.binary),
            f"--kubeconfig={self.kubeconfig}",
            f"--cache-dir={self.cache_dir}",
            *args,
        ]
        result = subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
            )
        return result

    def apply(
        self, manifest: dict[str, Any], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self("apply", "--filename=-", input=json.dumps(manifest), check=check)

    def get_json(self, *args: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self("get", "--output=json", *args).stdout)
        return data


def poll(probe: Callable[[], T | None], *, timeout: float, interval: float = 1.0, what: str) -> T:
    """Call `probe` until it returns something other than None; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def unique_name(hint: str, *, max_length: int = 63) -> str:
    """A DNS-1123 label from `hint` plus a random suffix, so parallel runs never collide."""
    suffix = secrets.token_hex(3)
    stem = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")
    stem = stem[: max_length - len(suffix) - 1].rstrip("-")
    return f"{stem}-{suffix}" if stem else suffix


@contextlib.contextmanager
def fresh_namespace(kubectl: Kubectl, hint: str) -> Iterator[str]:
    """A new namespace named from `hint`, ready for pods (its default ServiceAccount exists)."""
    name = unique_name(hint)
    kubectl("create", "namespace", name)
    # The ServiceAccount admission plugin rejects pods until the serviceaccount controller has
    # created "default"; waiting here spares every test that creates workloads a flaky start.
    poll(
        lambda: (
            True
            if kubectl(
                "get", "serviceaccount", "default", f"--namespace={name}", check=False
            ).returncode
            == 0
            else None
        ),
        timeout=30,
        interval=0.2,
        what=f"the default ServiceAccount in namespace {name}",
    )
    try:
        yield name
    finally:
        # Namespace deletion finishes in the background (the namespace controller empties it).
        kubectl("delete", "namespace", name, "--wait=false", check=False)
