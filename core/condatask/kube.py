"""Connections to the Kubernetes API shared by the operator and the gateway."""

from __future__ import annotations

import json
import os

from kubernetes_asyncio import client, config


async def api_client() -> client.ApiClient:
    """A client from the in-cluster service account, else from KUBECONFIG / ~/.kube/config."""
    configuration = client.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        await config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return client.ApiClient(configuration)


def is_status(error: BaseException, *codes: int) -> bool:
    """True when `error` is an API error with one of the HTTP status codes."""
    return isinstance(error, client.ApiException) and error.status in codes


def api_message(error: BaseException) -> str:
    """The API server's own explanation of a failed call, for logs and conditions."""
    if not isinstance(error, client.ApiException):
        return str(error)
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or f"{error.status} {error.reason}")[:1000]
