"""A smart-HTTP Git server on 127.0.0.1 for tests and the demo.

It serves the bare repositories under a root directory through `git http-backend` (CGI)
behind a small threaded `http.server`, so clone, fetch, ls-remote and push behave as with a
real forge. Optional HTTP basic auth lets tests exercise credentials.

    python -m hack.git_server ROOT --port 8765
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hmac
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["GitServer", "basic_auth_header", "main"]

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
_COPY_CHUNK = 64 * 1024
AUTHOR = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
}


def basic_auth_header(username: str, password: str) -> str:
    """The `Authorization: Basic ...` header line git sends via http.extraHeader."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Authorization: Basic {token}"


class _Handler(BaseHTTPRequestHandler):
    """Translates one HTTP request into one `git http-backend` CGI call."""

    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        # Tests would drown in access logs; failures surface through git's own errors.
        return

    def _serve(self) -> None:
        user = self._authenticated_user()
        if user is None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        process = subprocess.Popen(
            [HTTP_BACKEND],
            env=self._cgi_environment(user),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        # Feed the body from a thread: http-backend may answer before it has read everything.
        feeder = threading.Thread(target=self._feed_body, args=(process.stdin,), daemon=True)
        feeder.start()
        self._relay_response(process.stdout)
        feeder.join()
        process.wait()

    def _authenticated_user(self) -> str | None:
        expected = self.server.credentials
        if expected is None:
            return ""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(token).decode().partition(":")
        except ValueError:
            return None
        wanted = f"{expected[0]}:{expected[1]}".encode()
        return username if hmac.compare_digest(f"{username}:{password}".encode(), wanted) else None

    def _cgi_environment(self, user: str) -> dict[str, str]:
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.server.root),
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
        }
        if user:
            env["REMOTE_USER"] = user
        optional = {
            "CONTENT_LENGTH": "Content-Length",
            "HTTP_CONTENT_ENCODING": "Content-Encoding",
            "GIT_PROTOCOL": "Git-Protocol",
        }
        for variable, header in optional.items():
            value = self.headers.get(header)
            if value is not None:
                env[variable] = value
        return env

    def _feed_body(self, stdin: IO[bytes]) -> None:
        with contextlib.suppress(BrokenPipeError), stdin:
            for chunk in self._request_body():
                stdin.write(chunk)

    def _request_body(self) -> Iterator[bytes]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            yield from self._chunked_body()
            return
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, _COPY_CHUNK))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk

    def _chunked_body(self) -> Iterator[bytes]:
        # git sends large pushes chunked; http-backend wants the plain body on stdin.
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return
            yield self.rfile.read(size)
            self.rfile.readline()

    def _relay_response(self, stdout: IO[bytes]) -> None:
        status, headers = _read_cgi_headers(stdout)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        # No Content-Length: the body streams until the CGI exits, then the connection closes.
        self.send_header("Connection", "close")
        self.end_headers()
        shutil.copyfileobj(stdout, self.wfile, _COPY_CHUNK)
        self.close_connection = True


def _read_cgi_headers(stdout: IO[bytes]) -> tuple[int, list[tuple[str, str]]]:
    status = 200
    headers: list[tuple[str, str]] = []
    for raw in iter(stdout.readline, b""):
        line = raw.decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return status, headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], root: Path, credentials: tuple[str, str] | None
    ) -> None:
        super().__init__(address, _Handler)
        self.root = root
        self.credentials = credentials


class GitServer:
    """Serves bare repositories `ROOT/<name>.git` at `http://127.0.0.1:PORT/<name>.git`."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._address = (host, port)
        self._credentials = (username, password or "") if username is not None else None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        self._server = _Server(self._address, self.root, self._credentials)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="git-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("The git server is not started.")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url_for(self, name: str) -> str:
        """The clone URL of repository `name` (never with credentials in it)."""
        return f"{self.base_url}/{name}.git"

    def auth_header(self) -> str | None:
        """The header line that authenticates against this server, if it needs one."""
        return basic_auth_header(*self._credentials) if self._credentials else None

    def bare_path(self, name: str) -> Path:
        return self.root / f"{name}.git"

    # Repositories ----------------------------------------------------------------------

    def create_repository(
        self, name: str, files: Mapping[str, str], *, branch: str = "main"
    ) -> str:
        """Create bare repository `name` whose `branch` holds one commit of `files`."""
        bare = self.bare_path(name)
        if bare.exists():
            raise FileExistsError(f"Repository {name} already exists at {bare}.")
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", "--", str(bare))
        git("config", "http.receivepack", "true", cwd=bare)
        with tempfile.TemporaryDirectory(prefix="git-seed-") as work:
            git("init", "--quiet", f"--initial-branch={branch}", "--", work)
            write_files(Path(work), files)
            git("add", "--all", cwd=work)
            git("commit", "--quiet", "-m", "Initial commit", cwd=work)
            self._push(work, name, branch)
        return self.url_for(name)

    def commit(
        self,
        name: str,
        files_to_write: Mapping[str, str],
        files_to_delete: Iterable[str] = (),
        message: str = "Update",
        *,
        branch: str = "main",
    ) -> str:
        """Add one commit to `branch` through a clone and an HTTP push; return its sha."""
        with tempfile.TemporaryDirectory(prefix="git-commit-") as work:
            self._git_http("clone", "--quiet", "--branch", branch, "--", self.url_for(name), work)
            write_files(Path(work), files_to_write)
            for path in files_to_delete:
                git("rm", "--quiet", "--", path, cwd=work)
            git("add", "--all", cwd=work)
            git("commit", "--quiet", "-m", message, cwd=work)
            self._push(work, name, branch)
            return git("rev-parse", "HEAD", cwd=work)

    def head(self, name: str, branch: str = "main") -> str:
        """The commit `branch` points at in the bare repository."""
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.bare_path(name))

    def _push(self, work: str, name: str, branch: str) -> None:
        self._git_http("push", "--quiet", self.url_for(name), f"HEAD:refs/heads/{branch}", cwd=work)

    def _git_http(self, *args: str, cwd: str | None = None) -> str:
        header = self.auth_header()
        extra = {}
        if header is not None:
            extra = {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": header,
            }
        return git(*args, cwd=cwd, extra=extra)


def write_files(work: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def git(
    *args: str, cwd: str | os.PathLike[str] | None = None, extra: Mapping[str, str] | None = None
) -> str:
    """Plain git for seeding test repositories, isolated from the machine's git configuration."""
    env = {
        **os.environ,
        **AUTHOR,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        **(extra or {}),
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", help="directory holding bare repositories <name>.git")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--username")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    server = GitServer(
        args.root,
        host=args.host,
        port=args.port,
        username=args.username,
        password=args.password,
    ).start()
    print(f"Serving {server.root} at {server.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
