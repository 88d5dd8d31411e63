"""Unit tests for the shared git safety rules (URLs, branches, git environment, SSH keys)."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

import pytest

from condatask.gitsafety import (
    InvalidBranch,
    InvalidRepositoryURL,
    SshKey,
    authenticated_git_environment,
    build_ssh_command,
    git_environment,
    is_ssh_url,
    redact_url,
    ssh_key_command,
    validate_branch,
    validate_repo_url,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "http://127.0.0.1:8080/repo.git",
        "ssh://git@github.com/org/repo.git",
        "git@github.com:org/repo.git",
        "http://[::1]:9000/repo.git",
    ],
)
def test_accepts_network_urls(url: str) -> None:
    assert validate_repo_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ext::sh -c touch% /tmp/pwned",
        "ext::sh",
        "fd::17",
        "--upload-pack=touch /tmp/x",
        "-oProxyCommand=touch /tmp/x",
        "file:///etc",
        "/etc/passwd",
        "../repo",
        "https://user:pass@host/x",
        "https://token@example.com/x.git",  # a token passed as the user name
        "https://host/x y",
        "https://host/x\n",
        "https://host/x\x00",
        "ssh://-oProxyCommand=x/repo",
        "git@-oProxyCommand=x:repo",
        "ftp://host/x",
        "https:///nohost",
        "http://host:notaport/x",
    ],
)
def test_rejects_hostile_urls(url: str) -> None:
    with pytest.raises(InvalidRepositoryURL):
        validate_repo_url(url)


def test_file_urls_only_when_allowed() -> None:
    assert validate_repo_url("file:///srv/repo.git", allow_file=True) == "file:///srv/repo.git"


def test_invalid_url_is_a_value_error_with_a_message() -> None:
    with pytest.raises(ValueError, match="password"):
        validate_repo_url("https://user:pass@host/x")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@host/x.git", "https://host/x.git"),
        ("https://token@host:8443/x", "https://host:8443/x"),
        ("https://host/x", "https://host/x"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("name", ["main", "feature/x", "release-1.2", "v1", "a.b/c_d"])
def test_accepts_branches(name: str) -> None:
    assert validate_branch(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-f",
        "--upload-pack=x",
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\b",
        "a@{1}",
        "@",
        "/a",
        "a/",
        "a//b",
        "a.",
        ".hidden",
        "x/.y",
        "x.lock",
        "a\x7fb",
    ],
)
def test_rejects_bad_branches(name: str) -> None:
    with pytest.raises(InvalidBranch):
        validate_branch(name)


def test_git_environment_is_locked_down() -> None:
    env = git_environment()
    assert env["GIT_ALLOW_PROTOCOL"] == "https:http:ssh"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert "GIT_CONFIG_COUNT" not in env


def test_git_environment_file_and_home() -> None:
    env = git_environment(allow_file=True, home="/tmp/h")
    assert env["GIT_ALLOW_PROTOCOL"].split(":")[-1] == "file"
    assert env["HOME"] == "/tmp/h"


def test_auth_header_travels_as_config_not_argv() -> None:
    env = git_environment(auth_header="Authorization: Basic dTpw\n")
    assert env["GIT_CONFIG_COUNT"] == "1"
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Basic dTpw"


def test_auth_header_must_be_one_line() -> None:
    with pytest.raises(ValueError, match="single line"):
        git_environment(auth_header="Authorization: x\r\nX-Evil: y")


@pytest.mark.parametrize(
    ("url", "ssh"),
    [
        ("ssh://git@host/team/x.git", True),
        ("SSH://git@host:2222/x.git", True),
        ("git@github.com:team/x.git", True),
        ("https://host/x.git", False),
        ("file:///srv/x.git", False),
    ],
)
def test_is_ssh_url(url: str, ssh: bool) -> None:
    assert is_ssh_url(url) is ssh


def test_ssh_command_trusts_only_the_given_key_and_hosts() -> None:
    command = build_ssh_command(identity_file="/k dir/id", known_hosts_file="/k dir/hosts")
    words = shlex.split(command)
    assert words[:3] == ["ssh", "-F", "/dev/null"]
    assert words[words.index("-i") + 1] == "/k dir/id"
    options = [words[i + 1] for i, word in enumerate(words) if word == "-o"]
    assert options == [
        "IdentitiesOnly=yes",
        "UserKnownHostsFile=/k dir/hosts",
        "GlobalKnownHostsFile=/dev/null",
        "StrictHostKeyChecking=yes",
        "BatchMode=yes",
    ]


def test_an_ssh_key_is_on_disk_privately_and_only_inside_the_block() -> None:
    key = SshKey(identity="-----BEGIN KEY-----\r\nabc\r\n-----END KEY-----", known_hosts="h k")
    with ssh_key_command(key) as command:
        words = shlex.split(command)
        identity = Path(words[words.index("-i") + 1])
        folder = identity.parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(identity.stat().st_mode) == 0o600
        assert identity.read_text() == "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"
        assert (folder / "known_hosts").read_text() == "h k\n"
    assert not folder.exists()
    assert "BEGIN KEY" not in repr(key)


def test_only_our_ssh_command_reaches_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -o ProxyCommand=evil")
    monkeypatch.setenv("GIT_SSH", "/tmp/evil")
    assert "GIT_SSH_COMMAND" not in git_environment()
    assert "GIT_SSH" not in git_environment()
    env = git_environment(ssh_command="ssh -F /dev/null")
    assert (env["GIT_SSH_COMMAND"], env["GIT_SSH_VARIANT"]) == ("ssh -F /dev/null", "ssh")


def test_authenticated_environment_for_each_kind_of_credentials() -> None:
    with authenticated_git_environment("Authorization: Basic dTpw") as env:
        assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Basic dTpw"
        assert "GIT_SSH_COMMAND" not in env
    with authenticated_git_environment(SshKey(identity="k", known_hosts="h")) as env:
        assert "UserKnownHostsFile=" in env["GIT_SSH_COMMAND"]
        assert "GIT_CONFIG_COUNT" not in env
