"""The trainer registry: each Re-ID trainer's network and the protocols its features are ranked by.

The paper's Re-ID table (Section 5) evaluates IDE features with Euclidean distance, XQDA and
KISSME, and Siamese features with Euclidean distance; those ranker names are each trainer's
``protocols`` here (the rankers themselves live above this layer, :mod:`reid_bench.rankers`).
"""

from __future__ import annotations

from dataclasses import dataclass

from reid_bench.errors import ReidBenchError
from reid_bench.reid.models import IDE, ReidNet, Siamese


@dataclass(frozen=True)
class Trainer:
    name: str
    network: type[ReidNet]  # the network class (reid_bench.reid.models)
    protocols: tuple[str, ...]  # ranker names its features are evaluated with (the paper's table)
    unit: str  # what one step's batch holds: "images" (IDE) or "pairs" (Siamese: batch_size // 2 pairs)


TRAINERS: dict[str, Trainer] = {
    "ide": Trainer("ide", IDE, ("euclidean", "xqda", "kissme"), "images"),
    "siamese": Trainer("siamese", Siamese, ("euclidean",), "pairs"),
}


def get(name: str) -> Trainer:
    """The trainer ``name`` (``ide`` or ``siamese``)."""
    if name not in TRAINERS:
        raise ReidBenchError(f"unknown trainer {name!r}; use one of {', '.join(TRAINERS)}.")
    return TRAINERS[name]
