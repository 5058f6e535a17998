"""Would two single-thread processes ("lanes") run the quick preset's Re-ID training faster than one
process on every core?

Usage: python benchmarks/bench_threads.py [--trainer ide] [--steps 30]

Times one training step of the quick preset's Re-ID network (``reid.train.time_steps``, what
``run --plan`` uses: random images at the preset's sizes, its optimiser and precision) three ways
on this machine: one process with every core's thread (the anchor, what ``run`` does), one process
with one thread, and two one-thread processes at once. It prints each against the anchor and the
throughput of the two lanes (steps per second of both together) over the anchor's. Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import torch

from reid_bench import presets
from reid_bench.reid.train import time_steps


def step_seconds(trainer: str, steps: int) -> float:
    """Mean seconds of one step of ``trainer`` at the quick preset's sizes in this process."""
    timing, _ = time_steps(trainer, presets.get("quick").reid, 150, timed=steps, warmup=2)
    return timing.per_call


def in_child(trainer: str, steps: int, count: int) -> list[float]:
    """Step seconds of ``count`` one-thread processes started together."""
    command = [sys.executable, __file__, "--child", "--trainer", trainer, "--steps", str(steps)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    children = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(count)]
    return [float(child.communicate()[0].strip()) for child in children]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainer", default="ide")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(step_seconds(args.trainer, args.steps))
        return
    anchor = step_seconds(args.trainer, args.steps)
    print(f"{args.trainer} step, one process, {torch.get_num_threads()} threads (anchor): {anchor:.4f} s")
    alone = in_child(args.trainer, args.steps, 1)[0]
    print(f"one process, 1 thread: {alone:.4f} s ({alone / anchor:.2f}x the anchor)")
    pair = in_child(args.trainer, args.steps, 2)
    print("two 1-thread processes at once: " + ", ".join(f"{s:.4f} s ({s / anchor:.2f}x)" for s in pair))
    print(f"throughput of the two lanes over the anchor: {sum(anchor / s for s in pair):.2f}x")


if __name__ == "__main__":
    main()
