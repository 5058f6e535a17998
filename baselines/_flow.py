"""Building blocks shared by the flow-based baselines (:mod:`reid_bench.baselines.intrflow`,
:mod:`reid_bench.baselines.gfla`).

- Flow fields are (B, 2, H, W) offsets in pixels of the map they apply to, channel 0 = x
  (column), channel 1 = y (row): target position p reads the source at p + flow(p), the
  "backward" convention of both Intr-Flow (``flow_2to1``) and GFLA. :func:`warp` samples with
  ``grid_sample`` (bilinear, zeros outside, ``align_corners=True`` so a pixel offset of 1 is one
  pixel whatever the size); :func:`resize_flow` moves a field to another resolution and rescales
  its offsets.
- :func:`gram`: the channel Gram matrix of a feature map divided by C*H*W (style losses).
- :func:`crop_to`: crops a decoder feature to its skip's size, so odd sizes (256x176 -> ... -> 11)
  work with up-sampling by exactly 2.
"""

from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F


def pixel_grid(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """(1, 2, H, W) pixel coordinates (x, y) with the dtype and device of ``like``."""
    ys = torch.arange(height, dtype=like.dtype, device=like.device)
    xs = torch.arange(width, dtype=like.dtype, device=like.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y]).unsqueeze(0)


def sampling_grid(flow: torch.Tensor) -> torch.Tensor:
    """The ``grid_sample`` grid (B, H, W, 2) in [-1, 1] of positions p + flow(p)."""
    _, _, height, width = flow.shape
    position = pixel_grid(height, width, flow) + flow
    scale = torch.tensor([max(width - 1, 1), max(height - 1, 1)], dtype=flow.dtype, device=flow.device)
    return (2 * position / scale.view(1, 2, 1, 1) - 1).permute(0, 2, 3, 1)


def warp(source: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """``source`` (B, C, H, W) read at p + ``flow`` (B, 2, H, W); zeros outside the image."""
    return F.grid_sample(source, sampling_grid(flow.to(source.dtype)), mode=mode, padding_mode="zeros",
                         align_corners=True)


def resize_flow(flow: torch.Tensor, size: Iterable[int]) -> torch.Tensor:
    """``flow`` resized (bilinear) to ``size`` = (H, W), its offsets rescaled to the new pixels."""
    height, width = (int(s) for s in size)
    old_height, old_width = flow.shape[-2:]
    if (height, width) == (old_height, old_width):
        return flow
    resized = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=True)
    scale = torch.tensor([(width - 1) / max(old_width - 1, 1), (height - 1) / max(old_height - 1, 1)],
                         dtype=flow.dtype, device=flow.device)
    return resized * scale.view(1, 2, 1, 1)


def crop_to(x: torch.Tensor, size: Iterable[int]) -> torch.Tensor:
    """``x`` cropped to (H, W) = ``size`` (its top-left part), for ceil-divided odd sizes."""
    height, width = (int(s) for s in size)
    return x[..., :height, :width]


def gram(features: torch.Tensor) -> torch.Tensor:
    """(B, C, C) Gram matrix of (B, C, H, W) features, divided by C*H*W."""
    batch, channels, height, width = features.shape
    flat = features.reshape(batch, channels, height * width).float()
    return flat @ flat.transpose(1, 2) / (channels * height * width)
