"""Fixtures shared by all test tiers; each group below wires one piece of test infrastructure.

The helpers behind them live in `hack/` (the control plane itself) and `tests/support/`; keep
this file to fixture wiring so that new groups (git server, operator process) slot in beside.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hack.controlplane import Layout, default_layout, down, up
from hack.controlplane.guard import check_test_cluster
from tests.support.kubectl import Kubectl, fresh_namespace

pytest_plugins = ["tests.support.fixtures", "tests.support.operator"]

# --- Test control plane (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1) ---------


@pytest.fixture(scope="session")
def control_plane() -> Iterator[Layout]:
    """The project's test control plane, started when not running and verified by the guard.

    Stopped at the end only when this session started it, so `make cluster-up` keeps a cluster
    warm across runs. KUBECONFIG points at it for the session, so any client that loads the
    default configuration reaches the test cluster and nothing else.
    """
    layout = default_layout()
    started = up(layout)
    try:
        check_test_cluster(layout, kubeconfig=layout.kubeconfig)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KUBECONFIG", str(layout.kubeconfig))
            yield layout
    finally:
        if started:
            down(layout)


@pytest.fixture(scope="session")
def kubeconfig(control_plane: Layout) -> Path:
    return control_plane.kubeconfig


@pytest.fixture(scope="session")
def kubectl(control_plane: Layout, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    return Kubectl(
        binary=control_plane.bin_dir / "kubectl",
        kubeconfig=control_plane.kubeconfig,
        cache_dir=tmp_path_factory.mktemp("kubectl-cache"),
    )


@pytest.fixture
def namespace(kubectl: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, ready for pods (its default ServiceAccount exists).

    The test operator does not watch these namespaces (see `task_namespace`), so tests that
    play the operator's part themselves are never raced by the real one.
    """
    with fresh_namespace(kubectl, f"t-{request.node.name}") as name:
        yield name
