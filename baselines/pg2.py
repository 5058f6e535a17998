"""PG2: Ma, Jia, Sun, Schiele, Tuytelaars, Van Gool, "Pose Guided Person Image Generation",
NeurIPS 2017 (arXiv 1705.09368), as its authors' TensorFlow code (charliememory/
Pose-Guided-Person-Image-Generation: ``models.py``, ``trainer.py``, ``trainer256.py``) builds it.

Kept:

- Stage 1 (Sec. 3.1), G1 = :class:`~reid_bench.baselines._blocks.ResidualUNet` on the source image
  concatenated with the 18 target keypoint heatmaps: N residual levels (n, 2n, ..., Nn channels,
  N = log2(H) - 2: 5 at 128x64, 6 at 256x256), a fully connected bottleneck of z = 64, a mirrored
  decoder with skips, a linear output conv. Loss: the pose-mask L1 of eq. 2,
  ``|| (G1 - I_B) * (1 + M_B) ||_1`` (mean over pixels), M_B the target body mask.
- Stage 2 (Sec. 3.2), G2 = a U-Net without the fully connected layer ("UAE_noFC" in the code)
  on G1 concatenated with the source image, N - 2 levels, predicting a difference map added to
  G1. Loss (eq. 4-5 as the code weights them): BCE adversarial + lambda * (L1 + pose-mask L1) with
  lambda = 10 on Market-1501, 50 on DeepFashion (``trainer.py`` / ``trainer256.py``).
- Discriminator: the code's DCGAN discriminator (:class:`~reid_bench.baselines._blocks.DCGANDiscriminator`)
  on single images, real = the target, fakes = the generated image AND the source image (weights
  1/2, 1/4, 1/4), so copying the source is punished (``discriminator="image"``, default).
  ``discriminator="pair"`` is the paper's eq. 3 instead: D sees (source, target) vs
  (source, generated) pairs.
- n = 128 (``conv_hidden_num``; the run scripts keep the default), z = 64, D width 64.

Simplified, and why:

- Both stages train jointly in the one loop (the paper trains G1 for ~22k steps, then G2 with G1
  fixed). G1 only gets its own loss: G2 sees G1's output detached, so the stage-2 terms do not
  reach G1, as when G1 is frozen.
- Pose input: the suite's Gaussian heatmaps (sigma 6), not the code's radius-4 disks in [-1, 1].
- The mask is what the data layer gives for ``mask``: parsing > 0 when a parsing PNG exists (exact
  on SynthPeople), else PG2's own keypoint mask (``body_mask_from_keypoints``).
- Both generators end in a linear conv, as the code; the returned image is clipped to [-1, 1]
  (the code clips when it saves) and the stage-2 losses see the clipped image.
- Optimiser settings are the shared loop's (Adam 2e-4, (0.5, 0.999), linear decay; the code:
  Adam 2e-5, beta1 0.5, halved every 50k steps; batch 16 on Market-1501, 1 on DeepFashion).

The fully connected layers fix the image size: the model is built for ``height`` x ``width``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.baselines._blocks import DCGANDiscriminator, ForwardCache, ResidualUNet, check_size, default_levels
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator
from reid_bench.generators.losses import adversarial_loss

DISCRIMINATORS = ("image", "pair")


@dataclass(frozen=True)
class PG2Options:
    height: int = 128  # image size the fully connected layers are built for
    width: int = 64
    channels: int = 128  # n, the code's conv_hidden_num
    levels: int = 0  # N residual levels of G1 (0: log2(height) - 2, as the code); G2 has N - 2
    bottleneck: int = 64  # z_num, the fully connected code of G1
    discriminator: str = "image"  # "image": the code's D (source as an extra fake); "pair": eq. 3
    discriminator_channels: int = 64  # DCGAN D width (DIM = 64)
    l1_weight: float = 10.0  # lambda of stage 2: Market-1501 10, DeepFashion 50
    mask_weight: float = 1.0  # weight of the pose-mask term: |x| * (1 + mask_weight * M)

    def __post_init__(self) -> None:
        if self.levels == 0:
            object.__setattr__(self, "levels", default_levels(self.height))
        if self.levels < 3 or self.channels < 1:
            raise ReidBenchError(f"PG2 needs levels >= 3 (G2 has levels - 2) and channels >= 1, "
                                 f"not {self.levels}, {self.channels}.")
        if self.discriminator not in DISCRIMINATORS:
            raise ReidBenchError(f"PG2 discriminator must be one of {DISCRIMINATORS}, not {self.discriminator!r}.")


class DifferenceUNet(nn.Module):
    """G2, the code's ``UAE_noFC_After2Noise`` (noise off): a U-Net without the fully connected layer.

    Encoder: a 3x3 conv (n), then ``levels`` levels of two 3x3 convs (n*(i+1) channels) joined by
    stride-2 convs; levels 1.. are skips. Decoder: per level, concatenate the skip (none at full
    resolution), two 3x3 convs to n, nearest-neighbour upsampling; a linear 3x3 conv to 3 channels.
    """

    def __init__(self, in_channels: int, channels: int, levels: int) -> None:
        super().__init__()
        relu = nn.ReLU(inplace=True)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), relu)
        self.encoder = nn.ModuleList()
        self.downs = nn.ModuleList()
        width = channels
        for index in range(levels):
            out = channels * (index + 1)
            self.encoder.append(nn.Sequential(nn.Conv2d(width, out, 3, padding=1), relu,
                                              nn.Conv2d(out, out, 3, padding=1), relu))
            width = out
            if index < levels - 1:
                self.downs.append(nn.Sequential(nn.Conv2d(out, out, 3, stride=2, padding=1), relu))
        self.decoder = nn.ModuleList()
        for index in range(levels):
            skip = channels * (levels - index) if index < levels - 1 else 0
            cin = (channels * levels if index == 0 else channels) + skip
            self.decoder.append(nn.Sequential(nn.Conv2d(cin, channels, 3, padding=1), relu,
                                              nn.Conv2d(channels, channels, 3, padding=1), relu))
        self.head = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips, sizes = [], []
        for index, block in enumerate(self.encoder):
            x = block(x)
            sizes.append(x.shape[-2:])
            if index > 0:
                skips.append(x)
            if index < len(self.downs):
                x = self.downs[index](x)
        levels = len(self.encoder)
        for index, block in enumerate(self.decoder):
            if index < levels - 1:
                x = torch.cat([x, skips[-1 - index]], dim=1)
            x = block(x)
            if index < levels - 1:
                x = F.interpolate(x, size=sizes[levels - 2 - index], mode="nearest")
        return self.head(x)


class PG2(Generator):
    """Pose Guided Person Image Generation (two stages); options: :class:`PG2Options`."""

    name = "pg2"
    title = "PG2"
    needs = frozenset({"heatmap", "mask"})
    preset_options = {
        "market": {"height": 128, "width": 64, "channels": 128, "bottleneck": 64, "l1_weight": 10.0},
        "deepfashion": {"height": 256, "width": 256, "channels": 128, "bottleneck": 64, "l1_weight": 50.0},
        "quick": {"height": 128, "width": 64, "channels": 8, "bottleneck": 64, "discriminator_channels": 16,
                  "l1_weight": 10.0},
    }

    Options = PG2Options
    config: PG2Options

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        self.stage1 = ResidualUNet(3 + 18, 3, config.channels, config.levels, config.bottleneck,
                                   config.height, config.width)
        self.stage2 = DifferenceUNet(3 + 3, config.channels, config.levels - 2)
        self._cache = ForwardCache()

    def stages(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(G1 output (linear), final image G1 + difference map, clipped to [-1, 1])."""
        source = batch["src_image"]
        check_size(source, self.config.height, self.config.width, "pg2")
        coarse = self.stage1(torch.cat([source, batch["tgt_heatmap"].to(source.dtype)], dim=1))
        refined = coarse.detach() + self.stage2(torch.cat([coarse.detach(), source], dim=1))
        return coarse, refined.clamp(-1, 1)

    def forward(self, batch: Batch) -> torch.Tensor:
        coarse, refined = self.stages(batch)
        self._cache.store(refined, coarse=coarse)
        return refined

    def build_discriminators(self) -> nn.ModuleDict:
        inputs = 6 if self.config.discriminator == "pair" else 3
        return nn.ModuleDict({"dcgan": DCGANDiscriminator(inputs, self.config.height, self.config.width,
                                                          self.config.discriminator_channels)})

    def _judge(self, discriminators: nn.ModuleDict, batch: Batch, candidate: torch.Tensor) -> torch.Tensor:
        if self.config.discriminator == "pair":
            candidate = torch.cat([batch["src_image"], candidate], dim=1)
        return discriminators["dcgan"](candidate)

    def _masked_l1(self, image: torch.Tensor, target: torch.Tensor,
                   mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        difference = (image.float() - target.float()).abs()
        return difference.mean(), (difference * mask.float()).mean()

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        cached = self._cache.fetch(fake)
        coarse = cached["coarse"] if cached is not None else self.stages(batch)[0]
        target, mask = batch["tgt_image"], batch["tgt_mask"]
        weight = self.config.mask_weight
        coarse_l1, coarse_mask_l1 = self._masked_l1(coarse, target, mask)
        l1, mask_l1 = self._masked_l1(fake, target, mask)
        terms = {
            "stage1": coarse_l1 + weight * coarse_mask_l1,  # eq. 2
            "adversarial": adversarial_loss(self._judge(discriminators, batch, fake), real=True),
            "l1": l1,
            "mask_l1": mask_l1,
        }
        total = terms["stage1"] + terms["adversarial"] + self.config.l1_weight * (l1 + weight * mask_l1)
        return {"total": total, **terms}

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        real = adversarial_loss(self._judge(discriminators, batch, batch["tgt_image"]), real=True)
        generated = adversarial_loss(self._judge(discriminators, batch, fake), real=False)
        if self.config.discriminator == "pair":
            return {"total": 0.5 * (real + generated), "real": real, "fake": generated}
        source = adversarial_loss(self._judge(discriminators, batch, batch["src_image"]), real=False)
        total = 0.5 * real + 0.25 * generated + 0.25 * source
        return {"total": total, "real": real, "fake": generated, "source": source}
