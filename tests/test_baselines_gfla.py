"""GFLA (baselines/gfla.py): registry, shapes, local attention, flow losses, gradients, the loop."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from generators_fixtures import (
    check_gradients_reach_every_parameter,
    check_output_size_and_range,
    first_pairs,
    overfit_in_the_loop,
    random_pose_batch,
    write_stand_in_vgg,
)

from reid_bench import generators
from reid_bench.baselines._flow import pixel_grid, warp
from reid_bench.baselines.gfla import LocalAttention, affine_regularization, sampling_correctness
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import count_parameters
from reid_bench.generators.run_config import configure

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = {"channels": 4, "max_channels": 16, "flow_channels": 4, "flow_max_channels": 8, "flow_layers": 3,
        "attention_layers": "2", "kernel_sizes": "3", "discriminator_channels": 4, "discriminator_max_channels": 8,
        "discriminator_layers": 2}


def test_registered_and_declares_its_needs() -> None:
    assert "gfla" in generators.names()
    model = generators.create("gfla", **TINY)
    assert model.needs == frozenset({"heatmap"})
    assert set(model.preset_options) == {"quick", "market", "deepfashion"}


@pytest.mark.parametrize("size, preset", [((128, 64), "market"), ((256, 256), "deepfashion"),
                                          ((256, 176), "deepfashion")])


def test_output_has_the_input_size_and_range(size: tuple[int, int], preset: str) -> None:
    """The paper's attention levels and kernels at their sizes, with narrow widths to stay fast."""
    options = {**generators.get("gfla").preset_options[preset], "channels": 4, "max_channels": 16,
               "flow_channels": 4, "flow_max_channels": 8}
    model = generators.create("gfla", **options).eval()
    check_output_size_and_range(model, random_pose_batch(1, *size), (1, 3, *size))


def test_too_small_images_fail_clearly() -> None:
    model = generators.create("gfla", **{**TINY, "flow_layers": 5})
    with pytest.raises(ReidBenchError, match="at least 32 pixels"):
        model(random_pose_batch(1, 30, 18))


def test_gradients_reach_every_parameter() -> None:
    model = generators.create("gfla", **{**TINY, "attention_layers": "2,3", "kernel_sizes": "5,3",
                                         "flow_layers": 4, "perceptual": False})
    terms, _ = check_gradients_reach_every_parameter(model, random_pose_batch(2, 32, 32))
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
    assert configure("gfla", data="synthetic", preset="quick").options["perceptual"] is False
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


def test_one_step_and_a_short_overfit_in_the_shared_loop(people: Path, tmp_path: Path) -> None:
    synth_pairs = first_pairs("gfla", people, (32, 16), 8)
    _, model = overfit_in_the_loop("gfla", TINY, synth_pairs, tmp_path,
                                   {"g_l1", "g_adversarial", "g_regularization", "d_real", "d_fake"})
    batch = {key: value[None] for key, value in synth_pairs[0].items() if torch.is_tensor(value)}
    with torch.no_grad():
        assert model(batch).shape == (1, 3, 32, 16)
