"""VU-Net baseline (baselines/vunet.py): the stickman, the KL ramp and its step counter, the posterior
mean, no discriminator, the offline VGG rule. Sizes, gradients, the shared loop (the step counter
is saved with the weights) and the short overfit: test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import STANDING, TINY_OPTIONS, check_offline_vgg_rule, collated_batch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from reid_bench import generators
from reid_bench.baselines.vunet import stickman
from reid_bench.errors import ReidBenchError

pytestmark = pytest.mark.usefixtures("one_thread", "no_vgg")

TINY = TINY_OPTIONS["vunet"]


def tiny(**options) -> generators.Generator:
    torch.manual_seed(0)
    return generators.create("vunet", **{**TINY, **options})


def test_registered_with_needs() -> None:
    assert "vunet" in generators.names()
    model = tiny()
    assert model.name == "vunet" and model.needs == {"keypoints"}
    with pytest.raises(ReidBenchError, match="latent_scales"):
        generators.create("vunet", scales=3, latent_scales=4)


def test_stickman_draws_right_left_and_torso_in_their_channels() -> None:
    pose = STANDING.unsqueeze(0)
    image = stickman(pose, 128, 64)[0]
    assert image.shape == (3, 128, 64) and image.min() == -1 and image.max() == 1
    assert image[:, 100, 26].tolist() == [1, -1, -1]  # right shin: red
    assert image[:, 100, 38].tolist() == [-1, 1, -1]  # left shin: green
    assert image[2, 45, 32] == 1  # inside the torso: blue
    assert (image[:, 5, 5] == -1).all()  # background
    neck_to_nose = image[:, 20, 32]
    assert torch.allclose(neck_to_nose[:2], torch.tensor([127 / 255 * 2 - 1] * 2))
    no_right_leg = pose.clone()
    no_right_leg[0, 10] = -1
    assert stickman(no_right_leg, 128, 64)[0, 0, 100, 26] == -1


def test_kl_weight_ramps_like_the_code() -> None:
    model = tiny(kl_start=100, kl_end=200)
    assert model.kl_weight(0) == 1e-6 and model.kl_weight(100) == pytest.approx(1e-6)
    assert model.kl_weight(150) == pytest.approx(0.5, abs=1e-5) and model.kl_weight(500) == 1.0
    defaults = generators.create("vunet", **TINY)
    assert defaults.kl_weight(50_000) == pytest.approx(1e-6) and defaults.kl_weight(75_000) == 1.0


def test_generation_uses_the_posterior_mean_and_the_source(people: Path) -> None:
    model = tiny().eval()
    data = collated_batch("vunet", people, (32, 16))
    with torch.no_grad():
        first, second = model(data), model(data)
        other = model(dict(data, src_image=-data["src_image"]))
    assert torch.equal(first, second)
    assert not torch.allclose(first, other)


def test_each_training_loss_call_counts_a_step_and_there_is_no_discriminator(people: Path) -> None:
    model = tiny(kl_start=-2, kl_end=-1)  # full KL weight from the start
    discriminators = model.build_discriminators()
    data = collated_batch("vunet", people, (32, 16), 3)
    fake = model(data)
    losses = model.generator_losses(data, fake, discriminators, nn.ModuleDict())
    assert losses["kl_weight"] == 1 and int(model.kl_step) == 1
    assert len(discriminators) == 0  # VU-Net has no adversary: the loop has no discriminator step
    with pytest.raises(ReidBenchError, match="no discriminators"):
        model.discriminator_losses(data, fake.detach(), discriminators)


def test_perceptual_likelihood_runs_on_vgg_features(people: Path, tmp_path: Path) -> None:
    features = make_layers(cfgs["E"])  # random weights: checks the code path only
    stand_in = tmp_path / "random-vgg19-STAND-IN.pth"
    torch.save({f"features.{key}": value for key, value in features.state_dict().items()}, stand_in)
    model = tiny(perceptual=True)
    with pytest.raises(ReidBenchError, match="no VGG-19 weights"):
        model.build_loss_networks(None)
    data = collated_batch("vunet", people, (32, 32))
    networks = model.build_loss_networks(stand_in)
    losses = model.generator_losses(data, model(data), model.build_discriminators(), networks)
    assert {"vgg_relu1_2", "vgg_relu5_2"} <= set(losses) and torch.isfinite(losses["total"])


def test_paper_preset_stops_without_vgg_and_quick_records_it() -> None:
    check_offline_vgg_rule("vunet", "deepfashion")


def test_presets_hold_the_papers_settings() -> None:
    presets = generators.get("vunet").preset_options
    for preset in ("market", "deepfashion"):
        assert (presets[preset]["channels"], presets[preset]["max_channels"]) == (32, 128)
        assert (presets[preset]["kl_start"], presets[preset]["kl_end"]) == (50_000, 75_000)
