"""Generate the CustomResourceDefinitions in `crds/` from the pydantic models.

Run `python -m condatask.crd` to rewrite them, or `python -m condatask.crd --check` to fail
when the files in the repository no longer match the models (CI does this). The Helm chart
gets identical copies in `charts/condatask/crds/`, since Helm only installs CRDs from there.

Pydantic emits JSON Schema with `$ref`, `anyOf` for optional fields and titles; the API
server wants a structural OpenAPI v3 schema. The conversion inlines references, drops
the null branch of optional fields (we never write nulls) and keeps defaults, patterns
and bounds, so that the server itself validates and defaults what it can.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from condatask import models, resources

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
CHART_CRD_DIR = CRD_DIR.parent / "charts" / "condatask" / "crds"

_DROPPED_KEYS = {"title", "discriminator"}


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema made structural: no refs, no anyOf-null, no titles."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    definitions = schema.pop("$defs", {})
    converted: dict[str, Any] = _convert(schema, definitions)
    return converted


def _convert(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_convert(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, definitions)
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        if len(branches) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            merged = {**_convert(branches[0], definitions), **rest}
            if merged.get("default", "") is None:
                del merged["default"]
            return _convert(merged, definitions)
    converted = {
        key: _convert(value, definitions) for key, value in node.items() if key not in _DROPPED_KEYS
    }
    if converted.get("default", "") is None:
        del converted["default"]
    if converted.get("x-kubernetes-preserve-unknown-fields"):
        # A free-form object: the server keeps whatever the user wrote.
        converted.pop("additionalProperties", None)
    if "properties" in converted:
        converted.setdefault("type", "object")
    return converted


def _condition_columns() -> list[dict[str, Any]]:
    return [
        {
            "name": "Ready",
            "type": "string",
            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        },
        {
            "name": "Reason",
            "type": "string",
            "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
        },
    ]


def _crd(
    *,
    kind: str,
    plural: str,
    singular: str,
    short_names: tuple[str, ...],
    spec: type[BaseModel],
    status: type[BaseModel],
    columns: list[dict[str, Any]],
    required: list[str],
) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": required,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": structural_schema(spec),
            "status": structural_schema(status),
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{resources.GROUP}"},
        "spec": {
            "group": resources.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": singular,
                "shortNames": list(short_names),
                "categories": ["condatask"],
            },
            "versions": [
                {
                    "name": resources.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def gittask_crd() -> dict[str, Any]:
    columns = [
        {"name": "ID", "type": "integer", "jsonPath": ".status.taskId"},
        {"name": "Display", "type": "string", "jsonPath": ".spec.displayName"},
        {"name": "Branch", "type": "string", "jsonPath": ".spec.repository.branch"},
        {"name": "Commit", "type": "string", "jsonPath": ".status.shortCommit"},
        {"name": "Behind", "type": "integer", "jsonPath": ".status.behindCommits"},
        {"name": "Schedule", "type": "string", "jsonPath": ".spec.schedule"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        *_condition_columns(),
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd(
        kind=resources.GITTASK_KIND,
        plural=resources.GITTASK_PLURAL,
        singular=resources.GITTASK_SINGULAR,
        short_names=resources.GITTASK_SHORT_NAMES,
        spec=models.GitTaskSpec,
        status=models.GitTaskStatus,
        columns=columns,
        required=["spec"],
    )


def condaenvironment_crd() -> dict[str, Any]:
    columns = [
        {"name": "Source", "type": "string", "jsonPath": ".spec.sourceTask"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd(
        kind=resources.CONDAENV_KIND,
        plural=resources.CONDAENV_PLURAL,
        singular=resources.CONDAENV_SINGULAR,
        short_names=resources.CONDAENV_SHORT_NAMES,
        spec=models.CondaEnvironmentSpec,
        status=models.CondaEnvironmentStatus,
        columns=columns,
        required=[],
    )


def rendered() -> dict[Path, str]:
    """The text of every CRD file, by path: once in `crds/`, once in the chart."""
    header = (
        "# Generated from core/condatask/models.py by `python -m condatask.crd`. Do not edit.\n"
    )

    return {
        directory / f"{crd['metadata']['name']}.yaml": header
        + yaml.safe_dump(crd, sort_keys=False, allow_unicode=True)
        for crd in (gittask_crd(), condaenvironment_crd())
        for directory in (CRD_DIR, CHART_CRD_DIR)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="fail when crds/ or the chart's copy is stale"
    )
    args = parser.parse_args(argv)
    stale = [
        path
        for path, text in rendered().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"{path} is stale: run `python -m condatask.crd`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
