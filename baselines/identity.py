"""``identity``: the "generator" that returns the source image unchanged.

Not a paper's method: it is the floor of every image-quality metric (SSIM, FID, LPIPS, ... of
the source image against the target) and the "augmentation adds nothing new" control for Re-ID
(a factor-K augmentation with ``identity`` duplicates each training image K-1 times).

It has no parameters and nothing to train. The shared loop (``generators.training.train``) builds
Adam optimisers over the generator's and the discriminators' parameters, which fails for an empty
parameter list, so :meth:`Identity.build_discriminators` refuses with a clear message instead;
a checkpoint that ``reid-bench generate`` and ``generators.load`` read is written directly with
:func:`write_checkpoint`::

    python -c "from baselines.identity import write_checkpoint; write_checkpoint('OUT/generator.pt')"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from generators import checkpoints, register
from generators.base import Batch, Generator
from reid_bench.errors import ReidBenchError


@register(name="identity")
class Identity(Generator):
    """Returns ``batch["src_image"]``; no options, no parameters, no losses."""

    needs = frozenset()
    preset_options = {"quick": {}, "market": {}, "deepfashion": {}}

    def __init__(self, **options: Any) -> None:
        if options:
            raise TypeError(f"identity takes no options, got {sorted(options)}")
        super().__init__({})

    def forward(self, batch: Batch) -> torch.Tensor:
        return batch["src_image"].clone()

    def build_discriminators(self) -> nn.ModuleDict:
        raise ReidBenchError(
            "the identity generator has no parameters to train; write its checkpoint directly with "
            "baselines.identity.write_checkpoint('OUT/generator.pt') and pass that file to "
            "`reid-bench generate --checkpoint`."
        )

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        raise ReidBenchError("the identity generator has no losses: it is not trained.")

    def discriminator_losses(self, batch: Batch, fake: torch.Tensor,
                             discriminators: nn.ModuleDict) -> dict[str, torch.Tensor]:
        raise ReidBenchError("the identity generator has no discriminators: it is not trained.")


def write_checkpoint(path: str | os.PathLike, meta: Mapping[str, Any] | None = None) -> Path:
    """Write the identity generator's checkpoint (``generators.load`` and ``reid-bench generate`` read it)."""
    facts = {"step": 0, "total_steps": 0, "perceptual": "not used", **(meta or {})}
    return checkpoints.save(path, checkpoints.record(Identity(), facts))
