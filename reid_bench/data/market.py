"""The Market-1501 folder layout, and the dataset record every reader returns.

Market-1501 (Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015) keeps
``bounding_box_train/``, ``bounding_box_test/`` (the gallery) and ``query/`` side by side, with
file names ``PPPP_cCsS_FFFFFF_BB.jpg``: person id, camera, sequence, frame, box. Person id and
camera are read exactly as torchreid reads them (regex ``([-\\d]+)_c(\\d)``; camera made 0-based;
id ``-1`` = junk, dropped; id ``0000`` = distractor, kept in the gallery; training ids relabelled
``0..N-1``, here in sorted order of the original id so the labels are reproducible). SynthPeople,
the embedded synthetic dataset, writes the same layout plus ``synthpeople.json`` in its root.

Side files live in the root, beside the split folders (DESIGN.md, "Data conventions"):
``*annotation-{train,test,query}.csv`` (keypoints of bounding_box_train, bounding_box_test and
query), ``*pairs-{train,test}.csv``, ``parsing/<split folder>/<stem>.png`` and
``masks/<split folder>/<stem>.png`` (:mod:`reid_bench.data.label_files`). Only image files
(``.jpg``, ``.jpeg``, ``.png``) are read; other files (Market's own ``Thumbs.db``) and hidden files
are ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from reid_bench.data.formats import read_keypoints_csv
from reid_bench.errors import ReidBenchError

MARKET_FOLDERS = {"train": "bounding_box_train", "test": "bounding_box_test", "query": "query"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MARKET_NAME = re.compile(r"([-\d]+)_c(\d)")
JUNK_PID = -1


class ImageRecord(NamedTuple):
    """One image: its path, person id, 0-based camera id, file name, and whether a generator drew it."""

    path: Path
    pid: int
    camid: int
    name: str
    generated: bool = False


@dataclass
class ReidDataset:
    """A Re-ID dataset reduced to lists of images, as torchreid does, plus its side files.

    ``folders`` maps each split of the side files (``train``, ``test``, ``query``) to its image
    folder under ``root``; the first split in that order holding a name is where the name lives.
    Train pids are relabelled ``0..num_train_pids-1``; query and gallery keep their original pids.
    """

    root: Path
    kind: str
    train: list[ImageRecord] = field(repr=False)
    query: list[ImageRecord] = field(repr=False)
    gallery: list[ImageRecord] = field(repr=False)
    num_train_pids: int
    folders: dict[str, str]
    _names: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    _records: dict[str, ImageRecord] | None = field(default=None, init=False, repr=False, compare=False)
    _keypoints: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def image_split(self, name: str) -> str:
        """The split (``train``, ``test``, ``query``) whose folder holds image ``name``."""
        if self._names is None:
            self._names = {}
            for split in reversed(list(self.folders)):
                self._names.update((n, split) for n in list_images(self.root / self.folders[split]))
        try:
            return self._names[name]
        except KeyError:
            folders = ", ".join(f"{f}/" for f in self.folders.values())
            raise ReidBenchError(f"no image named {name!r} in {folders} of {self.root}.") from None

    def image_path(self, name: str) -> Path:
        """The path of image ``name`` (a bare file name) in its split folder."""
        return self.root / self.folders[self.image_split(name)] / name

    def record(self, name: str) -> ImageRecord | None:
        """The train, gallery or query record of image ``name``; None for a junk or unknown image."""
        if self._records is None:
            self._records = {r.name: r for r in [*self.query, *self.gallery, *self.train]}
        return self._records.get(name)

    def parsing_path(self, name: str) -> Path | None:
        """``parsing/<split folder>/<stem>.png`` for image ``name``, or None if there is none."""
        path = self.root / "parsing" / self.folders[self.image_split(name)] / (Path(name).stem + ".png")
        return path if path.is_file() else None

    def mask_path(self, name: str) -> Path | None:
        """``masks/<split folder>/<stem>.png`` for image ``name`` (``reid-bench data prepare``), or None."""
        path = self.root / "masks" / self.folders[self.image_split(name)] / (Path(name).stem + ".png")
        return path if path.is_file() else None

    def split_names(self, split: str) -> list[str]:
        """The image names in the folder of ``split`` (junk included), sorted."""
        self._check_split(split)
        return list_images(self.root / self.folders[split])

    def _side_file(self, pattern: str) -> Path | None:
        found = sorted(self.root.glob(pattern))
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise ReidBenchError(f"{self.root} holds several {pattern} files ({names}); keep one.")
        return found[0] if found else None

    def keypoints_path(self, split: str) -> Path | None:
        """The ``*annotation-<split>.csv`` in the root, or None."""
        self._check_split(split)
        return self._side_file(f"*annotation-{split}.csv")

    def keypoints(self, split: str) -> dict[str, np.ndarray]:
        """Keypoints of the images of ``split`` (read once): name -> (18, 2) (y, x), -1 = missing."""
        if split not in self._keypoints:
            path = self.keypoints_path(split)
            if path is None:
                raise ReidBenchError(
                    f"{self.root} has no *annotation-{split}.csv; keypoints of {self.folders[split]}/ "
                    "are needed (PATN's format, name:keypoints_y:keypoints_x)."
                )
            self._keypoints[split] = read_keypoints_csv(path)
        return self._keypoints[split]

    def pairs_path(self, split: str) -> Path | None:
        """The ``*pairs-<split>.csv`` in the root, or None."""
        if split not in ("train", "test"):
            raise ValueError(f"pairs split must be 'train' or 'test', not {split!r}")
        return self._side_file(f"*pairs-{split}.csv")

    def _check_split(self, split: str) -> None:
        if split not in self.folders:
            raise ValueError(f"split must be one of {sorted(self.folders)}, not {split!r}")


def list_images(folder: Path) -> list[str]:
    """Sorted names of the image files in ``folder`` (hidden files and other files ignored)."""
    return sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_file() and not entry.name.startswith(".") and entry.name.lower().endswith(IMAGE_SUFFIXES)
    )


def parse_market_name(name: str, folder: Path) -> tuple[int, int]:
    """(pid, 0-based camid) of a Market-1501 file name; ReidBenchError if it does not parse."""
    match = MARKET_NAME.search(name)
    fix = "Market-1501 names look like 0002_c1s1_000451_03.jpg (person id, then _c and the camera 1-9)"
    if match is None:
        raise ReidBenchError(f"{folder / name}: file name does not parse; {fix}.")
    try:
        pid = int(match.group(1))
    except ValueError:
        raise ReidBenchError(f"{folder / name}: person id {match.group(1)!r} is not a number; {fix}.") from None
    camera = int(match.group(2))
    if pid < JUNK_PID or camera == 0:
        raise ReidBenchError(f"{folder / name}: person id {pid} or camera c{camera} is out of range; {fix}.")
    return pid, camera - 1


def relabel(records: list[ImageRecord]) -> tuple[list[ImageRecord], int]:
    """Train records with pids relabelled 0..N-1 in sorted order of the original pid, and N."""
    labels = {pid: label for label, pid in enumerate(sorted({r.pid for r in records}))}
    return [r._replace(pid=labels[r.pid]) for r in records], len(labels)


def _read_folder(folder: Path) -> list[ImageRecord]:
    records = []
    for name in list_images(folder):
        pid, camid = parse_market_name(name, folder)
        if pid != JUNK_PID:
            records.append(ImageRecord(folder / name, pid, camid, name))
    return records


def read_market(root: Path, kind: str = "market1501") -> ReidDataset:
    """Read the Market-1501 layout in ``root`` (the folder holding the three split folders)."""
    missing = [f"{f}/" for f in MARKET_FOLDERS.values() if not (root / f).is_dir()]
    if missing:
        raise ReidBenchError(
            f"{root} lacks {', '.join(missing)}; a Market-1501-layout dataset needs "
            "bounding_box_train/, bounding_box_test/ and query/ side by side."
        )
    train, num_train_pids = relabel(_read_folder(root / MARKET_FOLDERS["train"]))
    return ReidDataset(
        root=root,
        kind=kind,
        train=train,
        query=_read_folder(root / MARKET_FOLDERS["query"]),
        gallery=_read_folder(root / MARKET_FOLDERS["test"]),
        num_train_pids=num_train_pids,
        folders=dict(MARKET_FOLDERS),
    )
