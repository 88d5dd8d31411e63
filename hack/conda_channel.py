"""A local conda channel and pip wheelhouse for tests and the demo, built with no network.

No public conda channel is reachable here, so the channel carries its own `python`: a
package that turns the environment into a venv of this machine's base interpreter (a
`bin/python` link and a `pyvenv.cfg`), which is all uv needs to install into it. Beside it
sits a small noarch package, and a wheelhouse holds one tiny pure-Python wheel.

The repodata is written here rather than with `rattler.index`, whose 0.28 release crashed
the interpreter at exit on this machine.

    python -m hack.conda_channel DIR
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import sysconfig
import tarfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "GREETING_PACKAGE",
    "PIP_HELLO_PACKAGE",
    "CondaPackage",
    "TestArtifacts",
    "build_all",
    "build_channel",
    "build_conda_package",
    "build_wheelhouse",
    "python_package",
    "write_repodata",
]

GREETING_PACKAGE = "condatask-greeting"
PIP_HELLO_PACKAGE = "condatask-pip-hello"
SUBDIRS = ("noarch", "linux-64")

_GREETING_SOURCE = '''"""A conda package from the test channel."""


def greet(name: str) -> str:
    return f"Hello from conda, {name}!"
'''
_PIP_HELLO_SOURCE = '''"""A wheel from the test wheelhouse."""


def hello() -> str:
    return "Hello from pip!"
'''


@dataclass(frozen=True)
class CondaPackage:
    """One `.tar.bz2` conda package: its metadata and payload."""

    name: str
    version: str
    subdir: str
    files: Mapping[str, str] = field(default_factory=dict)
    # Symbolic links in the payload: path inside the package -> target.
    links: Mapping[str, str] = field(default_factory=dict)
    depends: tuple[str, ...] = ()
    noarch: str | None = None
    build: str = "0"

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.tar.bz2"


@dataclass(frozen=True)
class TestArtifacts:
    """Where the channel and the wheelhouse were built."""

    # Not a test class, whatever its name says: pytest must not try to collect it.
    __test__ = False

    channel_path: Path
    wheelhouse: Path

    @property
    def channel_url(self) -> str:
        return self.channel_path.as_uri()


def python_package() -> CondaPackage:
    """A `python` package that makes the environment a venv of the base interpreter."""
    # sys._base_executable is the interpreter behind any venv we may be running in; the
    # project's .venv python would chain venvs, which uv and site do not support.
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    version = ".".join(str(part) for part in sys.version_info[:3])
    pyvenv = (
        f"home = {os.path.dirname(base)}\n"
        "include-system-site-packages = false\n"
        f"version = {version}\n"
    )
    short = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return CondaPackage(
        name="python",
        version=version,
        subdir=sysconfig_subdir(),
        files={"pyvenv.cfg": pyvenv, f"lib/{short}/site-packages/.keep": ""},
        links={"bin/python": base, "bin/python3": base, f"bin/{short}": base},
        build="0_condatask",
    )


def greeting_package(version: str = "1.0.0") -> CondaPackage:
    """A noarch: python package whose module the test scripts import."""
    return CondaPackage(
        name=GREETING_PACKAGE,
        version=version,
        subdir="noarch",
        files={"site-packages/condatask_greeting.py": _GREETING_SOURCE},
        depends=("python",),
        noarch="python",
        build="py_0",
    )


def sysconfig_subdir() -> str:
    """The conda subdir of this machine (only linux-64 is exercised)."""
    machine = sysconfig.get_platform().rsplit("-", 1)[-1]
    return {"x86_64": "linux-64", "aarch64": "linux-aarch64"}.get(machine, "linux-64")


def build_conda_package(package: CondaPackage, subdir_path: Path) -> Path:
    """Write `package` as a `.tar.bz2` into `subdir_path`; return its path."""
    subdir_path.mkdir(parents=True, exist_ok=True)
    target = subdir_path / package.filename
    with tarfile.open(target, "w:bz2") as archive:
        for path, text in sorted(package.files.items()):
            _add_bytes(archive, path, text.encode())
        for path, link in sorted(package.links.items()):
            _add_link(archive, path, link)
        for path, data in _info_files(package).items():
            _add_bytes(archive, path, data)
    return target


def _info_files(package: CondaPackage) -> dict[str, bytes]:
    index = {
        "name": package.name,
        "version": package.version,
        "build": package.build,
        "build_number": 0,
        "depends": list(package.depends),
        "subdir": package.subdir,
        "license": "MIT",
        "timestamp": _TIMESTAMP,
    }
    if package.noarch:
        index["noarch"] = package.noarch
    paths = [_path_entry(path, text.encode()) for path, text in sorted(package.files.items())]
    paths += [{"_path": path, "path_type": "softlink"} for path in sorted(package.links)]
    every_path = sorted([*package.files, *package.links])
    return {
        "info/index.json": json.dumps(index, indent=2).encode(),
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}, indent=2).encode(),
        "info/files": "".join(f"{path}\n" for path in every_path).encode(),
    }


def _path_entry(path: str, data: bytes) -> dict[str, object]:
    return {
        "_path": path,
        "path_type": "hardlink",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_in_bytes": len(data),
    }


# A fixed build time keeps packages byte-identical between builds of the channel.
_TIMESTAMP = 1_700_000_000_000


def _add_bytes(archive: tarfile.TarFile, path: str, data: bytes) -> None:
    info = tarfile.TarInfo(path)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = _TIMESTAMP // 1000
    archive.addfile(info, io.BytesIO(data))


def _add_link(archive: tarfile.TarFile, path: str, target: str) -> None:
    info = tarfile.TarInfo(path)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mtime = _TIMESTAMP // 1000
    archive.addfile(info)


def write_repodata(subdir_path: Path) -> Path:
    """Index every `.tar.bz2` in `subdir_path` into its `repodata.json`."""
    subdir = subdir_path.name
    packages = {
        archive.name: _repodata_record(archive, subdir)
        for archive in sorted(subdir_path.glob("*.tar.bz2"))
    }
    repodata = {
        "info": {"subdir": subdir},
        "packages": packages,
        "packages.conda": {},
        "removed": [],
        "repodata_version": 1,
    }
    target = subdir_path / "repodata.json"
    target.write_text(json.dumps(repodata, indent=2, sort_keys=True))
    return target


def _repodata_record(archive: Path, subdir: str) -> dict[str, object]:
    with tarfile.open(archive, "r:bz2") as tar:
        member = tar.extractfile("info/index.json")
        assert member is not None
        record: dict[str, object] = json.load(member)
    data = archive.read_bytes()
    record.update(
        subdir=subdir,
        md5=hashlib.md5(data).hexdigest(),  # noqa: S324 - conda's repodata format wants md5.
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    return record


def build_channel(directory: Path, packages: tuple[CondaPackage, ...] | None = None) -> Path:
    """Build a channel in `directory` with `packages` (default: python and the greeting)."""
    directory = directory.resolve()
    chosen = packages if packages is not None else (python_package(), greeting_package())
    for subdir in {*SUBDIRS, *(package.subdir for package in chosen)}:
        (directory / subdir).mkdir(parents=True, exist_ok=True)
    for package in chosen:
        build_conda_package(package, directory / package.subdir)
    for subdir_path in sorted(path for path in directory.iterdir() if path.is_dir()):
        write_repodata(subdir_path)
    return directory


def build_wheelhouse(directory: Path, version: str = "0.1.0") -> Path:
    """Write one pure-Python wheel, `condatask-pip-hello`, into `directory`."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    dist = f"condatask_pip_hello-{version}"
    files = {
        "condatask_pip_hello.py": _PIP_HELLO_SOURCE,
        f"{dist}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {PIP_HELLO_PACKAGE}\nVersion: {version}\n"
        ),
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: hack.conda_channel\n"
            "Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{path},{_record_hash(text.encode())}\n" for path, text in files.items())
    files[f"{dist}.dist-info/RECORD"] = record + f"{dist}.dist-info/RECORD,,\n"
    target = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, text in files.items():
            wheel.writestr(zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return directory


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def build_all(directory: Path) -> TestArtifacts:
    """Build `directory/channel` and `directory/wheelhouse`."""
    return TestArtifacts(
        channel_path=build_channel(directory / "channel"),
        wheelhouse=build_wheelhouse(directory / "wheelhouse"),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the local conda channel and wheelhouse.")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    started = time.monotonic()
    artifacts = build_all(args.directory)
    print(f"channel: {artifacts.channel_url}")
    print(f"wheelhouse: {artifacts.wheelhouse}")
    print(f"built in {time.monotonic() - started:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
