"""Backbones: an image batch in, one pooled feature vector per image out.

- ``resnet50`` / ``resnet18``: torchvision's ResNets (He et al. 2016) with the ImageNet ``fc``
  removed, so the output is global-average-pooled ``pool5`` (2048-d / 512-d) as in IDE (Zheng et
  al. 2016). Last stride stays 2, as in the IDE paper (later baselines use 1).
- ``resnet18-wN``: ResNet-18 (He et al. 2016; torchvision's ``BasicBlock``, the same layout) with
  its stage widths scaled from 64, 128, 256, 512 to N, 2N, 4N, 8N, and no ImageNet weights: a cheaper
  network to train from scratch on a CPU (``resnet18-w32`` has about a quarter of ResNet-18's
  multiply-adds). Initialised as torchvision initialises its ResNets.
- ``torchvision:NAME``: any torchvision classification network (``regnet_x_400mf``,
  ``shufflenet_v2_x1_0``, ``mobilenet_v3_small``, ...) with its classifier removed, so its output is
  the globally pooled feature of its last stage; ImageNet weights come from the file given with
  ``--backbone-weights`` (the suite knows the cache names of the two ResNets only).
- ``torchreid:NAME``: any torchreid model-zoo network, built with ``pretrained=False`` (torchreid's
  own download is never attempted) and ``loss="triplet"`` so that in training mode it returns
  ``(logits, features)``; its 1-class classifier is ignored and the features are used.
- ``tiny``: a 4-stage CNN (conv-BN-ReLU, 32..256 channels, 256-d) for tests and CPU smoke runs.
  It is from no paper and its numbers mean nothing beyond "the pipeline learns".

ImageNet weights are found offline (DESIGN.md, "Weights and the offline world"): the path given,
else torchvision's file in the torch hub cache (:mod:`reid_bench.weights`), else random
initialisation with a warning. Whether weights were loaded travels with the model as
``Backbone.pretrained`` and ends up in every result row.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torchvision
from torch import nn

from reid_bench import weights
from reid_bench.errors import ReidBenchError
from reid_bench.storage import load_torch_file

TORCHREID_PREFIX = "torchreid:"
TORCHVISION_PREFIX = "torchvision:"
NARROW_PREFIX = "resnet18-w"
TORCHVISION_NAMES = ("resnet50", "resnet18")


@dataclass
class Backbone:
    name: str
    module: nn.Module  # (B, 3, H, W) -> (B, feature_dim)
    feature_dim: int
    pretrained: bool  # ImageNet weights were loaded


def build(name: str, weights_path: str | os.PathLike | None = None, *,
          load_weights: bool = True) -> Backbone:
    """Build backbone ``name``, loading ImageNet weights found offline (else random, warned).

    ``load_weights=False`` builds the bare architecture (to load a trained checkpoint into).
    """
    if name in TORCHVISION_NAMES:
        return _torchvision_resnet(name, weights_path, load_weights)
    if name == "tiny":
        if weights_path:
            raise ReidBenchError("the tiny backbone has no pretrained weights; drop --backbone-weights.")
        return Backbone("tiny", TinyNet(), TinyNet.feature_dim, pretrained=False)
    if name.startswith(TORCHREID_PREFIX):
        return _torchreid_model(name, weights_path, load_weights)
    if name.startswith(TORCHVISION_PREFIX):
        return _torchvision_model(name, weights_path, load_weights)
    if name.startswith(NARROW_PREFIX):
        return _narrow_resnet18(name, weights_path)
    raise ReidBenchError(f"unknown backbone {name!r}; use resnet50, resnet18, resnet18-w<width>, tiny, "
                         "torchvision:<model> or torchreid:<model>.")


def would_be_pretrained(name: str, weights_path: str | os.PathLike | None = None) -> bool:
    """Whether :func:`build` would load pretrained weights for ``name`` (their file found offline)."""
    if name in TORCHVISION_NAMES:
        return weights.find(name, weights_path) is not None
    return name.startswith(TORCHREID_PREFIX) and bool(weights_path)


def _warn_random(name: str, reason: str) -> None:
    warnings.warn(
        f"backbone {name}: {reason}; training from random initialisation (recorded as pretrained=false).",
        stacklevel=3,
    )


def _read_state_dict(path: os.PathLike) -> dict[str, torch.Tensor]:
    state = load_torch_file(path, "ImageNet weights", "pass that network's torchvision ImageNet file")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ReidBenchError(f"weights file {path} does not hold a state dict.")
    return state


def _torchvision_resnet(name: str, weights_path: str | os.PathLike | None, load_weights: bool) -> Backbone:
    net = getattr(torchvision.models, name)(weights=None)
    found = weights.find(name, weights_path) if load_weights else None
    if found is None and load_weights:
        _warn_random(name, weights.missing_message(name).rstrip("."))
    elif found is not None:
        try:
            net.load_state_dict(_read_state_dict(found))
        except RuntimeError:
            raise ReidBenchError(
                f"weights file {found} does not fit torchvision's {name}; pass that network's ImageNet file."
            ) from None
    dim = net.fc.in_features
    net.fc = nn.Identity()
    return Backbone(name, net, dim, pretrained=found is not None)


def _narrow_resnet18(name: str, weights_path: str | os.PathLike | None) -> Backbone:
    try:
        width = int(name[len(NARROW_PREFIX):])
    except ValueError:
        raise ReidBenchError(f"backbone {name!r}: the width after {NARROW_PREFIX!r} is not a whole number.") from None
    if width < 4 or weights_path:
        raise ReidBenchError(f"backbone {name!r}: a width of at least 4 and no --backbone-weights (it has no "
                             "ImageNet weights).")
    net = torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock, [2, 2, 2, 2])
    net.inplanes = width
    net.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    net.bn1 = nn.BatchNorm2d(width)
    for index in range(4):
        block = torchvision.models.resnet.BasicBlock
        stage = net._make_layer(block, width * 2**index, 2, stride=1 if index == 0 else 2)
        setattr(net, f"layer{index + 1}", stage)
    for module in net.modules():  # torchvision's ResNet initialisation, for the layers rebuilt above
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.constant_(module.weight, 1)
            nn.init.constant_(module.bias, 0)
    net.fc = nn.Identity()
    return Backbone(name, net, 8 * width, pretrained=False)


def _torchvision_model(name: str, weights_path: str | os.PathLike | None, load_weights: bool) -> Backbone:
    model_name = name[len(TORCHVISION_PREFIX):]
    try:
        net = torchvision.models.get_model(model_name, weights=None)
    except ValueError:
        raise ReidBenchError(f"torchvision has no model {model_name!r}; its models are: "
                             f"{', '.join(torchvision.models.list_models(torchvision.models))}.") from None
    head = "fc" if isinstance(getattr(net, "fc", None), nn.Module) else "classifier"
    if not isinstance(getattr(net, head, None), nn.Module):
        raise ReidBenchError(f"torchvision's {model_name} has neither an fc nor a classifier head to remove; "
                             "choose a classification network.")
    pretrained = False
    if weights_path and load_weights:
        try:
            net.load_state_dict(_read_state_dict(weights_path))
        except RuntimeError:
            raise ReidBenchError(f"weights file {weights_path} does not fit torchvision's {model_name}.") from None
        pretrained = True
    elif load_weights:
        _warn_random(name, "no ImageNet file was given with --backbone-weights")
    setattr(net, head, nn.Identity())
    net.eval()
    with torch.no_grad():
        dim = net(torch.zeros(1, 3, 128, 64)).shape[1]
    net.train()
    return Backbone(name, net, int(dim), pretrained=pretrained)


class TinyNet(nn.Module):
    """Four stride-2 conv-BN-ReLU stages and global average pooling (a test backbone)."""

    feature_dim = 256

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        widths = [3, 32, 64, 128, 256]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images).mean(dim=(2, 3))


class TorchreidFeatures(nn.Module):
    """Adapts a torchreid model to "features out": its eval output, or the ``v`` of ``(y, v)``."""

    def __init__(self, net: nn.Module, name: str) -> None:
        super().__init__()
        self.net = net
        self.name = name

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.net(images)
        if isinstance(out, tuple):
            out = out[1]
        if not isinstance(out, torch.Tensor) or out.dim() != 2:
            raise ReidBenchError(f"torchreid model {self.name} does not return one feature vector per image.")
        return out


def _torchreid_model(name: str, weights_path: str | os.PathLike | None, load_weights: bool) -> Backbone:
    model_name = name[len(TORCHREID_PREFIX):]
    with warnings.catch_warnings():  # torchreid warns at import that its Cython evaluator is absent
        warnings.simplefilter("ignore")
        try:
            from torchreid.reid import models  # noqa: PLC0415  (optional: the torchreid extra)
        except ImportError:
            raise ReidBenchError(
                "torchreid is not installed; pip install 'reid-bench[torchreid]' to use torchreid backbones."
            ) from None
    factory = getattr(models, "__model_factory")
    if model_name not in factory:
        raise ReidBenchError(f"torchreid has no model {model_name!r}; its models are: {', '.join(factory)}.")
    net = models.build_model(model_name, num_classes=1, loss="triplet", pretrained=False, use_gpu=False)
    pretrained = False
    if weights_path and load_weights:
        pretrained = _load_matching(net, weights_path)
    elif load_weights:
        _warn_random(name, "torchreid weights are never downloaded and no --backbone-weights was given")
    module = TorchreidFeatures(net, name)
    dim = getattr(net, "feature_dim", None)
    if dim is None:  # every zoo model sets it today; measure it otherwise
        net.eval()
        with torch.no_grad():
            dim = module(torch.zeros(1, 3, 256, 128)).shape[1]
        net.train()
    return Backbone(name, module, int(dim), pretrained=pretrained)


def _load_matching(net: nn.Module, path: str | os.PathLike) -> bool:
    """Load the tensors whose names and shapes match (torchreid's own rule); the classifier stays."""
    if not os.path.isfile(path):
        raise ReidBenchError(f"weights file {path} does not exist; check the path given to --backbone-weights.")
    given = _read_state_dict(path)
    own = net.state_dict()
    matching = {k.removeprefix("module."): v for k, v in given.items()}
    matching = {k: v for k, v in matching.items() if k in own and own[k].shape == v.shape}
    if not matching:
        raise ReidBenchError(f"no tensor in {path} fits this torchreid model; pass that model's weights file.")
    net.load_state_dict(matching, strict=False)
    if len(matching) < len(own) - 2:  # all but the classifier's weight and bias
        warnings.warn(f"{path}: loaded {len(matching)} of {len(own)} tensors; the rest stay random.", stacklevel=3)
    return True
