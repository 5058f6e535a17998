"""Def-GAN: Siarohin, Sangineto, Lathuiliere, Sebe, "Deformable GANs for Pose-based Human Image
Generation", CVPR 2018 (arXiv 1801.00055), as its authors' Keras code (AliaksandrSiarohin/
pose-gan: ``conditional_gan.py``, ``pose_transform.py``, ``cmd.py``, README "full") builds it.

Kept:

- Two encoders (Sec. 3): appearance over the source image + 18 source heatmaps, pose over the
  18 target heatmaps; each a 3x3 conv, then LeakyReLU(0.2) -> 4x4 stride-2 conv -> InstanceNorm
  blocks (64, 128, 256, 512, 512, 512 channels at 128 px; one more 512 level at 256 px; no norm
  on the last).
- Deformable skip connections (Sec. 4): ten parts (torso, head, and the upper/lower arms and
  legs). Per part an affine transform from the target to the source keypoints is fitted by least
  squares (torso: hips and shoulders; head: nose and shoulders; a limb: its two joints and an
  anchor, taken from the mirrored limb when the source lacks it), rejected when degenerate
  (condition number >= 1e4) or when points are missing. The appearance features of the first four
  levels are warped by each transform (``F.affine_grid`` / ``F.grid_sample``; the transforms are
  fitted in normalised coordinates, so one transform serves every level), masked by the part's
  box in the target pose (the code's ``pose_masks``: the box of the part's points widened by
  0.1 / 0.3 / 0.2 of the torso size for torso / head / limbs) and max-aggregated; deeper levels
  are concatenated unwarped, as the code does.
- Decoder: ReLU -> 4x4 stride-2 transposed conv -> InstanceNorm (dropout 0.5 on the first three)
  with U-Net skips of (warped appearance || pose) features, then ReLU, a 3x3 conv and tanh.
- Discriminator: the code's default ``call`` discriminator over (source image, source pose,
  candidate, target pose): 4x4 stride-2 convs 64-128-256-512-1, InstanceNorm, patch logits.
- Loss ("full" model): adversarial (weight 1) + the nearest-neighbour loss of Sec. 5: for every
  generated position, the smallest L1 distance (summed over channels) to the target's features in
  a 3x3 (Market-1501) / 5x5 (DeepFashion) neighbourhood, on VGG-19 ``relu1_2`` (the code's
  ``block1_conv2``), weight 0.01.

Simplified, and why:

- Offline: without VGG-19 (``perceptual=False``, what the quick preset does when the file is
  missing) the nearest-neighbour loss runs on pixels with ``pixel_weight`` = 100, the weight the
  authors' "dsc" run gives its pixel L1. VGG here is torchvision's (ImageNet mean/std input), not
  Keras' caffe-style one, so feature magnitudes and hence the meaning of 0.01 differ somewhat.
- Paddings are "same" (1) everywhere; Keras' first discriminator conv had none. InstanceNorm is
  per channel (keras-contrib's default normalised over all axes). Transposed convs are given the
  skip's size, so odd sizes (256x176) work.
- Keypoints come as given (no flipping augmentation); optimiser settings are the shared loop's
  (the code: Adam 2e-4, (0.5, 0.999), batch 4 / 2, 90 epochs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.baselines._blocks import POINT, normalised_xy, present
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator
from reid_bench.generators.losses import adversarial_loss, vgg19_layer_names

AGGREGATIONS = ("max", "avg")
NUM_PARTS = 10
_TORSO = ("Rhip", "Lhip", "Lsho", "Rsho")
_HEAD = ("nose", "Lsho", "Rsho")
# (from, to, anchor) of each limb, in pose_transform.affine_transforms' order.
_LIMBS = (("Rhip", "Rkne", "Rsho"), ("Lhip", "Lkne", "Lsho"), ("Rkne", "Rank", "Rsho"), ("Lkne", "Lank", "Lsho"),
          ("Rsho", "Relb", "Rhip"), ("Lsho", "Lelb", "Lhip"), ("Relb", "Rwri", "Rsho"), ("Lelb", "Lwri", "Lsho"))


@dataclass(frozen=True)
class DefGANOptions:
    channels: int = 64  # width of the first encoder level; levels have min(c * 2^i, 8c)
    levels: int = 6  # encoder levels: the code has 6 at 128x64 and 7 at 256x256
    warped_levels: int = 4  # how many of the first skip levels are deformed (code: 4)
    aggregation: str = "max"  # how the ten warped parts are combined: "max" (code default) or "avg"
    dropout: float = 0.5  # on the first three decoder blocks
    perceptual: bool = True  # nearest-neighbour loss on VGG-19 features (False: on pixels)
    perceptual_layer: str = "relu1_2"  # the code's block1_conv2
    nn_size: int = 3  # neighbourhood of the nearest-neighbour loss: Market-1501 3, DeepFashion 5
    content_weight: float = 0.01  # weight of the nearest-neighbour loss on VGG features
    pixel_weight: float = 100.0  # its weight on pixels, when perceptual=False
    adversarial_weight: float = 1.0
    discriminator_channels: int = 64

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ReidBenchError(f"Def-GAN aggregation must be one of {AGGREGATIONS}, not {self.aggregation!r}.")
        if self.perceptual_layer not in vgg19_layer_names():
            raise ReidBenchError(f"unknown VGG-19 layer {self.perceptual_layer!r} for Def-GAN's "
                                 "nearest-neighbour loss.")
        if self.nn_size < 1 or self.nn_size % 2 == 0:
            raise ReidBenchError(f"Def-GAN nn_size must be odd and >= 1, not {self.nn_size}.")
        if self.levels < 3:
            raise ReidBenchError(f"Def-GAN needs levels >= 3, not {self.levels}.")


def level_widths(channels: int, levels: int) -> list[int]:
    return [channels * min(2 ** i, 8) for i in range(levels)]


# --- Deformable skip connections: part transforms and masks -------------------------------------

def _mirror(name: str) -> str:
    return {"R": "L", "L": "R"}.get(name[0], "") + name[1:] if name[0] in "RL" else name


def _torso_size(keypoints: torch.Tensor, shown: torch.Tensor, height: int) -> torch.Tensor:
    """(B,) the code's ``compute_st_distance`` (RMS of the two hip-shoulder lengths), H/4 if unknown."""
    right = (keypoints[:, POINT["Rhip"]] - keypoints[:, POINT["Rsho"]]).pow(2).sum(-1)
    left = (keypoints[:, POINT["Lhip"]] - keypoints[:, POINT["Lsho"]]).pow(2).sum(-1)
    known = shown[:, [POINT[n] for n in _TORSO]].all(dim=1)
    size = ((right + left) / 2).sqrt()
    return torch.where(known & (size > 0), size, torch.full_like(size, height / 4))


def part_masks(target: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, 10, H, W) the code's ``pose_masks``: each part's point box in the target, widened."""
    shown = present(target)
    size = _torso_size(target, shown, height)
    parts = [(_TORSO, 0.1), (("nose",), 0.3)] + [((a, b), 0.2) for a, b, _ in _LIMBS]
    ys = torch.arange(height, device=target.device, dtype=target.dtype).view(1, height, 1)
    xs = torch.arange(width, device=target.device, dtype=target.dtype).view(1, 1, width)
    masks = []
    for names, grow in parts:
        index = [POINT[n] for n in names]
        points, visible = target[:, index], shown[:, index].all(dim=1)
        margin = (grow * size).floor().view(-1, 1, 1)  # the code: int(border_inc)
        low = points.amin(dim=1).floor().view(-1, 2, 1, 1) - margin.unsqueeze(1)
        high = points.amax(dim=1).floor().view(-1, 2, 1, 1) + margin.unsqueeze(1)
        inside = ((ys >= low[:, 0]) & (ys < high[:, 0]) & (xs >= low[:, 1]) & (xs < high[:, 1]))
        masks.append(inside & visible.view(-1, 1, 1))
    return torch.stack(masks, dim=1).to(target.dtype)


def part_affines(source: torch.Tensor, target: torch.Tensor, height: int,
                 width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """((B, 10, 2, 3) affine maps target -> source in grid_sample coordinates, (B, 10) valid).

    Least squares over the part's points (3 or 4), as ``skimage.transform.estimate_transform``
    ('affine') in the code's ``affine_transforms``; a limb missing in the source is taken from the
    mirrored limb; a transform with condition number >= 1e4 is rejected.
    """
    batch = source.shape[0]
    src_shown, tgt_shown = present(source), present(target)
    src_xy = normalised_xy(source.double(), height, width)
    tgt_xy = normalised_xy(target.double(), height, width)
    index_t = torch.zeros(batch, NUM_PARTS, 4, dtype=torch.long, device=source.device)
    index_s = torch.zeros_like(index_t)
    weight = torch.zeros(batch, NUM_PARTS, 4, dtype=torch.float64, device=source.device)
    valid = torch.zeros(batch, NUM_PARTS, dtype=torch.bool, device=source.device)
    for part, names in enumerate([_TORSO, _HEAD, *_LIMBS]):
        primary = torch.tensor([POINT[n] for n in names], device=source.device)
        count = len(names)
        tgt_ok = tgt_shown[:, primary].all(dim=1)  # the code reads all of them from the target
        src_ok = src_shown[:, primary].all(dim=1)
        chosen = primary.expand(batch, count)
        if part >= 2:
            mirrored = torch.tensor([POINT[_mirror(n)] for n in names], device=source.device)
            use_mirror = ~src_shown[:, primary[:2]].all(dim=1) & src_shown[:, mirrored].all(dim=1)
            chosen = torch.where(use_mirror.unsqueeze(1), mirrored.expand(batch, count), chosen)
            src_ok = src_shown.gather(1, chosen).all(dim=1)
        index_t[:, part, :count] = primary
        index_s[:, part, :count] = chosen
        weight[:, part, :count] = 1.0
        valid[:, part] = tgt_ok & src_ok

    def gather(xy: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return xy.gather(1, idx.view(batch, -1, 1).expand(-1, -1, 2)).view(batch, NUM_PARTS, 4, 2)

    tgt_points, src_points = gather(tgt_xy, index_t), gather(src_xy, index_s)
    design = torch.cat([tgt_points, torch.ones_like(tgt_points[..., :1])], dim=-1) * weight.unsqueeze(-1)
    normal = design.transpose(-1, -2) @ design + 1e-9 * torch.eye(3, dtype=design.dtype, device=design.device)
    solution = torch.linalg.solve(normal, design.transpose(-1, -2) @ (src_points * weight.unsqueeze(-1)))  # (B,10,3,2)
    theta = solution.transpose(-1, -2)  # (B, 10, 2, 3)
    last_row = torch.tensor([0.0, 0.0, 1.0], dtype=theta.dtype, device=theta.device).expand(batch, NUM_PARTS, 1, 3)
    square = torch.cat([theta, last_row], dim=-2)
    condition = torch.linalg.cond(square)
    valid = valid & torch.isfinite(condition) & (condition < 1e4)
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=theta.dtype, device=theta.device)
    theta = torch.where(valid.view(batch, NUM_PARTS, 1, 1), theta, identity)
    return theta.to(source.dtype), valid


def deform(features: torch.Tensor, theta: torch.Tensor, masks: torch.Tensor, aggregation: str) -> torch.Tensor:
    """Warp ``features`` (B,C,h,w) by each part's affine, mask by its (resized) box, aggregate."""
    batch, channels, height, width = features.shape
    masks = F.interpolate(masks, size=(height, width), mode="nearest")
    out = None
    for part in range(theta.shape[1]):
        grid = F.affine_grid(theta[:, part].to(features.dtype), [batch, channels, height, width], align_corners=False)
        warped = F.grid_sample(features, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        warped = warped * masks[:, part:part + 1].to(features.dtype)
        if out is None:
            out = warped
        elif aggregation == "max":
            out = torch.maximum(out, warped)
        else:
            out = out + warped
    assert out is not None
    if aggregation == "avg":
        out = out / masks.sum(dim=1, keepdim=True).clamp(min=1).to(features.dtype)
    return out


# --- Networks --------------------------------------------------------------------------------------

class Encoder(nn.Module):
    """3x3 conv, then LeakyReLU -> 4x4 stride-2 conv -> InstanceNorm blocks (no norm on the last)."""

    def __init__(self, in_channels: int, widths: list[int]) -> None:
        super().__init__()
        self.first = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.blocks = nn.ModuleList()
        for index in range(1, len(widths)):
            last = index == len(widths) - 1
            layers: list[nn.Module] = [nn.LeakyReLU(0.2),
                                       nn.Conv2d(widths[index - 1], widths[index], 4, 2, 1, bias=False)]
            if not last:
                layers.append(nn.InstanceNorm2d(widths[index], affine=True))
            self.blocks.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.first(x)
        levels = [x]
        for block in self.blocks:
            x = block(x)
            levels.append(x)
        return levels


class UpBlock(nn.Module):
    """ReLU -> 4x4 stride-2 transposed conv (to the skip's size) -> InstanceNorm (-> dropout)."""

    def __init__(self, cin: int, cout: int, dropout: float) -> None:
        super().__init__()
        self.act = nn.ReLU()
        self.deconv = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False)
        self.rest = nn.Sequential(nn.InstanceNorm2d(cout, affine=True),
                                  nn.Dropout(dropout) if dropout else nn.Identity())

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return self.rest(self.deconv(self.act(x), output_size=list(size)))


class Decoder(nn.Module):
    """Up blocks from the deepest skip; up block i lands on level L-2-i with min(c * 2^(l+1), 8c)."""

    def __init__(self, channels: int, widths: list[int], dropout: float) -> None:
        super().__init__()
        levels = len(widths)
        out = [channels * min(2 ** (level + 1), 8) for level in range(levels - 1)]
        self.ups = nn.ModuleList()
        cin = 2 * widths[-1]
        for step in range(levels - 1):
            level = levels - 2 - step
            self.ups.append(UpBlock(cin, out[level], dropout if step < 3 else 0.0))
            cin = out[level] + 2 * widths[level]
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, 3, 3, padding=1), nn.Tanh())

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        x = skips[-1]
        for step, up in enumerate(self.ups):
            level = len(skips) - 2 - step
            x = torch.cat([up(x, skips[level].shape[-2:]), skips[level]], dim=1)
        return self.head(x)


class PatchDiscriminator(nn.Module):
    """The code's ``call`` discriminator on (source, source pose, candidate, target pose)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3 + 18 + 3 + 18, channels, 4, 2, 1)]
        width = channels
        for out in (2 * channels, 4 * channels, 8 * channels):
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(width, out, 4, 2, 1, bias=False),
                       nn.InstanceNorm2d(out, affine=True)]
            width = out
        layers += [nn.LeakyReLU(0.2), nn.Conv2d(width, 1, 4, 2, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, batch: Batch, candidate: torch.Tensor) -> torch.Tensor:
        dtype = candidate.dtype
        return self.net(torch.cat([batch["src_image"], batch["src_heatmap"].to(dtype), candidate,
                                   batch["tgt_heatmap"].to(dtype)], dim=1))


def nearest_neighbour_l1(reference: torch.Tensor, generated: torch.Tensor, size: int) -> torch.Tensor:
    """Sec. 5's nearest-neighbour loss: mean over generated positions of the smallest channel-summed
    L1 distance to ``reference`` within a ``size`` x ``size`` neighbourhood (the code's ``nn_loss``)."""
    reference, generated = reference.float(), generated.float()
    if size == 1:
        return (reference - generated).abs().sum(dim=1).mean()
    pad = size // 2
    padded = F.pad(reference, (pad, pad, pad, pad), value=-10000.0)
    height, width = generated.shape[-2:]
    best = None
    for dy in range(size):
        for dx in range(size):
            distance = (padded[..., dy:dy + height, dx:dx + width] - generated).abs().sum(dim=1)
            best = distance if best is None else torch.minimum(best, distance)
    assert best is not None
    return best.mean()


class DefGAN(Generator):
    """Deformable GAN with deformable skip connections; options: :class:`DefGANOptions`."""

    name = "defgan"
    title = "Def-GAN"
    needs = frozenset({"keypoints", "heatmap"})
    preset_options = {
        "market": {"channels": 64, "levels": 6, "nn_size": 3, "content_weight": 0.01},
        "deepfashion": {"channels": 64, "levels": 7, "nn_size": 5, "content_weight": 0.01},
        "quick": {"channels": 8, "levels": 6, "nn_size": 3, "content_weight": 0.01, "discriminator_channels": 8},
    }

    Options = DefGANOptions
    config: DefGANOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        widths = level_widths(config.channels, config.levels)
        self.appearance = Encoder(3 + 18, widths)
        self.pose = Encoder(18, widths)
        self.decoder = Decoder(config.channels, widths, config.dropout)

    def forward(self, batch: Batch) -> torch.Tensor:
        image = batch["src_image"]
        height, width = image.shape[-2:]
        appearance = self.appearance(torch.cat([image, batch["src_heatmap"].to(image.dtype)], dim=1))
        pose = self.pose(batch["tgt_heatmap"].to(image.dtype))
        theta, _ = part_affines(batch["src_keypoints"], batch["tgt_keypoints"], height, width)
        masks = part_masks(batch["tgt_keypoints"].float(), height, width)
        skips = []
        for level, (app, tgt) in enumerate(zip(appearance, pose)):
            if level < self.config.warped_levels:
                app = deform(app, theta, masks, self.config.aggregation)
            skips.append(torch.cat([app, tgt], dim=1))
        return self.decoder(skips)

    def build_discriminators(self) -> nn.ModuleDict:
        return nn.ModuleDict({"patch": PatchDiscriminator(self.config.discriminator_channels)})

    def perceptual_layers(self) -> tuple[str, ...]:
        return (self.config.perceptual_layer,)

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        target = batch["tgt_image"]
        if self.config.perceptual:
            vgg = loss_networks["vgg"]
            with torch.no_grad():
                reference = vgg(target)
            content = nearest_neighbour_l1(reference, vgg(fake), self.config.nn_size)
            weight = self.config.content_weight
        else:
            content = nearest_neighbour_l1(target, fake, self.config.nn_size)
            weight = self.config.pixel_weight
        terms = {
            "adversarial": adversarial_loss(discriminators["patch"](batch, fake), real=True),
            "nn": content,
            "l1": F.l1_loss(fake.float(), target.float()).detach(),  # logged only (not in the objective)
        }
        total = self.config.adversarial_weight * terms["adversarial"] + weight * content
        return {"total": total, **terms}

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        judge = discriminators["patch"]
        real = adversarial_loss(judge(batch, batch["tgt_image"]), real=True)
        generated = adversarial_loss(judge(batch, fake), real=False)
        return {"total": 0.5 * (real + generated), "real": real, "fake": generated}

