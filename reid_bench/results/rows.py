"""Re-ID result rows (DESIGN.md, "Results row"): schema, validation, atomic append, reading.

One CSV line per dataset x generator x factor x trainer x ranker x seed. rank-k, mAP and mINP are
percentages (0-100), as papers print them. A row is identified by its key (dataset, generator,
factor, trainer, ranker, seed, processor, config_hash): a file never holds two rows with one key, and
:func:`append_rows` skips rows whose key is already there, so a rerun adds no duplicates. The
processor is in the key because one config on two processors gives two results (bf16 kernels differ
between CPU generations: :func:`reid_bench.records.processor_name`), so a run never skips a model
because another machine's row of it is on record, and ``compare`` and ``tables`` never pair such rows.
Files written before the processor column are read with processor ``unrecorded``.

Appending rewrites the whole file under a temporary name beside it and renames it
(:func:`reid_bench.storage.atomic_path`): a reader never sees half a row, and an interrupted write
leaves the old file as it was. The read and the rewrite happen under the file's lock
(:func:`reid_bench.storage.locked`), so processes appending to one file at once take turns and
every row is kept.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

from reid_bench import storage
from reid_bench.errors import ReidBenchError
from reid_bench.records import UNRECORDED_PROCESSOR
from reid_bench.reid.trainers import TRAINERS

REID_COLUMNS = (
    "dataset", "generator", "factor", "trainer", "ranker", "seed", "rank1", "rank5", "rank10", "mAP",
    "mINP", "n_real", "n_generated", "preset", "pretrained", "perceptual", "recipe", "processor", "config_hash",
    "commit", "started", "wall_s",
)
# Files written before the processor column (and, older, the recipe column) are read with processor
# "unrecorded" (and the default recipe, their only one), and rewritten with the columns on the next append.
LEGACY_HEADERS = (tuple(name for name in REID_COLUMNS if name != "processor"),
                  tuple(name for name in REID_COLUMNS if name not in ("processor", "recipe")))
READABLE_HEADERS = (REID_COLUMNS, *LEGACY_HEADERS)
KEY_FIELDS = ("dataset", "generator", "factor", "trainer", "ranker", "seed", "processor", "config_hash")
RERANK_SUFFIX = "+rerank"
NO_GENERATOR = "none"
PERCENT_FIELDS = ("rank1", "rank5", "rank10", "mAP", "mINP")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
_RANKER = re.compile(rf"{_NAME.pattern}(?:{re.escape(RERANK_SUFFIX)})?")
_BOOLS = {"true": True, "false": False}
_FIX_FILE = "give a results CSV written by reid-bench (or another --out file)"

RowKey = tuple  # (dataset, generator, factor, trainer, ranker, seed, processor, config_hash)


@dataclasses.dataclass(frozen=True)
class ResultRow:
    """One Re-ID result. Construction converts each field to its type (CSV text is accepted) and
    validates it, raising ``ValueError`` with one clause naming the field."""

    dataset: str  # dataset kind, e.g. market1501, deepfashion, synthpeople
    generator: str  # generator registry name, or "none" (no augmentation)
    factor: int  # augmentation factor K (K-1 generated poses per real image); 1 for "none"
    trainer: str  # "ide" or "siamese"
    ranker: str  # ranker name, with "+rerank" appended when re-ranked
    seed: int
    rank1: float  # percentages, 0-100
    rank5: float
    rank10: float
    mAP: float
    mINP: float
    n_real: int  # real training images
    n_generated: int  # generated training images
    preset: str
    pretrained: bool  # the backbone started from ImageNet weights
    perceptual: str  # the generator's perceptual term as recorded, e.g. "on (relu1_2)", "n/a"
    recipe: str  # how generated images were made and used (reid_bench.presets.recipe_label); "n/a" for none
    processor: str  # where the model trained (reid_bench.records.processor_name), or "unrecorded"
    config_hash: str
    commit: str
    started: str  # ISO 8601 timestamp
    wall_s: float  # wall-clock seconds

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # normalise: "70.5" -> 70.5, "true" -> True, np.int64 -> int
            object.__setattr__(self, field.name, _parse(field.name, field.type, getattr(self, field.name)))
        for name in ("dataset", "generator", "preset", "config_hash"):
            if not _NAME.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} {getattr(self, name)!r} is not a name (letters, digits, _ . : -)")
        if self.trainer not in TRAINERS:
            raise ValueError(f"trainer {self.trainer!r} is not one of {', '.join(TRAINERS)}")
        if not _RANKER.fullmatch(self.ranker):
            raise ValueError(f"ranker {self.ranker!r} is not a ranker name (optionally with {RERANK_SUFFIX})")
        if self.factor < 1:
            raise ValueError(f"factor {self.factor} is below 1")
        if self.generator == NO_GENERATOR and (self.factor != 1 or self.n_generated != 0):
            raise ValueError(f"generator none needs factor 1 and n_generated 0, not {self.factor} and "
                             f"{self.n_generated}")
        for name in PERCENT_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:
                raise ValueError(f"{name} {value} is outside 0-100 (percentages, as papers print them)")
        if not self.rank1 <= self.rank5 <= self.rank10:
            raise ValueError(f"rank1 {self.rank1}, rank5 {self.rank5}, rank10 {self.rank10} do not increase "
                             "as a CMC curve does")
        for name in ("n_real", "n_generated"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} {getattr(self, name)} is negative")
        if not math.isfinite(self.wall_s) or self.wall_s < 0:
            raise ValueError(f"wall_s {self.wall_s} is not a duration in seconds")
        try:
            dt.datetime.fromisoformat(self.started)
        except ValueError:
            raise ValueError(f"started {self.started!r} is not an ISO 8601 timestamp") from None
        for name in ("perceptual", "recipe", "processor", "commit"):
            if any(c in getattr(self, name) for c in "\r\n"):
                raise ValueError(f"{name} holds a line break")

    @property
    def key(self) -> RowKey:
        """(dataset, generator, factor, trainer, ranker, seed, processor, config_hash): unique within a file."""
        return tuple(getattr(self, name) for name in KEY_FIELDS)

    @staticmethod
    def key_of(*, dataset: str, generator: str, factor: int, trainer: str, ranker: str, seed: int,
               processor: str, config_hash: str) -> RowKey:
        """The :attr:`key` a row with these fields has (to look a row up before computing it)."""
        return (str(dataset), str(generator), int(factor), str(trainer), str(ranker), int(seed), str(processor),
                str(config_hash))

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> "ResultRow":
        """Build a row from a mapping of column -> value (CSV strings or Python values)."""
        missing = [name for name in REID_COLUMNS if name not in record]
        if missing:
            raise ValueError(f"missing column(s) {', '.join(missing)}")
        return cls(**{name: record[name] for name in REID_COLUMNS})

    def to_record(self) -> dict[str, str]:
        """Column -> CSV text; floats rounded to 4 decimals, booleans as true/false."""
        record = {}
        for name in REID_COLUMNS:
            value = getattr(self, name)
            if isinstance(value, bool):
                record[name] = "true" if value else "false"
            elif isinstance(value, float):
                record[name] = repr(round(value, 4))
            else:
                record[name] = str(value)
        return record


def _parse(name: str, kind: str, raw: object) -> object:
    """``raw`` as the field's type (``kind`` is its annotation: int, float, bool or str)."""
    if kind == "int":
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(f"{name} {raw!r} is not a whole number")
        try:
            return int(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name} {raw!r} is not a whole number") from None
    if kind == "float":
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{name} {raw!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{name} {raw!r} is not a finite number")
        return value
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in _BOOLS:
            raise ValueError(f"{name} {raw!r} is not true or false")
        return _BOOLS[text]
    return str(raw)


def as_row(row: ResultRow | Mapping[str, object]) -> ResultRow:
    """``row`` itself, or a :class:`ResultRow` built from a column mapping."""
    return row if isinstance(row, ResultRow) else ResultRow.from_record(row)


def header_of(path: str | os.PathLike) -> tuple[str, ...]:
    """The header of the CSV at ``path``; ``()`` for an empty file."""
    path = Path(path)
    if not path.is_file():
        raise ReidBenchError(f"{path} does not exist or is not a file; give the path of a results CSV.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return tuple(name.strip() for name in next(csv.reader(handle), []))
    except (UnicodeDecodeError, csv.Error) as error:
        raise ReidBenchError(f"{path} is not a readable CSV ({error}); {_FIX_FILE}.") from None


def _foreign(path: Path, header: tuple[str, ...]) -> ReidBenchError:
    shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    return ReidBenchError(f"{path} is a foreign CSV: its header ({shown or 'empty'}) is not the Re-ID results "
                          f"header ({', '.join(REID_COLUMNS[:6])}, ...); {_FIX_FILE}.")


def read_rows(path: str | os.PathLike) -> list[ResultRow]:
    """Every row of the Re-ID results CSV at ``path``, validated; a bad line raises one clear sentence."""
    path = Path(path)
    header = header_of(path)
    if header not in READABLE_HEADERS:
        raise _foreign(path, header)
    rows: list[ResultRow] = []
    seen: dict[RowKey, int] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader)
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise ReidBenchError(f"{path} line {reader.line_num}: {error}; fix or delete that line.") from None
            line = reader.line_num
            if not fields:
                continue
            if len(fields) != len(header):
                raise ReidBenchError(f"{path} line {line} has {len(fields)} fields, expected {len(header)} "
                                     "(a half-written or hand-edited row); fix or delete that line.")
            record = dict(zip(header, fields))
            record.setdefault("recipe", "n/a" if record["generator"] == NO_GENERATOR else "default")
            record.setdefault("processor", UNRECORDED_PROCESSOR)
            try:
                row = ResultRow.from_record(record)
            except ValueError as error:
                raise ReidBenchError(f"{path} line {line}: {error}; fix or delete that line.") from None
            if row.key in seen:
                raise ReidBenchError(f"{path} line {line} repeats the key {_show_key(row.key)} of line "
                                     f"{seen[row.key]}; delete one of the two lines.")
            seen[row.key] = line
            rows.append(row)
    return rows


def _show_key(key: RowKey) -> str:
    return "(" + ", ".join(f"{name}={value}" for name, value in zip(KEY_FIELDS, key)) + ")"


def existing_keys(path: str | os.PathLike) -> set[RowKey]:
    """The keys of the rows already in ``path`` (empty when the file does not exist yet)."""
    return {row.key for row in read_rows(path)} if Path(path).exists() else set()


def row_exists(path: str | os.PathLike, key: RowKey) -> bool:
    """Whether ``path`` already holds a row with ``key`` (see :attr:`ResultRow.key`), so a rerun can skip it."""
    return tuple(key) in existing_keys(path)


def append_rows(path: str | os.PathLike, rows: Iterable[ResultRow | Mapping[str, object]]) -> list[ResultRow]:
    """Append ``rows`` to the CSV at ``path`` atomically (created with its header if absent).

    Rows whose key is already in the file are skipped; the rows actually appended are returned.
    A file with another header is refused. Two new rows with one key raise ``ValueError``.
    """
    path = Path(path)
    new = [as_row(row) for row in rows]
    if len({row.key for row in new}) != len(new):
        raise ValueError("append_rows was given two rows with the same key")
    with storage.locked(path):
        existing = check_destination(path)
        keys = {row.key for row in existing}
        added = [row for row in new if row.key not in keys]
        with storage.atomic_path(path) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=REID_COLUMNS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(row.to_record() for row in existing + added)
    return added


def check_destination(path: str | os.PathLike) -> list[ResultRow]:
    """The rows already in ``path``, a results CSV that rows will be appended to (none if it does not
    exist yet); a folder, or a file of another kind, is one sentence, so a command can check its
    ``--out`` before computing anything."""
    path = Path(path)
    if path.is_dir():
        raise ReidBenchError(f"{path} is a folder; give the path of a results CSV file to append the rows to.")
    if not path.exists():
        return []
    header = header_of(path)
    if header not in READABLE_HEADERS:
        raise ReidBenchError(f"{path} has another header than a Re-ID results CSV "
                             f"({', '.join(header[:4]) or 'empty file'}, ...), so no rows were appended; "
                             "give another --out file.")
    return read_rows(path)
