"""Losses: adversarial (eq. 4), the VGG-19 perceptual term (eq. 6), and reading VGG weights.

There is no pretrained VGG-19 here: the tests save a randomly initialised torchvision VGG-19
``features`` state dict as a STAND-IN file, which checks the loading and layer code paths only.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torchvision

from reid_bench.errors import ReidBenchError
from reid_bench.generators.losses import VGGFeatures, adversarial_loss, perceptual_loss, vgg19_layer_names


@pytest.fixture(scope="module")
def torchvision_features() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torchvision.models.vgg19(weights=None).features


@pytest.fixture(scope="module")
def stand_in_vgg(tmp_path_factory: pytest.TempPathFactory,
                 torchvision_features: torch.nn.Sequential) -> tuple[Path, torch.nn.Module]:
    """A random-weights stand-in for vgg19-dcbb9e9d.pth (features only, up to relu2_1)."""
    features = torchvision_features[:7]
    path = tmp_path_factory.mktemp("vgg") / "random-vgg19-features-STAND-IN.pth"
    torch.save({f"features.{key}": value for key, value in features.state_dict().items()}, path)
    return path, features.eval()


def test_layer_names_follow_torchvision_indices(torchvision_features: torch.nn.Sequential) -> None:
    names = vgg19_layer_names()
    features = torchvision_features
    assert len(names) == len(features) == 37
    assert names.index("relu1_2") == 3 and names.index("relu4_1") == 20 and names[-1] == "pool5"
    for name, layer in zip(names, features):
        kind = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}[name[:4]]
        assert isinstance(layer, kind)


def test_vgg_features_match_torchvision(stand_in_vgg: tuple[Path, torch.nn.Module]) -> None:
    path, reference = stand_in_vgg
    vgg = VGGFeatures(path, "relu2_1")
    image = torch.rand(2, 3, 32, 16) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(vgg(image), reference(((image + 1) / 2 - mean) / std))
    assert not any(p.requires_grad for p in vgg.parameters())
    assert VGGFeatures(path, "relu1_2")(image).shape == (2, 64, 32, 16)


def test_vgg_layer_beyond_the_file_or_a_wrong_file(stand_in_vgg: tuple[Path, torch.nn.Module], tmp_path: Path) -> None:
    path, _ = stand_in_vgg
    with pytest.raises(ReidBenchError, match="not a torchvision VGG-19 state dict"):
        VGGFeatures(path, "relu4_1")
    with pytest.raises(ReidBenchError, match="unknown VGG-19 layer"):
        VGGFeatures(path, "relu6_1")
    junk = tmp_path / "junk.pth"
    junk.write_text("no")
    with pytest.raises(ReidBenchError, match="could not be read"):
        VGGFeatures(junk)


def test_perceptual_loss_is_a_mean_squared_feature_distance(stand_in_vgg: tuple[Path, torch.nn.Module]) -> None:
    vgg = VGGFeatures(stand_in_vgg[0], "relu1_2")
    target = torch.rand(2, 3, 32, 16) * 2 - 1
    fake = (torch.rand(2, 3, 32, 16) * 2 - 1).requires_grad_()
    loss = perceptual_loss(vgg, fake, target)
    assert float(perceptual_loss(vgg, target, target)) == 0
    torch.testing.assert_close(loss, ((vgg(fake) - vgg(target)) ** 2).mean())
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_adversarial_loss_is_binary_cross_entropy_of_the_sigmoid() -> None:
    logits = torch.tensor([0.0, 2.0])
    expected_real = -(math.log(0.5) + math.log(1 / (1 + math.exp(-2)))) / 2
    assert float(adversarial_loss(logits, real=True)) == pytest.approx(expected_real)
    expected_fake = -(math.log(0.5) + math.log(1 - 1 / (1 + math.exp(-2)))) / 2
    assert float(adversarial_loss(logits, real=False)) == pytest.approx(expected_fake)
