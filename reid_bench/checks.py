"""One validator for what a user passes: devices, whole numbers, choices and output paths.

It sits in the bottom (infrastructure) layer, so every layer can use it (DESIGN.md, "Layers").
Each command's flags go through it as argparse ``type=`` functions (:func:`count`, :func:`device`,
:func:`one_of`, :func:`folder`, :func:`file`) that raise
:class:`~reid_bench.errors.ReidBenchError`, so a bad value ends in one sentence before any work
starts. The library's entry points call the same checks: :func:`at_least` in the settings
dataclasses (so ``--set generator.batch_size=-3`` fails as ``--batch-size -3`` does),
:func:`output_folder` for the cache root, :func:`reid_bench.accel.pick_device` for every device.

An output path is checked without writing anything that stays: a folder path must not name a
file, a file path must not name a folder, and the nearest folder that exists must let a folder be
made in it (tried with a temporary one, removed at once: ``os.access`` says yes under ``/proc``).
"""

from __future__ import annotations

import numbers
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from reid_bench import accel
from reid_bench.errors import ReidBenchError

FOLDER_FIX = "give a folder path (it is created if absent)"
FILE_FIX = "give the path of a file to write"


def at_least(value: object, minimum: int, name: str) -> int:
    """``value`` if it is a whole number of at least ``minimum``, else one sentence naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ReidBenchError(f"{name} {value!r} is not a whole number; give {minimum} or more.")
    if value < minimum:
        raise ReidBenchError(f"{name} {value} is below {minimum}; give a whole number of {minimum} or more.")
    return int(value)


def count(flag: str, minimum: int = 1) -> Callable[[str], int]:
    """An argparse type: ``flag``'s text as a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ReidBenchError(f"{flag} {text!r} is not a whole number; give {minimum} or more.") from None
        return at_least(value, minimum, flag)

    return parse


def one_of(flag: str, choices: Sequence[str]) -> Callable[[str], str]:
    """An argparse type: ``flag``'s text if it is one of ``choices``."""

    def parse(text: str) -> str:
        if text not in choices:
            raise ReidBenchError(f"{flag} {text!r} is not one of {', '.join(choices)}; give one of them.")
        return text

    return parse


def device(text: str) -> str:
    """An argparse type: a device name that this machine has (:func:`reid_bench.accel.pick_device`)."""
    accel.pick_device(text)
    return text


def folder(flag: str, fix: str = FOLDER_FIX) -> Callable[[str], str]:
    """An argparse type: an output folder path (:func:`output_folder`)."""
    return lambda text: str(output_folder(text, flag, fix))


def file(flag: str, fix: str = FILE_FIX) -> Callable[[str], str]:
    """An argparse type: an output file path (:func:`output_file`)."""
    return lambda text: str(output_file(text, flag, fix))


def output_folder(path: str | os.PathLike, what: str, fix: str = FOLDER_FIX) -> Path:
    """``path`` if a folder can be written there (module docstring); ``what`` names it in the error."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ReidBenchError(f"{what} {path} is a file, not a folder; {fix}.")
    problem = _cannot_create_in(path)
    if problem:
        raise ReidBenchError(f"{what} {path} cannot be created or written: {problem}; {fix}.")
    return path


def output_file(path: str | os.PathLike, what: str, fix: str = FILE_FIX) -> Path:
    """``path`` if a file can be written there (module docstring); ``what`` names it in the error."""
    path = Path(path)
    if path.is_dir():
        raise ReidBenchError(f"{what} {path} is a folder, not a file; {fix}.")
    problem = _cannot_create_in(path.parent)
    if problem:
        raise ReidBenchError(f"{what} {path} cannot be written: {problem}; {fix}.")
    return path


def _cannot_create_in(folder: Path) -> str | None:
    """Why ``folder`` (made with its parents if absent) could not hold new files, or None."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".reid-bench-probe-", dir=existing))
    except OSError as error:
        return f"{error.strerror or error} in {existing}"
    return None
