"""Plain-text tables and small statistics shared by the benchmark scripts."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["median", "print_table", "ratio"]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(numerator: float, denominator: float) -> str:
    """`numerator / denominator` as `12.3x`, or `-` when the denominator is zero."""
    return f"{numerator / denominator:.1f}x" if denominator > 0 else "-"


def print_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], *, left: int = 1
) -> None:
    """Print a table: the first `left` columns left-aligned (labels), the rest right-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        aligned = (
            value.ljust(width) if index < left else value.rjust(width)
            for index, (value, width) in enumerate(zip(values, widths, strict=True))
        )
        return "  ".join(aligned).rstrip()

    print(f"\n{title}")
    print(line(list(headers)))
    print(line(["-" * width for width in widths]))
    for row in cells:
        print(line(row))
