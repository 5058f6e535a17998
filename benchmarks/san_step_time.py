"""Seconds per SAN training step (generator + discriminator update) on this machine.

    python benchmarks/san_step_time.py --preset market --batch-size 32 --steps 6 [--vgg-weights F]

Runs the real loop (generators.training.train) on random 128x64 pairs shaped like the sample
dict and reports the median step time after the first step. Without --vgg-weights the perceptual
term is off (the paper presets need --option perceptual=false then); the time of a step does not
depend on the VGG weights, so a random stand-in file measures that cost too.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.data import Dataset

from generators.run_config import configure
from generators.training import train
from reid_bench.cli.generators import parse_options


class RandomPairs(Dataset):
    def __init__(self, count: int, height: int, width: int) -> None:
        self.count, self.height, self.width = count, height, width

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        item = {"pid": index, "src_name": f"{index}a", "tgt_name": f"{index}b"}
        for prefix in ("src", "tgt"):
            labels = torch.randint(0, 20, (self.height, self.width), generator=generator)
            item[f"{prefix}_image"] = torch.rand(3, self.height, self.width, generator=generator) * 2 - 1
            item[f"{prefix}_parsing"] = torch.nn.functional.one_hot(labels, 20).permute(2, 0, 1).float()
            item[f"{prefix}_mask"] = (labels > 0).float()[None]
        return item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="market")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--size", default="128x64")
    parser.add_argument("--option", action="append", default=[])
    parser.add_argument("--vgg-weights", default=None)
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.split("x"))
    config = configure("san", data="random", preset=args.preset, options=parse_options(args.option),
                       vgg_weights=args.vgg_weights, steps=args.steps, batch_size=args.batch_size,
                       image_size=(height, width), log_every=1, sample_every=10**9, checkpoint_every=10**9)
    with tempfile.TemporaryDirectory() as out:
        train(config, RandomPairs(args.batch_size, height, width), out, progress=False)
        with open(Path(out) / "losses.csv", newline="") as handle:
            seconds = [float(row["seconds"]) for row in csv.DictReader(handle)]
    steps = [b - a for a, b in zip(seconds, seconds[1:])]
    print(f"san {args.preset} options={config.options} perceptual={config.perceptual} batch {args.batch_size} "
          f"{height}x{width}, {torch.get_num_threads()} threads: median {statistics.median(steps):.2f} s/step "
          f"(min {min(steps):.2f}, max {max(steps):.2f})", file=sys.stdout)


if __name__ == "__main__":
    main()
