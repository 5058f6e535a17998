"""Image-quality result rows (DESIGN.md, "Results row"), read and written as CSV.

Columns: ``dataset, generator, metric, value, ci_low, ci_high, n_pairs, protocol, weights``.
``value`` and the interval are empty when the metric was not computed (its ``weights`` cell says
why, ``missing: <file> (looked in <dirs>)``) or has no interval (FID). Files are written
atomically (temp file + rename) under the file's lock; writing into an existing file keeps its rows
and replaces those with the same dataset, generator, metric and protocol name, so a rerun updates
rather than duplicates.
"""

from __future__ import annotations

import csv
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from reid_bench.errors import ReidBenchError
from reid_bench.quality.protocols import protocol_of
from reid_bench.storage import atomic_path, locked

QUALITY_FIELDS = ("dataset", "generator", "metric", "value", "ci_low", "ci_high", "n_pairs", "protocol", "weights")


@dataclass(frozen=True)
class QualityRow:
    dataset: str
    generator: str
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n_pairs: int
    protocol: str
    weights: str

    @property
    def missing(self) -> bool:
        return self.value is None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.dataset, self.generator, self.metric, protocol_of(self.protocol)

    def as_csv(self) -> dict[str, str]:
        record = asdict(self)
        for field in ("value", "ci_low", "ci_high"):
            record[field] = "" if record[field] is None else format(record[field], ".7g")
        record["n_pairs"] = str(self.n_pairs)
        return record


def _number(text: str, path: Path, line: int, field: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ReidBenchError(f"{path}, line {line}: {field} {text!r} is not a number; "
                             "fix or delete that row.") from None


def read_rows(path: str | os.PathLike) -> list[QualityRow]:
    """The rows of an image-quality CSV; a missing file or another CSV is a one-sentence error."""
    path = Path(path)
    if not path.is_file():
        raise ReidBenchError(f"{path} does not exist; "
                             "give an image-quality CSV written by `reid-bench eval-generator`.")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = tuple(reader.fieldnames or ())
            if header != QUALITY_FIELDS:
                what = ("Re-ID result rows (this command renders Table 1 from image-quality rows only)"
                        if "rank1" in header else f"the header {','.join(header)[:80]!r}")
                raise ReidBenchError(
                    f"{path} is not an image-quality CSV: it has {what}; give a CSV written by "
                    f"`reid-bench eval-generator` (header {','.join(QUALITY_FIELDS)})."
                )
            return [_row(record, path, number) for number, record in enumerate(reader, start=2)]
    except UnicodeDecodeError:
        raise ReidBenchError(f"{path} is not UTF-8 text; give an image-quality CSV written by "
                             "`reid-bench eval-generator`.") from None


def _row(record: dict[str, str | None], path: Path, line: int) -> QualityRow:
    if None in record.values() or None in record:
        raise ReidBenchError(f"{path}, line {line}: expected {len(QUALITY_FIELDS)} columns; fix or delete that row.")
    try:
        n_pairs = int(record["n_pairs"])
    except ValueError:
        raise ReidBenchError(f"{path}, line {line}: n_pairs {record['n_pairs']!r} is not a whole number; "
                             "fix or delete that row.") from None
    return QualityRow(
        dataset=record["dataset"], generator=record["generator"], metric=record["metric"],
        value=_number(record["value"], path, line, "value"),
        ci_low=_number(record["ci_low"], path, line, "ci_low"),
        ci_high=_number(record["ci_high"], path, line, "ci_high"),
        n_pairs=n_pairs, protocol=record["protocol"], weights=record["weights"],
    )


def check_destination(path: str | os.PathLike) -> list[QualityRow]:
    """The rows already in ``path``, an image-quality CSV about to be written (none if it does not exist
    yet); a folder or another kind of file is one sentence, so ``eval-generator`` checks its ``--out``
    before computing any metric."""
    path = Path(path)
    if path.is_dir():
        raise ReidBenchError(f"{path} is a folder; give the path of an image-quality CSV file to write, "
                             "e.g. quality.csv.")
    return read_rows(path) if path.exists() else []


def write_rows(path: str | os.PathLike, rows: list[QualityRow]) -> Path:
    """Write ``rows`` into ``path`` atomically, keeping the file's other rows (see module docstring).

    The read and the rewrite hold the file's lock (:func:`reid_bench.storage.locked`), so two
    processes writing into one file at once keep each other's rows."""
    path = Path(path)
    with locked(path):
        kept = check_destination(path)
        new_keys = {row.key for row in rows}
        merged = [row for row in kept if row.key not in new_keys] + list(rows)
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=QUALITY_FIELDS)
            writer.writeheader()
            writer.writerows(row.as_csv() for row in merged)
    return path
