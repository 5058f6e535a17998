"""Readers for the side files of the pose-transfer papers (DESIGN.md, "Data conventions").

- Keypoints: the annotation CSV that PG2 (Ma et al., NeurIPS 2017), Def-GAN and PATN (Zhu et al.,
  CVPR 2019) publish, ``*annotation-{train,test,query}.csv``. Header ``name:keypoints_y:keypoints_x``;
  each row is an image name, then two JSON lists of 18 COCO-OpenPose coordinates (y, then x) in
  pixels of the image file, -1 where OpenPose found nothing.
- Pairs: ``*pairs-{train,test}.csv`` with header ``from,to``, one (source, target) image pair a row.

Real files have warts that are parsed, not rejected: rows whose 18 points are all -1, blank lines,
trailing whitespace, ``\\r\\n`` line ends, a UTF-8 byte-order mark, names with odd characters
(a name may even hold ``:``, since the columns are split from the right). What cannot be read
(a row without three columns, a list that is not JSON or not 18 numbers) raises
:class:`~reid_bench.errors.ReidBenchError` naming the file, the line and the problem.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from reid_bench.errors import ReidBenchError

NUM_KEYPOINTS = 18
KEYPOINTS_HEADER = "name:keypoints_y:keypoints_x"
PAIRS_HEADER = ("from", "to")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of the non-blank lines of a text file."""
    try:
        with open(path, encoding="utf-8-sig", newline=None) as handle:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if text:
                    yield number, text
    except FileNotFoundError:
        raise ReidBenchError(f"{path} does not exist; give the path of an existing CSV file.") from None
    except UnicodeDecodeError as error:
        raise ReidBenchError(
            f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); "
            "give the CSV file itself, not a binary or compressed file."
        ) from None


def _coordinates(path: Path, number: int, column: str, text: str) -> list[int]:
    where = f"{path}, line {number}"
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        raise ReidBenchError(
            f"{where}: {column} is not a JSON list ({text[:40]!r}); "
            f"each row must be 'name: [18 numbers]: [18 numbers]'."
        ) from None
    if not isinstance(values, list) or len(values) != NUM_KEYPOINTS:
        count = len(values) if isinstance(values, list) else "not a list"
        raise ReidBenchError(
            f"{where}: {column} has {count} values, expected {NUM_KEYPOINTS} "
            "(COCO-OpenPose order, -1 for a missing point); fix or delete that row."
        )
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ReidBenchError(f"{where}: {column} holds a value that is not a number; fix or delete that row.")
    return [int(round(v)) for v in values]


def read_keypoints_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a PATN annotation CSV into ``{image name: (18, 2) int array of (y, x)}``, -1 = missing.

    Rows where every point is -1 are kept (they say "OpenPose found no one"); callers decide.
    A name given twice keeps its last row, as ``pandas.read_csv`` then a dict would.
    """
    path = Path(path)
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise ReidBenchError(f"{path} is empty; expected the header '{KEYPOINTS_HEADER}' and one row per image.")
    number, header = first
    if header.replace(" ", "") != KEYPOINTS_HEADER:
        raise ReidBenchError(
            f"{path}, line {number}: header is {header[:60]!r}, expected '{KEYPOINTS_HEADER}' "
            "(PATN's annotation format)."
        )
    keypoints: dict[str, np.ndarray] = {}
    for number, text in lines:
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[0].strip():
            raise ReidBenchError(
                f"{path}, line {number}: expected 3 ':'-separated columns (name, keypoints_y, keypoints_x), "
                f"got {text[:60]!r}; fix or delete that row."
            )
        name, ys, xs = (part.strip() for part in parts)
        y = _coordinates(path, number, "keypoints_y", ys)
        x = _coordinates(path, number, "keypoints_x", xs)
        keypoints[name] = np.stack([np.asarray(y), np.asarray(x)], axis=1).astype(np.int64)
    return keypoints


def read_pairs_csv(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read a PATN pairs CSV (header ``from,to``) into a list of (source name, target name)."""
    path = Path(path)
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise ReidBenchError(f"{path} is empty; expected the header 'from,to' and one pair per row.")
    number, header = first
    if tuple(field.strip() for field in next(csv.reader([header]))) != PAIRS_HEADER:
        raise ReidBenchError(f"{path}, line {number}: header is {header[:60]!r}, expected 'from,to'.")
    pairs: list[tuple[str, str]] = []
    for number, text in lines:
        fields = [field.strip() for field in next(csv.reader([text]))]
        if len(fields) != 2 or not all(fields):
            raise ReidBenchError(
                f"{path}, line {number}: expected two image names 'from,to', got {text[:60]!r}; "
                "fix or delete that row."
            )
        pairs.append((fields[0], fields[1]))
    return pairs
