"""GFLA (baselines/gfla.py): registry, shapes, local attention, flow losses, gradients, the loop."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import generators
from baselines._flow import pixel_grid, warp
from baselines.gfla import LocalAttention, affine_regularization, sampling_correctness
from generators.base import count_parameters
from generators.run_config import configure
from generators.training import train
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.errors import ReidBenchError

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = {"channels": 4, "max_channels": 16, "flow_channels": 4, "flow_max_channels": 8, "flow_layers": 3,
        "attention_layers": "2", "kernel_sizes": "3", "discriminator_channels": 4, "discriminator_max_channels": 8,
        "discriminator_layers": 2}


@pytest.fixture(scope="module")
def synth_pairs(people: Path) -> list[dict]:
    pairs = PoseTransferPairs(load_dataset(people), "train", needs=generators.get("gfla").needs, image_size=(32, 16))
    return [pairs[i] for i in range(8)]


def random_batch(batch: int, height: int, width: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    items = {}
    for prefix in ("src", "tgt"):
        items[f"{prefix}_image"] = torch.rand(batch, 3, height, width, generator=generator) * 2 - 1
        items[f"{prefix}_heatmap"] = torch.rand(batch, 18, height, width, generator=generator)
    return items


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
    with torch.no_grad():
        out = model(random_batch(1, *size))
    assert out.shape == (1, 3, *size) and out.min() >= -1 and out.max() <= 1


def test_too_small_images_fail_clearly() -> None:
    model = generators.create("gfla", **{**TINY, "flow_layers": 5})
    with pytest.raises(ReidBenchError, match="at least 32 pixels"):
        model(random_batch(1, 30, 18))


def test_gradients_reach_every_parameter() -> None:
    model = generators.create("gfla", **{**TINY, "attention_layers": "2,3", "kernel_sizes": "5,3",
                                         "flow_layers": 4, "perceptual": False})
    discriminators = model.build_discriminators()
    batch = random_batch(2, 32, 32)
    fake = model(batch)
    terms = model.generator_losses(batch, fake, discriminators, nn.ModuleDict())
    assert {"l1", "adversarial", "regularization"} <= set(terms) and "correctness" not in terms
    terms["total"].backward()
    model.discriminator_losses(batch, fake.detach(), discriminators)["total"].backward()
    for module in (model, discriminators):
        silent = [name for name, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
        assert not silent


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


def write_stand_in_vgg(path: Path, convs: int) -> Path:
    """Random tensors shaped like torchvision's VGG-19 ``features`` (first ``convs`` convs): a STAND-IN."""
    widths = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)
    state, index, cin, made = {}, 0, 3, 0
    for item in widths:
        if made == convs:
            break
        if item == "M":
            index += 1
            continue
        state[f"features.{index}.weight"] = torch.randn(item, cin, 3, 3) * (2 / (9 * cin)) ** 0.5
        state[f"features.{index}.bias"] = torch.zeros(item)
        index, cin, made = index + 2, item, made + 1
    torch.save(state, path)
    return path


def test_vgg_terms_with_a_stand_in_vgg_file(tmp_path: Path) -> None:
    stand_in = write_stand_in_vgg(tmp_path / "random-vgg19-STAND-IN.pth", convs=14)  # up to relu5_2
    model = generators.create("gfla", **{**TINY, "attention_layers": "2,3", "kernel_sizes": "5,3", "flow_layers": 4})
    batch = random_batch(2, 32, 32)
    terms = model.generator_losses(batch, model(batch), model.build_discriminators(),
                                   model.build_loss_networks(stand_in))
    assert terms["content"] > 0 and terms["style"] > 0 and torch.isfinite(terms["correctness"])


def test_one_step_and_a_short_overfit_in_the_shared_loop(tmp_path: Path, synth_pairs: list[dict]) -> None:
    config = configure("gfla", data="synthetic", preset="quick", options=TINY, steps=60, batch_size=8,
                       image_size=None, lr=2e-3, log_every=5, sample_every=1000, checkpoint_every=1000)
    result = train(config, synth_pairs, tmp_path / "run", progress=False)
    assert result.finished and result.step == 60
    with open(result.losses, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"g_l1", "g_adversarial", "g_regularization", "d_real", "d_fake"} <= set(rows[0])
    assert float(rows[-1]["g_l1"]) < 0.5 * float(rows[0]["g_l1"])
    model = generators.load(result.generator, "gfla")
    batch = {key: value[None] for key, value in synth_pairs[0].items() if torch.is_tensor(value)}
    with torch.no_grad():
        assert model(batch).shape == (1, 3, 32, 16)
