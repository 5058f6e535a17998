"""``identity``: the "generator" that returns the source image unchanged.

Not a paper's method: it is the floor of every image-quality metric (SSIM, FID, LPIPS, ... of
the source image against the target) and the "augmentation adds nothing new" control for Re-ID
(a factor-K augmentation with ``identity`` duplicates each training image K-1 times).

It has no parameters and nothing to train: the shared loop (``generators.training.train``, so
``reid-bench train-generator --generator identity`` and ``reid-bench run --generator identity``)
writes its checkpoint at once, and ``generate`` reads it like any other.
"""

from __future__ import annotations

import torch

from reid_bench.generators.base import Batch, UntrainedGenerator


class Identity(UntrainedGenerator):
    """Returns ``batch["src_image"]``; no options (the base class's empty ``Options``), no
    parameters, no losses."""

    name = "identity"
    needs = frozenset()
    preset_options = {"quick": {}, "market": {}, "deepfashion": {}}

    def forward(self, batch: Batch) -> torch.Tensor:
        return batch["src_image"].clone()
