"""Presets: every setting of a run, in one place, each field commented once.

A run preset (:class:`RunPreset`) composes

- :class:`GeneratorSettings`, the one GAN loop's (steps, batch, lr, ...; the SAN paper's Sec. 4.2
  for ``market`` and ``deepfashion``);
- :class:`ReidSettings`, the IDE / Siamese trainers' (torchreid's ResNet-50 softmax recipe for
  ``market`` and ``deepfashion``);
- :class:`AccelSettings`, how both run on the hardware (precision, memory format, compilation),
  which the two settings above inherit, so a field is declared once;
- what only the run needs: the embedded dataset it renders without ``--data``, and the rules of
  the augmented arm.

``quick`` is a CPU laptop on the embedded SynthPeople; ``synth-gpu`` is one GPU on a larger
SynthPeople with the paper's Market-1501 networks (what ``reid-bench run`` picks on a GPU machine
without ``--data``: :func:`default_preset_name`); ``market`` and ``deepfashion`` are the paper's
settings for GPUs on the real folders (``--data`` required). A generator's architecture and loss
weights under a preset are the generator's own (``Generator.preset_options``, e.g. SAN's
(alpha, beta, gamma) = (10, 15, 5) on Market-1501), looked up by ``GeneratorSettings.model_options``.

The generator's length (:meth:`GeneratorSettings.total_steps`). The SAN paper (Sec. 4.2) trains
"300 epochs" on Market-1501 at batch 32 and 500 on DeepFashion at batch 8 without saying what an
epoch is. Its recipe (Adam 2e-4 with betas 0.5 / 0.999, decayed linearly to 0, PATN's pairs and
input sizes) is PATN's (Zhu et al., CVPR 2019), whose code defines the epoch: in training its
``KeyDataset.__len__`` returns 4,000 and ``__getitem__`` draws a random pair (data/keypoint.py of
tengteng95/Pose-Transfer), and it trains 500 + 200 such epochs at batch 32 on Market-1501
(train.sh: ``--niter 500 --niter_decay 200``), 87,500 steps. The paper presets read SAN's epochs
in PATN's unit (``epoch_pairs=4000``): 300 x 4,000 / 32 = 37,500 steps on Market-1501 and
500 x 4,000 / 8 = 250,000 on DeepFashion. The other reading, an epoch as a pass over all
263,632 Market-1501 training pairs, would be 2.47 million steps, 28 times PATN's own schedule;
``--set generator.epoch_pairs=none`` gives it. Simplification: the pairs of an epoch are the
next 4,000 of a seeded permutation of all training pairs (every pair once before any repeats),
where PATN draws each pair independently with replacement.

Every command overrides a field the same way, ``--set SECTION.FIELD=VALUE`` (:func:`parse_overrides`):
``reid.epochs=12``, ``generator.steps=500``, ``accel.amp=off`` (both trainers), ``run.budget=epochs``,
and ``model.blocks=3`` for an option of the generator itself. Values are parsed by the field's
declared type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from reid_bench import checks
from reid_bench.accel import AMP_CHOICES, COMPILE_CHOICES
from reid_bench.data.synth import SynthConfig
from reid_bench.errors import ReidBenchError

# ---- hardware ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AccelSettings:
    """How a trainer runs on the hardware; :mod:`reid_bench.accel` applies these."""

    amp: str = "auto"  # auto | bf16 | fp16 | off (accel.resolve_amp: auto is bf16/fp16 on CUDA, bf16 on a CPU
    # with native bf16 instructions, else fp32)
    channels_last: bool = True  # NHWC tensors and weights (oneDNN and cuDNN prefer them; ~20% less time per
    # bf16 SAN step, benchmarks/bench_san.py); the same arithmetic up to summation order
    sync_bn: bool = False  # under torchrun: BatchNorm statistics over all processes (SyncBatchNorm, GPUs only);
    # off, each process normalises with its own share of the batch
    compile: str = "off"  # off, or a torch.compile mode (default, reduce-overhead, max-autotune)


# ---- the generator loop -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GeneratorSettings(AccelSettings):
    """The one GAN loop's settings (:mod:`reid_bench.generators.training`)."""

    preset: str  # name of the preset these settings came from (recorded in outputs)
    image_size: tuple[int, int] | None  # (H, W) images are resized to; None: the dataset's own size
    batch_size: int  # pairs per step (paper: 32 on Market-1501, 8 on DeepFashion)
    epochs: int | None  # epochs of epoch_pairs pairs (paper: 300 / 500); used when steps is None
    steps: int | None  # total iterations; overrides epochs when set
    epoch_pairs: int | None = None  # pairs in one epoch: PATN's 4000 for the paper presets (module docstring);
    # None: one pass over all training pairs
    model_options: str | None = None  # whose Generator.preset_options (widths, loss weights) to use; None: preset
    lr: float = 2e-4  # initial Adam learning rate of generator and discriminators (paper: 2e-4)
    beta1: float = 0.5  # Adam beta1 (paper: 0.5)
    beta2: float = 0.999  # Adam beta2 (paper: 0.999)
    # The lr decays linearly from ``lr`` to 0 over all steps (paper: "linearly decay to 0").
    require_vgg: bool = True  # True: stop when VGG-19 is missing; False: train without the perceptual term
    log_every: int = 50  # steps per loss-log row (losses averaged over those steps)
    sample_every: int = 1000  # steps between PNG sample grids
    sample_count: int = 8  # rows (pairs) in each sample grid
    checkpoint_every: int = 2000  # steps between resumable checkpoints (also at the end and on Ctrl-C)
    workers: int = 4  # DataLoader worker processes on CUDA (on the CPU data loads in-process)
    seed: int = 0  # seeds weights, pair order and every RNG; a CPU run is reproducible for a seed
    # Terms the loop adds to every generator's own objective (0 = off; generators.training, "Recipe terms"):
    foreground_weight: float = 0.0  # L1 inside the target's body mask (PG2's pose-mask L1: the person counts twice)
    identity_weight: float = 0.0  # a frozen Re-ID network's cross-entropy of the generated image as the source
    # person (DG-Net's identity loss; the network is the real-only IDE of the run, never a VGG)
    identity_feature_weight: float = 0.0  # 1 - cosine of that network's features of generated and real target
    identity_warmup: int = 0  # steps over which both identity weights ramp linearly up from 0
    region_colour_weight: float | None = None  # L1 of the colour mean and deviation inside each region of the
    # target's parsing, generated against the real target (generators.losses.region_colour_loss); None = off
    identity_jitter: float | None = None  # J: the identity term scores a random view of each generated image
    # (flip, scale 1 +- J, shift +- J, a resolution of 1 - 2J to 1; reid.guide.random_views); None = off

    def __post_init__(self) -> None:
        """Reject values the loop cannot run, naming the field as ``--set generator.FIELD`` spells it,
        whichever way it was set (a flag, ``--set``, or the library)."""
        for name in ("batch_size", "log_every", "sample_every", "sample_count", "checkpoint_every"):
            checks.at_least(getattr(self, name), 1, f"generator.{name}")
        for name in ("steps", "epochs"):
            if getattr(self, name) is not None:
                checks.at_least(getattr(self, name), 1, f"generator.{name}")
        if self.steps is None and self.epochs is None:
            raise ReidBenchError("the generator settings give neither steps nor epochs; set generator.steps=N.")
        checks.at_least(self.workers, 0, "generator.workers")
        checks.at_least(self.identity_warmup, 0, "generator.identity_warmup")
        if self.identity_jitter is not None and not 0 < self.identity_jitter < 0.5:
            raise ReidBenchError(f"generator.identity_jitter is {self.identity_jitter}; give a strength between 0 "
                                 "and 0.5 (e.g. 0.15), or none for no jitter.")
        if self.image_size is not None:
            for side in self.image_size:
                checks.at_least(side, 1, "each side of generator.image_size")
        negative = [name for name in ("foreground_weight", "identity_weight", "identity_feature_weight",
                                      "region_colour_weight") if not (getattr(self, name) or 0) >= 0]
        if not self.lr > 0 or negative:
            raise ReidBenchError(f"generator.lr must be above 0 and {', '.join(negative) or 'the loss weights'} "
                                 "at least 0.")
        if self.amp not in AMP_CHOICES or self.compile not in COMPILE_CHOICES:
            raise ReidBenchError(f"generator amp {self.amp!r} or compile {self.compile!r} is not one of "
                                 f"{', '.join(AMP_CHOICES)} and {', '.join(COMPILE_CHOICES)}.")

    def total_steps(self, pairs: int) -> int:
        """Steps of the whole run over ``pairs`` training pairs: ``steps``, else ``epochs`` epochs of
        ``epoch_pairs`` pairs (or of all ``pairs``) at ``batch_size`` (module docstring)."""
        if self.steps is not None:
            return self.steps
        if self.epochs is None:
            raise ReidBenchError("the generator settings give neither steps nor epochs; set generator.steps=N.")
        return self.epochs * steps_per_epoch(self.epoch_pairs or pairs, self.batch_size)

    def length(self, pairs: int) -> str:
        """How :meth:`total_steps` comes about, e.g. ``300 epochs x 4,000 pairs / batch 32 = 37,500 steps``."""
        total = self.total_steps(pairs)
        if self.steps is not None:
            return f"{total:,} steps at batch {self.batch_size} (set as steps)"
        unit = f"{self.epoch_pairs:,} pairs (PATN's epoch)" if self.epoch_pairs else f"all {pairs:,} training pairs"
        return f"{self.epochs} epochs x {unit} / batch {self.batch_size} = {total:,} steps"

    @property
    def options_preset(self) -> str:
        """The preset name a generator's ``preset_options`` are looked up by."""
        return self.model_options or self.preset


def steps_per_epoch(pairs: int, batch_size: int) -> int:
    """Full batches per pass (the last partial batch is dropped; at least one step)."""
    return max(1, pairs // batch_size)


# ---- the Re-ID trainers -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReidSettings(AccelSettings):
    """The IDE / Siamese trainers' settings (:mod:`reid_bench.reid.train`).

    ``market`` is torchreid's ResNet-50 softmax recipe, read from deep-person-reid's
    ``configs/im_r50_softmax_256x128_amsgrad.yaml`` and ``scripts/default_config.py``: AMSGrad
    (Adam with ``amsgrad=True``, betas 0.9 / 0.999), lr 3e-4, weight decay 5e-4, 60 epochs, batch 32,
    single-step decay at epoch 20 by 0.1, label smoothing (epsilon 0.1, torchreid's
    ``CrossEntropyLoss``), random flip only, 256x128 inputs, ImageNet normalisation, and
    ``fixbase_epoch: 5`` (only the new classifier trains for the first 5 epochs). torchreid's
    ``staged_lr`` is off there; ``base_lr_mult`` turns it on.
    """

    preset: str  # the preset these values started from (recorded in result rows)
    backbone: str = "resnet50"  # resnet50, resnet18, tiny (tests) or torchreid:<name>
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
    siamese_lr: float | None = None  # Siamese: its own learning rate in place of lr (None: lr; :meth:`for_trainer`)
    random_flip: bool = True  # horizontal flip, p = 0.5
    random_erase: float = 0.0  # random-erasing probability (Zhong et al. 2020); 0 = off
    sampler: str = "random"  # IDE batches: "random" shuffle or "pk" (P identities x K images)
    pk_instances: int = 4  # K of the PK sampler; P = batch_size // K
    flip_test: bool = True  # features: average an image's and its mirror's
    normalize_features: bool = True  # features: L2-normalise
    feature_batch: int = 128  # images per feature-extraction batch
    # How generated images enter training (augmented models only; a model of real images ignores these):
    generated_share: float | None = None  # share of every batch drawn from the generated images, a stream of
    # their own, an epoch being one pass over the real images (CamStyle: about 26%); None: one mixed stream
    generated_label: str = "source"  # "source": the source person's label; "uniform": LSRO's uniform label
    generated_label_smooth: float | None = None  # label smoothing of a generated image's source label
    # (CamStyle: 0.1); None: as the real images' (label_smooth)

    def replace(self, **changes: object) -> "ReidSettings":
        """A copy with ``changes`` applied (``None`` values are ignored), validated."""
        given = {key: value for key, value in changes.items() if value is not None}
        return validate_reid(dataclasses.replace(self, **given))

    def with_epochs(self, epochs: int | None) -> "ReidSettings":
        """``epochs`` long, with the lr decay kept at the same share of training (``None``: as is)."""
        if epochs is None or epochs == self.epochs:
            return self
        return self.replace(epochs=epochs, lr_step=self.lr_step * epochs / self.epochs)

    def for_trainer(self, trainer: str) -> "ReidSettings":
        """The settings ``trainer`` trains with: ``siamese_lr`` folded into ``lr`` for the Siamese trainer
        and dropped for any other, so a trained model's settings never hold it and an IDE model's
        config hash does not depend on it."""
        if trainer == "siamese" and self.siamese_lr is not None:
            return dataclasses.replace(self, lr=self.siamese_lr, siamese_lr=None)
        return dataclasses.replace(self, siamese_lr=None)

    def as_dict(self) -> dict:
        """The fields as a dict; ``siamese_lr`` only when set, so the settings a model trains with
        (:meth:`for_trainer`) give the config hash they had before that field existed."""
        values = dataclasses.asdict(self)
        if values["siamese_lr"] is None:
            del values["siamese_lr"]
        return values


GENERATED_LABELS = ("source", "uniform")
REAL_ONLY_DEFAULTS = {"generated_share": None, "generated_label": "source", "generated_label_smooth": None}


def real_only(settings: ReidSettings) -> ReidSettings:
    """``settings`` for a model of real images alone: the generated-image fields at their defaults, so
    one real-only model serves every recipe of the augmented arm (its config hash does not see them)."""
    return dataclasses.replace(settings, **REAL_ONLY_DEFAULTS)


def validate_reid(settings: ReidSettings) -> ReidSettings:
    """Reject values that would fail later with a less clear message."""
    problems = []
    if settings.optimizer not in ("amsgrad", "adam", "sgd"):
        problems.append(f"optimizer {settings.optimizer!r} is not amsgrad, adam or sgd")
    if settings.sampler not in ("random", "pk"):
        problems.append(f"sampler {settings.sampler!r} is not random or pk")
    if settings.epochs < 1 or settings.batch_size < 2 or not settings.lr_step > 0:
        problems.append("epochs must be >= 1, lr_step > 0 and batch_size >= 2")
    if not settings.lr > 0 or (settings.siamese_lr is not None and not settings.siamese_lr > 0):
        problems.append("lr and siamese_lr must be above 0")
    if settings.compile not in COMPILE_CHOICES:
        problems.append(f"compile {settings.compile!r} is not one of {', '.join(COMPILE_CHOICES)}")
    if settings.amp not in AMP_CHOICES:
        problems.append(f"amp {settings.amp!r} is not one of {', '.join(AMP_CHOICES)}")
    if settings.sampler == "pk" and settings.batch_size // settings.pk_instances < 2:
        problems.append("the PK sampler needs batch_size >= 2 * pk_instances")
    if not 0.0 <= settings.dropout < 1.0 or not 0.0 <= settings.random_erase <= 1.0:
        problems.append("dropout must be in [0, 1) and random_erase in [0, 1]")
    if settings.generated_share is not None and not 0.0 < settings.generated_share < 1.0:
        problems.append(f"generated_share {settings.generated_share} is not in (0, 1)")
    if settings.generated_share is not None and settings.sampler == "pk":
        problems.append("generated_share draws its own batches: use it with the random sampler, not pk "
                        "(or set reid.generated_share=none)")
    if settings.generated_label not in GENERATED_LABELS:
        problems.append(f"generated_label {settings.generated_label!r} is not one of {', '.join(GENERATED_LABELS)}")
    if settings.generated_label_smooth is not None and not 0.0 <= settings.generated_label_smooth < 1.0:
        problems.append(f"generated_label_smooth {settings.generated_label_smooth} is not in [0, 1)")
    if problems:
        raise ReidBenchError("invalid Re-ID settings: " + "; ".join(problems) + ".")
    return settings


# ---- the run ----------------------------------------------------------------------------------


BUDGETS = ("steps", "epochs")
COMPOSITES = ("none", "target")
RANKER_FITS = ("trained", "real")  # what learned rankers fit on (RunSettings.ranker_fit)


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """What only ``reid-bench run`` needs, beside the two trainers' settings."""

    # "steps": the augmented model takes as many optimisation steps as the real-only one (fewer epochs),
    # so a gain cannot come from training longer; "epochs": as many epochs (more steps, as Def-GAN's IDE
    # solver ran 100k iterations instead of 50k); the identity control then gets the same extra steps.
    budget: str = "steps"
    poses: str = "random"  # target poses of the augmentation: random | kmeans | compatible (reid_bench.augment)
    composite: str = "none"  # "target": paste each generated person onto the target image's scene through the
    # target's mask when the augmented set is written (reid_bench.augment); "none": as generated
    filter_confidence: float = 0.0  # keep only generated images the real-only IDE gives the source person this
    # probability or more (Jiang et al., ACM MM 2021, filter inconsistent generated images); 0 = keep all
    generate_batch: int = 32  # pairs per generation batch
    # What XQDA, KISSME and the other learned rankers fit on: "trained", every image the model trained on (real
    # and generated); "real", its real training images alone (reid_bench.evaluation.protocols). Not part of a
    # model's config: the rows of "real" carry fit=real in their recipe and their own key.
    ranker_fit: str = "trained"

    def __post_init__(self) -> None:
        if self.budget not in BUDGETS:
            raise ReidBenchError(f"budget {self.budget!r} is not one of {', '.join(BUDGETS)}.")
        if self.composite not in COMPOSITES:
            raise ReidBenchError(f"composite {self.composite!r} is not one of {', '.join(COMPOSITES)}.")
        if self.ranker_fit not in RANKER_FITS:
            raise ReidBenchError(f"ranker_fit {self.ranker_fit!r} is not one of {', '.join(RANKER_FITS)}.")
        if not 0.0 <= self.filter_confidence < 1.0:
            raise ReidBenchError(f"filter_confidence {self.filter_confidence} is not in [0, 1).")


@dataclass(frozen=True, kw_only=True)
class RunPreset:
    name: str
    generator: GeneratorSettings
    reid: ReidSettings
    run: RunSettings = RunSettings()
    synth: SynthConfig | None  # the dataset rendered when --data is not given (None: --data required)

    def with_accel(self, **changes: Any) -> "RunPreset":
        """The preset with ``changes`` to the hardware settings of both trainers."""
        return dataclasses.replace(self, generator=dataclasses.replace(self.generator, **changes),
                                   reid=self.reid.replace(**changes))


# The paper's Sec. 4.2; epochs of PATN's 4,000 pairs (module docstring): 37,500 and 250,000 steps.
PATN_EPOCH_PAIRS = 4000
MARKET_GENERATOR = GeneratorSettings(preset="market", image_size=(128, 64), batch_size=32, epochs=300, steps=None,
                                     epoch_pairs=PATN_EPOCH_PAIRS, log_every=100, sample_every=5000,
                                     checkpoint_every=5000)
DEEPFASHION_GENERATOR = GeneratorSettings(preset="deepfashion", image_size=(256, 256), batch_size=8, epochs=500,
                                          steps=None, epoch_pairs=PATN_EPOCH_PAIRS, log_every=100, sample_every=5000,
                                          checkpoint_every=5000)
# One GPU on the embedded SynthPeople: the paper's Market-1501 networks (model_options), a third of its length
# (100 epochs of 4,000 pairs at batch 32 = 12,500 steps), and, like quick, no stop when VGG-19 is missing (the
# perceptual term is then off and every row says so). Not yet timed on a GPU: `run --plan` measures it there.
SYNTH_GPU_GENERATOR = GeneratorSettings(preset="synth-gpu", model_options="market", image_size=(128, 64),
                                        batch_size=32, epochs=100, steps=None, epoch_pairs=PATN_EPOCH_PAIRS,
                                        require_vgg=False, log_every=100, sample_every=2500, checkpoint_every=2500)
# SAN(channels=16, blocks=3) at batch 8, 128x64: ~0.1 s per bf16 step on 2 cores of a CPU with native bf16.
# The recipe's generator levers (issue 13, results/synthpeople-quick/README.md): PG2's pose-mask L1 at 15 and
# the frozen real-only IDE's identity terms (cross-entropy 1, feature cosine 10, ramped over 300 steps), scored on
# random views of strength 0.15 (chosen without a search; IDE + Euclidean mAP +1.8 over the same recipe without it
# on the default render, p = 0.033, and +0.6 on render 1, where it is +1.7 over the identity control, p = 0.015).
QUICK_GENERATOR = GeneratorSettings(preset="quick", image_size=(128, 64), batch_size=8, epochs=None, steps=1500,
                                    require_vgg=False, log_every=25, sample_every=250, checkpoint_every=250,
                                    workers=0, foreground_weight=15.0, identity_weight=1.0,
                                    identity_feature_weight=10.0, identity_warmup=300, identity_jitter=0.15)

# torchreid's ResNet-50 softmax recipe on Market-1501 (ReidSettings' docstring).
MARKET_REID = ReidSettings(preset="market")
# Same recipe; DeepFashion's in-shop crops are 256x176 in PATN's split, kept at that aspect.
DEEPFASHION_REID = ReidSettings(preset="deepfashion", height=256, width=176)
# CPU laptop on SynthPeople's 128x64 renders, chosen by measurement (results/synthpeople-quick/plateau/):
# ResNet-18's layout at a quarter of its channels (resnet18-w32, ~3x cheaper a step) from scratch, AMSGrad at
# lr 1e-3, 24 epochs (the real-only IDE's plateau: 2.6 rank-1 and 2.1 mAP points under 36 epochs), lr decay
# at 70%. Generated images come in their own stream, a quarter of each batch, with label smoothing 0.1
# (CamStyle, Zhong et al., CVPR 2018: ~26% of a batch, epsilon 0.1, an epoch one pass over the real images).
QUICK_REID = ReidSettings(preset="quick", backbone="resnet18-w32", height=128, width=64, epochs=24, lr=1e-3,
                          lr_step=16.8, fixbase_epochs=0, feature_batch=64, generated_share=0.25,
                          generated_label_smooth=0.1)
# The recipe's run levers: the epochs budget (the identity control gets the same extra steps), poses of people
# wearing the same labels, and each generated person pasted onto its target image's scene; XQDA and KISSME fit
# on the real training images (copies of them composited onto other scenes cost XQDA 6 rank-1 points).
QUICK_RUN = RunSettings(budget="epochs", poses="compatible", composite="target", ranker_fit="real")
# torchreid's ResNet-50 recipe at 256x128 (SynthPeople's 128x64 renders upsampled, as Market-1501's are).
SYNTH_GPU_REID = ReidSettings(preset="synth-gpu")
# SynthPeople at about Market-1501's density: 500 training identities (~6,000 images), 500 test identities.
SYNTH_GPU_DATA = SynthConfig(identities=1000)

PRESETS: dict[str, RunPreset] = {
    "quick": RunPreset(name="quick", generator=QUICK_GENERATOR, reid=QUICK_REID, run=QUICK_RUN, synth=SynthConfig()),
    "synth-gpu": RunPreset(name="synth-gpu", generator=SYNTH_GPU_GENERATOR, reid=SYNTH_GPU_REID,
                           synth=SYNTH_GPU_DATA),
    "market": RunPreset(name="market", generator=MARKET_GENERATOR, reid=MARKET_REID, synth=None),
    "deepfashion": RunPreset(name="deepfashion", generator=DEEPFASHION_GENERATOR, reid=DEEPFASHION_REID, synth=None),
}


def get(name: str) -> RunPreset:
    """The run preset ``name``."""
    if name not in PRESETS:
        raise ReidBenchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]


def preset_ranker_fit(name: str) -> str:
    """What ``reid-bench run`` fits learned rankers on under preset ``name`` (``trained`` for a name that is
    no preset, e.g. a model trained with ``train-reid``'s own settings)."""
    return PRESETS[name].run.ranker_fit if name in PRESETS else RunSettings().ranker_fit


def default_preset_name(cuda_available: bool, data_kind: str | None = None) -> str:
    """The preset of a run that names none: ``quick`` without a GPU; with one, ``synth-gpu`` on the
    embedded dataset (``data_kind`` None: no ``--data``) or a SynthPeople folder, ``deepfashion`` on a
    DeepFashion folder and ``market`` on any other (Market-1501 layout)."""
    if not cuda_available:
        return "quick"
    if data_kind in (None, "synthpeople"):
        return "synth-gpu"
    return "deepfashion" if data_kind == "deepfashion" else "market"


def default_reason(name: str, cuda_available: bool, data_kind: str | None) -> str:
    """Why :func:`default_preset_name` chose ``name``, for the run's first line."""
    if not cuda_available:
        return "no GPU was found"
    where = ("no --data was given: the embedded SynthPeople, at a GPU's size" if data_kind is None
             else f"--data is {data_kind}")
    return f"a GPU was found and {where}"


# ---- overrides --------------------------------------------------------------------------------

SECTIONS = {"generator": GeneratorSettings, "reid": ReidSettings, "accel": AccelSettings, "run": RunSettings}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


@dataclass(frozen=True)
class Overrides:
    """Parsed ``--set`` values by section: ``{"reid": {"epochs": 12}, "model": {"blocks": 3}, ...}``."""

    values: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.values.get(name, {}))

    def apply(self, preset: RunPreset) -> RunPreset:
        """``preset`` with the generator, reid, accel and run sections applied (model is the generator's)."""
        generator = dataclasses.replace(preset.generator, **self.section("accel"), **self.section("generator"))
        # dataclasses.replace, not ReidSettings.replace, which skips None: --set reid.generated_share=none turns
        # a preset's lever off
        reid = validate_reid(dataclasses.replace(preset.reid, **self.section("accel"), **self.section("reid")))
        run = dataclasses.replace(preset.run, **self.section("run"))
        return dataclasses.replace(preset, generator=generator, reid=reid, run=run)


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved type of a settings dataclass (``preset`` and ``name`` are not settable)."""
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls) if field.name not in ("preset", "name")}


def parse_value(text: str, kind: Any, what: str) -> Any:
    """``text`` as a value of type ``kind`` (bool, int, float, str, tuples of them, or ``X | None``)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if text.strip().lower() in ("none", "null") and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return parse_value(text, inner, what)
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered not in _TRUE + _FALSE:
                raise ValueError(text)
            return lowered in _TRUE
        if kind in (int, float, str):
            return kind(text.strip()) if kind is not str else text
        if origin is tuple:
            parts = [part for part in text.replace("x", ",").split(",") if part.strip()]
            if len(parts) != len(args):
                raise ValueError(text)
            return tuple(parse_value(part, arg, what) for part, arg in zip(parts, args))
    except ValueError:
        raise ReidBenchError(f"--set {what}: {text!r} is not a valid {_type_name(kind)}.") from None
    raise ReidBenchError(f"--set {what}: this setting cannot be set from the command line.")


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def parse_overrides(items: Sequence[str], sections: Sequence[str], model_types: Mapping[str, Any] | None = None,
                    command: str = "this command") -> Overrides:
    """``["reid.epochs=12", "model.blocks=3"]`` into typed :class:`Overrides`.

    ``sections`` are those ``command`` accepts; ``model`` needs ``model_types`` (the generator's
    option name -> type, :meth:`reid_bench.generators.base.Generator.option_types`).
    """
    values: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        section, dot, name = key.strip().partition(".")
        name = name.replace("-", "_")
        if not sep or not dot or section not in sections:
            raise ReidBenchError(f"--set {item!r} is not SECTION.FIELD=VALUE with SECTION one of "
                                 f"{', '.join(sections)} (for {command}); e.g. --set {sections[0]}.<field>=<value>.")
        known = dict(model_types or {}) if section == "model" else field_types(SECTIONS[section])
        if name not in known:
            raise ReidBenchError(f"--set {item!r}: {section} has no field {name!r}; its fields are "
                                 f"{', '.join(sorted(known))}.")
        values.setdefault(section, {})[name] = parse_value(text, known[name], item)
    return Overrides(values)


# Recipe levers shown in result rows: (section, field, short name), in the order the label lists them.
RECIPE_LEVERS = (
    ("run", "budget", "budget"), ("run", "poses", "poses"), ("run", "composite", "composite"),
    ("run", "filter_confidence", "filter"), ("generator", "foreground_weight", "fg"),
    ("generator", "identity_weight", "id"), ("generator", "identity_feature_weight", "idfeat"),
    ("generator", "identity_warmup", "idwarm"), ("generator", "identity_jitter", "idjitter"),
    ("generator", "region_colour_weight", "colour"),
    ("reid", "generated_share", "share"),
    ("reid", "generated_label", "label"), ("reid", "generated_label_smooth", "smooth"),
)
_LEVER_CLASSES = {"run": RunSettings, "generator": GeneratorSettings, "reid": ReidSettings}


def lever_off(section: str, name: str) -> Any:
    """A recipe lever's value when it is off: its field's declared default (the paper's pipeline), whatever
    a preset sets, so a row's label names every lever its run turned on."""
    field = next(f for f in dataclasses.fields(_LEVER_CLASSES[section]) if f.name == name)
    return field.default


def levers_off() -> list[str]:
    """``--set`` items that turn every recipe lever off (the paper's pipeline), for ``run --no-recipe``."""
    return [f"{section}.{name}={_as_text(lever_off(section, name))}" for section, name, _ in RECIPE_LEVERS]


def without_levers(preset: RunPreset) -> RunPreset:
    """``preset`` with every recipe lever off (:func:`levers_off`)."""
    return parse_overrides(levers_off(), ("generator", "reid", "run")).apply(preset)


def _as_text(value: Any) -> str:
    return "none" if value is None else str(value)


INPUT_ORDER = ("parsing", "mask")  # the data inputs a label names, in this order


def recipe_label(preset: RunPreset, inputs: Mapping[str, str] | None = None, generator_learns: bool = True) -> str:
    """The recipe levers that are on (:func:`lever_off`), then the generator's data inputs that are
    stand-ins (``inputs``, :func:`reid_bench.data.inputs.input_sources`), e.g.
    ``budget=epochs;share=0.25;parsing=keypoints``; ``default`` when there is neither (the paper's pipeline).
    For a generator that is not trained (``generator_learns`` false: the ``identity`` and ``synth-oracle``
    controls) the generator loop's levers are left out: they change nothing it makes."""
    parts = []
    for section, name, short in RECIPE_LEVERS:
        if section == "generator" and not generator_learns:
            continue
        value = getattr(getattr(preset, section), name)
        if value != lever_off(section, name):
            parts.append(f"{short}={_short(value)}")
    given = dict(inputs or {})
    parts += [f"{key}={given[key]}" for key in INPUT_ORDER if key in given]
    return ";".join(parts) or "default"


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe(preset: RunPreset) -> dict[str, Any]:
    """The resolved preset as plain values (for --plan and the run record)."""
    return dataclasses.asdict(preset)
