"""Building blocks shared by the PG2, Def-GAN, VU-Net and DPIG baselines (and only by them).

- Keypoint helpers: the COCO-18 index of each named point, which points are present, and points
  in ``grid_sample``'s normalised coordinates (``align_corners=False``: pixel centre i of an axis
  of n pixels is at (2i + 1) / n - 1). Keypoints are (B, 18, 2) (y, x) pixels, -1 = missing.
- :class:`ResidualUNet`: PG2's stage-1 generator ("GeneratorCNN_Pose_UAEAfterResidual" in
  Ma et al.'s code), which DPIG reuses as its decoder: a 3x3 conv, then N levels of two 3x3 convs
  with a residual connection (n, 2n, ... Nn channels) joined by stride-2 3x3 convs; a fully
  connected bottleneck (flatten -> z -> n-channel map); a mirrored decoder that concatenates the
  encoder level, applies two residual 3x3 convs, and goes up by nearest-neighbour upsampling and a
  1x1 conv; a linear 3x3 conv to the output. ReLU everywhere, no normalisation (as the code).
  The fully connected layers fix the image size, so it is built for one (height, width).
- :class:`DCGANDiscriminator`: the DCGAN discriminator of PG2's and DPIG's code (WGAN-GP code
  base): 5x5 stride-2 convs (64, 128, 256, 512[, 512 at 256 px]), BatchNorm after all but the
  first, LeakyReLU(0.2), a linear layer to one logit per image.
- :class:`ForwardCache`: what ``forward`` computed besides the image (PG2's stage-1 output,
  VU-Net's KL), kept for the ``generator_losses`` call that follows on the same ``fake``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.data.pose_maps import KEYPOINT_NAMES
from reid_bench.errors import ReidBenchError

POINT = {name: index for index, name in enumerate(KEYPOINT_NAMES)}
NUM_KEYPOINTS = len(KEYPOINT_NAMES)


def present(keypoints: torch.Tensor) -> torch.Tensor:
    """(B, 18) bool: which points are there (neither coordinate is -1)."""
    return (keypoints >= 0).all(dim=-1)


def normalised_xy(keypoints: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, 18, 2) (x, y) in grid_sample coordinates (align_corners=False) from (y, x) pixels."""
    y, x = keypoints[..., 0], keypoints[..., 1]
    return torch.stack([(2 * x + 1) / width - 1, (2 * y + 1) / height - 1], dim=-1)


def halved(size: int, times: int) -> int:
    """Size after ``times`` stride-2 convolutions with kernel 3, padding 1 (or 5 / 2): ceil halving."""
    for _ in range(times):
        size = (size + 1) // 2
    return size


def default_levels(height: int) -> int:
    """PG2's ``repeat_num = log2(H) - 2``: 5 levels at 128 px, 6 at 256 px (bottleneck 8 px high)."""
    return max(2, int(math.log2(height)) - 2)


def check_size(image: torch.Tensor, height: int, width: int, name: str) -> None:
    if tuple(image.shape[-2:]) != (height, width):
        raise ReidBenchError(
            f"{name} was built for {height}x{width} images (its fully connected layers fix the size) "
            f"but got {image.shape[-2]}x{image.shape[-1]}; build it with height={image.shape[-2]}, "
            f"width={image.shape[-1]}."
        )


class ResidualPair(nn.Module):
    """Two 3x3 conv + ReLU, added to the input (PG2's ``x = conv(conv(x)) + x``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class ResidualEncoder(nn.Module):
    """PG2's encoder tower: ``levels`` residual pairs of n*(i+1) channels joined by stride-2 convs.

    Returns the output of every level (the U-Net skips); input channels must be ``channels``.
    """

    def __init__(self, channels: int, levels: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualPair(channels * (i + 1)) for i in range(levels))
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels * (i + 1), channels * (i + 2), 3, stride=2, padding=1),
                          nn.ReLU(inplace=True))
            for i in range(levels - 1)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        levels = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            levels.append(x)
            if index < len(self.downs):
                x = self.downs[index](x)
        return levels


class ResidualUNet(nn.Module):
    """PG2's stage-1 U-Net with a fully connected bottleneck (see the module docstring)."""

    def __init__(self, in_channels: int, out_channels: int, channels: int, levels: int, bottleneck: int,
                 height: int, width: int) -> None:
        super().__init__()
        self.channels, self.levels = channels, levels
        self.bottom = (halved(height, levels - 1), halved(width, levels - 1))
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True))
        self.encoder = ResidualEncoder(channels, levels)
        area = self.bottom[0] * self.bottom[1]
        self.to_code = nn.Linear(channels * levels * area, bottleneck)
        self.from_code = nn.Linear(bottleneck, channels * area)
        widths = [channels + channels * levels] + [2 * channels * (levels - i) for i in range(1, levels)]
        self.decoder = nn.ModuleList(ResidualPair(w) for w in widths)
        self.ups = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], channels * (levels - 1 - i), 1), nn.ReLU(inplace=True))
            for i in range(levels - 1)
        )
        self.head = nn.Conv2d(widths[-1], out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = self.encoder(self.stem(x))
        code = self.to_code(skips[-1].flatten(1))
        x = self.from_code(code).view(-1, self.channels, *self.bottom)
        for index, block in enumerate(self.decoder):
            x = block(torch.cat([x, skips[self.levels - 1 - index]], dim=1))
            if index < len(self.ups):
                target = skips[self.levels - 2 - index].shape[-2:]
                x = self.ups[index](F.interpolate(x, size=target, mode="nearest"))
        return self.head(x)


class DCGANDiscriminator(nn.Module):
    """PG2's / DPIG's DCGAN discriminator: one logit per image (see the module docstring)."""

    def __init__(self, in_channels: int, height: int, width: int, channels: int = 64) -> None:
        super().__init__()
        layers = 4 if max(height, width) <= 128 else 5  # PG2: DCGANDiscriminator / DCGANDiscriminator_256
        widths = [channels * min(2 ** i, 8) for i in range(layers)]
        modules: list[nn.Module] = []
        for index, cout in enumerate(widths):
            cin = in_channels if index == 0 else widths[index - 1]
            modules.append(nn.Conv2d(cin, cout, 5, stride=2, padding=2, bias=index == 0))
            if index:
                modules.append(nn.BatchNorm2d(cout))
            modules.append(nn.LeakyReLU(0.2, inplace=True))
        self.features = nn.Sequential(*modules)
        self.logit = nn.Linear(widths[-1] * halved(height, layers) * halved(width, layers), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x).flatten(1))


class ForwardCache:
    """Extras of the last ``forward`` (kept for the loss call on the same output tensor).

    The shared loop calls ``fake = model(batch)`` and then ``model.generator_losses(batch, fake,
    ...)``; the interface passes only the image, so what else the losses need (PG2's stage-1
    image, VU-Net's KL) is stored here and fetched by identity of ``fake``. A loss call on any
    other tensor recomputes the extras.
    """

    def __init__(self) -> None:
        self._output: torch.Tensor | None = None
        self._extras: dict[str, Any] = {}

    def store(self, output: torch.Tensor, **extras: Any) -> None:
        self._output, self._extras = output, extras

    def fetch(self, output: torch.Tensor) -> dict[str, Any] | None:
        """The extras stored with ``output`` (then forgotten), or ``None`` if it is another tensor."""
        if self._output is not output:
            return None
        extras, self._output, self._extras = self._extras, None, {}
        return extras
