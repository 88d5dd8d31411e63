"""The test git server speaks real smart HTTP: clone, fetch, ls-remote and push."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hack.git_server import GitServer
from tests.support.runner_steps import run_git


def test_clone_fetch_and_push_over_http(git_server: GitServer, tmp_path: Path) -> None:
    url = git_server.create_repository("demo", {"README.md": "hello\n"})
    clone = tmp_path / "clone"
    run_git("clone", "--quiet", "--", url, str(clone))
    assert (clone / "README.md").read_text() == "hello\n"

    # A commit made through the API (clone + HTTP push) shows up on fetch.
    sha = git_server.commit("demo", {"new.txt": "new\n"}, ["README.md"], message="Second")
    run_git("fetch", "--quiet", "origin", cwd=clone)
    assert run_git("rev-parse", "origin/main", cwd=clone) == sha
    assert run_git("ls-remote", "--", url, "refs/heads/main").split()[0] == sha

    # A push from an ordinary clone lands in the bare repository.
    (clone / "pushed.txt").write_text("pushed\n")
    run_git("checkout", "--quiet", "origin/main", cwd=clone)
    run_git("add", "pushed.txt", cwd=clone)
    run_git(
        "commit",
        "--quiet",
        "-m",
        "Pushed",
        cwd=clone,
        extra=["-c", "user.name=t", "-c", "user.email=t@t"],
    )
    run_git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=clone)
    assert git_server.head("demo") == run_git("rev-parse", "HEAD", cwd=clone)


def test_large_push_streams(git_server: GitServer) -> None:
    git_server.create_repository("big", {"a.txt": "a\n"})
    # Several MB makes git send the pack with chunked transfer encoding.
    blob = "".join(
        f"{index:08d} some text that does not compress away\n" for index in range(120_000)
    )
    sha = git_server.commit("big", {"big.txt": blob})
    assert git_server.head("big") == sha


def test_basic_auth_is_enforced(authenticated_git_server: GitServer) -> None:
    url = authenticated_git_server.create_repository("private", {"a.txt": "a\n"})
    with pytest.raises(subprocess.CalledProcessError) as refused:
        run_git("ls-remote", "--", url)
    assert "could not read Username" in refused.value.stderr
    header = authenticated_git_server.auth_header()
    assert header is not None
    out = run_git("ls-remote", "--", url, extra=["-c", f"http.extraHeader={header}"])
    assert "refs/heads/main" in out
