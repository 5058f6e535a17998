"""Pretrained weights, found offline (DESIGN.md, "Weights and the offline world").

Nothing is downloaded. A file is looked for at the path the user gives, else where torch looks
(``$TORCH_HOME/hub/checkpoints/``, default ``~/.cache/torch/hub/checkpoints/``) under the file
name torchvision / pytorch-fid use. Those names end in the first 8 hex digits of the file's
SHA-256 (torch hub's own ``check_hash`` convention), which is what :func:`verify` checks.
A step that needs a missing file gets a :class:`~reid_bench.errors.ReidBenchError` naming the file,
where it was looked for, and the option that supplies it; nothing ever runs on random weights
under a pretrained model's name.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from reid_bench.errors import ReidBenchError


@dataclass(frozen=True)
class KnownWeights:
    key: str  # the suite's name for it
    file_name: str  # torchvision's / pytorch-fid's file name
    sha256_prefix: str  # first 8 hex digits of the SHA-256, as in the file name
    used_for: str
    option: str  # the command-line option that gives its path


KNOWN_WEIGHTS = {
    w.key: w
    for w in [
        KnownWeights("resnet50", "resnet50-0676ba61.pth", "0676ba61",
                     "Re-ID backbone (ImageNet ResNet-50)", "--backbone-weights"),
        KnownWeights("resnet18", "resnet18-f37072fd.pth", "f37072fd",
                     "Re-ID backbone (ImageNet ResNet-18)", "--backbone-weights"),
        KnownWeights("vgg19", "vgg19-dcbb9e9d.pth", "dcbb9e9d",
                     "perceptual loss of SAN and baselines (ImageNet VGG-19)", "--vgg-weights"),
        KnownWeights("alexnet", "alexnet-owt-7be5be79.pth", "7be5be79",
                     "LPIPS v0.1 backbone (ImageNet AlexNet)", "--lpips-weights"),
        KnownWeights("inception", "pt_inception-2015-12-05-6726825d.pth", "6726825d",
                     "FID (pytorch-fid's TF-ported Inception)", "--inception-weights"),
        KnownWeights("maskrcnn", "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth", "bf2d0c1e",
                     "body masks of data prepare (torchvision's COCO Mask R-CNN, as the SAN paper)",
                     "--maskrcnn-weights"),
        KnownWeights("maskrcnn_v2", "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth", "73cbd019",
                     "body masks of data prepare (torchvision's COCO Mask R-CNN v2; used when v1 is absent)",
                     "--maskrcnn-weights"),
    ]
}


def hub_checkpoints_dir() -> Path:
    """Where torch hub keeps downloaded checkpoints: ``$TORCH_HOME/hub/checkpoints``."""
    torch_home = os.environ.get("TORCH_HOME")
    if torch_home is None:
        xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        torch_home = os.path.join(xdg, "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def candidate_paths(key: str, given: str | os.PathLike | None = None) -> list[Path]:
    """The places looked at for ``key``, in order."""
    known = KNOWN_WEIGHTS[key]
    paths = [Path(given)] if given else []
    paths.append(hub_checkpoints_dir() / known.file_name)
    return paths


def find(key: str, given: str | os.PathLike | None = None) -> Path | None:
    """The first existing file for ``key`` (a path the user gave must exist), else ``None``."""
    if given and not Path(given).is_file():
        raise ReidBenchError(
            f"weights file {given} does not exist; check the path given to {KNOWN_WEIGHTS[key].option}."
        )
    for path in candidate_paths(key, given):
        if path.is_file():
            return path
    return None


def require(key: str, given: str | os.PathLike | None = None) -> Path:
    """Like :func:`find`, but a missing file is an error that says what to do."""
    path = find(key, given)
    if path is None:
        raise ReidBenchError(missing_message(key))
    return path


def missing_message(key: str) -> str:
    known = KNOWN_WEIGHTS[key]
    return (
        f"{known.file_name} ({known.used_for}) was not found in {hub_checkpoints_dir()}; "
        f"nothing is downloaded, so copy it there or pass its path with {known.option}."
    )


def verify(path: Path, key: str) -> bool:
    """Whether the file's SHA-256 starts with the expected prefix."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest().startswith(KNOWN_WEIGHTS[key].sha256_prefix)
