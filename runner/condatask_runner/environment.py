"""The `environment` step: make a named conda environment match the checkout's requirements.

The conda part is solved and installed with py-rattler, the pip part with `uv pip install`
into the environment's own python. A marker holding the content hash is written only after
both parts succeed, so a matching marker means a complete environment and the step is a
no-op. A file lock per environment makes concurrent builds (two pods, one volume) wait for
each other instead of interleaving.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import filelock

from condatask_runner.errors import StepFailed
from condatask_runner.requirements import REQUIREMENTS_TXT, EnvironmentRequirements

__all__ = ["BuildResult", "EnvironmentBuildFailed", "ensure_environment", "environment_prefix"]

MARKER = Path("conda-meta") / "condatask.json"
Outcome = Literal["created", "updated", "unchanged", "kept"]


class EnvironmentBuildFailed(StepFailed):
    """The environment could not be built; the message says which part failed."""


@dataclass(frozen=True)
class BuildResult:
    outcome: Outcome
    prefix: Path
    content_hash: str
    seconds: float

    def summary(self, name: str) -> str:
        return (
            f"Environment {name} {self.outcome} at {self.prefix} "
            f"(requirements {self.content_hash[:12]}, {self.seconds:.1f}s)."
        )


def environment_prefix(envs_dir: Path, name: str) -> Path:
    """The prefix of environment `name`; the name must be a plain directory name."""
    if not name or name in {".", ".."} or "/" in name or name.startswith((".", "-")):
        raise ValueError(f"Invalid environment name {name!r}.")
    return envs_dir / name


def ensure_environment(
    *,
    name: str,
    envs_dir: Path,
    source: Path,
    requirements: EnvironmentRequirements,
    cache_dir: Path | None = None,
    keep_existing: bool = False,
) -> BuildResult:
    """Create or update environment `name` unless its recorded hash already matches.

    With `keep_existing`, an environment that was built before is left as it is (the task
    was updated with `update_env: false`); only a missing one is created.
    """
    started = time.monotonic()
    prefix = environment_prefix(envs_dir, name)
    wanted = requirements.content_hash
    recorded = recorded_hash(prefix)
    if recorded == wanted:
        return BuildResult("unchanged", prefix, wanted, time.monotonic() - started)
    if keep_existing and recorded is not None:
        return BuildResult("kept", prefix, recorded, time.monotonic() - started)

    envs_dir.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(envs_dir / f".{name}.lock"):
        # Another build may have finished while we waited for the lock.
        if recorded_hash(prefix) == wanted:
            return BuildResult("unchanged", prefix, wanted, time.monotonic() - started)
        outcome: Outcome = "updated" if (prefix / "conda-meta").is_dir() else "created"
        _build(prefix, source, requirements, cache_dir or envs_dir / ".cache")
        _write_marker(prefix, requirements)
    return BuildResult(outcome, prefix, wanted, time.monotonic() - started)


def recorded_hash(prefix: Path) -> str | None:
    """The content hash of the last successful build of `prefix`, if any."""
    try:
        recorded = json.loads((prefix / MARKER).read_text())
    except (OSError, ValueError):
        return None
    value = recorded.get("content_hash") if isinstance(recorded, dict) else None
    return value if isinstance(value, str) else None


def _build(
    prefix: Path, source: Path, requirements: EnvironmentRequirements, cache_dir: Path
) -> None:
    # An interrupted build must not keep the marker of the previous, different content.
    (prefix / MARKER).unlink(missing_ok=True)
    asyncio.run(_install_conda(prefix, requirements, cache_dir))
    if requirements.pip_requirements:
        _install_pip(prefix, source, requirements, cache_dir)


async def _install_conda(
    prefix: Path, requirements: EnvironmentRequirements, cache_dir: Path
) -> None:
    # Imported here: the common case, an unchanged environment, needs no solver.
    import rattler

    try:
        records = await rattler.solve(
            sources=list(requirements.channels),
            specs=list(requirements.conda_specs),
            gateway=rattler.Gateway(cache_dir=cache_dir / "repodata"),
            virtual_packages=rattler.VirtualPackage.detect(),
        )
        await rattler.install(
            records,
            target_prefix=prefix,
            cache_dir=cache_dir / "pkgs",
            show_progress=False,
        )
    except Exception as error:
        # rattler raises its own exception types per failure; all of them end this step.
        raise EnvironmentBuildFailed(f"The conda part failed: {error}") from error


def _install_pip(
    prefix: Path, source: Path, requirements: EnvironmentRequirements, cache_dir: Path
) -> None:
    # A pod's HOME may be unwritable; by default uv caches beside the environments instead.
    environ = {"UV_CACHE_DIR": str(cache_dir / "uv"), **os.environ}
    environ.pop("VIRTUAL_ENV", None)
    with tempfile.TemporaryDirectory(prefix="condatask-pip-") as scratch:
        requirements_file = _requirements_file(source, Path(scratch), requirements)
        command = [
            uv_binary(),
            "pip",
            "install",
            "--python",
            str(prefix / "bin" / "python"),
            "--requirement",
            str(requirements_file),
        ]
        # cwd = the checkout, so relative paths in requirements.txt mean what they say.
        result = subprocess.run(
            command, cwd=source, env=environ, capture_output=True, text=True, check=False
        )
    if result.returncode != 0:
        raise EnvironmentBuildFailed(f"The pip part failed: {result.stderr.strip()}")


def _requirements_file(source: Path, scratch: Path, requirements: EnvironmentRequirements) -> Path:
    # Use the repository's own file when it is the whole pip part, so nested "-r other.txt"
    # lines resolve next to it; otherwise write the combined list.
    own = source / REQUIREMENTS_TXT
    if own.is_file() and own.read_text(encoding="utf-8").strip() == requirements.pip_requirements:
        return own
    combined = scratch / REQUIREMENTS_TXT
    combined.write_text(requirements.pip_requirements + "\n", encoding="utf-8")
    return combined


def uv_binary() -> str:
    """The uv executable: $UV if set, else the one installed with this package."""
    override = os.environ.get("UV")
    if override:
        return override
    import uv

    return uv.find_uv_bin()


def _write_marker(prefix: Path, requirements: EnvironmentRequirements) -> None:
    record = {
        "content_hash": requirements.content_hash,
        "channels": list(requirements.channels),
        "conda_specs": list(requirements.conda_specs),
        "pip_requirements": requirements.pip_requirements,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # Write then rename, so a reader never sees half a marker.
    temporary = prefix / MARKER.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2))
    temporary.replace(prefix / MARKER)
