"""The gateway's only door to the Kubernetes API.

Two identities meet here. The task-id counter is advanced with the gateway's own
credentials: an id grants nothing. Every GitTask call (create, read, list, patch, delete)
is made, in bearer mode, with the caller's token and nothing else, so the REST API can
never do more for a caller than Kubernetes RBAC would let them do themselves. Before an id
is taken for a caller, the API server is asked (as the caller) whether they may create
gittasks at all, so a rejected token or a missing Role never advances the counter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from kubernetes_asyncio import client

from condatask import resources, taskids
from condatask_api import errors, mapping
from condatask_api.errors import GatewayError

logger = logging.getLogger(__name__)

_MERGE_PATCH = "application/merge-patch+json"
# Polling the task while waiting for the operator: fast at first (most verdicts come in
# well under a second), then gentler on the API server.
_FIRST_DELAY = 0.1
_MAX_DELAY = 1.0


def caller_configuration(own: client.Configuration, token: str) -> client.Configuration:
    """A configuration for the gateway's cluster that authenticates with `token` alone.

    Host, CA and TLS settings come from the gateway's own configuration; its credentials
    (client certificate, token, refresh hook) do not, or they would win over the caller's.
    """
    configuration = client.Configuration(
        host=own.host,
        api_key={"BearerToken": token},
        api_key_prefix={"BearerToken": "Bearer"},
        ssl_ca_cert=own.ssl_ca_cert,
    )
    configuration.verify_ssl = own.verify_ssl
    configuration.assert_hostname = own.assert_hostname
    configuration.tls_server_name = own.tls_server_name
    configuration.proxy = own.proxy
    return configuration


class Cluster:
    """The gateway's connection: its own client, and the GitTasks of one namespace."""

    def __init__(self, own: client.ApiClient, *, namespace: str, forward_tokens: bool) -> None:
        self.own = own
        self.namespace = namespace
        self.forward_tokens = forward_tokens

    async def allocate_task_id(self) -> int:
        try:
            return await taskids.allocate(self.own, self.namespace)
        except (client.ApiException, taskids.TaskIdUnavailable) as error:
            logger.error("Could not allocate a task id in %s: %s", self.namespace, error)
            raise GatewayError(
                503, "Could not allocate a task id", "The task id counter is unavailable"
            ) from None

    @contextlib.asynccontextmanager
    async def tasks_for(self, token: str | None) -> AsyncIterator[GitTasks]:
        """The GitTasks as the caller may see them (bearer mode) or as the gateway does."""
        if not self.forward_tokens:
            yield GitTasks(self.own, self.namespace)
            return
        if not token:
            raise errors.unauthorized("A bearer token is required")
        configuration = caller_configuration(self.own.configuration, token)
        async with client.ApiClient(configuration) as api:
            yield GitTasks(api, self.namespace)


class GitTasks:
    """GitTask calls in one namespace with one identity; API errors become GatewayErrors."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.objects = client.CustomObjectsApi(api)
        self.authorization = client.AuthorizationV1Api(api)
        self.namespace = namespace

    async def check_may_create(self) -> None:
        """Raise the 401 or 403 a create would get, without creating anything.

        A SelfSubjectAccessReview made with this identity: the API server authenticates the
        token (401 when it does not) and answers what RBAC allows. Every authenticated user
        may make one (the default `system:basic-user` role).
        """
        attributes = client.V1ResourceAttributes(
            group=resources.GROUP,
            resource=resources.GITTASK_PLURAL,
            verb="create",
            namespace=self.namespace,
        )
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
        )
        try:
            answer = await self.authorization.create_self_subject_access_review(review)
        except client.ApiException as error:
            raise self._translate(error, verb="create") from None
        if not (answer.status and answer.status.allowed):
            raise self._forbidden(verb="create")

    async def create(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """Create the task; None when its name is taken (the caller picks another id)."""
        try:
            created: dict[str, Any] = await self.objects.create_namespaced_custom_object(
                *self._kind(), body=manifest
            )
        except client.ApiException as error:
            if error.status == 409:
                return None
            if error.status == 422:
                raise mapping.rejection_error(_status_body(error)) from None
            raise self._translate(error, verb="create") from None
        return created

    async def get(self, name: str) -> dict[str, Any] | None:
        try:
            task: dict[str, Any] = await self.objects.get_namespaced_custom_object(
                *self._kind(), name
            )
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise self._translate(error, verb="get") from None
        return task

    async def find(self, task_id: int) -> dict[str, Any] | None:
        """The task with this id, whatever its name (tasks made with kubectl too)."""
        try:
            found = await self.objects.list_namespaced_custom_object(
                *self._kind(), label_selector=f"{resources.LABEL_TASK_ID}={task_id}"
            )
        except client.ApiException as error:
            raise self._translate(error, verb="list") from None
        items: list[dict[str, Any]] = found.get("items") or []
        if len(items) > 1:
            logger.warning("Several GitTasks in %s carry task id %s", self.namespace, task_id)
        return items[0] if items else None

    async def request_update(self, name: str, *, request: str, update_env: bool) -> None:
        annotations = {
            resources.ANNOTATION_UPDATE_REQUESTED: request,
            resources.ANNOTATION_UPDATE_ENVIRONMENT: "true" if update_env else "false",
        }
        try:
            await self.objects.patch_namespaced_custom_object(
                *self._kind(),
                name,
                body={"metadata": {"annotations": annotations}},
                _content_type=_MERGE_PATCH,
            )
        except client.ApiException as error:
            raise self._translate(error, verb="patch") from None

    async def delete(self, name: str) -> None:
        try:
            await self.objects.delete_namespaced_custom_object(*self._kind(), name)
        except client.ApiException as error:
            if error.status != 404:
                raise self._translate(error, verb="delete") from None

    async def wait_for(
        self, name: str, *, done: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """Poll the task until `done` holds, or None if it vanished. The caller bounds it."""
        delay = _FIRST_DELAY
        while True:
            task = await self.get(name)
            if task is None or done(task):
                return task
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, _MAX_DELAY)

    def _kind(self) -> tuple[str, str, str, str]:
        return (resources.GROUP, resources.VERSION, self.namespace, resources.GITTASK_PLURAL)

    def _translate(self, error: client.ApiException, *, verb: str) -> GatewayError:
        # The API server's own message names the caller's user, never the token; still,
        # our answers are built from known words only.
        if error.status == 401:
            return errors.unauthorized("The Kubernetes API did not accept the bearer token")
        if error.status == 403:
            return self._forbidden(verb=verb)
        logger.error("Kubernetes API error on %s gittasks: %s %s", verb, error.status, error.reason)
        return GatewayError(
            502, "Kubernetes API error", f"The Kubernetes API answered {error.status} on {verb}"
        )

    def _forbidden(self, *, verb: str) -> GatewayError:
        return errors.forbidden(
            f"Kubernetes RBAC does not allow this caller to {verb} gittasks "
            f"in namespace {self.namespace}"
        )


def _status_body(error: client.ApiException) -> dict[str, Any]:
    try:
        body = json.loads(error.body or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
