"""Pure parts of the reconcile steps: spec parsing verdicts, credentials, the script path."""

from __future__ import annotations

from typing import Any

import pytest

from condatask import gitsafety
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


@pytest.mark.parametrize("url", ["ssh://git@host/team/x.git", "git@host:team/x.git"])
def test_ssh_urls_need_a_credentials_secret(url: str) -> None:
    with pytest.raises(Stall) as stall:
        reconcile.parse_spec(_task(repository={"url": url}))
    assert stall.value.reason == Reason.INVALID_REPOSITORY_URL
    assert "secretRef" in stall.value.message and "known_hosts" in stall.value.message

    spec = reconcile.parse_spec(_task(repository={"url": url, "secretRef": {"name": "key"}}))
    assert spec.repository.url == url


SSH_URL = "ssh://git@host/team/x.git"
HOSTS = {"condatask.io/git-hosts": "host"}


def test_an_ssh_secret_gives_its_key_and_known_hosts() -> None:
    data = {"identity": "PRIVATE KEY", "known_hosts": "host ssh-ed25519 AAAA"}
    found = reconcile.credentials_from("key", (data, HOSTS), SSH_URL)
    assert found == gitsafety.SshKey(identity="PRIVATE KEY", known_hosts="host ssh-ed25519 AAAA")
    assert "PRIVATE KEY" not in repr(found)


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        ({"identity": "PRIVATE KEY"}, "'known_hosts'"),
        ({"known_hosts": "host ssh-ed25519 AAAA", "identity": " "}, "'identity'"),
        ({"username": "u", "password": "p"}, "'identity' and 'known_hosts'"),
    ],
)
def test_an_ssh_secret_without_its_keys_stalls_clearly(data: dict[str, str], missing: str) -> None:
    with pytest.raises(Stall) as stall:
        reconcile.credentials_from("key", (data, HOSTS), SSH_URL)
    assert stall.value.reason == Reason.SECRET_NOT_FOUND
    assert f"has no {missing} key" in stall.value.message
    assert "PRIVATE KEY" not in stall.value.message


def test_a_missing_secret_stalls() -> None:
    with pytest.raises(Stall) as stall:
        reconcile.credentials_from("key", None, SSH_URL)
    assert stall.value.reason == Reason.SECRET_NOT_FOUND
    assert "'key' does not exist" in stall.value.message


@pytest.mark.parametrize(
    ("url", "hosts", "allowed"),
    [
        ("https://git.example.com/x.git", "git.example.com", True),
        ("https://git.example.com:8443/x.git", "git.example.com", True),
        ("https://git.example.com:8443/x.git", "git.example.com:8443", True),
        ("https://git.example.com:8443/x.git", "git.example.com:443", False),
        ("https://evil.example.net/x.git", "git.example.com", False),
        ("https://git.example.com.evil.net/x.git", "git.example.com", False),
        ("git@git.example.com:team/x.git", "other.org, git.example.com", True),
        ("https://git.example.com/x.git", "", False),
    ],
)
def test_a_secret_goes_only_to_the_hosts_its_owner_named(
    url: str, hosts: str, allowed: bool
) -> None:
    data = {"password": "s3cret", "identity": "KEY", "known_hosts": "kh"}
    annotations = {"condatask.io/git-hosts": hosts}
    if allowed:
        assert reconcile.credentials_from("creds", (data, annotations), url)
        return
    with pytest.raises(Stall) as stall:
        reconcile.credentials_from("creds", (data, annotations), url)
    assert stall.value.reason == Reason.SECRET_NOT_ALLOWED
    assert "s3cret" not in stall.value.message


def test_an_https_secret_gives_a_basic_header() -> None:
    found = reconcile.credentials_from(
        "creds", ({"username": "u", "password": "p"}, HOSTS), "https://host/x.git"
    )
    assert found == gitsafety.basic_auth_header("u", "p")


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


def test_filter_conf_timeout_fills_an_open_spec_but_never_overrides_it() -> None:
    from condatask.filterconf import parse_filter_conf

    conf = parse_filter_conf("[task]\ntimeout = 600\n")
    assert (
        reconcile.with_repository_defaults(reconcile.parse_spec(_task()), conf).timeout_seconds
        == 600
    )
    explicit = reconcile.parse_spec(_task(timeoutSeconds=60))
    assert reconcile.with_repository_defaults(explicit, conf).timeout_seconds == 60
    assert reconcile.with_repository_defaults(explicit, None).timeout_seconds == 60
