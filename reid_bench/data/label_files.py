"""The per-image PNGs that ``reid-bench data prepare`` writes, and where each one came from.

- Parsing: ``parsing/<split folder>/<stem>.png``, a palettised PNG whose pixels are LIP labels
  0..19 in LIP's palette (what Self-Correction-Human-Parsing writes; DESIGN.md, "Data conventions").
- Body masks: ``masks/<split folder>/<stem>.png``, an 8-bit greyscale PNG, 255 on the person and 0
  elsewhere, the size of its image.

Each PNG the suite writes names its source in a PNG text chunk, ``reid-bench-source``:
``keypoints`` (drawn from the image's keypoint row), ``maskrcnn:<weights file>`` (torchvision's
Mask R-CNN), ``parsing`` (a mask that is the parsing's foreground) or ``parser:<folder>``
(a human parser's PNG imported by ``data prepare --parsing FOLDER``). A PNG without the chunk was
put there by the user or came with the dataset (SynthPeople's exact parsing, a parser's output
copied in by hand); it counts as a parser's. The chunk travels with the file, so an interrupted
``prepare`` that resumes, a file copied elsewhere, or ``data check`` years later all see what it is.
Every file is written under a temporary name and renamed (:func:`reid_bench.storage.atomic_path`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from reid_bench.data.vocabulary import LIP_PALETTE
from reid_bench.errors import ReidBenchError
from reid_bench.storage import atomic_path

SOURCE_KEY = "reid-bench-source"
PARSING_FOLDER = "parsing"
MASKS_FOLDER = "masks"


def _info(source: str | None) -> PngImagePlugin.PngInfo | None:
    if source is None:
        return None
    info = PngImagePlugin.PngInfo()
    info.add_text(SOURCE_KEY, source)
    return info


def save_parsing(labels: np.ndarray, path: Path, source: str | None = None) -> Path:
    """Write (H, W) LIP labels as a palettised PNG at ``path`` (atomically), naming ``source``."""
    image = Image.fromarray(np.asarray(labels, np.uint8), mode="P")
    palette = np.zeros((256, 3), np.uint8)
    palette[: len(LIP_PALETTE)] = LIP_PALETTE
    image.putpalette(palette.flatten().tolist())
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", pnginfo=_info(source))
    return path


def save_mask(mask: np.ndarray, path: Path, source: str) -> Path:
    """Write an (H, W) bool mask as a 0/255 greyscale PNG at ``path`` (atomically), naming ``source``."""
    image = Image.fromarray(np.where(np.asarray(mask, bool), 255, 0).astype(np.uint8), mode="L")
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", pnginfo=_info(source))
    return path


def read_mask(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """(H, W) bool mask of a mask PNG (pixels above 127 are the person); ``size`` (H, W) is checked."""
    try:
        with Image.open(path) as png:
            mask = np.asarray(png.convert("L")) > 127
    except (OSError, SyntaxError) as error:
        raise ReidBenchError(f"{path} cannot be decoded ({error}); delete it and rerun reid-bench data "
                             "prepare.") from None
    if size is not None and mask.shape != tuple(size):
        raise ReidBenchError(f"{path} is {mask.shape[0]}x{mask.shape[1]} but its image is {size[0]}x{size[1]}; "
                             "a mask must have its image's size: delete it and rerun reid-bench data prepare.")
    return mask


def png_source(path: Path) -> str | None:
    """The ``reid-bench-source`` of a PNG the suite wrote; None for any other PNG."""
    try:
        with Image.open(path) as png:
            return getattr(png, "text", {}).get(SOURCE_KEY)
    except (OSError, SyntaxError):
        return None


def source_kind(source: str | None) -> str:
    """The kind of a source: ``keypoints``, ``maskrcnn``, ``parsing``, or ``parser`` (imported or not ours)."""
    if source is None:
        return "parser"
    return source.split(":", 1)[0]
