"""`make demo`: the product end to end on this machine, narrated.

Brings the stack up, serves an example repository over smart HTTP on 127.0.0.1:8929,
creates a task through the REST API, shows the GitTask and its CronJob, runs the emitted
pod's steps locally once, pushes a commit, and shows GET (behind), PUT (new and changed
files) and GET again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from hack import stack
from hack.controlplane import default_layout
from hack.git_server import GitServer
from hack.pod_steps import run_pod

GIT_PORT = 8929
REPOSITORY = {
    "main.py": (
        "import sys\n\nimport condatask_greeting\nimport condatask_pip_hello\n\n"
        "print(condatask_greeting.greet('demo'), condatask_pip_hello.hello(), sys.argv[1:])\n"
    ),
    "requirements.txt": "condatask-pip-hello\n",
    "filter.conf": "[environment]\npackages = condatask-greeting\n",
    "config.ini": "[job]\ncolour = blue\n",
}


def main() -> int:
    layout = default_layout()
    env = stack.up(layout)
    base, token = env["GATEWAY_URL"], env["GATEWAY_TOKEN"]
    with GitServer(layout.cluster_dir / "git", port=GIT_PORT) as git:
        name = f"demo-{int(time.time())}"
        url = git.create_repository(name, REPOSITORY)
        _say(f"Example repository served at {url}")

        created = _call(
            "POST",
            f"{base}/api/git/tasks",
            token,
            {
                "repo_url": url,
                "branch": "main",
                "task_name": "从Git创建的任务",
                "command": "python main.py --arg value",
                "env_option": "create",
                "env_name": "my_new_env",
            },
        )
        task_id = created["task"]["task_id"]
        _kubectl(layout, "get", "gittasks", "-o", "wide")
        _kubectl(layout, "get", "cronjobs")

        _say("Running the emitted pod's steps locally (checkout, environment, run)")
        cronjob = json.loads(
            _kubectl(layout, "get", "cronjob", f"gittask-{task_id}", "-o", "json", quiet=True)
        )
        with tempfile.TemporaryDirectory(prefix="condatask-demo-") as root:
            volumes = {"environments": layout.cluster_dir / "environments"}
            for step in run_pod(cronjob, Path(root), volumes=volumes):
                print(f"--- {step.name} (exit {step.returncode})\n{step.output.rstrip()}")

        _say("Pushing two commits: one adds a file, one changes config.ini")
        git.commit(name, {"report.py": "print('report')\n"}, message="Add a report")
        git.commit(name, {"config.ini": "[job]\ncolour = green\n"}, message="Go green")
        _wait_behind(f"{base}/api/git/tasks/{task_id}", token, behind=2)
        _call("PUT", f"{base}/api/git/tasks/{task_id}", token, {"update_env": True})
        _call("GET", f"{base}/api/git/tasks/{task_id}", token)
    _say("Done. `make down` stops everything; `source .cluster/env` to explore with kubectl.")
    return 0


def _call(
    method: str, url: str, token: str, body: dict[str, Any] | None = None, *, quiet: bool = False
) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            code, reply = answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        code, reply = error.code, json.load(error)
    if not quiet:
        _say(f"{method} {url.split('://', 1)[1].split('/', 1)[1]} -> {code}")
        if body is not None:
            print("request:", json.dumps(body, ensure_ascii=False))
        print(json.dumps(reply, ensure_ascii=False, indent=2))
    if code >= 400:
        raise SystemExit(f"the gateway answered {code}")
    return reply


def _wait_behind(url: str, token: str, *, behind: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _call("GET", url, token, quiet=True)["task"]["behind_commits"] >= behind:
            _call("GET", url, token)
            return
        time.sleep(1)
    raise SystemExit("the operator did not notice the new commits in time")


def _kubectl(layout: Any, *args: str, quiet: bool = False) -> str:
    if not quiet:
        _say("kubectl " + " ".join(args))
    out = subprocess.run(
        [str(layout.bin_dir / "kubectl"), f"--kubeconfig={layout.kubeconfig}", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if not quiet:
        print(out.rstrip())
    return out


def _say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
