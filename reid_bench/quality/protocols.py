"""Evaluation protocols of the image-quality metrics: named, selectable, stated in every row.

A protocol fixes what FID compares with and is written, with the metric's own input rule, into
the ``protocol`` cell of each row (``"<protocol>: <rule>"``); :data:`PROTOCOLS` holds the full
statements that tables print under Table 1. The per-pair metrics (LPIPS, SSIM, L1, PSNR and
their masked forms, identity) are the same under both protocols.
"""

from __future__ import annotations

from dataclasses import dataclass

from reid_bench.errors import ReidBenchError

FID = "FID"
PAIR_METRICS = ("LPIPS", "mask-LPIPS", "SSIM", "mask-SSIM", "L1", "PSNR")
IDENTITY_METRICS = ("identity-rank1", "identity-mAP", "identity-cosine", "identity-cosine-source")
METRICS = (FID, *PAIR_METRICS, *IDENTITY_METRICS)
LOWER_IS_BETTER = frozenset({FID, "LPIPS", "mask-LPIPS", "L1"})
MASK_SOURCES = ("keypoints", "parsing")


@dataclass(frozen=True)
class Protocol:
    name: str
    fid_reference: str  # "train": every training-split image; "targets": the pairs' real targets
    statement: str  # printed under Table 1


_SHARED = (
    "Per-pair metrics, the same under every protocol: LPIPS (Zhang et al. CVPR 2018; lpips 0.1 AlexNet-lin "
    "v0.1, GFLA's network) of each generated image against its real target at file size in [-1, 1]; "
    "mask-LPIPS the same with both images multiplied in [-1, 1] by the target's body mask (GFLA); SSIM "
    "(Wang et al. 2004) as PG2/PATN's scripts call scikit-image (Gaussian window sigma 1.5, population "
    "covariance, data range of the generated image, uint8 RGB, channel mean) and mask-SSIM (Ma et al. PG2 "
    "2017) on both images times the mask (background 0); L1 = mean |difference| in [-1, 1] (PATN); PSNR = "
    "10 log10(255^2 / MSE). The body mask comes from the target's keypoints as PG2/PATN/GFLA draw it "
    "(limbs and joints radius 4, 5x5 closing) or, where stated, from its parsing (labels > 0). Identity "
    "metrics use a Re-ID model trained on the real training split only. Intervals are 95% percentile "
    "bootstraps over pairs (1,000 resamples, seeded); FID has none."
)

PROTOCOLS = {
    "gfla2020": Protocol(
        "gfla2020", "train",
        "gfla2020: FID reference = every image of the training split folder (bounding_box_train/, 12,936 "
        "images on Market-1501), as GFLA (Ren et al. CVPR 2020) computed the numbers the SAN paper's Table 1 "
        "reprints: its script/metrics.py with --fid_real_path=./dataset/market/train_12864 (\"the real data "
        "distributions are calculated over the whole training set\", PERSON_IMAGE_GENERATION.md), images read "
        "at file size (128x64), scaled to [0, 1], bilinearly resized to 299x299 inside pytorch-fid's "
        "InceptionV3, pool3 (2048-d), mean and np.cov covariance. Differences here: (1) the Inception weights "
        "are pytorch-fid's TF-ported FID weights (pt_inception-2015-12-05-6726825d.pth); the copies of GFLA's "
        "script/inception.py we could read build torchvision's ImageNet inception_v3(pretrained=True), so "
        "published FIDs may sit on another network's scale; (2) GFLA's script uses only full batches of 64 "
        "(11,968 of 12,000 generated images, 12,928 of 12,936 training images); every image is used here; "
        "(3) the mask source is stated per row (GFLA: keypoints).",
    ),
    "test-targets": Protocol(
        "test-targets", "targets",
        "test-targets: FID reference = the real target images of the evaluated pairs, one per pair "
        "(a target shared by two pairs counts twice, so returning each pair's target scores exactly 0); "
        "Inception input rule as gfla2020 (RGB at file size, [0, 1], bilinear to 299x299, pytorch-fid "
        "TF-ported weights, pool3). Use it where the training split's distribution differs from the test "
        "split's (SynthPeople's training split shows each identity in fewer views).",
    ),
}


def get(name: str) -> Protocol:
    """The protocol called ``name``."""
    if name not in PROTOCOLS:
        raise ReidBenchError(f"unknown protocol {name!r}; choose {' or '.join(PROTOCOLS)}.")
    return PROTOCOLS[name]


def statement(name: str) -> str:
    """The full statement of protocol ``name`` and of the shared per-pair rules."""
    return f"{get(name).statement} {_SHARED}"


def protocol_of(cell: str) -> str:
    """The protocol name a row's ``protocol`` cell starts with."""
    return cell.split(":", 1)[0].strip()


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def fid_cell(protocol: Protocol, reference: str, size: tuple[int, int]) -> str:
    """``protocol`` cell of an FID row; ``reference`` says which images and how many."""
    return (f"{protocol.name}: reference = {reference}; pytorch-fid Inception pool3, RGB at file size "
            f"{_size(size)} bilinear to 299x299")


def pair_cell(protocol: Protocol, metric: str, size: tuple[int, int], mask_source: str) -> str:
    """``protocol`` cell of a per-pair metric's row."""
    mask = f" x target body mask from {'keypoints (PG2)' if mask_source == 'keypoints' else 'parsing'}"
    rules = {
        "LPIPS": f"AlexNet-lin v0.1 at {_size(size)} in [-1, 1]",
        "mask-LPIPS": f"AlexNet-lin v0.1 at {_size(size)} in [-1, 1]{mask}",
        "SSIM": "PATN SSIM (Gaussian sigma 1.5, population covariance, generated range, uint8 RGB)",
        "mask-SSIM": f"PATN SSIM on images{mask} (background 0)",
        "L1": "mean |generated - target| in [-1, 1] (PATN)",
        "PSNR": "10 log10(255^2 / MSE) on uint8 RGB",
    }
    return f"{protocol.name}: {rules[metric]}"


def identity_cell(protocol: Protocol, metric: str, model: str, gallery: str) -> str:
    """``protocol`` cell of an identity metric's row; ``model`` and ``gallery`` describe the setup."""
    rules = {
        "identity-rank1": f"generated images as queries (source's camera) vs {gallery}, Euclidean",
        "identity-mAP": f"generated images as queries (source's camera) vs {gallery}, Euclidean",
        "identity-cosine": "feature cosine, generated vs real target",
        "identity-cosine-source": "feature cosine, real source vs real target (what copying the source scores)",
    }
    return f"{protocol.name}: {rules[metric]}; Re-ID model: {model}"
