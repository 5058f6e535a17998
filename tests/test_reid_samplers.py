"""PK sampler and the Siamese balanced pair sampler."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from reid_bench.reid.samplers import PKSampler, balanced_pairs


def _labels() -> list[int]:
    # 7 identities with 1..9 images each: some below K, some not a multiple of K.
    return [pid for pid, count in enumerate([1, 2, 4, 5, 8, 9, 3]) for _ in range(count)]


def test_pk_sampler_batches_are_p_identities_times_k_images() -> None:
    labels = _labels()
    sampler = PKSampler(labels, p=3, k=4, generator=torch.Generator().manual_seed(0))
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        assert len(batch) == 3 * 4
        per_identity = Counter(labels[i] for i in batch)
        assert len(per_identity) == 3
        assert set(per_identity.values()) == {4}


def test_pk_sampler_covers_the_images_and_is_seeded() -> None:
    labels = _labels()
    first = list(PKSampler(labels, 2, 4, torch.Generator().manual_seed(1)))
    again = list(PKSampler(labels, 2, 4, torch.Generator().manual_seed(1)))
    other = list(PKSampler(labels, 2, 4, torch.Generator().manual_seed(2)))
    assert first == again != other
    # Every identity has ceil(n / 4) chunks; all but fewer than P of them are used.
    assert len({i for batch in first for i in batch}) >= len(labels) - 2 * 4


def test_pk_sampler_needs_p_identities() -> None:
    with pytest.raises(ValueError, match="needs 4 identities"):
        PKSampler([0, 0, 1, 1, 2], p=4, k=2, generator=torch.Generator())


@pytest.mark.parametrize("count", [40, 41])
def test_balanced_pairs_are_half_positive(count: int) -> None:
    labels = [i % 5 for i in range(count)]
    pairs = balanced_pairs(labels, torch.Generator().manual_seed(0))
    assert len(pairs) == count
    assert sorted(a for a, _ in pairs) == list(range(count))  # every image anchors one pair
    same = [labels[a] == labels[b] for a, b in pairs]
    assert sum(same) == (count + 1) // 2
    assert all(a != b for (a, b), s in zip(pairs, same) if s)  # a positive is another image


def test_balanced_pairs_shuffle_and_seed() -> None:
    labels = [i % 3 for i in range(30)]
    first = balanced_pairs(labels, torch.Generator().manual_seed(0))
    assert first == balanced_pairs(labels, torch.Generator().manual_seed(0))
    assert first != balanced_pairs(labels, torch.Generator().manual_seed(1))
    assert [a for a, _ in first] != sorted(a for a, _ in first)


def test_balanced_pairs_need_two_identities() -> None:
    with pytest.raises(ValueError):
        balanced_pairs([3, 3, 3], torch.Generator())
