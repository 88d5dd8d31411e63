"""The gateway's error answers, all in the contract's shape.

Every failure is raised as a `GatewayError` and rendered once, by the middleware in
`app.py`, as `{"success": false, "message": ..., "error": ...}`.
"""

from __future__ import annotations

from typing import Final

INVALID_REPOSITORY_MESSAGE: Final = "Invalid Git repository URL"
INVALID_REPOSITORY_ERROR: Final = "Failed to clone repository"
CONFIG_NOT_FOUND_MESSAGE: Final = "Repository configuration files not found"
CONFIG_NOT_FOUND_ERROR: Final = "No filter.conf or requirements.txt found in repository"


class GatewayError(Exception):
    """A failed call, with the HTTP status and the contract's `message` and `error`."""

    def __init__(self, status: int, message: str, error: str) -> None:
        super().__init__(f"{status} {message}: {error}")
        self.status = status
        self.message = message
        self.error = error

    def body(self) -> dict[str, object]:
        return {"success": False, "message": self.message, "error": self.error}


def task_not_found(task_id: str) -> GatewayError:
    return GatewayError(404, "Task not found", f"No task with ID {task_id} exists")


def invalid_repository() -> GatewayError:
    return GatewayError(400, INVALID_REPOSITORY_MESSAGE, INVALID_REPOSITORY_ERROR)


def config_not_found(*, status: int = 404) -> GatewayError:
    return GatewayError(status, CONFIG_NOT_FOUND_MESSAGE, CONFIG_NOT_FOUND_ERROR)


def unauthorized(error: str) -> GatewayError:
    return GatewayError(401, "Unauthorized", error)


def forbidden(error: str) -> GatewayError:
    return GatewayError(403, "Forbidden", error)


def timed_out(error: str) -> GatewayError:
    return GatewayError(504, "Timed out waiting for the operator", error)
