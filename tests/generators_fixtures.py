"""Synthetic sample dicts (DESIGN.md) for the generator tests: random batches, and
synthetic-but-structured pose-transfer pairs; and helpers the generator tests share (each suite
generator's narrow test options, SynthPeople pairs, a STAND-IN VGG file, gradient and shared-loop
checks).

Each pair shows one "person" (a face, an upper-clothes block and a pants block in per-person
colours on a grey background) at two horizontal positions; the parsing and mask are exact.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from conftest import STANDING_POSE
from plain_presets import PLAIN_QUICK
from torch import nn
from torch.utils.data import Dataset, Subset, default_collate

from reid_bench import generators
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.errors import ReidBenchError
from reid_bench.generators.run_config import RunConfig, configure
from reid_bench.generators.training import TrainResult, train

LABELS = {"face": 13, "upper": 5, "pants": 9}

# Narrow options of each suite generator for fast CPU tests (its per-model file and the contract,
# tests/test_generator_contract.py, use them); a generator not listed is tested with its quick preset.
TINY_OPTIONS: dict[str, dict] = {
    "san": {"channels": 2, "blocks": 1, "perceptual": False},
    "pg2": {"channels": 2, "bottleneck": 8, "discriminator_channels": 4},
    "defgan": {"channels": 4, "levels": 4, "discriminator_channels": 4, "perceptual": False},  # D: >= 64x32
    "dpig": {"channels": 4, "bottleneck": 8, "roi_size": 8, "part_dim": 4, "pose_dim": 4, "pose_hidden": 8,
             "pose_blocks": 1, "discriminator_channels": 4},
    "vunet": {"channels": 4, "max_channels": 8, "scales": 4, "perceptual": False},
    "patn": {"channels": 4, "blocks": 2, "discriminator_channels": 4, "discriminator_blocks": 1, "dropout": False,
             "discriminator_dropout": False},
    "intrflow": {"channels": 4, "max_channels": 8, "scales": 3, "warp_scales": 2, "residual_blocks": 1,
                 "flow_channels": 4, "flow_max_channels": 8, "flow_scales": 2, "discriminator_channels": 4,
                 "discriminator_layers": 2},
    "gfla": {"channels": 4, "max_channels": 16, "flow_channels": 4, "flow_max_channels": 8, "flow_layers": 3,
             "attention_layers": "2", "kernel_sizes": "3", "discriminator_channels": 4,
             "discriminator_max_channels": 8, "discriminator_layers": 2},
}


def person(height: int, width: int, left: int, colours: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(image (3,H,W) in [-1,1], label map (H,W)) of a person whose body starts at column ``left``."""
    labels = torch.zeros(height, width, dtype=torch.long)
    body = max(2, width // 3)
    rows = [(0.05, 0.25, "face"), (0.25, 0.6, "upper"), (0.6, 0.95, "pants")]
    for top, bottom, part in rows:
        labels[int(top * height):int(bottom * height), left:left + body] = LABELS[part]
    image = torch.full((3, height, width), 0.2)
    for index, part in enumerate(("face", "upper", "pants")):
        image[:, labels == LABELS[part]] = colours[index].view(3, 1)
    return image, labels


def sample(index: int, height: int = 32, width: int = 16) -> dict:
    generator = torch.Generator().manual_seed(index)
    colours = torch.rand(3, 3, generator=generator) * 2 - 1
    body = max(2, width // 3)
    lefts = torch.randint(0, width - body + 1, (2,), generator=generator).tolist()
    item = {"pid": index, "src_name": f"{index:04d}_a.jpg", "tgt_name": f"{index:04d}_b.jpg"}
    for prefix, left in zip(("src", "tgt"), lefts):
        image, labels = person(height, width, left, colours)
        parsing = torch.nn.functional.one_hot(labels, 20).permute(2, 0, 1).float()
        item.update({f"{prefix}_image": image, f"{prefix}_parsing": parsing,
                     f"{prefix}_mask": (labels > 0).float().unsqueeze(0)})
    return item


def random_batch(batch: int, height: int, width: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    items = {}
    for prefix in ("src", "tgt"):
        labels = torch.randint(0, 20, (batch, height, width), generator=generator)
        items[f"{prefix}_image"] = torch.rand(batch, 3, height, width, generator=generator) * 2 - 1
        items[f"{prefix}_parsing"] = torch.nn.functional.one_hot(labels, 20).permute(0, 3, 1, 2).float()
        items[f"{prefix}_mask"] = (labels > 0).float().unsqueeze(1)
    return items


def random_pose_batch(batch: int, height: int, width: int, keypoints: bool = False) -> dict[str, torch.Tensor]:
    """Random images and 18-channel heatmaps; with ``keypoints``, also jittered STANDING keypoints
    (scaled to the size) and random masks."""
    generator = torch.Generator().manual_seed(0)
    items = {}
    scale = torch.tensor([height / 128, width / 64])
    for prefix in ("src", "tgt"):
        items[f"{prefix}_image"] = torch.rand(batch, 3, height, width, generator=generator) * 2 - 1
        items[f"{prefix}_heatmap"] = torch.rand(batch, 18, height, width, generator=generator)
        if keypoints:
            jitter = torch.randn(batch, 18, 2, generator=generator) * 2
            items[f"{prefix}_keypoints"] = (STANDING * scale + jitter).clamp_min(0)
            items[f"{prefix}_mask"] = (torch.rand(batch, 1, height, width, generator=generator) > 0.5).float()
    return items


class SyntheticPairs(Dataset):
    def __init__(self, count: int = 8, height: int = 32, width: int = 16) -> None:
        self.items = [sample(i, height, width) for i in range(count)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]

# tests/conftest.py's standing person on a 128x64 image, (y, x) in COCO-OpenPose order, as a tensor.
STANDING = torch.from_numpy(STANDING_POSE).float()


def transfer_pairs(generator: str, root: Path, size: tuple[int, int]) -> PoseTransferPairs:
    """The train pairs of the dataset at ``root``, at ``size``, with what ``generator`` needs."""
    return PoseTransferPairs(load_dataset(root), "train", needs=generators.get(generator).needs, image_size=size)


def first_pairs(generator: str, root: Path, size: tuple[int, int], count: int) -> list[dict]:
    """The first ``count`` of :func:`transfer_pairs`, loaded (a list is a Dataset)."""
    data = transfer_pairs(generator, root, size)
    return [data[i] for i in range(count)]


def collated_batch(generator: str, root: Path, size: tuple[int, int], count: int = 2) -> dict:
    """The first ``count`` of :func:`transfer_pairs` as one batch."""
    return default_collate(first_pairs(generator, root, size, count))


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


def check_output_size_and_range(model: generators.Generator, data: dict, shape: tuple[int, ...]) -> None:
    """``model`` (without gradients) maps ``data`` to images of ``shape`` in [-1, 1]."""
    with torch.no_grad():
        out = model(data)
    assert out.shape == shape and out.min() >= -1 and out.max() <= 1, (out.shape, out.min(), out.max())


def silent_parameters(module: nn.Module) -> list[str]:
    """Names of the parameters of ``module`` without a non-zero gradient."""
    return [name for name, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]


def check_gradients_reach_every_parameter(model: generators.Generator, data: dict) -> tuple[dict, nn.ModuleDict]:
    """Backpropagate ``model``'s generator and (if it has discriminators) discriminator losses on ``data``
    (no loss networks) and assert every parameter of both got a gradient; return the generator's terms
    and the discriminators."""
    discriminators = model.build_discriminators()
    fake = model(data)
    terms = model.generator_losses(data, fake, discriminators, nn.ModuleDict())
    terms["total"].backward()
    if len(discriminators):
        model.discriminator_losses(data, fake.detach(), discriminators)["total"].backward()
    for module in (model, discriminators):
        silent = silent_parameters(module)
        assert not silent, f"no gradient: {silent}"
    return terms, discriminators


def quick_config(generator: str, data: str, options: dict, **settings) -> RunConfig:
    """The quick preset with ``options`` and ``settings``, no resizing, no samples or checkpoints on the way."""
    return configure(generator, data=data, preset=PLAIN_QUICK.generator, options=options, image_size=None,
                     sample_every=1000, checkpoint_every=1000, **settings)


def check_offline_vgg_rule(generator: str, paper_preset: str) -> None:
    """Without VGG-19 weights (``no_vgg``), ``paper_preset`` stops and ``quick`` runs without the perceptual
    term and records why."""
    with pytest.raises(ReidBenchError, match="vgg19"):
        configure(generator, data="x", preset=paper_preset)
    config = configure(generator, data="x", preset=PLAIN_QUICK.generator)
    assert config.options["perceptual"] is False and config.perceptual.startswith("off (vgg19 weights missing")


def logged_losses(result: TrainResult) -> list[dict[str, str]]:
    """The rows of a run's loss log."""
    with open(result.losses, newline="") as handle:
        return list(csv.DictReader(handle))


def two_steps_in_the_loop(generator: str, root: Path, tmp_path: Path, options: dict,
                          size: tuple[int, int]) -> tuple[RunConfig, TrainResult]:
    """Two steps (batch 4) of the shared loop on the pairs at ``root``: the config and the result."""
    config = quick_config(generator, str(root), options, steps=2, batch_size=4, log_every=1)
    return config, train(config, transfer_pairs(generator, root, size), tmp_path / "run", progress=False)


def l1_on(model: generators.Generator, data: dict) -> float:
    """Mean absolute error of ``model`` (in eval mode) to the targets of ``data``."""
    with torch.no_grad():
        return float((model.eval()(data) - data["tgt_image"]).abs().mean())


def overfit_l1(generator: str, root: Path, tmp_path: Path, options: dict, size: tuple[int, int], steps: int,
               lr: float) -> tuple[float, float, RunConfig, TrainResult]:
    """The L1 on four fixed pairs of ``root`` before and after ``steps`` steps (batch 4) on them in the
    shared loop, and the run's config and result."""
    config = quick_config(generator, str(root), options, steps=steps, batch_size=4, lr=lr, log_every=10)
    fixed = Subset(transfer_pairs(generator, root, size), range(4))
    torch.manual_seed(config.settings.seed)  # the loop builds its model right after this seed
    before = l1_on(generators.create(generator, **config.options), default_collate(list(fixed)))
    result = train(config, fixed, tmp_path / "run", progress=False)
    after = l1_on(generators.load(result.generator), default_collate(list(fixed)))
    return before, after, config, result


def overfit_in_the_loop(generator: str, options: dict, pairs: list[dict],
                        tmp_path: Path) -> tuple[RunConfig, TrainResult]:
    """60 quick steps (batch 8, lr 2e-3, a loss row every 5) on ``pairs`` in the shared loop."""
    config = quick_config(generator, "synthetic", options, steps=60, batch_size=8, lr=2e-3, log_every=5)
    return config, train(config, pairs, tmp_path / "run", progress=False)
