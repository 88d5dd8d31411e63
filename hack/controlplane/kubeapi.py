"""Kubeconfig files for the test apiserver, and the few stdlib HTTPS calls `up` needs.

`up` must not depend on kubectl or a Kubernetes client library to wait for readiness and write
the cluster marker, so these calls use urllib with the admin client certificate.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from hack.controlplane.pki import Pki

MARKER_NAMESPACE = "kube-system"
MARKER_NAME = "condatask-test-control-plane"


def write_kubeconfig(path: Path, *, server: str, pki: Pki, user: str) -> None:
    """A self-contained kubeconfig (certificates inline) for the client cert `user`."""
    # JSON is valid YAML, and every Kubernetes client reads it.
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "condatask-test",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": _b64(pki.ca_cert),
                },
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(pki.path(f"{user}.crt")),
                    "client-key-data": _b64(pki.path(f"{user}.key")),
                },
            }
        ],
        "contexts": [
            {"name": "condatask-test", "context": {"cluster": "condatask-test", "user": user}}
        ],
        "current-context": "condatask-test",
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(config, indent=2) + "\n")


class AdminClient:
    """Talks to the apiserver as the admin user; only what `up` and `status` need."""

    def __init__(self, *, server: str, pki: Pki) -> None:
        self._server = server
        self._context = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._context.load_cert_chain(str(pki.path("admin.crt")), str(pki.path("admin.key")))

    def ready(self) -> bool:
        try:
            status, body = self._request("GET", "/readyz")
        except (OSError, urllib.error.URLError):
            return False
        return status == 200 and body.strip() == b"ok"

    def write_marker(self, token: str) -> None:
        """Create the ConfigMap the test guard compares with `.cluster/cluster-id`."""
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": MARKER_NAME, "namespace": MARKER_NAMESPACE},
            "data": {"token": token},
        }
        path = f"/api/v1/namespaces/{MARKER_NAMESPACE}/configmaps"
        status, answer = self._request("POST", path, body=body)
        if status != 201:
            raise RuntimeError(f"creating the marker ConfigMap failed: {status} {answer[:300]!r}")

    def read_marker(self) -> str | None:
        path = f"/api/v1/namespaces/{MARKER_NAMESPACE}/configmaps/{MARKER_NAME}"
        status, answer = self._request("GET", path)
        if status != 200:
            return None
        data: dict[str, Any] = json.loads(answer)
        token = data.get("data", {}).get("token")
        return token if isinstance(token, str) else None

    def _request(
        self, method: str, path: str, *, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self._server + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=5) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def etcd_healthy(port: int) -> bool:
    """Whether etcd's /health on loopback says it serves (its port opens before it does)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(json.loads(response.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()
