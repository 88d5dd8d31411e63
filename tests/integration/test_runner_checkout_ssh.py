"""The `checkout` step over SSH against a real sshd: the key and known hosts of a Secret folder.

Host keys are checked strictly (a host not in `known_hosts` is refused, never trusted on first
use) and the key is on disk, in a private folder, only while git runs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hack.ssh_git_server import SshGitServer
from tests.integration.test_runner_checkout import checkout_args
from tests.support.runner_steps import RunnerCommand, check_output, run_git


def _credentials(folder: Path, *, identity: str | None, known_hosts: str | None) -> Path:
    """A folder laid out as the kubelet projects the Secret (read-only files)."""
    folder.mkdir()
    for name, text in (("identity", identity), ("known_hosts", known_hosts)):
        if text is not None:
            (folder / name).write_text(text)
            (folder / name).chmod(0o400)
    return folder


@pytest.fixture
def private_tmp_runner(runner: RunnerCommand, tmp_path: Path) -> RunnerCommand:
    """The runner with its own TMPDIR, so a test can see what it leaves behind."""
    (tmp_path / "runner-tmp").mkdir()
    return RunnerCommand(environ={**runner.environ, "TMPDIR": str(tmp_path / "runner-tmp")})


def test_checks_out_over_ssh_with_the_key_and_known_hosts(
    private_tmp_runner: RunnerCommand, ssh_git_server: SshGitServer, tmp_path: Path
) -> None:
    url = ssh_git_server.create_repository("task", {"main.py": "print(1)\n"})
    first = ssh_git_server.head("task")
    newer = ssh_git_server.commit("task", {"main.py": "print(2)\n"})
    credentials = _credentials(
        tmp_path / "secret",
        identity=ssh_git_server.identity,
        known_hosts=ssh_git_server.known_hosts,
    )
    dest = tmp_path / "w"

    result = private_tmp_runner(
        *checkout_args(url, first, dest), f"--credentials-dir={credentials}"
    )

    output = check_output(result)
    assert f"Checked out {first[:12]}" in output
    assert run_git("rev-parse", "HEAD", cwd=dest) == first
    assert newer != first
    # The key reached ssh through a private copy that is gone once git is done.
    assert list((tmp_path / "runner-tmp").iterdir()) == []
    key_body = ssh_git_server.identity.splitlines()[1]
    assert key_body not in (dest / ".git" / "config").read_text()
    assert key_body not in result.stdout + result.stderr


def test_a_host_missing_from_known_hosts_is_refused(
    runner: RunnerCommand, ssh_git_server: SshGitServer, tmp_path: Path
) -> None:
    url = ssh_git_server.create_repository("task", {"main.py": "print(1)\n"})
    # A real host key, but not this server's.
    other = tmp_path / "other_host_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
        check=True,
        capture_output=True,
    )
    key_type, key = other.with_suffix(".pub").read_text().split()[:2]
    host = f"[{ssh_git_server.host}]:{ssh_git_server.port}"
    credentials = _credentials(
        tmp_path / "secret",
        identity=ssh_git_server.identity,
        known_hosts=f"{host} {key_type} {key}\n",
    )

    result = runner(
        *checkout_args(url, ssh_git_server.head("task"), tmp_path / "w"),
        f"--credentials-dir={credentials}",
    )

    check_output(result, code=1)
    assert "Host key verification failed" in result.stderr
    assert "git fetch failed" in result.stderr


def test_an_identity_without_known_hosts_is_refused_before_git_runs(
    runner: RunnerCommand, ssh_git_server: SshGitServer, tmp_path: Path
) -> None:
    url = ssh_git_server.create_repository("task", {"main.py": "print(1)\n"})
    credentials = _credentials(
        tmp_path / "secret", identity=ssh_git_server.identity, known_hosts=None
    )

    result = runner(
        *checkout_args(url, ssh_git_server.head("task"), tmp_path / "w"),
        f"--credentials-dir={credentials}",
    )

    check_output(result, code=2)
    assert "no 'known_hosts'" in result.stderr
    assert not (tmp_path / "w").exists()


def test_an_ssh_url_without_credentials_is_refused(
    runner: RunnerCommand, ssh_git_server: SshGitServer, tmp_path: Path
) -> None:
    url = ssh_git_server.create_repository("task", {"main.py": "print(1)\n"})

    result = runner(*checkout_args(url, ssh_git_server.head("task"), tmp_path / "w"))

    check_output(result, code=2)
    assert "needs credentials with 'identity' and 'known_hosts'" in result.stderr
