"""Batch and pair samplers, seeded by an explicit ``torch.Generator``.

- :class:`PKSampler`: batches of P identities x K images (Hermans et al. 2017, "In Defense of the
  Triplet Loss"; torchreid's ``RandomIdentitySampler``). Each identity's images are shuffled and
  cut into chunks of K (an identity with fewer than K images, or a last short chunk, is topped up
  by drawing again from its images); batches take one chunk from each of P distinct identities
  until fewer than P identities have chunks left, so an epoch sees about every image once.
- :func:`balanced_pairs`: the Siamese network's pairs (Zheng et al. 2017, TOMM): every image is
  the first of one pair, and exactly half of the pairs (rounded up) are positives, the partner drawn
  from the same identity (another image if it has one), the rest negatives with a partner of another
  identity. The paper keeps positives and negatives 1:1; how partners are drawn is ours.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Sequence

import torch
from torch.utils.data import Sampler


def _randperm(n: int, generator: torch.Generator) -> list[int]:
    return torch.randperm(n, generator=generator).tolist()


def _by_identity(labels: Sequence[int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        groups[int(label)].append(index)
    return dict(groups)


class PKSampler(Sampler[list[int]]):
    """A batch sampler: each batch is ``p`` distinct identities x ``k`` of their images.

    The batches of one epoch are drawn when the sampler is built; build one per epoch.
    """

    def __init__(self, labels: Sequence[int], p: int, k: int, generator: torch.Generator) -> None:
        groups = _by_identity(labels)
        if len(groups) < p:
            raise ValueError(f"a PK batch needs {p} identities; the data has {len(groups)}")
        pending = {label: self._chunks(indices, k, generator) for label, indices in groups.items()}
        self.batches: list[list[int]] = []
        while len(pending) >= p:
            labels_left = sorted(pending)
            chosen = [labels_left[i] for i in _randperm(len(labels_left), generator)[:p]]
            batch = []
            for label in chosen:
                batch += pending[label].pop()
                if not pending[label]:
                    del pending[label]
            self.batches.append(batch)

    @staticmethod
    def _chunks(indices: list[int], k: int, generator: torch.Generator) -> list[list[int]]:
        order = [indices[i] for i in _randperm(len(indices), generator)]
        short = -len(order) % k
        order += [indices[i] for i in torch.randint(len(indices), (short,), generator=generator).tolist()]
        return [order[i:i + k] for i in range(0, len(order), k)]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def balanced_pairs(labels: Sequence[int], generator: torch.Generator) -> list[tuple[int, int]]:
    """One pair per image, half positive and half negative, in random order."""
    groups = _by_identity(labels)
    if len(groups) < 2:
        raise ValueError("Siamese pairs need at least two identities")
    n = len(labels)
    positive = [i < (n + 1) // 2 for i in _randperm(n, generator)]
    label_list = sorted(groups)
    position = {label: i for i, label in enumerate(label_list)}
    pairs = []
    for anchor in _randperm(n, generator):
        own = int(labels[anchor])
        if positive[anchor]:
            candidates = [i for i in groups[own] if i != anchor] or [anchor]
        else:
            draw = int(torch.randint(len(label_list) - 1, (1,), generator=generator))
            other = label_list[draw + (draw >= position[own])]  # any label but own
            candidates = groups[other]
        pairs.append((anchor, candidates[int(torch.randint(len(candidates), (1,), generator=generator))]))
    return pairs


def generated_per_batch(batch_size: int, share: float) -> int:
    """How many of a batch's ``batch_size`` items the secondary (generated) stream gives: at least one,
    at most all but one."""
    return min(batch_size - 1, max(1, round(batch_size * share)))


def stream_batches(primary: Sequence[int], secondary: Sequence[int], batch_size: int, share: float,
                   generator: torch.Generator) -> list[list[int]]:
    """One epoch of batches from two streams (CamStyle, Zhong et al. 2018: real and style-transferred
    images in separate streams, a fixed share of each batch): :func:`generated_per_batch` items from
    ``secondary`` and the rest from ``primary``.

    The epoch is one pass over ``primary`` in random order (a last short chunk is dropped);
    ``secondary`` is drawn in random order and reshuffled whenever it runs out.
    """
    extra = generated_per_batch(batch_size, share)
    own = batch_size - extra
    order = [primary[i] for i in _randperm(len(primary), generator)]
    pool: list[int] = []
    batches = []
    for start in range(0, len(order) - own + 1, own):
        while len(pool) < extra:
            pool += [secondary[i] for i in _randperm(len(secondary), generator)]
        batches.append(order[start:start + own] + pool[:extra])
        del pool[:extra]
    return batches
