"""``reid-bench data synth``, ``reid-bench data check`` and ``reid-bench data prepare``."""

from __future__ import annotations

import argparse

from reid_bench import checks
from reid_bench.data import load_dataset
from reid_bench.data.check import check_dataset
from reid_bench.data.patn_pairs import PATN_TEST_PAIRS
from reid_bench.data.prepare import MASK_METHODS, PrepareOptions, prepare_dataset
from reid_bench.data.synth import MIN_IDENTITIES, SIZES, SynthConfig, parse_size, render_dataset
from reid_bench.generators.readiness import readiness


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="render SynthPeople, check a dataset folder, or prepare its inputs")
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

    prepare = commands.add_parser(
        "prepare", help="make what each generator needs: pairs (PATN's rule), body masks, parsing",
        description="Make what the generators need from what DIR has, each product only where it is missing, "
                    "written atomically and resumable: *pairs-{train,test}.csv by PATN's rule from the keypoints, "
                    "body masks by Mask R-CNN (its COCO weights found offline) or from the keypoints, and, with "
                    "--parsing, LIP parsing imported from a parser's PNGs or drawn from the keypoints.")
    prepare.add_argument("dir", metavar="DIR", help="dataset folder (Market-1501 or DeepFashion layout)")
    prepare.add_argument("--parsing", default=None, metavar="keypoints|FOLDER",
                         help="keypoints: draw a coarse parsing from the keypoints (recorded as parsing=keypoints in "
                              "every result row that uses it); FOLDER: import a human parser's PNGs (<stem>.png, "
                              "LIP labels 0-19, as Self-Correction-Human-Parsing writes); default: leave parsing alone")
    prepare.add_argument("--masks", choices=MASK_METHODS, default="auto",
                         help="auto (default): Mask R-CNN when its COCO weights are on disk, else keypoint masks; "
                              "maskrcnn: stop without the weights; keypoints; none")
    prepare.add_argument("--maskrcnn-weights", default=None,
                         help="torchvision's maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth (or the _v2 file), if not in "
                              "the torch hub cache")
    prepare.add_argument("--no-pairs", action="store_true", help="do not make missing *pairs-*.csv files")
    prepare.add_argument("--test-pairs", type=int, default=PATN_TEST_PAIRS,
                         help=f"sample the test pairs down to this many, seed 0 (default {PATN_TEST_PAIRS:,}, PATN's)")
    prepare.add_argument("--device", default=None, help="device of Mask R-CNN: cpu, cuda, cuda:1 (default: cuda "
                                                         "when available)")
    prepare.set_defaults(handler=_prepare)


def _synth(args: argparse.Namespace) -> int:
    config = SynthConfig(identities=args.ids, seed=args.seed, size=parse_size(args.size))
    summary = render_dataset(args.out, config, workers=args.workers, progress=True)
    print(summary)
    return 0


def _check(args: argparse.Namespace) -> int:
    print(check_dataset(args.dir))
    return 0


def _prepare(args: argparse.Namespace) -> int:
    options = PrepareOptions(parsing=args.parsing, masks=args.masks, pairs=not args.no_pairs,
                             maskrcnn_weights=args.maskrcnn_weights, test_pairs=args.test_pairs, device=args.device)
    print(prepare_dataset(args.dir, options, progress=True))
    print(readiness(load_dataset(args.dir)))
    return 0
