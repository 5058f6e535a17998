"""PG2 baseline (baselines/pg2.py): registry, sizes, a step of the shared loop, gradients, overfitting."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import default_collate

import generators
from generators.run_config import configure
from generators.training import train
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.errors import ReidBenchError

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"channels": 2, "bottleneck": 8, "discriminator_channels": 4}


def pairs(root: Path, size: tuple[int, int]) -> PoseTransferPairs:
    return PoseTransferPairs(load_dataset(root), "train", needs=generators.get("pg2").needs, image_size=size)


def batch(root: Path, size: tuple[int, int], count: int = 2) -> dict:
    data = pairs(root, size)
    return default_collate([data[i] for i in range(count)])


def tiny(size: tuple[int, int], **options) -> generators.Generator:
    torch.manual_seed(0)
    return generators.create("pg2", height=size[0], width=size[1], **{**TINY, **options})


def test_registered_with_needs_and_resolved_options() -> None:
    assert "pg2" in generators.names()
    model = generators.create("pg2", **TINY)
    assert model.name == "pg2" and model.needs == {"heatmap", "mask"}
    assert model.options["levels"] == 5 and generators.create("pg2", height=256, width=256, **TINY).options["levels"] == 6
    assert generators.create("pg2", **model.options).options == model.options
    with pytest.raises(ReidBenchError, match="discriminator"):
        generators.create("pg2", discriminator="patch")


@pytest.mark.parametrize("size", [(128, 64), (256, 256), (256, 176)])
def test_output_has_the_input_size_and_range(people: Path, size: tuple[int, int]) -> None:
    model = tiny(size).eval()
    with torch.no_grad():
        out = model(batch(people, size))
    assert out.shape == (2, 3, *size) and out.min() >= -1 and out.max() <= 1


def test_wrong_size_is_a_clear_error(people: Path) -> None:
    with pytest.raises(ReidBenchError, match="built for 128x64"):
        tiny((128, 64))(batch(people, (64, 32)))


@pytest.mark.parametrize("discriminator", ["image", "pair"])
def test_gradients_reach_every_parameter(people: Path, discriminator: str) -> None:
    model = tiny((32, 16), discriminator=discriminator, channels=8)  # ReLUs: narrower nets have dead units
    discriminators = model.build_discriminators()
    data = batch(people, (32, 16), 3)
    fake = model(data)
    model.generator_losses(data, fake, discriminators, nn.ModuleDict())["total"].backward()
    model.discriminator_losses(data, fake.detach(), discriminators)["total"].backward()
    for module in (model, discriminators):
        silent = [name for name, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not silent


def test_stage_two_losses_do_not_reach_stage_one(people: Path) -> None:
    """Joint training keeps the paper's separate objectives: G1 gets only its own pose-mask L1."""
    model = tiny((32, 16))
    discriminators = model.build_discriminators()
    data = batch(people, (32, 16))
    fake = model(data)
    losses = model.generator_losses(data, fake, discriminators, nn.ModuleDict())
    (losses["total"] - losses["stage1"]).backward()
    assert all(p.grad is None or not p.grad.any() for p in model.stage1.parameters())
    assert any(p.grad is not None and p.grad.any() for p in model.stage2.parameters())


def test_one_step_of_the_shared_loop_and_reload(people: Path, tmp_path: Path) -> None:
    config = configure("pg2", data=str(people), preset="quick", options={**TINY, "height": 32, "width": 16},
                       steps=2, batch_size=4, image_size=None, log_every=1, sample_every=1000, checkpoint_every=1000)
    assert config.perceptual == "not used"
    result = train(config, pairs(people, (32, 16)), tmp_path / "run", progress=False)
    assert result.finished
    with open(result.losses, newline="") as handle:
        row = list(csv.DictReader(handle))[-1]
    assert {"g_total", "g_stage1", "g_l1", "g_adversarial", "d_real", "d_fake", "d_source"} <= set(row)
    model = generators.load(result.generator, "pg2")
    assert model.options["height"] == 32 and model.meta["step"] == 2


def l1_on(model: generators.Generator, data: dict) -> float:
    with torch.no_grad():
        return float((model.eval()(data) - data["tgt_image"]).abs().mean())


def test_short_overfit_halves_the_l1(people: Path, tmp_path: Path) -> None:
    options = {"channels": 8, "bottleneck": 32, "discriminator_channels": 4, "height": 32, "width": 16}
    config = configure("pg2", data=str(people), preset="quick", options=options, steps=100, batch_size=4, lr=2e-3,
                       image_size=None, log_every=10, sample_every=1000, checkpoint_every=1000)
    fixed = torch.utils.data.Subset(pairs(people, (32, 16)), range(4))
    torch.manual_seed(config.settings.seed)  # the loop builds its model right after this seed
    before = l1_on(generators.create("pg2", **config.options), default_collate(list(fixed)))
    result = train(config, fixed, tmp_path / "run", progress=False)
    after = l1_on(generators.load(result.generator), default_collate(list(fixed)))
    assert after < 0.5 * before


def test_presets_hold_the_papers_settings() -> None:
    presets = generators.get("pg2").preset_options
    assert presets["market"]["l1_weight"] == 10 and presets["deepfashion"]["l1_weight"] == 50
    assert (presets["deepfashion"]["height"], presets["deepfashion"]["width"]) == (256, 256)
    assert generators.create("pg2", **presets["quick"]).options["levels"] == 5
