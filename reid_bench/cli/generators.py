"""``reid-bench train-generator`` and ``reid-bench generate``.

``train-generator`` runs unchanged under ``torchrun --nproc_per_node=N -m reid_bench train-generator
...`` (or ``reid-bench --nproc N train-generator ...``); only rank 0 prints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reid_bench import checks, distributed, generators, presets
from reid_bench.data import PoseTransferPairs, load_dataset, read_pairs_csv
from reid_bench.data.inputs import input_sources
from reid_bench.generators.generate import generate
from reid_bench.generators.run_config import configure_guided
from reid_bench.generators.training import loop_needs, train
from reid_bench.presets import PRESETS, Overrides, parse_overrides
from reid_bench.profiling import Profile
from reid_bench.reid import load_checkpoint
from reid_bench.reid.guide import IdentityGuide
from reid_bench.run.pipeline import GUIDE_SEED, Experiment, RunRequest


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train-generator", help="train a pose-guided generator (SAN or a baseline)")
    train.add_argument("--generator", default="san", help="registry name (default: san)")
    train.add_argument("--data", required=True, help="dataset folder (Market-1501 layout with pairs CSVs)")
    train.add_argument("--preset", default="quick",
                       help=f"{', '.join(PRESETS)}: the generator settings of that run preset "
                            "(default quick: CPU, SynthPeople)")
    train.add_argument("--steps", type=checks.count("--steps"), default=None,
                       help="total iterations (default: the preset's)")
    train.add_argument("--batch-size", type=checks.count("--batch-size"), default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", dest="overrides",
                       help="override any setting, typed by its declaration: "
                            "model.blocks=3 (an option of the generator), "
                            "generator.lr=1e-4, accel.compile=default, accel.sync_bn=true (repeatable; "
                            "reid_bench/presets.py)")
    train.add_argument("--out", type=checks.folder("--out"), default=None,
                       help="output folder (default: the cache, printed)")
    train.add_argument("--vgg-weights", default=None,
                       help="torchvision's vgg19-dcbb9e9d.pth, if not in the torch hub cache")
    train.add_argument("--identity-model", default=None, metavar="CHECKPOINT",
                       help="a train-reid checkpoint of real images: the frozen network of the identity term "
                            "(--set generator.identity_weight=W / generator.identity_feature_weight=W)")
    train.add_argument("--device", type=checks.device, default="auto", help="auto, cpu, cuda or cuda:N")
    train.add_argument("--stop-at", type=checks.count("--stop-at"), default=None,
                       help="stop after this step with a checkpoint; rerun to continue")
    train.add_argument("--profile", action="store_true",
                       help="write where the time went (data, each part of a step, samples, checkpoints) "
                            "to OUT/profile.csv")
    train.set_defaults(handler=_train)

    gen = subparsers.add_parser("generate", help="generate the images of a pairs CSV with a trained generator")
    gen.add_argument("--generator", default=None, help="expected registry name (checked against the checkpoint)")
    gen.add_argument("--checkpoint", required=True, help="generator.pt written by train-generator")
    gen.add_argument("--pairs", required=True, help="CSV with header from,to")
    gen.add_argument("--data", required=True, help="dataset folder holding the images of the pairs")
    gen.add_argument("--out", type=checks.folder("--out"), required=True,
                     help="output folder for <from>___<to>.png (stems, no .jpg)")
    gen.add_argument("--batch-size", type=checks.count("--batch-size"), default=16)
    gen.add_argument("--device", type=checks.device, default="auto", help="auto, cpu, cuda or cuda:N")
    gen.add_argument("--allow-partial", action="store_true",
                     help="accept a checkpoint of unfinished training (checkpoints/latest.pt) instead of generator.pt")
    gen.set_defaults(handler=_generate)


def _identity_guide(args: argparse.Namespace, overrides: Overrides) -> IdentityGuide:
    """The identity term's frozen network (asked for only when the settings turn the term on, as quick's do):
    --identity-model, else the real-only IDE ``reid-bench run`` trains for it (seed ``GUIDE_SEED``; from the cache,
    or trained now)."""
    if args.identity_model:
        return IdentityGuide(load_checkpoint(args.identity_model))
    request = RunRequest(generator="none", factor=1, data=args.data, preset=args.preset, overrides=overrides,
                         device=None if args.device == "auto" else args.device)
    print(f"identity term: the real-only IDE that reid-bench run trains for it (seed {GUIDE_SEED}), from the cache or "
          "trained now; give --identity-model CHECKPOINT for another")
    return IdentityGuide(Experiment(request).guide_ide())


def _train(args: argparse.Namespace) -> int:
    wants_model = any(item.startswith("model.") for item in args.overrides)
    model_types = generators.get(args.generator).option_types() if wants_model else {}
    overrides = parse_overrides(args.overrides, ("generator", "accel", "model"), model_types, command="train-generator")
    settings = overrides.apply(presets.get(args.preset)).generator
    dataset = load_dataset(args.data)
    needs = generators.get(args.generator).needs | loop_needs(settings)
    inputs = input_sources(dataset, "train", needs)
    size = settings.image_size
    who = generators.title(args.generator)
    pairs = PoseTransferPairs(dataset, split="train", needs=needs, image_size=size, who=who)  # missing inputs stop here
    shown = PoseTransferPairs(dataset, split="test", needs=needs, image_size=size) \
        if dataset.pairs_path("test") is not None else None

    config, guide = configure_guided(
        args.generator, lambda: _identity_guide(args, overrides), data=str(Path(args.data).resolve()),
        preset=settings, options=overrides.section("model"), vgg_weights=args.vgg_weights, steps=args.steps,
        batch_size=args.batch_size, seed=args.seed, inputs=inputs)
    out = args.out or config.default_out()
    main = distributed.is_main()
    if main:
        print(f"training {args.generator} ({config.settings.preset} preset, {config.settings.length(len(pairs))}, "
              f"perceptual {config.perceptual}, identity term {config.identity}) into {out}")
        for key, value in inputs.items():
            print(f"  {key} from {value} (a stand-in, recorded in run.json and the checkpoint's config)")
        if pairs.skipped:
            print(f"  {pairs.skipped_note()}")
    profile = Profile(enabled=args.profile)
    result = train(config, pairs, out, sample_pairs=shown if shown else None, device=args.device,
                   stop_at=args.stop_at, profile=profile, guide=guide)
    if not main:
        return 0
    if args.profile:
        print(profile.summary())
        print(f"profile written to {profile.write(Path(out) / 'profile.csv')}")
    state = "finished" if result.finished else f"stopped at step {result.step}; rerun to continue"
    print(f"{state}: {result.step}/{result.total_steps} steps in {result.out} (losses: {result.losses})")
    return 0


def _generate(args: argparse.Namespace) -> int:
    model = generators.load(args.checkpoint, args.generator, allow_partial=args.allow_partial)
    size = model.meta.get("image_size")
    pairs = PoseTransferPairs(load_dataset(args.data), needs=model.needs, image_size=tuple(size) if size else None,
                              pairs=read_pairs_csv(args.pairs))
    summary = generate(model, pairs, args.out, batch_size=args.batch_size, device=args.device, skipped=pairs.skipped)
    print(summary)
    return 0
