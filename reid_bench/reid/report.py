"""What ``reid-bench evaluate`` prints, and the commit recorded in its result rows.

The rows themselves are validated and appended by :mod:`reid_bench.results.rows`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Sequence

TABLE_COLUMNS = (("ranker", "ranker"), ("rank1", "rank-1"), ("rank5", "rank-5"), ("rank10", "rank-10"),
                 ("mAP", "mAP"), ("mINP", "mINP"))


def git_commit() -> str:
    """The commit of the reid-bench source tree, else ``unknown``."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of ranker, rank-1/5/10, mAP and mINP (percentages)."""
    header = [title for _, title in TABLE_COLUMNS]
    body = [[row["ranker"]] + [f"{float(row[key]):.2f}" for key, _ in TABLE_COLUMNS[1:]] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
