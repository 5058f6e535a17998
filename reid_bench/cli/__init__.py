"""The ``reid-bench`` command: parses arguments and calls the library, nothing more.

Each sub-module adds its sub-commands through ``register(subparsers)``; every value a flag takes is
checked while the arguments are parsed (:mod:`reid_bench.checks`), before any work. ``main`` turns a
:class:`~reid_bench.errors.ReidBenchError` (and a full disk) into one line on stderr and exit
status 2, and Ctrl-C into one line saying what was kept (exit status 130).
``reid-bench --nproc N run|train-reid|train-generator ...`` runs that command in N processes: it
re-executes itself through ``python -m torch.distributed.run --standalone --nproc_per_node N -m
reid_bench ...`` (torchrun on one machine), exactly as a user may launch it by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings

from reid_bench import __version__, distributed
from reid_bench.cli import data as data_commands
from reid_bench.cli import generators as generator_commands
from reid_bench.cli import quality as quality_commands
from reid_bench.cli import reid as reid_commands
from reid_bench.cli import results as results_commands
from reid_bench.cli import run as run_commands
from reid_bench.errors import ReidBenchError
from reid_bench.storage import DISK_FULL, disk_full_message

COMMAND_MODULES = [run_commands, data_commands, generator_commands, reid_commands, quality_commands, results_commands]
DISTRIBUTED_COMMANDS = ("run", "train-reid", "train-generator")  # the commands that train under torchrun


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reid-bench",
        description="Pose-guided person generation as Re-ID data augmentation: SAN and baselines.",
    )
    parser.add_argument("--version", action="version", version=f"reid-bench {__version__}")
    parser.add_argument("--nproc", type=int, default=1, metavar="N",
                        help="train in N processes on this machine through torchrun (DDP; gloo on the CPU, "
                             f"NCCL on GPUs); for {', '.join(DISTRIBUTED_COMMANDS)}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def launch_command(nproc: int, argv: list[str]) -> list[str]:
    """The torchrun command that runs ``reid-bench argv`` (without ``--nproc``) in ``nproc`` processes."""
    rest, skip = [], False
    for token in argv:
        if skip or token.startswith("--nproc="):
            skip = False
            continue
        skip = token == "--nproc"
        if not skip:
            rest.append(token)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "reid_bench", *rest]


def _launch(args: argparse.Namespace, argv: list[str]) -> int:
    if args.command not in DISTRIBUTED_COMMANDS:
        raise ReidBenchError(f"--nproc applies to {', '.join(DISTRIBUTED_COMMANDS)} only; "
                             f"drop it for {args.command}.")
    if args.nproc < 1:
        raise ReidBenchError(f"--nproc {args.nproc} is not a number of processes; give 1 or more.")
    if "WORLD_SIZE" in os.environ:
        raise ReidBenchError("--nproc was given inside a torchrun launch; use one of --nproc and torchrun.")
    return subprocess.call(launch_command(args.nproc, argv))


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line, without the source line Python would print under it."""
    print(f"reid-bench: warning: {message}", file=sys.stderr)


# Said on Ctrl-C when the interrupted code did not say what it kept (KeyboardInterrupt's message).
INTERRUPTED = ("interrupted; every output finished before the interrupt (checkpoints, images, rows) is kept, "
               "the work since the last of them is not, and a rerun of the same command continues from them.")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    warnings.showwarning = _show_warning
    warnings.filterwarnings("once", category=UserWarning, module="reid_bench")  # e.g. missing weights: once
    try:
        args = build_parser().parse_args(argv)
        if args.nproc != 1 and not getattr(args, "plan", False):  # a plan runs here, once, for N processes
            return _launch(args, argv)
        status = int(args.handler(args) or 0)
        distributed.leave()
        return status
    except ReidBenchError as error:
        print(f"reid-bench: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno not in DISK_FULL:
            raise
        print(f"reid-bench: error: {disk_full_message(error.filename)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        print(f"reid-bench: {str(interrupt) or INTERRUPTED}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
