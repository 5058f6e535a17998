"""PATN: Zhu et al., "Progressive Pose Attention Transfer for Person Image Generation", CVPR 2019.

Read from the paper (Sec. 3) and the authors' code (tengteng95/Pose-Transfer: models/PATN.py,
models/model_variants.py, models/networks.py, train.sh, losses/L1_plus_perceptualLoss.py).

Kept:

- Two streams. The image stream encodes the source image, the pose stream the source and target
  heatmaps stacked (18 + 18 channels, Gaussian sigma 6 as PATN's ``cords_to_map``). Each: reflect
  pad + 7x7 conv (C), two 3x3 stride-2 convs (2C, 4C), norm + ReLU after each.
- T Pose-Attentional Transfer blocks (``blocks``, paper and code: 9), at 1/4 resolution, width 4C:
  image update ``conv_s(F_s)`` = conv-norm-ReLU-(dropout)-conv-norm; pose update ``conv_p(F_p)`` =
  conv-norm-ReLU-(dropout)-conv (no norm; the first block reads 4C channels, the later ones 8C);
  attention ``M = sigmoid(conv_p(F_p))``; ``F_s' = F_s + M * conv_s(F_s)`` (eq. 2-3); the pose stream
  passes on ``conv_p(F_p) || F_s'`` (8C channels, eq. 4). Reflection padding, as the code.
- Decoder: two 3x3 stride-2 transposed convs (2C, C) with norm + ReLU, reflect pad + 7x7 conv, tanh.
  The transposed convs are given the encoder's exact sizes, so odd sizes work (30x18 -> 15x9 -> 8x5).
- Two discriminators, PATN's ``ResnetDiscriminator``: 7x7 conv (ndf), two 3x3 stride-2 convs
  (2ndf, 4ndf), three residual blocks with dropout 0.5, no final 1-channel conv: each of the 4ndf
  output maps' elements is a real/fake logit, as in the code (``use_sigmoid`` + BCE). D_pose sees the
  image with the target heatmaps (shape consistency), D_app the image with the source image
  (appearance consistency).
- Losses, as ``PATN.py`` weights them: G = lambda_l1 * L1 + lambda_perceptual * perceptual
  + lambda_gan * (GAN_pose + GAN_app) / 2, the perceptual term the L1 distance of VGG-19 relu1_2
  activations (``--perceptual_layers 3 --percep_is_l1 1``); each D's loss is lambda_gan * (real +
  fake) / 2. Market-1501 (train.sh): lambda (gan, l1, perceptual) = (5, 10, 10), BatchNorm;
  DeepFashion (the README's command): (5, 1, 1), InstanceNorm (affine=False, conv biases on).
- Initialisation N(0, 0.02) for convs, N(1, 0.02) for BatchNorm scales (``init_type normal``).

Simplified, and why:

- No image pool of past fakes (pool 50 on Market-1501): the shared loop keeps no state outside
  the modules it checkpoints, and a pool would make resumed runs differ.
- Optimiser, learning-rate schedule and batch size are the shared loop's (Adam 2e-4, beta1 0.5,
  linear decay) instead of PATN's 500 + 200 epochs constant-then-linear; one Adam for both Ds.
- Vanilla GAN via ``binary_cross_entropy_with_logits`` (``--no_lsgan``): the sigmoid is folded into
  the loss, the same objective, numerically stable.
- Perceptual rule as SAN: ``perceptual=False`` when VGG-19 is missing under the quick preset
  (recorded by the loop); paper presets stop with the missing-weights message.
- ``quick`` preset (CPU, SynthPeople 128x64): channels 16, 3 blocks, discriminators ndf 8, same
  loss weights as Market-1501; about twice SAN-quick's cost per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator
from reid_bench.generators.losses import adversarial_loss, vgg19_layer_names

KEYPOINTS = 18
NORMS = ("batch", "instance")


@dataclass(frozen=True)
class PATNOptions:
    channels: int = 64  # ngf: width after the 7x7 conv; the transfer blocks run at 4 * channels
    blocks: int = 9  # Pose-Attentional Transfer blocks (PATN: 9)
    discriminator_channels: int = 64  # ndf of both discriminators
    discriminator_blocks: int = 3  # residual blocks per discriminator (--n_layers_D 3)
    norm: str = "batch"  # "batch" (Market-1501) or "instance" (DeepFashion)
    dropout: bool = True  # dropout 0.5 inside the transfer blocks (PATN's default, no --no_dropout)
    discriminator_dropout: bool = True  # dropout 0.5 in the discriminators' residual blocks
    perceptual: bool = True  # VGG-19 relu1_2 L1 term (False: no VGG-19 needed)
    perceptual_layer: str = "relu1_2"  # --perceptual_layers 3, i.e. features[:4]
    lambda_gan: float = 5.0  # --lambda_GAN
    lambda_l1: float = 10.0  # --lambda_A
    lambda_perceptual: float = 10.0  # --lambda_B

    def __post_init__(self) -> None:
        if min(self.channels, self.blocks, self.discriminator_channels) < 1 or self.discriminator_blocks < 0:
            raise ReidBenchError(f"PATN needs channels, blocks, discriminator_channels >= 1, not {self}.")
        if self.norm not in NORMS:
            raise ReidBenchError(f"PATN norm must be one of {NORMS}, not {self.norm!r}.")
        if self.perceptual_layer not in vgg19_layer_names():
            raise ReidBenchError(f"unknown VGG-19 layer {self.perceptual_layer!r} for PATN's perceptual loss.")


def _norm(norm: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if norm == "batch" else nn.InstanceNorm2d(channels, affine=False)


def _conv(cin: int, cout: int, norm: str, kernel: int = 3, stride: int = 1, relu: bool = True,
          normalise: bool = True) -> list[nn.Module]:
    """[reflect pad] conv [norm] [ReLU]. Conv biases only with InstanceNorm (PATN's ``use_bias``);
    stride-2 convs zero-pad by 1, the others reflect-pad, as PATN's."""
    layers: list[nn.Module] = []
    if stride == 1:
        layers.append(nn.ReflectionPad2d(kernel // 2))
    padding = 0 if stride == 1 else kernel // 2
    layers.append(nn.Conv2d(cin, cout, kernel, stride, padding=padding, bias=norm == "instance"))
    if normalise:
        layers.append(_norm(norm, cout))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class Encoder(nn.Module):
    """7x7 conv (C), 3x3 stride-2 (2C), 3x3 stride-2 (4C); returns the code and the sizes on the way."""

    def __init__(self, cin: int, channels: int, norm: str) -> None:
        super().__init__()
        self.stages = nn.ModuleList([
            nn.Sequential(*_conv(cin, channels, norm, 7)),
            nn.Sequential(*_conv(channels, 2 * channels, norm, 3, 2)),
            nn.Sequential(*_conv(2 * channels, 4 * channels, norm, 3, 2)),
        ])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Size]]:
        sizes = []
        for stage in self.stages:
            x = stage(x)
            sizes.append(x.shape[-2:])
        return x, sizes


class PATBlock(nn.Module):
    """One Pose-Attentional Transfer block (see the module docstring); ``first``: pose input is 4C wide."""

    def __init__(self, width: int, norm: str, dropout: bool, first: bool) -> None:
        super().__init__()
        drop = [nn.Dropout(0.5)] if dropout else []
        pose_in = width if first else 2 * width
        self.image = nn.Sequential(*_conv(width, width, norm), *drop,
                                   *_conv(width, width, norm, relu=False))
        self.pose = nn.Sequential(*_conv(pose_in, pose_in, norm), *drop,
                                  *_conv(pose_in, width, norm, relu=False, normalise=False))

    def forward(self, image: torch.Tensor, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pose_out = self.pose(pose)
        image = image + self.image(image) * torch.sigmoid(pose_out)
        return image, torch.cat([pose_out, image], dim=1)


class Decoder(nn.Module):
    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        bias = norm == "instance"
        self.up = nn.ModuleList([
            nn.ConvTranspose2d(4 * channels, 2 * channels, 3, stride=2, padding=1, bias=bias),
            nn.ConvTranspose2d(2 * channels, channels, 3, stride=2, padding=1, bias=bias),
        ])
        self.after = nn.ModuleList([
            nn.Sequential(_norm(norm, 2 * channels), nn.ReLU(inplace=True)),
            nn.Sequential(_norm(norm, channels), nn.ReLU(inplace=True)),
        ])
        self.to_image = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(channels, 3, 7), nn.Tanh())

    def forward(self, x: torch.Tensor, sizes: list[torch.Size]) -> torch.Tensor:
        for up, after, size in zip(self.up, self.after, (sizes[1], sizes[0])):
            x = after(up(x, output_size=list(size)))
        return self.to_image(x)


class ResnetBlock(nn.Module):
    def __init__(self, width: int, norm: str, dropout: bool) -> None:
        super().__init__()
        drop = [nn.Dropout(0.5)] if dropout else []
        self.body = nn.Sequential(*_conv(width, width, norm), *drop,
                                  *_conv(width, width, norm, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetDiscriminator(nn.Module):
    """PATN's discriminator: 7x7 conv, two stride-2 convs, residual blocks; 4ndf maps of logits."""

    def __init__(self, cin: int, channels: int, blocks: int, norm: str, dropout: bool) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_conv(cin, channels, norm, 7),
            *_conv(channels, 2 * channels, norm, 3, 2),
            *_conv(2 * channels, 4 * channels, norm, 3, 2),
            *(ResnetBlock(4 * channels, norm, dropout) for _ in range(blocks)),
        )

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat(inputs, dim=1))


def init_normal(module: nn.Module) -> None:
    """PATN's ``weights_init_normal``: conv weights N(0, 0.02), BatchNorm scales N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class PATN(Generator):
    """Progressive Pose Attention Transfer network; options: :class:`PATNOptions`."""

    name = "patn"
    title = "PATN"
    needs = frozenset({"heatmap"})
    preset_options = {
        "market": {"channels": 64, "blocks": 9, "norm": "batch",
                   "lambda_gan": 5.0, "lambda_l1": 10.0, "lambda_perceptual": 10.0},
        "deepfashion": {"channels": 64, "blocks": 9, "norm": "instance",
                        "lambda_gan": 5.0, "lambda_l1": 1.0, "lambda_perceptual": 1.0},
        "quick": {"channels": 16, "blocks": 3, "discriminator_channels": 8, "norm": "batch",
                  "lambda_gan": 5.0, "lambda_l1": 10.0, "lambda_perceptual": 10.0},
    }

    Options = PATNOptions
    config: PATNOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        width = 4 * config.channels
        self.image_encoder = Encoder(3, config.channels, config.norm)
        self.pose_encoder = Encoder(2 * KEYPOINTS, config.channels, config.norm)
        self.blocks = nn.ModuleList(PATBlock(width, config.norm, config.dropout, first=i == 0)
                                    for i in range(config.blocks))
        self.decoder = Decoder(config.channels, config.norm)
        init_normal(self)

    def forward(self, batch: Batch) -> torch.Tensor:
        image = batch["src_image"]
        pose_in = torch.cat([batch["src_heatmap"], batch["tgt_heatmap"]], dim=1).to(image.dtype)
        image_code, sizes = self.image_encoder(image)
        pose_code, _ = self.pose_encoder(pose_in)
        for block in self.blocks:
            image_code, pose_code = block(image_code, pose_code)
        return self.decoder(image_code, sizes)

    def build_discriminators(self) -> nn.ModuleDict:
        c = self.config
        discriminators = nn.ModuleDict({
            "pose": ResnetDiscriminator(3 + KEYPOINTS, c.discriminator_channels, c.discriminator_blocks,
                                        c.norm, c.discriminator_dropout),
            "appearance": ResnetDiscriminator(6, c.discriminator_channels, c.discriminator_blocks,
                                              c.norm, c.discriminator_dropout),
        })
        init_normal(discriminators)
        return discriminators

    def perceptual_layers(self) -> tuple[str, ...]:
        return (self.config.perceptual_layer,)

    def _judge(self, discriminators: nn.ModuleDict, batch: Batch,
               image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heatmap = batch["tgt_heatmap"].to(image.dtype)
        return discriminators["pose"](image, heatmap), discriminators["appearance"](image, batch["src_image"])

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        c, target = self.config, batch["tgt_image"]
        pose_logits, app_logits = self._judge(discriminators, batch, fake)
        terms = {
            "adversarial_pose": adversarial_loss(pose_logits, real=True),
            "adversarial_appearance": adversarial_loss(app_logits, real=True),
            "l1": F.l1_loss(fake.float(), target.float()),
        }
        adversarial = (terms["adversarial_pose"] + terms["adversarial_appearance"]) / 2
        total = c.lambda_l1 * terms["l1"] + c.lambda_gan * adversarial
        if c.perceptual:
            vgg = loss_networks["vgg"]
            with torch.no_grad():
                target_features = vgg(target)
            terms["perceptual"] = F.l1_loss(vgg(fake).float(), target_features.float())
            total = total + c.lambda_perceptual * terms["perceptual"]
        return {"total": total, **terms}

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        real_pose, real_app = self._judge(discriminators, batch, batch["tgt_image"])
        fake_pose, fake_app = self._judge(discriminators, batch, fake)
        pose = 0.5 * (adversarial_loss(real_pose, real=True) + adversarial_loss(fake_pose, real=False))
        app = 0.5 * (adversarial_loss(real_app, real=True) + adversarial_loss(fake_app, real=False))
        return {"total": self.config.lambda_gan * (pose + app), "pose": pose, "appearance": app}
