"""``reid-bench data prepare DIR``: make what each generator needs from what the folder has.

Three products, each made only where it is missing, each file written under a temporary name and
renamed (:func:`reid_bench.storage.atomic_path`), so an interrupted run leaves nothing half-written
and the next run resumes where it stopped; nothing that was there is changed or deleted:

- **parsing** (only when asked, ``--parsing``): ``parsing/<split folder>/<stem>.png``, either
  imported from a folder of a human parser's output (Self-Correction-Human-Parsing with its LIP
  model writes one palettised PNG of labels 0..19 per image, ``<stem>.png``, flat or in
  ``<split folder>/``), each checked to have its image's size and LIP's labels and counted
  (coverage: images with and without one, maps with no person), or drawn from the keypoints
  (:mod:`reid_bench.data.keypoint_parsing`, coarse, recorded as ``parsing=keypoints`` in every
  result row that depends on it);
- **masks**: ``masks/<split folder>/<stem>.png``, by torchvision's COCO Mask R-CNN, the SAN paper's
  method, when its weights are on disk (:mod:`reid_bench.data.masks`); otherwise, and where Mask
  R-CNN finds no person, the keypoint body mask of PG2 / PATN for an image without parsing (an image
  with parsing takes the parsing's foreground, as the loader does, and gets no file). Each PNG
  records which (:mod:`reid_bench.data.label_files`);
- **pairs**: ``<prefix>pairs-{train,test}.csv`` beside ``<prefix>annotation-*.csv`` when the folder
  has none, by PATN's rule (:mod:`reid_bench.data.patn_pairs`), noted in ``reid-bench-prepare.json``
  in the root.

The report lists, per product, what was made, kept and could not be made, and by which method;
``reid-bench data check`` reports the same products.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from tqdm import tqdm

from reid_bench.accel import pick_device
from reid_bench.data import load_dataset
from reid_bench.data.formats import read_pairs_csv
from reid_bench.data.keypoint_parsing import parsing_from_keypoints
from reid_bench.data.label_files import MASKS_FOLDER, PARSING_FOLDER, save_mask, save_parsing
from reid_bench.data.market import ReidDataset
from reid_bench.data.masks import PersonSegmenter, find_maskrcnn, missing_note
from reid_bench.data.pairs import read_image
from reid_bench.data.patn_pairs import (
    PATN_TEST_PAIRS,
    PATN_TEST_SEED,
    fashion_person_of,
    note_made,
    patn_pairs,
    person_of,
    sample_pairs,
)
from reid_bench.data.pose_maps import body_mask_from_keypoints, read_parsing, visible
from reid_bench.errors import ReidBenchError
from reid_bench.storage import atomic_path

MASK_METHODS = ("auto", "maskrcnn", "keypoints", "none")


@dataclass(frozen=True)
class PrepareOptions:
    parsing: str | None = None  # None: leave parsing alone; "keypoints": draw it; a folder: import a parser's PNGs
    masks: str = "auto"  # auto: Mask R-CNN when its weights are found, else keypoints; maskrcnn; keypoints; none
    pairs: bool = True  # make *pairs-{train,test}.csv where missing (PATN's rule)
    maskrcnn_weights: str | None = None  # the Mask R-CNN file, if not in the torch hub cache
    test_pairs: int = PATN_TEST_PAIRS  # the test list is sampled down to this many (PATN: 12,000, seed 0)
    detector_size: int = 800  # Mask R-CNN's resize of the shorter side (torchvision's COCO default)
    detector_proposals: int = 1000  # region proposals Mask R-CNN keeps per image (torchvision's COCO default)
    detector_batch: int = 8  # images per Mask R-CNN batch
    device: str | None = None  # for Mask R-CNN (default: CUDA when available)


@dataclass
class ProductReport:
    """What one product holds after ``prepare``."""

    product: str  # "parsing", "masks", "pairs train", "pairs test"
    method: str  # how the made part was made
    made: Counter = field(default_factory=Counter)  # files made, by source kind
    kept: int = 0  # already there (not touched)
    elsewhere: int = 0  # images that need no file: masks of images with parsing (its foreground is the mask)
    lacking: Counter = field(default_factory=Counter)  # images it could not be made for, by split folder
    lacking_why: str = ""
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not (self.made or self.kept or self.lacking or self.elsewhere):
            return f"  {self.product}: {self.method}"
        made = sum(self.made.values())
        kinds = ", ".join(f"{kind} {n:,}" for kind, n in self.made.most_common())
        by_kind = f" ({kinds})" if len(self.made) > 1 else ""
        parts = [f"made {made:,}{by_kind}", f"kept {self.kept:,}"]
        if self.elsewhere:
            parts.append(f"{self.elsewhere:,} take their parsing's foreground (no file)")
        if self.lacking:
            where = ", ".join(f"{folder} {n:,}" for folder, n in sorted(self.lacking.items()))
            parts.append(f"{sum(self.lacking.values()):,} without one ({self.lacking_why}: {where})")
        text = f"  {self.product}: {self.method}; " + ", ".join(parts)
        return "\n".join([text, *(f"    {note}" for note in self.notes)])


@dataclass
class PrepareReport:
    root: Path
    kind: str
    products: list[ProductReport]

    def __str__(self) -> str:
        return "\n".join([f"prepared {self.kind} dataset at {self.root}", *map(str, self.products)])


def _image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.height, image.width


def _rows(dataset: ReidDataset, split: str) -> dict[str, np.ndarray]:
    return dataset.keypoints(split) if dataset.keypoints_path(split) is not None else {}


def _shown(points: np.ndarray | None) -> bool:
    return points is not None and bool(visible(points).any())


def _bar(total: int, what: str, progress: bool) -> tqdm:
    return tqdm(total=total, desc=what, unit="img", disable=not progress, dynamic_ncols=True)


def _images(dataset: ReidDataset) -> list[tuple[str, str]]:
    """(split, name) of every image of every split folder."""
    return [(split, name) for split in dataset.folders for name in dataset.split_names(split)]


def _target(dataset: ReidDataset, product: str, split: str, name: str) -> Path:
    return dataset.root / product / dataset.folders[split] / (Path(name).stem + ".png")


# ---- parsing ----------------------------------------------------------------------------------


def draw_parsing(dataset: ReidDataset, progress: bool = False) -> ProductReport:
    """Coarse parsing from the keypoints for every image that has a keypoint row and no parsing PNG."""
    report = ProductReport("parsing", "drawn from keypoints (coarse; rows say parsing=keypoints)",
                           lacking_why="no visible keypoint")
    images = _images(dataset)
    rows = {split: _rows(dataset, split) for split in dataset.folders}
    with _bar(len(images), "parsing from keypoints", progress) as bar:
        for split, name in images:
            bar.update()
            out = _target(dataset, PARSING_FOLDER, split, name)
            if out.is_file():
                report.kept += 1
                continue
            points = rows[split].get(name)
            if not _shown(points):
                report.lacking[dataset.folders[split]] += 1
                continue
            height, width = _image_size(dataset.image_path(name))
            save_parsing(parsing_from_keypoints(points, height, width), out, source="keypoints")
            report.made["keypoints"] += 1
    return report


def import_parsing(dataset: ReidDataset, folder: str | os.PathLike, progress: bool = False) -> ProductReport:
    """Copy a parser's PNGs into ``parsing/`` where an image has none, each checked (module docstring)."""
    source = Path(folder).expanduser().resolve()
    if not source.is_dir():
        raise ReidBenchError(f"--parsing {folder}: no such folder; give the folder of a parser's PNGs "
                             "(<stem>.png per image, LIP labels 0..19) or the word keypoints.")
    report = ProductReport("parsing", f"imported from {source} (a parser's LIP PNGs)",
                           lacking_why=f"no <stem>.png in {source}")
    matched: set[Path] = set()
    empty = 0
    foreground: list[float] = []
    images = _images(dataset)
    with _bar(len(images), "import parsing", progress) as bar:
        for split, name in images:
            bar.update()
            stem = Path(name).stem
            candidates = [source / dataset.folders[split] / f"{stem}.png", source / f"{stem}.png"]
            given = next((path for path in candidates if path.is_file()), None)
            if given is not None:
                matched.add(given)
            out = _target(dataset, PARSING_FOLDER, split, name)
            if out.is_file():
                report.kept += 1
                continue
            if given is None:
                report.lacking[dataset.folders[split]] += 1
                continue
            labels = read_parsing(given, _image_size(dataset.image_path(name)))
            share = float((labels > 0).mean())
            empty += share == 0
            foreground.append(share)
            save_parsing(labels, out, source=f"parser:{source}")
            report.made["parser"] += 1
    unmatched = sum(1 for path in source.rglob("*.png") if path not in matched)
    if foreground:
        report.notes.append(f"each map checked: its image's size, labels 0..19; person pixels "
                            f"{np.mean(foreground):.0%} of a map on average")
    if empty:
        report.notes.append(f"{empty:,} imported maps show no person (all background): SAN sees no body there")
    if unmatched:
        report.notes.append(f"{unmatched:,} PNGs in {source} match no image of the dataset and were not used")
    return report


# ---- masks ------------------------------------------------------------------------------------


def make_masks(dataset: ReidDataset, options: PrepareOptions, progress: bool = False) -> ProductReport:
    """Body masks by Mask R-CNN where its weights are found (``options.masks``), else keypoint masks
    for the images without parsing (module docstring)."""
    if options.masks not in MASK_METHODS:
        raise ReidBenchError(f"--masks {options.masks!r} is not one of {', '.join(MASK_METHODS)}.")
    found = find_maskrcnn(options.maskrcnn_weights) if options.masks in ("auto", "maskrcnn") else None
    if options.masks == "maskrcnn" and found is None:
        raise ReidBenchError(f"--masks maskrcnn: {missing_note()}.")
    rows = {split: _rows(dataset, split) for split in dataset.folders}
    todo = [(split, name) for split, name in _images(dataset)
            if not _target(dataset, MASKS_FOLDER, split, name).is_file()]
    kept = len(_images(dataset)) - len(todo)
    if found is not None:
        segmenter = PersonSegmenter(found, pick_device(options.device), options.detector_size,
                                    options.detector_proposals)
        report = ProductReport("masks", f"Mask R-CNN ({found.path.name}, the paper's method); where it finds no "
                                        "person, the keypoint mask (PG2/PATN) or the parsing's foreground",
                               kept=kept, lacking_why="no person found, no parsing, no keypoints")
        source = found.source
        with _bar(len(todo), "masks by Mask R-CNN", progress) as bar:
            for start in range(0, len(todo), options.detector_batch):
                chunk = todo[start:start + options.detector_batch]
                pictures = [np.asarray(read_image(dataset.image_path(name))) for _, name in chunk]
                for (split, name), mask in zip(chunk, segmenter(pictures)):
                    if mask is not None:
                        save_mask(mask, _target(dataset, MASKS_FOLDER, split, name), source)
                        report.made["maskrcnn"] += 1
                    else:
                        _fallback_mask(dataset, rows[split], split, name, report)
                bar.update(len(chunk))
        return report
    report = ProductReport("masks", "keypoint body masks (PG2/PATN) for the images without parsing",
                           kept=kept, lacking_why="no parsing and no keypoints")
    if options.masks == "auto":
        report.notes.append(f"not Mask R-CNN, the paper's method: {missing_note()}")
    with _bar(len(todo), "masks from keypoints", progress) as bar:
        for split, name in todo:
            bar.update()
            _fallback_mask(dataset, rows[split], split, name, report)
    return report


def _fallback_mask(dataset: ReidDataset, rows: dict[str, np.ndarray], split: str, name: str,
                   report: ProductReport) -> None:
    """No file where the image has parsing (the loader takes its foreground); else the keypoint mask."""
    if dataset.parsing_path(name) is not None:
        report.elsewhere += 1
        return
    points = rows.get(name)
    if not _shown(points):
        report.lacking[dataset.folders[split]] += 1
        return
    height, width = _image_size(dataset.image_path(name))
    save_mask(body_mask_from_keypoints(points, height, width), _target(dataset, MASKS_FOLDER, split, name),
              "keypoints")
    report.made["keypoints"] += 1


# ---- pairs ------------------------------------------------------------------------------------


def _prefix(dataset: ReidDataset, split: str) -> str:
    """``market-`` of ``market-annotation-train.csv`` (the pairs file is named alike)."""
    path = dataset.keypoints_path(split)
    return path.name[: -len(f"annotation-{split}.csv")] if path is not None else ""


def make_pairs(dataset: ReidDataset, options: PrepareOptions) -> list[ProductReport]:
    """``*pairs-{train,test}.csv`` by PATN's rule where missing (module docstring)."""
    reports = []
    for split in ("train", "test"):
        if split not in dataset.folders:
            continue
        existing = dataset.pairs_path(split)
        if existing is not None:
            count = len(read_pairs_csv(existing))
            reports.append(ProductReport(f"pairs {split}", f"{existing.name} is there", kept=count))
            continue
        if dataset.keypoints_path(split) is None:
            reports.append(ProductReport(f"pairs {split}", f"not made: {dataset.root} has no *annotation-{split}.csv "
                                                           "to take the keypoints from"))
            continue
        person = fashion_person_of if dataset.kind == "deepfashion" else person_of
        pairs = patn_pairs(dataset.keypoints(split), dataset.split_names(split), person)
        rule = "PATN's rule: both shoulders and hips visible, no distractors, every ordered pair within a person"
        if split == "test":
            sampled = sample_pairs(pairs, options.test_pairs, PATN_TEST_SEED)
            rule += f"; {len(sampled):,} of {len(pairs):,} sampled with seed {PATN_TEST_SEED}"
            pairs = sampled
        path = dataset.root / f"{_prefix(dataset, split)}pairs-{split}.csv"
        with atomic_path(path) as tmp:
            tmp.write_text("from,to\n" + "".join(f"{a},{b}\n" for a, b in pairs))
        note_made(dataset.root, f"pairs-{split}", {"file": path.name, "pairs": len(pairs), "rule": rule,
                                         "keypoints": dataset.keypoints_path(split).name})
        report = ProductReport(f"pairs {split}", f"{path.name} by {rule}")
        report.made["patn"] = len(pairs)
        reports.append(report)
    return reports


# ---- the command ------------------------------------------------------------------------------


def prepare_dataset(root: str | os.PathLike, options: PrepareOptions = PrepareOptions(),
                    progress: bool = True, echo: Callable[[str], None] | None = None) -> PrepareReport:
    """Make the products of the module docstring in the dataset folder ``root``: parsing first (when
    asked; masks then take its foreground), then masks, then pairs."""
    dataset = load_dataset(root)
    products = []
    if options.parsing == "keypoints":
        products.append(draw_parsing(dataset, progress))
    elif options.parsing is not None:
        products.append(import_parsing(dataset, options.parsing, progress))
    if options.masks != "none":
        products.append(make_masks(dataset, options, progress))
    if options.pairs:
        products += make_pairs(dataset, options)
    return PrepareReport(dataset.root, dataset.kind, products)
