"""SAN training step time and inference throughput (market architecture, 128x64): bf16, fp32, matmul peak.

    python benchmarks/bench_san.py [--quick] [--preset P] [--batch-size B] [--steps N] [--rounds R]
                                   [--perceptual] [--threads T]

The ``market`` preset's SAN (channels 64, 5 semantic attention blocks, batch 32, 128x64;
``--preset`` picks another), set up by ``generators.run_config.configure`` and trained by the real
loop, ``generators.training.train``, on random pairs shaped like the data layer's sample dicts
(image in [-1, 1], one-hot 20-label parsing, mask), held in memory so that no file is read.
Measured:

* seconds per training step (generator forward, discriminator update, generator update) in our
  default precision (``amp="auto"``: bf16 autocast on a CPU with AMX) and layout (channels-last),
  in bf16 with the NCHW layout (``channels_last=False``) and in fp32 (``amp="off"``):
  the time from one batch request of the loop to the next; every round runs a fresh run of
  ``--steps`` + 1 steps per precision (the last step has no next request), after one untimed
  1-step run each (oneDNN builds its kernels then);
* inference, images/s: ``generators.generate.generate`` on one batch of pairs (generator forward
  under autocast, PNGs written), in the same three settings;
* the anchor: ``torch.mm`` of two NxN matrices in fp32 and bf16 (FLOP/s), against which each row's
  achieved FLOP/s is given as a share of the peak of its precision. FLOPs (convolutions and
  matmuls) are counted by ``torch.utils.flop_counter.FlopCounterMode``: per training step as a
  2-step run of the loop minus a 1-step run, at batch 1 and scaled to the batch; per generated
  image on one forward.

The perceptual term needs ImageNet VGG-19 weights, which are not on this machine, so the rows run
with ``perceptual=False``. ``--perceptual`` adds a bf16 row with the term (relu1_2) computed by a
randomly initialised VGG-19, saved as ``RANDOM-STANDIN-vgg19-not-imagenet.pth`` in a temporary
folder: for its time only (the weights do not change it; no image quality is measured). All cases
run interleaved in one process and the medians over rounds are printed, so that their ratios hold
on a shared machine; ``--threads 1`` keeps torch's two threads from waiting on each other there
(see benchmarks/README.md). The timing helpers come from ``bench_features.py`` beside this file.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from bench_features import Case, count_flops, machine_description, matmul_cases, peaks
from torch.utils.data import Dataset, default_collate

from reid_bench.generators import create
from reid_bench.generators.generate import generate
from reid_bench.generators.run_config import RunConfig, configure
from reid_bench.generators.training import train

FLOP_COUNT_BATCH = 1  # FLOPs are counted at this batch and scaled (they are linear in the batch)


class RandomPairs(Dataset):
    """``count`` random sample dicts, made once and held in memory; notes when each batch is asked for."""

    def __init__(self, count: int, height: int, width: int) -> None:
        generator = torch.Generator().manual_seed(0)
        self.items = [self._item(index, height, width, generator) for index in range(count)]
        self.requested: list[float] = []  # time.perf_counter() of each batch request

    @staticmethod
    def _item(index: int, height: int, width: int, generator: torch.Generator) -> dict:
        item = {"pid": index, "src_name": f"{index}a", "tgt_name": f"{index}b"}
        for prefix in ("src", "tgt"):
            labels = torch.randint(0, 20, (height, width), generator=generator)
            item[f"{prefix}_image"] = torch.rand(3, height, width, generator=generator) * 2 - 1
            item[f"{prefix}_parsing"] = torch.nn.functional.one_hot(labels, 20).permute(2, 0, 1).float()
            item[f"{prefix}_mask"] = (labels > 0).float()[None]
        return item

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]

    def __getitems__(self, indices: list[int]) -> list[dict]:  # the DataLoader's one call per batch
        self.requested.append(time.perf_counter())
        return [self.items[index] for index in indices]


@dataclasses.dataclass
class TrainCase:
    name: str
    config: RunConfig
    precision: str
    flops: float  # per step


def san_config(preset: str, batch_size: int | None, steps: int, amp: str, vgg: Path | None = None,
               channels_last: bool = True) -> RunConfig:
    """``preset``'s SAN for ``steps`` steps (``batch_size`` None: the preset's), without logs, sample
    grids or checkpoints until the end; the perceptual term only with ``vgg``."""
    options = {} if vgg else {"perceptual": False}
    return configure("san", data="random", preset=preset, options=options,
                     vgg_weights=str(vgg) if vgg else None, steps=steps, batch_size=batch_size, amp=amp,
                     channels_last=channels_last, log_every=10**9, sample_every=10**9, sample_count=1,
                     checkpoint_every=10**9)


def with_steps(config: RunConfig, steps: int) -> RunConfig:
    return dataclasses.replace(config, settings=dataclasses.replace(config.settings, steps=steps))


def run_training(config: RunConfig, pairs: RandomPairs) -> list[float]:
    """Seconds of each step but the last of one run of the real loop: the time from one batch
    request to the next (the last step has no next request)."""
    pairs.requested.clear()
    with tempfile.TemporaryDirectory(prefix="bench-san-") as out:
        train(config, pairs, out, progress=False)
    return [later - earlier for earlier, later in itertools.pairwise(pairs.requested)]


def step_flops(config: RunConfig, batch: int) -> float:
    """FLOPs of one training step at ``batch``: a 2-step run minus a 1-step run (the rest of a run
    cancels), counted at a small batch and scaled."""
    small = dataclasses.replace(config.settings, batch_size=FLOP_COUNT_BATCH)
    pairs = RandomPairs(FLOP_COUNT_BATCH, *config.settings.image_size)
    runs = [dataclasses.replace(config, settings=dataclasses.replace(small, steps=steps)) for steps in (2, 1)]
    two, one = (count_flops(lambda run=run: run_training(run, pairs)) for run in runs)
    return (two - one) * batch / FLOP_COUNT_BATCH


def random_standin_vgg(folder: Path) -> Path:
    """A randomly initialised torchvision VGG-19 ``features`` state dict, named as what it is."""
    path = folder / "RANDOM-STANDIN-vgg19-not-imagenet.pth"
    features = torchvision.models.vgg19(weights=None).features
    torch.save({f"features.{key}": value for key, value in features.state_dict().items()}, path)
    return path


def training_cases(preset: str, steps: int, default: RunConfig, flops: float, vgg: Path | None) -> list[TrainCase]:
    """bf16 (the default), bf16 in NCHW layout and fp32 training; with ``vgg``, bf16 with the
    perceptual term too."""
    batch = default.settings.batch_size
    cases = [TrainCase("bf16 autocast (default, amp=auto)", default, "bf16", flops),
             TrainCase("bf16, NCHW (channels_last=False)",
                       san_config(preset, batch, steps, "auto", channels_last=False), "bf16", flops),
             TrainCase("fp32 (amp=off)", san_config(preset, batch, steps, "off"), "fp32", flops)]
    if vgg is not None:
        with_vgg = san_config(preset, batch, steps, "auto", vgg)
        flops_vgg = step_flops(with_vgg, batch)
        print(f"with the perceptual term: {flops_vgg / 1e12:.3f} T per step (+{100 * (flops_vgg / flops - 1):.1f}%)")
        cases.append(TrainCase("bf16 + perceptual (RANDOM stand-in VGG-19)", with_vgg, "bf16", flops_vgg))
    return cases


def inference_case(name: str, model: torch.nn.Module, pairs: RandomPairs, amp: str, precision: str,
                   image_flops: float, channels_last: bool = True) -> Case:
    def run(amp_setting: str) -> None:
        with tempfile.TemporaryDirectory(prefix="bench-san-generate-") as out:
            generate(model, pairs, out, batch_size=len(pairs), amp=amp_setting, channels_last=channels_last,
                     progress=False)

    return Case(name, run, amp, amp, images=len(pairs), flops=len(pairs) * image_flops, precision=precision)


def measure(train_cases: list[TrainCase], other_cases: list[Case], pairs: RandomPairs,
            rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """One untimed call of each case (a 1-step run for training), then interleaved rounds."""
    for train_case in train_cases:
        run_training(with_steps(train_case.config, 1), pairs)
    for case in other_cases:
        case.fn(case.warm_work)
    step_seconds: dict[str, list[float]] = {case.name: [] for case in train_cases}
    seconds: dict[str, list[float]] = {case.name: [] for case in other_cases}
    for _ in range(rounds):
        for train_case in train_cases:
            step_seconds[train_case.name] += run_training(train_case.config, pairs)
        for case in other_cases:
            start = time.perf_counter()
            case.fn(case.work)
            seconds[case.name].append(time.perf_counter() - start)
    return step_seconds, seconds


def print_training(cases: list[TrainCase], step_seconds: dict[str, list[float]], peak: dict[str, float],
                   anchor: str) -> None:
    print(f"\n{'training step':52s} {'s/step':>7s} {'(min-max)':>13s} {'vs fp32':>8s} {'GFLOP/step':>10s} "
          f"{'GFLOP/s':>8s} {'% peak':>7s}")
    reference = statistics.median(step_seconds[anchor])
    for case in cases:
        times = step_seconds[case.name]
        median = statistics.median(times)
        achieved = case.flops / median
        print(f"{case.name:52s} {median:7.2f} {f'({min(times):.2f}-{max(times):.2f})':>13s} "
              f"{reference / median:7.2f}x {case.flops / 1e9:10.0f} {achieved / 1e9:8.0f} "
              f"{100 * achieved / peak[case.precision]:6.1f}%")


def print_others(cases: list[Case], seconds: dict[str, list[float]], peak: dict[str, float], anchor: str) -> None:
    print(f"\n{'inference and matmul peak':52s} {'images/s':>9s} {'(min-max)':>13s} {'vs fp32':>8s} "
          f"{'GFLOP/s':>8s} {'% peak':>7s}")
    reference = statistics.median(seconds[anchor])
    for case in cases:
        times = seconds[case.name]
        median = statistics.median(times)
        achieved = case.flops / median
        rate = f"{case.images / median:9.1f}" if case.images else f"{'':9s}"
        spread = f"({case.images / max(times):.1f}-{case.images / min(times):.1f})" if case.images else ""
        ratio = f"{reference / median:7.2f}x" if case.images else ""
        print(f"{case.name:52s} {rate} {spread:>13s} {ratio:>8s} {achieved / 1e9:8.0f} "
              f"{100 * achieved / peak[case.precision]:6.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the quick preset's SAN (16 channels, 3 blocks, batch 8), one round, 2048^3 matmuls")
    parser.add_argument("--preset", default=None, help="generator preset: market (default), deepfashion, quick")
    parser.add_argument("--batch-size", type=int, default=None, help="pairs per step (default: the preset's)")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per training run and round (default 1)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3)")
    parser.add_argument("--perceptual", action="store_true",
                        help="also time bf16 training with the perceptual term on a RANDOM stand-in VGG-19")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds = args.rounds or (1 if args.quick else 3)
    preset = args.preset or ("quick" if args.quick else "market")
    steps = args.steps + 1  # the last step of a run is not timed
    print(machine_description())
    default = san_config(preset, args.batch_size, steps, "auto")
    batch, (height, width) = default.settings.batch_size, default.settings.image_size
    pairs = RandomPairs(batch, height, width)
    with tempfile.TemporaryDirectory(prefix="bench-san-vgg-") as scratch:
        print(f"SAN, {preset} preset: {default.options}; batch {batch}, {height}x{width}; {args.steps} "
              f"timed step(s) per training run and round after one warm-up run; {rounds} interleaved round(s); "
              "medians shown")
        flops = step_flops(default, batch)
        torch.manual_seed(0)
        model = create("san", **default.options).eval()
        with torch.no_grad():
            image_flops = count_flops(lambda: model(default_collate([pairs[0]])))
        print(f"FLOPs: {flops / 1e12:.3f} T per training step, {image_flops / 1e9:.2f} G per generated image")
        vgg = random_standin_vgg(Path(scratch)) if args.perceptual else None
        train_cases = training_cases(preset, steps, default, flops, vgg)
        matmul_group = matmul_cases(2048 if args.quick else 4096)
        other_cases = [inference_case("generate, bf16 autocast (default)", model, pairs, "auto", "bf16", image_flops),
                       inference_case("generate, bf16, NCHW (channels_last=False)", model, pairs, "auto", "bf16",
                                      image_flops, channels_last=False),
                       inference_case("generate, fp32 (amp=off)", model, pairs, "off", "fp32", image_flops),
                       *matmul_group]
        step_seconds, seconds = measure(train_cases, other_cases, pairs, rounds)
    peak = peaks(matmul_group, seconds)
    print_training(train_cases, step_seconds, peak, "fp32 (amp=off)")
    print_others(other_cases, seconds, peak, "generate, fp32 (amp=off)")
    print(f"\nload average at the end: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
