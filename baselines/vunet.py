"""VU-Net: Esser, Sutter, Ommer, "A Variational U-Net for Conditional Appearance and Shape
Generation", CVPR 2018 (arXiv 1804.04694), as its authors' TensorFlow code (CompVis/vunet:
``models.py``, ``nn.py``, ``main.py``, ``batches.py``, ``market.yaml``, ``deepfashion.yaml``)
builds it.

Kept:

- Shape y-hat: a stickman drawn from the keypoints (``batches.make_joint_img``): right limbs in the
  red channel, left limbs in the green one, the torso polygon filled in blue, neck-nose at half
  intensity in red and green, nose-eye lines; line width 3 px per 128 px of height; in [-1, 1].
- Decoder (the shape U-Net, eq. 3): ``dec_up`` over the target stickman (a 1x1 conv to 32
  channels, per scale two residual blocks, stride-2 3x3 convs doubling the width up to 128) and
  ``dec_down`` back up (residual blocks fed with the matching ``dec_up`` skip, sub-pixel
  upsampling), then a linear 3x3 conv to RGB. 7 scales (128x64 down to 2x1).
- Appearance encoder q(z | x, y-hat) (``enc_up`` / ``enc_down``): the same towers over the source
  image and the source stickman; posterior means at the two coarsest scales (``n_latent_scales =
  2``), unit-variance Gaussian latents (z = mean + noise while training, the mean when generating,
  as ``transfer_pass``). The decoder's prior p(z | y-hat) at those scales is a 3x3 conv of its
  features; the posterior sample is concatenated and mixed in by a 1x1 conv and a residual block.
- Residual block ("slight variation of original" in ``nn.py``): x + conv3x3(dropout(ELU(x || 1x1(ELU(skip))))),
  dropout 0.1; ELU activations.
- Loss: likelihood = 5 x sum of mean L1 distances between the target's and the output's features
  at the pixels and VGG-19 relu1_2, relu2_2, relu3_2, relu4_2, relu5_2 (weights 1, the yaml's
  ``feature_layers``); KL = 0.5 ||mu_q - mu_p||^2 summed over latent dimensions, mean over the
  batch (``latent_kl``), with a weight ramped linearly from 1e-6 to 1 between steps
  ``kl_start`` and ``kl_end`` (the code: 50k and 75k of its 100k-step run). No adversarial term.

Simplified, and why:

- Trained on pose-transfer pairs (posterior from the source, decoder on the target stickman,
  loss against the target), as the loop serves pairs; the paper trains on single images (x and
  y-hat from the same image), which src == tgt pairs reproduce.
- The appearance encoder sees the full source image + stickman (the paper's q(z|x, y-hat)); the
  final code feeds it crops of body parts at half resolution instead (``box_factor``).
- The prior is one 3x3 conv per latent scale; the code's final version models it
  autoregressively in four spatial groups. Plain convolutions with PyTorch's default init replace
  the weight-normalised, data-initialised ones.
- The loop counts steps for the KL ramp in a buffer (``kl_step``, saved with the weights): the
  interface does not pass the step. The ramp is in steps of this model's training, so with the
  loop's longer runs the KL reaches full weight relatively earlier than in the code's 100k steps.
- Offline: without VGG-19 (``perceptual=False``) the likelihood is the pixel term alone (x 5).
  VGG is torchvision's (ImageNet mean/std input), not Keras' caffe-style one.
- VU-Net has no discriminator: it keeps the interface's empty default, so the shared loop has no
  discriminator step and logs no ``d_*`` terms. The output conv is linear as in the code; the image is
  clipped to [-1, 1] (the code clips when it saves). Optimiser settings are the loop's (the code:
  Adam 1e-3, (0.5, 0.9), decaying linearly to 0 from step 1000 to 100k; batch 16 / 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.baselines._blocks import POINT, ForwardCache, present
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator

VGG_LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")  # Keras block{1..5}_conv2
_RIGHT = (("Rank", "Rkne"), ("Rkne", "Rhip"), ("Rhip", "Rsho"), ("Rsho", "Relb"), ("Relb", "Rwri"))
_LEFT = tuple((a.replace("R", "L", 1), b.replace("R", "L", 1)) for a, b in _RIGHT)
_TORSO = ("Lhip", "Lsho", "Rsho", "Rhip")


@dataclass(frozen=True)
class VUNetOptions:
    channels: int = 32  # n_filters at full resolution
    max_channels: int = 128  # max_filters
    scales: int = 7  # resolution levels (the code: 1 + log2(128) - bottleneck_factor 1 = 7)
    latent_scales: int = 2  # n_latent_scales, counted from the coarsest
    dropout: float = 0.1  # drop_prob
    perceptual: bool = True  # VGG-19 feature terms of the likelihood (False: pixels only)
    likelihood_weight: float = 5.0  # the code's 5.0 * vgg19 loss
    kl_start: int = 50_000  # step where the KL weight starts rising from 1e-6 ...
    kl_end: int = 75_000  # ... and where it reaches 1

    def __post_init__(self) -> None:
        if self.scales < 2 or not 1 <= self.latent_scales <= self.scales:
            raise ReidBenchError(f"VU-Net needs scales >= 2 and 1 <= latent_scales <= scales, "
                                 f"not {self.scales}, {self.latent_scales}.")
        if self.kl_end <= self.kl_start:
            raise ReidBenchError(f"VU-Net needs kl_end > kl_start, not {self.kl_end} <= {self.kl_start}.")


# --- The stickman ----------------------------------------------------------------------------------

def _segment_mask(a: torch.Tensor, b: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor,
                  half_width: float) -> torch.Tensor:
    """(B, H, W) pixels within ``half_width`` of segment a-b ((B, 2) (y, x) each)."""
    ay, ax = a[:, 0].view(-1, 1, 1), a[:, 1].view(-1, 1, 1)
    dy, dx = (b[:, 0] - a[:, 0]).view(-1, 1, 1), (b[:, 1] - a[:, 1]).view(-1, 1, 1)
    length = (dy * dy + dx * dx).clamp(min=1e-6)
    t = (((ys - ay) * dy + (xs - ax) * dx) / length).clamp(0, 1)
    return (ys - ay - t * dy).pow(2) + (xs - ax - t * dx).pow(2) <= half_width ** 2


def _inside_polygon(points: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """(B, H, W) even-odd rule for the polygon ``points`` (B, K, 2) (y, x)."""
    inside = torch.zeros(points.shape[0], ys.shape[-2], xs.shape[-1], dtype=torch.bool, device=points.device)
    count = points.shape[1]
    for k in range(count):
        y0, x0 = points[:, k, 0].view(-1, 1, 1), points[:, k, 1].view(-1, 1, 1)
        y1, x1 = points[:, (k + 1) % count, 0].view(-1, 1, 1), points[:, (k + 1) % count, 1].view(-1, 1, 1)
        crosses = (y0 > ys) != (y1 > ys)
        x_at = x0 + (ys - y0) * (x1 - x0) / torch.where(y1 == y0, torch.ones_like(y1), y1 - y0)
        inside ^= crosses & (xs < x_at)
    return inside


def stickman(keypoints: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1]: the code's ``make_joint_img`` for COCO keypoints (module docstring)."""
    keypoints = keypoints.float()
    shown = present(keypoints)
    ys = torch.arange(height, device=keypoints.device, dtype=torch.float32).view(1, height, 1)
    xs = torch.arange(width, device=keypoints.device, dtype=torch.float32).view(1, 1, width)
    half = max(1.0, 3.0 * height / 128) / 2
    image = torch.zeros(keypoints.shape[0], 3, height, width, device=keypoints.device)

    def draw(channel: int, a: str | torch.Tensor, b: str, value: float, known: torch.Tensor | None = None) -> None:
        start = keypoints[:, POINT[a]] if isinstance(a, str) else a
        ok = shown[:, POINT[b]] & (shown[:, POINT[a]] if isinstance(a, str) else known)
        hit = _segment_mask(start, keypoints[:, POINT[b]], ys, xs, half) & ok.view(-1, 1, 1)
        image[:, channel] = torch.where(hit, torch.full_like(image[:, channel], value), image[:, channel])

    torso = [POINT[n] for n in _TORSO]
    filled = _inside_polygon(keypoints[:, torso], ys, xs) & shown[:, torso].all(dim=1).view(-1, 1, 1)
    image[:, 2] = filled.float()
    for a, b in _RIGHT:
        draw(0, a, b, 1.0)
    for a, b in _LEFT:
        draw(1, a, b, 1.0)
    neck = (keypoints[:, POINT["Rsho"]] + keypoints[:, POINT["Lsho"]]) / 2
    shoulders = shown[:, POINT["Rsho"]] & shown[:, POINT["Lsho"]]
    draw(0, neck, "nose", 127 / 255, shoulders)
    draw(1, neck, "nose", 127 / 255, shoulders)
    draw(0, "nose", "Reye", 1.0)
    draw(1, "nose", "Leye", 1.0)
    return image * 2 - 1


# --- Networks --------------------------------------------------------------------------------------

class ResidualBlock(nn.Module):
    """``nn.residual_block``: x + conv3x3(dropout(ELU(x || nin(ELU(skip)))))."""

    def __init__(self, channels: int, skip_channels: int, dropout: float) -> None:
        super().__init__()
        self.nin = nn.Conv2d(skip_channels, channels, 1) if skip_channels else None
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.conv = nn.Conv2d(2 * channels if skip_channels else channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        residual = x
        if self.nin is not None:
            assert skip is not None
            residual = torch.cat([x, self.nin(F.elu(skip))], dim=1)
        return x + self.conv(self.dropout(F.elu(residual)))


def _fit(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Crop (or replicate-pad) ``x`` to ``size``: sub-pixel upsampling of an odd size overshoots by one."""
    x = x[..., :size[0], :size[1]]
    pad_h, pad_w = size[0] - x.shape[-2], size[1] - x.shape[-1]
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x


class UpTower(nn.Module):
    """``enc_up`` / ``dec_up``: 1x1 conv, per scale two residual blocks (kept), stride-2 conv doubling."""

    def __init__(self, in_channels: int, config: VUNetOptions) -> None:
        super().__init__()
        width = config.channels
        self.nin = nn.Conv2d(in_channels, width, 1)
        self.blocks = nn.ModuleList()
        self.downs = nn.ModuleList()
        self.widths = []
        for scale in range(config.scales):
            self.blocks.append(nn.ModuleList(ResidualBlock(width, 0, config.dropout) for _ in range(2)))
            self.widths.append(width)
            if scale + 1 < config.scales:
                out = min(2 * width, config.max_channels)
                self.downs.append(nn.Conv2d(width, out, 3, stride=2, padding=1))
                width = out

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.nin(x)
        features = []
        for scale, pair in enumerate(self.blocks):
            for block in pair:
                h = block(h)
                features.append(h)
            if scale < len(self.downs):
                h = self.downs[scale](h)
        return features


class Upsample(nn.Module):
    """Sub-pixel upsampling (``nn.upsample``): a 3x3 conv to 4C channels, then pixel shuffle."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 4 * cout, 3, padding=1)

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return _fit(F.pixel_shuffle(self.conv(x), 2), size)


class DownTower(nn.Module):
    """``enc_down`` (posterior) or ``dec_down`` (prior + decoder), from the coarsest scale up.

    Per scale: a residual block with the matching up-tower skip; at a latent scale the latent
    parameters (a 3x3 conv: posterior or prior means) and a second residual block fed with the
    latent (encoder: skip || z; decoder: 1x1 conv of h || z first); else a plain second block.
    The encoder stops after its latent scales (its last latent scale has no second block: the
    code computes one there but nothing reads it).
    """

    def __init__(self, widths: list[int], config: VUNetOptions, decoder: bool) -> None:
        super().__init__()
        self.decoder, self.latent_scales = decoder, config.latent_scales
        reversed_widths = widths[::-1]
        scales = len(widths) if decoder else config.latent_scales
        self.nin = nn.Conv2d(reversed_widths[0], reversed_widths[0], 1)
        self.first = nn.ModuleList()
        self.latent = nn.ModuleList()
        self.mix = nn.ModuleList()
        self.second = nn.ModuleList()
        self.ups = nn.ModuleList()
        for scale in range(scales):
            width = reversed_widths[scale]
            self.first.append(ResidualBlock(width, width, config.dropout))
            if scale < config.latent_scales:
                self.latent.append(nn.Conv2d(width, width, 3, padding=1))
            if decoder and scale < config.latent_scales:
                self.mix.append(nn.Conv2d(2 * width, width, 1))
                self.second.append(ResidualBlock(width, width, config.dropout))
            elif decoder:
                self.second.append(ResidualBlock(width, width, config.dropout))
            elif scale + 1 < scales:  # the encoder's last latent scale has nothing above it to feed
                self.second.append(ResidualBlock(width, 2 * width, config.dropout))
            if scale + 1 < scales:
                self.ups.append(Upsample(width, reversed_widths[scale + 1]))

    def forward(self, skips: list[torch.Tensor], posterior: list[torch.Tensor] | None = None,
                sample: bool = False) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """(last hidden state, latent means, latents used); ``skips`` from the up tower (2 per scale)."""
        skips = list(skips)
        h = self.nin(skips[-1])
        means, used = [], []
        for scale, first in enumerate(self.first):
            h = first(h, skips.pop())
            if scale < self.latent_scales:
                mean = self.latent[scale](h)
                means.append(mean)
                if self.decoder:
                    assert posterior is not None
                    z = posterior[scale]
                    h = self.second[scale](self.mix[scale](torch.cat([h, z], dim=1)), skips.pop())
                else:
                    z = mean + torch.randn_like(mean) if sample else mean
                    if scale < len(self.second):
                        h = self.second[scale](h, torch.cat([skips.pop(), z], dim=1))
                used.append(z)
            else:
                h = self.second[scale](h, skips.pop())
            if scale < len(self.ups):
                h = self.ups[scale](h, skips[-1].shape[-2:])
        return h, means, used


class VUNet(Generator):
    """Variational U-Net; options: :class:`VUNetOptions`."""

    name = "vunet"
    title = "VU-Net"
    needs = frozenset({"keypoints"})
    preset_options = {
        "market": {"channels": 32, "max_channels": 128, "scales": 7, "kl_start": 50_000, "kl_end": 75_000},
        "deepfashion": {"channels": 32, "max_channels": 128, "scales": 7, "kl_start": 50_000, "kl_end": 75_000},
        # 1500 steps (the quick preset): the ramp at the same fractions of the run as the code's.
        "quick": {"channels": 8, "max_channels": 32, "scales": 6, "kl_start": 750, "kl_end": 1125},
    }

    Options = VUNetOptions
    config: VUNetOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        self.enc_up = UpTower(3 + 3, config)
        self.enc_down = DownTower(self.enc_up.widths, config, decoder=False)
        self.dec_up = UpTower(3, config)
        self.dec_down = DownTower(self.dec_up.widths, config, decoder=True)
        self.head = nn.Conv2d(config.channels, 3, 3, padding=1)
        self.register_buffer("kl_step", torch.zeros((), dtype=torch.long))
        self._cache = ForwardCache()

    def outputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(generated image clipped to [-1, 1], KL(q || p) averaged over the batch)."""
        source = batch["src_image"]
        height, width = source.shape[-2:]
        shape_source = stickman(batch["src_keypoints"], height, width).to(source.dtype)
        shape_target = stickman(batch["tgt_keypoints"], height, width).to(source.dtype)
        _, posterior_means, latents = self.enc_down(self.enc_up(torch.cat([source, shape_source], dim=1)),
                                                    sample=self.training)
        h, prior_means, _ = self.dec_down(self.dec_up(shape_target), latents)
        kl = sum(0.5 * (q.float() - p.float()).pow(2).flatten(1).sum(1).mean()
                 for q, p in zip(posterior_means, prior_means))
        return self.head(h).clamp(-1, 1), kl  # type: ignore[return-value]

    def forward(self, batch: Batch) -> torch.Tensor:
        image, kl = self.outputs(batch)
        self._cache.store(image, kl=kl)
        return image

    def kl_weight(self, step: int | None = None) -> float:
        """The code's ``make_linear_var``: 1e-6 -> 1 between kl_start and kl_end, clipped."""
        step = int(self.kl_step) if step is None else step
        start, end = self.config.kl_start, self.config.kl_end
        value = 1e-6 + (1.0 - 1e-6) * (step - start) / (end - start)
        return min(1.0, max(1e-6, value))

    def perceptual_layers(self) -> tuple[str, ...]:
        return VGG_LAYERS

    def likelihood_terms(self, fake: torch.Tensor, target: torch.Tensor,
                         loss_networks: nn.ModuleDict) -> list[torch.Tensor]:
        """Mean L1 distances of the pixels and (if perceptual) of the VGG-19 layers in VGG_LAYERS."""
        terms = [(fake.float() - target.float()).abs().mean()]
        if self.config.perceptual:
            vgg = loss_networks["vgg"]
            with torch.no_grad():
                targets = vgg(target)
            generated = vgg(fake)
            terms += [(generated[layer].float() - targets[layer].float()).abs().mean() for layer in VGG_LAYERS]
        return terms

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        cached = self._cache.fetch(fake)
        kl = cached["kl"] if cached is not None else self.outputs(batch)[1]
        terms = self.likelihood_terms(fake, batch["tgt_image"], loss_networks)
        likelihood = self.config.likelihood_weight * sum(terms)
        weight = self.kl_weight()
        if self.training and torch.is_grad_enabled():
            self.kl_step += 1
        total = likelihood + weight * kl
        out = {"total": total, "likelihood": likelihood, "kl": kl, "l1": terms[0],
               "kl_weight": torch.tensor(weight)}
        out.update({f"vgg_{layer}": term for layer, term in zip(VGG_LAYERS, terms[1:])})
        return out
