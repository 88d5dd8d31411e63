"""Command lines of etcd, kube-apiserver and kube-controller-manager, all bound to 127.0.0.1."""

from __future__ import annotations

from dataclasses import dataclass

from hack.controlplane.layout import Layout
from hack.controlplane.pki import SERVICE_CIDR, Pki
from hack.controlplane.processes import LOOPBACK


@dataclass(frozen=True)
class Ports:
    """The four listening ports of one control plane; nothing else is opened."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int


def etcd(layout: Layout, ports: Ports) -> list[str]:
    client = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer = f"http://{LOOPBACK}:{ports.etcd_peer}"
    return [
        str(layout.binary("etcd")),
        "--name=condatask",
        f"--data-dir={layout.etcd_data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=condatask={peer}",
        # Plain HTTP is acceptable only because it listens on loopback and holds throwaway data.
        # Skipping fsync is what envtest does too: a test cluster's data need not survive a crash,
        # and fsync dominates apiserver write latency on small VMs.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver(layout: Layout, ports: Ports, pki: Pki) -> list[str]:
    return [
        str(layout.binary("kube-apiserver")),
        f"--bind-address={LOOPBACK}",
        f"--advertise-address={LOOPBACK}",
        f"--secure-port={ports.apiserver}",
        f"--etcd-servers=http://{LOOPBACK}:{ports.etcd_client}",
        f"--cert-dir={layout.run_dir / 'kube-apiserver'}",
        f"--tls-cert-file={pki.path('apiserver.crt')}",
        f"--tls-private-key-file={pki.path('apiserver.key')}",
        f"--client-ca-file={pki.ca_cert}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.path('sa.pub')}",
        f"--service-account-signing-key-file={pki.path('sa.key')}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=RBAC",
        # The "kubernetes" Service may not point at a loopback address; with no pods running
        # here nothing needs its endpoints, so skip the reconciler instead of logging errors.
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def controller_manager(layout: Layout, ports: Ports, pki: Pki) -> list[str]:
    kubeconfig = layout.pki_dir / "controller-manager.kubeconfig"
    return [
        str(layout.binary("kube-controller-manager")),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={ports.controller_manager}",
        f"--cert-dir={layout.run_dir / 'kube-controller-manager'}",
        # One instance only: leader election would just add a lease round trip to every start.
        "--leader-elect=false",
        # Every default controller, cronjob, job, garbagecollector, namespace, serviceaccount and
        # serviceaccount-token among them; node and cloud ones idle without nodes.
        "--controllers=*",
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki.path('sa.key')}",
        f"--root-ca-file={pki.ca_cert}",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--profiling=false",
    ]
