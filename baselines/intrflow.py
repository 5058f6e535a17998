"""Intr-Flow: Li, Huang and Loy, "Dense Intrinsic Appearance Flow for Human Pose Transfer", CVPR 2019.

Read from the paper (Sec. 3) and the authors' code (ly015/intrinsic_flow: models/networks.py
``DualUnetGenerator``, ``FlowUnet_v2``, ``NLayerDiscriminator``; models/modules.py
``MultiScaleFlowLoss``, ``VGGLoss``, ``warp_acc_flow``; options/*.py for the settings).

Kept:

- Flow regression module F (``FlowUnet_v2``): a U-Net over the source and target pose maps
  (18 + 18 channels) with residual blocks (one 3x3 conv each, pre-activation, BatchNorm), widths
  growing linearly (nf, 2nf, 3nf, ... capped at max_nf), a first stride-2 stage (start scale 2),
  ``flow_scales`` levels (DeepFashion 5, Market-1501 4), a flow prediction at every decoder level
  (in units of 1/20 pixel, the code's ``flow_scale``) and a 3-class visibility map (visible /
  invisible / background), both up-sampled x2 to the image.
- Generator G (``DualUnetGenerator``): a pose encoder over the target pose map and an appearance
  encoder over the source image, same residual blocks (nf 32, max 128, ``scales`` levels: 7 /
  5). At the first ``warp_scales`` levels (5 / 4) every appearance skip feature is warped by the
  flow (average-pooled and divided by 2^l at level l, ``grid_sample``) and gated by visibility in
  the code's "residual" mode: a residual block whose extra input is the warped feature split into
  its visible and invisible parts (the visibility map min-pooled to the level). Flow and
  visibility are masked as the code does: background pixels get zero flow. A 1x1 fusion of both
  bottlenecks, a decoder of pixel-shuffle up-sampling and residual blocks taking both encoders'
  skips, reflect pad + 7x7 conv, tanh.
- Discriminator: the PatchGAN (``NLayerDiscriminator``, ndf 64, 3 layers, BatchNorm) on source
  image || candidate || target pose, vanilla GAN (``gan_type dcgan``, folded into
  ``binary_cross_entropy_with_logits``).
- Losses and weights (``pose_transfer_options``): L1 (1) + VGG-19 content loss (1; L1 at relu1_1
  ... relu5_1, 0.125 each) + GAN (0.01; the D loss is scaled by it too); style loss weight 0
  as in the code. Flow-regression losses (``flow_regression_options``): multi-scale masked
  end-point error, scale weights 0.005, 0.01, 0.02, 0.08, 0.32, flow in 1/20 pixel (weight 1),
  visibility cross-entropy (weight 1).

What supervises the flow here (the paper's does not exist offline), and other simplifications:

- The paper fits 3D bodies (HMR / SMPL) to both images and renders the dense correspondence and
  visibility as ground truth for F, which is trained first and then frozen. No SMPL fits exist for
  our data, so the ground truth is a *pseudo* one computed on the fly from the 2D keypoints and the
  masks (:func:`keypoint_flow`): the body is split into 10 parts (head, torso, 8 limb segments);
  for each part an affine map from target to source coordinates is fitted by least squares to the
  part's keypoints seen in both images (ridge-regularised towards the least-squares similarity,
  so two-point limbs get the exact similarity); every target foreground pixel takes the map of
  the part whose target skeleton (segments between its keypoints) is nearest. Visibility: target
  background = background; foreground = visible when its part is fitted and the mapped point
  falls inside the source mask, else invisible. F is trained jointly with G in the one loop, with
  the flow and visibility losses above as auxiliary terms; with ``end_to_end`` (default) the image
  losses also reach F through ``grid_sample`` (the paper's F is frozen when G trains).
- The segmentation-sensitive flow loss (SMPL part maps) is dropped.
- The code shares the pose encoder's down-sampling convs with the appearance encoder (an
  attribute-name slip, ``enca_%d_downsample`` set to ``p_downsample``); here each encoder has its
  own, as the paper describes two encoders.
- Pose maps are the data layer's Gaussian heatmaps (sigma 6) instead of binary disks (radius 8 /
  4). Optimiser and schedule are the shared loop's (Adam 2e-4, beta1 0.5, linear decay, same lr
  for D; the code uses a D lr of 2e-5 with weight decay, steps the lr down, and adds the GAN term
  after 6 epochs). The pixel-warping refinement (``G_pix_warp``, off by default) is not built.
- Perceptual rule as SAN: ``perceptual=False`` drops the content loss when VGG-19 is missing
  under the quick preset (recorded by the loop); paper presets stop with the missing-weights message.
- ``quick`` preset (CPU, SynthPeople 128x64): Market-1501 depths (5 / 4 / 4 levels) with half the
  widths (G 16..64, F 8..32), one residual block per level, D ndf 32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.baselines._flow import crop_to, pixel_grid, warp
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import Batch, Generator
from reid_bench.generators.losses import adversarial_loss

KEYPOINTS = 18
FLOW_UNIT = 20.0  # the flow network predicts flow / 20 (intrinsic_flow's flow_scale)
FLOW_SCALE_WEIGHTS = (0.005, 0.01, 0.02, 0.08, 0.32)
CONTENT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VISIBLE, INVISIBLE, BACKGROUND = 0, 1, 2

# Body parts over the OpenPose-18 keypoints (DESIGN.md order): (fitted keypoints, skeleton segments).
PARTS = (
    ((0, 1, 14, 15, 16, 17), ((0, 1), (14, 15), (16, 17), (0, 14), (0, 15))),  # head
    ((1, 2, 5, 8, 11), ((2, 5), (8, 11), (2, 8), (5, 11), (1, 8), (1, 11))),  # torso
    ((2, 3), ((2, 3),)), ((3, 4), ((3, 4),)),  # right upper arm, forearm
    ((5, 6), ((5, 6),)), ((6, 7), ((6, 7),)),  # left upper arm, forearm
    ((8, 9), ((8, 9),)), ((9, 10), ((9, 10),)),  # right thigh, shin
    ((11, 12), ((11, 12),)), ((12, 13), ((12, 13),)),  # left thigh, shin
)


@dataclass(frozen=True)
class IntrFlowOptions:
    channels: int = 32  # G_nf: width at full resolution; level l has min(channels * (l + 1), max_channels)
    max_channels: int = 128  # G_max_nf
    scales: int = 7  # G_n_scale: encoder levels (DeepFashion 7, Market-1501 5)
    warp_scales: int = 5  # G_n_warp_scale: levels whose appearance skips are warped (7 -> 5, 5 -> 4)
    residual_blocks: int = 2  # per level, in both encoders and the decoder
    flow_channels: int = 32  # nf of the flow network
    flow_max_channels: int = 128
    flow_scales: int = 5  # num_scale of the flow network (DeepFashion 5, Market-1501 4)
    discriminator_channels: int = 64  # D_nf
    discriminator_layers: int = 3  # D_n_layers
    end_to_end: bool = True  # image losses also train the flow network (False: flow detached)
    perceptual: bool = True  # VGG-19 content loss (False: no VGG-19 needed)
    lambda_l1: float = 1.0
    lambda_content: float = 1.0
    lambda_gan: float = 0.01
    lambda_flow: float = 1.0  # multi-scale end-point error against the keypoint pseudo-flow
    lambda_visibility: float = 1.0  # cross-entropy against the pseudo visibility map

    def __post_init__(self) -> None:
        if min(self.channels, self.max_channels, self.scales, self.residual_blocks, self.flow_channels,
               self.flow_max_channels, self.flow_scales, self.discriminator_channels,
               self.discriminator_layers) < 1 or not 0 <= self.warp_scales <= self.scales:
            raise ReidBenchError(f"Intr-Flow options out of range: {self}.")


def _width(base: int, level: int, cap: int) -> int:
    return min(base * (level + 1), cap)


def _map(cin: int, cout: int) -> nn.Sequential:
    """``channel_mapping``: 1x1 conv + BatchNorm."""
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


class ResidualBlock(nn.Module):
    """x + BN(conv3x3(ReLU([x || map(ReLU(a))]))) (the V-UNet style block of the code)."""

    def __init__(self, width: int, extra: int = 0) -> None:
        super().__init__()
        self.extra = _map(extra, width) if extra else None
        self.conv = nn.Sequential(nn.Conv2d(width * (2 if extra else 1), width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor, a: torch.Tensor | None = None) -> torch.Tensor:
        residual = x if self.extra is None else torch.cat([x, self.extra(F.relu(a))], dim=1)
        return x + self.conv(F.relu(residual))


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, 4 * cout, 3, padding=1, bias=False), nn.PixelShuffle(2),
                         nn.BatchNorm2d(cout))


class FlowNet(nn.Module):
    """F: pose maps (36) -> (flow pyramid in 1/20 px, full-size flow in px, visibility logits)."""

    def __init__(self, nf: int, max_nf: int, scales: int, blocks: int) -> None:
        super().__init__()
        self.pre = nn.Sequential(_map(2 * KEYPOINTS, nf), ResidualBlock(nf), _down(nf, _width(nf, 1, max_nf)))
        self.encoder = nn.ModuleList()
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        self.predict = nn.ModuleList()
        for level in range(scales):
            cin, cout = _width(nf, level + 1, max_nf), _width(nf, level + 2, max_nf)
            self.encoder.append(nn.ModuleList(ResidualBlock(cin) for _ in range(blocks)))
            self.down.append(_down(cin, cout))
            self.up.append(_up(cout, cin))
            self.decoder.append(nn.ModuleList(ResidualBlock(cin, cin) for _ in range(blocks)))
            self.predict.append(nn.Sequential(nn.ReLU(), nn.Conv2d(cin, 2, 3, padding=1)))
        self.visibility = nn.Sequential(nn.ReLU(), nn.Conv2d(_width(nf, 1, max_nf), 3, 3, padding=1))

    def forward(self, poses: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        x = self.pre(poses)
        skips = []
        for blocks, down in zip(self.encoder, self.down):
            for block in blocks:
                x = block(x)
                skips.append(x)
            x = down(x)
        pyramid = []
        for level in reversed(range(len(self.encoder))):
            x = self.up[level](x)
            for block in reversed(self.decoder[level]):
                skip = skips.pop()
                x = block(crop_to(x, skip.shape[-2:]), skip)
            pyramid.insert(0, self.predict[level](x))
        size = poses.shape[-2:]
        flow = F.interpolate(pyramid[0], size=size, mode="bilinear", align_corners=False) * FLOW_UNIT
        visibility = F.interpolate(self.visibility(x), size=size, mode="bilinear", align_corners=False)
        return pyramid, flow, visibility


class DualUnet(nn.Module):
    """G: pose and appearance encoders, flow-warped appearance skips gated by visibility, decoder."""

    def __init__(self, c: IntrFlowOptions) -> None:
        super().__init__()
        nf, cap, blocks = c.channels, c.max_channels, c.residual_blocks
        self.warp_scales = c.warp_scales
        self.pose_in, self.app_in = _map(KEYPOINTS, nf), _map(3, nf)
        widths = [(_width(nf, level, cap), _width(nf, level + 1, cap)) for level in range(c.scales)]
        self.pose_enc = nn.ModuleList(nn.ModuleList(ResidualBlock(cin) for _ in range(blocks)) for cin, _ in widths)
        self.app_enc = nn.ModuleList(nn.ModuleList(ResidualBlock(cin) for _ in range(blocks)) for cin, _ in widths)
        self.gate = nn.ModuleList(nn.ModuleList(ResidualBlock(cin, 2 * cin) for _ in range(blocks))
                                  for cin, _ in widths[: c.warp_scales])
        self.pose_down = nn.ModuleList(_down(cin, cout) for cin, cout in widths)
        self.app_down = nn.ModuleList(_down(cin, cout) for cin, cout in widths)
        self.fuse = _map(2 * widths[-1][1], widths[-1][1])
        self.up = nn.ModuleList(_up(cout, cin) for cin, cout in widths)
        self.dec = nn.ModuleList(nn.ModuleList(ResidualBlock(cin, 2 * cin) for _ in range(blocks)) for cin, _ in widths)
        self.to_image = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(nf, 3, 7))

    def forward(self, pose: torch.Tensor, image: torch.Tensor, flow: torch.Tensor,
                visibility: torch.Tensor) -> torch.Tensor:
        x_p, x_a = self.pose_in(pose), self.app_in(image)
        skips_p, skips_a = [], []
        for level in range(len(self.pose_enc)):
            for block in self.pose_enc[level]:
                x_p = block(x_p)
                skips_p.append(x_p)
            if level < self.warp_scales:
                size = x_a.shape[-2:]
                flow_l = F.adaptive_avg_pool2d(flow, size) / 2 ** level
                vis_l = -F.adaptive_max_pool2d(-visibility, size)  # visible > invisible > background
            for i, block in enumerate(self.app_enc[level]):
                x_a = block(x_a)
                if level < self.warp_scales:
                    warped = warp(x_a, flow_l)
                    split = torch.cat([warped * (vis_l == VISIBLE), warped * (vis_l == INVISIBLE)], dim=1)
                    skips_a.append(self.gate[level][i](warped, split))
                else:
                    skips_a.append(x_a)
            x_p, x_a = self.pose_down[level](x_p), self.app_down[level](x_a)
        x = self.fuse(torch.cat([x_p, x_a], dim=1))
        for level in reversed(range(len(self.pose_enc))):
            x = self.up[level](x)
            for block in reversed(self.dec[level]):
                skip_p, skip_a = skips_p.pop(), skips_a.pop()
                x = block(crop_to(x, skip_p.shape[-2:]), torch.cat([skip_p, skip_a], dim=1))
        return torch.tanh(self.to_image(x))


class PatchDiscriminator(nn.Module):
    """pix2pix's NLayerDiscriminator: 4x4 convs, stride 2 then 1, BatchNorm, LeakyReLU(0.2)."""

    def __init__(self, cin: int, ndf: int, layers: int) -> None:
        super().__init__()
        seq: list[nn.Module] = [nn.Conv2d(cin, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < layers else 1
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=False), nn.BatchNorm2d(ndf * mult),
                    nn.LeakyReLU(0.2, True)]
        seq.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.net = nn.Sequential(*seq)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat(inputs, dim=1))


def _fit_part(src: torch.Tensor, tgt: torch.Tensor, weight: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    """(B, 2, 3) affine maps target -> source (x, y in [0, 1] units) from (B, K, 2) points, (B, K) weights.

    Least squares, ridge-regularised towards the weighted least-squares similarity (so two points
    give that similarity exactly, collinear torsos stay sane)."""
    total = weight.sum(1, keepdim=True).clamp_min(1e-6)
    mean_t = (weight[..., None] * tgt).sum(1) / total
    mean_s = (weight[..., None] * src).sum(1) / total
    pt, ps = tgt - mean_t[:, None], src - mean_s[:, None]
    norm = (weight * (pt ** 2).sum(-1)).sum(1).clamp_min(1e-8)
    a = (weight * (pt * ps).sum(-1)).sum(1) / norm
    b = (weight * (pt[..., 0] * ps[..., 1] - pt[..., 1] * ps[..., 0])).sum(1) / norm
    similarity = torch.stack([torch.stack([a, -b], -1), torch.stack([b, a], -1)], 1)  # (B, 2, 2)
    design = torch.cat([tgt, torch.ones_like(tgt[..., :1])], -1)  # (B, K, 3)
    normal = design.transpose(1, 2) @ (weight[..., None] * design)
    prior = torch.diag(torch.tensor([ridge, ridge, 0.0], dtype=src.dtype, device=src.device))
    normal = normal + prior + 1e-9 * torch.eye(3, dtype=src.dtype, device=src.device)
    rhs = design.transpose(1, 2) @ (weight[..., None] * src)  # (B, 3, 2)
    rhs[:, :2] = rhs[:, :2] + ridge * similarity.transpose(1, 2)
    return torch.linalg.solve(normal, rhs).transpose(1, 2)


def _segment_distance(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distance of (N, 2) points to B segments a-b ((B, 2) each): (B, N)."""
    abx, aby = (b - a)[:, 0:1], (b - a)[:, 1:2]
    apx, apy = points[None, :, 0] - a[:, 0:1], points[None, :, 1] - a[:, 1:2]
    length = (abx * abx + aby * aby).clamp_min(1e-6)
    t = ((apx * abx + apy * aby) / length).clamp(0, 1)
    dx, dy = apx - t * abx, apy - t * aby
    return dx * dx + dy * dy


@torch.no_grad()
def keypoint_flow(src_keypoints: torch.Tensor, tgt_keypoints: torch.Tensor, src_mask: torch.Tensor,
                  tgt_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pseudo ground truth for F: (flow (B, 2, H, W) in pixels, visibility (B, H, W) long,
    flow-valid mask (B, 1, H, W)). Keypoints (B, 18, 2) as (y, x), -1 = missing; masks (B, 1, H, W)."""
    batch, _, height, width = tgt_mask.shape
    scale = float(height)
    src_xy, tgt_xy = src_keypoints.flip(-1).float() / scale, tgt_keypoints.flip(-1).float() / scale
    src_ok, tgt_ok = (src_keypoints >= 0).all(-1), (tgt_keypoints >= 0).all(-1)
    grid = pixel_grid(height, width, src_xy).reshape(2, -1).t() / scale  # (N, 2) as (x, y)
    best = torch.full((batch, grid.shape[0]), float("inf"), device=grid.device)
    mapped = torch.zeros(batch, grid.shape[0], 2, device=grid.device)
    fitted = torch.zeros(batch, grid.shape[0], dtype=torch.bool, device=grid.device)
    for fit_ids, segments in PARTS:
        ids = list(fit_ids)
        common = (src_ok[:, ids] & tgt_ok[:, ids]).float()
        affine = _fit_part(src_xy[:, ids], tgt_xy[:, ids], common)  # (B, 2, 3)
        part_ok = common.sum(1) >= 2
        pairs = list(segments) + [(k, k) for k in ids]
        distance = torch.full_like(best, float("inf"))
        for i, j in pairs:
            present = tgt_ok[:, i] & tgt_ok[:, j]
            d = _segment_distance(grid, tgt_xy[:, i], tgt_xy[:, j])
            distance = torch.minimum(distance, torch.where(present[:, None], d, torch.full_like(d, float("inf"))))
        closer = distance < best
        best = torch.where(closer, distance, best)
        target_pos = grid[None] @ affine[:, :, :2].transpose(1, 2) + affine[:, None, :, 2]
        mapped = torch.where(closer[..., None], target_pos, mapped)
        fitted = torch.where(closer, part_ok[:, None].expand_as(closer), fitted)
    flow = ((mapped - grid[None]) * scale).transpose(1, 2).reshape(batch, 2, height, width)
    foreground = tgt_mask[:, 0] > 0.5
    valid = (foreground & fitted.reshape(batch, height, width) & torch.isfinite(best).reshape(batch, height, width))
    flow = torch.where(valid[:, None], flow, torch.zeros_like(flow))
    inside = warp(src_mask.float(), flow, mode="nearest")[:, 0] > 0.5
    visibility = torch.full((batch, height, width), INVISIBLE, dtype=torch.long, device=grid.device)
    visibility[valid & inside] = VISIBLE
    visibility[~foreground] = BACKGROUND
    return flow, visibility, valid[:, None].float()


def multiscale_flow_loss(pyramid: list[torch.Tensor], flow: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``MultiScaleFlowLoss`` (L2 end-point error, masked, in 1/20 px) over F's pyramid."""
    target = flow / FLOW_UNIT
    loss = flow.new_zeros(())
    weights = FLOW_SCALE_WEIGHTS + (FLOW_SCALE_WEIGHTS[-1],) * max(0, len(pyramid) - len(FLOW_SCALE_WEIGHTS))
    for weight, predicted in zip(weights, pyramid):
        size = predicted.shape[-2:]
        target_l, mask_l = F.adaptive_avg_pool2d(target, size), F.adaptive_max_pool2d(valid, size)
        error = (predicted.float() - target_l).norm(dim=1, keepdim=True) * mask_l
        count = mask_l.flatten(1).sum(1).clamp_min(1.0)
        loss = loss + weight * (error.flatten(1).sum(1) / count).mean()
    return loss


class IntrFlow(Generator):
    """Dense intrinsic appearance flow pose transfer; options: :class:`IntrFlowOptions`."""

    name = "intrflow"
    title = "Intr-Flow"
    needs = frozenset({"heatmap", "keypoints", "mask"})
    preset_options = {
        "market": {"scales": 5, "warp_scales": 4, "flow_scales": 4},
        "deepfashion": {"scales": 7, "warp_scales": 5, "flow_scales": 5},
        "quick": {"channels": 16, "max_channels": 64, "scales": 5, "warp_scales": 4, "residual_blocks": 1,
                  "flow_channels": 8, "flow_max_channels": 32, "flow_scales": 4, "discriminator_channels": 32},
    }

    Options = IntrFlowOptions
    config: IntrFlowOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        config = self.config
        self.flow_net = FlowNet(config.flow_channels, config.flow_max_channels, config.flow_scales,
                                config.residual_blocks)
        self.generator = DualUnet(config)
        _init_kaiming(self)
        self._flow_outputs: tuple | None = None

    def estimate_flow(self, batch: Batch) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """F's (pyramid, flow in px, visibility logits) for the batch's source -> target poses."""
        image = batch["src_image"]
        poses = torch.cat([batch["src_heatmap"], batch["tgt_heatmap"]], dim=1).to(image.dtype)
        return self.flow_net(poses)

    def forward(self, batch: Batch) -> torch.Tensor:
        pyramid, flow, logits = self.estimate_flow(batch)
        visibility = logits.argmax(dim=1, keepdim=True).to(flow.dtype)
        flow = flow * (visibility < BACKGROUND)
        if not self.config.end_to_end:
            flow = flow.detach()
        self._flow_outputs = (pyramid, logits) if self.training else None
        pose = batch["tgt_heatmap"].to(flow.dtype)
        return self.generator(pose, batch["src_image"], flow, visibility)

    def build_discriminators(self) -> nn.ModuleDict:
        c = self.config
        discriminators = nn.ModuleDict({"patch": PatchDiscriminator(6 + KEYPOINTS, c.discriminator_channels,
                                                                    c.discriminator_layers)})
        _init_kaiming(discriminators)
        return discriminators

    def perceptual_layers(self) -> tuple[str, ...]:
        return CONTENT_LAYERS

    def _judge(self, discriminators: nn.ModuleDict, batch: Batch, image: torch.Tensor) -> torch.Tensor:
        return discriminators["patch"](batch["src_image"], image, batch["tgt_heatmap"].to(image.dtype))

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        c, target = self.config, batch["tgt_image"]
        if self._flow_outputs is None:  # fake came from eval mode or another call: recompute F
            pyramid, _, logits = self.estimate_flow(batch)
        else:
            pyramid, logits = self._flow_outputs
        flow_gt, visibility_gt, valid = keypoint_flow(batch["src_keypoints"], batch["tgt_keypoints"],
                                                      batch["src_mask"], batch["tgt_mask"])
        terms = {
            "l1": F.l1_loss(fake.float(), target.float()),
            "adversarial": adversarial_loss(self._judge(discriminators, batch, fake), real=True),
            "flow": multiscale_flow_loss(pyramid, flow_gt, valid),
            "visibility": F.cross_entropy(logits.float(), visibility_gt),
        }
        total = (c.lambda_l1 * terms["l1"] + c.lambda_gan * terms["adversarial"]
                 + c.lambda_flow * terms["flow"] + c.lambda_visibility * terms["visibility"])
        if c.perceptual:
            vgg = loss_networks["vgg"]
            with torch.no_grad():
                real = vgg(target)
            generated = vgg(fake)
            terms["content"] = sum(0.125 * F.l1_loss(generated[k].float(), real[k].float()) for k in CONTENT_LAYERS)
            total = total + c.lambda_content * terms["content"]
        self._flow_outputs = None
        return {"total": total, **terms}

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        real = adversarial_loss(self._judge(discriminators, batch, batch["tgt_image"]), real=True)
        generated = adversarial_loss(self._judge(discriminators, batch, fake), real=False)
        loss = 0.5 * (real + generated)
        return {"total": self.config.lambda_gan * loss, "real": real, "fake": generated}


def _init_kaiming(module: nn.Module) -> None:
    """The code's ``init_type kaiming``: conv weights Kaiming-normal (fan_in), BatchNorm N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
