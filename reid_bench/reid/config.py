"""Re-ID training settings: one dataclass, three presets (DESIGN.md, "Presets").

The ``market`` preset is torchreid's ResNet-50 softmax recipe, read from deep-person-reid's
``configs/im_r50_softmax_256x128_amsgrad.yaml`` and ``scripts/default_config.py``: AMSGrad
(Adam with ``amsgrad=True``, betas 0.9 / 0.999), lr 3e-4, weight decay 5e-4, 60 epochs, batch 32,
single-step decay at epoch 20 by 0.1, label smoothing (epsilon 0.1, torchreid's
``CrossEntropyLoss``), random flip only, 256x128 inputs, ImageNet normalisation, and
``fixbase_epoch: 5`` (only the new classifier trains for the first 5 epochs). torchreid's
``staged_lr`` is off there; ``base_lr_mult`` below turns it on. ``deepfashion`` is the same
recipe on DeepFashion's square-ish crops; ``quick`` is a CPU smoke setting, not a paper's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reid_bench.accel import AMP_CHOICES, COMPILE_CHOICES
from reid_bench.errors import ReidBenchError


@dataclass(frozen=True)
class ReidSettings:
    preset: str  # the preset these values started from (recorded in result rows)
    backbone: str = "resnet50"  # default backbone; the CLI's --backbone overrides it
    height: int = 256  # input height after resize
    width: int = 128  # input width after resize
    epochs: int = 60  # training epochs
    batch_size: int = 32  # images per step (a Siamese step holds batch_size // 2 pairs)
    optimizer: str = "amsgrad"  # "amsgrad" | "adam" | "sgd"
    lr: float = 3e-4  # learning rate of the new layers (and of the backbone unless staged)
    base_lr_mult: float = 1.0  # backbone lr = lr * base_lr_mult (torchreid's staged_lr; 1 = off)
    weight_decay: float = 5e-4  # L2 penalty, all parameters
    adam_betas: tuple[float, float] = (0.9, 0.999)  # torchreid default_config adam.beta1/beta2
    momentum: float = 0.9  # SGD only
    # Multiply every lr by lr_gamma each lr_step epochs, counted in optimisation steps
    # (lr_step * steps per epoch), so a fractional lr_step decays mid-epoch: an augmented run
    # with 3x the images per epoch then decays at the same step as its real-only baseline.
    lr_step: float = 20
    lr_gamma: float = 0.1
    fixbase_epochs: int = 5  # first epochs train only the new layers (needs pretrained weights)
    label_smooth: float = 0.1  # cross-entropy label smoothing epsilon; 0 = plain softmax
    dropout: float = 0.0  # dropout before the classifiers (IDE and Siamese heads)
    bn_neck: bool = False  # BatchNorm1d between pooled feature and classifier; features after it
    verification_weight: float = 1.0  # Siamese: weight of the verification loss vs identification
    random_flip: bool = True  # horizontal flip, p = 0.5
    random_erase: float = 0.0  # random-erasing probability (Zhong et al. 2020); 0 = off
    sampler: str = "random"  # IDE batches: "random" shuffle or "pk" (P identities x K images)
    pk_instances: int = 4  # K of the PK sampler; P = batch_size // K
    flip_test: bool = True  # features: average an image's and its mirror's
    normalize_features: bool = True  # features: L2-normalise
    feature_batch: int = 128  # images per feature-extraction batch
    amp: str = "auto"  # auto | bf16 | fp16 | off (reid_bench.accel.resolve_amp: auto is bf16/fp16 on
    # CUDA, bf16 on a CPU with native bf16 instructions, else fp32)
    channels_last: bool = True  # NHWC tensors for the backbone (faster with oneDNN and cuDNN)
    sync_bn: bool = False  # under torchrun: BatchNorm statistics over all processes' images (SyncBatchNorm,
    # GPUs only); off, each process normalises with its own share of the batch
    compile: str = "off"  # off, or a torch.compile mode (default, reduce-overhead, max-autotune)

    def replace(self, **changes: object) -> "ReidSettings":
        """A copy with ``changes`` applied (``None`` values are ignored), validated."""
        given = {key: value for key, value in changes.items() if value is not None}
        return validate(dataclasses.replace(self, **given))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, ReidSettings] = {
    # torchreid's ResNet-50 softmax recipe on Market-1501 (see module docstring).
    "market": ReidSettings(preset="market"),
    # Same recipe; DeepFashion's in-shop crops are 256x176 in PATN's split, kept at that aspect.
    "deepfashion": ReidSettings(preset="deepfashion", height=256, width=176),
    # CPU laptop on SynthPeople's 128x64 renders: ResNet-18, few epochs, no frozen warm-up.
    "quick": ReidSettings(
        preset="quick",
        backbone="resnet18",
        height=128,
        width=64,
        epochs=10,
        lr_step=7,
        fixbase_epochs=0,
        feature_batch=64,
    ),
}


def preset(name: str) -> ReidSettings:
    """The named preset (``quick``, ``market``, ``deepfashion``)."""
    if name not in PRESETS:
        raise ReidBenchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]


def validate(settings: ReidSettings) -> ReidSettings:
    """Reject values that would fail later with a less clear message."""
    problems = []
    if settings.optimizer not in ("amsgrad", "adam", "sgd"):
        problems.append(f"optimizer {settings.optimizer!r} is not amsgrad, adam or sgd")
    if settings.sampler not in ("random", "pk"):
        problems.append(f"sampler {settings.sampler!r} is not random or pk")
    if settings.epochs < 1 or settings.batch_size < 2 or not settings.lr_step > 0:
        problems.append("epochs must be >= 1, lr_step > 0 and batch_size >= 2")
    if settings.compile not in COMPILE_CHOICES:
        problems.append(f"compile {settings.compile!r} is not one of {', '.join(COMPILE_CHOICES)}")
    if settings.amp not in AMP_CHOICES:
        problems.append(f"amp {settings.amp!r} is not one of {', '.join(AMP_CHOICES)}")
    if settings.sampler == "pk" and settings.batch_size // settings.pk_instances < 2:
        problems.append("the PK sampler needs batch_size >= 2 * pk_instances")
    if not 0.0 <= settings.dropout < 1.0 or not 0.0 <= settings.random_erase <= 1.0:
        problems.append("dropout must be in [0, 1) and random_erase in [0, 1]")
    if problems:
        raise ReidBenchError("invalid Re-ID settings: " + "; ".join(problems) + ".")
    return settings
