"""Reading result CSVs of any kind, from files or folders, recognised by their header.

Three kinds: ``reid`` (Re-ID rows, :mod:`reid_bench.results.rows`), ``quality`` (image-quality rows,
owned by :mod:`reid_bench.quality.rows`) and ``published`` (reference numbers,
:mod:`reid_bench.results.published`). A folder contributes its ``*.csv`` files (not sub-folders, so
the ``tables/`` written beside results is never read back); a CSV in a folder with another header is
skipped and reported, while a file named explicitly must be one of the three kinds.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

from reid_bench.errors import ReidBenchError
from reid_bench.quality.rows import QUALITY_FIELDS, QualityRow
from reid_bench.quality.rows import read_rows as read_quality_rows
from reid_bench.results.published import PUBLISHED_COLUMNS, PublishedRow, read_published
from reid_bench.results.rows import READABLE_HEADERS, REID_COLUMNS, ResultRow, header_of, read_rows

AnyRows = list[ResultRow] | list[QualityRow] | list[PublishedRow]
KINDS = {**{header: "reid" for header in READABLE_HEADERS}, QUALITY_FIELDS: "quality", PUBLISHED_COLUMNS: "published"}


def kind_of(path: str | os.PathLike) -> str | None:
    """``"reid"``, ``"quality"`` or ``"published"`` from the CSV's header; ``None`` for any other CSV."""
    return KINDS.get(header_of(path))


def read_any(path: str | os.PathLike) -> tuple[str, AnyRows]:
    """``(kind, rows)`` of a results CSV of any of the three kinds; a foreign CSV raises one sentence."""
    path = Path(path)
    kind = kind_of(path)
    if kind == "reid":
        return kind, read_rows(path)
    if kind == "published":
        return kind, read_published(path)
    if kind == "quality":
        return kind, read_quality_rows(path)
    raise ReidBenchError(f"{path} is a foreign CSV: its header is neither Re-ID results "
                         f"({', '.join(REID_COLUMNS[:4])}, ...), "
                         f"image-quality rows ({', '.join(QUALITY_FIELDS[:4])}, ...) nor published numbers "
                         f"({', '.join(PUBLISHED_COLUMNS[:4])}, ...); give CSVs written by reid-bench.")


@dataclasses.dataclass
class Collected:
    """Everything read from the inputs of ``reid-bench tables``."""

    reid: list[ResultRow]
    quality: list[QualityRow]
    published: list[PublishedRow]
    skipped: list[Path]  # CSVs in a folder with a foreign header


def csv_files(paths: Sequence[str | os.PathLike]) -> list[tuple[Path, bool]]:
    """``(file, explicit)`` for every input: files as given, each folder's ``*.csv``; duplicates once."""
    found: list[tuple[Path, bool]] = []
    seen: set[Path] = set()
    for given in map(Path, paths):
        if given.is_dir():
            members = [(p, False) for p in sorted(given.glob("*.csv")) if p.is_file()]
        elif given.is_file():
            members = [(given, True)]
        else:
            raise ReidBenchError(f"{given} does not exist; give results CSVs or folders holding them.")
        for path, explicit in members:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.append((path, explicit))
    return found


def _results(row: ResultRow) -> tuple:
    """What a row measured, without when and how long (``started``, ``wall_s``, ``commit``)."""
    return tuple(getattr(row, name) for name in REID_COLUMNS if name not in ("started", "wall_s", "commit"))


def collect(paths: Sequence[str | os.PathLike]) -> Collected:
    """Read every CSV of ``paths`` (files or folders) by kind; the same Re-ID row twice is kept once.

    Two files holding one Re-ID row key with different results raise a sentence naming both; rows
    that differ only in when they were evaluated (``started``, ``wall_s``, ``commit``: the same cached
    model evaluated by two runs) count as the same row.
    """
    collected = Collected([], [], [], [])
    origin: dict[tuple, tuple[ResultRow, Path]] = {}
    for path, explicit in csv_files(paths):
        if not explicit and kind_of(path) is None:
            collected.skipped.append(path)
            continue
        kind, rows = read_any(path)
        if kind == "reid":
            for row in rows:
                if row.key in origin:
                    first, where = origin[row.key]
                    if _results(first) != _results(row):
                        raise ReidBenchError(f"{path} and {where} hold different numbers for one row key "
                                             f"({', '.join(map(str, row.key))}); keep one of the two files.")
                    continue
                origin[row.key] = (row, path)
                collected.reid.append(row)
        else:
            getattr(collected, kind).extend(rows)
    return collected
