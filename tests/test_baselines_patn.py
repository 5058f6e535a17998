"""PATN (baselines/patn.py): registry, shapes, gradients, the shared loop, overfitting, VGG rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import (
    check_gradients_reach_every_parameter,
    check_output_size_and_range,
    first_pairs,
    overfit_in_the_loop,
    random_pose_batch,
)
from torch import nn

from reid_bench import generators
from reid_bench.baselines.patn import PATBlock
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import count_parameters
from reid_bench.generators.run_config import configure

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = {"channels": 4, "blocks": 2, "discriminator_channels": 4, "discriminator_blocks": 1, "dropout": False,
        "discriminator_dropout": False}


def test_registered_and_declares_its_needs() -> None:
    assert "patn" in generators.names()
    model = generators.create("patn", **TINY)
    assert model.name == "patn" and model.needs == frozenset({"heatmap"})
    assert set(model.preset_options) == {"quick", "market", "deepfashion"}


@pytest.mark.parametrize("size", [(128, 64), (256, 256), (256, 176), (30, 18)])
def test_output_has_the_input_size_and_range(size: tuple[int, int]) -> None:
    model = generators.create("patn", **TINY).eval()
    check_output_size_and_range(model, random_pose_batch(1, *size), (1, 3, *size))


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_gradients_reach_every_parameter(norm: str) -> None:
    model = generators.create("patn", **{**TINY, "norm": norm, "perceptual": False})
    _, discriminators = check_gradients_reach_every_parameter(model, random_pose_batch(2, 32, 16))
    assert set(discriminators) == {"pose", "appearance"}


def test_the_pose_stream_gates_the_image_stream() -> None:
    model = generators.create("patn", **TINY).train()  # batch statistics: N(0, 0.02) weights vanish in eval at init
    batch = random_pose_batch(1, 32, 16)
    other = dict(batch, tgt_heatmap=batch["tgt_heatmap"].flip(-1))
    with torch.no_grad():
        assert (model(batch) - model(other)).abs().max() > 0


def test_block_count_and_paper_size() -> None:
    counts = [count_parameters(generators.create("patn", channels=4, blocks=k)) for k in (1, 2, 3)]
    later_block = count_parameters(PATBlock(16, "batch", True, first=False))
    assert counts[2] - counts[1] == later_block
    market = generators.create("patn", **generators.get("patn").preset_options["market"])
    assert round(count_parameters(market) / 1e6, 2) == 41.37  # PATN's paper: 41.36M


def test_paper_presets_and_the_offline_vgg_rule() -> None:
    presets = generators.get("patn").preset_options
    market, fashion = presets["market"], presets["deepfashion"]
    assert (market["lambda_gan"], market["lambda_l1"], market["lambda_perceptual"]) == (5, 10, 10)
    assert (fashion["lambda_gan"], fashion["lambda_l1"], fashion["lambda_perceptual"]) == (5, 1, 1)
    assert market["blocks"] == fashion["blocks"] == 9 and fashion["norm"] == "instance"
    with pytest.raises(ReidBenchError, match="vgg19-dcbb9e9d.pth"):
        configure("patn", data="synthetic", preset="market")
    quick = configure("patn", data="synthetic", preset="quick")
    assert quick.perceptual.startswith("off (vgg19 weights missing") and quick.options["perceptual"] is False
    with pytest.raises(ReidBenchError, match="norm"):
        generators.create("patn", norm="group")


def test_perceptual_term_with_a_stand_in_vgg_file(tmp_path: Path) -> None:
    """Random VGG-19 weights as a STAND-IN file: exercises the code path, measures nothing."""
    features = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1))
    stand_in = tmp_path / "random-vgg19-STAND-IN.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, stand_in)
    model = generators.create("patn", **TINY)
    networks = model.build_loss_networks(stand_in)
    batch = random_pose_batch(2, 32, 16)
    terms = model.generator_losses(batch, model(batch), model.build_discriminators(), networks)
    assert terms["perceptual"] > 0


def test_one_step_and_a_short_overfit_in_the_shared_loop(people: Path, tmp_path: Path) -> None:
    synth_pairs = first_pairs("patn", people, (32, 16), 8)  # eight SynthPeople pairs (a list is a Dataset)
    columns = {"g_l1", "g_adversarial_pose", "g_adversarial_appearance", "d_pose", "d_appearance"}
    rows, model = overfit_in_the_loop("patn", TINY, synth_pairs, tmp_path, columns)
    assert "g_perceptual" not in rows[0]
    with torch.no_grad():
        assert model(random_pose_batch(1, 32, 16)).shape == (1, 3, 32, 16)
