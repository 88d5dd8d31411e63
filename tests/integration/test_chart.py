"""The Helm chart: it lints, renders, is accepted by the real API server, and grants enough.

The RBAC tests are the chart's contract with the code: each permission below is something the
operator or the gateway does. Removing a rule from a template fails a test here, both by
reading the rendered YAML and by asking the real authorizer (`kubectl auth can-i`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from condatask_api import settings as gateway_settings
from condatask_operator import config as operator_config
from hack.controlplane import Layout
from tests.support.kubectl import Kubectl, poll, unique_name

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "condatask"

# (API group, resource, verbs) the operator's ServiceAccount needs in every namespace;
# `resource@name` is a need for that one object (a rule with resourceNames may grant it).
OPERATOR_NEEDS: list[tuple[str, str, set[str]]] = [
    ("condatask.io", "gittasks", {"get", "list", "watch", "patch", "update", "create"}),
    ("condatask.io", "gittasks/status", {"get", "list", "watch", "patch", "update", "create"}),
    ("condatask.io", "condaenvironments", {"get", "list", "watch", "patch", "update", "create"}),
    ("condatask.io", "gittasks/finalizers", {"update"}),
    ("batch", "cronjobs", {"get", "list", "watch", "create", "patch", "update"}),
    ("batch", "jobs", {"get", "list", "watch"}),
    ("", "configmaps", {"create"}),
    ("", "configmaps@condatask-task-ids", {"get", "update"}),
    ("", "secrets", {"get"}),
    ("", "events", {"create", "patch"}),
    ("events.k8s.io", "events", {"create", "patch"}),
]
# What kopf needs cluster-wide, beyond the namespaced resources above.
OPERATOR_CLUSTER_NEEDS: list[tuple[str, str, set[str]]] = [
    ("apiextensions.k8s.io", "customresourcedefinitions", {"get", "list", "watch"}),
    ("", "namespaces", {"list", "watch"}),
]
GATEWAY_NEEDS: list[tuple[str, str, set[str]]] = [
    ("", "configmaps", {"create"}),
    ("", "configmaps@condatask-task-ids", {"get", "update"}),
]
EDITOR_NEEDS: list[tuple[str, str, set[str]]] = [
    ("condatask.io", "gittasks", {"get", "list", "watch", "create", "patch", "update", "delete"}),
]


class Helm:
    """The test control plane's helm, with its caches and configuration kept out of $HOME."""

    def __init__(self, *, binary: Path, home: Path) -> None:
        self.binary = binary
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"helm {' '.join(args)}: {result.stderr.strip()}"
        return result

    def template(self, release: str, namespace: str, *sets: str) -> list[dict[str, Any]]:
        args = ["template", release, str(CHART), f"--namespace={namespace}"]
        args += [f"--set={value}" for value in sets]
        return [doc for doc in yaml.safe_load_all(self(*args).stdout) if doc]


@pytest.fixture(scope="module")
def helm(control_plane: Layout, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(binary=control_plane.bin_dir / "helm", home=tmp_path_factory.mktemp("helm"))


def _find(manifests: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"expected one {kind} *{suffix}, found {len(found)}"
    return found[0]


def _uncovered(
    rules: list[dict[str, Any]], needs: list[tuple[str, str, set[str]]]
) -> list[tuple[str, str, set[str]]]:
    """The needs that no rule grants (every verb must be granted; `*` grants all)."""
    missing = []
    for group, need, verbs in needs:
        resource, _, name = need.partition("@")
        granted: set[str] = set()
        for rule in rules:
            names = rule.get("resourceNames") or []
            if (
                group in rule.get("apiGroups", [])
                and resource in rule.get("resources", [])
                and (not names or name in names)
            ):
                granted |= set(rule.get("verbs", []))
        if "*" not in granted and not verbs <= granted:
            missing.append((group, resource, verbs - granted))
    return missing


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}


# --- Lint and render (helm alone) ----------------------------------------------------------


def test_chart_lints(helm: Helm) -> None:
    helm("lint", "--strict", str(CHART))
    helm("lint", "--strict", str(CHART), "--set=gateway.auth=none,gateway.enabled=true")


def test_chart_crds_are_the_generated_ones() -> None:
    chart_copies = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    assert chart_copies == sorted(p.name for p in (REPO_ROOT / "crds").glob("*.yaml"))
    for name in chart_copies:
        assert (CHART / "crds" / name).read_text() == (REPO_ROOT / "crds" / name).read_text()


def test_defaults_render_every_part(helm: Helm) -> None:
    manifests = helm.template("rel", "tasks")
    kinds = sorted((m["kind"], m["metadata"]["name"]) for m in manifests)
    assert kinds == [
        ("ClusterRole", "rel-condatask-gittask-editor"),
        ("ClusterRole", "rel-condatask-operator"),
        ("ClusterRoleBinding", "rel-condatask-operator"),
        ("Deployment", "rel-condatask-gateway"),
        ("Deployment", "rel-condatask-operator"),
        ("PersistentVolumeClaim", "rel-condatask-environments"),
        ("Role", "rel-condatask-gateway"),
        ("RoleBinding", "rel-condatask-gateway"),
        ("Service", "rel-condatask-gateway"),
        ("ServiceAccount", "rel-condatask-gateway"),
        ("ServiceAccount", "rel-condatask-operator"),
    ]
    claim = _find(manifests, "PersistentVolumeClaim", "-environments")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "storageClassName" not in claim["spec"]


def test_operator_settings_are_what_the_operator_reads(helm: Helm) -> None:
    manifests = helm.template(
        "rel",
        "tasks",
        "operator.namespaces={team-a,team-b}",
        "operator.runnerEnv.UV_INDEX_URL=https://pypi.example/simple",
        "environments.existingClaim=shared-envs",
        "image.tag=1.2.3",
    )
    container = _find(manifests, "Deployment", "-operator")["spec"]["template"]["spec"][
        "containers"
    ][0]
    env = _env(container)
    known = {
        operator_config.ENV_PREFIX + name.upper() for name in operator_config.Settings.model_fields
    }
    assert {name for name in env if name.startswith("CONDATASK_")} <= known

    # The operator's own parser reads what the chart wrote.
    settings = operator_config.load(env)
    assert settings.runner_image == "condatask:1.2.3"
    assert settings.environments_claim == "shared-envs"
    assert settings.runner_env == {"UV_INDEX_URL": "https://pypi.example/simple"}
    assert settings.channels == ["conda-forge"]
    assert settings.namespaces == ["team-a", "team-b"]
    assert str(settings.cache_dir).startswith("/var/cache/condatask")
    assert container["args"][:1] == ["--liveness=http://0.0.0.0:8081/healthz"]
    assert {"--namespace=team-a", "--namespace=team-b"} <= set(container["args"])
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert not [m for m in manifests if m["kind"] == "PersistentVolumeClaim"]


def test_gateway_flags_are_what_the_gateway_parses(helm: Helm) -> None:
    manifests = helm.template("rel", "tasks", "gateway.namespace=team-a")
    container = _find(manifests, "Deployment", "-gateway")["spec"]["template"]["spec"][
        "containers"
    ][0]
    parsed = gateway_settings.parse(container["args"], env={})
    listen = (parsed.namespace, parsed.host, parsed.port)
    assert listen == ("team-a", "0.0.0.0", 8080)  # noqa: S104
    assert parsed.auth == "bearer"
    # The counter lives in the namespace the gateway serves, so its Role does too.
    assert _find(manifests, "Role", "-gateway")["metadata"]["namespace"] == "team-a"


def test_every_container_is_locked_down(helm: Helm) -> None:
    for deployment in (m for m in helm.template("rel", "tasks") if m["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 1000
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]
            assert container["livenessProbe"]


# --- RBAC, read from the rendered YAML -----------------------------------------------------


def test_operator_clusterrole_covers_what_the_operator_does(helm: Helm) -> None:
    manifests = helm.template("rel", "tasks")
    rules = _find(manifests, "ClusterRole", "-operator")["rules"]
    assert _uncovered(rules, OPERATOR_NEEDS + OPERATOR_CLUSTER_NEEDS) == []

    binding = _find(manifests, "ClusterRoleBinding", "-operator")
    operator_sa = _find(manifests, "ServiceAccount", "-operator")["metadata"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": operator_sa["name"], "namespace": "tasks"}
    ]


def test_gateway_and_editor_roles_grant_what_they_document(helm: Helm) -> None:
    manifests = helm.template("rel", "tasks")
    assert _uncovered(_find(manifests, "Role", "-gateway")["rules"], GATEWAY_NEEDS) == []
    editor = _find(manifests, "ClusterRole", "-gittask-editor")
    assert _uncovered(editor["rules"], EDITOR_NEEDS) == []
    # The gateway's own identity touches no GitTask in bearer mode: callers' tokens do.
    assert not [m for m in manifests if m["metadata"]["name"].endswith("-gateway-gittask-editor")]

    development = helm.template("rel", "tasks", "gateway.auth=none")
    binding = _find(development, "RoleBinding", "-gateway-gittask-editor")
    assert binding["roleRef"]["name"] == editor["metadata"]["name"]


# --- The real API server ---------------------------------------------------------------------


@pytest.fixture
def chart_crds(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", f"--filename={CHART / 'crds'}")
    kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/gittasks.condatask.io",
        "crd/condaenvironments.condatask.io",
    )


@pytest.mark.parametrize(
    "sets",
    [
        pytest.param((), id="defaults"),
        pytest.param(
            (
                "gateway.auth=none",
                "operator.namespaces={a,b}",
                "environments.storageClass=-",
                "environments.accessModes={ReadWriteOnce}",
                "imagePullSecrets[0].name=registry",
            ),
            id="alternatives",
        ),
    ],
)
def test_api_server_accepts_the_rendered_chart(
    helm: Helm, kubectl: Kubectl, namespace: str, chart_crds: None, sets: tuple[str, ...]
) -> None:
    # The restricted Pod Security Standard: the server warns about any pod template below it.
    kubectl(
        "label",
        f"namespace/{namespace}",
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/warn=restricted",
    )
    manifests = helm.template(unique_name("rel", max_length=20), namespace, *sets)
    result = kubectl(
        "apply",
        "--dry-run=server",
        "--filename=-",
        input=yaml.safe_dump_all(manifests),
    )
    applied = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(manifests), result.stdout
    assert "Warning" not in result.stderr, result.stderr


@pytest.fixture
def installed_rbac(helm: Helm, kubectl: Kubectl, namespace: str) -> Iterator[list[dict[str, Any]]]:
    """The chart's ServiceAccounts, roles and bindings, created for real, removed afterwards."""
    kinds = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    manifests = [
        m
        for m in helm.template(unique_name("rbac", max_length=20), namespace)
        if m["kind"] in kinds
    ]
    kubectl("apply", "--filename=-", input=yaml.safe_dump_all(manifests))
    # The authorizer learns of new roles and bindings from its informers, a moment later.
    accounts = _service_accounts(manifests, namespace)
    poll(
        lambda: (
            True
            if _can(kubectl, accounts["operator"], "get", "batch", "jobs", "elsewhere")
            and _can(
                kubectl, accounts["gateway"], "get", "", "configmaps@condatask-task-ids", namespace
            )
            else None
        ),
        timeout=30,
        interval=0.2,
        what="the chart's bindings to take effect",
    )
    yield manifests
    # Cluster-scoped objects outlive the namespace: delete them by name.
    for manifest in manifests:
        if manifest["kind"].startswith("Cluster"):
            kubectl("delete", manifest["kind"], manifest["metadata"]["name"], check=False)


def _service_accounts(manifests: list[dict[str, Any]], namespace: str) -> dict[str, str]:
    """The user names of the chart's ServiceAccounts, by component."""
    return {
        m["metadata"]["name"].rsplit("-", 1)[-1]: (
            f"system:serviceaccount:{namespace}:{m['metadata']['name']}"
        )
        for m in manifests
        if m["kind"] == "ServiceAccount"
    }


def _can(kubectl: Kubectl, user: str, verb: str, group: str, resource: str, namespace: str) -> bool:
    """Ask the authorizer itself, with no discovery in between (the CRDs need not exist).

    `resource` may be `kind/subresource` and may end in `@name` for one object.
    """
    resource, _, object_name = resource.partition("@")
    name, _, subresource = resource.partition("/")
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", "system:authenticated"],
            "resourceAttributes": {
                "namespace": namespace,
                "verb": verb,
                "group": group,
                "resource": name,
                "subresource": subresource,
                "name": object_name,
            },
        },
    }
    answer = kubectl("create", "--output=json", "--filename=-", input=json.dumps(review))
    allowed: bool = json.loads(answer.stdout)["status"].get("allowed", False)
    return allowed


def test_authorizer_grants_the_service_accounts_what_they_need(
    kubectl: Kubectl, namespace: str, installed_rbac: list[dict[str, Any]]
) -> None:
    accounts = _service_accounts(installed_rbac, namespace)
    operator, gateway = accounts["operator"], accounts["gateway"]
    # Tasks live in any namespace: ask about one the release is not in.
    elsewhere = "some-team"
    denied = [
        (verb, group, resource)
        for group, resource, verbs in OPERATOR_NEEDS + OPERATOR_CLUSTER_NEEDS
        for verb in sorted(verbs)
        if not _can(kubectl, operator, verb, group, resource, elsewhere)
    ]
    denied += [
        ("gateway", verb, resource)
        for group, resource, verbs in GATEWAY_NEEDS
        for verb in sorted(verbs)
        if not _can(kubectl, gateway, verb, group, resource, namespace)
    ]
    assert denied == [], f"denied: {denied}"

    # Least privilege: the gateway itself cannot touch GitTasks, nor the operator delete them.
    assert not _can(kubectl, gateway, "get", "condatask.io", "gittasks", namespace)
    assert not _can(kubectl, gateway, "get", "", "configmaps@condatask-task-ids", elsewhere)
    # Of ConfigMaps, only the task-id counter: no reading or rewriting anyone else's.
    for account, where in ((gateway, namespace), (operator, elsewhere)):
        assert not _can(kubectl, account, "get", "", "configmaps@app-settings", where)
        assert not _can(kubectl, account, "update", "", "configmaps@app-settings", where)
    assert not _can(kubectl, operator, "delete", "condatask.io", "gittasks", elsewhere)
    assert not _can(kubectl, operator, "list", "", "secrets", elsewhere)
