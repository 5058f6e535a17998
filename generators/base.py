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

- ``Options`` names the generator's frozen options dataclass (its fields, defaults and
  ``__post_init__`` checks); :meth:`Generator.__init__` builds ``config = Options(**options)``
  (an unknown option is a ``TypeError``, which ``generators.create`` reports as a
  ``ReidBenchError``) and ``options``, every option resolved to its value as JSON-friendly scalars;
  ``generators.create(name, **options)`` rebuilds the same architecture from it.
  :meth:`Generator.option_types` gives each option's type (to parse ``--set model.blocks=3``).
- A generator with a VGG perceptual term names the VGG-19 layers it reads in
  :meth:`Generator.perceptual_layers` and has a boolean option ``perceptual``; the loop sets it to
  ``False`` when the VGG-19 file is missing and the preset allows that (and records it). The base
  :meth:`Generator.build_loss_networks` then builds the frozen VGG-19 (or nothing).
- ``needs`` names what it reads from the sample dict besides images, a subset of
  ``{"parsing", "mask", "keypoints", "heatmap"}``; the data layer computes only those.
- ``preset_options`` maps a preset name (``quick``, ``market``, ``deepfashion``) to the options
  that preset uses for this generator (widths, loss weights).
"""

from __future__ import annotations

import abc
import dataclasses
import typing
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from reid_bench.errors import ReidBenchError
from reid_bench.generators.losses import VGGFeatures, VGGTaps

Batch = Mapping[str, Any]
NEEDS = frozenset({"parsing", "mask", "keypoints", "heatmap"})


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The options of a generator that takes none (``identity``)."""


class Generator(nn.Module, abc.ABC):
    """Base class of registered generators; see the module docstring for the contract."""

    name: ClassVar[str] = ""  # registry name, set by ``generators.register``
    title: ClassVar[str] = ""  # the name messages print (its paper's spelling, "SAN", "Def-GAN"); "": name
    needs: ClassVar[frozenset[str]] = frozenset()
    preset_options: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    Options: ClassVar[type] = NoOptions  # the frozen dataclass of the constructor options

    def __init__(self, resolved: Mapping[str, Any] | None = None, /, **options: Any) -> None:
        """``Generator(**options)`` builds ``config = Options(**options)`` and ``options`` from it.

        A generator without an ``Options`` class may instead pass its options already resolved,
        as one mapping (``super().__init__({"gain": gain})``, the form plug-ins written before
        ``Options`` use); it then has no ``config``.
        """
        super().__init__()
        if resolved is None:
            self.config: Any = self.Options(**options)
            self.options: dict[str, Any] = dataclasses.asdict(self.config)
        elif options or self.Options is not NoOptions:
            raise TypeError(f"{type(self).__name__} takes its options as keywords, not as a mapping")
        else:
            self.config = None
            self.options = dict(resolved)
        self.meta: dict[str, Any] = {}  # run facts of the checkpoint it was loaded from (step, image_size, ...)

    @classmethod
    def option_types(cls) -> dict[str, type]:
        """Each option's name and its resolved type (``{"blocks": int, ...}``), from :attr:`Options`."""
        hints = typing.get_type_hints(cls.Options)
        return {field.name: hints[field.name] for field in dataclasses.fields(cls.Options)}

    @abc.abstractmethod
    def forward(self, batch: Batch) -> torch.Tensor:
        """The generated target images, (B, 3, H, W) in [-1, 1]."""

    def build_discriminators(self) -> nn.ModuleDict:
        """Fresh discriminators for training this generator, by name; none (VU-Net, a VAE): the loop
        then has no discriminator step and never calls :meth:`discriminator_losses`."""
        return nn.ModuleDict()

    def perceptual_layers(self) -> tuple[str, ...]:
        """The VGG-19 layers (``relu1_2``, ...) the perceptual term reads; none: no VGG-19 term."""
        return ()

    def build_loss_networks(self, vgg_weights: Path | None) -> nn.ModuleDict:
        """Frozen pretrained networks the generator losses use. By default ``"vgg"``, VGG-19 cut
        at the deepest of :meth:`perceptual_layers`: a :class:`~reid_bench.generators.losses.VGGFeatures`
        (that layer's activations) for one layer, a :class:`~reid_bench.generators.losses.VGGTaps`
        (a dict of them) for several; nothing without a perceptual term or with ``perceptual=False``.
        A generator that needs more overrides this and calls it."""
        layers = self.perceptual_layers()
        if not layers or not self.options.get("perceptual", True):
            return nn.ModuleDict()
        if vgg_weights is None:
            raise ReidBenchError(f"the {self.name} generator was built with perceptual=True but no VGG-19 "
                                 "weights were given.")
        vgg = VGGFeatures(vgg_weights, layers[0]) if len(layers) == 1 else VGGTaps(vgg_weights, layers)
        return nn.ModuleDict({"vgg": vgg})

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
