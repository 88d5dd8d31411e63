"""The error a reconcile step raises for bad input: the task stalls with a reason."""

from __future__ import annotations

from condatask.conditions import Reason


class Stall(Exception):
    """Bad input: the task cannot progress until its spec or its repository changes."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
