"""Atomic outputs, locks, torch files and the cache folder (DESIGN.md, "Caches and runs").

Every expensive output is written under a temporary name beside its final path and renamed when
complete (:func:`atomic_path`), so an interrupted run never leaves a file or folder that a later run
would trust. Nothing is deleted that the suite did not create: a folder standing at the final path
is refused with one sentence, never replaced (a file there is replaced by the rename, atomically).
A full disk ends in one sentence naming the file, and the temporary is removed.

Two kinds of lock, both advisory ``flock`` locks on a lock file, released with their process:

- :func:`exclusive_folder`: a process writing into a folder (a model's checkpoints) holds it, and a
  second process that wants the same folder stops at once with one sentence;
- :func:`locked`: a read-modify-write of one file (a results CSV that several runs append to)
  holds ``.NAME.lock`` beside it; a second writer waits its turn, so no row is lost.

A released lock file is deleted. A process that opened it before that gets its lock on a deleted
file, so every acquirer checks, once it holds the lock, that the path still names the file it
locked, and starts again if not: two processes never both believe they hold one lock.

Torch files are read by :func:`load_torch_file` alone (tensors and plain values only, never code)
and written by :func:`save_torch_file`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import IO, Any, Iterator

import torch

from reid_bench import checks
from reid_bench.errors import ReidBenchError

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # "no space left" and "disk quota exceeded"


def cache_root() -> Path:
    """``$REID_BENCH_CACHE``, else ``~/.cache/reid-bench``; one sentence if it cannot be a folder there."""
    given = os.environ.get("REID_BENCH_CACHE")
    if not given:
        return checks.output_folder(Path.home() / ".cache" / "reid-bench", "the cache folder",
                                    "set REID_BENCH_CACHE to a writable folder")
    return checks.output_folder(Path(given), "REID_BENCH_CACHE",
                                "set REID_BENCH_CACHE to a writable folder, or unset it for ~/.cache/reid-bench")


def config_hash(config: object, length: int = 12) -> str:
    """A short, stable hash of a JSON-serialisable config (keys sorted)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def disk_full_message(path: str | os.PathLike | None) -> str:
    """The sentence for a write that failed because the disk (or the user's quota) is full."""
    where = f"while writing {path}" if path else "while writing"
    return (f"the disk is full {where} (no space left, or the disk quota is used up); nothing half-written was "
            "kept: free some space and rerun the same command, which continues from what was completed.")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Works for a file or a folder written at the yielded path. A file already at ``path`` is replaced;
    a folder there is refused (before the block runs, and again before the rename), since it may
    hold anything. On error the temporary is removed and ``path`` is left as it was.
    """
    final = Path(path)
    _refuse_folder(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        _refuse_folder(final)
        if tmp.is_dir() and (final.exists() or final.is_symlink()):
            raise ReidBenchError(f"{final} is a file, and reid-bench writes a folder there only where nothing is; "
                                 "give another path, or move that file away.")
        os.replace(tmp, final)
    except OSError as error:
        if error.errno in DISK_FULL:
            raise ReidBenchError(disk_full_message(final)) from None
        raise
    finally:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists() or tmp.is_symlink():
            tmp.unlink()


def _refuse_folder(final: Path) -> None:
    if final.is_dir():
        raise ReidBenchError(f"{final} is an existing folder, which reid-bench never replaces or deletes; "
                             "give another path, or move that folder away.")


def save_torch_file(state: Any, path: str | os.PathLike) -> Path:
    """``torch.save(state)`` into ``path`` atomically; a full disk is one sentence naming ``path``.

    torch writes through a Python file here, whose flush reports ``ENOSPC`` as such (torch's own file
    writer turns it into an unrelated position mismatch).
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(state, handle)
    return Path(path)


def load_torch_file(path: str | os.PathLike, what: str, fix: str) -> Any:
    """The contents of the torch file at ``path``, read on the CPU with ``weights_only=True``.

    ``what`` names what the file should be ("a generator checkpoint") and ``fix`` what to do
    ("pass the generator.pt that `reid-bench train-generator` writes"). A missing, truncated or
    foreign file, or one that would need arbitrary code to load, is one sentence with both; torch's
    own advice (to load it with ``weights_only=False``, which runs code from the file) is never shown,
    nor its warnings while reading.
    """
    path = Path(path)
    if not path.is_file():
        raise ReidBenchError(f"{path} does not exist or is not a file; {fix}.")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles, with the same advice: not for users
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # truncated zip, random bytes, pickled code: all mean "not this file"
        raise ReidBenchError(f"{path} is corrupt or not a torch file of plain tensors (it could not be read), "
                             f"so it cannot be read as {what}; {fix}.") from None


# ---- locks --------------------------------------------------------------------------------------

LOCK_NAME = ".reid-bench.lock"


def _lock(lock_path: Path, blocking: bool) -> IO[str] | None:
    """An open handle of ``lock_path`` holding its exclusive ``flock``; ``None`` if another process
    holds it and ``blocking`` is False. The lock holds only while ``lock_path`` still names the file
    locked (module docstring), so a lock won on a file its holder has just deleted is taken again."""
    while True:
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.close()
            return None
        try:
            current = os.stat(lock_path)
        except FileNotFoundError:
            current = None
        held = os.fstat(handle.fileno())
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            return handle
        handle.close()  # the holder deleted it before releasing: lock the file that is there now


def _unlock(handle: IO[str], lock_path: Path) -> None:
    """Delete ``lock_path`` while still holding it (no other process is inside), then release it."""
    try:
        lock_path.unlink(missing_ok=True)
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@contextlib.contextmanager
def exclusive_folder(folder: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold ``folder``'s lock file while a process writes ``what`` into it.

    A second process that tries to write into the same folder at the same time (two commands with
    the same ``--out``, or one identical config twice) stops with one sentence instead of
    interleaving checkpoints. The lock is released with its process, so a killed run leaves at most
    an unlocked, empty-of-meaning lock file; a finished one removes it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / LOCK_NAME
    handle = _lock(lock_path, blocking=False)
    if handle is None:
        try:
            holder = lock_path.read_text().strip()
        except FileNotFoundError:
            holder = ""
        raise ReidBenchError(_busy_message(folder, holder or "another process is writing", what))
    handle.truncate(0)
    handle.write(f"process {os.getpid()} is writing {what}")
    handle.flush()
    try:
        yield folder
    finally:
        _unlock(handle, lock_path)


def _busy_message(folder: Path, holder: str, what: str) -> str:
    if _inside(folder, cache_root()):
        return (f"{folder} is in use: {holder} into it; it is the cache folder of this exact configuration, so "
                f"wait for that process to finish and rerun, which then reuses {what} it wrote.")
    return (f"{folder} is in use: {holder} into it; wait for it to finish or give another --out "
            f"for {what}.")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[Path]:
    """Hold ``.NAME.lock`` beside ``path`` for a read-modify-write of ``path``; other writers wait.

    Every writer of a file that several processes may update at once (a results CSV two runs append
    to) reads and rewrites it inside this block, so each sees the rows the one before it wrote.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}.lock")
    handle = _lock(lock_path, blocking=True)  # waits: never None
    try:
        yield path
    finally:
        _unlock(handle, lock_path)
