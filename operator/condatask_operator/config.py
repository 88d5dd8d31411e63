"""Operator settings, read once from the environment (the Helm chart sets them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field

ENV_PREFIX = "CONDATASK_"


class Settings(BaseModel):
    runner_image: str = "condatask:0.1.0"
    image_pull_policy: str = "IfNotPresent"
    environments_claim: str = Field(
        "condatask-environments", description="PVC holding the conda environments."
    )
    workspace_path: str = "/workspace"
    environments_path: str = "/opt/condatask/envs"
    channels: list[str] = ["conda-forge"]
    runner_env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment of the pod's containers, e.g. UV_INDEX_URL.",
    )
    poll_interval: float = Field(60.0, gt=0, description="Seconds between remote fetches.")
    cache_dir: Path = Path.home() / ".cache" / "condatask" / "repositories"
    namespaces: list[str] = Field(
        default_factory=list, description="Namespaces to watch; all when empty."
    )

    @property
    def checkout_path(self) -> str:
        return f"{self.workspace_path}/repo"


def _list(text: str) -> list[str]:
    return [item for item in (part.strip() for part in text.split(",")) if item]


def load(environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    raw: dict[str, object] = {}
    for name in Settings.model_fields:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is None:
            continue
        if name in ("channels", "namespaces"):
            raw[name] = _list(value)
        elif name == "runner_env":
            raw[name] = json.loads(value)
        else:
            raw[name] = value
    return Settings.model_validate(raw)
