"""``reid-bench compare`` and ``reid-bench tables``."""

from __future__ import annotations

import argparse
import sys

from reid_bench import checks
from reid_bench.results import compare_rows, format_comparison, read_rows
from reid_bench.results.table_files import write_tables


def register(subparsers: argparse._SubParsersAction) -> None:
    compare = subparsers.add_parser("compare", help="row-by-row differences of two Re-ID results CSVs")
    compare.add_argument("a", metavar="A.csv", help="results CSV (differences are A - B)")
    compare.add_argument("b", metavar="B.csv", help="results CSV")
    compare.add_argument("--by", choices=("row", "generator"), default="row",
                         help="row: match on dataset, generator, factor, trainer, ranker, seed (default); "
                              "generator: compare A's generator with B's, matching on dataset, trainer, ranker, seed")
    compare.set_defaults(handler=_compare)

    tables = subparsers.add_parser(
        "tables", help="the Re-ID augmentation table (and Table 1 for image-quality rows) as Markdown, LaTeX, CSV")
    tables.add_argument("results", nargs="+", metavar="RESULTS", help="results CSVs or folders of them")
    tables.add_argument("--out", type=checks.folder("--out"), default=None,
                        help="output folder (default: tables/ beside the first input)")
    tables.add_argument("--published", default=None,
                        help="published numbers CSV "
                             "(default: the one reid-bench ships, unless one is among the inputs)")
    tables.set_defaults(handler=_tables)


def _compare(args: argparse.Namespace) -> int:
    comparison = compare_rows(read_rows(args.a), read_rows(args.b), by=args.by, names=(args.a, args.b))
    print(format_comparison(comparison, args.a, args.b))
    return 0


def _tables(args: argparse.Namespace) -> int:
    report = write_tables(args.results, out=args.out, published=args.published)
    print(report.markdown)
    for path in report.skipped:
        print(f"reid-bench: skipped {path}: not a results, image-quality or published CSV", file=sys.stderr)
    for path in report.written:
        print(f"wrote {path}", file=sys.stderr)
    return 0
