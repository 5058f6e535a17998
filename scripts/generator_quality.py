"""Table 1 on the embedded default: train every generator (quick preset) and evaluate its test pairs.

    python scripts/generator_quality.py --out results/synthpeople-quick/quality.csv
    reid-bench tables results/synthpeople-quick

For each generator (default: all registered, ``identity`` first) this trains the quick preset on
the embedded SynthPeople (the same cache ``reid-bench run`` uses, so a SAN trained by the run is
reused), generates the dataset's test pairs, and computes every metric of
``reid-bench eval-generator`` (FID and LPIPS only when their weights are on disk, else reported as
missing). The identity-preservation metrics use an IDE model trained on the real training split
with the run's quick settings (seed 1: the same model as the run's real-only IDE, so it is cached
after a run). Rows are merged into ``--out`` after each generator, so an interrupted run resumes.

``--figure PNG`` draws the paper's qualitative comparison (Figs. 5-6, ``reid-bench samples``) of
the same test pairs; each invocation adds its generators' columns to those drawn into that file
before (the list is kept in the cache).

A variant of one generator (other options or steps) gets its own rows under ``--label``::

    python scripts/generator_quality.py --generators san --options '{"alpha": 1}' --label "san alpha=1" \
        --out results/synthpeople-quick/san-variants.csv
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from reid_bench import generators, presets
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.data.synth import embedded_root
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import train
from reid_bench.quality.comparison import comparison_figure
from reid_bench.quality.evaluate import QualitySettings, evaluate_checkpoint, load_networks
from reid_bench.quality.rows import write_rows
from reid_bench.reid import train_reid
from reid_bench.storage import cache_root, config_hash


def identity_model(dataset, seed: int) -> str:
    """checkpoint.pt of the run's real-only IDE (quick preset) for ``seed``, trained unless cached."""
    settings = presets.get("quick").reid
    meta = {"dataset": dataset.kind, "generator": "none", "factor": 1, "n_real": len(dataset.train),
            "n_generated": 0}
    return str(train_reid(list(dataset.train), "ide", settings, seed=seed, meta=meta, progress=True).path)


def add_to_figure(figure: Path, root: Path, label: str, folder: Path) -> None:
    """Redraw ``figure`` with ``label``'s images added to every label drawn into it before."""
    listing = cache_root() / "figures" / f"{config_hash([str(figure.resolve())])}.json"
    drawn = json.loads(listing.read_text()) if listing.exists() else {}
    drawn[label] = str(folder)
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text(json.dumps(drawn, indent=1))
    comparison_figure(root, drawn, figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="image-quality CSV (rows are merged)")
    parser.add_argument("--generators", default=None, help="comma-separated names (default: all, identity first)")
    parser.add_argument("--steps", type=int, default=None, help="override the quick preset's training steps")
    parser.add_argument("--seed", type=int, default=1, help="seed of the identity-metric IDE model")
    parser.add_argument("--options", type=json.loads, default=None,
                        help="JSON generator options over the quick preset's (one generator only)")
    parser.add_argument("--label", default=None, help="the rows' generator name (default: the generator's)")
    parser.add_argument("--figure", type=Path, default=None,
                        help="PNG of the qualitative comparison to add these generators' columns to")
    args = parser.parse_args()
    names = args.generators.split(",") if args.generators else \
        ["identity"] + [name for name in generators.names() if name != "identity"]
    if (args.options or args.label) and len(names) != 1:
        parser.error("--options and --label need exactly one generator in --generators")
    root = embedded_root(presets.get("quick").synth)
    dataset = load_dataset(root)
    settings = QualitySettings()
    networks = load_networks(settings, reid_checkpoint=identity_model(dataset, args.seed), device="cpu")
    for name in names:
        started = time.perf_counter()
        config = configure(name, data=str(root.resolve()), preset="quick", options=args.options, steps=args.steps)
        pairs = PoseTransferPairs(dataset, "train", needs=generators.get(name).needs,
                                  image_size=config.settings.image_size)
        result = train(config, pairs, config.default_out(), progress=True)
        label = args.label or name
        rows, folder = evaluate_checkpoint(result.generator, root, networks=networks, generator=name,
                                           settings=settings, progress=True)
        rows = [replace(row, generator=label) for row in rows]
        write_rows(args.out, rows)
        shown = ", ".join(f"{row.metric} {row.value:.4g}" for row in rows if not row.missing)
        print(f"{label}: {shown} ({time.perf_counter() - started:.0f} s; images in {folder})", flush=True)
        if args.figure:
            add_to_figure(args.figure, root, label, folder)


if __name__ == "__main__":
    main()
