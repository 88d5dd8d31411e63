"""Run every benchmark, one after the other, and say how long the whole run took.

python -m benchmarks            # what `make bench` runs
"""

from __future__ import annotations

import os
import platform
import time

from benchmarks import environment, gateway, poll


def main() -> None:
    started = time.monotonic()
    print(
        f"Benchmarks on {platform.node()}: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )
    poll.run()
    environment.run()
    gateway.run()
    print(f"\nAll benchmarks ran in {time.monotonic() - started:.0f}s.")


if __name__ == "__main__":
    main()
