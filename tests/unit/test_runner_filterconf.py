"""Unit tests for the filter.conf parser."""

from __future__ import annotations

import pytest

from condatask.filterconf import InvalidFilterConf, parse_filter_conf

EXAMPLE = """
[task]
schedule = */5 * * * *
timeout = 600

[environment]
python = 3.11
channels = conda-forge, bioconda
packages = numpy >=1.26, pandas

[sync]
include = src/** *.py
exclude = tests/**
"""


def test_parses_every_section() -> None:
    conf = parse_filter_conf(EXAMPLE)
    assert conf.task.schedule == "*/5 * * * *"
    assert conf.task.timeout == 600
    assert conf.environment.python == "3.11"
    assert conf.environment.channels == ("conda-forge", "bioconda")
    assert conf.environment.packages == ("numpy >=1.26", "pandas")
    assert conf.sync.include == ("src/**", "*.py")
    assert conf.sync.exclude == ("tests/**",)


def test_packages_split_on_whitespace_without_commas() -> None:
    conf = parse_filter_conf("[environment]\npackages = numpy pandas\n  scipy\n")
    assert conf.environment.packages == ("numpy", "pandas", "scipy")


def test_empty_file_gives_defaults() -> None:
    conf = parse_filter_conf("")
    assert conf.task.schedule is None
    assert conf.environment.packages == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not ini at all", "not a valid INI"),
        ("[task]\ntimeout = soon\n", "task.timeout"),
        ("[task]\ntimeout = -1\n", "task.timeout"),
        ("[task]\ncolour = red\n", "colour"),
        ("[mystery]\nx = 1\n", "unknown section"),
        ("[environment]\npython = latest\n", "python"),
    ],
)
def test_invalid_content_is_explained(text: str, reason: str) -> None:
    with pytest.raises(InvalidFilterConf, match=reason):
        parse_filter_conf(text)
