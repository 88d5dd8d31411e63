"""The runner's failure type, light to import so the command line can catch it cheaply."""

from __future__ import annotations

__all__ = ["StepFailed"]


class StepFailed(RuntimeError):
    """A step could not finish (remote, solve, install, missing environment); may be retried.

    Bad input is a `ValueError` instead: retrying it cannot help.
    """
