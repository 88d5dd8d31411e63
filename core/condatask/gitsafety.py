"""Git safety rules shared by the operator and the runner.

Every repository URL and branch name that reaches git passes through here first, and every
git subprocess gets its environment from here, so that no caller can enable a transport
that runs commands or leak a credential into argv, a URL, a log or a status field.
"""

from __future__ import annotations

import base64
import os
import re
import urllib.parse
from collections.abc import Mapping

__all__ = [
    "InvalidBranch",
    "InvalidRepositoryURL",
    "basic_auth_header",
    "git_environment",
    "redact_url",
    "validate_branch",
    "validate_repo_url",
]

_NETWORK_SCHEMES = ("https", "http", "ssh")
# scp-like syntax: user@host:path (no scheme, no "//"). The user part is optional for git,
# but we require it so that "host:path" cannot be confused with a local path or a transport.
_SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_HOST = re.compile(r"^([0-9A-Fa-f:.]+|[A-Za-z0-9.-]+)$")


class InvalidRepositoryURL(ValueError):
    """A repository URL that git must not see."""


class InvalidBranch(ValueError):
    """A branch name that is not a valid, safe git ref name."""


def validate_repo_url(url: str, *, allow_file: bool = False) -> str:
    """Return `url` unchanged if git may fetch from it; raise `InvalidRepositoryURL` if not."""
    if not url:
        raise InvalidRepositoryURL("The repository URL is empty.")
    if _CONTROL_OR_SPACE.search(url):
        raise InvalidRepositoryURL("The repository URL contains whitespace or control characters.")
    # A leading "-" would turn the URL into a git option such as --upload-pack.
    if url.startswith("-"):
        raise InvalidRepositoryURL("The repository URL must not start with '-'.")
    if "::" in url.split("/", 1)[0]:
        raise InvalidRepositoryURL("Remote helper transports (such as ext::) are not allowed.")

    scp = _SCP_LIKE.match(url)
    if scp is not None:
        if scp["host"].startswith("-"):
            raise InvalidRepositoryURL("The repository host must not start with '-'.")
        return url
    return _validate_scheme_url(url, allow_file=allow_file)


def _validate_scheme_url(url: str, *, allow_file: bool) -> str:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if not allow_file:
            raise InvalidRepositoryURL("file:// repository URLs are not allowed.")
        return url
    if scheme not in _NETWORK_SCHEMES:
        raise InvalidRepositoryURL(
            "The repository URL must start with https://, http://, ssh:// or be like git@host:path."
        )
    if not _HOST.match(parts.hostname or "") or (parts.hostname or "").startswith("-"):
        raise InvalidRepositoryURL("The repository URL has no valid host.")
    try:
        parts.port  # noqa: B018 - urllib validates the port lazily, on access.
    except ValueError as error:
        raise InvalidRepositoryURL("The repository URL has an invalid port.") from error
    # Credentials come from Secrets; a password in the URL would end up in status and logs.
    if parts.password is not None:
        raise InvalidRepositoryURL(
            "The repository URL must not contain a password; use a credentials Secret."
        )
    # Over HTTP(S) a user name is a credential too (tokens are often passed as one), and the
    # URL is shown in status and replies; ssh://git@host is the normal form for SSH.
    if parts.username is not None and scheme != "ssh":
        raise InvalidRepositoryURL(
            "The repository URL must not contain user information; use a credentials Secret."
        )
    if parts.username is not None and parts.username.startswith("-"):
        raise InvalidRepositoryURL("The repository user name must not start with '-'.")
    return url


def redact_url(url: str) -> str:
    """Return `url` without any user-info, fit for logs, events and status."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        netloc = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def validate_branch(name: str) -> str:
    """Return `name` if it is a valid branch name (git check-ref-format rules), else raise."""
    problem = _branch_problem(name)
    if problem is not None:
        raise InvalidBranch(f"Invalid branch name {name!r}: {problem}.")
    return name


def _branch_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if name.startswith("-"):
        return "it must not start with '-'"
    if name == "@":
        return "it must not be '@'"
    if _CONTROL_OR_SPACE.search(name):
        return "it contains whitespace or control characters"
    for bad in ("..", "@{", "//"):
        if bad in name:
            return f"it must not contain {bad!r}"
    for char in "~^:?*[\\":
        if char in name:
            return f"it must not contain {char!r}"
    if name.startswith("/") or name.endswith("/") or name.endswith("."):
        return "it must not start or end with '/' or end with '.'"
    for component in name.split("/"):
        if component.startswith(".") or component.endswith(".lock"):
            return "no component may start with '.' or end with '.lock'"
    return None


def git_environment(
    extra: Mapping[str, str] | None = None,
    *,
    allow_file: bool = False,
    auth_header: str | None = None,
    home: str | None = None,
) -> dict[str, str]:
    """Build the environment for a git subprocess.

    `auth_header` is a full HTTP header value (e.g. "Authorization: Basic ...") passed as
    config through the environment, so it never appears in argv, a URL or the process list.
    `home` isolates git from the user's global configuration.
    """
    env = dict(os.environ)
    protocols = "https:http:ssh" + (":file" if allow_file else "")
    env.update(
        {
            "GIT_ALLOW_PROTOCOL": protocols,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            # Never fall back to an interactive askpass helper in a pod or a test.
            "GIT_ASKPASS": "true",
            "SSH_ASKPASS": "true",
        }
    )
    if home is not None:
        env["HOME"] = home
        env["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
    env.pop("GIT_CONFIG_COUNT", None)
    config: list[tuple[str, str]] = []
    if auth_header is not None:
        config.append(("http.extraHeader", _single_line(auth_header)))
    _put_config(env, config)
    if extra:
        env.update(extra)
    return env


def basic_auth_header(username: str, password: str) -> str:
    """The HTTP header git sends for a credentials Secret's `username` and `password`."""
    pair = f"{username or 'git'}:{password}".encode()
    return f"Authorization: Basic {base64.b64encode(pair).decode()}"


def _single_line(value: str) -> str:
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise ValueError("An HTTP header value must be a single line.")
    return value


def _put_config(env: dict[str, str], config: list[tuple[str, str]]) -> None:
    if not config:
        return
    env["GIT_CONFIG_COUNT"] = str(len(config))
    for index, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
