"""The identity term's frozen Re-ID network: how well a generated image keeps its person.

The GAN loop (:mod:`reid_bench.generators.training`, "Recipe terms") adds to every generator's
objective a term computed by a Re-ID network trained on the real training split and then frozen
(in ``reid-bench run``, the real-only IDE model of the run, reused rather than trained twice):

- ``identity_ce``: the cross-entropy of its classifier on the generated image, with the source
  person as the label (DG-Net, Zheng et al., CVPR 2019: the generated image's identity loss through
  a Re-ID encoder; Liu et al., CVPR 2018, a "guider" applying Re-ID losses to generated samples);
- ``identity_feature``: 1 - the cosine between its test features (after the BN-neck, if any) of
  the generated image and of the real target image, the same person in the target pose.

The network stays in eval mode (BatchNorm running statistics, no dropout) and none of its
parameters require gradients, so only the generator learns; the gradient flows through the
network into the generated image. Images go from the generator's [-1, 1] to the network's input:
resized to its height x width and normalised with ImageNet's mean and standard deviation, as
:mod:`reid_bench.reid.transforms` does. Pairs whose source person the network never saw (none in
``run``: the generator trains on pairs of training identities) add nothing to ``identity_ce``.

With ``generator.identity_jitter`` J the network scores a random view of each generated image
(:func:`random_views`) instead of the image itself. This is expectation over transformation
(Athalye et al., "Synthesizing Robust Adversarial Examples", ICML 2018) turned to the opposite
use: a generator that satisfies a frozen classifier only through a pixel-exact texture (as the
un-jittered term does on SynthPeople, ``results/synthpeople-quick/table1/samples.png``) scores
badly once the image is shifted, rescaled and blurred, so the term rewards what survives those
views: the person's colours and shapes. The real target's features stay those of the clean image.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.reid.features import class_index
from reid_bench.reid.train import TrainedModel
from reid_bench.reid.transforms import IMAGENET_MEAN, IMAGENET_STD


def random_views(images: torch.Tensor, strength: float) -> torch.Tensor:
    """A random, differentiable view of each image of a ``(N, C, H, W)`` batch: mirrored with
    probability 1/2, scaled by a factor in ``[1 - strength, 1 + strength]``, shifted by up to
    ``strength`` of half its width and height (bilinear resampling, borders repeated), then resampled
    through a lower resolution, a factor between ``1 - 2 * strength`` and 1 of each side (a blur).
    Draws from torch's global generator, which the GAN loop seeds."""
    n = images.shape[0]
    device = images.device
    uniform = lambda low, high: torch.empty(n, device=device).uniform_(low, high)  # noqa: E731
    mirror = torch.where(torch.rand(n, device=device) < 0.5, -1.0, 1.0)
    scale = uniform(1 - strength, 1 + strength)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = mirror / scale
    theta[:, 1, 1] = 1 / scale
    theta[:, 0, 2] = uniform(-strength, strength)
    theta[:, 1, 2] = uniform(-strength, strength)
    images = images.float()
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    views = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    height, width = images.shape[-2:]
    factor = float(torch.empty(()).uniform_(1 - 2 * strength, 1))
    low = (max(1, round(height * factor)), max(1, round(width * factor)))
    views = F.interpolate(views, size=low, mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(views, size=(height, width), mode="bilinear", align_corners=False)


class IdentityGuide(nn.Module):
    """A frozen Re-ID network turning (batch, generated images) into ``identity_ce`` and ``identity_feature``."""

    def __init__(self, trained: TrainedModel) -> None:
        super().__init__()
        self.net = trained.model
        self.net.eval()
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
            parameter.grad = None  # what training left there; nothing accumulates from now on
        self.size = (trained.settings.height, trained.settings.width)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        index = class_index(trained.training_records)
        lookup = torch.full((max(index) + 1,), -1, dtype=torch.long)
        for pid, column in index.items():
            lookup[pid] = column
        self.register_buffer("column_of_pid", lookup, persistent=False)
        self.description = f"{trained.trainer}/{trained.backbone} config {trained.config_hash}"

    def describe(self) -> str:
        """What the run records as ``identity``: trainer, backbone and the model's config hash."""
        return self.description

    def train(self, mode: bool = True) -> "IdentityGuide":
        """Always eval: the network is frozen, BatchNorm keeps its running statistics."""
        return super().train(False)

    def _input(self, images: torch.Tensor) -> torch.Tensor:
        images = (images.float() + 1) / 2
        if images.shape[-2:] != self.size:
            images = F.interpolate(images, size=self.size, mode="bilinear", align_corners=False)
        return (images - self.mean) / self.std

    def forward(self, batch: Mapping[str, Any], fake: torch.Tensor,
                jitter: float | None = None) -> dict[str, torch.Tensor]:
        """Both terms of ``fake`` (or of :func:`random_views` of it, of strength ``jitter``) for ``batch``."""
        if jitter:
            fake = random_views(fake, jitter)
        features = self.net.backbone(self._input(fake))
        logits = self.net.head(features).float()
        pids = torch.as_tensor(batch["pid"], device=logits.device).long()
        known = pids < len(self.column_of_pid)
        labels = torch.where(known, self.column_of_pid[pids.clamp(max=len(self.column_of_pid) - 1)], -1)
        valid = labels >= 0
        ce = F.cross_entropy(logits[valid], labels[valid]) if bool(valid.any()) else logits.sum() * 0
        with torch.no_grad():
            target = self.net.head.neck(self.net.backbone(self._input(batch["tgt_image"]))).float()
        cosine = F.cosine_similarity(self.net.head.neck(features).float(), target, dim=1)
        return {"identity_ce": ce, "identity_feature": (1 - cosine).mean()}
