"""SAN, the Semantic Attention Network (paper Sec. 3: "Person image generation with semantic
attention network for person re-identification").

How this module reads Sec. 3 (the extracted equations are garbled; the prose decides):

- Inputs (3.1.1). Appearance pathway: source image, source binary mask, source 20-label LIP
  parsing, stacked: 3+1+20 = 24 channels. Semantic pathway: target mask and target parsing,
  1+20 = 21 channels. ``use_mask=False`` (the paper's "no mask" ablation) drops the mask from both
  pathways: 23 / 20 channels. Each pathway is encoded by a 7x7 conv and two 3x3 convs, each with
  BatchNorm and LeakyReLU(0.2). The paper gives no strides or widths; as PATN's encoder does, the
  7x7 conv keeps the size (C channels) and the two 3x3 convs have stride 2 (2C, then 4C channels),
  so the codes F_ps^0, F_pt^0 are at 1/4 resolution with 4C channels (C = ``channels``, 64 as PATN).
- Semantic attention block t (3.1.2, Fig. 3), T = ``blocks`` of them (paper: 5):
  eq. 1  z_t = three 3x3 convs over the semantic code F_pt^(t-1), BatchNorm + LeakyReLU after the
         first two; the attention mask M_t = sigmoid(z_t), element-wise.
  eq. 2  ``attention="paper"`` (default), as printed: F_ps^t = M_t * F_pt^(t-1) + F_ps^(t-1)
         (the attention gates the semantic code, added to the appearance code as a residual).
         ``attention="patn"``, PATN's form: F_ps^t = M_t * conv(F_ps^(t-1)) + F_ps^(t-1), where
         conv is PATN's 3x3 conv-BN-LeakyReLU-conv-BN stack over the appearance code.
  eq. 3  F_pt^t = Conv(F_pt^(t-1) || F_ps^t): the concatenation (8C channels) through one 3x3 conv
         with BatchNorm and LeakyReLU back to 4C, so every block has the same shape (PATN instead
         carries the 8C concatenation into the next block; we keep the width fixed in both forms).
- ConvA / ConvS: three down-sampling subnetworks each (3x3 conv stride 2, BatchNorm, LeakyReLU)
  over F_ps^T and F_pt^T, at 1/8, 1/16, 1/32 resolution; the paper gives no widths, we keep 4C.
- Decoder (3.1.3), U-Net-like: 3x3 transposed convs ("deconvolutional layers", BatchNorm, ReLU),
  starting from ConvA || ConvS at 1/32; at each up-sampling step the result is concatenated with
  the same-size ConvS and ConvA features (at 1/4 these are F_pt^T and F_ps^T, the subnetworks'
  inputs); two more up-sampling steps mirror the encoder's, then a 7x7 conv and tanh give the
  image at the input resolution. Each transposed conv is given the exact size of the matching
  encoder feature (``output_size``), so odd sizes work: 176 -> 88 -> 44 -> 22 -> 11 -> 6 and back.
- Discriminator (3.2): two stride-2 convs, three residual blocks, a 3x3 conv to one channel per
  patch and a sigmoid (folded into the loss, see :mod:`reid_bench.generators.losses`). It sees the source
  image concatenated with a candidate (eq. 4: D(I_ps, I_pt) vs D(I_ps, Î_pt)) and judges whether
  the candidate shows the source person.
- Loss (3.3, eq. 7): alpha * adversarial + beta * L1 + gamma * perceptual (VGG-19, default layer
  relu1_2, see :mod:`reid_bench.generators.losses`). Paper weights: Market-1501 (10, 15, 5), DeepFashion
  (15, 1, 5); ``perceptual=False`` is the paper's "no perceptual loss" ablation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator
from reid_bench.generators.losses import adversarial_loss, perceptual_loss, vgg19_layer_names

PARSING_LABELS = 20  # LIP labels, background included
ATTENTION_FORMS = ("paper", "patn")


@dataclass(frozen=True)
class SANOptions:
    channels: int = 64  # C: width after the 7x7 conv; codes, blocks and ConvA/ConvS have 4C
    blocks: int = 5  # T semantic attention blocks (paper: 5; its ablation tries 1-9)
    attention: str = "paper"  # eq. 2: "paper" gates F_pt (as printed), "patn" gates conv(F_ps)
    use_mask: bool = True  # binary masks in both pathways (False: the paper's no-mask ablation)
    perceptual: bool = True  # VGG-19 perceptual term of eq. 7 (False: the paper's ablation)
    perceptual_layer: str = "relu1_2"  # VGG-19 layer of eq. 6 (PATN's layer)
    alpha: float = 10.0  # adversarial weight (paper: Market 10, DeepFashion 15)
    beta: float = 15.0  # L1 weight (paper: Market 15, DeepFashion 1)
    gamma: float = 5.0  # perceptual weight (paper: 5 for both)

    def __post_init__(self) -> None:
        if self.channels < 1 or self.blocks < 1:
            raise ReidBenchError(f"SAN needs channels >= 1 and blocks >= 1, not {self.channels} and {self.blocks}.")
        if self.attention not in ATTENTION_FORMS:
            raise ReidBenchError(f"SAN attention must be one of {ATTENTION_FORMS}, not {self.attention!r}.")
        if self.perceptual_layer not in vgg19_layer_names():
            raise ReidBenchError(f"unknown VGG-19 layer {self.perceptual_layer!r} for SAN's perceptual loss.")


def _conv(cin: int, cout: int, kernel: int = 3, stride: int = 1, norm: bool = True) -> list[nn.Module]:
    """Conv (+ BatchNorm + LeakyReLU(0.2)); reflection padding for the 7x7 image convs."""
    padding_mode = "reflect" if kernel == 7 else "zeros"
    conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=not norm, padding_mode=padding_mode)
    return [conv, nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)] if norm else [conv]


class Encoder(nn.Module):
    """7x7 conv (C), 3x3 stride-2 conv (2C), 3x3 stride-2 conv (4C); each BN + LeakyReLU (3.1.1)."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.stages = nn.ModuleList([
            nn.Sequential(*_conv(in_channels, channels, 7)),
            nn.Sequential(*_conv(channels, 2 * channels, 3, 2)),
            nn.Sequential(*_conv(2 * channels, 4 * channels, 3, 2)),
        ])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Size]]:
        sizes = []
        for stage in self.stages:
            x = stage(x)
            sizes.append(x.shape[-2:])
        return x, sizes  # code at 1/4; sizes at 1, 1/2, 1/4


class SemanticAttentionBlock(nn.Module):
    """One semantic attention block: eqs. 1-3 (see the module docstring)."""

    def __init__(self, width: int, attention: str) -> None:
        super().__init__()
        self.attention = attention
        self.attend = nn.Sequential(*_conv(width, width), *_conv(width, width), *_conv(width, width, norm=False))
        if attention == "patn":
            self.transform = nn.Sequential(*_conv(width, width), *_conv(width, width)[:-1])
        self.update = nn.Sequential(*_conv(2 * width, width))

    def forward(self, appearance: torch.Tensor, semantic: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.sigmoid(self.attend(semantic))  # eq. 1
        gated = semantic if self.attention == "paper" else self.transform(appearance)
        appearance = mask * gated + appearance  # eq. 2
        semantic = self.update(torch.cat([semantic, appearance], dim=1))  # eq. 3
        return appearance, semantic


class DownPath(nn.Module):
    """ConvA / ConvS: three 3x3 stride-2 conv + BN + LeakyReLU subnetworks; returns all three outputs."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.stages = nn.ModuleList([nn.Sequential(*_conv(width, width, 3, 2)) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class Up(nn.Module):
    """3x3 stride-2 transposed conv to an exact output size, BatchNorm, ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.rest = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return self.rest(self.deconv(x, output_size=list(size)))


class Decoder(nn.Module):
    """U-Net-like decoder over (ConvA || ConvS) skips (3.1.3)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        width = 4 * channels
        self.from_bottom = Up(2 * width, width)  # 1/32 -> 1/16
        self.skips = nn.ModuleList([Up(3 * width, width), Up(3 * width, width)])  # -> 1/8, -> 1/4
        self.to_half = Up(3 * width, 2 * channels)  # 1/4 (with F_ps^T || F_pt^T) -> 1/2
        self.to_full = Up(2 * channels, channels)  # 1/2 -> 1
        self.to_image = nn.Sequential(nn.Conv2d(channels, 3, 7, padding=3, padding_mode="reflect"), nn.Tanh())

    def forward(self, levels: list[tuple[torch.Tensor, torch.Tensor]], sizes: list[torch.Size]) -> torch.Tensor:
        """``levels``: (ConvA, ConvS) features at 1/4, 1/8, 1/16, 1/32; ``sizes``: encoder sizes."""
        x = self.from_bottom(torch.cat(levels[3], dim=1), levels[2][0].shape[-2:])
        for up, level, target in zip(self.skips, (levels[2], levels[1]), (levels[1], levels[0])):
            x = up(torch.cat([x, *level], dim=1), target[0].shape[-2:])
        x = self.to_half(torch.cat([x, *levels[0]], dim=1), sizes[1])
        return self.to_image(self.to_full(x, sizes[0]))


class ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv(width, width), *_conv(width, width)[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PairDiscriminator(nn.Module):
    """Sec. 3.2: two down-sampling convs, three residual blocks, per-patch logits (sigmoid in the loss)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_conv(6, channels, 3, 2), *_conv(channels, 2 * channels, 3, 2),
            *(ResidualBlock(2 * channels) for _ in range(3)),
            nn.Conv2d(2 * channels, 1, 3, padding=1),
        )

    def forward(self, source: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([source, candidate], dim=1))


class SAN(Generator):
    """The Semantic Attention Network generator; options: :class:`SANOptions`."""

    name = "san"
    title = "SAN"
    needs = frozenset({"parsing", "mask"})
    preset_options = {
        "market": {"channels": 64, "blocks": 5, "alpha": 10.0, "beta": 15.0, "gamma": 5.0},
        "deepfashion": {"channels": 64, "blocks": 5, "alpha": 15.0, "beta": 1.0, "gamma": 5.0},
        "quick": {"channels": 16, "blocks": 3, "alpha": 10.0, "beta": 15.0, "gamma": 5.0},
    }

    Options = SANOptions
    config: SANOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        mask = 1 if config.use_mask else 0
        width = 4 * config.channels
        self.appearance_encoder = Encoder(3 + mask + PARSING_LABELS, config.channels)
        self.semantic_encoder = Encoder(mask + PARSING_LABELS, config.channels)
        self.blocks = nn.ModuleList(SemanticAttentionBlock(width, config.attention) for _ in range(config.blocks))
        self.conv_a = DownPath(width)
        self.conv_s = DownPath(width)
        self.decoder = Decoder(config.channels)

    def pathway_inputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(appearance input (B,24|23,H,W), semantic input (B,21|20,H,W)), as Sec. 3.1.1 stacks them."""
        image = batch["src_image"]
        appearance = [image, batch["src_parsing"].to(image.dtype)]
        semantic = [batch["tgt_parsing"].to(image.dtype)]
        if self.config.use_mask:
            appearance.insert(1, batch["src_mask"].to(image.dtype))
            semantic.insert(0, batch["tgt_mask"].to(image.dtype))
        return torch.cat(appearance, dim=1), torch.cat(semantic, dim=1)

    def forward(self, batch: Batch) -> torch.Tensor:
        appearance_in, semantic_in = self.pathway_inputs(batch)
        appearance, sizes = self.appearance_encoder(appearance_in)
        semantic, _ = self.semantic_encoder(semantic_in)
        for block in self.blocks:
            appearance, semantic = block(appearance, semantic)
        levels = [(appearance, semantic), *zip(self.conv_a(appearance), self.conv_s(semantic))]
        return self.decoder(levels, sizes)

    def build_discriminators(self) -> nn.ModuleDict:
        return nn.ModuleDict({"pair": PairDiscriminator(self.config.channels)})

    def perceptual_layers(self) -> tuple[str, ...]:
        return (self.config.perceptual_layer,)

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        target = batch["tgt_image"]
        terms = {
            "adversarial": adversarial_loss(discriminators["pair"](batch["src_image"], fake), real=True),
            "l1": F.l1_loss(fake.float(), target.float()),
        }
        total = self.config.alpha * terms["adversarial"] + self.config.beta * terms["l1"]
        if self.config.perceptual:
            terms["perceptual"] = perceptual_loss(loss_networks["vgg"], fake, target)
            total = total + self.config.gamma * terms["perceptual"]
        return {"total": total, **terms}

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        source, judge = batch["src_image"], discriminators["pair"]
        real = adversarial_loss(judge(source, batch["tgt_image"]), real=True)
        generated = adversarial_loss(judge(source, fake), real=False)
        return {"total": 0.5 * (real + generated), "real": real, "fake": generated}
