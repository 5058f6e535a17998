"""``reid-bench data synth`` and ``reid-bench data check``."""

from __future__ import annotations

import argparse

from reid_bench import checks
from reid_bench.data.check import check_dataset
from reid_bench.data.synth import MIN_IDENTITIES, SIZES, SynthConfig, parse_size, render_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="render SynthPeople or check a dataset folder")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    synth = commands.add_parser("synth", help="render the SynthPeople dataset (Market-1501 layout)")
    synth.add_argument("--out", type=checks.folder("--out"), required=True,
                       help="output folder (must not exist, or be empty)")
    synth.add_argument("--ids", type=checks.count("--ids", MIN_IDENTITIES), default=300,
                       help=f"identities in all, split half train / half test ({MIN_IDENTITIES} or more)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--size", type=checks.one_of("--size", SIZES), default=SIZES[0],
                       help=f"image size HxW: {' or '.join(SIZES)} (default {SIZES[0]})")
    synth.add_argument("--workers", type=int, default=None, help="render processes (default: CPU count)")
    synth.set_defaults(handler=_synth)

    check = commands.add_parser("check", help="validate a dataset folder and print a summary")
    check.add_argument("dir", metavar="DIR", help="dataset folder (Market-1501, SynthPeople or DeepFashion layout)")
    check.set_defaults(handler=_check)


def _synth(args: argparse.Namespace) -> int:
    config = SynthConfig(identities=args.ids, seed=args.seed, size=parse_size(args.size))
    summary = render_dataset(args.out, config, workers=args.workers, progress=True)
    print(summary)
    return 0


def _check(args: argparse.Namespace) -> int:
    print(check_dataset(args.dir))
    return 0
