"""``reid-bench run``: the whole experiment, generator to result table."""

from __future__ import annotations

import argparse
from pathlib import Path

from reid_bench import checks, distributed, generators
from reid_bench.errors import ReidBenchError
from reid_bench.presets import PRESETS, RANKER_FITS, levers_off, parse_overrides
from reid_bench.reid import TRAINERS
from reid_bench.run import RunRequest, run
from reid_bench.run.plan import DEFAULT_TIMED_STEPS, plan_run, start_estimate
from reid_bench.run.summary import write_report

RUN_SECTIONS = ("generator", "reid", "accel", "run", "model")
# Flags that are a --set of one field: (flag, section.field, argparse options, help). The recipe levers
# (how generated images are made and enter Re-ID training) are recorded in every result row's recipe.
ALIASES = (
    ("--generator-steps", "generator.steps", dict(type=checks.count("--generator-steps")),
     "the generator's training steps"),
    ("--backbone", "reid.backbone", dict(), "the Re-ID backbone: resnet50, resnet18, tiny, torchreid:<name>"),
    ("--poses", "run.poses", dict(choices=("random", "kmeans", "compatible")),
     "target poses of the augmentation (default random; compatible: people wearing the same labels)"),
    ("--budget", "run.budget", dict(choices=("steps", "epochs")),
     "steps: the augmented models take the real-only models' steps; epochs: their epochs (more steps)"),
    ("--composite", "run.composite", dict(choices=("none", "target")),
     "target: paste each generated person onto its target image's scene through the target mask"),
    ("--filter", "run.filter_confidence", dict(type=float, metavar="P"),
     "keep the generated images the real-only IDE gives their person a probability of P or more"),
    ("--generated-share", "reid.generated_share", dict(type=float, metavar="S"),
     "share of every Re-ID batch drawn from generated images, a stream of their own (CamStyle: ~0.26)"),
    ("--generated-label", "reid.generated_label", dict(choices=("source", "uniform")),
     "the label of generated images: the source person's (default) or LSRO's uniform label"),
    ("--generated-smooth", "reid.generated_label_smooth", dict(type=float, metavar="EPS"),
     "label smoothing of generated images alone (CamStyle: 0.1)"),
    ("--ranker-fit", "run.ranker_fit", dict(choices=RANKER_FITS),
     "what XQDA and KISSME fit on: every image the model trained on, or the real ones alone"),
    ("--foreground-weight", "generator.foreground_weight", dict(type=float, metavar="W"),
     "the GAN loop's L1 inside the target's body mask (PG2's pose-mask loss)"),
    ("--identity-weight", "generator.identity_weight", dict(type=float, metavar="W"),
     "the frozen real-only IDE's cross-entropy of generated images as their source person"),
    ("--identity-feature-weight", "generator.identity_feature_weight", dict(type=float, metavar="W"),
     "1 - cosine of that IDE's features of the generated and the real target image"),
    ("--region-colour-weight", "generator.region_colour_weight", dict(type=float, metavar="W"),
     "L1 of the colour mean and deviation inside each region of the target's parsing (generated vs real)"),
    ("--identity-jitter", "generator.identity_jitter", dict(type=float, metavar="J"),
     "the identity terms score a random view of each generated image (flip, scale and shift by J, blur)"),
)


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
                     help=f"{', '.join(PRESETS)} (default: quick without a GPU; with one synth-gpu without "
                          "--data, market or deepfashion by the --data folder)")
    run.add_argument("--seeds", default="1", help="comma-separated seeds, e.g. 1,2,3 (default 1)")
    run.add_argument("--out", type=checks.folder("--out"), default="results",
                     help="folder of results.csv, run records and figures")
    run.add_argument("--trainers", default="ide,siamese", help="ide, siamese or both (default)")
    run.add_argument("--rerank", action="store_true", help="also k-reciprocal re-ranking of every protocol")
    run.add_argument("--generator-checkpoint", default=None, help="a trained generator.pt instead of training one")
    run.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", dest="overrides",
                     help="override any preset field, typed by its declaration: generator.steps=500, reid.epochs=12, "
                          "accel.amp=off, run.poses=kmeans, model.blocks=3 (repeatable; reid_bench/presets.py)")
    run.add_argument("--no-recipe", action="store_true",
                     help="every recipe lever off, the paper's pipeline (the flags below then turn single levers on)")
    run.add_argument("--reid-epochs", type=checks.count("--reid-epochs"), default=None,
                     help="the Re-ID models' epochs, the lr decay kept at the same share of training")
    for flag, field, options, text in ALIASES:
        run.add_argument(flag, default=None, dest=_dest(flag), help=f"{text} (= --set {field}=...)", **options)
    run.add_argument("--backbone-weights", default=None, help="ImageNet weights of the Re-ID backbone")
    run.add_argument("--vgg-weights", default=None, help="VGG-19 weights for the perceptual loss")
    run.add_argument("--device", type=checks.device, default=None,
                     help="cpu, cuda, cuda:1 (default: cuda when available)")
    run.add_argument("--profile", action="store_true",
                     help="write where the time went, step by step, to OUT/profile.csv and print the largest steps")
    run.add_argument("--plan", action="store_true",
                     help="print what the run would do (dataset, steps of each stage, images, result rows, preset "
                          "values) and its time on this device from a few timed steps, without training")
    run.add_argument("--no-estimate", action="store_true",
                     help="start without timing one step of each network first (the estimated time it prints)")
    run.add_argument("--plan-steps", type=int, default=DEFAULT_TIMED_STEPS, metavar="N",
                     help=f"--plan: steps of each network timed after one warm-up step (default "
                          f"{DEFAULT_TIMED_STEPS}; 0: no time estimate)")
    run.set_defaults(handler=_run)


def parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ReidBenchError(f"--seeds {text!r} is not a comma-separated list of integers, e.g. 1,2,3.") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ReidBenchError(f"--seeds {text!r} must name at least one seed, each once.")
    return seeds


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _run(args: argparse.Namespace) -> int:
    trainers = tuple(part.strip() for part in args.trainers.split(",") if part.strip())
    if not trainers or set(trainers) - set(TRAINERS):
        raise ReidBenchError(f"--trainers {args.trainers!r}: use ide, siamese or ide,siamese.")
    aliases = [f"{field}={getattr(args, _dest(flag))}" for flag, field, _, _ in ALIASES
               if getattr(args, _dest(flag)) is not None]
    wants_model = any(item.startswith("model.") for item in args.overrides) and args.generator != "none"
    model_types = generators.get(args.generator).option_types() if wants_model else {}
    off = levers_off() if args.no_recipe else []
    overrides = parse_overrides(off + aliases + args.overrides, RUN_SECTIONS, model_types, command="run")
    request = RunRequest(
        generator=args.generator, factor=args.factor, data=args.data, preset=args.preset,
        seeds=parse_seeds(args.seeds), out=Path(args.out), rerank=args.rerank, trainers=trainers,
        generator_checkpoint=args.generator_checkpoint, overrides=overrides, reid_epochs=args.reid_epochs,
        backbone_weights=args.backbone_weights, vgg_weights=args.vgg_weights, device=args.device,
        profile=args.profile,
    )
    if args.plan:
        print(plan_run(request, args.plan_steps, processes=args.nproc))
        return 0
    if distributed.world_size() == 1 and not args.no_estimate:
        estimate = start_estimate(request)
        if estimate:
            print(estimate, flush=True)
    summary = run(request)
    if not distributed.is_main():  # rank 0 reports for every process of a torchrun launch
        return 0
    print(write_report(summary, request))
    if args.profile:
        print(summary.profile.summary())
        print(f"profile written to {summary.profile.write(request.out / 'profile.csv')}")
    return 0
