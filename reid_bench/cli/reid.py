"""``reid-bench train-reid`` and ``reid-bench evaluate``.

``train-reid`` runs unchanged under ``torchrun --nproc_per_node=N -m reid_bench train-reid ...``
(or ``reid-bench --nproc N train-reid ...``); only rank 0 logs, warns and prints.
"""

from __future__ import annotations

import argparse
import logging
import warnings

from reid_bench import checks, distributed, presets
from reid_bench.data import load_dataset
from reid_bench.errors import ReidBenchError
from reid_bench.evaluation.protocols import evaluate_trained
from reid_bench.presets import PRESETS, RANKER_FITS, parse_overrides, preset_ranker_fit
from reid_bench.profiling import Profile
from reid_bench.reid import TRAINERS, load_checkpoint, train_reid
from reid_bench.results.plots import add_cmc, cmc_path
from reid_bench.results.rows import append_rows, check_destination
from reid_bench.results.tables import format_ranker_table


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train-reid", help="train an IDE or Siamese Re-ID model (resumes if interrupted)")
    train.add_argument("--data", required=True, help="dataset folder (Market-1501, SynthPeople or DeepFashion layout)")
    train.add_argument("--trainer", choices=tuple(TRAINERS), default="ide")
    train.add_argument("--preset", default="quick",
                       help=f"{', '.join(PRESETS)}: the Re-ID settings of that run preset (default quick: CPU)")
    train.add_argument("--backbone", default=None,
                       help="resnet50, resnet18, tiny, torchvision:<model> or torchreid:<model> "
                            "(default: the preset's: resnet50 for market/deepfashion, resnet18 for quick)")
    train.add_argument("--backbone-weights", default=None, help="ImageNet weights file (else the torch hub cache)")
    train.add_argument("--epochs", type=checks.count("--epochs"), default=None,
                       help="the preset's epochs, its lr decay kept at the same share of training")
    train.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", dest="overrides",
                       help="override any setting, typed by its declaration: reid.sampler=pk, reid.bn_neck=true, "
                            "accel.amp=off, accel.sync_bn=true (repeatable; reid_bench/presets.py)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--profile", action="store_true",
                       help="write where the time went (data, forward, backward, optimiser, checkpoints) "
                            "to profile.csv beside checkpoint.pt")
    train.add_argument("--device", type=checks.device, default=None,
                       help="cpu, cuda, cuda:1 (default: cuda when available)")
    train.add_argument("--out", type=checks.folder("--out"), default=None,
                       help="run folder for checkpoint.pt (default: $REID_BENCH_CACHE/reid/<config hash>)")
    train.set_defaults(handler=_train)

    evaluate = subparsers.add_parser("evaluate", help="rank a dataset's query against its gallery with a trained model")
    evaluate.add_argument("--data", required=True, help="dataset folder")
    evaluate.add_argument("--checkpoint", required=True, help="checkpoint.pt written by train-reid")
    evaluate.add_argument("--ranker", default="euclidean", help="comma-separated rankers, e.g. euclidean,xqda,kissme")
    evaluate.add_argument("--device", type=checks.device, default=None,
                          help="cpu, cuda, cuda:1 (default: cuda when available)")
    evaluate.add_argument("--out", type=checks.file("--out", "give the path of a results CSV to append the rows to"),
                          default=None, help="results CSV to append the rows to")
    evaluate.add_argument("--ranker-fit", choices=RANKER_FITS, default=None,
                          help="what learned rankers fit on: every image the model trained on (trained) or the "
                               "real ones (real); default: what reid-bench run does under the model's preset")
    evaluate.add_argument("--allow-partial", action="store_true",
                          help="evaluate a checkpoint whose training has not finished (its rows are marked partial)")
    evaluate.set_defaults(handler=_evaluate)


def _train(args: argparse.Namespace) -> int:
    main = distributed.is_main()
    profile = Profile(enabled=args.profile)
    logging.basicConfig(level=logging.INFO if main else logging.WARNING, format="%(message)s")
    overrides = parse_overrides(args.overrides, ("reid", "accel"), command="train-reid")
    settings = overrides.apply(presets.get(args.preset)).reid.with_epochs(args.epochs).replace(backbone=args.backbone)
    dataset = load_dataset(args.data)
    meta = {"dataset": dataset.kind, "generator": "none", "factor": 1,
            "n_real": len(dataset.train), "n_generated": 0}
    with warnings.catch_warnings():
        if not main:
            warnings.simplefilter("ignore")
        trained = train_reid(dataset.train, args.trainer, settings, args.out, backbone_weights=args.backbone_weights,
                             seed=args.seed, meta=meta, device=args.device, progress=True, profile=profile)
    if not main:
        return 0
    if args.profile:
        print(profile.summary())
        print(f"profile written to {profile.write(trained.path.parent / 'profile.csv')}")
    print(f"checkpoint: {trained.path}")
    print(f"trainer {trained.trainer}, backbone {trained.backbone}, pretrained {str(trained.pretrained).lower()}, "
          f"{trained.epoch} epochs, {trained.train_wall_s:.0f} s of training")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    names = [name.strip() for name in args.ranker.split(",") if name.strip()]
    if not names:
        raise ReidBenchError("--ranker names no ranker; give e.g. euclidean,xqda,kissme.")
    if args.out:
        check_destination(args.out)  # a folder or a foreign CSV is refused before the features are computed
    dataset = load_dataset(args.data)
    trained = load_checkpoint(args.checkpoint, device=args.device)
    rows, curves = evaluate_trained(trained, dataset, names, device=args.device, progress=True,
                                    allow_partial=args.allow_partial,
                                    ranker_fit=args.ranker_fit or preset_ranker_fit(trained.settings.preset))
    length = f"{trained.epoch} epochs" if trained.finished else f"partial: {trained.partial_note()}"
    print(f"{rows[0]['dataset']}, {trained.trainer} on {trained.backbone} "
          f"(pretrained {rows[0]['pretrained']}, {length}, seed {trained.seed}); percentages:")
    print(format_ranker_table(rows))
    if args.out:
        appended = append_rows(args.out, rows)
        if appended:  # CMC curves of this model, keyed by ranker, beside the CSV
            add_cmc(cmc_path(args.out, appended[0]), curves)
        print(f"{len(appended)} rows appended to {args.out}"
              + (f" ({len(rows) - len(appended)} were already there)" if len(appended) < len(rows) else ""))
    return 0
