"""The project's test control plane: etcd, kube-apiserver and kube-controller-manager on 127.0.0.1.

Binaries are built from their Go modules at pinned versions into a cache outside the repository
(`binaries`), started with generated certificates (`pki`, `processes`) and tracked in the
repository's `.cluster/` directory (`layout`, `cluster`), so that `down` stops exactly what `up`
started. `hack/cluster.py` is the command line; `tests/conftest.py` uses the same functions.
"""

from hack.controlplane.cluster import ClusterStatus, down, env_lines, status, up
from hack.controlplane.layout import Layout, default_layout

__all__ = ["ClusterStatus", "Layout", "default_layout", "down", "env_lines", "status", "up"]
