"""Names of the objects the project creates, all derived from the task id.

A display name may be any text (the REST API's example is Chinese); a resource name must be
DNS-1123. So names come from the integer task id and never from the display name.
"""

import hashlib
import re
from typing import Final

DNS1123_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The CronJob controller appends an 11-character suffix to Job names, which must stay
# within 63 characters: hence Kubernetes' 52-character limit on CronJob names.
CRONJOB_NAME_MAX: Final = 52
LABEL_VALUE_MAX: Final = 63


def gittask_name(task_id: int) -> str:
    """Name of a GitTask created through the REST API."""
    return f"task-{task_id}"


def cronjob_name(task_id: int) -> str:
    return f"gittask-{task_id}"


def condaenvironment_name(environment: str) -> str:
    """A DNS-1123 name for a conda environment name (which may hold `_` and capitals)."""
    lowered = re.sub(r"[^a-z0-9-]+", "-", environment.lower()).strip("-") or "env"
    if lowered == environment:
        return lowered[:LABEL_VALUE_MAX]
    # Different environment names may lower to the same text: keep them apart with a
    # short digest of the original.
    digest = hashlib.sha256(environment.encode()).hexdigest()[:8]
    return f"{lowered[: LABEL_VALUE_MAX - 9]}-{digest}"


def is_dns1123_label(name: str) -> bool:
    return len(name) <= LABEL_VALUE_MAX and DNS1123_LABEL.match(name) is not None
