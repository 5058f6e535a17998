"""DPIG: Ma, Sun, Georgoulis, Van Gool, Schiele, Fritz, "Disentangled Person Image Generation",
CVPR 2018 (arXiv 1712.02621), stage I (the multi-branched reconstruction network), as its authors'
TensorFlow code (charliememory/Disentangled-Person-Image-Generation: ``models.py``,
``trainer.py`` ``DPIG_Encoder_GAN_BodyROI_FgBg``, ``datasets/convert_RCV.py``) builds it.

Kept:

- Foreground branch (Sec. 3.1): a 3x3 conv and a residual pair over the source image, multiplied
  by the body mask; seven body regions of interest (head+shoulders, upper body, lower body, left
  and right arm, left and right leg: the code's ``part_bbox`` 1-7, boxes of the part's keypoints
  widened by ~4% of the height, the head box raised) cropped with ``roi_align`` to 48x48, one
  shared residual tower (n, 2n, ... channels, stride-2 convs) and a linear layer to a 32-d
  embedding per part, zeroed when the part has no keypoint.
- Background branch: the same stem features times (1 - mask) through its own residual tower and a
  linear layer to a 128-d embedding (4 x 32, ``FgBgFeaTwoBranch``).
- Pose branch: the target keypoints (y, x normalised to [-1, 1], visibility) through the code's
  ``PoseEncoderFCRes`` (a 512-wide MLP with four residual pairs, LeakyReLU(0.3)) to a 32-d
  embedding.
- Decoder: the embeddings tiled over the image, concatenated with the target keypoint heatmaps,
  into PG2's stage-1 U-Net (:class:`~reid_bench.baselines._blocks.ResidualUNet`, n = 128, z = 64).
- Loss: DCGAN adversarial on single images (real = the target) + 20 x L1.

Simplified, and why:

- Stage II (sampling new foregrounds, backgrounds and poses from Gaussian noise through mapping
  networks trained adversarially against the embeddings) and the pose auto-encoder's decoder are
  left out: pose-guided generation for Re-ID conditions on a real source image and a real target
  pose, which uses stage I only. So the pose embedding comes from the target keypoints directly.
- Stage I reconstructs an image from its own embeddings and pose in the paper; here it is trained
  on pose-transfer pairs (embeddings from the source, pose from the target, loss against the
  target), as the loop serves pairs; src == tgt pairs give the paper's reconstruction.
- The pose input of the decoder is the suite's Gaussian heatmaps (the code: radius-4 disks); the
  mask is the data layer's ``mask`` (parsing > 0, or PG2's keypoint mask; the code: its radius-6
  keypoint mask). Part boxes are computed from the keypoints at run time with margins scaled to
  the image height (the code precomputes them with 10 / 20 px margins at 256 px).
- ``background=False`` drops the background branch (DeepFashion's plain backgrounds). The output
  conv is linear as in PG2's code; the image is clipped to [-1, 1]. Optimiser settings are the
  loop's (the code: Adam 2e-5, beta1 0.5, halved every 50k steps; batch 16 / 6).

The fully connected layers fix the image size: the model is built for ``height`` x ``width``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

from reid_bench.baselines._blocks import (
    NUM_KEYPOINTS,
    POINT,
    DCGANDiscriminator,
    ResidualEncoder,
    ResidualPair,
    ResidualUNet,
    check_size,
    default_levels,
    halved,
    present,
)
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator
from reid_bench.generators.losses import adversarial_loss

# The code's part_bbox 1-7 (datasets/convert_RCV.py, _get_part_bbox_COCO).
PARTS = (
    ("nose", "neck", "Rsho", "Lsho", "Leye", "Reye", "Lear", "Rear"),  # head + shoulders
    ("Rsho", "Relb", "Rwri", "Lsho", "Lelb", "Lwri", "Rhip", "Lhip"),  # upper body
    ("Rhip", "Rkne", "Rank", "Lhip", "Lkne", "Lank"),  # lower body
    ("Lsho", "Lelb", "Lwri"),  # left arm
    ("Rsho", "Relb", "Rwri"),  # right arm
    ("Lhip", "Lkne", "Lank"),  # left leg
    ("Rhip", "Rkne", "Rank"),  # right leg
)


@dataclass(frozen=True)
class DPIGOptions:
    height: int = 128  # image size the fully connected layers are built for
    width: int = 64
    channels: int = 128  # n (conv_hidden_num) of the encoder towers and the decoder U-Net
    levels: int = 0  # residual levels (0: log2(height) - 2, as the code)
    bottleneck: int = 64  # z_num of the decoder U-Net
    roi_size: int = 48  # body-part crops (code: 48x48)
    part_dim: int = 32  # embedding per body part (code: 32)
    background: bool = True  # background branch (4 x part_dim), the FgBg model; False for DeepFashion
    pose_dim: int = 32  # pose embedding (code: 32)
    pose_hidden: int = 512  # PoseEncoderFCRes width
    pose_blocks: int = 4  # its residual pairs
    l1_weight: float = 20.0
    discriminator_channels: int = 64

    def __post_init__(self) -> None:
        if self.levels == 0:
            object.__setattr__(self, "levels", default_levels(self.height))
        if self.levels < 2 or self.roi_size < 2:
            raise ReidBenchError(f"DPIG needs levels >= 2 and roi_size >= 2, not {self.levels}, {self.roi_size}.")

    @property
    def embedding_dim(self) -> int:
        return len(PARTS) * self.part_dim + (4 * self.part_dim if self.background else 0) + self.pose_dim


def part_boxes(keypoints: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """((B, 7, 4) x1, y1, x2, y2 boxes in pixels, (B, 7) visible), as ``_get_part_bbox_COCO`` at run time."""
    shown = present(keypoints)
    whole_body = (shown[:, [POINT["Lkne"], POINT["Lank"]]].any(dim=1)
                  & shown[:, [POINT["Rkne"], POINT["Rank"]]].any(dim=1))
    margin = torch.where(whole_body, 10.0, 20.0).to(keypoints) * height / 256  # the code: 10 / 20 px at 256 px
    boxes, visible = [], []
    for names in PARTS:
        index = [POINT[n] for n in names]
        points, ok = keypoints[:, index].float(), shown[:, index]
        y, x = points[..., 0].clone(), points[..., 1].clone()
        if names[0] == "nose":  # the code raises the nose to include the whole head
            y[:, 0] = y[:, 0] - torch.where(whole_body, 10.0, 25.0).to(y) * height / 256
        big = torch.tensor(1e9, dtype=y.dtype, device=y.device)
        y1, x1 = torch.where(ok, y, big).amin(1), torch.where(ok, x, big).amin(1)
        y2, x2 = torch.where(ok, y, -big).amax(1), torch.where(ok, x, -big).amax(1)
        grow = torch.where(ok.sum(1) > 1, margin, 2 * margin)
        box = torch.stack([(x1 - grow).clamp(0, width - 1), (y1 - grow).clamp(0, height - 1),
                           (x2 + grow).clamp(0, width - 1), (y2 + grow).clamp(0, height - 1)], dim=1)
        seen = ok.any(dim=1)
        unit = torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=box.dtype, device=box.device)
        box = torch.where(seen.unsqueeze(1), box, unit)
        boxes.append(box)
        visible.append(seen)
    return torch.stack(boxes, dim=1), torch.stack(visible, dim=1)


class Tower(nn.Module):
    """A residual encoder tower (n, 2n, ... channels) and a linear layer from its last level."""

    def __init__(self, channels: int, levels: int, height: int, width: int, out: int) -> None:
        super().__init__()
        self.encoder = ResidualEncoder(channels, levels)
        area = halved(height, levels - 1) * halved(width, levels - 1)
        self.linear = nn.Linear(channels * levels * area, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.encoder(x)[-1].flatten(1))


class PoseEncoder(nn.Module):
    """The code's ``PoseEncoderFCRes``: linear, residual pairs of linear layers, linear to the code."""

    def __init__(self, hidden: int, blocks: int, out: int) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.3)
        self.first = nn.Sequential(nn.Linear(NUM_KEYPOINTS * 3, hidden), act)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), act, nn.Linear(hidden, hidden), act) for _ in range(blocks)
        )
        self.last = nn.Linear(hidden, out)

    def forward(self, keypoints: torch.Tensor, height: int, width: int) -> torch.Tensor:
        shown = present(keypoints).unsqueeze(-1).float()
        scale = torch.tensor([height, width], dtype=torch.float32, device=keypoints.device)
        rcv = torch.cat([(keypoints.float() / scale * 2 - 1) * shown, shown], dim=-1)  # (row, column, visible)
        x = self.first(rcv.flatten(1))
        for block in self.blocks:
            x = x + block(x)
        return self.last(x)


class DPIG(Generator):
    """Disentangled Person Image Generation, stage I; options: :class:`DPIGOptions`."""

    name = "dpig"
    title = "DPIG"
    needs = frozenset({"keypoints", "heatmap", "mask"})
    preset_options = {
        "market": {"height": 128, "width": 64, "channels": 128, "roi_size": 48, "background": True},
        "deepfashion": {"height": 256, "width": 256, "channels": 128, "roi_size": 48, "background": False},
        "quick": {"height": 128, "width": 64, "channels": 8, "roi_size": 16, "part_dim": 8, "pose_dim": 8,
                  "pose_hidden": 64, "pose_blocks": 1, "discriminator_channels": 16},
    }

    Options = DPIGOptions
    config: DPIGOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        n, levels = config.channels, config.levels
        self.stem = nn.Sequential(nn.Conv2d(3, n, 3, padding=1), nn.ReLU(inplace=True), ResidualPair(n))
        self.parts = Tower(n, levels, config.roi_size, config.roi_size, config.part_dim)
        self.background = (Tower(n, levels, config.height, config.width, 4 * config.part_dim)
                           if config.background else None)
        self.pose = PoseEncoder(config.pose_hidden, config.pose_blocks, config.pose_dim)
        self.decoder = ResidualUNet(config.embedding_dim + NUM_KEYPOINTS, 3, n, levels, config.bottleneck,
                                    config.height, config.width)

    def embeddings(self, batch: Batch) -> torch.Tensor:
        """(B, D) foreground parts || background || pose embeddings."""
        image = batch["src_image"]
        check_size(image, self.config.height, self.config.width, "dpig")
        height, width = image.shape[-2:]
        features = self.stem(image)
        mask = batch["src_mask"].to(features.dtype)
        boxes, visible = part_boxes(batch["src_keypoints"], height, width)
        owners = torch.arange(len(image), device=image.device, dtype=boxes.dtype).repeat_interleave(len(PARTS))
        rois = torch.cat([owners.unsqueeze(1), boxes.flatten(0, 1)], dim=1)
        crops = roi_align(features * mask, rois.to(features.dtype), output_size=self.config.roi_size,
                          spatial_scale=1.0, sampling_ratio=2, aligned=True)
        parts = self.parts(crops).view(len(image), len(PARTS), -1) * visible.unsqueeze(-1).to(features.dtype)
        codes = [parts.flatten(1)]
        if self.background is not None:
            codes.append(self.background(features * (1 - mask)))
        codes.append(self.pose(batch["tgt_keypoints"], height, width).to(features.dtype))
        return torch.cat(codes, dim=1)

    def forward(self, batch: Batch) -> torch.Tensor:
        image = batch["src_image"]
        code = self.embeddings(batch)
        tiled = code[:, :, None, None].expand(-1, -1, *image.shape[-2:])
        out = self.decoder(torch.cat([tiled, batch["tgt_heatmap"].to(code.dtype)], dim=1))
        return out.clamp(-1, 1)

    def build_discriminators(self) -> nn.ModuleDict:
        return nn.ModuleDict({"dcgan": DCGANDiscriminator(3, self.config.height, self.config.width,
                                                          self.config.discriminator_channels)})

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        terms = {
            "adversarial": adversarial_loss(discriminators["dcgan"](fake), real=True),
            "l1": F.l1_loss(fake.float(), batch["tgt_image"].float()),
        }
        return {"total": terms["adversarial"] + self.config.l1_weight * terms["l1"], **terms}

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        judge = discriminators["dcgan"]
        real = adversarial_loss(judge(batch["tgt_image"]), real=True)
        generated = adversarial_loss(judge(fake), real=False)
        return {"total": 0.5 * (real + generated), "real": real, "fake": generated}
