"""The check that a kubeconfig points at this checkout's test control plane and nothing else.

Integration tests create and delete namespaces and CRDs; run against a real cluster by mistake
they would do damage. Two proofs are required: the kubeconfig's current server is the loopback
port `up` recorded, and the marker ConfigMap on that server holds the token `up` wrote to
`.cluster/cluster-id`. A cluster someone else runs cannot have both.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hack.controlplane.kubeapi import MARKER_NAME, MARKER_NAMESPACE
from hack.controlplane.layout import Layout
from hack.controlplane.processes import LOOPBACK


class NotTheTestCluster(RuntimeError):
    """The kubeconfig may point at a cluster that is not the project's test control plane."""


def check_test_cluster(layout: Layout, *, kubeconfig: Path) -> None:
    """Raise `NotTheTestCluster` unless `kubeconfig` reaches this checkout's control plane."""
    if not layout.state_file.exists() or not layout.cluster_id_file.exists():
        raise NotTheTestCluster(f"no test control plane recorded in {layout.cluster_dir}")
    state = json.loads(layout.state_file.read_text())
    expected_server = f"https://{LOOPBACK}:{state['ports']['apiserver']}"

    # Ask kubectl, so the answer honours current-context exactly as every client will.
    server = _kubectl(
        layout,
        kubeconfig,
        "config",
        "view",
        "--minify",
        "--output=jsonpath={.clusters[0].cluster.server}",
    )
    if server != expected_server:
        raise NotTheTestCluster(
            f"{kubeconfig} points at {server!r}, not the test control plane {expected_server}"
        )

    token = _kubectl(
        layout,
        kubeconfig,
        "get",
        "configmap",
        f"--namespace={MARKER_NAMESPACE}",
        MARKER_NAME,
        "--output=jsonpath={.data.token}",
    )
    if token != layout.cluster_id_file.read_text().strip():
        raise NotTheTestCluster(f"the cluster at {server} does not carry this checkout's marker")


def _kubectl(layout: Layout, kubeconfig: Path, *args: str) -> str:
    result = subprocess.run(
        [str(layout.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise NotTheTestCluster(f"kubectl {args[0]} failed: {result.stderr.strip()}")
    return result.stdout.strip()
