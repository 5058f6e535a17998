"""PNG sample grids the training loop writes: one row per pair, columns
source | target pose | generated | target.

The target pose column shows whatever pose representation the generator reads, rendered visibly:
a LIP parsing in LIP's palette (:data:`reid_bench.data.vocabulary.LIP_PALETTE`, as every figure), keypoint
heatmaps as their per-pixel maximum in orange over black, a binary mask as white on black.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from PIL import Image

from reid_bench.data.vocabulary import colour_parsing
from reid_bench.storage import atomic_path

GRID_COLUMNS = ("source", "target pose", "generated", "target")
_PAD = 2  # pixels of grey between cells


def render_parsing(parsing: torch.Tensor) -> torch.Tensor:
    """One-hot (B, L, H, W) -> LIP palette colours (B, 3, H, W) in [-1, 1]."""
    labels = parsing.argmax(dim=1).cpu().numpy()
    rgb = torch.from_numpy(colour_parsing(labels)).to(parsing.device).float() / 255  # (B, H, W, 3)
    return rgb.permute(0, 3, 1, 2) * 2 - 1


def render_heatmap(heatmap: torch.Tensor) -> torch.Tensor:
    """(B, K, H, W) heatmaps in [0, 1] -> their maximum as orange on black, (B, 3, H, W) in [-1, 1]."""
    peak = heatmap.amax(dim=1, keepdim=True).clamp(0, 1)
    orange = torch.tensor([1.0, 0.6, 0.1], device=heatmap.device).view(1, 3, 1, 1)
    return peak * orange * 2 - 1


def render_mask(mask: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) in {0, 1} -> white on black, (B, 3, H, W) in [-1, 1]."""
    return mask.float().clamp(0, 1).expand(-1, 3, -1, -1) * 2 - 1


def target_pose_picture(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The target pose a generator was given, rendered: parsing, else heatmap, else mask."""
    if "tgt_parsing" in batch:
        return render_parsing(batch["tgt_parsing"].float())
    if "tgt_heatmap" in batch:
        return render_heatmap(batch["tgt_heatmap"].float())
    if "tgt_mask" in batch:
        return render_mask(batch["tgt_mask"])
    return torch.zeros_like(batch["tgt_image"])


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8, rounded."""
    scaled = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round()
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).numpy()


def save_grid(path: str | os.PathLike, batch: Mapping[str, torch.Tensor], generated: torch.Tensor) -> Path:
    """Write the PNG grid of ``batch`` and its ``generated`` images atomically; returns the path."""
    columns = [batch["src_image"], target_pose_picture(batch), generated, batch["tgt_image"]]
    cells = [to_uint8(column) for column in columns]
    rows, height, width = cells[0].shape[0], cells[0].shape[1], cells[0].shape[2]
    grid = np.full((rows * (height + _PAD) + _PAD, len(cells) * (width + _PAD) + _PAD, 3), 128, np.uint8)
    for col, cell in enumerate(cells):
        for row in range(rows):
            top, left = _PAD + row * (height + _PAD), _PAD + col * (width + _PAD)
            grid[top:top + height, left:left + width] = cell[row]
    with atomic_path(path) as tmp:
        Image.fromarray(grid).save(tmp, format="PNG")
    return Path(path)
