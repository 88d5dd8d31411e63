"""What a checkout asks its environment to contain, and the content hash of that.

The requirements come from three optional files at the repository root: `environment.yml`
(channels, conda dependencies, a `pip:` list), `filter.conf` (its `[environment]` section)
and `requirements.txt`. The hash covers exactly what the build uses, so an unchanged hash
means the environment needs no work.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from condatask.filterconf import FILTER_CONF, parse_filter_conf

__all__ = ["DEFAULT_CHANNEL", "EnvironmentRequirements", "InvalidRequirements", "read_requirements"]

DEFAULT_CHANNEL = "conda-forge"
ENVIRONMENT_YML = ("environment.yml", "environment.yaml")
REQUIREMENTS_TXT = "requirements.txt"
# Bumped when the meaning of a build changes, so old environments are rebuilt.
_HASH_VERSION = 1
_PACKAGE_NAME = re.compile(r"^\s*([A-Za-z0-9_.-]+)")


class InvalidRequirements(ValueError):
    """The repository's environment files cannot be used."""


@dataclass(frozen=True)
class EnvironmentRequirements:
    """The conda and pip parts of an environment, in build order."""

    channels: tuple[str, ...]
    conda_specs: tuple[str, ...]
    pip_requirements: str

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(
            {
                "version": _HASH_VERSION,
                "channels": self.channels,
                "conda": self.conda_specs,
                "pip": self.pip_requirements,
            },
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def read_requirements(
    source: Path,
    *,
    extra_channels: tuple[str, ...] = (),
    override_channels: bool = False,
) -> EnvironmentRequirements:
    """Collect the requirements recorded in the checkout at `source`.

    `extra_channels` (from the command line, e.g. a cluster's mirror) come first; with
    `override_channels` they replace the repository's channels, as in conda.
    """
    yml_channels, yml_specs, yml_pip = _read_environment_yml(source)
    conf = _read_filter_conf(source)
    repo_channels = (*yml_channels, *conf.channels)
    channels = extra_channels if override_channels else (*extra_channels, *repo_channels)
    specs = (*yml_specs, *conf.packages)
    if conf.python is not None:
        specs = (f"python={conf.python}", *specs)
    if "python" not in {_package_name(spec) for spec in specs}:
        specs = ("python", *specs)
    return EnvironmentRequirements(
        channels=_unique(channels) or (DEFAULT_CHANNEL,),
        conda_specs=_unique(specs),
        pip_requirements=_pip_text(source, yml_pip),
    )


def _read_environment_yml(source: Path) -> tuple[list[str], list[str], list[str]]:
    path = next((source / name for name in ENVIRONMENT_YML if (source / name).is_file()), None)
    if path is None:
        return [], [], []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise InvalidRequirements(f"{path.name} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise InvalidRequirements(f"{path.name} must be a mapping.")
    channels = [str(channel) for channel in document.get("channels") or []]
    specs: list[str] = []
    pip: list[str] = []
    for dependency in document.get("dependencies") or []:
        if isinstance(dependency, dict) and "pip" in dependency:
            pip.extend(str(item) for item in dependency["pip"] or [])
        elif isinstance(dependency, str | int | float):
            specs.append(str(dependency))
        else:
            raise InvalidRequirements(f"{path.name} has an unsupported dependency: {dependency!r}")
    return channels, specs, pip


@dataclass(frozen=True)
class _ConfEnvironment:
    python: str | None
    channels: tuple[str, ...]
    packages: tuple[str, ...]


def _read_filter_conf(source: Path) -> _ConfEnvironment:
    path = source / FILTER_CONF
    if not path.is_file():
        return _ConfEnvironment(None, (), ())
    section = parse_filter_conf(path.read_text(encoding="utf-8")).environment
    return _ConfEnvironment(section.python, section.channels, section.packages)


def _pip_text(source: Path, yml_pip: list[str]) -> str:
    lines = list(yml_pip)
    path = source / REQUIREMENTS_TXT
    if path.is_file():
        lines.append(path.read_text(encoding="utf-8"))
    return "\n".join(line.rstrip("\n") for line in lines if line.strip())


def _package_name(spec: str) -> str:
    match = _PACKAGE_NAME.match(spec.split("::")[-1])
    return match.group(1).lower() if match else ""


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
