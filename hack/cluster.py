"""Command line of the test control plane: `build`, `up`, `down`, `status`, `env`.

Run as `python hack/cluster.py <command>` (what the Makefile and CI do) or `python -m
hack.cluster <command>`; the work is done by the `hack.controlplane` package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make the repository root importable so `hack.controlplane` resolves.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hack.controlplane import binaries, cluster, default_layout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build (or reuse) the binaries and link kubectl and helm")
    commands.add_parser("up", help="start the control plane unless it is already healthy")
    commands.add_parser("down", help="stop the control plane and remove its data")
    commands.add_parser("status", help="exit 0 when the control plane is up and ready")
    commands.add_parser("env", help="print shell exports for KUBECONFIG and PATH")
    args = parser.parse_args(argv)

    layout = default_layout()
    try:
        if args.command == "build":
            binaries.build_all(layout)
        elif args.command == "up":
            cluster.up(layout)
        elif args.command == "down":
            cluster.down(layout)
        elif args.command == "status":
            return _print_status(cluster.status(layout))
        elif args.command == "env":
            print("\n".join(cluster.env_lines(layout)))
    except (binaries.BuildError, RuntimeError, TimeoutError) as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 1
    return 0


def _print_status(found: cluster.ClusterStatus) -> int:
    if found.server is None:
        print("status: not running")
        return 1
    processes = ", ".join(f"{name} {'up' if up else 'DOWN'}" for name, up in found.running.items())
    print(f"status: {found.server} ready={found.ready} ({processes})")
    return 0 if found.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
