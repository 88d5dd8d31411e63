"""Nothing is lost when the operator restarts: the GitTask's status is the whole state."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from condatask import resources
from hack.conda_channel import TestArtifacts
from hack.controlplane import Layout
from hack.git_server import GitServer, git, write_files
from tests.support.kubectl import Kubectl, fresh_namespace, poll
from tests.support.operator import (
    OperatorProcess,
    apply_example,
    condition,
    running_operator,
    wait_ready,
)
from tests.support.runner_steps import TASK_FILES

pytestmark = pytest.mark.integration

# A prefix of its own, so this test's operator and the session's never share a task.
RESTART_PREFIX = "rs-"


def test_a_restarted_operator_resumes_its_tasks_without_moving_them(
    kubectl: Kubectl,
    control_plane: Layout,
    crds_installed: None,
    conda_test_artifacts: TestArtifacts,
    git_server: GitServer,
    tmp_path: Path,
) -> None:
    url = git_server.create_repository("restart", TASK_FILES)

    operator = _operators(control_plane, conda_test_artifacts, tmp_path)

    with fresh_namespace(kubectl, f"{RESTART_PREFIX}restart") as namespace:
        with operator("first") as first:
            apply_example(kubectl, namespace, url)
            wait_ready(kubectl, namespace, "example", first)
        before = kubectl.get_json("gittask", "example", f"-n={namespace}")
        cronjob_uid = kubectl.get_json(
            "cronjob", before["status"]["cronJobName"], f"-n={namespace}"
        )["metadata"]["uid"]

        # The remote moves on while no operator runs.
        git_server.commit("restart", {"later.py": "print('later')\n"}, message="Later")

        with operator("second") as second:
            after = poll(
                lambda: _behind(kubectl, namespace, 1),
                timeout=45,
                interval=0.5,
                what=f"the resumed operator to see the new commit\n{second.tail()}",
            )

        for field in ("taskId", "commit", "lastSynced", "cronJobName"):
            assert after["status"][field] == before["status"][field], field
        assert after["status"]["conditions"][0]["status"] == "True"
        assert (
            kubectl.get_json("cronjob", after["status"]["cronJobName"], f"-n={namespace}")[
                "metadata"
            ]["uid"]
            == cronjob_uid
        )


def _behind(kubectl: Kubectl, namespace: str, commits: int) -> dict[str, Any] | None:
    task = kubectl.get_json("gittask", "example", f"-n={namespace}")
    return task if task.get("status", {}).get("behindCommits") == commits else None


def test_a_task_whose_commit_was_force_pushed_away_says_so_and_moves_on_request(
    kubectl: Kubectl,
    control_plane: Layout,
    crds_installed: None,
    conda_test_artifacts: TestArtifacts,
    git_server: GitServer,
    tmp_path: Path,
) -> None:
    url = git_server.create_repository("rewritten", TASK_FILES)

    operator = _operators(control_plane, conda_test_artifacts, tmp_path)

    with fresh_namespace(kubectl, f"{RESTART_PREFIX}rewritten") as namespace:
        with operator("first") as first:
            apply_example(kubectl, namespace, url)
            wait_ready(kubectl, namespace, "example", first)

        # History rewritten while the operator is down: a new root commit, force-pushed.
        with tempfile.TemporaryDirectory() as work:
            git("init", "--quiet", "--initial-branch=main", "--", work)
            write_files(Path(work), {**TASK_FILES, "fresh.py": "print('fresh')\n"})
            git("add", "--all", cwd=work)
            git("commit", "--quiet", "-m", "Rewritten", cwd=work)
            git(
                "push",
                "--quiet",
                "--force",
                "--",
                str(git_server.bare_path("rewritten")),
                "HEAD:refs/heads/main",
                cwd=work,
            )

        with operator("second") as second:
            stalled = poll(
                lambda: _stalled_with(kubectl, namespace, "CommitNotFound"),
                timeout=45, interval=0.5, what=f"CommitNotFound\n{second.tail()}",
            )  # fmt: skip
            assert "request an update" in stalled["message"]

            kubectl(
                "annotate",
                "gittask",
                "example",
                f"-n={namespace}",
                "--overwrite",
                f"{resources.ANNOTATION_UPDATE_REQUESTED}=after-rewrite",
            )
            wait_ready(kubectl, namespace, "example", second)

        status = kubectl.get_json("gittask", "example", f"-n={namespace}")["status"]
        assert status["commit"] == git_server.head("rewritten")
        assert status["handledUpdateRequest"] == "after-rewrite"


def _operators(
    control_plane: Layout, artifacts: TestArtifacts, work: Path
) -> Callable[[str], AbstractContextManager[OperatorProcess]]:
    """Start this module's operator in a fresh folder each time: a restarted pod has an
    empty mirror cache too."""

    def operator(folder: str) -> AbstractContextManager[OperatorProcess]:
        return running_operator(
            kubeconfig=control_plane.kubeconfig,
            artifacts=artifacts,
            work=work / folder,
            watch=f"{RESTART_PREFIX}*",
        )

    return operator


def _stalled_with(kubectl: Kubectl, namespace: str, reason: str) -> dict[str, Any] | None:
    found = condition(kubectl, namespace, "example", "Stalled")
    return found if found and found["status"] == "True" and found["reason"] == reason else None
