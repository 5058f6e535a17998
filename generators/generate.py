"""Generate the images of a pairs CSV with a trained generator, as lossless PNGs.

Each pair (from, to) becomes ``<from stem>___<to stem>.png`` in the output folder: the source
person in the target's pose, at the size the generator was trained at. The ``.jpg`` extensions
are dropped (Market-1501 and SynthPeople stems are unique, and the PNG suffix is the file's own);
:func:`output_name` and :func:`parse_output_name` are the one place that rule lives.

Each PNG is written under a temporary name of its own process and renamed
(:func:`reid_bench.storage.atomic_path`), so two runs into one folder never share a temporary file,
and a file that exists was complete when it was written. An interrupted run resumes: a PNG already
there is kept if it decodes whole (a 0-byte or truncated one, left by a copy or another tool, is
made again).

Resuming gives the images an uninterrupted run gives, bit for bit: the pairs are cut into fixed
batches (pairs ``0..B-1``, ``B..2B-1``, ... of the full list, whatever exists already), and a batch
with a missing image is computed whole, so every image is computed in the same batch as before.
(A convolution's floating-point result can depend on the batch it runs in: oneDNN and cuDNN pick
their kernels by batch size, and a resumed run that batched only the missing pairs drew one pixel
one grey level off.)

With ``composite=True`` each generated person is pasted onto the target image's own scene
through the target's body mask (``tgt_mask``): ``mask * generated + (1 - mask) * target``. That
mask is exactly the silhouette the generator was asked to fill, and the SAN paper gives the binary
mask the job of "seamlessly stitching foreground and background" (Sec. 3.1.1).

The model runs in eval mode: BatchNorm uses its running averages, so an image does not depend on
the others of its batch. pix2pix's and PATN's test scripts normalise by the batch instead (their
``--eval`` is off by default); that was tried and measured on the quick SAN (SynthPeople, 1,800
test pairs): L1 to the target 0.4105 against 0.4066, identity rank-1 7.5 against 9.4, and IDE +
Euclidean rank-1 after K=3 augmentation 11.1 against 15.7 (seed 1), so eval mode stays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from reid_bench import accel, checks
from reid_bench.generators.base import Generator
from reid_bench.generators.samples import to_uint8
from reid_bench.storage import atomic_path

SEPARATOR = "___"


def output_name(source: str, target: str) -> str:
    """``0001_c1s1_000151_01.jpg``, ``0001_c2s1_000301_01.jpg`` -> ``0001_c1s1_000151_01___0001_c2s1_000301_01.png``."""
    return f"{Path(source).stem}{SEPARATOR}{Path(target).stem}.png"


def parse_output_name(name: str) -> tuple[str, str]:
    """The (source stem, target stem) of a generated file name."""
    source, _, target = Path(name).stem.partition(SEPARATOR)
    return source, target


@dataclass(frozen=True)
class GenerateSummary:
    out: Path
    written: int
    existing: int  # already there from an earlier (interrupted) run
    skipped: int  # pairs the data layer left out (an image lacks parsing/keypoints)

    def __str__(self) -> str:
        return (f"{self.written} images written to {self.out} ({self.existing} already there, "
                f"{self.skipped} pairs skipped for missing parsing/keypoints)")


def _write_png(path: Path, pixels: Any) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG")


def complete_png(path: Path) -> bool:
    """Whether ``path`` is a PNG that decodes whole (a 0-byte or truncated file is not)."""
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, SyntaxError, ValueError):  # PIL's errors for a missing, empty, truncated or foreign file
        return False
    return image.format == "PNG"


@torch.no_grad()
def generate(model: Generator, pairs: Dataset, out: str | os.PathLike, *, batch_size: int = 16,
             device: str | torch.device = "cpu", workers: int = 0, skipped: int = 0,
             amp: str = "auto", channels_last: bool = True, composite: bool = False,
             progress: bool = True) -> GenerateSummary:
    """Write ``model``'s image for every sample dict of ``pairs`` into ``out`` (see module docstring).

    ``amp`` is the autocast precision (:func:`reid_bench.accel.resolve_amp`; ``auto``: as in training);
    ``channels_last`` runs the model on NHWC tensors, as training does by default (faster; ``model``'s
    weights are converted in place, to NCHW when it is False). ``composite`` pastes each image onto
    its target's scene (module docstring; the pairs must carry ``tgt_mask``).
    """
    checks.at_least(batch_size, 1, "batch_size")
    out = checks.output_folder(out, "the output folder")
    out.mkdir(parents=True, exist_ok=True)
    names = [output_name(source, target) for source, target in _pair_names(pairs)]
    missing = {index for index, name in enumerate(names) if not complete_png(out / name)}
    batches = [list(range(start, min(start + batch_size, len(names)))) for start in range(0, len(names), batch_size)]
    todo = [batch for batch in batches if missing.intersection(batch)]  # whole batches (module docstring)
    device = accel.pick_device(device)
    precision = accel.resolve_amp(amp, device)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device, memory_format=layout).eval()
    loader = DataLoader(pairs, batch_sampler=todo, num_workers=workers, pin_memory=device.type == "cuda")
    bar = tqdm(total=len(missing), desc=f"generate {model.name}", unit="img", disable=not progress)
    for indices, batch in zip(todo, loader):
        batch = accel.move_batch(batch, device, channels_last)
        with accel.autocast(device, precision):
            images = model(batch)
        if composite:
            images = composite_onto_target(images.float(), batch)
        wanted = [position for position, index in enumerate(indices) if index in missing]
        for position, pixels in zip(wanted, to_uint8(images[wanted])):
            _write_png(out / output_name(batch["src_name"][position], batch["tgt_name"][position]), pixels)
        bar.update(len(wanted))
    bar.close()
    return GenerateSummary(out, len(missing), len(names) - len(missing), skipped)


def composite_onto_target(images: torch.Tensor, batch: dict) -> torch.Tensor:
    """``images`` inside the target's mask, the real target image outside it (all in [-1, 1])."""
    mask = batch["tgt_mask"].to(images.dtype)
    return mask * images + (1 - mask) * batch["tgt_image"].to(images.dtype)


def _pair_names(pairs: Dataset) -> list[tuple[str, str]]:
    """(source, target) names without loading images when the Dataset lists them (PoseTransferPairs)."""
    listed = getattr(pairs, "pairs", None)
    if listed is not None:
        return [(source.name, target.name) for source, target in listed]
    return [(item["src_name"], item["tgt_name"]) for item in (pairs[i] for i in range(len(pairs)))]
