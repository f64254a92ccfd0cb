"""Plain-text tables and ranges for the command line's reports."""
from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = ["table", "fmt_range", "is_number"]


def table(rows: Sequence[Sequence[Any]], header: Optional[Sequence[str]] = None,
           title: Optional[str] = None) -> str:
    """Rows as an aligned text table (with a header: numbers right-aligned)."""
    cells = [[str(c) for c in r] for r in rows]
    if header:
        cells = [list(header)] + cells
    if not cells:
        return title or ""
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(max(map(len, cells)))]
    lines = [title] if title else []
    for j, r in enumerate(cells):
        parts = [r[0].ljust(widths[0])] + [
            c.rjust(widths[i + 1]) if header and is_number(c) else c.ljust(widths[i + 1])
            for i, c in enumerate(r[1:])]
        lines.append("  " + "  ".join(parts).rstrip())
        if header and j == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def fmt_range(values, unit: str = "", fmt: str = "{}") -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    if lo == hi:
        return fmt.format(lo) + unit
    return f"{fmt.format(lo)}{unit} - {fmt.format(hi)}{unit}"
