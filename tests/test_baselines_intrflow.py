"""Intr-Flow (baselines/intrflow.py): registry, an odd size, its loss terms, the end-to-end switch, the
keypoint pseudo-flow, the paper's presets and size. Sizes, gradients, the shared loop and the short
overfit (in which the flow loss falls too): test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import (
    STANDING,
    TINY_OPTIONS,
    check_output_size_and_range,
    random_pose_batch,
    write_stand_in_vgg,
)
from plain_presets import PLAIN_QUICK
from torch import nn

from reid_bench import generators
from reid_bench.baselines._flow import warp
from reid_bench.baselines.intrflow import BACKGROUND, INVISIBLE, VISIBLE, keypoint_flow
from reid_bench.errors import ReidBenchError
from reid_bench.generators.base import count_parameters
from reid_bench.generators.run_config import configure

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = TINY_OPTIONS["intrflow"]


def test_registered_and_declares_its_needs() -> None:
    assert "intrflow" in generators.names()
    model = generators.create("intrflow", **TINY)
    assert model.needs == frozenset({"heatmap", "keypoints", "mask"})
    assert set(model.preset_options) == {"quick", "market", "deepfashion"}


def test_a_small_odd_size_comes_back_exactly() -> None:
    """30x18 (3 levels): decoder features are cropped to their skips' sizes."""
    model = generators.create("intrflow", **TINY).eval()
    check_output_size_and_range(model, random_pose_batch(1, 30, 18, keypoints=True), (1, 3, 30, 18))


def test_without_vgg_the_losses_are_l1_adversarial_flow_and_visibility() -> None:
    model = generators.create("intrflow", **{**TINY, "perceptual": False})
    batch = random_pose_batch(2, 32, 16, keypoints=True)
    with torch.no_grad():
        terms = model.generator_losses(batch, model(batch), model.build_discriminators(), nn.ModuleDict())
    assert {"l1", "adversarial", "flow", "visibility"} <= set(terms) and "content" not in terms


def test_without_end_to_end_the_image_loss_does_not_reach_the_flow_network() -> None:
    model = generators.create("intrflow", **{**TINY, "end_to_end": False})
    batch = random_pose_batch(2, 32, 16, keypoints=True)
    nn.functional.l1_loss(model(batch), batch["tgt_image"]).backward()
    assert all(p.grad is None for p in model.flow_net.parameters())
    assert any(p.grad is not None for p in model.generator.parameters())


def test_keypoint_pseudo_flow_of_a_translated_person() -> None:
    """Target = source moved by (dx, dy) = (3, 5): the flow inside the target mask is (-3, -5)."""
    height, width = 128, 64
    src_mask = torch.zeros(1, 1, height, width)
    src_mask[..., 10:118, 15:50] = 1
    tgt_mask = torch.roll(src_mask, shifts=(5, 3), dims=(2, 3))
    source = STANDING[None]
    target = source + torch.tensor([5.0, 3.0])
    flow, visibility, valid = keypoint_flow(source, target, src_mask, tgt_mask)
    inside = tgt_mask[0, 0] > 0
    assert valid[0, 0][inside].all() and not valid[0, 0][~inside].any()
    assert torch.allclose(flow[0, 0][inside], torch.tensor(-3.0), atol=1e-3)
    assert torch.allclose(flow[0, 1][inside], torch.tensor(-5.0), atol=1e-3)
    assert (visibility[0][inside] == VISIBLE).all() and (visibility[0][~inside] == BACKGROUND).all()
    warped = warp(src_mask, flow)
    assert torch.equal(warped[0, 0][inside] > 0.5, torch.ones(int(inside.sum()), dtype=torch.bool))


def test_a_limb_missing_in_the_source_is_invisible() -> None:
    height, width = 128, 64
    mask = torch.zeros(1, 1, height, width)
    mask[..., 10:118, 15:50] = 1
    source = STANDING[None].clone()
    source[0, 10] = -1  # right ankle not seen in the source: the right shin cannot be fitted
    _, visibility, valid = keypoint_flow(source, STANDING[None], mask, mask)
    shin = (100, 26)  # on the target's right shin, between knee (88, 26) and ankle (112, 26)
    assert visibility[0, shin[0], shin[1]] == INVISIBLE and valid[0, 0, shin[0], shin[1]] == 0
    assert visibility[0, 40, 32] == VISIBLE  # the torso still maps


def test_pseudo_flow_fits_a_scaled_pose_as_a_similarity() -> None:
    mask = torch.ones(1, 1, 128, 64)
    source = STANDING[None]
    target = source * 0.5 + torch.tensor([20.0, 10.0])  # target coordinates = 0.5 * source + shift
    flow, _, valid = keypoint_flow(source, target, mask, mask)
    y, x = 60, 30  # a target pixel near the torso; its source position is (p - shift) / 0.5
    expected = (torch.tensor([x - 10.0, y - 20.0]) / 0.5) - torch.tensor([float(x), float(y)])
    assert valid[0, 0, y, x] == 1
    assert torch.allclose(flow[0, :, y, x], expected, atol=1e-2)


def test_presets_sizes_and_the_offline_vgg_rule() -> None:
    presets = generators.get("intrflow").preset_options
    market = presets["market"]
    assert (market["scales"], market["warp_scales"], market["flow_scales"]) == (5, 4, 4)
    assert (presets["deepfashion"]["scales"], presets["deepfashion"]["warp_scales"]) == (7, 5)
    model = generators.create("intrflow", **presets["deepfashion"])
    assert 19.0e6 < count_parameters(model) < 19.5e6  # G 12.66M + F 6.59M
    with pytest.raises(ReidBenchError, match="vgg19-dcbb9e9d.pth"):
        configure("intrflow", data="synthetic", preset="market")
    assert configure("intrflow", data="synthetic", preset=PLAIN_QUICK.generator).options["perceptual"] is False
    with pytest.raises(ReidBenchError):
        generators.create("intrflow", scales=3, warp_scales=4)


def test_content_loss_with_a_stand_in_vgg_file(tmp_path: Path) -> None:
    stand_in = write_stand_in_vgg(tmp_path / "random-vgg19-STAND-IN.pth", convs=13)  # up to relu5_1
    model = generators.create("intrflow", **TINY)
    batch = random_pose_batch(2, 32, 16, keypoints=True)
    terms = model.generator_losses(batch, model(batch), model.build_discriminators(),
                                   model.build_loss_networks(stand_in))
    assert terms["content"] > 0
