"""Fixtures for real git servers, the local conda channel and the runner's commands.

Registered with `pytest_plugins = ["tests.support.fixtures"]`; none of them needs Kubernetes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hack.conda_channel import TestArtifacts, build_all
from hack.git_server import GitServer
from hack.ssh_git_server import SSHD, SshGitServer
from tests.support.runner_steps import (
    GIT_PASSWORD,
    GIT_USERNAME,
    TASK_FILES,
    RunnerCommand,
    TaskRepository,
)


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    """A smart-HTTP git server on 127.0.0.1, serving bare repositories under tmp_path."""
    with GitServer(tmp_path / "git-root") as server:
        yield server


@pytest.fixture
def authenticated_git_server(tmp_path: Path) -> Iterator[GitServer]:
    """A git server that wants HTTP basic auth (GIT_USERNAME / GIT_PASSWORD)."""
    with GitServer(
        tmp_path / "git-root-auth", username=GIT_USERNAME, password=GIT_PASSWORD
    ) as server:
        yield server


@pytest.fixture(scope="session")
def conda_test_artifacts(tmp_path_factory: pytest.TempPathFactory) -> TestArtifacts:
    """The local conda channel (python + condatask-greeting) and the pip wheelhouse."""
    return build_all(tmp_path_factory.mktemp("conda-artifacts"))


@pytest.fixture
def offline_pip_environ(conda_test_artifacts: TestArtifacts) -> dict[str, str]:
    """Our environment, with uv limited to the local wheelhouse (no package index)."""
    environ = dict(os.environ)
    environ.update(UV_NO_INDEX="1", UV_FIND_LINKS=str(conda_test_artifacts.wheelhouse))
    # uv must not think it installs into the project's virtualenv.
    environ.pop("VIRTUAL_ENV", None)
    return environ


@pytest.fixture
def runner(offline_pip_environ: dict[str, str]) -> RunnerCommand:
    """`condatask-runner` in a child process, with pip limited to the local wheelhouse."""
    return RunnerCommand(environ=offline_pip_environ)


@pytest.fixture
def task_repository(git_server: GitServer) -> TaskRepository:
    """A repository on the git server holding TASK_FILES on `main`, and its commit."""
    url = git_server.create_repository("task", TASK_FILES)
    return TaskRepository(url=url, commit=git_server.head("task"))


@pytest.fixture
def ssh_git_server(tmp_path: Path) -> Iterator[SshGitServer]:
    """An SSH git server (a private sshd, git-shell only) on 127.0.0.1.

    It serves bare repositories under tmp_path to one client key; its `identity` and
    `known_hosts` are what a task's credentials Secret holds.
    """
    if not Path(SSHD).exists():
        pytest.fail(f"{SSHD} is missing: install openssh-server (.ci/run does).")
    with SshGitServer(tmp_path / "ssh-root") as server:
        yield server
