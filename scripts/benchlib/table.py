"""The one result table: rows of preformatted cells, rendered as Markdown. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

HEADERS = ("#", "measurement", "n", "median", "p95 / spread", "vs (baseline)", "ratio", "budget")


@dataclass(frozen=True)
class Row:
    """One line of the table; every cell is already formatted text."""

    section: str
    name: str
    n: str = ""
    median: str = ""
    spread: str = ""
    baseline: str = ""
    ratio: str = ""
    budget: str = ""

    def cells(self) -> tuple[str, ...]:
        return (self.section, self.name, self.n, self.median, self.spread, self.baseline, self.ratio, self.budget)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def render(rows: Sequence[Row]) -> str:
    """A GitHub Markdown table (readable as plain text too)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    lines += ["| " + " | ".join(_escape(c) for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines)
