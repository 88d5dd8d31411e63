"""Pinned versions and where the control plane keeps its binaries, state, certificates and logs."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
# The k8s.io staging modules are published as v0.<minor>.<patch> of the same release.
STAGING_VERSION = "v0" + KUBERNETES_VERSION[2:]
# The etcd that kubeadm of this Kubernetes release deploys (DefaultEtcdVersion), so the pair is
# one upstream has tested together.
ETCD_VERSION = "v3.6.8"
HELM_VERSION = "v4.3.2"

REPO_ROOT = Path(__file__).resolve().parents[2]

# Names of the processes the control plane runs, in start order; `down` stops them in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager")


@dataclass(frozen=True)
class Layout:
    """Paths of one control plane: a build cache shared by clones, and a per-checkout state dir."""

    cache_dir: Path
    cluster_dir: Path

    @property
    def build_dir(self) -> Path:
        return self.cache_dir / "controlplane" / KUBERNETES_VERSION

    @property
    def cache_bin(self) -> Path:
        return self.build_dir / "bin"

    @property
    def src_dir(self) -> Path:
        return self.build_dir / "src"

    @property
    def bin_dir(self) -> Path:
        """Where kubectl and helm are linked for later work (`.cluster/bin`)."""
        return self.cluster_dir / "bin"

    @property
    def kubeconfig(self) -> Path:
        return self.cluster_dir / "kubeconfig"

    @property
    def lock_file(self) -> Path:
        return self.cluster_dir / "lock"

    @property
    def state_file(self) -> Path:
        return self.cluster_dir / "state.json"

    @property
    def cluster_id_file(self) -> Path:
        return self.cluster_dir / "cluster-id"

    @property
    def pki_dir(self) -> Path:
        return self.cluster_dir / "pki"

    @property
    def etcd_data_dir(self) -> Path:
        return self.cluster_dir / "etcd-data"

    @property
    def run_dir(self) -> Path:
        """Scratch directories the components may write to (their own cert dirs)."""
        return self.cluster_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.cluster_dir / "logs"

    def binary(self, name: str) -> Path:
        return self.cache_bin / name


def default_layout(*, repo_root: Path | None = None) -> Layout:
    """The layout of this checkout; CONDATASK_CACHE moves the build cache (default ~/.cache)."""
    root = repo_root or REPO_ROOT
    cache = os.environ.get("CONDATASK_CACHE") or str(Path.home() / ".cache" / "condatask")
    return Layout(cache_dir=Path(cache).expanduser().resolve(), cluster_dir=root / ".cluster")


@contextlib.contextmanager
def hold_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` while the block runs; others wait for it.

    Test sessions, `make cluster-up` and CI may start at the same time in one checkout (and
    builds in one cache); without the lock a second `up` would take the first one's half-started
    processes for a stale cluster and stop them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
