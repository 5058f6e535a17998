"""Re-ID training input: a batch read from JPEG files against one from kept pixels, beside a training step.

    python benchmarks/bench_loader.py [--data DIR] [--rounds R] [--threads T]

On the CPU a Re-ID model loads its batches in the training process (``accel.loader_options``), so
every step waits for its images. ``reid_bench.reid.transforms.ImageDataset`` with ``keep_loaded``
(what ``train_reid`` uses when :func:`~reid_bench.reid.transforms.worth_keeping` says so) decodes
each image once and keeps its resized uint8 pixels; later epochs only flip and normalise. Measured
on the training split of ``--data`` (default: the embedded SynthPeople, rendered if needed), with
the quick preset's IDE settings (batch 32 at 128x64), interleaved over ``--rounds``, medians:

* one epoch's batches through a DataLoader in the main process, from the files (every read decodes);
* the same with kept pixels, after a first epoch that filled them;
* the anchor: one IDE training step of the quick preset's network on random images
  (``reid.train.time_steps``, what ``run --plan`` uses).

The tensors of both inputs are checked equal for the same seed before timing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader

from reid_bench.data import load_dataset
from reid_bench.data.synth import embedded_root
from reid_bench.presets import QUICK_REID
from reid_bench.reid.train import time_steps
from reid_bench.reid.transforms import ImageDataset, as_triplets, train_transform


def epoch_seconds(dataset: ImageDataset, batch: int) -> float:
    torch.manual_seed(0)
    started = time.perf_counter()
    for _ in DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="dataset folder (default: the embedded SynthPeople)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = QUICK_REID
    records = as_triplets(load_dataset(args.data or embedded_root()).train)
    files = ImageDataset(records, train_transform(settings))
    kept = ImageDataset(records, train_transform(settings), keep_loaded=True)
    torch.manual_seed(1)
    first = [kept[i][0] for i in range(64)]
    torch.manual_seed(1)
    assert all(torch.equal(a, files[i][0]) for i, a in enumerate(first)), "kept pixels changed the tensors"
    epoch_seconds(kept, settings.batch_size)  # fills the kept pixels
    batches = -(-len(records) // settings.batch_size)
    rows: dict[str, list[float]] = {"from files": [], "kept pixels": [], "IDE training step (anchor)": []}
    for _ in range(args.rounds):
        rows["from files"].append(epoch_seconds(files, settings.batch_size) / batches)
        rows["kept pixels"].append(epoch_seconds(kept, settings.batch_size) / batches)
        step, _ = time_steps("ide", settings, 150, timed=5, warmup=1)
        rows["IDE training step (anchor)"].append(step.per_call)
    anchor = statistics.median(rows["IDE training step (anchor)"])
    print(f"{len(records)} training images, batch {settings.batch_size} at {settings.height}x{settings.width}, "
          f"torch threads {torch.get_num_threads()}, {args.rounds} rounds (medians)")
    print("| input | ms per batch | vs one training step |")
    print("|---|---|---|")
    for name, values in rows.items():
        value = statistics.median(values)
        print(f"| {name} | {value * 1000:.1f} | {value / anchor:.2f} |")


if __name__ == "__main__":
    main()
