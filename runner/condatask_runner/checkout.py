"""The `checkout` step: put exactly the recorded commit of a task's branch into a directory.

The URL, branch and commit are validated before git runs, every git call gets the locked-down
environment from `condatask.gitsafety`, untrusted text only ever follows `--` or sits inside
a refspec we build, and credentials travel as an HTTP header in git's environment, or (for
SSH) as a key and known hosts copied to a private folder that lives only as long as git runs.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from condatask.gitsafety import (
    SSH_IDENTITY,
    SSH_KNOWN_HOSTS,
    Credentials,
    SshKey,
    authenticated_git_environment,
    basic_auth_header,
    is_ssh_url,
    redact_url,
    validate_branch,
    validate_repo_url,
)
from condatask_runner.errors import StepFailed

__all__ = [
    "CheckoutFailed",
    "CheckoutResult",
    "InvalidCredentials",
    "checkout",
    "read_auth_header",
    "read_credentials_dir",
    "validate_commit",
]

_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


class CheckoutFailed(StepFailed):
    """Git could not produce the recorded commit; the message is safe to show."""


class InvalidCommit(ValueError):
    """A commit id that is not a hexadecimal object name."""


class InvalidCredentials(ValueError):
    """Credentials that cannot be used for the repository URL (retrying cannot help)."""


@dataclass(frozen=True)
class CheckoutResult:
    commit: str
    dest: Path

    def summary(self, *, repo_url: str, branch: str) -> str:
        return (
            f"Checked out {self.commit[:12]} of {redact_url(repo_url)} "
            f"(branch {branch}) into {self.dest}."
        )


def validate_commit(commit: str) -> str:
    if not _COMMIT.match(commit):
        raise InvalidCommit(f"Invalid commit {commit!r}: expected a hexadecimal commit id.")
    return commit


def read_auth_header(path: Path) -> str:
    """The HTTP header line from a mounted Secret file holding an Authorization value."""
    value = path.read_text(encoding="utf-8").strip()
    if value.lower().startswith("authorization:"):
        return value
    return f"Authorization: {value}"


def read_credentials_dir(path: Path) -> Credentials:
    """The credentials in a mounted Secret folder.

    Files `identity` and `known_hosts` make an SSH key; otherwise `password` (and optionally
    `username`) make the HTTP header.
    """
    if (path / SSH_IDENTITY).exists():
        known_hosts = path / SSH_KNOWN_HOSTS
        if not known_hosts.exists():
            raise InvalidCredentials(
                f"{path} has '{SSH_IDENTITY}' but no '{SSH_KNOWN_HOSTS}': SSH needs the "
                "server's host key (hosts are never trusted on first use)."
            )
        return SshKey(
            identity=(path / SSH_IDENTITY).read_text(encoding="utf-8"),
            known_hosts=known_hosts.read_text(encoding="utf-8"),
        )
    username = path / "username"
    return basic_auth_header(
        username.read_text(encoding="utf-8").strip() if username.exists() else "",
        (path / "password").read_text(encoding="utf-8").strip(),
    )


def checkout(
    *,
    repo_url: str,
    branch: str,
    commit: str,
    dest: Path,
    credentials: Credentials | None = None,
    allow_file: bool = False,
) -> CheckoutResult:
    """Fetch `branch` from `repo_url` into `dest` and check out `commit` (detached).

    `credentials` is an HTTP Authorization header value or an SSH key; an SSH URL needs one.
    """
    validate_repo_url(repo_url, allow_file=allow_file)
    validate_branch(branch)
    validate_commit(commit)
    if is_ssh_url(repo_url) and not isinstance(credentials, SshKey):
        # Without our key and known hosts ssh would trust whatever the machine trusts.
        raise InvalidCredentials(
            f"An SSH repository URL needs credentials with '{SSH_IDENTITY}' and "
            f"'{SSH_KNOWN_HOSTS}' (--credentials-dir)."
        )

    with (
        tempfile.TemporaryDirectory(prefix="condatask-git-home-") as home,
        # An empty HOME keeps the machine's git config (insteadOf, helpers) out of the pod step.
        authenticated_git_environment(credentials, allow_file=allow_file, home=home) as env,
    ):
        repo = _open_or_init(dest, env)
        try:
            _set_origin(repo, repo_url)
            remote_ref = _fetch_branch(repo, branch)
            resolved = _verify_commit(repo, commit, remote_ref, branch)
            repo.git.checkout("--quiet", "--force", "--detach", resolved)
        except git.GitCommandError as error:
            raise CheckoutFailed(_git_failure(error, repo_url)) from error
    return CheckoutResult(commit=resolved, dest=dest)


def _open_or_init(dest: Path, env: dict[str, str]) -> git.Repo:
    # Re-running on a laptop reuses the previous checkout; anything else in dest is refused.
    if (dest / ".git").is_dir():
        repo = git.Repo(dest)
    elif dest.exists() and any(dest.iterdir()):
        raise CheckoutFailed(f"{dest} exists, is not empty and is not a git checkout.")
    else:
        dest.mkdir(parents=True, exist_ok=True)
        repo = git.Repo.init(dest)
    repo.git.update_environment(**env)
    return repo


def _set_origin(repo: git.Repo, repo_url: str) -> None:
    if "origin" in [remote.name for remote in repo.remotes]:
        repo.git.remote("set-url", "--", "origin", repo_url)
    else:
        repo.git.remote("add", "--", "origin", repo_url)


def _fetch_branch(repo: git.Repo, branch: str) -> str:
    remote_ref = f"refs/remotes/origin/{branch}"
    repo.git.fetch("--quiet", "--no-tags", "--", "origin", f"+refs/heads/{branch}:{remote_ref}")
    return remote_ref


def _verify_commit(repo: git.Repo, commit: str, remote_ref: str, branch: str) -> str:
    # The commit must be in the branch's history, not merely somewhere in the object store.
    try:
        resolved = str(repo.git.rev_parse("--verify", "--quiet", f"{commit}^{{commit}}"))
        repo.git.merge_base("--is-ancestor", resolved, remote_ref)
    except git.GitCommandError as error:
        raise CheckoutFailed(f"Commit {commit} is not on branch {branch} of the remote.") from error
    return resolved


def _git_failure(error: git.GitCommandError, repo_url: str) -> str:
    # git's stderr can echo the URL; show it only without user-info.
    stderr = str(error.stderr or "").strip().replace(repo_url, redact_url(repo_url))
    return f"git {error.command[1] if len(error.command) > 1 else ''} failed: {stderr}"
