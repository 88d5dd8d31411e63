"""The `run` step: the task's command, in the checkout, inside the conda environment.

The runner replaces itself with the command (exec), so the command's exit code is the
container's exit code and signals from the kubelet reach the command directly.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from condatask_runner.errors import StepFailed

__all__ = ["EnvironmentMissing", "command_environment", "exec_command", "parse_command"]

# The shell's exit codes for "not found" and "not executable"; scripts and admins know them.
COMMAND_NOT_FOUND = 127
COMMAND_NOT_EXECUTABLE = 126


class EnvironmentMissing(StepFailed):
    """The named environment does not exist yet."""


def parse_command(*, command: str | None, argv: Sequence[str]) -> list[str]:
    """The command as argv, from `--command "..."` or from the words after `--`."""
    if command is not None and argv:
        raise ValueError("Give the command either with --command or after --, not both.")
    words = shlex.split(command) if command is not None else list(argv)
    if not words:
        raise ValueError("No command to run.")
    return words


def command_environment(prefix: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: ours) with the environment activated: its bin first on PATH."""
    env = dict(os.environ if base is None else base)
    # The runner may itself run from a virtualenv; that one must not leak into the task.
    for inherited in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "CONDA_PREFIX"):
        env.pop(inherited, None)
    bin_dir = str(prefix / "bin")
    env["PATH"] = os.pathsep.join([bin_dir, *_path_without(env.get("PATH", ""), bin_dir)])
    env["CONDA_PREFIX"] = str(prefix)
    env["CONDA_DEFAULT_ENV"] = prefix.name
    return env


def _path_without(path: str, entry: str) -> list[str]:
    return [item for item in path.split(os.pathsep) if item and item != entry]


def exec_command(*, prefix: Path, workdir: Path, argv: list[str]) -> NoReturn:
    """Replace this process with `argv` running in `workdir` inside environment `prefix`."""
    if not (prefix / "conda-meta").is_dir():
        raise EnvironmentMissing(
            f"Environment {prefix.name} does not exist at {prefix}; run the environment step."
        )
    env = command_environment(prefix)
    os.chdir(workdir)
    try:
        os.execvpe(argv[0], argv, env)  # noqa: S606 - argv is the task's own command.
    except FileNotFoundError:
        print(f"Command not found in environment {prefix.name}: {argv[0]}", file=sys.stderr)
        raise SystemExit(COMMAND_NOT_FOUND) from None
    except PermissionError:
        print(f"Command is not executable: {argv[0]}", file=sys.stderr)
        raise SystemExit(COMMAND_NOT_EXECUTABLE) from None
