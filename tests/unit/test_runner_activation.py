"""Unit tests for the run step's command parsing and environment activation."""

from __future__ import annotations

from pathlib import Path

import pytest

from condatask_runner.environment import environment_prefix
from condatask_runner.run import command_environment, parse_command


def test_command_as_one_string_is_split_like_a_shell() -> None:
    words = parse_command(command="python main.py --name 'a b'", argv=[])
    assert words == ["python", "main.py", "--name", "a b"]


def test_command_after_double_dash() -> None:
    assert parse_command(command=None, argv=["python", "-V"]) == ["python", "-V"]


@pytest.mark.parametrize(("command", "argv"), [(None, []), ("", []), ("python", ["x"])])
def test_command_must_be_given_once(command: str | None, argv: list[str]) -> None:
    with pytest.raises(ValueError):
        parse_command(command=command, argv=argv)


def test_environment_is_activated() -> None:
    base = {
        "PATH": "/venv/bin:/usr/bin",
        "VIRTUAL_ENV": "/venv",
        "PYTHONPATH": "/x",
        "KEEP": "1",
    }
    env = command_environment(Path("/envs/task"), base)
    assert env["PATH"] == "/envs/task/bin:/venv/bin:/usr/bin"
    assert env["CONDA_PREFIX"] == "/envs/task"
    assert env["CONDA_DEFAULT_ENV"] == "task"
    assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env
    assert env["KEEP"] == "1"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", ".hidden", "-x"])
def test_environment_names_are_plain(name: str) -> None:
    with pytest.raises(ValueError):
        environment_prefix(Path("/envs"), name)
