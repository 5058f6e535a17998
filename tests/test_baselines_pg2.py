"""PG2 baseline (baselines/pg2.py): registry, the fixed image size, the two stages' separate objectives,
the paper's presets. Sizes, gradients, the shared loop and the short overfit: test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import TINY_OPTIONS, collated_batch
from torch import nn

from reid_bench import generators
from reid_bench.errors import ReidBenchError

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = TINY_OPTIONS["pg2"]


def tiny(size: tuple[int, int], **options) -> generators.Generator:
    torch.manual_seed(0)
    return generators.create("pg2", height=size[0], width=size[1], **{**TINY, **options})


def test_registered_with_needs_and_resolved_options() -> None:
    assert "pg2" in generators.names()
    model = generators.create("pg2", **TINY)
    assert model.name == "pg2" and model.needs == {"heatmap", "mask"}
    assert model.options["levels"] == 5
    assert generators.create("pg2", height=256, width=256, **TINY).options["levels"] == 6
    assert generators.create("pg2", **model.options).options == model.options
    with pytest.raises(ReidBenchError, match="discriminator"):
        generators.create("pg2", discriminator="patch")


def test_wrong_size_is_a_clear_error(people: Path) -> None:
    with pytest.raises(ReidBenchError, match="built for 128x64"):
        tiny((128, 64))(collated_batch("pg2", people, (64, 32)))


def test_stage_two_losses_do_not_reach_stage_one(people: Path) -> None:
    """Joint training keeps the paper's separate objectives: G1 gets only its own pose-mask L1."""
    model = tiny((32, 16))
    discriminators = model.build_discriminators()
    data = collated_batch("pg2", people, (32, 16))
    fake = model(data)
    losses = model.generator_losses(data, fake, discriminators, nn.ModuleDict())
    (losses["total"] - losses["stage1"]).backward()
    assert all(p.grad is None or not p.grad.any() for p in model.stage1.parameters())
    assert any(p.grad is not None and p.grad.any() for p in model.stage2.parameters())


def test_presets_hold_the_papers_settings() -> None:
    presets = generators.get("pg2").preset_options
    assert presets["market"]["l1_weight"] == 10 and presets["deepfashion"]["l1_weight"] == 50
    assert (presets["deepfashion"]["height"], presets["deepfashion"]["width"]) == (256, 256)
    assert generators.create("pg2", **presets["quick"]).options["levels"] == 5
