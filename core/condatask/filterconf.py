"""The `filter.conf` file: a task's configuration kept inside its repository.

An optional INI file at the repository root. The operator reads it for the schedule, timeout
and sync patterns; the runner reads its `[environment]` section to build the conda side of
the environment. Example::

    [task]
    schedule = */5 * * * *    ; comments start with ; or # after whitespace
    timeout = 600

    [environment]
    python = 3.11
    channels = conda-forge, bioconda
    packages = numpy>=1.26 pandas

    [sync]
    include = src/** *.py
    exclude = tests/**

The file comes from the repository, so whoever can push decides its content: package specs
and channels are held to conservative patterns before they reach the resolver, and the
schedule must be one a CronJob accepts.
"""

from __future__ import annotations

import configparser
import re
import urllib.parse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from condatask import schedule as cron

__all__ = [
    "FILTER_CONF",
    "EnvironmentSection",
    "FilterConf",
    "InvalidFilterConf",
    "SyncSection",
    "TaskSection",
    "parse_filter_conf",
]

FILTER_CONF = "filter.conf"

_KNOWN_SECTIONS = {"task", "environment", "sync"}
_SEPARATORS = re.compile(r"[,\s]+")
# Conda match specs may contain spaces ("numpy >=1.26"), so when a list of packages uses
# commas it splits on commas and newlines only; otherwise on any whitespace.
_PACKAGE_SEPARATORS = re.compile(r"[,\n]+")
# A conda match spec as people write them: a package name, then a version (and build)
# constraint. No shell or path characters, no leading `-` (an option to any command line).
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_PACKAGE_SPEC = re.compile(rf"{_NAME}[0-9A-Za-z.*+!<>=~,| _-]*")
# A channel by name (`conda-forge`, `conda-forge/label/rc`, `pkgs/main`); no segment can be
# `..` since none starts with a dot.
_CHANNEL_NAME = re.compile(rf"{_NAME}(?:/{_NAME})*")
_CHANNEL_SCHEMES = ("https", "http", "file")


class InvalidFilterConf(ValueError):
    """The repository's filter.conf cannot be used."""


class TaskSection(BaseModel):
    """`[task]`: when and how long the task runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schedule: str | None = None
    timeout: int | None = Field(default=None, gt=0, description="Seconds.")

    @field_validator("schedule")
    @classmethod
    def _schedule_is_cron(cls, value: str | None) -> str | None:
        if value is not None:
            cron.validate(value)
        return value


class EnvironmentSection(BaseModel):
    """`[environment]`: the conda side of the task's environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    python: str | None = None
    channels: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()

    @field_validator("python")
    @classmethod
    def _python_is_a_version(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9][0-9.*]*", value):
            raise ValueError(f"python must be a version such as 3.11, not {value!r}")
        return value

    @field_validator("channels")
    @classmethod
    def _channels_are_names_or_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for channel in value:
            if not (_CHANNEL_NAME.fullmatch(channel) or _is_channel_url(channel)):
                raise ValueError(
                    f"{channel!r} is not a channel name (such as conda-forge) nor an "
                    "https://, http:// or file:// URL"
                )
        return value

    @field_validator("packages")
    @classmethod
    def _packages_are_match_specs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for spec in value:
            if not _PACKAGE_SPEC.fullmatch(spec):
                raise ValueError(f"{spec!r} is not a conda package spec such as numpy>=1.26")
        return value


def _is_channel_url(text: str) -> bool:
    """An http(s) or file URL without whitespace and without `..` in its path."""
    if any(c.isspace() or not c.isprintable() for c in text):
        return False
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in _CHANNEL_SCHEMES or not text.startswith(f"{parts.scheme}://"):
        return False
    if parts.scheme == "file" and not parts.path.startswith("/"):
        return False
    if parts.scheme != "file" and not parts.hostname:
        return False
    # Decoded too: `%2e%2e` is `..` to whoever fetches the URL.
    return ".." not in urllib.parse.unquote(parts.path).split("/")


class SyncSection(BaseModel):
    """`[sync]`: which repository paths the task syncs (glob patterns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class FilterConf(BaseModel):
    """A parsed filter.conf; every section is optional."""

    model_config = ConfigDict(frozen=True)

    task: TaskSection = TaskSection()
    environment: EnvironmentSection = EnvironmentSection()
    sync: SyncSection = SyncSection()


def parse_filter_conf(text: str) -> FilterConf:
    """Parse the text of a filter.conf; raise `InvalidFilterConf` with a readable reason."""
    # `;` or `#` after whitespace starts a comment; a `#` inside a value (a URL's fragment)
    # is kept.
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        parser.read_string(text, source=FILTER_CONF)
    except configparser.Error as error:
        raise InvalidFilterConf(f"{FILTER_CONF} is not a valid INI file: {error}") from error

    unknown = set(parser.sections()) - _KNOWN_SECTIONS
    if unknown:
        raise InvalidFilterConf(
            f"{FILTER_CONF} has unknown section(s): {', '.join(sorted(unknown))}"
        )
    raw = {name: _section(name, dict(parser[name])) for name in parser.sections()}
    try:
        return FilterConf.model_validate(raw)
    except ValidationError as error:
        raise InvalidFilterConf(f"{FILTER_CONF} is invalid: {_first_error(error)}") from error


def _section(name: str, values: dict[str, str]) -> dict[str, object]:
    section: dict[str, object] = dict(values)
    for key in ("channels", "include", "exclude"):
        if key in section:
            section[key] = _split(values[key], _SEPARATORS)
    if "packages" in section:
        separators = _PACKAGE_SEPARATORS if "," in values["packages"] else None
        section["packages"] = _split(values["packages"], separators or _SEPARATORS)
    return section


def _split(value: str, separators: re.Pattern[str]) -> tuple[str, ...]:
    return tuple(item.strip() for item in separators.split(value) if item.strip())


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    # Our validators' messages are sentences already; pydantic's prefix adds nothing.
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
