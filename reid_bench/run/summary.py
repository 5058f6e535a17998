"""What ``reid-bench run`` prints and draws at the end: the gain table and the figures.

The gain table compares the generator's rows with the real-only rows of the same run protocol by
protocol (rank-1 and mAP, mean ± sample std over seeds, paired t-test when there are two or more
seeds: :func:`reid_bench.results.compare_rows`). Figures go to ``<out>/figures/``: a CMC plot per
protocol (first seed; real-only against augmented; named by generator and K) and a grid of generated samples
(source | target pose | generated) from the augmented set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from reid_bench.data import load_dataset
from reid_bench.data.vocabulary import colour_parsing
from reid_bench.figures import plot_image_grid
from reid_bench.results import compare_rows, format_comparison
from reid_bench.results.plots import cmc_path, load_cmc, plot_cmc
from reid_bench.results.tables import protocol_label

SAMPLE_ROWS = 6


def write_report(summary, request) -> str:
    """The text to print, after drawing the figures."""
    rows = summary.rows
    none = [row for row in rows if row.generator == "none"]
    augmented = [row for row in rows if row.generator != "none"]
    lines = [f"results: {summary.results} ({summary.added} rows added, {len(rows)} rows in this run)", ""]
    if augmented:
        comparison = compare_rows(augmented, none, by="generator", names=(request.generator, "none"))
        lines.append(format_comparison(comparison, name_a=f"{request.generator} augmentation, K={request.factor}",
                                       name_b="none (real images only, same seed and budget)"))
    else:
        lines += [f"{protocol_label((row.trainer, row.ranker))} seed {row.seed}: rank-1 {row.rank1:.2f}, "
                  f"mAP {row.mAP:.2f}" for row in none]
    figures = _cmc_figures(summary, f"{request.generator}-K{request.factor}") + _sample_grid(summary)
    if figures:
        lines += ["", "figures: " + ", ".join(str(path) for path in figures)]
    return "\n".join(lines)


def _cmc_figures(summary, run_name: str) -> list[Path]:
    """``figures/cmc_<generator>-K<factor>_<trainer>_<ranker>.png``: runs of other K keep their own."""

    first_seed = min((row.seed for row in summary.rows), default=None)
    curves: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for row in summary.rows:
        path = cmc_path(summary.results, row)
        if row.seed != first_seed or not path.is_file():
            continue
        stored = load_cmc(path)
        if row.ranker in stored:
            arm = "none" if row.generator == "none" else f"{row.generator} K={row.factor}"
            curves.setdefault((row.trainer, row.ranker), {})[arm] = stored[row.ranker]
    figures = []
    for (trainer, ranker), by_arm in sorted(curves.items()):
        name = f"cmc_{run_name}_{trainer}_{ranker.replace('+', '_')}.png"
        figures.append(plot_cmc(by_arm, summary.results.parent / "figures" / name,
                                title=f"{protocol_label((trainer, ranker))}, seed {first_seed}"))
    return figures


def _sample_grid(summary) -> list[Path]:
    if not summary.augmented:
        return []
    folder = summary.augmented[0]
    with open(folder / "manifest.csv", newline="") as handle:
        manifest = list(csv.DictReader(handle))[:SAMPLE_ROWS]
    if not manifest:
        return []
    dataset = load_dataset(summary.dataset_root)
    sources, poses, generated = [], [], []
    for entry in manifest:
        sources.append(dataset.image_path(entry["source"]))
        parsing = dataset.parsing_path(entry["target"])
        if parsing is not None:
            poses.append(colour_parsing(np.asarray(Image.open(parsing))))
        else:
            poses.append(dataset.image_path(entry["target"]))
        generated.append(folder / "bounding_box_train" / entry["name"])
    path = summary.results.parent / "figures" / f"samples_{manifest[0]['generator']}.png"
    return [plot_image_grid([sources, poses, generated], path, titles=("source", "target pose", "generated"))]
