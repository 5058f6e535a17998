"""The generator interface every pose-guided generator (SAN and the baselines) implements.

A generator is an ``nn.Module`` that turns a batch of DESIGN.md sample dicts into images of the
source person in the target pose. The one training loop (:mod:`reid_bench.generators.training`) drives any
generator through a two-phase API, so a generator owns its losses and may have several
discriminators (PATN's appearance and pose discriminators, for instance)::

    fake = model(batch)                                              # (B, 3, H, W) in [-1, 1]
    d = model.discriminator_losses(batch, fake.detach(), discriminators)   # D step: d["total"]
    g = model.generator_losses(batch, fake, discriminators, loss_networks) # G step: g["total"]

``discriminators`` comes from :meth:`Generator.build_discriminators` (trained, checkpointed, one
Adam over all of them); ``loss_networks`` from :meth:`Generator.build_loss_networks` (frozen
pretrained networks such as VGG-19, never checkpointed). Every other key of the returned dicts is
an unweighted term that the loop logs as ``g_<key>`` / ``d_<key>``.

Conventions a generator follows so the loop and the checkpoints can handle it:

- ``options`` holds every constructor option, resolved to its value, as JSON-friendly scalars;
  ``generators.create(name, **options)`` rebuilds the same architecture from it.
- A generator with a VGG perceptual term has a boolean option ``perceptual``; the loop sets it to
  ``False`` when the VGG-19 file is missing and the preset allows that (and records it).
- ``needs`` names what it reads from the sample dict besides images, a subset of
  ``{"parsing", "mask", "keypoints", "heatmap"}``; the data layer computes only those.
- ``preset_options`` maps a preset name (``quick``, ``market``, ``deepfashion``) to the options
  that preset uses for this generator (widths, loss weights).
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from reid_bench.errors import ReidBenchError

Batch = Mapping[str, Any]
NEEDS = frozenset({"parsing", "mask", "keypoints", "heatmap"})


class Generator(nn.Module, abc.ABC):
    """Base class of registered generators; see the module docstring for the contract."""

    name: ClassVar[str] = ""  # registry name, set by ``generators.register``
    needs: ClassVar[frozenset[str]] = frozenset()
    preset_options: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__()
        self.options: dict[str, Any] = dict(options)
        self.meta: dict[str, Any] = {}  # run facts of the checkpoint it was loaded from (step, image_size, ...)

    @abc.abstractmethod
    def forward(self, batch: Batch) -> torch.Tensor:
        """The generated target images, (B, 3, H, W) in [-1, 1]."""

    def build_discriminators(self) -> nn.ModuleDict:
        """Fresh discriminators for training this generator, by name; none (VU-Net, a VAE): the loop
        then has no discriminator step and never calls :meth:`discriminator_losses`."""
        return nn.ModuleDict()

    def build_loss_networks(self, vgg_weights: Path | None) -> nn.ModuleDict:
        """Frozen pretrained networks the generator losses use; none by default."""
        return nn.ModuleDict()

    @abc.abstractmethod
    def generator_losses(
        self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict, loss_networks: nn.ModuleDict
    ) -> dict[str, torch.Tensor]:
        """Generator objective: ``"total"`` (weighted, to minimise) plus unweighted terms."""

    def discriminator_losses(
        self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict
    ) -> dict[str, torch.Tensor]:
        """Discriminator objective on a detached ``fake``: ``"total"`` plus unweighted terms."""
        raise ReidBenchError(f"the {self.name} generator has no discriminators.")

    def describe(self) -> str:
        """``san(blocks=5, channels=64, ...)``, as error messages and logs print it."""
        options = ", ".join(f"{key}={value}" for key, value in sorted(self.options.items()))
        return f"{self.name}({options})"


class UntrainedGenerator(Generator):
    """A generator with nothing to learn (``identity``, ``synth-oracle``): no discriminators and no
    losses; the shared loop writes its checkpoint at once."""

    def generator_losses(self, batch: Batch, fake: torch.Tensor, discriminators: nn.ModuleDict,
                         loss_networks: nn.ModuleDict) -> dict[str, torch.Tensor]:
        raise ReidBenchError(f"the {self.name} generator has no losses: it is not trained.")


def set_requires_grad(modules: nn.Module, flag: bool) -> None:
    """Freeze or unfreeze every parameter of ``modules`` (the discriminators during the G step)."""
    for parameter in modules.parameters():
        parameter.requires_grad_(flag)


def count_parameters(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
