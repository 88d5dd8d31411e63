"""Git safety rules shared by the operator and the runner.

Every repository URL and branch name that reaches git passes through here first, and every
git subprocess gets its environment from here, so that no caller can enable a transport
that runs commands or leak a credential into argv, a URL, a log or a status field.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import re
import shlex
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "SSH_IDENTITY",
    "SSH_KNOWN_HOSTS",
    "Credentials",
    "InvalidBranch",
    "InvalidRepositoryURL",
    "SshKey",
    "authenticated_git_environment",
    "basic_auth_header",
    "build_ssh_command",
    "git_environment",
    "is_ssh_url",
    "redact_url",
    "ssh_key_command",
    "validate_branch",
    "validate_repo_url",
]

# The keys of a credentials Secret (and so the files of its mounted volume) for SSH.
SSH_IDENTITY = "identity"
SSH_KNOWN_HOSTS = "known_hosts"

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


def is_ssh_url(url: str) -> bool:
    """Whether git reaches `url` through ssh (ssh:// or the scp-like user@host:path)."""
    return url.lower().startswith("ssh://") or _SCP_LIKE.match(url) is not None


def repository_host(url: str) -> str:
    """The host (with `:port` when the URL names one) that git connects to for `url`."""
    scp = _SCP_LIKE.match(url)
    if scp is not None:
        return scp["host"].lower()
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def host_allowed(url: str, allowed: str) -> bool:
    """Whether `url`'s host is in `allowed`, a comma-separated list of hosts or host:ports.

    A bare host allows any port of it; `host:port` allows that port only.
    """
    host = repository_host(url)
    bare = host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host
    entries = {entry.strip().lower() for entry in allowed.split(",") if entry.strip()}
    return host in entries or bare in entries


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
    ssh_command: str | None = None,
    home: str | None = None,
) -> dict[str, str]:
    """Build the environment for a git subprocess.

    `auth_header` is a full HTTP header value (e.g. "Authorization: Basic ...") passed as
    config through the environment, so it never appears in argv, a URL or the process list.
    `ssh_command` is the GIT_SSH_COMMAND for ssh remotes (see `ssh_key_command`).
    `home` isolates git from the user's global configuration.
    """
    env = dict(os.environ)
    # Only our own ssh command may run: an inherited one could be anything.
    for inherited in ("GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT"):
        env.pop(inherited, None)
    if ssh_command is not None:
        env["GIT_SSH_COMMAND"] = ssh_command
        env["GIT_SSH_VARIANT"] = "ssh"
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


@dataclasses.dataclass(frozen=True)
class SshKey:
    """An OpenSSH private key and the known_hosts lines of the servers it may talk to."""

    identity: str = dataclasses.field(repr=False)
    known_hosts: str = dataclasses.field(repr=False)


# An HTTP Authorization header value, or an SSH key.
Credentials = str | SshKey


def build_ssh_command(
    *, identity_file: str | os.PathLike[str], known_hosts_file: str | os.PathLike[str]
) -> str:
    """The GIT_SSH_COMMAND that uses exactly this key and trusts exactly these hosts.

    No configuration file, agent or other key of the machine takes part, an unknown or changed
    host key fails (never accept-new), and ssh never prompts.
    """
    return shlex.join([
        "ssh", "-F", "/dev/null",
        "-i", os.fspath(identity_file), "-o", "IdentitiesOnly=yes",
        "-o", f"UserKnownHostsFile={os.fspath(known_hosts_file)}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes",
    ])  # fmt: skip


@contextlib.contextmanager
def ssh_key_command(key: SshKey) -> Iterator[str]:
    """Write `key` to a private folder (0700, files 0600) for as long as the block runs.

    Yields the GIT_SSH_COMMAND that uses it; the folder is removed when the block ends.
    """
    with tempfile.TemporaryDirectory(prefix="condatask-ssh-") as folder:
        os.chmod(folder, 0o700)
        identity = Path(folder, SSH_IDENTITY)
        known_hosts = Path(folder, SSH_KNOWN_HOSTS)
        # ssh refuses a key without its final newline, and a Secret edited on Windows has \r\n.
        _write_private(identity, key.identity.replace("\r\n", "\n").strip() + "\n")
        _write_private(known_hosts, key.known_hosts.replace("\r\n", "\n").strip() + "\n")
        yield build_ssh_command(identity_file=identity, known_hosts_file=known_hosts)


@contextlib.contextmanager
def authenticated_git_environment(
    credentials: Credentials | None, *, allow_file: bool = False, home: str | None = None
) -> Iterator[dict[str, str]]:
    """`git_environment` for `credentials`: a header, or an SSH key on disk only meanwhile."""
    if isinstance(credentials, SshKey):
        with ssh_key_command(credentials) as command:
            yield git_environment(allow_file=allow_file, ssh_command=command, home=home)
        return
    yield git_environment(allow_file=allow_file, auth_header=credentials, home=home)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


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
