"""Table 1 on the embedded default: every generator under one recipe, on test and augmentation pairs.

    python scripts/generator_quality.py --out results/synthpeople-quick/table1 [--set ...] [--figure PNG]
    reid-bench tables results/synthpeople-quick/table1/test-pairs
    reid-bench tables results/synthpeople-quick/table1/augmentation-pairs

For each generator (default: all registered, ``identity`` first) this takes the generator exactly as
``reid-bench run --generator NAME --set ...`` trains it (the same cached steps,
:meth:`reid_bench.run.pipeline.Experiment.prepare`: a generator the run trained is reused, and the
identity term's frozen network is the run's real-only IDE of seed 1, ``GUIDE_SEED``), then writes
two sets of rows of ``reid-bench eval-generator``'s metrics:

- ``test-pairs/quality.csv``: the dataset's test pairs (both images of one test identity): SSIM,
  L1, PSNR, masked metrics, FID and LPIPS when their weights are on disk, and identity against the
  test gallery;
- ``augmentation-pairs/quality.csv``: the images the Re-ID model actually trains on, the run's
  augmented set of seed 1 (training identities, other people's target poses): identity against the
  real training split (the pixel metrics need the person's real image in the target pose, which
  augmentation pairs do not have).

The identity metrics use the run's real-only IDE of another seed (``--identity-seed``, default 2),
so the network that scores a generator is not the one its identity term trained against (both saw
the same real images; see the results README for what that leaves). Rows are merged after each
generator, so an interrupted run resumes. ``--figure`` draws the paper's qualitative comparison
(Figs. 5-6) of the test pairs with one column per generator.
"""

from __future__ import annotations

import argparse
import csv
import time
from dataclasses import replace
from pathlib import Path

from reid_bench import generators
from reid_bench.augment import MANIFEST
from reid_bench.presets import parse_overrides
from reid_bench.quality.comparison import comparison_figure
from reid_bench.quality.evaluate import QualitySettings, evaluate_checkpoint, evaluate_folder, load_networks
from reid_bench.quality.rows import write_rows
from reid_bench.run.pipeline import Experiment, RunRequest

SECTIONS = ("generator", "reid", "run", "accel", "model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for test-pairs/ and augmentation-pairs/")
    parser.add_argument("--generators", default=None, help="comma-separated names (default: all, identity first)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.FIELD=VALUE",
                        help="the recipe, as reid-bench run takes it")
    parser.add_argument("--factor", type=int, default=3, help="K of the augmented set (default 3)")
    parser.add_argument("--identity-seed", type=int, default=2, help="seed of the real-only IDE that scores identity")
    parser.add_argument("--figure", type=Path, default=None, help="PNG of the qualitative comparison of test pairs")
    args = parser.parse_args()
    names = args.generators.split(",") if args.generators else \
        ["identity"] + [name for name in generators.names() if name != "identity"]
    overrides = parse_overrides(args.overrides, SECTIONS, command="generator_quality.py")
    settings = QualitySettings()
    drawn: dict[str, Path] = {}
    networks = None
    for name in names:
        started = time.perf_counter()
        request = RunRequest(generator=name, factor=args.factor, preset="quick", seeds=(1,), overrides=overrides,
                             out=args.out)
        experiment = Experiment(request).prepare()
        if networks is None:
            scorer = experiment.real_only_ide(args.identity_seed)
            networks = load_networks(settings, reid_checkpoint=scorer.path, device=str(experiment.device))
        rows, folder = evaluate_checkpoint(experiment.generator.checkpoint, experiment.dataset.root,
                                           networks=networks, generator=name, settings=settings, progress=True)
        write_rows(args.out / "test-pairs" / "quality.csv", rows)
        augmented = experiment.augmented_set(1)
        with open(augmented / MANIFEST, newline="") as handle:
            pairs = [(row["source"], row["target"]) for row in csv.DictReader(handle)]
        training = evaluate_folder(augmented / "bounding_box_train", experiment.dataset, name, networks=networks,
                                   pairs=pairs, settings=replace(settings, metrics=("identity-rank1", "identity-mAP")),
                                   progress=True)
        write_rows(args.out / "augmentation-pairs" / "quality.csv", training)
        shown = ", ".join(f"{row.metric} {row.value:.4g}" for row in rows + training if not row.missing)
        print(f"{name}: {shown} ({time.perf_counter() - started:.0f} s)", flush=True)
        drawn[name] = folder
    if args.figure:
        comparison_figure(experiment.dataset.root, drawn, args.figure)


if __name__ == "__main__":
    main()
