"""``reid-bench run``: the whole experiment, generator to result table."""

from __future__ import annotations

import argparse
from pathlib import Path

from reid_bench import checks, distributed, generators
from reid_bench.errors import ReidBenchError
from reid_bench.presets import PRESETS, parse_overrides
from reid_bench.reid import TRAINERS
from reid_bench.run import RunRequest, run
from reid_bench.run.summary import write_report

RUN_SECTIONS = ("generator", "reid", "accel", "run", "model")


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="train a generator, augment by factor K, train IDE/Siamese with and without it, rank, tabulate",
        description="Does GENERATOR's augmentation help Re-ID? Without --data it runs on SynthPeople, "
                    "rendered once into the cache; every step is cached and resumes after an interruption.")
    run.add_argument("--generator", required=True, help="a generator name (reid-bench run --generator san), or none")
    run.add_argument("--factor", type=checks.count("--factor"), default=3,
                     help="K: each training image counts K times (default 3)")
    run.add_argument("--data", default=None, help="dataset folder (default: SynthPeople, the embedded dataset)")
    run.add_argument("--preset", default=None,
                     help=f"{', '.join(PRESETS)} (default: quick without a GPU, market with one)")
    run.add_argument("--seeds", default="1", help="comma-separated seeds, e.g. 1,2,3 (default 1)")
    run.add_argument("--out", type=checks.folder("--out"), default="results",
                     help="folder of results.csv, run records and figures")
    run.add_argument("--trainers", default="ide,siamese", help="ide, siamese or both (default)")
    run.add_argument("--rerank", action="store_true", help="also k-reciprocal re-ranking of every protocol")
    run.add_argument("--generator-checkpoint", default=None, help="a trained generator.pt instead of training one")
    run.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", dest="overrides",
                     help="override any preset field, typed by its declaration: generator.steps=500, reid.epochs=12, "
                          "accel.amp=off, run.poses=kmeans, model.blocks=3 (repeatable; reid_bench/presets.py)")
    run.add_argument("--generator-steps", type=checks.count("--generator-steps"), default=None,
                     help="the generator's steps (= --set generator.steps=N)")
    run.add_argument("--reid-epochs", type=checks.count("--reid-epochs"), default=None,
                     help="the Re-ID models' epochs, the lr decay kept at the same share of training")
    run.add_argument("--backbone", default=None, help="the Re-ID backbone: resnet50, resnet18, tiny, torchreid:<name> "
                     "(= --set reid.backbone=NAME)")
    run.add_argument("--poses", choices=("random", "kmeans"), default=None,
                     help="target poses of the augmentation (= --set run.poses=...; default: the preset's, random)")
    run.add_argument("--backbone-weights", default=None, help="ImageNet weights of the Re-ID backbone")
    run.add_argument("--vgg-weights", default=None, help="VGG-19 weights for the perceptual loss")
    run.add_argument("--device", type=checks.device, default=None,
                     help="cpu, cuda, cuda:1 (default: cuda when available)")
    run.add_argument("--profile", action="store_true",
                     help="write where the time went, step by step, to OUT/profile.csv and print the largest steps")
    run.set_defaults(handler=_run)


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ReidBenchError(f"--seeds {text!r} is not a comma-separated list of integers, e.g. 1,2,3.") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ReidBenchError(f"--seeds {text!r} must name at least one seed, each once.")
    return seeds


def _run(args: argparse.Namespace) -> int:
    trainers = tuple(part.strip() for part in args.trainers.split(",") if part.strip())
    if not trainers or set(trainers) - set(TRAINERS):
        raise ReidBenchError(f"--trainers {args.trainers!r}: use ide, siamese or ide,siamese.")
    aliases = [f"generator.steps={args.generator_steps}"] * (args.generator_steps is not None) \
        + [f"reid.backbone={args.backbone}"] * (args.backbone is not None) \
        + [f"run.poses={args.poses}"] * (args.poses is not None)
    wants_model = any(item.startswith("model.") for item in args.overrides) and args.generator != "none"
    model_types = generators.get(args.generator).option_types() if wants_model else {}
    overrides = parse_overrides(aliases + args.overrides, RUN_SECTIONS, model_types, command="run")
    request = RunRequest(
        generator=args.generator, factor=args.factor, data=args.data, preset=args.preset,
        seeds=parse_seeds(args.seeds), out=Path(args.out), rerank=args.rerank, trainers=trainers,
        generator_checkpoint=args.generator_checkpoint, overrides=overrides, reid_epochs=args.reid_epochs,
        backbone_weights=args.backbone_weights, vgg_weights=args.vgg_weights, device=args.device,
        profile=args.profile,
    )
    summary = run(request)
    if not distributed.is_main():  # rank 0 reports for every process of a torchrun launch
        return 0
    print(write_report(summary, request))
    if args.profile:
        print(summary.profile.summary())
        print(f"profile written to {summary.profile.write(request.out / 'profile.csv')}")
    return 0
