"""Command line of the task runner: one sub-command per step of a task's pod.

The same command runs in the pod (init containers `checkout` and `environment`, main
container `run`) and on a laptop, so what the tests run is what the cluster runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from condatask_runner.errors import StepFailed

__all__ = ["build_parser", "main"]

# Exit codes: 1 = the step failed (remote, solve, install), 2 = bad input (never retry).
_FAILED = 1
_INVALID = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="condatask-runner", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    _add_checkout(steps.add_parser("checkout", help="check out the recorded commit"))
    _add_environment(steps.add_parser("environment", help="make the environment match"))
    _add_run(steps.add_parser("run", help="run the command inside the environment"))
    return parser


def _add_checkout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo-url", required=True)
    parser.add_argument("--branch", required=True)
    parser.add_argument("--commit", required=True, help="the recorded commit id")
    parser.add_argument("--dest", required=True, type=Path)
    parser.add_argument(
        "--auth-header-file",
        type=Path,
        help="file holding an HTTP Authorization header value (a mounted Secret)",
    )
    parser.add_argument(
        "--credentials-dir",
        type=Path,
        help="a mounted credentials Secret: files `password` and optionally `username` (HTTP), "
        "or `identity` and `known_hosts` (SSH)",
    )
    parser.add_argument("--allow-file-url", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=_checkout)


def _add_environment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True)
    parser.add_argument("--envs-dir", required=True, type=Path)
    parser.add_argument("--source", required=True, type=Path, help="the checkout")
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        help="conda channel searched before the repository's own (repeatable)",
    )
    parser.add_argument(
        "--override-channels",
        action="store_true",
        help="use only the --channel channels, ignoring the repository's",
    )
    parser.add_argument("--cache-dir", type=Path, help="package cache (default ENVS_DIR/.cache)")
    parser.add_argument(
        "--keep-existing",
        action="store_true",
        help="leave an environment that was built before as it is; only create a missing one",
    )
    parser.set_defaults(handler=_environment)


def _add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--envs-dir", required=True, type=Path)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--command", help='the command as one string, e.g. "python main.py"')
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND...")
    parser.set_defaults(handler=_run)


# Each step imports its own modules: `run` starts the task without loading git or rattler.


def _checkout(args: argparse.Namespace) -> int:
    from condatask.gitsafety import Credentials
    from condatask_runner.checkout import checkout, read_auth_header, read_credentials_dir

    credentials: Credentials | None = None
    if args.auth_header_file:
        credentials = read_auth_header(args.auth_header_file)
    if args.credentials_dir:
        credentials = read_credentials_dir(args.credentials_dir)
    result = checkout(
        repo_url=args.repo_url,
        branch=args.branch,
        commit=args.commit,
        dest=args.dest,
        credentials=credentials,
        allow_file=args.allow_file_url,
    )
    print(result.summary(repo_url=args.repo_url, branch=args.branch), flush=True)
    return 0


def _environment(args: argparse.Namespace) -> int:
    from condatask_runner.environment import ensure_environment
    from condatask_runner.requirements import read_requirements

    requirements = read_requirements(
        args.source,
        extra_channels=tuple(args.channel),
        override_channels=args.override_channels,
    )
    result = ensure_environment(
        name=args.name,
        envs_dir=args.envs_dir,
        source=args.source,
        requirements=requirements,
        cache_dir=args.cache_dir,
        keep_existing=args.keep_existing,
    )
    print(result.summary(args.name), flush=True)
    return 0


def _run(args: argparse.Namespace) -> int:
    from condatask_runner.run import exec_command, parse_command

    words = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    argv = parse_command(command=args.command, argv=words)
    exec_command(prefix=args.envs_dir / args.env, workdir=args.workdir, argv=argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ValueError as error:
        # Every invalid input (URL, branch, commit, filter.conf, environment.yml) lands here.
        print(f"error: {error}", file=sys.stderr)
        return _INVALID
    except StepFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return _FAILED
