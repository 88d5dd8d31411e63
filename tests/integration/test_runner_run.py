"""The pod's three steps in order, as local processes: checkout, environment, run."""

from __future__ import annotations

from pathlib import Path

import pytest

from hack.conda_channel import TestArtifacts
from tests.support.runner_steps import RunnerCommand, TaskRepository, check_output


@pytest.fixture
def prepared(
    runner: RunnerCommand,
    task_repository: TaskRepository,
    conda_test_artifacts: TestArtifacts,
    tmp_path: Path,
) -> tuple[Path, Path]:
    """The workspace and envs directory after the checkout and environment steps."""
    workspace, envs_dir = tmp_path / "workspace", tmp_path / "envs"
    check_output(
        runner(
            "checkout",
            f"--repo-url={task_repository.url}",
            "--branch=main",
            f"--commit={task_repository.commit}",
            f"--dest={workspace}",
        )
    )
    check_output(
        runner(
            "environment",
            "--name=task-env",
            f"--envs-dir={envs_dir}",
            f"--source={workspace}",
            f"--channel={conda_test_artifacts.channel_url}",
        )
    )
    return workspace, envs_dir


def run_args(workspace: Path, envs_dir: Path) -> list[str]:
    return ["run", "--env=task-env", f"--envs-dir={envs_dir}", f"--workdir={workspace}"]


def test_run_prints_the_output_of_the_script(
    runner: RunnerCommand, prepared: tuple[Path, Path]
) -> None:
    output = check_output(runner(*run_args(*prepared), "--command", "python main.py"))

    assert output == "Hello from conda, world! Hello from pip!\n"


def test_exit_code_passes_through(runner: RunnerCommand, prepared: tuple[Path, Path]) -> None:
    result = runner(*run_args(*prepared), "--", "python", "main.py", "3")

    check_output(result, code=3)
    assert "Hello from conda" in result.stdout


def test_command_sees_the_environment(runner: RunnerCommand, prepared: tuple[Path, Path]) -> None:
    workspace, envs_dir = prepared
    script = (
        "import os, sys; print(sys.prefix); print(os.environ['CONDA_PREFIX']); print(os.getcwd())"
    )

    output = check_output(runner(*run_args(*prepared), "--", "python", "-c", script))

    prefix = str(envs_dir / "task-env")
    assert output.splitlines() == [prefix, prefix, str(workspace)]


def test_missing_command_is_127(runner: RunnerCommand, prepared: tuple[Path, Path]) -> None:
    result = runner(*run_args(*prepared), "--", "no-such-command-here")

    check_output(result, code=127)
    assert "Command not found" in result.stderr


def test_missing_environment_fails_clearly(runner: RunnerCommand, tmp_path: Path) -> None:
    result = runner(*run_args(tmp_path, tmp_path / "envs"), "--command", "python -V")

    check_output(result, code=1)
    assert "run the environment step" in result.stderr
