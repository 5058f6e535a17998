"""The real-only Re-ID model's accuracy against its length: where the quick preset's curve flattens.

    python scripts/plateau.py --out results/synthpeople-quick/plateau [--ide 6,12,18,24,36] [--siamese 6,12,18,24]

Issue "generated images that help Re-ID" asks that every arm be compared where the real-only model
has reached its plateau (a gain over an under-trained baseline is not a result: LSRO's gain vanished
against a stronger baseline). For each trainer and length this runs ``reid-bench run --generator none``
with ``--reid-epochs E`` (the lr decay kept at the same share of training) into ``OUT/<trainer>-e<E>/``,
the same cached models a run of that length trains, then writes ``OUT/plateau.csv`` (one row per
trainer, epochs and ranker) and ``OUT/plateau.png`` (rank-1 and mAP against epochs). The preset's
Re-ID settings and ``--set`` values apply as in ``reid-bench run``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend)

from reid_bench.presets import parse_overrides  # noqa: E402
from reid_bench.results import read_rows  # noqa: E402
from reid_bench.run.pipeline import RunRequest, run  # noqa: E402

FIELDS = ("trainer", "epochs", "ranker", "seed", "rank1", "mAP", "config_hash")


def lengths(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--ide", type=lengths, default=[6, 12, 18, 24, 36], help="IDE lengths in epochs")
    parser.add_argument("--siamese", type=lengths, default=[6, 12, 18, 24], help="Siamese lengths in epochs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.FIELD=VALUE")
    args = parser.parse_args()
    overrides = parse_overrides(args.overrides, ("reid", "accel", "run"), command="plateau.py")
    table = []
    for trainer, epochs_list in (("ide", args.ide), ("siamese", args.siamese)):
        for epochs in epochs_list:
            folder = args.out / f"{trainer}-e{epochs}"
            run(RunRequest(generator="none", factor=1, seeds=(args.seed,), out=folder, trainers=(trainer,),
                           overrides=overrides, reid_epochs=epochs))
            table += [{"trainer": trainer, "epochs": epochs, "ranker": row.ranker, "seed": row.seed,
                       "rank1": row.rank1, "mAP": row.mAP, "config_hash": row.config_hash}
                      for row in read_rows(folder / "results.csv") if row.seed == args.seed]
    with open(args.out / "plateau.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(table)
    draw(table, args.out / "plateau.png")
    print(f"wrote {args.out / 'plateau.csv'} and {args.out / 'plateau.png'}")


def draw(table: list[dict], path: Path) -> None:
    """Rank-1 and mAP against epochs, one line per trainer and ranker."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    curves = sorted({(row["trainer"], row["ranker"]) for row in table})
    for axis, metric in zip(axes, ("rank1", "mAP")):
        for trainer, ranker in curves:
            points = sorted((row["epochs"], row[metric]) for row in table
                            if (row["trainer"], row["ranker"]) == (trainer, ranker))
            axis.plot(*zip(*points), marker="o", label=f"{trainer} + {ranker}")
        axis.set_xlabel("epochs")
        axis.set_ylabel(f"{'rank-1' if metric == 'rank1' else 'mAP'} (%)")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("Real-only Re-ID against training length (no augmentation)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main()
