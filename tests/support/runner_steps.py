"""Helpers for tests that run the runner's steps and git as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

GIT_USERNAME = "task-user"
GIT_PASSWORD = "s3cret-password"


@dataclass(frozen=True)
class RunnerCommand:
    """Runs `condatask-runner` as a separate process, as a pod's container would."""

    environ: dict[str, str]

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "condatask_runner", *args]

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            env=self.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


# A task repository whose script needs a conda package and a pip package to run.
TASK_SCRIPT = """\
import sys

import condatask_greeting
import condatask_pip_hello

print(condatask_greeting.greet("world"), condatask_pip_hello.hello())
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""
TASK_FILES = {
    "main.py": TASK_SCRIPT,
    "requirements.txt": "condatask-pip-hello\n",
    "filter.conf": "[environment]\npackages = condatask-greeting\n",
}


@dataclass(frozen=True)
class TaskRepository:
    url: str
    commit: str


def check_output(result: subprocess.CompletedProcess[str], *, code: int = 0) -> str:
    """`result`'s stdout, after asserting its exit code (with stderr in the message)."""
    assert result.returncode == code, f"exit {result.returncode}: {result.stderr}"
    return result.stdout


def run_git(*args: str, cwd: Path | None = None, extra: Sequence[str] = ()) -> str:
    """Plain git, isolated from the machine's configuration, for assertions in tests."""
    environ = dict(
        os.environ,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
    )
    result = subprocess.run(
        ["git", *extra, *args], cwd=cwd, env=environ, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()
