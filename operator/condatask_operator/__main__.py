"""Run the operator: `condatask-operator [--namespace NS ...]` (all namespaces by default)."""

from __future__ import annotations

import argparse
import asyncio
import logging

import kopf

from condatask_operator import handlers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="condatask-operator", description=__doc__)
    parser.add_argument(
        "--namespace",
        action="append",
        default=[],
        help="watch this namespace (repeatable); all namespaces when absent",
    )
    parser.add_argument(
        "--liveness", default="http://127.0.0.1:8081/healthz", help="liveness endpoint URL"
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The client's debug log prints whole response bodies, Secrets included: never show it.
    logging.getLogger("kubernetes_asyncio").setLevel(logging.INFO)
    namespaces = args.namespace or handlers.SETTINGS.namespaces
    handlers.SETTINGS.namespaces = namespaces  # the poll covers the same namespaces
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=True,
            liveness_endpoint=args.liveness,
        )
    )


if __name__ == "__main__":
    main()
