"""Pose-guided person image generators: the interface, the registry, the one GAN loop, and SAN.

- :mod:`.base`: the :class:`~.base.Generator` interface every generator implements;
- :mod:`.registry`: names to classes, through entry points (``names``, ``get``, ``create``);
- :mod:`.checkpoints`: what a checkpoint holds and :func:`load`, which rebuilds its model;
- :mod:`.training`: the one GAN training loop; :mod:`.generate`: images of a pairs list;
- :mod:`.san`: the Semantic Attention Network. The baselines live in :mod:`reid_bench.baselines`.

Installed as ``reid_bench.generators`` from the repository's top-level ``generators/`` folder.
"""

from reid_bench.generators.base import Generator
from reid_bench.generators.checkpoints import load
from reid_bench.generators.registry import (
                                           ENTRY_POINT_GROUP,
                                           create,
                                           get,
                                           learns,
                                           names,
                                           preset_options,
                                           register,
                                           title,
)

__all__ = ["ENTRY_POINT_GROUP", "Generator", "create", "get", "learns", "load", "names", "preset_options", "register",
           "title"]
