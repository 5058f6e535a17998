"""Feature-extraction throughput of ResNet-50 at 256x128: ours beside torchreid's and the matmul peak.

    python benchmarks/bench_features.py [--quick] [--images N] [--batch B] [--forward-batch B]
                                        [--rounds R] [--threads T]

Model: an IDE network on a randomly initialised torchvision ResNet-50 (``build_model("ide",
backbones.build("resnet50", load_weights=False), ...)``; no metric is computed, so the weights only
have to be the same on both sides). Images: JPEGs of SynthPeople (128x64, resized to 256x128 by
both extractors), from the render in ``$REID_BENCH_CACHE`` when there is one, else a small render
in a temporary folder. Measured, in images/s:

* from files (read, decode, resize, normalise, forward): ``reid_bench.reid.features.
  extract_features`` with the ``market`` preset's settings — our default (bf16 autocast, as
  ``amp="auto"`` resolves on a CPU with AMX, and channels-last, the model's weights converted as
  ``train_reid`` leaves them), the same with ``flip_test`` (two forwards per image), and fp32
  (``amp="off", channels_last=False``) — beside torchreid 0.2.5's ``FeatureExtractor`` (fp32,
  ``device="cpu"``, ``image_size=(256, 128)``) loading the same backbone weights from a file and
  called on the same file paths, one batch of paths per call; and the input pipeline alone;
* forward only, on one pre-loaded batch: the same networks without the files, plus the
  bf16 / channels-last combinations that show where our speed-up comes from;
* the hardware limit: ``torch.mm`` of two NxN matrices in fp32 and in bf16 (FLOP/s), against
  which each row's achieved FLOP/s (FLOPs per image from ``torch.utils.flop_counter.
  FlopCounterMode``, convolutions and matmuls) is given as a share of the peak of its precision.

All cases run in this one process, interleaved: after one untimed batch of each, every round runs
each case once, and the medians over rounds are printed, so that their ratios hold when other jobs
share the machine (``--threads 1`` keeps torch's two threads from waiting on each other there; see
benchmarks/README.md). Before timing, the script checks that both extractors hold the same weights and
that their fp32 features agree (cosine similarity).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from reid_bench import accel, presets
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.reid import backbones
from reid_bench.reid.features import extract_features
from reid_bench.reid.train import build_model
from reid_bench.reid.transforms import ImageDataset, as_triplets, test_transform
from reid_bench.storage import cache_root

CPU = torch.device("cpu")
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


@dataclass
class Case:
    """One timed thing: ``fn(work)`` per round, ``fn(warm_work)`` once before (its output is kept)."""

    name: str
    fn: Callable[[Any], Any]
    work: Any
    warm_work: Any
    images: int = 0  # images per timed call (0: not an image case)
    flops: float = 0.0  # FLOPs of one timed call
    precision: str = "fp32"  # the matmul peak it is held against


def machine_description() -> str:
    """CPU, cores, native bf16 or not, torch and its threads, the time and the load average."""
    model = platform_cpu()
    bf16 = "native bf16 (AMX/AVX512-BF16)" if accel.native_cpu_bf16() else "no native bf16"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"{model}, {os.cpu_count()} cores, {bf16}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"load average {load}")


def platform_cpu() -> str:
    """The CPU's model name (Linux), which ``platform.processor()`` often leaves empty."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def interleaved(cases: Sequence[Case], rounds: int) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Outputs of the untimed first calls, and each case's seconds per round."""
    warm = {case.name: case.fn(case.warm_work) for case in cases}
    seconds: dict[str, list[float]] = {case.name: [] for case in cases}
    for _ in range(rounds):
        for case in cases:
            start = time.perf_counter()
            case.fn(case.work)
            seconds[case.name].append(time.perf_counter() - start)
    return warm, seconds


def matmul_cases(size: int) -> list[Case]:
    """``torch.mm`` of two ``size`` x ``size`` matrices in fp32 and in bf16: the peak anchors."""
    cases = []
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        pair = (torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype))
        cases.append(Case(f"torch.mm {size}^3 {name}", lambda ab: torch.mm(*ab), pair, pair,
                          flops=2.0 * size**3, precision=name))
    return cases


def peaks(cases: Sequence[Case], seconds: dict[str, list[float]]) -> dict[str, float]:
    """Median FLOP/s of the matmul cases, by precision."""
    return {case.precision: case.flops / statistics.median(seconds[case.name]) for case in cases}


def count_flops(fn: Callable[[], Any]) -> float:
    """FLOPs of ``fn()`` (convolutions and matrix products, forward and backward), as FlopCounterMode counts."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def print_table(title: str, cases: Sequence[Case], seconds: dict[str, list[float]],
                peak: dict[str, float], anchor: str | None) -> None:
    print(f"\n{title}")
    print(f"{'case':58s} {'images/s':>9s} {'(min-max)':>13s} {'vs anchor':>9s} {'GFLOP/s':>8s} {'% peak':>7s}")
    rates = {case.name: case.images / statistics.median(seconds[case.name]) for case in cases if case.images}
    for case in cases:
        median = statistics.median(seconds[case.name])
        achieved = case.flops / median
        share = f"{100 * achieved / peak[case.precision]:6.1f}%" if case.flops else ""
        if not case.images:
            print(f"{case.name:58s} {'':9s} {'':13s} {'':9s} {achieved / 1e9:8.0f} {share:>7s}")
            continue
        low, high = (case.images / max(seconds[case.name]), case.images / min(seconds[case.name]))
        ratio = f"{rates[case.name] / rates[anchor]:8.2f}x" if anchor else ""
        flop_rate = f"{achieved / 1e9:8.0f}" if case.flops else ""
        print(f"{case.name:58s} {rates[case.name]:9.1f} {f'({low:.1f}-{high:.1f})':>13s} {ratio:>9s} "
              f"{flop_rate:>8s} {share:>7s}")


def image_files(count: int, scratch: Path) -> tuple[list[Path], str]:
    """``count`` SynthPeople JPEGs: the cached render's if there is one, else a fresh small render."""
    cached = sorted(cache_root().glob("synthpeople/*/bounding_box_test/*.jpg"))
    if len(cached) >= count:
        return cached[:count], f"the SynthPeople render in {cache_root()}"
    root = scratch / "synthpeople"
    render_dataset(root, SynthConfig(identities=max(4, count // 8)))
    files = sorted(root.glob("*/*.jpg"))
    if len(files) < count:
        raise SystemExit(f"the render holds {len(files)} images, fewer than the {count} asked for")
    return files[:count], f"a fresh SynthPeople render ({len(files)} images) in a temporary folder"


def torchreid_extractor(backbone: torch.nn.Module, scratch: Path) -> Any:
    """torchreid's FeatureExtractor on ``backbone``'s weights, saved as a file it loads."""
    with warnings.catch_warnings():  # torchreid warns at import that its Cython evaluator is absent
        warnings.simplefilter("ignore")
        from torchreid.reid.utils import FeatureExtractor  # noqa: PLC0415  (optional: the torchreid extra, imported with its warning silenced)
    weights_file = scratch / "resnet50-random-weights.pth"
    torch.save(backbone.state_dict(), weights_file)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the loaded / discarded layer names
        extractor = FeatureExtractor(model_name="resnet50", model_path=str(weights_file),
                                     image_size=(256, 128), device="cpu", verbose=False)
    theirs = extractor.model.state_dict()
    differing = [key for key, value in backbone.state_dict().items() if not torch.equal(value, theirs[key])]
    if differing:
        raise SystemExit(f"torchreid's model did not load our weights: {differing[:3]} ...")
    return extractor


def our_forward(model: torch.nn.Module, precision: str, channels_last: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """``model.embed`` as extract_features runs it (inference mode, autocast, memory format)."""

    @torch.inference_mode()
    def forward(images: torch.Tensor) -> torch.Tensor:
        if channels_last:
            images = accel.as_channels_last(images)
        with accel.autocast(CPU, PRECISIONS[precision]):
            return model.embed(images).float()

    return forward


def batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def file_cases(files: list[Path], batch: int, flops: float, extractor: Any, nchw_model: torch.nn.Module,
               cl_model: torch.nn.Module) -> list[Case]:
    """From files: the input pipeline alone, torchreid's extractor and ours in three settings."""
    default = presets.get("market").reid.replace(flip_test=False, feature_batch=batch)
    fp32 = default.replace(amp="off", channels_last=False)
    records, warm_records = [(path, 0, 0) for path in files], [(path, 0, 0) for path in files[:batch]]

    def pipeline(chosen: list) -> int:
        dataset = ImageDataset(as_triplets(chosen), test_transform(default))
        return sum(len(images) for images, _, _ in DataLoader(dataset, batch_size=batch))

    def theirs(chosen: list) -> torch.Tensor:
        return torch.cat([extractor([str(path) for path, _, _ in chunk]) for chunk in batches(chosen, batch)])

    def ours(model: torch.nn.Module, settings: Any) -> Callable[[list], Any]:
        return lambda chosen: extract_features(model, chosen, settings)

    n = len(files)
    return [
        Case("decode + resize + normalise only (our DataLoader)", pipeline, records, warm_records, n),
        Case("torchreid FeatureExtractor, fp32 (anchor)", theirs, records, warm_records, n, n * flops),
        Case("ours, fp32 (amp off, NCHW)", ours(nchw_model, fp32), records, warm_records, n, n * flops),
        Case("ours, default: bf16 + channels-last", ours(cl_model, default), records, warm_records, n,
             n * flops, "bf16"),
        Case("ours, default + flip_test (2 forwards per image)", ours(cl_model, default.replace(flip_test=True)),
             records, warm_records, n, 2 * n * flops, "bf16"),
    ]


def forward_cases(images: torch.Tensor, flops: float, extractor: Any, nchw_model: torch.nn.Module,
                  cl_model: torch.nn.Module) -> list[Case]:
    """Forward only on one pre-loaded batch: torchreid's, and ours in each precision and layout."""
    n, total = len(images), len(images) * flops
    rows = [("ours, fp32, NCHW", nchw_model, "fp32", False),
            ("ours, fp32, channels-last", cl_model, "fp32", True),
            ("ours, bf16, NCHW", nchw_model, "bf16", False),
            ("ours, bf16, channels-last (default)", cl_model, "bf16", True),
            ("ours, bf16, channels-last input, NCHW weights", nchw_model, "bf16", True)]
    cases = [Case("torchreid FeatureExtractor(tensor), fp32 (anchor)", extractor, images, images, n, total)]
    for name, model, precision, channels_last in rows:
        cases.append(Case(name, our_forward(model, precision, channels_last), images, images, n, total, precision))
    return cases


def agreement(warm: dict[str, Any]) -> str:
    """Min cosine similarity, image by image, of the first batch's features to torchreid's fp32 ones.

    Raw and centred on the batch mean: a random network gives every image a large common
    component, so raw features of *different* images are close too (printed for scale).
    """
    theirs = F.normalize(warm["torchreid FeatureExtractor, fp32 (anchor)"], dim=1)
    ours = {"fp32": torch.from_numpy(warm["ours, fp32 (amp off, NCHW)"]),
            "bf16": torch.from_numpy(warm["ours, default: bf16 + channels-last"])}

    def cosines(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.cosine_similarity(a, b), F.cosine_similarity(a - a.mean(0), b - b.mean(0))

    found = {name: [values.min().item() for values in cosines(features, theirs)] for name, features in ours.items()}
    if found["fp32"][1] < 0.99:
        raise SystemExit(f"features disagree with torchreid's (centred cosine {found['fp32'][1]:.4f})")
    others = [values.max().item() for values in cosines(theirs, theirs.roll(1, dims=0))]
    return (f"agreement on {len(theirs)} images, min cosine to torchreid's features (raw / centred): "
            + ", ".join(f"ours {name} {raw:.6f} / {centred:.6f}" for name, (raw, centred) in found.items())
            + f"; max between different images (scale): {others[0]:.4f} / {others[1]:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 images, batches of 8, one round, 2048^3 matmuls")
    parser.add_argument("--images", type=int, default=None, help="images read per case (default 128)")
    parser.add_argument("--batch", type=int, default=None, help="images per batch from files (default 64)")
    parser.add_argument("--forward-batch", type=int, default=None, help="the pre-loaded batch (default 32)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 3)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    count = args.images or (16 if args.quick else 128)
    batch = args.batch or (8 if args.quick else 64)
    forward_batch = args.forward_batch or (8 if args.quick else 32)
    rounds = args.rounds or (1 if args.quick else 3)
    print(machine_description())
    with tempfile.TemporaryDirectory(prefix="bench-features-") as scratch:
        files, source = image_files(count, Path(scratch))
        print(f"{count} images from {source}; batches of {batch} from files, {forward_batch} pre-loaded; "
              f"{rounds} interleaved round(s), medians shown")
        settings = presets.get("market").reid
        backbone = backbones.build("resnet50", load_weights=False)
        nchw_model = build_model("ide", backbone, 751, settings).eval()
        cl_model = accel.channels_last(copy.deepcopy(nchw_model))
        extractor = torchreid_extractor(backbone.module, Path(scratch))
        probe = torch.zeros(1, 3, settings.height, settings.width)
        flops = count_flops(lambda: nchw_model.embed(probe))
        torchreid_flops = count_flops(lambda: extractor(probe))
        print(f"FLOPs per image at {settings.height}x{settings.width}: ours {flops / 1e9:.2f} G, "
              f"torchreid's {torchreid_flops / 1e9:.2f} G")
        preloaded = ImageDataset(as_triplets([(path, 0, 0) for path in files[:forward_batch]]),
                                 test_transform(settings))
        images = next(iter(DataLoader(preloaded, batch_size=forward_batch)))[0]
        files_group = file_cases(files, batch, flops, extractor, nchw_model, cl_model)
        forward_group = forward_cases(images, flops, extractor, nchw_model, cl_model)
        matmul_group = matmul_cases(2048 if args.quick else 4096)
        warm, seconds = interleaved(files_group + forward_group + matmul_group, rounds)
    print(agreement(warm))
    peak = peaks(matmul_group, seconds)
    print_table("hardware limit (matmul peak)", matmul_group, seconds, peak, None)
    print_table(f"from files ({count} images, batch {batch})", files_group, seconds, peak,
                "torchreid FeatureExtractor, fp32 (anchor)")
    print_table(f"forward only (one pre-loaded batch of {forward_batch})", forward_group, seconds, peak,
                "torchreid FeatureExtractor(tensor), fp32 (anchor)")
    print(f"\nload average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
