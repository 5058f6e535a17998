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
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.reid.features import class_index
from reid_bench.reid.train import TrainedModel
from reid_bench.reid.transforms import IMAGENET_MEAN, IMAGENET_STD


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

    def forward(self, batch: Mapping[str, Any], fake: torch.Tensor) -> dict[str, torch.Tensor]:
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
