"""The `checkout` step against the real HTTP git server, and its refusal of hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from hack.git_server import GitServer
from tests.support.runner_steps import (
    GIT_PASSWORD,
    GIT_USERNAME,
    RunnerCommand,
    TaskRepository,
    check_output,
    run_git,
)


def checkout_args(url: str, commit: str, dest: Path, branch: str = "main") -> list[str]:
    # "--flag=value", as the operator emits it: a value starting with "-" stays a value.
    return [
        "checkout",
        f"--repo-url={url}",
        f"--branch={branch}",
        f"--commit={commit}",
        f"--dest={dest}",
    ]


def test_checks_out_the_recorded_commit_not_the_head(
    runner: RunnerCommand, git_server: GitServer, task_repository: TaskRepository, tmp_path: Path
) -> None:
    git_server.commit("task", {"main.py": "print('newer')\n"}, message="Move on")
    dest = tmp_path / "workspace"

    output = check_output(runner(*checkout_args(task_repository.url, task_repository.commit, dest)))

    assert f"Checked out {task_repository.commit[:12]}" in output
    assert run_git("rev-parse", "HEAD", cwd=dest) == task_repository.commit
    assert "condatask_greeting" in (dest / "main.py").read_text()


def test_rerun_moves_an_existing_checkout(
    runner: RunnerCommand, git_server: GitServer, task_repository: TaskRepository, tmp_path: Path
) -> None:
    dest = tmp_path / "workspace"
    check_output(runner(*checkout_args(task_repository.url, task_repository.commit, dest)))
    newer = git_server.commit("task", {"added.txt": "x\n"}, message="Add a file")

    check_output(runner(*checkout_args(task_repository.url, newer, dest)))

    assert run_git("rev-parse", "HEAD", cwd=dest) == newer
    assert (dest / "added.txt").exists()


def test_commit_not_on_the_branch_fails_clearly(
    runner: RunnerCommand, task_repository: TaskRepository, tmp_path: Path
) -> None:
    result = runner(*checkout_args(task_repository.url, "ab" * 20, tmp_path / "w"))

    check_output(result, code=1)
    assert "is not on branch main of the remote" in result.stderr


def test_unknown_branch_fails_clearly(
    runner: RunnerCommand, task_repository: TaskRepository, tmp_path: Path
) -> None:
    result = runner(
        *checkout_args(task_repository.url, task_repository.commit, tmp_path / "w", "nope")
    )

    check_output(result, code=1)
    assert "git fetch failed" in result.stderr


@pytest.mark.parametrize(
    ("url", "branch", "reason"),
    [
        ("ext::sh -c touch% {marker}", "main", "whitespace"),
        ("ext::touch {marker}", "main", "whitespace"),
        ("--upload-pack=touch {marker}", "main", "whitespace"),
        ("-oProxyCommand=touch%20{marker}", "main", "must not start with '-'"),
        ("file:///etc", "main", "file://"),
        ("https://user:pass@127.0.0.1/x.git", "main", "password"),
        ("http://127.0.0.1:9/x.git", "--upload-pack=touch {marker}", "Invalid branch"),
        ("http://127.0.0.1:9/x.git", "-f", "Invalid branch"),
    ],
)
def test_hostile_input_is_refused_before_git_runs(
    runner: RunnerCommand, tmp_path: Path, url: str, branch: str, reason: str
) -> None:
    marker = tmp_path / "pwned"
    dest = tmp_path / "w"
    result = runner(
        *checkout_args(url.format(marker=marker), "a" * 40, dest, branch.format(marker=marker))
    )

    check_output(result, code=2)
    assert reason in result.stderr
    assert not marker.exists()
    assert not dest.exists()


def test_credentials_come_from_a_header_file(
    runner: RunnerCommand, authenticated_git_server: GitServer, tmp_path: Path
) -> None:
    url = authenticated_git_server.create_repository("private", {"main.py": "print(1)\n"})
    commit = authenticated_git_server.head("private")
    header_file = tmp_path / "authorization"
    header_file.write_text(authenticated_git_server.auth_header() or "")  # "Authorization: Basic"
    dest = tmp_path / "w"

    refused = runner(*checkout_args(url, commit, dest))
    check_output(refused, code=1)

    result = runner(*checkout_args(url, commit, dest), "--auth-header-file", str(header_file))
    check_output(result)
    assert run_git("rev-parse", "HEAD", cwd=dest) == commit
    # Credentials must not be stored in the checkout's configuration or shown in output.
    config = (dest / ".git" / "config").read_text()
    assert GIT_PASSWORD not in config and GIT_USERNAME not in config
    assert GIT_PASSWORD not in result.stdout + result.stderr
