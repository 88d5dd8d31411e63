"""`condatask-gateway`: serve the REST API until interrupted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from condatask_api import settings as settings_module
from condatask_api.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    settings = settings_module.parse(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger(__name__).info(
        "Serving GitTasks of namespace %s on %s:%s (auth: %s)",
        settings.namespace,
        settings.host,
        settings.port,
        settings.auth,
    )
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
