"""``reid-bench tables``: every table (and the gain figure) of some result files, written to a folder.

From the inputs (files or folders, :func:`reid_bench.results.inputs.collect`) it writes
``reid_table.{md,tex,csv}`` for Re-ID rows, ``table1.{md,tex,csv}`` for image-quality rows (rendered by
:func:`reid_bench.quality.table.render_table1`), and ``gain_vs_factor.png`` when a generator was run at
several factors K. Published numbers come from published CSVs among the inputs, else from
``published`` (default: the ``published.csv`` shipped in :mod:`reid_bench.results`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

from reid_bench.errors import ReidBenchError
from reid_bench.quality.table import render_table1
from reid_bench.results.inputs import collect
from reid_bench.results.plots import gain_by_factor, plot_gain_vs_factor
from reid_bench.results.published import DEFAULT_PUBLISHED, read_published
from reid_bench.results.tables import render_reid_table
from reid_bench.storage import atomic_path

EXTENSIONS = {"markdown": "md", "latex": "tex", "csv": "csv"}


@dataclasses.dataclass(frozen=True)
class Report:
    """What :func:`write_tables` wrote."""

    out: Path
    written: list[Path]
    markdown: str  # every table, as Markdown
    skipped: list[Path]  # CSVs in input folders that were of no known kind


def default_out(paths: Sequence[str | os.PathLike]) -> Path:
    """``tables/`` beside the first input (inside it, when it is a folder)."""
    first = Path(paths[0])
    return (first if first.is_dir() else first.parent) / "tables"


def _write(out: Path, stem: str, rendered: dict[str, str]) -> list[Path]:
    written = []
    for key, extension in EXTENSIONS.items():
        path = out / f"{stem}.{extension}"
        with atomic_path(path) as tmp:
            tmp.write_text(rendered[key], encoding="utf-8")
        written.append(path)
    return written


def write_tables(paths: Sequence[str | os.PathLike], out: str | os.PathLike | None = None,
                 published: str | os.PathLike | None = None) -> Report:
    """Read ``paths`` and write their tables (and gain figure) into ``out`` (default :func:`default_out`)."""
    if not paths:
        raise ReidBenchError("reid-bench tables needs at least one results CSV or folder.")
    collected = collect(paths)
    if published is not None:
        collected.published.extend(read_published(published))
    elif not collected.published:  # package data: a missing file is an error, never silently no rows
        collected.published.extend(read_published(DEFAULT_PUBLISHED))
    if not collected.reid and not collected.quality:
        raise ReidBenchError(f"{', '.join(map(str, paths))} hold no Re-ID or image-quality rows; give results CSVs "
                             "written by `reid-bench run`, `reid-bench evaluate --out` or "
                             "`reid-bench eval-generator`.")
    target = Path(out) if out is not None else default_out(paths)
    written: list[Path] = []
    markdown: list[str] = []
    if collected.reid:
        rendered = render_reid_table(collected.reid, collected.published)
        written += _write(target, "reid_table", rendered)
        markdown.append(rendered["markdown"])

        if any(len(by_factor) > 1 for by_factor in gain_by_factor(collected.reid).values()):
            written.append(plot_gain_vs_factor(collected.reid, target / "gain_vs_factor.png"))
    if collected.quality:

        rendered = render_table1(collected.quality, [row for row in collected.published if row.table == "generation"])
        written += _write(target, "table1", rendered)
        markdown.append(rendered["markdown"])
    return Report(target, written, "\n".join(markdown), collected.skipped)
