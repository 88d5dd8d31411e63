"""The gateway's settings, from command-line flags with environment fallbacks."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Literal

AuthMode = Literal["bearer", "none"]


@dataclasses.dataclass(frozen=True)
class Settings:
    namespace: str = "default"
    host: str = "127.0.0.1"
    port: int = 8080
    # bearer: every GitTask call carries the caller's token; none: the gateway's own
    # identity for everything (local development only).
    auth: AuthMode = "bearer"
    # How long POST and PUT wait for the operator's verdict before answering 504.
    verdict_timeout: float = 60.0

    @property
    def forward_tokens(self) -> bool:
        return self.auth == "bearer"


def parse(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(
        prog="condatask-gateway",
        description="REST gateway of the Conda Task Manager: the Git task API over GitTasks.",
    )
    parser.add_argument(
        "--namespace",
        default=env.get("CONDATASK_NAMESPACE", Settings.namespace),
        help="namespace of the GitTasks (env CONDATASK_NAMESPACE; default %(default)s)",
    )
    parser.add_argument("--host", default=Settings.host, help="listen address (%(default)s)")
    parser.add_argument("--port", type=int, default=Settings.port, help="port (%(default)s)")
    parser.add_argument(
        "--auth",
        choices=["bearer", "none"],
        default=Settings.auth,
        help="bearer: forward each caller's token to Kubernetes (default); "
        "none: use the gateway's own identity (local development only)",
    )
    parser.add_argument(
        "--verdict-timeout",
        type=float,
        default=Settings.verdict_timeout,
        help="seconds to wait for the operator's verdict (%(default)s)",
    )
    args = parser.parse_args(argv)
    if args.verdict_timeout <= 0:
        parser.error("--verdict-timeout must be positive")
    return Settings(
        namespace=args.namespace,
        host=args.host,
        port=args.port,
        auth=args.auth,
        verdict_timeout=args.verdict_timeout,
    )
