"""Reimplemented baseline generators: PG2, Def-GAN, VU-Net, PATN, Intr-Flow, GFLA, DPIG, and the
``identity`` and ``synth-oracle`` controls.

One module per baseline on the :class:`reid_bench.generators.base.Generator` interface, each
declared as an entry point in ``pyproject.toml`` (:mod:`reid_bench.generators.registry`).
Installed as ``reid_bench.baselines`` from the repository's top-level ``baselines/`` folder.
"""
