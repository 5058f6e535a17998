"""The one seed schedule: every seed a run uses comes from the run's own seed and a counter.

- :func:`derived` ``(seed, index)`` = ``(seed * 1_000_003 + index) mod 2**63``: the torch seed of
  epoch ``index`` of a Re-ID run (its sample order; augmentation and dropout per rank, below), of
  epoch ``index`` of the GAN loop's pair order, and of the per-rank draws of a GAN run resumed at
  step ``index``. The prime keeps the streams of nearby seeds apart, and a resumed run draws what an
  uninterrupted one draws, since nothing depends on how many invocations it took.
- :func:`for_rank` ``(seed, rank)``: ``seed`` on rank 0 and a distinct seed on every other process
  of a torchrun launch (``+ rank * 0x9E3779B97F4A7C15``, an odd 64-bit constant), for the draws each
  process makes on its own share of a batch.
"""

from __future__ import annotations

_PRIME = 1_000_003
_GOLDEN = 0x9E3779B97F4A7C15
_MODULUS = 2**63


def derived(seed: int, index: int) -> int:
    """The seed of item ``index`` (an epoch, a step) of a run seeded ``seed``."""
    return (seed * _PRIME + index) % _MODULUS


def for_rank(seed: int, rank: int) -> int:
    """``seed`` for process ``rank`` (unchanged on rank 0)."""
    return (seed + rank * _GOLDEN) % _MODULUS
