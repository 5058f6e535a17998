"""``--profile``: where the wall-clock time of a long command went, section by section.

A :class:`Profile` sums the seconds spent in named sections (``with profile.section("name")``);
nested sections are named by path (``train ide/backward``). The commands that take ``--profile``
write its table as ``profile.csv`` (section, calls, seconds, seconds per call, share of the whole
command) and print the largest sections. On CUDA each section boundary synchronises the device,
so that the time of queued kernels is charged to the section that launched them (which slows the
run a little: profile a run to learn from it, not to time it).

A disabled profile (the default, :data:`OFF`) costs one attribute check per section.

:func:`time_calls` times a few calls of one step (``run --plan``'s estimates): ``warmup`` calls first,
not counted (the first call of a network allocates memory and picks kernels), then ``timed`` calls,
each ended by a device synchronisation.
"""

from __future__ import annotations

import csv
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import torch

from reid_bench.storage import atomic_path

T = TypeVar("T")
_END = object()


class Profile:
    """Seconds and calls per section path, in order of first entry."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[str] = []
        self._started = time.perf_counter()

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        path = "/".join([*self._stack, name])
        self._stack.append(name)
        _synchronize()
        started = time.perf_counter()
        try:
            yield
        finally:
            _synchronize()
            self._stack.pop()
            self.seconds[path] = self.seconds.get(path, 0.0) + time.perf_counter() - started
            self.calls[path] = self.calls.get(path, 0) + 1

    def iterate(self, iterable: Iterable[T], name: str) -> Iterator[T]:
        """The items of ``iterable``, the wait for each charged to section ``name`` (data loading)."""
        iterator = iter(iterable)
        while True:
            with self.section(name):
                item = next(iterator, _END)
            if item is _END:
                return
            yield item

    def total(self) -> float:
        """Seconds since the profile was created."""
        return time.perf_counter() - self._started

    def rows(self) -> list[dict[str, object]]:
        total = self.total()
        return [{"section": path, "calls": self.calls[path], "seconds": round(seconds, 3),
                 "seconds_per_call": round(seconds / self.calls[path], 4),
                 "share": round(seconds / total, 4) if total > 0 else 0.0}
                for path, seconds in self.seconds.items()]

    def write(self, path: str | os.PathLike) -> Path:
        """``profile.csv`` at ``path`` (atomic); returns the path."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["section", "calls", "seconds", "seconds_per_call", "share"])
            writer.writeheader()
            writer.writerows(self.rows())
        return path

    def summary(self, top: int = 12) -> str:
        """The ``top`` largest sections as text lines."""
        rows = sorted(self.rows(), key=lambda row: -float(row["seconds"]))[:top]
        lines = [f"profile ({self.total():.1f} s in all):"]
        lines += [f"  {row['seconds']:>9.1f} s  {100 * float(row['share']):5.1f}%  "
                  f"{row['calls']:>6} x  {row['section']}"
                  for row in rows]
        return "\n".join(lines)


OFF = Profile(enabled=False)


@dataclass(frozen=True)
class Timing:
    """Seconds of ``timed`` calls of one step after ``warmup`` uncounted calls, each of ``batch`` items."""

    seconds: tuple[float, ...]
    warmup: int
    batch: int

    @property
    def per_call(self) -> float:
        return sum(self.seconds) / len(self.seconds)

    @property
    def per_item(self) -> float:
        return self.per_call / max(1, self.batch)

    def describe(self) -> str:
        shown = ", ".join(f"{value:.3g}" for value in self.seconds)
        return f"{self.per_call:.3g} s (mean of {shown} s; {self.warmup} warm-up call not counted; batch {self.batch})"


def time_calls(step: Callable[[], object], timed: int, warmup: int = 1, batch: int = 1) -> Timing:
    """:class:`Timing` of ``step()`` (module docstring); ``timed`` must be 1 or more."""
    if timed < 1:
        raise ValueError("time_calls needs at least one timed call")
    for _ in range(warmup):
        step()
        _synchronize()
    seconds = []
    for _ in range(timed):
        started = time.perf_counter()
        step()
        _synchronize()
        seconds.append(time.perf_counter() - started)
    return Timing(tuple(seconds), warmup, batch)


def _synchronize() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
