"""The ``reid-bench`` command: parses arguments and calls the library, nothing more.

Each sub-module adds its sub-commands through ``register(subparsers)``; ``main`` turns a
:class:`~reid_bench.errors.ReidBenchError` into one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from reid_bench import __version__
from reid_bench.cli import data as data_commands
from reid_bench.cli import generators as generator_commands
from reid_bench.cli import quality as quality_commands
from reid_bench.cli import reid as reid_commands
from reid_bench.cli import results as results_commands
from reid_bench.cli import run as run_commands
from reid_bench.errors import ReidBenchError

COMMAND_MODULES = [run_commands, data_commands, generator_commands, reid_commands, quality_commands, results_commands]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reid-bench",
        description="Pose-guided person generation as Re-ID data augmentation: SAN and baselines.",
    )
    parser.add_argument("--version", action="version", version=f"reid-bench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ReidBenchError as error:
        print(f"reid-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reid-bench: interrupted; completed steps are kept and a rerun resumes.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
