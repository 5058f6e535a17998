"""GFLA (baselines/gfla.py): registry, the smallest size, its loss terms, local attention, the flow
losses, the paper's presets and size. Sizes, gradients, the shared loop and the short overfit:
test_generator_contract.py."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from generators_fixtures import TINY_OPTIONS, random_pose_batch, write_stand_in_vgg
from plain_presets import PLAIN_QUICK
from torch import nn

from reid_bench import generators
from reid_bench.baselines._flow import pixel_grid, warp
from reid_bench.baselines.gfla import LocalAttention, affine_regularization, sampling_correctness
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import count_parameters
from reid_bench.generators.run_config import configure

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = TINY_OPTIONS["gfla"]


def test_registered_and_declares_its_needs() -> None:
    assert "gfla" in generators.names()
    model = generators.create("gfla", **TINY)
    assert model.needs == frozenset({"heatmap"})
    assert set(model.preset_options) == {"quick", "market", "deepfashion"}


def test_too_small_images_fail_clearly() -> None:
    model = generators.create("gfla", **{**TINY, "flow_layers": 5})
    with pytest.raises(ReidBenchError, match="at least 32 pixels"):
        model(random_pose_batch(1, 30, 18))


def test_without_vgg_the_losses_are_l1_adversarial_and_the_affine_regularization() -> None:
    model = generators.create("gfla", **{**TINY, "attention_layers": "2,3", "kernel_sizes": "5,3",
                                         "flow_layers": 4, "perceptual": False})
    batch = random_pose_batch(2, 32, 32)
    with torch.no_grad():
        terms = model.generator_losses(batch, model(batch), model.build_discriminators(), nn.ModuleDict())
    assert {"l1", "adversarial", "regularization"} <= set(terms) and "correctness" not in terms


def test_local_attention_samples_the_flowed_patch() -> None:
    torch.manual_seed(0)
    source, target = torch.randn(2, 5, 9, 7), torch.randn(2, 5, 9, 7)
    flow = torch.randn(2, 2, 9, 7)
    attention = LocalAttention(5, 3)
    patches = attention.source_patches(source, flow)
    assert patches.shape == (2, 5, 9, 9, 7)
    centre = patches[:, :, 4]  # window offset (0, 0): plain bilinear warping
    assert torch.allclose(centre, warp(source, flow), atol=1e-5)
    shifted = patches[:, :, 5]  # offset (dx, dy) = (+1, 0)
    assert torch.allclose(shifted, warp(source, flow + torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)), atol=1e-5)
    one = LocalAttention(5, 1)  # a 1x1 window: softmax over one weight = 1, output = warped source
    assert torch.allclose(one(source, target, flow), warp(source, flow), atol=1e-5)


def test_affine_regularization_is_zero_for_affine_flows_only() -> None:
    height, width = 12, 10
    grid = pixel_grid(height, width, torch.zeros(1))
    matrix = torch.tensor([[1.2, 0.3], [-0.1, 0.8]])
    affine = torch.einsum("ij,bjhw->bihw", matrix, grid) + torch.tensor([2.0, -1.0]).view(1, 2, 1, 1)
    assert affine_regularization(affine - grid, 3) < 1e-6
    wavy = torch.sin(grid * 1.3)
    assert affine_regularization(wavy, 3) > 1e-2


def test_sampling_correctness_is_zero_for_the_right_flow() -> None:
    torch.manual_seed(0)
    features = torch.rand(1, 8, 6, 5)
    zero = torch.zeros(1, 2, 6, 5)
    assert abs(float(sampling_correctness(features, features, zero))) < 1e-5
    shuffled = features.flip(-1).flip(-2)
    assert float(sampling_correctness(shuffled, features, zero)) > 0
    assert float(sampling_correctness(shuffled, features, zero)) <= 1 - math.exp(-1) + 1e-6


def test_paper_presets_sizes_and_the_offline_vgg_rule() -> None:
    presets = generators.get("gfla").preset_options
    assert (presets["deepfashion"]["attention_layers"], presets["deepfashion"]["kernel_sizes"]) == ("2,3", "5,3")
    assert (presets["market"]["attention_layers"], presets["market"]["kernel_sizes"]) == ("2", "3")
    fashion = generators.create("gfla", **presets["deepfashion"])
    assert round(count_parameters(fashion) / 1e6, 2) == 14.05  # GFLA's paper: 14.04M
    assert fashion.options["lambda_style"] == 500 and fashion.options["lambda_correctness"] == 5
    with pytest.raises(ReidBenchError, match="vgg19-dcbb9e9d.pth"):
        configure("gfla", data="synthetic", preset="deepfashion")
    assert configure("gfla", data="synthetic", preset=PLAIN_QUICK.generator).options["perceptual"] is False
    assert generators.create("gfla", attention_layers=2, kernel_sizes=3).options["attention_layers"] == "2"
    with pytest.raises(ReidBenchError, match="odd"):
        generators.create("gfla", kernel_sizes="4,3")


def test_vgg_terms_with_a_stand_in_vgg_file(tmp_path: Path) -> None:
    stand_in = write_stand_in_vgg(tmp_path / "random-vgg19-STAND-IN.pth", convs=14)  # up to relu5_2
    model = generators.create("gfla", **{**TINY, "attention_layers": "2,3", "kernel_sizes": "5,3", "flow_layers": 4})
    batch = random_pose_batch(2, 32, 32)
    terms = model.generator_losses(batch, model(batch), model.build_discriminators(),
                                   model.build_loss_networks(stand_in))
    assert terms["content"] > 0 and terms["style"] > 0 and torch.isfinite(terms["correctness"])
