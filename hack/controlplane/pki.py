"""Certificates and keys of the test control plane: one CA, serving and client certs, SA keys.

Everything is generated fresh for each `up` and lives under `.cluster/pki`, so no key outlives
the cluster it was made for.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The first address of the service range; in-cluster clients reach the apiserver there.
SERVICE_CIDR = "10.0.0.0/24"
_KUBERNETES_SERVICE_IP = "10.0.0.1"
_VALIDITY = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Pki:
    """Paths of the files `generate` writes."""

    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def ca_cert(self) -> Path:
        return self.path("ca.crt")

    @property
    def ca_key(self) -> Path:
        return self.path("ca.key")


def generate(directory: Path) -> Pki:
    """Write the CA, apiserver serving cert, client certs and service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    pki = Pki(directory)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "condatask-test-ca")])
    ca_cert = (
        _builder(subject=ca_name, issuer=ca_name, public_key=ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(pki.ca_key, ca_key)
    pki.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    names = [
        x509.DNSName(dns)
        for dns in (
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        )
    ]
    ips = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", _KUBERNETES_SERVICE_IP)]
    _issue(
        pki,
        ca_cert=ca_cert,
        ca_key=ca_key,
        name="apiserver",
        common_name="kube-apiserver",
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        alt_names=[*names, *ips],
    )
    # system:masters is bound to cluster-admin: the tests' and developers' identity.
    _issue(
        pki,
        ca_cert=ca_cert,
        ca_key=ca_key,
        name="admin",
        common_name="condatask-admin",
        organization="system:masters",
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    # The controller-manager's bootstrap RBAC identity, as kubeadm sets it up; with
    # --use-service-account-credentials each controller then acts as its own service account.
    _issue(
        pki,
        ca_cert=ca_cert,
        ca_key=ca_key,
        name="controller-manager",
        common_name="system:kube-controller-manager",
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.path("sa.key"), sa_key)
    pki.path("sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def _issue(
    pki: Pki,
    *,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    name: str,
    common_name: str,
    usage: x509.ObjectIdentifier,
    organization: str | None = None,
    alt_names: list[x509.GeneralName] | None = None,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    builder = (
        _builder(subject=x509.Name(attributes), issuer=ca_cert.subject, public_key=key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(pki.path(f"{name}.key"), key)
    pki.path(f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _builder(
    *, subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Backdated a little so a clock step right after `up` does not make them not-yet-valid.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,  # every key here is ECDSA, which signs and never encrypts
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
