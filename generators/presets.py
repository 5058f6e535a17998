"""Training presets of the generator loop: the paper's two settings and a CPU one.

``market`` and ``deepfashion`` are the SAN paper's Sec. 4.2 settings (for a GPU): Adam
(0.5, 0.999), lr 2e-4 decaying linearly to 0 over 300 / 500 epochs, batch 32 / 8, at 128x64 /
256x256. ``quick`` trains a narrow SAN on SynthPeople at 128x64 in minutes on 2 CPU cores.
The architecture and loss weights each preset uses are the generator's own
(``Generator.preset_options``, e.g. SAN's (alpha, beta, gamma) = (10, 15, 5) on Market-1501);
:func:`reid_bench.generators.registry.preset_options` returns them.
"""

from __future__ import annotations

from dataclasses import dataclass

from reid_bench.errors import ReidBenchError


@dataclass(frozen=True)
class GeneratorSettings:
    preset: str  # name of the preset these settings came from (recorded in outputs)
    image_size: tuple[int, int] | None  # (H, W) images are resized to; None: the dataset's own size
    batch_size: int  # pairs per step (paper: 32 on Market-1501, 8 on DeepFashion)
    epochs: int | None  # passes over the training pairs (paper: 300 / 500); used when steps is None
    steps: int | None  # total iterations; overrides epochs when set
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
    amp: str = "auto"  # auto | bf16 | fp16 | off (reid_bench.accel.resolve_amp: auto is bf16/fp16 on CUDA,
    # bf16 on a CPU with native bf16 instructions, else fp32)
    channels_last: bool = True  # NHWC images and weights: ~20% less time per bf16 SAN step with oneDNN
    # (benchmarks/bench_san.py), and cuDNN's tensor cores want it; the same arithmetic up to summation order
    seed: int = 0  # seeds weights, pair order and every RNG; a CPU run is reproducible for a seed
    sync_bn: bool = False  # under torchrun: BatchNorm statistics over all processes' pairs (SyncBatchNorm,
    # GPUs only); off, each process normalises with its own share of the batch
    compile: str = "off"  # off, or a torch.compile mode for the generator (default, reduce-overhead, max-autotune)

    def total_steps(self, pairs: int) -> int:
        """Steps of the whole run over ``pairs`` training pairs."""
        if self.steps is not None:
            return self.steps
        assert self.epochs is not None
        return self.epochs * steps_per_epoch(pairs, self.batch_size)


def steps_per_epoch(pairs: int, batch_size: int) -> int:
    """Full batches per pass (the last partial batch is dropped; at least one step)."""
    return max(1, pairs // batch_size)


PRESETS: dict[str, GeneratorSettings] = {
    "market": GeneratorSettings(
        preset="market", image_size=(128, 64), batch_size=32, epochs=300, steps=None,
        log_every=100, sample_every=5000, checkpoint_every=5000,
    ),
    "deepfashion": GeneratorSettings(
        preset="deepfashion", image_size=(256, 256), batch_size=8, epochs=500, steps=None,
        log_every=100, sample_every=5000, checkpoint_every=5000,
    ),
    # SAN(channels=16, blocks=3): about 0.4 s of CPU time per step (batch 8, 128x64), so roughly
    # 0.25 s per step on 2 idle cores: ~6 minutes.
    "quick": GeneratorSettings(
        preset="quick", image_size=(128, 64), batch_size=8, epochs=None, steps=1500,
        require_vgg=False, log_every=25, sample_every=250, checkpoint_every=250, workers=0,
    ),
}


def get(name: str) -> GeneratorSettings:
    """The preset ``name``."""
    if name not in PRESETS:
        raise ReidBenchError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]
