"""Result rows (DESIGN.md, "Results row"): the schema, an atomic CSV append, a printed table.

Appending rewrites the whole file under a temporary name and renames it (``reid_bench.io.
atomic_path``), so a reader never sees half a row and an interrupted write leaves the old file.
"""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path
from typing import Any, Sequence

from reid_bench import io as rb_io
from reid_bench.errors import ReidBenchError

RESULT_COLUMNS = (
    "dataset", "generator", "factor", "trainer", "ranker", "seed", "rank1", "rank5", "rank10", "mAP",
    "mINP", "n_real", "n_generated", "preset", "pretrained", "perceptual", "config_hash", "commit",
    "started", "wall_s",
)
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


def append_rows(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> Path:
    """Append ``rows`` to the CSV at ``path`` (created with a header if absent), atomically."""
    path = Path(path)
    existing: list[dict[str, str]] = []
    if path.exists():
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != RESULT_COLUMNS:
                raise ReidBenchError(f"{path} has other columns than a reid-bench results file; "
                                     "give another --out file.")
            existing = list(reader)
    with rb_io.atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=RESULT_COLUMNS, extrasaction="raise")
            writer.writeheader()
            writer.writerows(existing)
            writer.writerows(rows)
    return path


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of ranker, rank-1/5/10, mAP and mINP (percentages)."""
    header = [title for _, title in TABLE_COLUMNS]
    body = [[row["ranker"]] + [f"{float(row[key]):.2f}" for key, _ in TABLE_COLUMNS[1:]] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
