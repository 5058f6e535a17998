"""``reid-bench eval-generator``, ``reid-bench samples`` (the qualitative comparison figure) and
``reid-bench weights``.

Table 1 is rendered by ``reid-bench tables`` (:mod:`reid_bench.cli.results`), which calls
:func:`reid_bench.quality.table.render_table1`.
"""

from __future__ import annotations

import argparse

from reid_bench import checks
from reid_bench.accel import pick_device
from reid_bench.data import read_pairs_csv
from reid_bench.errors import ReidBenchError
from reid_bench.quality.comparison import comparison_figure
from reid_bench.quality.evaluate import QualitySettings, evaluate_checkpoint, evaluate_folder, load_networks
from reid_bench.quality.metric_weights import format_status, weights_status
from reid_bench.quality.protocols import MASK_SOURCES, METRICS, PROTOCOLS
from reid_bench.quality.rows import check_destination, write_rows


def register(subparsers: argparse._SubParsersAction) -> None:
    ev = subparsers.add_parser("eval-generator", help="image-quality metrics of a generator's test images")
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--generated", default=None,
                        help="folder of <from>___<to>.png images (as `reid-bench generate` writes them)")
    source.add_argument("--checkpoint", default=None,
                        help="trained generator.pt: generate the test pairs first, then evaluate them")
    ev.add_argument("--data", required=True, help="dataset folder holding the pairs' real images")
    ev.add_argument("--generator", default=None,
                    help="generator name in the rows (required with --generated; with --checkpoint: checked)")
    ev.add_argument("--pairs", default=None, help="pairs CSV (from,to) (default: the dataset's *pairs-test.csv)")
    ev.add_argument("--out", type=checks.file("--out", "give the path of an image-quality CSV, e.g. quality.csv"),
                    required=True, help="image-quality CSV to write the rows into (kept rows are merged)")
    ev.add_argument("--protocol", default="gfla2020", choices=sorted(PROTOCOLS),
                    help="FID reference: gfla2020 = the training split (GFLA, SAN Table 1), test-targets = the targets")
    ev.add_argument("--metrics", default=",".join(METRICS), help=f"comma-separated, of {','.join(METRICS)}")
    ev.add_argument("--mask", default="keypoints", choices=MASK_SOURCES,
                    help="target body mask of mask-LPIPS/mask-SSIM: keypoints (PG2, GFLA) or parsing")
    ev.add_argument("--inception-weights", default=None,
                    help="pt_inception-2015-12-05-6726825d.pth, if not in the torch hub cache")
    ev.add_argument("--lpips-weights", default=None, help="alexnet-owt-7be5be79.pth, if not in the torch hub cache")
    ev.add_argument("--reid-checkpoint", default=None,
                    help="checkpoint.pt of `reid-bench train-reid` (identity metrics)")
    ev.add_argument("--images-out", type=checks.folder("--images-out"), default=None,
                    help="with --checkpoint: where to write the generated images "
                    "(default: the cache, printed)")
    ev.add_argument("--batch-size", type=checks.count("--batch-size"), default=32)
    ev.add_argument("--resamples", type=checks.count("--resamples"), default=1000,
                    help="bootstrap resamples per interval")
    ev.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    ev.add_argument("--device", type=checks.device, default="auto", help="auto, cpu, cuda or cuda:N")
    ev.set_defaults(handler=_eval_generator)

    samples = subparsers.add_parser("samples", help="the paper's qualitative comparison: source, target pose, "
                                    "target and each generator's image of the same test pairs")
    samples.add_argument("folders", nargs="+", metavar="LABEL=FOLDER",
                         help="a column title and a folder of generated <from>___<to>.png images")
    samples.add_argument("--data", default=None, help="dataset folder of the pairs (default: the embedded SynthPeople)")
    samples.add_argument("--out", type=checks.file("--out", "give the path of the PNG to write"), required=True,
                         help="PNG to write")
    samples.add_argument("--pairs", type=int, default=6, help="rows: test pairs every folder holds (default 6)")
    samples.set_defaults(handler=_samples)

    weights = subparsers.add_parser("weights",
                                    help="list every pretrained file the suite can use and whether it is here")
    weights.add_argument("--inception-weights", default=None, help="check this file as the FID Inception")
    weights.add_argument("--lpips-weights", default=None, help="check this file as LPIPS' AlexNet")
    weights.add_argument("--vgg-weights", default=None, help="check this file as the perceptual loss's VGG-19")
    weights.set_defaults(handler=_weights)


def _samples(args: argparse.Namespace) -> int:
    folders = {}
    for item in args.folders:
        label, _, folder = item.rpartition("=")
        if not label or not folder:
            raise ReidBenchError(f"{item!r} is not LABEL=FOLDER; name each folder's column, e.g. san=generated/san.")
        folders[label] = folder
    print(f"wrote {comparison_figure(args.data, folders, args.out, args.pairs)}")
    return 0


def _eval_generator(args: argparse.Namespace) -> int:
    if args.generated and not args.generator:
        raise ReidBenchError("--generated needs --generator NAME, the generator name written into the rows.")
    check_destination(args.out)  # a folder or a foreign CSV is refused before any metric is computed
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    settings = QualitySettings(protocol=args.protocol, metrics=metrics, mask_source=args.mask,
                               batch_size=args.batch_size, resamples=args.resamples, seed=args.seed)
    device = str(pick_device(args.device))
    networks = load_networks(settings, inception_weights=args.inception_weights, lpips_weights=args.lpips_weights,
                             reid_checkpoint=args.reid_checkpoint, device=device)
    if args.generated:
        pairs = None
        if args.pairs:
            pairs = read_pairs_csv(args.pairs)
        rows = evaluate_folder(args.generated, args.data, args.generator, networks=networks, pairs=pairs,
                               settings=settings, progress=True)
    else:
        rows, folder = evaluate_checkpoint(args.checkpoint, args.data, networks=networks, generator=args.generator,
                                           pairs_csv=args.pairs, out=args.images_out, settings=settings,
                                           device=device, progress=True)
        print(f"generated images: {folder}")
    for row in rows:
        if row.missing:
            print(f"{row.metric}: not computed - {row.weights}")
        else:
            interval = "" if row.ci_low is None else f" [{row.ci_low:.4g}, {row.ci_high:.4g}]"
            print(f"{row.metric}: {row.value:.4g}{interval} over {row.n_pairs} ({row.protocol})")
    print(f"{len(rows)} rows written to {write_rows(args.out, rows)}")
    return 0


def _weights(args: argparse.Namespace) -> int:
    given = {"inception": args.inception_weights, "alexnet": args.lpips_weights, "vgg19": args.vgg_weights}
    print(format_status(weights_status(given)))
    return 0
