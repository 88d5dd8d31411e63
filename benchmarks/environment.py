"""The runner's `environment` step: cold build, warm rebuild and no-op, against plain uv.

`condatask-runner environment` runs as a child process against the local conda channel and
wheelhouse of `hack.conda_channel` (no network), for a source holding the test task's files:

- cold: a new envs dir, so empty package caches (rattler's and uv's);
- warm: a second environment in the same envs dir, so the caches are full;
- no-op: the second environment again; its recorded content hash matches.

The peer does only the pip part, with the same wheelhouse: `uv venv --python <base
interpreter>` then `uv pip install -r requirements.txt` (cold: empty uv cache; warm: a new
venv, full cache; no-op: the install again into a venv that has everything). Wall time and
the peak RSS of the child (its own or its children's, whichever is larger), from GNU time.

    python -m benchmarks.environment
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.table import median, print_table, ratio
from condatask_runner.environment import uv_binary
from hack.conda_channel import TestArtifacts, build_all
from tests.support.runner_steps import TASK_FILES, RunnerCommand

REPEATS = 3
CASES = ("cold", "warm", "no-op")
STEP_TIMEOUT = 120.0
GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mib: float

    def then(self, other: Measurement) -> Measurement:
        """Two steps one after the other: the times add up, the peak is the larger one."""
        return Measurement(self.seconds + other.seconds, max(self.peak_rss_mib, other.peak_rss_mib))


def measure(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None) -> Measurement:
    """Run `argv` to completion under GNU time; its wall time and peak RSS."""
    # Not wait4 on our own child: a child started with vfork inherits this process's peak
    # RSS at exec, so every figure would floor at ours. GNU time forks from a small process.
    with tempfile.NamedTemporaryFile(mode="r") as rss, tempfile.TemporaryFile() as output:
        command = [GNU_TIME, "--format=%M", f"--output={rss.name}", *argv]
        started = time.perf_counter()
        result = subprocess.run(
            command,
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(argv[:4])} exited {result.returncode}: {tail}")
        # The last line is the figure; a killed child would put a notice before it.
        peak_kib = int(rss.read().split()[-1])
    return Measurement(seconds, peak_kib / 1024)


def child_environment(artifacts: TestArtifacts) -> dict[str, str]:
    """Ours, with uv limited to the local wheelhouse and no inherited venv or cache."""
    environ = dict(os.environ, UV_NO_INDEX="1", UV_FIND_LINKS=str(artifacts.wheelhouse))
    for name in ("VIRTUAL_ENV", "UV_CACHE_DIR"):
        environ.pop(name, None)
    return environ


def runner_cases(artifacts: TestArtifacts, source: Path, scratch: Path) -> dict[str, Measurement]:
    runner = RunnerCommand(environ=child_environment(artifacts))
    envs_dir = scratch / "envs"

    def environment(name: str) -> Measurement:
        argv = runner.argv(
            "environment",
            f"--name={name}",
            f"--envs-dir={envs_dir}",
            f"--source={source}",
            f"--channel={artifacts.channel_url}",
        )
        return measure(argv, env=runner.environ)

    return {
        "cold": environment("first"),
        "warm": environment("second"),
        "no-op": environment("second"),
    }


def peer_cases(artifacts: TestArtifacts, source: Path, scratch: Path) -> dict[str, Measurement]:
    environ = dict(child_environment(artifacts), UV_CACHE_DIR=str(scratch / "uv-cache"))
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    uv = uv_binary()

    def create(venv: Path) -> Measurement:
        return measure([uv, "venv", "--quiet", "--python", base, str(venv)], env=environ)

    def install(venv: Path) -> Measurement:
        argv = [
            uv,
            "pip",
            "install",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            "requirements.txt",
        ]
        return measure(argv, env=environ, cwd=source)

    first, second = scratch / "peer-first", scratch / "peer-second"
    return {
        "cold": create(first).then(install(first)),
        "warm": create(second).then(install(second)),
        "no-op": install(second),
    }


def run() -> dict[str, dict[str, Measurement]]:
    runs: dict[str, list[dict[str, Measurement]]] = {"runner": [], "uv peer": []}
    with tempfile.TemporaryDirectory(prefix="bench-env-") as root:
        artifacts = build_all(Path(root) / "artifacts")
        source = Path(root) / "source"
        source.mkdir()
        for name, text in TASK_FILES.items():
            (source / name).write_text(text)
        for repeat in range(REPEATS):
            # Fresh directories per repeat: "cold" must start from empty caches every time.
            scratch = Path(root) / f"repeat-{repeat}"
            runs["runner"].append(runner_cases(artifacts, source, scratch / "runner"))
            runs["uv peer"].append(peer_cases(artifacts, source, scratch / "peer"))
    medians = {
        who: {case: _median(case_runs, case) for case in CASES} for who, case_runs in runs.items()
    }
    report(medians)
    return medians


def _median(runs: list[dict[str, Measurement]], case: str) -> Measurement:
    return Measurement(
        median([run[case].seconds for run in runs]),
        median([run[case].peak_rss_mib for run in runs]),
    )


def report(medians: dict[str, dict[str, Measurement]]) -> None:
    ours, peer = medians["runner"], medians["uv peer"]
    rows = [
        (
            case,
            f"{ours[case].seconds:.3f}",
            f"{peer[case].seconds:.3f}",
            ratio(ours[case].seconds, peer[case].seconds),
            f"{ours[case].peak_rss_mib:.0f}",
            f"{peer[case].peak_rss_mib:.0f}",
            ratio(ours[case].peak_rss_mib, peer[case].peak_rss_mib),
        )
        for case in CASES
    ]
    print_table(
        f"Environment step vs uv venv + uv pip install (median of {REPEATS}; RSS in MiB)",
        ("case", "runner s", "uv s", "runner/uv", "runner RSS", "uv RSS", "runner/uv"),
        rows,
    )


if __name__ == "__main__":
    run()
