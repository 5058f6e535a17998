"""PATN (baselines/patn.py): registry, an odd size, the pose gating, block counts, the paper's presets,
the VGG rule. Sizes, gradients, the shared loop and the short overfit: test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import TINY_OPTIONS, check_output_size_and_range, random_pose_batch
from plain_presets import PLAIN_QUICK
from torch import nn

from reid_bench import generators
from reid_bench.baselines.patn import PATBlock
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import count_parameters
from reid_bench.generators.run_config import configure

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = TINY_OPTIONS["patn"]


def test_registered_and_declares_its_needs() -> None:
    assert "patn" in generators.names()
    model = generators.create("patn", **TINY)
    assert model.name == "patn" and model.needs == frozenset({"heatmap"})
    assert set(model.preset_options) == {"quick", "market", "deepfashion"}
    assert set(model.build_discriminators()) == {"pose", "appearance"}


def test_a_small_odd_size_comes_back_exactly() -> None:
    """30x18 -> 15x9 -> 8x5 and back: the transposed convs are given the encoder's sizes."""
    model = generators.create("patn", **TINY).eval()
    check_output_size_and_range(model, random_pose_batch(1, 30, 18), (1, 3, 30, 18))


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
    quick = configure("patn", data="synthetic", preset=PLAIN_QUICK.generator)
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
