"""The generated CRDs: structural, defaulted, and in step with the models."""

from __future__ import annotations

from typing import Any

from condatask import crd, names, schedule
from condatask.conditions import summarise


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(n for value in node.values() for n in _walk(value))]
    if isinstance(node, list):
        return [n for item in node for n in _walk(item)]
    return []


def test_schemas_are_structural() -> None:
    for definition in (crd.gittask_crd(), crd.condaenvironment_crd()):
        nodes = _walk(definition["spec"]["versions"][0]["schema"])
        assert not [n for n in nodes if "$ref" in n or "anyOf" in n or "title" in n]


def test_server_side_defaults_are_in_the_schema() -> None:
    spec = crd.gittask_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"][
        "spec"
    ]
    assert spec["properties"]["schedule"]["default"] == "*/10 * * * *"
    assert spec["properties"]["repository"]["properties"]["branch"]["default"] == "main"
    assert set(spec["required"]) == {"repository", "command", "environment"}


def test_committed_crds_match_the_models() -> None:
    assert crd.main(["--check"]) == 0, "run `python -m condatask.crd` and commit crds/"


def test_environment_names_become_dns1123_and_stay_distinct() -> None:
    a, b = names.condaenvironment_name("My_Env"), names.condaenvironment_name("my-env")
    assert names.is_dns1123_label(a) and names.is_dns1123_label(b)
    assert a != b
    assert names.condaenvironment_name("my-env") == "my-env"


def test_next_run_matches_the_schedule() -> None:
    after = schedule.parse_rfc3339("2025-05-01T10:31:10Z")
    assert schedule.rfc3339(schedule.next_run("*/10 * * * *", after=after)) == (
        "2025-05-01T10:40:00Z"
    )
    assert schedule.rest_time("2025-05-01T10:30:00Z") == "2025-05-01 10:30:00"


def test_conditions_agree_with_each_other() -> None:
    from condatask.conditions import Reason

    stalled = {c["type"]: c for c in summarise(generation=3, stalled=(Reason.INVALID_SPEC, "x"))}
    assert (stalled["Ready"]["status"], stalled["Stalled"]["status"]) == ("False", "True")
    assert stalled["Ready"]["observedGeneration"] == 3
    ready = {c["type"]: c for c in summarise(generation=3, previous=list(stalled.values()))}
    assert (ready["Ready"]["status"], ready["Stalled"]["status"]) == ("True", "False")
