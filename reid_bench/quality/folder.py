"""A folder of generated images, checked against its dataset and pair list before any metric runs.

``reid-bench generate`` writes one lossless PNG per test pair, named
``<from stem>___<to stem>.png`` (:func:`reid_bench.generators.generate.output_name`). Here every PNG in the
folder must parse to a (source, target) pair of images of the dataset, the folder must hold
exactly the pairs of the pair list (when one is given; duplicates in it count once), and each
generated image must decode and have its target image's size (no metric resizes a generated
image). All of this is checked before any metric runs.
Hidden files (an interrupted write's ``.name.tmp``) and files that are not PNGs are ignored.
Anything else gets one :class:`~reid_bench.errors.ReidBenchError` sentence naming the file and
the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from reid_bench.data.market import ReidDataset, list_images
from reid_bench.errors import ReidBenchError
from reid_bench.generators.generate import SEPARATOR, output_name, parse_output_name

NAMING = f"<from stem>{SEPARATOR}<to stem>.png, as `reid-bench generate` writes them"


@dataclass(frozen=True)
class GeneratedPair:
    """A generated image and the dataset images it was made from (source) and for (target)."""

    source: str  # file name in the dataset, e.g. 0001_c1s1_000151_01.jpg
    target: str
    path: Path  # the generated PNG
    size: tuple[int, int] = (0, 0)  # (H, W) of the generated image and its target, once checked


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB pixels of an image file; a corrupt file is a one-sentence error."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as error:
        raise ReidBenchError(f"{path} cannot be decoded ({error}); delete it and generate or copy it again.") from None


def image_size(path: Path, decode: bool = False) -> tuple[int, int]:
    """(H, W) from the file's header; ``decode`` also decodes the pixels, to find a corrupt file early."""
    try:
        with Image.open(path) as image:
            if decode:
                image.load()
            return image.height, image.width
    except (OSError, SyntaxError, ValueError) as error:
        raise ReidBenchError(f"{path} cannot be decoded ({error}); delete it and generate or copy it again.") from None


def _stem_index(dataset: ReidDataset) -> dict[str, str]:
    """Image stem -> file name over every split folder of the dataset."""
    index: dict[str, str] = {}
    for folder in dataset.folders.values():
        for name in list_images(dataset.root / folder):
            known = index.setdefault(Path(name).stem, name)
            if known != name:
                raise ReidBenchError(f"{dataset.root} holds both {known} and {name}; a generated image's name "
                                     "cannot tell them apart, so keep one.")
    return index


def _parse(path: Path, stems: dict[str, str], root: Path) -> GeneratedPair:
    source, target = parse_output_name(path.name)
    if not target or not source:
        raise ReidBenchError(f"{path}: the name lacks '{SEPARATOR}' between two image stems; "
                             f"generated images are named {NAMING}.")
    for stem in (source, target):
        if stem not in stems:
            raise ReidBenchError(f"{path}: {stem!r} is not an image of {root}; generate the folder from this "
                                 "dataset's pairs, or pass the dataset it was generated from with --data.")
    return GeneratedPair(stems[source], stems[target], path)


def read_generated_folder(folder: str | os.PathLike, dataset: ReidDataset,
                          pairs: list[tuple[str, str]] | None = None) -> list[GeneratedPair]:
    """The checked pairs of ``folder`` (see the module docstring): in the order of ``pairs`` if
    given, else sorted by file name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReidBenchError(f"{folder} is not a folder; give the folder of generated images ({NAMING}).")
    pngs = sorted(entry.name for entry in os.scandir(folder)
                  if entry.is_file() and not entry.name.startswith(".") and entry.name.lower().endswith(".png"))
    if not pngs:
        raise ReidBenchError(f"{folder} holds no PNG images; generate them with `reid-bench generate` ({NAMING}).")
    stems = _stem_index(dataset)
    found = {name: _parse(folder / name, stems, dataset.root) for name in pngs}
    if pairs is not None:
        found = _match_pairs(folder, found, pairs)
    return _with_sizes(list(found.values()), dataset)


def _match_pairs(folder: Path, found: dict[str, GeneratedPair],
                 pairs: list[tuple[str, str]]) -> dict[str, GeneratedPair]:
    wanted = list(dict.fromkeys(output_name(source, target) for source, target in pairs))
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ReidBenchError(
            f"{folder} lacks the images of {len(missing)} of the {len(wanted)} pairs (e.g. {missing[0]}); "
            "generate them (`reid-bench generate` resumes) or give the pair list they were made from with --pairs."
        )
    extra = sorted(set(found) - set(wanted))
    if extra:
        raise ReidBenchError(
            f"{folder} holds {len(extra)} images of pairs that are not in the pair list (e.g. {extra[0]}); "
            "remove them or give the pair list they were made from with --pairs."
        )
    return {name: found[name] for name in wanted}


def _with_sizes(generated: list[GeneratedPair], dataset: ReidDataset) -> list[GeneratedPair]:
    target_sizes: dict[str, tuple[int, int]] = {}
    checked = []
    for pair in generated:
        if pair.target not in target_sizes:
            target_sizes[pair.target] = image_size(dataset.image_path(pair.target))
        want, got = target_sizes[pair.target], image_size(pair.path, decode=True)
        if got != want:
            raise ReidBenchError(
                f"{pair.path} is {got[0]}x{got[1]} but its target {pair.target} is {want[0]}x{want[1]}; "
                "generate at the dataset's image size (no metric resizes a generated image)."
            )
        checked.append(GeneratedPair(pair.source, pair.target, pair.path, got))
    return checked
