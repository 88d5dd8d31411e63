"""Unit tests for reading a checkout's environment requirements and their content hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from condatask.filterconf import InvalidFilterConf
from condatask_runner.requirements import InvalidRequirements, read_requirements

ENVIRONMENT_YML = """
channels: [bioconda]
dependencies:
  - numpy >=1.26
  - pip:
      - requests==2.32.0
"""


def write(source: Path, **files: str) -> Path:
    for name, text in files.items():
        (source / name.replace("_", ".", 1)).write_text(text)
    return source


def test_empty_checkout_asks_for_python_only(tmp_path: Path) -> None:
    requirements = read_requirements(tmp_path)
    assert requirements.channels == ("conda-forge",)
    assert requirements.conda_specs == ("python",)
    assert requirements.pip_requirements == ""


def test_all_sources_combine(tmp_path: Path) -> None:
    write(
        tmp_path,
        environment_yml=ENVIRONMENT_YML,
        filter_conf="[environment]\npython = 3.11\nchannels = conda-forge\npackages = pandas\n",
        requirements_txt="flask\n",
    )
    requirements = read_requirements(tmp_path, extra_channels=("file:///mirror",))
    assert requirements.channels == ("file:///mirror", "bioconda", "conda-forge")
    assert requirements.conda_specs == ("python=3.11", "numpy >=1.26", "pandas")
    assert requirements.pip_requirements == "requests==2.32.0\nflask"


def test_override_channels_ignores_the_repository(tmp_path: Path) -> None:
    write(tmp_path, environment_yml=ENVIRONMENT_YML)
    requirements = read_requirements(
        tmp_path, extra_channels=("file:///mirror",), override_channels=True
    )
    assert requirements.channels == ("file:///mirror",)


def test_python_spec_from_environment_yml_is_kept(tmp_path: Path) -> None:
    write(tmp_path, environment_yml="dependencies: [python=3.12, numpy]\n")
    assert read_requirements(tmp_path).conda_specs == ("python=3.12", "numpy")


def test_hash_follows_content(tmp_path: Path) -> None:
    write(tmp_path, requirements_txt="flask\n")
    first = read_requirements(tmp_path).content_hash
    assert read_requirements(tmp_path).content_hash == first
    write(tmp_path, requirements_txt="flask==3.0\n")
    assert read_requirements(tmp_path).content_hash != first
    assert read_requirements(tmp_path, extra_channels=("x",)).content_hash != first


@pytest.mark.parametrize(
    "text",
    ["channels: [a\n", "- just a list\n", "dependencies:\n  - {conda: numpy}\n"],
)
def test_invalid_environment_yml(tmp_path: Path, text: str) -> None:
    write(tmp_path, environment_yml=text)
    with pytest.raises(InvalidRequirements):
        read_requirements(tmp_path)


def test_invalid_filter_conf(tmp_path: Path) -> None:
    write(tmp_path, filter_conf="[environment]\npython = newest\n")
    with pytest.raises(InvalidFilterConf):
        read_requirements(tmp_path)
