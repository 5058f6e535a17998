"""Atomic outputs and the cache folder (DESIGN.md, "Caches and runs").

Every expensive output is written under a temporary name beside its final path and renamed when
complete, so an interrupted run never leaves a file or folder that a later run would trust.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from reid_bench.errors import ReidBenchError


def cache_root() -> Path:
    """``$REID_BENCH_CACHE``, else ``~/.cache/reid-bench``."""
    return Path(os.environ.get("REID_BENCH_CACHE", Path.home() / ".cache" / "reid-bench"))


def config_hash(config: object, length: int = 12) -> str:
    """A short, stable hash of a JSON-serialisable config (keys sorted)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Works for a file or a folder written at the yielded path. On error the temporary is removed
    and ``path`` is left as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


LOCK_NAME = ".reid-bench.lock"


@contextlib.contextmanager
def exclusive_folder(folder: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold ``folder``'s lock file while a process writes ``what`` into it.

    A second process that tries to write into the same folder at the same time (two commands with
    the same ``--out``, or one identical config twice) stops with one sentence instead of
    interleaving checkpoints. The lock is an advisory ``flock``, released with its process, so a
    killed run leaves at most an unlocked, empty-of-meaning lock file; a finished one removes it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process is writing"
            raise ReidBenchError(f"{folder} is in use: {holder} into it; wait for it to finish or give "
                                 f"another --out for {what}.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} is writing {what}")
        handle.flush()
        try:
            yield folder
        finally:
            (folder / LOCK_NAME).unlink(missing_ok=True)  # still held: no other process is inside
            fcntl.flock(handle, fcntl.LOCK_UN)
