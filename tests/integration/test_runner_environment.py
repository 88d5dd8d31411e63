"""The `environment` step with real rattler installs from the local channel and wheelhouse."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from hack.conda_channel import TestArtifacts
from tests.support.runner_steps import TASK_FILES, RunnerCommand, check_output

IMPORT_BOTH = "import condatask_greeting, condatask_pip_hello; print(condatask_pip_hello.hello())"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A checkout holding the task repository's files."""
    checkout = tmp_path / "source"
    checkout.mkdir()
    for name, text in TASK_FILES.items():
        (checkout / name).write_text(text)
    return checkout


def environment_args(source: Path, envs_dir: Path, channel_url: str) -> list[str]:
    return [
        "environment",
        "--name=task-env",
        f"--envs-dir={envs_dir}",
        f"--source={source}",
        f"--channel={channel_url}",
    ]


def env_python(envs_dir: Path, *code: str) -> str:
    result = subprocess.run(
        [str(envs_dir / "task-env" / "bin" / "python"), "-c", "; ".join(code)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_creates_then_leaves_unchanged(
    runner: RunnerCommand, conda_test_artifacts: TestArtifacts, source: Path, tmp_path: Path
) -> None:
    envs_dir = tmp_path / "envs"
    args = environment_args(source, envs_dir, conda_test_artifacts.channel_url)

    started = time.monotonic()
    first = check_output(runner(*args))
    build_seconds = time.monotonic() - started
    second = check_output(runner(*args))

    assert "Environment task-env created" in first
    assert "Environment task-env unchanged" in second
    assert env_python(envs_dir, IMPORT_BOTH) == "Hello from pip!"
    marker = json.loads((envs_dir / "task-env" / "conda-meta" / "condatask.json").read_text())
    assert "condatask-greeting" in marker["conda_specs"]
    print(f"environment built in {build_seconds:.2f}s")


def test_changed_requirements_update_the_environment(
    runner: RunnerCommand, conda_test_artifacts: TestArtifacts, source: Path, tmp_path: Path
) -> None:
    envs_dir = tmp_path / "envs"
    args = environment_args(source, envs_dir, conda_test_artifacts.channel_url)
    (source / "requirements.txt").write_text("")
    check_output(runner(*args))
    with pytest.raises(subprocess.CalledProcessError):
        env_python(envs_dir, IMPORT_BOTH)

    (source / "requirements.txt").write_text("condatask-pip-hello\n")

    assert "Environment task-env updated" in check_output(runner(*args))
    assert env_python(envs_dir, IMPORT_BOTH) == "Hello from pip!"


def test_keep_existing_leaves_a_built_environment_alone(
    runner: RunnerCommand, conda_test_artifacts: TestArtifacts, source: Path, tmp_path: Path
) -> None:
    envs_dir = tmp_path / "envs"
    args = environment_args(source, envs_dir, conda_test_artifacts.channel_url)
    (source / "requirements.txt").write_text("")
    assert "created" in check_output(runner(*args, "--keep-existing"))

    (source / "requirements.txt").write_text("condatask-pip-hello\n")

    assert "Environment task-env kept" in check_output(runner(*args, "--keep-existing"))
    with pytest.raises(subprocess.CalledProcessError):
        env_python(envs_dir, IMPORT_BOTH)
    assert "Environment task-env updated" in check_output(runner(*args))


def test_concurrent_builds_yield_one_environment(
    runner: RunnerCommand, conda_test_artifacts: TestArtifacts, source: Path, tmp_path: Path
) -> None:
    envs_dir = tmp_path / "envs"
    args = environment_args(source, envs_dir, conda_test_artifacts.channel_url)

    processes = [runner.popen(*args) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    outcomes = sorted(stdout.split()[2] for stdout, _ in outputs)
    assert outcomes == ["created", "unchanged"]
    assert env_python(envs_dir, IMPORT_BOTH) == "Hello from pip!"


def test_unsolvable_requirements_fail_without_a_marker(
    runner: RunnerCommand, conda_test_artifacts: TestArtifacts, source: Path, tmp_path: Path
) -> None:
    envs_dir = tmp_path / "envs"
    (source / "filter.conf").write_text("[environment]\npackages = no-such-package\n")

    result = runner(*environment_args(source, envs_dir, conda_test_artifacts.channel_url))

    check_output(result, code=1)
    assert "The conda part failed" in result.stderr
    assert not (envs_dir / "task-env" / "conda-meta" / "condatask.json").exists()


def test_invalid_filter_conf_is_bad_input(
    runner: RunnerCommand, conda_test_artifacts: TestArtifacts, source: Path, tmp_path: Path
) -> None:
    (source / "filter.conf").write_text("[task]\ntimeout = soon\n")

    result = runner(*environment_args(source, tmp_path / "envs", conda_test_artifacts.channel_url))

    check_output(result, code=2)
    assert "filter.conf is invalid" in result.stderr
