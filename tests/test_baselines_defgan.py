"""Def-GAN baseline (baselines/defgan.py): part affines and masks, the nearest-neighbour loss, the
offline VGG rule. Sizes, gradients, the shared loop and the short overfit: test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import STANDING, TINY_OPTIONS, check_offline_vgg_rule, collated_batch
from torch import nn

from reid_bench import generators
from reid_bench.baselines.defgan import deform, nearest_neighbour_l1, part_affines, part_masks
from reid_bench.errors import ReidBenchError

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = TINY_OPTIONS["defgan"]  # D's 5 stride-2 convs: >= 64x32


def tiny(**options) -> generators.Generator:
    torch.manual_seed(0)
    return generators.create("defgan", **{**TINY, **options})


def test_registered_with_needs() -> None:
    assert "defgan" in generators.names()
    model = tiny()
    assert model.name == "defgan" and model.needs == {"keypoints", "heatmap"}
    with pytest.raises(ReidBenchError, match="nn_size"):
        generators.create("defgan", nn_size=4)


def test_affines_are_the_identity_for_the_same_pose_and_missing_parts_are_invalid() -> None:
    pose = STANDING.unsqueeze(0)
    theta, valid = part_affines(pose, pose, 128, 64)
    assert valid.all()
    assert torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(1, 10, 2, 3), atol=1e-5)
    no_nose = pose.clone()
    no_nose[0, 0] = -1
    _, valid = part_affines(pose, no_nose, 128, 64)
    assert valid[0].tolist() == [True, False] + [True] * 8  # the head needs the nose


def test_a_missing_source_limb_is_taken_from_the_mirrored_one() -> None:
    source, target = STANDING.clone().unsqueeze(0), STANDING.clone().unsqueeze(0)
    source[0, 4] = -1  # no right wrist in the source: the right forearm uses the left one
    _, valid = part_affines(source, target, 128, 64)
    assert valid[0, 8]  # (Relb, Rwri, Rsho) is limb 8
    source[0, 7] = -1  # neither wrist
    _, valid = part_affines(source, target, 128, 64)
    assert not valid[0, 8] and not valid[0, 9]


def test_warping_moves_features_with_the_keypoints() -> None:
    source = STANDING.unsqueeze(0)
    target = source.clone()
    target[..., 1] += 4  # the target stands 4 px further right
    theta, valid = part_affines(source, target, 128, 64)
    features = torch.zeros(1, 1, 128, 64)
    features[..., 40:60, 20:30] = 1
    moved = deform(features, theta[:, :1], torch.ones(1, 1, 128, 64), "max")
    assert torch.allclose(moved[0, 0, 50], torch.roll(features[0, 0, 50], 4), atol=1e-4)


def test_part_masks_are_boxes_around_the_target_parts() -> None:
    masks = part_masks(STANDING.unsqueeze(0), 128, 64)
    assert masks.shape == (1, 10, 128, 64)
    torso = masks[0, 0]
    assert torso[45, 32] == 1 and torso[5, 32] == 0 and torso[120, 32] == 0
    for part in range(10):
        assert masks[0, part].sum() > 0


def test_nearest_neighbour_loss_forgives_one_pixel_shifts() -> None:
    image = torch.rand(1, 3, 16, 8)
    shifted = torch.roll(image, 1, dims=-1)
    assert nearest_neighbour_l1(image, image, 3) == 0
    # only the wrapped column is off by more than a pixel
    assert nearest_neighbour_l1(image, shifted, 3) < 0.25 * nearest_neighbour_l1(image, shifted, 1)
    assert torch.isclose(nearest_neighbour_l1(image, shifted, 1), (image - shifted).abs().sum(1).mean())


def test_perceptual_loss_runs_on_vgg_features(people: Path, tmp_path: Path) -> None:
    features = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())
    stand_in = tmp_path / "random-vgg19-STAND-IN.pth"  # random weights: checks the code path only
    torch.save({f"features.{key}": value for key, value in features.state_dict().items()}, stand_in)
    model = tiny(perceptual=True)
    with pytest.raises(ReidBenchError, match="no VGG-19 weights"):
        model.build_loss_networks(None)
    networks = model.build_loss_networks(stand_in)
    data = collated_batch("defgan", people, (64, 32))
    losses = model.generator_losses(data, model(data), model.build_discriminators(), networks)
    assert losses["nn"] > 0 and torch.isfinite(losses["total"])


def test_paper_preset_stops_without_vgg_and_quick_records_it() -> None:
    check_offline_vgg_rule("defgan", "market")


def test_presets_hold_the_papers_settings() -> None:
    presets = generators.get("defgan").preset_options
    assert presets["market"]["nn_size"] == 3 and presets["deepfashion"]["nn_size"] == 5
    assert presets["market"]["levels"] == 6 and presets["deepfashion"]["levels"] == 7
    assert presets["market"]["content_weight"] == 0.01
