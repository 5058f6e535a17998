"""The losses of SAN (paper Sec. 3.3, eqs. 4-7), shared with the baselines.

- :func:`adversarial_loss`: eq. 4. The paper's discriminator ends in a sigmoid and is trained on
  log D(real) + log(1 - D(fake)); the sigmoid is folded into ``binary_cross_entropy_with_logits``
  here (mathematically the same, numerically stable, and allowed under autocast). The generator
  uses the usual non-saturating form, -log D(fake), as pix2pix and PATN do.
- ``torch.nn.functional.l1_loss``: eq. 5, the mean absolute pixel difference.
- :class:`VGGFeatures` + :func:`perceptual_loss`: eq. 6, the mean squared distance between
  ImageNet VGG-19 activations of the generated and the real target image (1/(W H C) times the
  summed squares, i.e. an MSE). The paper does not name the layer; the default is ``relu1_2``,
  the layer PATN's code uses (``--perceptual_layers 3``, features[:4]) and the code SAN builds on,
  which also keeps the term cheap; any VGG-19 layer name (``conv1_1`` ... ``relu4_1`` ...
  ``pool5``) can be chosen. PATN takes an L1 distance there; eq. 6 is squared, so MSE it is.
- :class:`VGGTaps`: several activations of the same frozen VGG-19 in one pass, for the losses
  that read more than one layer (VU-Net's likelihood, Intr-Flow's and GFLA's content, style and
  sampling-correctness terms); :meth:`reid_bench.generators.base.Generator.build_loss_networks`
  builds one of the two from the layers a generator names.

- :func:`region_colour_loss`: the mean and standard deviation of each colour channel inside each
  parsing region, matched between the generated and the real target image: the GAN loop's
  ``region_colour_weight`` (``generators.training``, "Recipe terms").

VGG-19 weights are torchvision's ``vgg19-dcbb9e9d.pth``, found offline by ``reid_bench.weights``;
only the ``features.*`` tensors up to the chosen layer are read, so a file holding just those works.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from reid_bench.errors import ReidBenchError
from reid_bench.storage import load_torch_file

# torchvision's VGG-19 ("E") features: channel counts, "M" = 2x2 max-pool.
_VGG19_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                 512, 512, 512, 512, "M")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_layer_names() -> list[str]:
    """Names of ``torchvision.models.vgg19().features[i]`` by index: conv1_1, relu1_1, ..., pool5."""
    names: list[str] = []
    block, index = 1, 1
    for item in _VGG19_CONFIG:
        if item == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index += 1
    return names


class VGGFeatures(nn.Module):
    """Frozen VGG-19 ``features`` up to and including ``layer``; input images in [-1, 1]."""

    def __init__(self, weights: str | os.PathLike, layer: str = "relu1_2") -> None:
        super().__init__()
        names = vgg19_layer_names()
        if layer not in names:
            raise ReidBenchError(f"unknown VGG-19 layer {layer!r}; choose one of {', '.join(names)}.")
        self.layer = layer
        self.features = _vgg19_features(names.index(layer) + 1)
        _load_features(self.features, Path(weights))
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGGFeatures":
        return super().train(False)  # always frozen: no dropout/batch-norm anyway, but be explicit

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.features(((image + 1) / 2 - self.mean) / self.std)


class VGGTaps(nn.Module):
    """Frozen VGG-19 returning the activations named in ``layers`` (images in [-1, 1]), by name:
    a :class:`VGGFeatures` (same file reading, normalisation and freezing) cut at the deepest one."""

    def __init__(self, weights: str | os.PathLike, layers: Iterable[str]) -> None:
        super().__init__()
        names = vgg19_layer_names()
        self.layers = tuple(dict.fromkeys(layers))
        deepest = max(self.layers, key=names.index)
        self.vgg = VGGFeatures(weights, deepest)
        self.names = names[: names.index(deepest) + 1]

    def train(self, mode: bool = True) -> "VGGTaps":
        return super().train(False)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((image + 1) / 2 - self.vgg.mean) / self.vgg.std
        taps = {}
        for name, layer in zip(self.names, self.vgg.features):
            x = layer(x)
            if name in self.layers:
                taps[name] = x
        return taps


def _vgg19_features(length: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for item in _VGG19_CONFIG:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU()]
            channels = int(item)
    return nn.Sequential(*layers[:length])


def _load_features(features: nn.Sequential, path: Path) -> None:
    state = load_torch_file(path, "VGG-19 weights", "pass torchvision's vgg19-dcbb9e9d.pth")
    wanted = {key: f"features.{key}" for key in features.state_dict()}
    missing = [source for source in wanted.values() if source not in state]
    if missing:
        raise ReidBenchError(
            f"{path} is not a torchvision VGG-19 state dict (no {missing[0]}); pass vgg19-dcbb9e9d.pth."
        )
    try:
        features.load_state_dict({key: state[source] for key, source in wanted.items()})
    except RuntimeError as error:
        raise ReidBenchError(f"{path} does not hold VGG-19 weights: {str(error).splitlines()[0]}") from error


def adversarial_loss(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Binary cross-entropy of sigmoid(``logits``) against all-real or all-fake labels (eq. 4)."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def perceptual_loss(vgg: nn.Module, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 6: mean squared distance of VGG activations; the target's are constants."""
    with torch.no_grad():
        target_features = vgg(target)
    return F.mse_loss(vgg(fake).float(), target_features.float())


def region_colour_loss(fake: torch.Tensor, target: torch.Tensor, parsing: torch.Tensor) -> torch.Tensor:
    """L1 between the per-region colour statistics of ``fake`` and ``target``: for every image, every
    foreground label of the one-hot ``parsing`` ``(N, L, H, W)`` (label 0, the background, is left out)
    that covers a pixel, and every colour channel, the mean and the standard deviation of the pixels
    inside it; averaged over the (image, label) pairs present.

    Both images are in the target's pose, so ``parsing`` (the target's) selects the same body part in
    each. Unlike a pixel L1, the statistics need no pixel-exact alignment, so a generator that cannot
    place every pixel is still pushed to give each garment its colour (the means) and its contrast
    (the deviations, which a blurred average lacks). This is a plain form of the per-part appearance
    codes that ADGAN (Men et al., CVPR 2020) takes from a parsing map's regions, used here as a loss
    rather than as the generator's input; the per-channel mean and deviation are AdaIN's statistics
    (Huang and Belongie, ICCV 2017)."""
    weights = parsing[:, 1:].float()  # (N, L-1, H, W)
    area = weights.sum(dim=(2, 3))  # (N, L-1)
    present = area > 0
    area = area.clamp(min=1)[..., None]

    def statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = images.float()
        mean = torch.einsum("nlhw,nchw->nlc", weights, images) / area
        square = torch.einsum("nlhw,nchw->nlc", weights, images * images) / area
        return mean, (square - mean * mean).clamp(min=1e-6).sqrt()

    fake_mean, fake_std = statistics(fake)
    target_mean, target_std = statistics(target)
    error = (fake_mean - target_mean).abs() + (fake_std - target_std).abs()  # (N, L-1, C)
    return error.mean(dim=2)[present].mean() if bool(present.any()) else fake.sum() * 0
