"""Entry point of `condatask-runner` and `python -m condatask_runner`."""

from __future__ import annotations

import sys

from condatask_runner.cli import main as _cli_main


def main() -> None:
    sys.exit(_cli_main())


if __name__ == "__main__":
    main()
