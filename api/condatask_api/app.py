"""The aiohttp application: routes, the error middleware and the Kubernetes client's life."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from kubernetes_asyncio import client

from condatask import kube
from condatask_api import errors, routes
from condatask_api.cluster import Cluster
from condatask_api.errors import GatewayError
from condatask_api.settings import Settings

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(settings: Settings, *, api: client.ApiClient | None = None) -> web.Application:
    """The gateway. With `api` the caller owns that client; without, the app makes its own."""
    app = web.Application(middlewares=[_require_token, _contract_errors])
    app[routes.SETTINGS] = settings
    app.add_routes(routes.routes)
    app.cleanup_ctx.append(_cluster_context(settings, api))
    return app


def _cluster_context(
    settings: Settings, api: client.ApiClient | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        own = api or await kube.api_client()
        app[routes.CLUSTER] = Cluster(
            own, namespace=settings.namespace, forward_tokens=settings.forward_tokens
        )
        if not settings.forward_tokens:
            logger.warning(
                "Authorization is off (--auth none): every caller acts with the gateway's "
                "own Kubernetes identity. Use this for local development only."
            )
        yield
        if api is None:
            await own.close()

    return context


@web.middleware
async def _require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """In bearer mode the API answers nobody without a token, before looking at anything."""
    settings = request.app[routes.SETTINGS]
    if (
        settings.forward_tokens
        and request.path.startswith("/api/")
        and routes.bearer_token(request) is None
    ):
        error = errors.unauthorized("A bearer token is required")
        return web.json_response(
            error.body(), status=error.status, headers={"WWW-Authenticate": "Bearer"}
        )
    return await handler(request)


@web.middleware
async def _contract_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every failure in the contract's `{"success": false, ...}` shape."""
    try:
        return await handler(request)
    except GatewayError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return web.json_response(error.body(), status=error.status, headers=headers)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        body = {"success": False, "message": error.reason, "error": error.text or error.reason}
        return web.json_response(body, status=error.status)
    except Exception:
        logger.exception("Unexpected failure on %s %s", request.method, request.path)
        body = {"success": False, "message": "Internal server error", "error": "Unexpected error"}
        return web.json_response(body, status=500)
