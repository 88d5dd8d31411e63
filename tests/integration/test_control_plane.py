"""Acceptance tests of the test control plane: behaviour only a real apiserver and controllers show.

Each test would fail against a fake API: server-side CRD schema validation, the CronJob and Job
controllers creating objects on their own, and garbage collection through owner references.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hack.controlplane import Layout
from hack.controlplane.guard import NotTheTestCluster, check_test_cluster
from hack.controlplane.processes import free_ports
from tests.support.kubectl import Kubectl, poll

pytestmark = pytest.mark.integration


@pytest.fixture
def widget_crd(kubectl: Kubectl) -> Iterator[tuple[str, str]]:
    """A throwaway namespaced CRD whose `spec.replicas` is an integer of at least 1."""
    # CRDs are cluster-scoped: a random group keeps runs and tests apart.
    group = f"t{secrets.token_hex(4)}.test.condatask.io"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["replicas"],
                                    "properties": {"replicas": {"type": "integer", "minimum": 1}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    kubectl.apply(crd)
    kubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=60s")
    # Established means served; kubectl's discovery may still lag a moment behind.
    poll(
        lambda: (
            True if kubectl("get", f"widgets.{group}", "-A", check=False).returncode == 0 else None
        ),
        timeout=30,
        interval=0.5,
        what=f"widgets.{group} in discovery",
    )
    yield group, f"{group}/v1"
    kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


def _widget(api_version: str, namespace: str, name: str, replicas: Any) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas},
    }


def test_server_rejects_an_object_that_violates_the_crd_schema(
    kubectl: Kubectl, namespace: str, widget_crd: tuple[str, str]
) -> None:
    group, api_version = widget_crd

    below_minimum = kubectl.apply(_widget(api_version, namespace, "too-few", 0), check=False)
    wrong_type = kubectl.apply(_widget(api_version, namespace, "not-a-number", "two"), check=False)
    valid = kubectl.apply(_widget(api_version, namespace, "fine", 2), check=False)

    assert below_minimum.returncode != 0
    assert "spec.replicas" in below_minimum.stderr
    assert "should be greater than or equal to 1" in below_minimum.stderr
    assert wrong_type.returncode != 0
    assert 'must be of type integer: "string"' in wrong_type.stderr
    # The control case: the same kind with a valid spec is accepted and stored.
    assert valid.returncode == 0, valid.stderr
    stored = kubectl.get_json(f"widgets.{group}", "fine", f"--namespace={namespace}")
    assert stored["spec"]["replicas"] == 2


def test_cronjob_controller_creates_a_job_and_the_job_controller_a_pod(
    kubectl: Kubectl, namespace: str
) -> None:
    kubectl.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "every-minute", "namespace": namespace},
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {"name": "main", "image": "busybox", "command": ["true"]}
                                ],
                            }
                        }
                    }
                },
            },
        }
    )

    def job_of_cronjob() -> dict[str, Any] | None:
        jobs = kubectl.get_json("jobs", f"--namespace={namespace}")["items"]
        owned = [j for j in jobs if _owner_names(j, kind="CronJob") == ["every-minute"]]
        return owned[0] if owned else None

    # The schedule fires on the next minute boundary, and the controller then syncs it.
    job = poll(job_of_cronjob, timeout=90, interval=2, what="a Job from the CronJob")
    job_name = job["metadata"]["name"]

    # No kubelet runs here, so the pod stays Pending; that it exists proves the job controller.
    def pod_of_job() -> dict[str, Any] | None:
        pods = kubectl.get_json("pods", f"--namespace={namespace}")["items"]
        owned = [p for p in pods if _owner_names(p, kind="Job") == [job_name]]
        return owned[0] if owned else None

    poll(pod_of_job, timeout=30, interval=1, what=f"a Pod from Job {job_name}")


@pytest.mark.parametrize("cascade", ["background", "foreground"])
def test_deleting_an_owner_garbage_collects_what_it_owns(
    kubectl: Kubectl, namespace: str, cascade: str
) -> None:
    _create_owner_and_owned(kubectl, namespace)

    kubectl("delete", "configmap", "owner", f"--namespace={namespace}", f"--cascade={cascade}")

    poll(
        lambda: True if not _configmap_exists(kubectl, namespace, "owned") else None,
        timeout=60,
        interval=0.5,
        what="the garbage collector to delete the owned ConfigMap",
    )


def test_orphan_deletion_keeps_what_the_owner_owned(kubectl: Kubectl, namespace: str) -> None:
    # The control case: the same objects survive when the delete asks to orphan them.
    _create_owner_and_owned(kubectl, namespace)

    kubectl("delete", "configmap", "owner", f"--namespace={namespace}", "--cascade=orphan")

    def orphaned() -> dict[str, Any] | None:
        found = kubectl.get_json("configmap", "owned", f"--namespace={namespace}")
        return None if found["metadata"].get("ownerReferences") else found

    owned = poll(
        orphaned,
        timeout=60,
        interval=0.5,
        what="the garbage collector to orphan the owned ConfigMap",
    )
    assert owned["data"] == {"role": "owned"}


def _create_owner_and_owned(kubectl: Kubectl, namespace: str) -> None:
    owner = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "owner", "namespace": namespace},
        "data": {"role": "owner"},
    }
    kubectl.apply(owner)
    uid: str = kubectl.get_json("configmap", "owner", f"--namespace={namespace}")["metadata"]["uid"]
    owned = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "owned",
            "namespace": namespace,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}
            ],
        },
        "data": {"role": "owned"},
    }
    kubectl.apply(owned)


def _configmap_exists(kubectl: Kubectl, namespace: str, name: str) -> bool:
    result = kubectl("get", "configmap", name, f"--namespace={namespace}", check=False)
    if result.returncode == 0:
        return True
    assert "NotFound" in result.stderr, result.stderr
    return False


def _owner_names(obj: dict[str, Any], *, kind: str) -> list[str]:
    references = obj["metadata"].get("ownerReferences", [])
    return [r["name"] for r in references if r["kind"] == kind and r.get("controller")]


def test_guard_refuses_a_kubeconfig_that_points_elsewhere(
    control_plane: Layout, tmp_path: Path
) -> None:
    config = json.loads(control_plane.kubeconfig.read_text())
    (other_port,) = free_ports(1)
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{other_port}"
    elsewhere = tmp_path / "kubeconfig"
    elsewhere.write_text(json.dumps(config))

    check_test_cluster(control_plane, kubeconfig=control_plane.kubeconfig)
    with pytest.raises(NotTheTestCluster, match="not the test control plane"):
        check_test_cluster(control_plane, kubeconfig=elsewhere)


def test_guard_refuses_a_cluster_without_this_checkouts_marker(
    control_plane: Layout, tmp_path: Path
) -> None:
    # The same server, but the record of another checkout: its token cannot match the marker.
    other = Layout(cache_dir=control_plane.cache_dir, cluster_dir=tmp_path / ".cluster")
    other.bin_dir.mkdir(parents=True)
    (other.bin_dir / "kubectl").symlink_to(control_plane.bin_dir / "kubectl")
    shutil.copy(control_plane.state_file, other.state_file)
    other.cluster_id_file.write_text(secrets.token_hex(16) + "\n")

    with pytest.raises(NotTheTestCluster, match="marker"):
        check_test_cluster(other, kubeconfig=control_plane.kubeconfig)
