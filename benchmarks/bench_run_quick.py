"""End-to-end time of the README's main command on the embedded default, from a cold cache.

Usage: python benchmarks/bench_run_quick.py [--generator san] [--factor 3] [--seeds 1] [--keep DIR]

Runs ``reid-bench run --generator san --factor 3`` in a fresh ``$REID_BENCH_CACHE`` and output
folder (so SynthPeople is rendered and SAN trained from scratch, as on a new machine), then
prints the wall time against the 15-minute target and where the time went: the SynthPeople
render, the generator's training (its run.json), and each Re-ID model (train + features + ranking,
the rows' ``wall_s``). Not a test: it takes minutes. ``--keep DIR`` runs in an empty ``DIR`` and
keeps its cache, so a longer run can reuse the trained generator and models
(``REID_BENCH_CACHE=DIR/cache reid-bench run ... --seeds 1,2,3``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from reid_bench.results import read_rows

TARGET_S = 15 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="san")
    parser.add_argument("--factor", default="3")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--keep", default=None, help="an empty folder to run in and keep (default: a temporary one)")
    args = parser.parse_args()

    if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
        sys.exit(f"{args.keep} is not empty; the measurement needs a cold cache: give a new folder.")
    place = nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="reid-bench-bench-")
    with place as scratch:
        env = {**os.environ, "REID_BENCH_CACHE": str(Path(scratch) / "cache")}
        out = Path(scratch) / "results"
        command = [sys.executable, "-m", "reid_bench", "run", "--generator", args.generator,
                   "--factor", args.factor, "--seeds", args.seeds, "--out", str(out)]
        print("$ reid-bench " + " ".join(command[3:]), flush=True)
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        total = time.perf_counter() - started
        print(f"end to end: {total / 60:.1f} min (target {TARGET_S / 60:.0f} min, ratio {total / TARGET_S:.2f})")
        runs = list((Path(scratch) / "cache" / "generators").glob("*/run.json"))
        for run_json in runs:
            record = json.loads(run_json.read_text())  # reid_bench.records' run record of the generator
            seconds = record.get("outcome", {}).get("wall_s", float("nan"))
            print(f"  generator {record['config']['generator']}: {seconds / 60:.1f} min "
                  f"for {record['config']['total_steps']} steps")
        models: dict[tuple, float] = {}
        for row in read_rows(out / "results.csv"):
            models[(row.generator, row.trainer, row.seed)] = row.wall_s  # the last ranker's row holds the most
        for (generator, trainer, seed), seconds in sorted(models.items()):
            print(f"  {trainer} ({generator}, seed {seed}): {seconds / 60:.1f} min (training, features, ranking)")


if __name__ == "__main__":
    main()
