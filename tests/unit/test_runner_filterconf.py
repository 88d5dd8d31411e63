"""Unit tests for the filter.conf parser."""

from __future__ import annotations

from pathlib import Path

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


# --- Inline comments ---------------------------------------------------------------------------


def test_inline_comments_are_stripped() -> None:
    conf = parse_filter_conf(
        "[task]\n"
        "schedule = */5 * * * *     ; every five minutes\n"
        "timeout = 600 # ten minutes\n"
        "[environment]\n"
        "channels = conda-forge ; the community channel\n"
        "packages = numpy>=1.26 pandas  # the usual\n"
    )
    assert conf.task.schedule == "*/5 * * * *"
    assert conf.task.timeout == 600
    assert conf.environment.channels == ("conda-forge",)
    assert conf.environment.packages == ("numpy>=1.26", "pandas")


def test_a_hash_inside_a_value_is_kept() -> None:
    conf = parse_filter_conf(
        "[environment]\nchannels = https://mirror.example.test/conda#main ; the mirror\n"
    )
    assert conf.environment.channels == ("https://mirror.example.test/conda#main",)


# --- Schedule ----------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["every day", "*/5 * * *", "61 * * * *", "TZ=UTC 0 * * * *"])
def test_an_invalid_schedule_is_refused(schedule: str) -> None:
    with pytest.raises(InvalidFilterConf, match=r"task\.schedule"):
        parse_filter_conf(f"[task]\nschedule = {schedule}\n")


@pytest.mark.parametrize("schedule", ["0 3 * * *", "*/10 * * * *", "@daily"])
def test_a_cron_schedule_is_accepted(schedule: str) -> None:
    assert parse_filter_conf(f"[task]\nschedule = {schedule}\n").task.schedule == schedule


# --- Packages and channels ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("packages", "bad"),
    [
        ("numpy>=1.26;rm -rf /", "numpy>=1.26;rm"),
        ("numpy $(touch /tmp/x)", "$(touch"),
        ("numpy `id`", "`id`"),
        ("'numpy'", "'numpy'"),
        ("numpy -rf", "-rf"),
        ("--override-channels", "--override-channels"),
        ("numpy/../x", "numpy/../x"),
        ("conda-forge::numpy", "conda-forge::numpy"),
        ("numpy >=1.26, pandas;id", "pandas;id"),
        ("numpy\tscipy&&id", "scipy&&id"),
    ],
)
def test_a_package_that_is_not_a_plain_match_spec_is_refused(packages: str, bad: str) -> None:
    with pytest.raises(InvalidFilterConf, match=r"environment\.packages") as caught:
        parse_filter_conf(f"[environment]\npackages = {packages}\n")
    assert repr(bad) in str(caught.value)


@pytest.mark.parametrize(
    "packages",
    [
        "numpy",
        "numpy>=1.26",
        "numpy >=1.26",
        "python=3.11.*",
        "scikit-learn==1.5.0",
        "numpy=1.26=py311h*_0",
        "r-base>=4|<5",
        "_libgcc_mutex",
        "ca-certificates!=2024.1",
        "openssl~=3.0",
    ],
)
def test_plain_match_specs_are_accepted(packages: str) -> None:
    conf = parse_filter_conf(f"[environment]\npackages = {packages},\n")
    assert conf.environment.packages == (packages,)


@pytest.mark.parametrize(
    "channel",
    [
        "conda-forge",
        "bioconda",
        "conda-forge/label/rc",
        "pkgs/main",
        "https://conda.anaconda.org/conda-forge",
        "http://mirror.example.test/conda/main",
        "file:///srv/conda-mirror",
    ],
)
def test_plain_channels_are_accepted(channel: str) -> None:
    conf = parse_filter_conf(f"[environment]\nchannels = {channel}\n")
    assert conf.environment.channels == (channel,)


@pytest.mark.parametrize(
    "channel",
    [
        "-c",
        "--override-channels",
        "conda-forge;id",
        "$(id)",
        "`id`",
        "'conda-forge'",
        "../../etc",
        "/etc/conda",
        "conda-forge/../x",
        "ftp://mirror.example.test/conda",
        "https://mirror.example.test/conda/../../etc",
        "file:///srv/../etc",
        "file:///srv/%2e%2e/etc",
        "https://",
    ],
)
def test_a_channel_that_is_not_a_name_or_url_is_refused(channel: str) -> None:
    with pytest.raises(InvalidFilterConf, match=r"environment\.channels") as caught:
        parse_filter_conf(f"[environment]\nchannels = conda-forge {channel}\n")
    assert repr(channel) in str(caught.value)


def test_the_readme_example_means_what_it_says() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.partition("### `filter.conf`")[2].partition("```ini\n")[2].partition("```")[0]
    conf = parse_filter_conf(example)
    assert conf.task.schedule == "*/5 * * * *"
    assert conf.environment.packages == ("numpy>=1.26", "pandas")
