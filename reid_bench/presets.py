"""Run presets of ``reid-bench run``: which generator, Re-ID and data settings go together.

A run preset names a generator-loop preset (:mod:`reid_bench.generators.presets`) and a Re-ID preset
(:mod:`reid_bench.reid.config`), each holding its own fields, and adds what only the run needs.
``quick`` is the CPU laptop on the embedded SynthPeople; ``market`` and ``deepfashion`` are the
paper's settings for GPUs on the real folders (``--data`` required).
"""

from __future__ import annotations

from dataclasses import dataclass

from reid_bench.data.synth import SynthConfig
from reid_bench.errors import ReidBenchError


@dataclass(frozen=True)
class RunPreset:
    name: str
    generator_preset: str  # a preset of generators.presets (GAN loop: steps, batch, lr, ...)
    reid_preset: str  # a preset of reid_bench.reid.config (backbone, input size, epochs, ...)
    reid_backbone: str | None  # overrides the Re-ID preset's backbone (None: keep it)
    reid_epochs: int | None  # overrides the Re-ID preset's epochs of the real-only run (None: keep)
    synth: SynthConfig | None  # the dataset rendered when --data is not given (None: --data required)
    # "steps": the augmented run takes as many optimisation steps as the real-only run (its epochs
    # shrink by n_real / n_total), so a gain cannot come from training longer; "epochs": same epochs.
    budget: str = "steps"
    poses: str = "random"  # target poses of the augmentation: random | kmeans
    generate_batch: int = 32  # pairs per generation batch


PRESETS: dict[str, RunPreset] = {
    # A laptop CPU on SynthPeople: narrow SAN (1,500 steps), ResNet-18 Re-ID at 128x64 for 6 epochs
    # (about 0.3 s per step of 32 images on 2 cores), so the whole run fits in about 15 minutes.
    "quick": RunPreset(name="quick", generator_preset="quick", reid_preset="quick", reid_backbone=None,
                       reid_epochs=6, synth=SynthConfig()),
    # The paper's Market-1501 settings on GPUs: SAN at 128x64 for 300 epochs, ResNet-50 IDE/Siamese.
    "market": RunPreset(name="market", generator_preset="market", reid_preset="market", reid_backbone=None,
                        reid_epochs=None, synth=None),
    # The paper's DeepFashion settings (generation at 256x256).
    "deepfashion": RunPreset(name="deepfashion", generator_preset="deepfashion", reid_preset="deepfashion",
                             reid_backbone=None, reid_epochs=None, synth=None),
}


def get(name: str) -> RunPreset:
    if name not in PRESETS:
        raise ReidBenchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]


def default_preset_name(cuda_available: bool) -> str:
    """``market`` on a GPU machine, ``quick`` without one."""
    return "market" if cuda_available else "quick"
