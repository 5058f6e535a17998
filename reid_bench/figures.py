"""Figures as PNG files, on matplotlib's Agg canvas: a figure of an exact pixel size, its atomic
save, and a grid of images (the sample grids and the paper's qualitative comparison).

Figures are drawn on a :class:`matplotlib.figure.Figure` (no pyplot, no global backend), saved at
exactly the requested pixel size, and written atomically (:func:`reid_bench.storage.atomic_path`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from reid_bench.errors import ReidBenchError
from reid_bench.storage import atomic_path

DPI = 100


def figure_of_size(size_px: tuple[int, int]) -> Figure:
    width, height = size_px
    if width < 50 or height < 50:
        raise ValueError(f"figure size {size_px} is too small (at least 50 x 50 pixels)")
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI)


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)
    return Path(path)


def _as_image(image: np.ndarray | str | os.PathLike) -> np.ndarray:
    if isinstance(image, (str, os.PathLike)):
        try:
            with Image.open(image) as opened:
                return np.asarray(opened.convert("RGB"))
        except (OSError, ValueError) as error:
            raise ReidBenchError(f"{image} cannot be read as an image ({error}); give a PNG or JPEG.") from None
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = array.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3):
        raise ValueError(f"an image must be (H, W), (H, W, 3) or (3, H, W), not {array.shape}")
    if array.dtype == np.uint8:
        return array
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError("float images must lie in [0, 1]; map [-1, 1] images with (x + 1) / 2 first")
    return array.astype(float)


def plot_image_grid(columns: Sequence[Sequence], path: str | os.PathLike, *, titles: Sequence[str],
                    labels: Sequence[str] | None = None, size_px: tuple[int, int] | None = None) -> Path:
    """A grid of images: one row per example, one titled column per kind (e.g. source | target pose |
    generated, or one column per generator).

    Images are arrays ((H, W), (H, W, 3) or (3, H, W); uint8, or floats in [0, 1]) or image file paths.
    ``labels`` name the rows. ``size_px`` defaults to 200 pixels per column and 360 per row (+ 40).
    """
    columns = [list(column) for column in columns]
    n = len(columns[0]) if columns else 0
    if n == 0 or any(len(column) != n for column in columns):
        raise ValueError(f"every column needs the same non-zero length, not {[len(c) for c in columns]}")
    if len(titles) != len(columns):
        raise ValueError(f"{len(titles)} titles for {len(columns)} columns")
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} rows")
    figure = figure_of_size(size_px or (200 * len(titles), 360 * n + 40))
    cells = figure.subplots(n, len(titles), squeeze=False)
    for col, column in enumerate(columns):
        for row, image in enumerate(column):
            axes = cells[row][col]
            picture = _as_image(image)
            axes.imshow(picture, cmap="gray" if picture.ndim == 2 else None, interpolation="nearest",
                        vmin=0, vmax=255 if picture.dtype == np.uint8 else 1)
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title(titles[col])
            if col == 0 and labels is not None:
                axes.set_ylabel(labels[row])
    figure.tight_layout()
    return save_figure(figure, path)
