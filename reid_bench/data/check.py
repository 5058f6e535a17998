"""``reid-bench data check``: validate a dataset folder and summarise it.

Everything the rest of the suite relies on is checked once, up front, so that a bad file stops a
run here with one sentence naming the file, the problem and the fix, rather than deep inside a
training loop: the layout and file names (:func:`~reid_bench.data.load_dataset`), that every image
decodes (``PIL.Image.load``, so a truncated JPEG is caught) and all share one size, that parsing
PNGs have their image's size and LIP labels 0..19, that mask PNGs have their image's size, that
keypoint CSVs parse, and that pairs name existing images. The summary gives identities, images and
cameras per split, the image size, and parsing, mask, keypoint and pair coverage, with what
``reid-bench data prepare`` made and how (:mod:`reid_bench.data.prepare`: parsing drawn from
keypoints or imported from a parser, masks by Mask R-CNN or keypoints, pairs by PATN's rule).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from reid_bench.data import load_dataset
from reid_bench.data.formats import read_pairs_csv
from reid_bench.data.label_files import PARSING_FOLDER, png_source, read_mask, source_kind
from reid_bench.data.market import ImageRecord, ReidDataset, list_images
from reid_bench.data.patn_pairs import prepared_record
from reid_bench.data.pose_maps import read_parsing, visible
from reid_bench.errors import ReidBenchError


@dataclass
class KeypointCoverage:
    """What one ``*annotation-<split>.csv`` holds for its split folder."""

    file: str
    rows: int
    all_missing: int
    outside_image: int
    images_without_row: int


@dataclass
class DatasetSummary:
    """The result of :func:`check_dataset`; ``str()`` gives the readable report."""

    root: Path
    kind: str
    identities: dict[str, int]
    images: dict[str, int]
    cameras: dict[str, list[int]]
    junk_images: int
    image_size: tuple[int, int] | None
    parsing: dict[str, tuple[int, int]]
    keypoints: dict[str, KeypointCoverage | None]
    pairs: dict[str, int | None]
    parsing_sources: dict[str, Counter] = field(default_factory=dict)  # folder -> PNGs by source kind
    masks: dict[str, tuple[int, int]] = field(default_factory=dict)  # folder -> (mask PNGs, images)
    mask_sources: dict[str, Counter] = field(default_factory=dict)
    prepared: dict = field(default_factory=dict)  # reid-bench-prepare.json: the pairs files data prepare made

    def __str__(self) -> str:
        size = f"{self.image_size[0]}x{self.image_size[1]} (HxW)" if self.image_size else "no images"
        lines = [f"{self.kind} dataset at {self.root}", f"  {'split':<8}{'identities':>11}{'images':>9}  cameras"]
        for split in ("train", "query", "gallery"):
            cameras = ",".join(f"c{c + 1}" for c in self.cameras[split]) or "-"
            lines.append(f"  {split:<8}{self.identities[split]:>11}{self.images[split]:>9}  {cameras}")
        if self.junk_images:
            lines.append(f"  junk images (pid -1, left out): {self.junk_images}")
        lines.append(f"  image size: {size}; every image decodes")
        parsing = ", ".join(f"{folder} {have}/{total}{_kinds(self.parsing_sources.get(folder))}"
                            for folder, (have, total) in self.parsing.items())
        lines.append(f"  parsing PNGs: {parsing}")
        if any(have for have, _ in self.masks.values()):
            masks = ", ".join(f"{folder} {have}/{total}{_kinds(self.mask_sources.get(folder))}"
                              for folder, (have, total) in self.masks.items())
            lines.append(f"  mask PNGs: {masks}")
        else:
            lines.append("  mask PNGs: none (a mask is the parsing's foreground, else drawn from the keypoints)")
        for split, cover in self.keypoints.items():
            if cover is None:
                lines.append(f"  keypoints {split}: no *annotation-{split}.csv")
            else:
                lines.append(
                    f"  keypoints {split}: {cover.file}, {cover.rows} rows, {cover.all_missing} all -1, "
                    f"{cover.outside_image} with points outside the image, "
                    f"{cover.images_without_row} images without a row"
                )
        pairs = ", ".join(f"{split} {'none' if n is None else n}{_made(self.prepared.get(f'pairs-{split}'))}"
                          for split, n in self.pairs.items())
        lines.append(f"  pairs: {pairs}")
        return "\n".join(lines)


KIND_WORDS = {"keypoints": "drawn from keypoints", "parser": "imported from a parser", "maskrcnn": "Mask R-CNN",
              "parsing": "parsing foreground", "own": "the dataset's own"}


def _kinds(counts: Counter | None) -> str:
    """`` (drawn from keypoints 12,936)``: the sources of a folder's PNGs, when any is the suite's."""
    if not counts or set(counts) <= {"own"}:
        return ""
    return " (" + ", ".join(f"{KIND_WORDS.get(kind, kind)} {n:,}" for kind, n in counts.most_common()) + ")"


def _made(record: dict | None) -> str:
    return " (made by reid-bench data prepare by PATN's rule)" if record else ""


def _decode_all(dataset: ReidDataset) -> dict[str, tuple[int, int]]:
    """Decode every image; return name -> (H, W). Raises on a corrupt image or a second size."""
    sizes: dict[str, tuple[int, int]] = {}
    first: tuple[Path, tuple[int, int]] | None = None
    for folder in dataset.folders.values():
        for name in list_images(dataset.root / folder):
            path = dataset.root / folder / name
            try:
                with Image.open(path) as image:
                    image.load()
                    size = (image.height, image.width)
            except (OSError, SyntaxError, ValueError) as error:
                raise ReidBenchError(
                    f"{path} is corrupt or truncated ({error}); replace or delete that image."
                ) from None
            if first is None:
                first = (path, size)
            elif size != first[1]:
                raise ReidBenchError(
                    f"{path} is {size[0]}x{size[1]} but {first[0].name} is {first[1][0]}x{first[1][1]}; "
                    "all images of a dataset must have one size, so resize the odd ones."
                )
            sizes.setdefault(name, size)
    return sizes


def _png_coverage(dataset: ReidDataset, sizes: dict[str, tuple[int, int]], product: str
                  ) -> tuple[dict[str, tuple[int, int]], dict[str, Counter]]:
    """Per split folder: (PNGs of ``product`` (parsing or masks), images), and the PNGs' source kinds;
    each PNG read and checked."""
    coverage, sources = {}, {}
    read = read_parsing if product == PARSING_FOLDER else read_mask
    for folder in dataset.folders.values():
        names = list_images(dataset.root / folder)
        kinds: Counter = Counter()
        for name in names:
            path = dataset.root / product / folder / (Path(name).stem + ".png")
            if path.is_file():
                read(path, sizes[name])
                source = png_source(path)
                kinds["own" if source is None else source_kind(source)] += 1
        coverage[folder] = (sum(kinds.values()), len(names))
        sources[folder] = kinds
    return coverage, sources


def _keypoint_coverage(dataset: ReidDataset, split: str, size: tuple[int, int] | None) -> KeypointCoverage | None:
    path = dataset.keypoints_path(split)
    if path is None:
        return None
    keypoints = dataset.keypoints(split)
    shown = {name: visible(points) for name, points in keypoints.items()}
    outside = 0
    if size is not None:
        for name, points in keypoints.items():
            inside = (points >= 0).all(axis=1) & (points[:, 0] < size[0]) & (points[:, 1] < size[1])
            outside += bool((shown[name] & ~inside).any())
    images = list_images(dataset.root / dataset.folders[split])
    return KeypointCoverage(
        file=path.name,
        rows=len(keypoints),
        all_missing=sum(not s.any() for s in shown.values()),
        outside_image=outside,
        images_without_row=sum(name not in keypoints for name in images),
    )


def _pairs_count(dataset: ReidDataset, split: str, names: set[str]) -> int | None:
    path = dataset.pairs_path(split)
    if path is None:
        return None
    pairs = read_pairs_csv(path)
    for number, pair in enumerate(pairs, start=1):
        for name in pair:
            if name not in names:
                folders = ", ".join(f"{f}/" for f in dataset.folders.values())
                raise ReidBenchError(
                    f"{path}, pair {number}: {name!r} is in none of {folders}; "
                    "restore that image or regenerate the pairs file."
                )
    return len(pairs)


def _per_split(records: list[ImageRecord]) -> tuple[int, int, list[int]]:
    return len({r.pid for r in records}), len(records), sorted({r.camid for r in records})


def check_dataset(root: str | os.PathLike) -> DatasetSummary:
    """Validate the dataset folder ``root`` (see the module docstring) and summarise it."""
    dataset = load_dataset(root)
    sizes = _decode_all(dataset)
    image_size = next(iter(sizes.values()), None)
    splits = {"train": dataset.train, "query": dataset.query, "gallery": dataset.gallery}
    counts = {split: _per_split(records) for split, records in splits.items()}
    parsing, parsing_sources = _png_coverage(dataset, sizes, PARSING_FOLDER)
    masks, mask_sources = _png_coverage(dataset, sizes, "masks")
    return DatasetSummary(
        root=dataset.root,
        kind=dataset.kind,
        identities={split: c[0] for split, c in counts.items()},
        images={split: c[1] for split, c in counts.items()},
        cameras={split: c[2] for split, c in counts.items()},
        junk_images=len(sizes) - sum(len(records) for records in splits.values()),
        image_size=image_size,
        parsing=parsing,
        keypoints={split: _keypoint_coverage(dataset, split, image_size) for split in dataset.folders},
        pairs={split: _pairs_count(dataset, split, set(sizes)) for split in ("train", "test")},
        parsing_sources=parsing_sources,
        masks=masks,
        mask_sources=mask_sources,
        prepared=prepared_record(dataset.root),
    )
