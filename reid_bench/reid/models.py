"""The two Re-ID trainers' networks: IDE and the identification + verification Siamese net.

IDE (Zheng, Yang and Hauptmann 2016, "Person Re-identification: Past, Present and Future",
Sec. 5.1): an ImageNet backbone whose 1000-way classifier is replaced by a new one over the
training identities, trained with softmax cross-entropy; the test feature is the pooled backbone
output (pool5). Options beyond the paper: label smoothing (Szegedy et al. 2016, as torchreid), and
a BN-neck (Luo et al. 2019, "Bag of Tricks"): BatchNorm1d between feature and classifier, whose
output is then the test feature.

Siamese (Zheng, Zheng and Yang 2017, ACM TOMM, "A Discriminatively Learned CNN Embedding for
Person Re-identification", Fig. 2): one backbone shared by two images; each image's feature goes
to the identity classifier (identification loss), and the "square layer" (f1 - f2)^2 goes to a
2-way classifier, same / different (verification loss); the loss is their sum. Simplified: the
paper's 1x1 convolutions on the 1x1x2048 tensors are written as the equivalent linear layers, and
the verification loss is weighted by ``verification_weight`` (1 = the paper's equal weights).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.reid.backbones import Backbone


class Head(nn.Module):
    """Optional BN-neck, dropout and the identity classifier (the "new layers" of IDE)."""

    def __init__(self, feature_dim: int, num_classes: int, dropout: float, bn_neck: bool) -> None:
        super().__init__()
        self.neck = nn.BatchNorm1d(feature_dim) if bn_neck else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(feature_dim, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.neck(features)))


class ReidNet(nn.Module):
    """Shared part: ``backbone`` (pretrained layers) and ``head`` (new layers); ``embed`` for tests."""

    def __init__(self, backbone: Backbone, num_classes: int, dropout: float, bn_neck: bool,
                 label_smooth: float) -> None:
        super().__init__()
        self.backbone = backbone.module
        self.head = Head(backbone.feature_dim, num_classes, dropout, bn_neck)
        self.label_smooth = label_smooth

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The test feature: pooled backbone output, after the BN-neck if there is one."""
        return self.head.neck(self.backbone(images))

    def new_parameters(self) -> list[nn.Parameter]:
        """Randomly initialised layers (lr ``lr``; the backbone gets ``lr * base_lr_mult``)."""
        return [p for name, p in self.named_parameters() if not name.startswith("backbone.")]

    def identification_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, label_smoothing=self.label_smooth)


class IDE(ReidNet):
    """Backbone + identity classifier, softmax cross-entropy."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))

    def training_loss(self, batch: tuple) -> tuple[torch.Tensor, dict[str, float]]:
        images, labels = batch[0], batch[1]
        logits = self(images)
        loss = self.identification_loss(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean().item()
        return loss, {"loss": loss.item(), "acc": accuracy}


class Siamese(ReidNet):
    """Shared backbone; identification loss on both images plus the verification loss."""

    def __init__(self, backbone: Backbone, num_classes: int, dropout: float, bn_neck: bool,
                 label_smooth: float, verification_weight: float) -> None:
        super().__init__(backbone, num_classes, dropout, bn_neck, label_smooth)
        self.verifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(backbone.feature_dim, 2))
        self.verification_weight = verification_weight

    def forward(self, images_a: torch.Tensor, images_b: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Identity logits of both images and same/different logits of the pair."""
        features = self.backbone(torch.cat([images_a, images_b]))  # one pass: shared BN statistics
        feature_a, feature_b = features.chunk(2)
        square = (feature_a - feature_b).pow(2)
        return self.head(feature_a), self.head(feature_b), self.verifier(square)

    def training_loss(self, batch: tuple) -> tuple[torch.Tensor, dict[str, float]]:
        images_a, images_b, labels_a, labels_b, same = batch
        logits_a, logits_b, verification = self(images_a, images_b)
        identification = (self.identification_loss(logits_a, labels_a)
                          + self.identification_loss(logits_b, labels_b))
        verify = F.cross_entropy(verification, same)
        loss = identification + self.verification_weight * verify
        accuracy = (verification.argmax(1) == same).float().mean().item()
        return loss, {"loss": loss.item(), "id": identification.item(), "verif_acc": accuracy}
