"""Pure parts of the reconcile steps: spec parsing verdicts and the script path."""

from __future__ import annotations

from typing import Any

import pytest

from condatask.conditions import Reason
from condatask_operator import reconcile
from condatask_operator.stall import Stall


def _task(**spec: Any) -> dict[str, Any]:
    raw = {
        "repository": {"url": "https://git.example.com/team/jobs.git", "branch": "main"},
        "command": "python main.py",
        "environment": {"name": "env"},
        **spec,
    }
    return {"metadata": {"name": "t", "namespace": "n"}, "spec": raw}


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"repository": {"url": "ext::sh -c touch% /tmp/pwned"}}, Reason.INVALID_REPOSITORY_URL),
        ({"repository": {"url": "https://u:p@host/x.git"}}, Reason.INVALID_REPOSITORY_URL),
        (
            {"repository": {"url": "https://h/x.git", "branch": "--upload-pack=x"}},
            Reason.INVALID_SPEC,
        ),
        ({"schedule": "every minute"}, Reason.INVALID_SPEC),
        ({"schedule": "* * * * *", "timeZone": "Mars/Olympus"}, Reason.INVALID_SPEC),
        ({"command": ""}, Reason.INVALID_SPEC),
    ],
)
def test_bad_specs_stall_with_a_reason(spec: dict[str, Any], reason: Reason) -> None:
    with pytest.raises(Stall) as stall:
        reconcile.parse_spec(_task(**spec))
    assert stall.value.reason == reason
    assert stall.value.message


def test_a_good_spec_parses_with_defaults() -> None:
    spec = reconcile.parse_spec(_task())
    assert spec.schedule == "*/10 * * * *"
    assert spec.environment.mode == "Create"


@pytest.mark.parametrize(
    ("command", "path"),
    [
        ("python main.py --arg value", "/workspace/repo/main.py"),
        ("python ./jobs/run.py", "/workspace/repo/jobs/run.py"),
        ("python -m package.module", "/workspace/repo"),
        ("python '/opt/tools/x.py'", "/opt/tools/x.py"),
        ("python 'unbalanced.py", "/workspace/repo/'unbalanced.py"),
    ],
)
def test_script_path_follows_the_command(command: str, path: str) -> None:
    assert reconcile.script_path(command, "/workspace/repo") == path


def test_a_user_name_in_an_https_url_is_refused_as_a_credential() -> None:
    with pytest.raises(Stall) as stall:
        reconcile.parse_spec(_task(repository={"url": "https://ghp_token@host/team/x.git"}))
    assert stall.value.reason == Reason.INVALID_REPOSITORY_URL
    assert "ghp_token" not in stall.value.message


def test_ssh_urls_stall_with_a_clear_reason_until_they_are_supported() -> None:
    for url in ("ssh://git@host/team/x.git", "git@host:team/x.git"):
        with pytest.raises(Stall) as stall:
            reconcile.parse_spec(_task(repository={"url": url}))
        assert stall.value.reason == Reason.INVALID_REPOSITORY_URL
        assert "SSH" in stall.value.message


@pytest.mark.parametrize("quantity", ["lots", "1 GB", "--1", "1.5.5"])
def test_resources_must_be_quantities(quantity: str) -> None:
    with pytest.raises(Stall) as stall:
        reconcile.parse_spec(_task(resources={"requests": {"cpu": quantity}}))
    assert stall.value.reason == Reason.INVALID_SPEC
    assert "spec.resources.requests.cpu" in stall.value.message


def test_good_quantities_pass() -> None:
    spec = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": 2, "memory": "1e9"}}
    assert reconcile.parse_spec(_task(resources=spec)).resources == spec


def test_a_schedule_that_never_fires_is_invalid() -> None:
    with pytest.raises(Stall) as stall:
        reconcile.parse_spec(_task(schedule="0 0 31 2 *"))
    assert stall.value.reason == Reason.INVALID_SPEC
    assert "never fires" in stall.value.message
