"""Poll cost of many tasks on one repository: the operator's shared mirror against a peer.

A smart-HTTP git server on 127.0.0.1 serves one repository. For N tasks on it, one poll
round is timed, right after a new commit was pushed (so every fetch has something to bring):

- shared: `Repositories.fetch(fresh_after=start of the round)`, then head and divergence per
  task, as the operator's poller does: the first task fetches, the others reuse the fetch;
- mirror per task: the same code, but each task has its own `Repositories` (its own bare
  mirror), so each task fetches;
- ls-remote per task: one `git ls-remote` per task, which gives the head but not how far
  behind the task is (that needs the objects).

Fetches are counted on the server: each git fetch or ls-remote opens one upload-pack session
(`GET info/refs?service=git-upload-pack`).

    python -m benchmarks.poll
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.table import median, print_table, ratio
from condatask import gitsafety
from condatask_operator.repository import Repositories
from hack import git_server
from hack.git_server import GitServer
from tests.support.runner_steps import TASK_FILES

TASK_COUNTS = (1, 10, 50)
ROUNDS = 3
HISTORY = 20  # commits between the tasks' recorded commit and the head
BRANCH = "main"

# One poll round over all tasks, given the repository URL.
Round = Callable[[str], Coroutine[Any, Any, None]]


class _CountingHandler(git_server._Handler):
    """The git server's request handler, counting upload-pack sessions (fetch, ls-remote)."""

    sessions = 0
    _lock = threading.Lock()

    def do_GET(self) -> None:
        if "/info/refs" in self.path and "service=git-upload-pack" in self.path:
            with _CountingHandler._lock:
                _CountingHandler.sessions += 1
        super().do_GET()


@dataclass(frozen=True)
class Figures:
    tasks: int
    approach: str
    first_round: float  # seconds, including the initial clone(s)
    poll_round: float  # median seconds of a round after one new commit
    fetches: int  # upload-pack sessions per poll round


@dataclass(frozen=True)
class Approach:
    name: str
    # (tasks, the commit they recorded, a scratch directory) -> the function running one round.
    prepare: Callable[[int, str, Path], Round]


def shared_mirror(tasks: int, recorded: str, scratch: Path) -> Round:
    repositories = Repositories(scratch / "mirrors")

    async def poll(url: str) -> None:
        started = time.monotonic()
        for _ in range(tasks):
            await _check(repositories, url, recorded, fresh_after=started)

    return poll


def mirror_per_task(tasks: int, recorded: str, scratch: Path) -> Round:
    per_task = [Repositories(scratch / f"task-{index}") for index in range(tasks)]

    async def poll(url: str) -> None:
        started = time.monotonic()
        for repositories in per_task:
            await _check(repositories, url, recorded, fresh_after=started)

    return poll


def ls_remote_per_task(tasks: int, recorded: str, scratch: Path) -> Round:
    async def poll(url: str) -> None:
        for _ in range(tasks):
            await asyncio.to_thread(_ls_remote, url)

    return poll


APPROACHES = (
    Approach("shared mirror (ours)", shared_mirror),
    Approach("mirror per task", mirror_per_task),
    Approach("ls-remote per task", ls_remote_per_task),
)


async def _check(
    repositories: Repositories, url: str, recorded: str, *, fresh_after: float
) -> None:
    """One task's poll: fetch (or reuse a fetch), then the head and the divergence."""
    await repositories.fetch(url, fresh_after=fresh_after)
    remote = await repositories.head(url, BRANCH)
    await repositories.divergence(url, recorded, remote)


def _ls_remote(url: str) -> str:
    result = subprocess.run(
        ["git", "ls-remote", "--", url, f"refs/heads/{BRANCH}"],
        env=gitsafety.git_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()[0]


def measure(server: GitServer, approach: Approach, tasks: int) -> Figures:
    # A repository per measurement, so no measurement inherits another's history.
    name = f"repo-{tasks}-{approach.prepare.__name__}"
    recorded = _seed(server, name)
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as scratch:
        poll = approach.prepare(tasks, recorded, Path(scratch))
        url = server.url_for(name)
        started = time.perf_counter()
        asyncio.run(poll(url))
        first_round = time.perf_counter() - started

        seconds: list[float] = []
        fetches: list[int] = []
        for index in range(ROUNDS):
            # The push clones and pushes over HTTP too: count only the round's sessions.
            server.commit(name, {"data.txt": f"{approach.name} {tasks} {index}\n"})
            before = _CountingHandler.sessions
            started = time.perf_counter()
            asyncio.run(poll(url))
            seconds.append(time.perf_counter() - started)
            fetches.append(_CountingHandler.sessions - before)
    return Figures(tasks, approach.name, first_round, median(seconds), max(fetches))


def _seed(server: GitServer, name: str) -> str:
    """Create the repository with some history; return the commit the tasks recorded."""
    server.create_repository(name, TASK_FILES)
    recorded = server.head(name)
    with tempfile.TemporaryDirectory(prefix="bench-seed-") as work:
        _git("clone", "--quiet", "--", server.url_for(name), work)
        for index in range(HISTORY):
            (Path(work) / "data.txt").write_text(f"history {index}\n")
            _git("add", "data.txt", cwd=work)
            _git("commit", "--quiet", "-m", f"History {index}", cwd=work)
        _git("push", "--quiet", "origin", f"HEAD:{BRANCH}", cwd=work)
    return recorded


def _git(*args: str, cwd: str | None = None) -> None:
    identity = ("-c", "user.name=Bench", "-c", "user.email=bench@example.invalid")
    subprocess.run(["git", *identity, *args], cwd=cwd, env=gitsafety.git_environment(), check=True)


def run() -> list[Figures]:
    with tempfile.TemporaryDirectory(prefix="bench-git-") as root:
        server = GitServer(root).start()
        try:
            assert server._server is not None
            # Count fetches from here on; the handler class is looked up per request.
            server._server.RequestHandlerClass = _CountingHandler
            figures = [
                measure(server, approach, tasks) for tasks in TASK_COUNTS for approach in APPROACHES
            ]
        finally:
            server.stop()
    report(figures)
    return figures


def report(figures: list[Figures]) -> None:
    ours = {f.tasks: f.poll_round for f in figures if f.approach == APPROACHES[0].name}
    rows = [
        (
            f.tasks,
            f.approach,
            f"{f.first_round:.3f}",
            f"{f.poll_round:.3f}",
            f"{f.poll_round / f.tasks * 1000:.1f}",
            f.fetches,
            ratio(f.poll_round, ours[f.tasks]),
        )
        for f in figures
    ]
    print_table(
        f"Poll of N tasks on one repository (median of {ROUNDS} rounds after a new commit)",
        ("tasks", "approach", "1st round s", "round s", "ms/task", "fetches", "peer/ours"),
        rows,
        left=2,
    )


if __name__ == "__main__":
    run()
