"""An SSH Git server on 127.0.0.1 for tests: a private `sshd` that only runs git-shell.

It generates a host key, a client key and an sshd configuration in a private state folder,
starts `/usr/sbin/sshd -D` on a free port of 127.0.0.1, and serves the bare repositories under
a root directory at `ssh://root@127.0.0.1:PORT/<root>/<name>.git`. The client key may only run
git through git-shell (no shell, no forwarding), so the server is as narrow as a forge's.

    python -m hack.ssh_git_server ROOT
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from hack.git_server import git, write_files

__all__ = ["SSHD", "SshGitServer", "main"]

SSHD = "/usr/sbin/sshd"
# sshd refuses to start without it; systemd's ssh.service creates it, here nobody else does.
PRIVSEP_DIR = Path("/run/sshd")
# The key may run git-upload-pack / git-receive-pack through git-shell, and nothing else.
_KEY_OPTIONS = 'restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\""'
_START_ATTEMPTS = 3


class SshGitServer:
    """Serves bare repositories `ROOT/<name>.git` over SSH to one generated client key."""

    def __init__(self, root: str | os.PathLike[str], *, host: str = "127.0.0.1") -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.user = getpass.getuser()
        self.port = 0
        self._state: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        _ensure_privsep_dir()
        self._state = tempfile.TemporaryDirectory(prefix="condatask-sshd-")
        state = Path(self._state.name)
        _keygen(state / "host_key", comment="condatask test host")
        _keygen(state / "client_key", comment="condatask test client")
        public = (state / "client_key.pub").read_text(encoding="utf-8").strip()
        (state / "authorized_keys").write_text(f"{_KEY_OPTIONS} {public}\n", encoding="utf-8")
        for attempt in range(_START_ATTEMPTS):
            # A free port can be taken between the probe and sshd's bind: try another.
            self.port = _free_port(self.host)
            (state / "sshd_config").write_text(self._config(state), encoding="utf-8")
            if self._launch(state):
                return self
            if attempt == _START_ATTEMPTS - 1:
                log = (state / "sshd.log").read_text(encoding="utf-8", errors="replace")
                self.stop()
                raise RuntimeError(f"sshd did not start:\n{log}")
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._state is not None:
            self._state.cleanup()
            self._state = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _config(self, state: Path) -> str:
        return "\n".join([
            f"ListenAddress {self.host}:{self.port}",
            f"HostKey {state / 'host_key'}",
            f"PidFile {state / 'sshd.pid'}",
            f"AuthorizedKeysFile {state / 'authorized_keys'}",
            f"AllowUsers {self.user}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # The state folder lives under /tmp, which StrictModes refuses as world-writable.
            "StrictModes no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTTY no",
            "PermitUserEnvironment no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "",
        ])  # fmt: skip

    def _launch(self, state: Path) -> bool:
        """Start sshd and wait for its banner; False when it exited (the port was taken)."""
        log = (state / "sshd.log").open("ab")
        with log:
            self._process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(state / "sshd_config")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            if _banner(self.host, self.port):
                return True
            time.sleep(0.05)
        return False

    # Addresses and keys ----------------------------------------------------------------

    def url_for(self, name: str) -> str:
        """The clone URL of repository `name`."""
        return f"ssh://{self.user}@{self.host}:{self.port}{self.bare_path(name)}"

    def bare_path(self, name: str) -> Path:
        return self.root / f"{name}.git"

    @property
    def identity(self) -> str:
        """The client's OpenSSH private key: what a Secret's `identity` holds."""
        return self._state_file("client_key")

    @property
    def identity_path(self) -> Path:
        """Where the client's private key lives while the server runs."""
        self._state_file("client_key")
        assert self._state is not None
        return Path(self._state.name) / "client_key"

    @property
    def known_hosts(self) -> str:
        """A known_hosts line for this server's host key: what a Secret's `known_hosts` holds."""
        key_type, key = self._state_file("host_key.pub").split()[:2]
        return f"[{self.host}]:{self.port} {key_type} {key}\n"

    def _state_file(self, name: str) -> str:
        if self._state is None:
            raise RuntimeError("The SSH git server is not started.")
        return (Path(self._state.name) / name).read_text(encoding="utf-8")

    # Repositories ----------------------------------------------------------------------

    def create_repository(
        self, name: str, files: Mapping[str, str], *, branch: str = "main"
    ) -> str:
        """Create bare repository `name` whose `branch` holds one commit of `files`."""
        bare = self.bare_path(name)
        if bare.exists():
            raise FileExistsError(f"Repository {name} already exists at {bare}.")
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", "--", str(bare))
        self.commit(name, files, message="Initial commit", branch=branch)
        return self.url_for(name)

    def commit(
        self,
        name: str,
        files: Mapping[str, str],
        *,
        message: str = "Update",
        branch: str = "main",
    ) -> str:
        """Add one commit of `files` on top of `branch` (pushed on disk); return its sha."""
        bare = str(self.bare_path(name))
        with tempfile.TemporaryDirectory(prefix="git-seed-") as work:
            git("init", "--quiet", f"--initial-branch={branch}", "--", work)
            if git("ls-remote", "--heads", "--", bare, branch):
                git("pull", "--quiet", "--", bare, branch, cwd=work)
            write_files(Path(work), files)
            git("add", "--all", cwd=work)
            git("commit", "--quiet", "-m", message, cwd=work)
            git("push", "--quiet", "--", bare, f"HEAD:refs/heads/{branch}", cwd=work)
            return git("rev-parse", "HEAD", cwd=work)

    def head(self, name: str, branch: str = "main") -> str:
        """The commit `branch` points at in the bare repository."""
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.bare_path(name))


def _ensure_privsep_dir() -> None:
    if PRIVSEP_DIR.is_dir():
        return
    try:
        PRIVSEP_DIR.mkdir(mode=0o755)
    except OSError as error:
        raise RuntimeError(f"sshd needs {PRIVSEP_DIR} and it cannot be created: {error}") from error


def _keygen(path: Path, *, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _banner(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            return connection.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", help="directory holding bare repositories <name>.git")
    args = parser.parse_args(argv)
    with SshGitServer(args.root) as server:
        print(f"Serving {server.root} at ssh://{server.user}@{server.host}:{server.port}")
        print(f"identity: {server.identity_path}")
        print(f"known_hosts: {server.known_hosts}", end="", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
