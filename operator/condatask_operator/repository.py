"""Git inspection for the operator: one bare mirror per remote, fetched at most once at a time.

Every task on one repository shares one mirror, and a fetch newer than the caller's
`fresh_after` is reused, so many tasks polling one remote cost one fetch. Git runs in a
worker thread (the callers are async kopf handlers) and always with the environment of
`condatask.gitsafety`, after the URL and the branch have been validated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from pathlib import Path

import git

from condatask import gitsafety

logger = logging.getLogger(__name__)

CONFIG_FILES = ("requirements.txt", "filter.conf", "environment.yml", "environment.yaml")


class RepositoryError(Exception):
    """A git operation failed; the message is safe to show (no credentials)."""


class Unreachable(RepositoryError):
    pass


class BranchNotFound(RepositoryError):
    pass


@dataclasses.dataclass(frozen=True)
class FileChanges:
    new: list[str]
    changed: list[str]
    deleted: list[str]


@dataclasses.dataclass
class _Mirror:
    path: Path
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    fetched_at: float = 0.0


class Repositories:
    """The operator's mirrors of remote repositories, keyed by URL."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self._mirrors: dict[str, _Mirror] = {}

    async def fetch(
        self,
        url: str,
        *,
        credentials: gitsafety.Credentials | None = None,
        fresh_after: float = 0.0,
    ) -> None:
        """Bring the mirror of `url` up to date, unless it was fetched after `fresh_after`.

        `fresh_after` is a `time.monotonic()` value; 0 accepts any earlier fetch. An SSH key
        is on disk (in a private temporary folder) only while git fetches.
        """
        gitsafety.validate_repo_url(url)
        mirror = self._mirror(url)
        async with mirror.lock:
            if mirror.fetched_at and mirror.fetched_at >= fresh_after:
                return
            started = time.monotonic()
            await asyncio.to_thread(_fetch, mirror.path, url, credentials)
            mirror.fetched_at = started

    async def head(self, url: str, branch: str) -> str:
        gitsafety.validate_branch(branch)
        ref = f"refs/remotes/origin/{branch}"
        try:
            return await self._git(
                url, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}"
            )
        except RepositoryError as error:
            raise BranchNotFound(f"Branch {branch!r} does not exist on the remote") from error

    async def files(self, url: str, commit: str) -> list[str]:
        """Names at the root of the tree of `commit`."""
        out = await self._git(url, "ls-tree", "--name-only", "--end-of-options", commit)
        return out.splitlines()

    async def read(self, url: str, commit: str, path: str) -> str:
        return await self._git(url, "show", "--end-of-options", f"{commit}:{path}")

    async def changes(self, url: str, old: str, new: str) -> FileChanges:
        out = await self._git(
            url, "diff", "--name-status", "--no-renames", "--end-of-options", old, new
        )
        result: dict[str, list[str]] = {"A": [], "M": [], "D": []}
        for line in out.splitlines():
            status, _, path = line.partition("\t")
            # Type changes (T) are changes to the file as far as a user is concerned.
            result.setdefault({"T": "M"}.get(status[:1], status[:1]), []).append(path)
        return FileChanges(new=result["A"], changed=result["M"], deleted=result["D"])

    async def divergence(self, url: str, local: str, remote: str) -> tuple[int, int]:
        """(ahead, behind): commits only in `local`, commits only in `remote`."""
        out = await self._git(
            url, "rev-list", "--left-right", "--count", "--end-of-options", f"{local}...{remote}"
        )
        ahead, behind = out.split()
        return int(ahead), int(behind)

    def _mirror(self, url: str) -> _Mirror:
        if url not in self._mirrors:
            digest = hashlib.sha256(url.encode()).hexdigest()[:24]
            self._mirrors[url] = _Mirror(path=self._cache_dir / f"{digest}.git")
        return self._mirrors[url]

    async def _git(self, url: str, *args: str) -> str:
        path = self._mirror(url).path
        try:
            out: str = await asyncio.to_thread(
                git.Git(path).execute, ["git", *args], env=gitsafety.git_environment()
            )
        except git.GitCommandError as error:
            raise RepositoryError(f"git {args[0]} failed: {_stderr(error)}") from error
        return out.strip()


def _fetch(path: Path, url: str, credentials: gitsafety.Credentials | None) -> None:
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        git.Repo.init(path, bare=True)
    repo = git.Repo(path)
    with repo.config_writer() as writer:
        # Set through the config API, not argv: the URL never becomes a command-line word.
        writer.set_value('remote "origin"', "url", url)
        writer.set_value('remote "origin"', "fetch", "+refs/heads/*:refs/remotes/origin/*")
    try:
        with gitsafety.authenticated_git_environment(credentials) as env:
            repo.git.execute(["git", "fetch", "--prune", "--no-tags", "--quiet", "origin"], env=env)
    except git.GitCommandError as error:
        raise Unreachable(f"Cannot fetch {gitsafety.redact_url(url)}: {_stderr(error)}") from error


def _stderr(error: git.GitCommandError) -> str:
    text = str(error.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
    # git can echo the remote URL, user-info included, in its messages.
    words = [gitsafety.redact_url(word) if "://" in word else word for word in text.split()]
    return " ".join(words)[:500] or "no details"
