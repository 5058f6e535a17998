"""GFLA: Ren et al., "Deep Image Spatial Transformation for Person Image Generation", CVPR 2020.

Read from the paper (Sec. 3) and the authors' code (RenYurui/Global-Flow-Local-Attention:
model/networks/generator.py ``PoseGenerator``, ``PoseFlowNet``, ``PoseSourceNet``,
``PoseTargetNet``; base_function.py ``ExtractorAttn`` and the blocks; discriminator.py
``ResDiscriminator``; external_function.py losses; model/pose_model.py weights;
PERSON_IMAGE_GENERATION.md settings). Pure PyTorch: the code's CUDA ops (``block_extractor``,
``local_attn_reshape``, ``resample2d``) are replaced by ``F.grid_sample`` and ``F.unfold``.

Kept:

- Global flow field estimator (``PoseFlowNet``, ngf 32, widths capped at 256, 5 encoder blocks):
  source image || source heatmaps || target heatmaps -> encoder blocks (norm, act, 4x4 stride-2
  conv, norm, act, 3x3 conv), decoder residual up-sampling blocks with "jump" skips, and at each
  attention level a flow field (2 channels, pixels of that level) and an occlusion mask (sigmoid).
  DeepFashion: levels 3 and 2 (1/8 and 1/4 resolution, ``attn_layer=2,3``); Market-1501: level 2.
- Local neural texture renderer: a source encoder (``PoseSourceNet``) and a target-pose
  encoder-decoder (``PoseTargetNet``, ngf 64, widths capped at 512, 3 levels, 2 residual blocks per
  decoder level, InstanceNorm, LeakyReLU(0.1)). At each attention level, for every target
  position, local attention: the k x k source patch around the flow-sampled position (bilinear,
  ``grid_sample`` at the k^2 offsets) and the k x k target-feature patch (``unfold``) go through the
  code's "fully connected" layer (a k x k conv over both patches = a 1x1 conv over their 2Ck^2
  values, here written as the latter; 128 hidden, LeakyReLU, k^2 outputs, softmax); the output is
  the average over the patch of the weighted source values (the paper's eq. 4 and the code's
  avg-pool). Then ``out * (1 - mask) + attended * mask``. Kernel sizes: DeepFashion 5 at level 2,
  3 at level 3; Market-1501 3.
- Discriminator: ``ResDiscriminator`` (residual down-sampling blocks, ndf 32, widths capped at 128,
  4 blocks on DeepFashion / 3 on Market-1501, spectral norm, no norm layers) on the image alone.
- Losses and weights (``pose_model.py``): L1 (``lambda_rec`` 5), LSGAN (``gan_mode lsgan``, 2),
  VGG-19 content (L1 at relu1_1 ... relu5_1, 0.5), style (L1 of Gram matrices at relu2_2, relu3_4,
  relu4_4, relu5_2, 500), sampling correctness (5) and affine regularisation (0.0025).
  ``sampling_correctness``: for each flow, with VGG-19 features of source and target at the same
  scale (relu3_1 for level 2, relu4_1 for level 3), mean over target positions of
  exp(-cos(warped source, target) / max over source positions of cos) - exp(-1).
  ``affine_regularization``: in every k x k window of each flow's sampling grid, the squared
  residual of the best affine fit (least squares), summed over x and y, averaged over windows.
  Both are options and both are on in every preset; the correctness term needs VGG-19 and follows
  ``perceptual`` (see below).

Simplified, and why:

- One stage: the code first trains the flow estimator alone (correctness + regularisation), then
  everything end to end; the shared loop has one stage, so all terms train together from step 0.
- Optimiser and schedule are the shared loop's (Adam 2e-4, beta1 0.5, linear decay, D at the same
  lr) instead of GFLA's Adam 1e-4 with beta1 0 and D at 0.1x the lr.
- Bilinear sampling in the correctness loss (the code's ``use_bilinear_sampling`` option) instead
  of its Gaussian-weighted ``resample2d``; default PyTorch initialisation instead of orthogonal.
- The source encoder stops at the deepest attention level: the code builds all ``layers`` blocks,
  but with attention at level 2 only (Market-1501) the third feeds nothing (and gets no gradient).
- Sizes that do not halve evenly (176 -> 88 -> 44 -> 22 -> 11 -> 5) are handled by resizing a
  decoder output to its skip's size (bilinear) where the code assumes powers of two.
- Perceptual rule as SAN: ``perceptual=False`` (quick preset without VGG-19, recorded by the loop)
  drops content, style and sampling correctness, the three VGG-19 terms; the flow is then learned
  only end to end, with the affine regulariser. Paper presets stop with the missing-weights message.
- ``quick`` preset (CPU, SynthPeople 128x64): the Market-1501 layout (attention at level 2, 3x3
  windows, 3 discriminator blocks) at a quarter of the widths (ngf 16, flow ngf 16, D ndf 16).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from reid_bench.baselines._flow import gram, pixel_grid, resize_flow, sampling_grid, warp
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator

KEYPOINTS = 18
HIDDEN = 128  # ExtractorAttn's hidden width
CONTENT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
CORRECTNESS_LAYERS = {1: "relu2_1", 2: "relu3_1", 3: "relu4_1"}  # attention level -> VGG layer at its scale


def _ints(text: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split(",") if part.strip())


@dataclass(frozen=True)
class GFLAOptions:
    channels: int = 64  # ngf of the source and target nets
    max_channels: int = 512  # img_f
    layers: int = 3  # down-sampling levels of the source and target nets
    residual_blocks: int = 2  # num_blocks per decoder level
    flow_channels: int = 32  # ngf of the flow estimator
    flow_max_channels: int = 256
    flow_layers: int = 5  # encoder_layer of the flow estimator
    attention_layers: str = "2,3"  # levels (1/2^level resolution) with flow + local attention
    kernel_sizes: str = "5,3"  # local-attention window per attention level, same order
    discriminator_channels: int = 32
    discriminator_max_channels: int = 128
    discriminator_layers: int = 4  # DeepFashion 4, Market-1501 3
    perceptual: bool = True  # VGG-19 content, style and sampling-correctness terms
    sampling_correctness: bool = True  # the flow's VGG-feature correctness loss (needs perceptual)
    affine_regularization: bool = True  # the flow's local affine regulariser
    lambda_l1: float = 5.0  # lambda_rec
    lambda_gan: float = 2.0  # lambda_g
    lambda_content: float = 0.5
    lambda_style: float = 500.0
    lambda_correctness: float = 5.0
    lambda_regularization: float = 0.0025

    def __post_init__(self) -> None:
        object.__setattr__(self, "attention_layers", ",".join(map(str, _ints(self.attention_layers))))
        object.__setattr__(self, "kernel_sizes", ",".join(map(str, _ints(self.kernel_sizes))))
        levels, kernels = _ints(self.attention_layers), _ints(self.kernel_sizes)
        if not levels or len(levels) != len(kernels) or len(set(levels)) != len(levels):
            raise ReidBenchError(f"GFLA needs one kernel size per attention level, got {levels} and {kernels}.")
        if min(levels) < 1 or max(levels) > self.layers or max(levels) >= self.flow_layers:
            raise ReidBenchError(f"GFLA attention levels must lie in 1..{self.layers} and below flow_layers.")
        if any(k < 1 or k % 2 == 0 for k in kernels):
            raise ReidBenchError(f"GFLA local-attention kernel sizes must be odd, not {kernels}.")
        if min(self.channels, self.layers, self.residual_blocks, self.flow_channels, self.flow_layers,
               self.discriminator_channels, self.discriminator_layers) < 1:
            raise ReidBenchError(f"GFLA options out of range: {self}.")

    def kernels(self) -> dict[int, int]:
        return dict(zip(_ints(self.attention_layers), _ints(self.kernel_sizes)))


def _act() -> nn.Module:
    return nn.LeakyReLU(0.1)


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


def _fit(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """``x`` resized to ``size`` when a size did not halve evenly (see the module docstring)."""
    return x if x.shape[-2:] == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class EncoderBlock(nn.Module):
    """norm, act, 4x4 stride-2 conv, norm, act, 3x3 conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.model = nn.Sequential(_norm(cin), _act(), nn.Conv2d(cin, cout, 4, 2, 1),
                                   _norm(cout), _act(), nn.Conv2d(cout, cout, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(_norm(channels), _act(), nn.Conv2d(channels, channels, 3, 1, 1),
                                   _norm(channels), _act(), nn.Conv2d(channels, channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.model(x)


class ResBlockDecoder(nn.Module):
    """x2 up-sampling residual block: norm, act, 3x3 conv, norm, act, 3x3 transposed conv; + transposed-conv bypass."""

    def __init__(self, cin: int, cout: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or cin
        self.model = nn.Sequential(_norm(cin), _act(), nn.Conv2d(cin, hidden, 3, 1, 1), _norm(hidden), _act(),
                                   nn.ConvTranspose2d(hidden, cout, 3, 2, 1, output_padding=1))
        self.shortcut = nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + self.shortcut(x)


def _encoder(cin: int, ngf: int, cap: int, layers: int) -> tuple[nn.ModuleList, list[int]]:
    widths = [ngf] + [ngf * min(2 ** (i + 1), cap // ngf) for i in range(layers - 1)]
    blocks = nn.ModuleList([EncoderBlock(cin, widths[0])])
    blocks.extend(EncoderBlock(a, b) for a, b in zip(widths, widths[1:]))
    return blocks, widths


class FlowEstimator(nn.Module):
    """``PoseFlowNet``: flow fields and occlusion masks at the attention levels (deepest first)."""

    def __init__(self, ngf: int, cap: int, layers: int, levels: tuple[int, ...]) -> None:
        super().__init__()
        self.levels = set(levels)
        self.encoder, widths = _encoder(3 + 2 * KEYPOINTS, ngf, cap, layers)
        self.decoder, self.jump, self.heads = nn.ModuleList(), nn.ModuleList(), nn.ModuleDict()
        for i in range(layers - min(levels)):
            cin, cout = widths[layers - 1 - i], widths[layers - 2 - i]
            self.decoder.append(ResBlockDecoder(cin, cout, cout))
            self.jump.append(nn.Sequential(_norm(cout), _act(), nn.ReflectionPad2d(1), nn.Conv2d(cout, cout, 3)))
            level = layers - 1 - i
            if level in self.levels:
                self.heads[str(level)] = nn.ModuleList([nn.Conv2d(cout, 2, 3, 1, 1),
                                                        nn.Sequential(nn.Conv2d(cout, 1, 3, 1, 1), nn.Sigmoid())])

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        features = []
        for block in self.encoder:
            x = block(x)
            features.append(x)
        flows, masks = [], []
        layers = len(self.encoder)
        for i, (up, jump) in enumerate(zip(self.decoder, self.jump)):
            skip = features[layers - 2 - i]
            x = _fit(up(x), skip.shape[-2:]) + jump(skip)
            level = str(layers - 1 - i)
            if level in self.heads:
                flows.append(self.heads[level][0](x))
                masks.append(self.heads[level][1](x))
        return flows, masks


class LocalAttention(nn.Module):
    """``ExtractorAttn``: content-aware sampling of the k x k source patch around p + flow(p)."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.score = nn.Sequential(nn.Conv2d(2 * channels * kernel * kernel, HIDDEN, 1), _act(),
                                   nn.Conv2d(HIDDEN, kernel * kernel, 1), nn.Softmax(dim=1))

    def source_patches(self, source: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        """(B, C, k^2, H, W): ``source`` read bilinearly at p + flow(p) + every window offset."""
        batch, channels, height, width = source.shape
        r = self.kernel // 2
        dy, dx = torch.meshgrid(*(torch.arange(-r, r + 1, dtype=flow.dtype, device=flow.device),) * 2,
                                indexing="ij")
        offsets = torch.stack([dx.flatten(), dy.flatten()], 1).view(1, -1, 2, 1, 1)  # (1, k^2, 2, 1, 1)
        shifted = (flow.unsqueeze(1) + offsets).reshape(batch * self.kernel ** 2, 2, height, width)
        grid = sampling_grid(shifted).reshape(batch, self.kernel ** 2 * height, width, 2)
        sampled = F.grid_sample(source, grid.to(source.dtype), mode="bilinear", padding_mode="zeros",
                                align_corners=True)
        return sampled.view(batch, channels, self.kernel ** 2, height, width)

    def forward(self, source: torch.Tensor, target: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = source.shape
        patches = self.source_patches(source, flow)
        target_patches = F.unfold(target, self.kernel, padding=self.kernel // 2).view(
            batch, channels, self.kernel ** 2, height, width)
        pair = torch.cat([target_patches, patches], dim=1).flatten(1, 2)
        weights = self.score(pair).unsqueeze(1)  # (B, 1, k^2, H, W), softmax over the window
        return (weights * patches).mean(dim=2)


class Renderer(nn.Module):
    """Source encoder + target-pose encoder-decoder with local attention (``PoseSourceNet`` + ``PoseTargetNet``)."""

    def __init__(self, c: GFLAOptions) -> None:
        super().__init__()
        self.kernels = c.kernels()
        self.target, widths = _encoder(KEYPOINTS, c.channels, c.max_channels, c.layers)
        self.source, _ = _encoder(3, c.channels, c.max_channels, max(self.kernels))  # deeper blocks feed nothing
        self.decoder, self.attention = nn.ModuleList(), nn.ModuleDict()
        for i in range(c.layers):
            level = c.layers - i
            cin, cout = widths[level - 1], widths[level - 2] if level >= 2 else c.channels
            self.decoder.append(nn.Sequential(*(ResBlock(cin) for _ in range(c.residual_blocks - 1)),
                                              ResBlockDecoder(cin, cout)))
            if level in self.kernels:
                self.attention[str(level)] = LocalAttention(cin, self.kernels[level])
        self.to_image = nn.Sequential(_act(), nn.ReflectionPad2d(1), nn.Conv2d(c.channels, 3, 3), nn.Tanh())

    def forward(self, image: torch.Tensor, target_pose: torch.Tensor, flows: list[torch.Tensor],
                masks: list[torch.Tensor]) -> torch.Tensor:
        source_features = []
        x = image
        for block in self.source:
            x = block(x)
            source_features.append(x)
        out, sizes = target_pose, [image.shape[-2:]]
        for block in self.target:
            out = block(out)
            sizes.append(out.shape[-2:])
        used = 0
        for i, block in enumerate(self.decoder):
            level = len(self.decoder) - i
            if str(level) in self.attention:
                attended = self.attention[str(level)](source_features[level - 1], out, flows[used])
                out = out * (1 - masks[used]) + attended * masks[used]
                used += 1
            out = _fit(block(out), sizes[level - 1])
        return self.to_image(out)


class ResBlockEncoder(nn.Module):
    """Spectral-normed residual down-sampling block of ``ResDiscriminator`` (no norm layers)."""

    def __init__(self, cin: int, cout: int, hidden: int) -> None:
        super().__init__()
        self.model = nn.Sequential(_act(), spectral_norm(nn.Conv2d(cin, hidden, 3, 1, 1)), _act(),
                                   spectral_norm(nn.Conv2d(hidden, cout, 4, 2, 1)))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), spectral_norm(nn.Conv2d(cin, cout, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + self.shortcut(x)


class ResDiscriminator(nn.Module):
    def __init__(self, ndf: int, cap: int, layers: int) -> None:
        super().__init__()
        blocks, mult = [ResBlockEncoder(3, ndf, ndf)], 1
        for i in range(layers - 1):
            prev, mult = mult, min(2 ** (i + 1), cap // ndf)
            blocks.append(ResBlockEncoder(ndf * prev, ndf * mult, ndf * prev))
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Sequential(_act(), spectral_norm(nn.Conv2d(ndf * mult, 1, 1)))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(image))


def lsgan(prediction: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss (``AdversarialLoss('lsgan')``)."""
    return F.mse_loss(prediction.float(), torch.full_like(prediction.float(), 1.0 if real else 0.0))


def sampling_correctness(source_vgg: torch.Tensor, target_vgg: torch.Tensor, flow: torch.Tensor,
                         eps: float = 1e-8) -> torch.Tensor:
    """GFLA's sampling-correctness loss for one flow at the features' scale (see the module docstring)."""
    batch, channels, height, width = target_vgg.shape
    flow = resize_flow(flow.float(), (height, width))
    target = target_vgg.float().reshape(batch, channels, -1)
    source = source_vgg.float().reshape(batch, channels, -1)
    target_n = target / (target.norm(dim=1, keepdim=True) + eps)
    source_n = source / (source.norm(dim=1, keepdim=True) + eps)
    best = (source_n.transpose(1, 2) @ target_n).max(dim=1).values  # (B, N): best cosine per target position
    sampled = warp(source_vgg.float(), flow).reshape(batch, channels, -1)
    cosine = F.cosine_similarity(sampled, target, dim=1, eps=eps)
    return torch.exp(-cosine / (best + eps)).mean() - math.exp(-1)


def _affine_residual_kernel(kernel: int, like: torch.Tensor) -> torch.Tensor:
    """K = A (A^T A)^-1 A^T - I for the k x k window coordinates: K g is g's residual to its best affine fit."""
    coords = torch.arange(kernel, dtype=torch.float64)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    design = torch.stack([xs.flatten(), ys.flatten(), torch.ones(kernel * kernel, dtype=torch.float64)], 1)
    projection = design @ torch.linalg.solve(design.t() @ design, design.t())
    return (projection - torch.eye(kernel * kernel, dtype=torch.float64)).to(like)


def affine_regularization(flow: torch.Tensor, kernel: int) -> torch.Tensor:
    """GFLA's ``AffineRegularizationLoss``: mean squared affine-fit residual of the sampling grid in every window."""
    _, _, height, width = flow.shape
    grid = (pixel_grid(height, width, flow.float()) + flow.float())
    residual_kernel = _affine_residual_kernel(kernel, grid)
    loss = flow.new_zeros((), dtype=torch.float32)
    for coordinate in range(2):
        windows = F.unfold(grid[:, coordinate:coordinate + 1], kernel)  # (B, k^2, L)
        if windows.shape[-1] == 0:
            continue
        residual = residual_kernel @ windows
        loss = loss + (residual ** 2).sum(1).mean()
    return loss


class GFLA(Generator):
    """Global-flow local-attention pose transfer; options: :class:`GFLAOptions`."""

    name = "gfla"
    title = "GFLA"
    needs = frozenset({"heatmap"})
    preset_options = {
        "market": {"attention_layers": "2", "kernel_sizes": "3", "discriminator_layers": 3},
        "deepfashion": {"attention_layers": "2,3", "kernel_sizes": "5,3", "discriminator_layers": 4},
        "quick": {"channels": 16, "max_channels": 128, "flow_channels": 16, "flow_max_channels": 64,
                  "attention_layers": "2", "kernel_sizes": "3", "discriminator_channels": 16,
                  "discriminator_layers": 3},
    }

    Options = GFLAOptions
    config: GFLAOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        levels = tuple(sorted(config.kernels(), reverse=True))  # deepest first, as the renderer uses them
        self.levels = levels
        self.flow_net = FlowEstimator(config.flow_channels, config.flow_max_channels, config.flow_layers, levels)
        self.renderer = Renderer(config)
        self._flows: tuple | None = None

    def estimate_flow(self, batch: Batch) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(flow fields, occlusion masks), deepest attention level first."""
        image = batch["src_image"]
        smallest = 2 ** self.config.flow_layers
        if min(image.shape[-2:]) < smallest:
            raise ReidBenchError(f"GFLA with flow_layers={self.config.flow_layers} needs images of at least "
                                 f"{smallest} pixels a side, not {tuple(image.shape[-2:])}; lower flow_layers.")
        inputs = torch.cat([image, batch["src_heatmap"].to(image.dtype), batch["tgt_heatmap"].to(image.dtype)], 1)
        return self.flow_net(inputs)

    def forward(self, batch: Batch) -> torch.Tensor:
        flows, masks = self.estimate_flow(batch)
        self._flows = tuple(flows) if self.training else None
        return self.renderer(batch["src_image"], batch["tgt_heatmap"].to(flows[0].dtype), flows, masks)

    def build_discriminators(self) -> nn.ModuleDict:
        c = self.config
        return nn.ModuleDict({"image": ResDiscriminator(c.discriminator_channels, c.discriminator_max_channels,
                                                        c.discriminator_layers)})

    def perceptual_layers(self) -> tuple[str, ...]:
        """Content and style layers, and the sampling-correctness layer of each attention level."""
        return CONTENT_LAYERS + STYLE_LAYERS + tuple(CORRECTNESS_LAYERS[level] for level in self.levels)

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        c, target = self.config, batch["tgt_image"]
        flows = list(self._flows) if self._flows is not None else self.estimate_flow(batch)[0]
        self._flows = None
        terms = {"l1": F.l1_loss(fake.float(), target.float()),
                 "adversarial": lsgan(discriminators["image"](fake), real=True)}
        total = c.lambda_l1 * terms["l1"] + c.lambda_gan * terms["adversarial"]
        if c.affine_regularization:
            kernels = c.kernels()
            terms["regularization"] = sum(affine_regularization(flow, kernels[level])
                                          for flow, level in zip(flows, self.levels))
            total = total + c.lambda_regularization * terms["regularization"]
        if c.perceptual:
            vgg = loss_networks["vgg"]
            with torch.no_grad():
                real = vgg(target)
            generated = vgg(fake)
            terms["content"] = sum(F.l1_loss(generated[k].float(), real[k].float()) for k in CONTENT_LAYERS)
            terms["style"] = sum(F.l1_loss(gram(generated[k]), gram(real[k])) for k in STYLE_LAYERS)
            total = total + c.lambda_content * terms["content"] + c.lambda_style * terms["style"]
            if c.sampling_correctness:
                with torch.no_grad():
                    source = vgg(batch["src_image"])
                terms["correctness"] = sum(
                    sampling_correctness(source[CORRECTNESS_LAYERS[level]], real[CORRECTNESS_LAYERS[level]], flow)
                    for flow, level in zip(flows, self.levels))
                total = total + c.lambda_correctness * terms["correctness"]
        return {"total": total, **terms}

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        judge = discriminators["image"]
        real, generated = lsgan(judge(batch["tgt_image"]), real=True), lsgan(judge(fake), real=False)
        return {"total": 0.5 * (real + generated), "real": real, "fake": generated}
