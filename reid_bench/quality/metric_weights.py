"""The files the metrics need, found offline, and the listing behind ``reid-bench weights``.

FID needs pytorch-fid's TF-ported Inception (``pt_inception-2015-12-05-6726825d.pth``); LPIPS
needs torchvision's ImageNet AlexNet (``alexnet-owt-7be5be79.pth``) for its trunk and the v0.1
linear layers that ship inside the ``lpips`` package (``lpips/weights/v0.1/alex.pth``). The
first two are looked up as :mod:`reid_bench.weights` does (a given path, else the torch hub
cache); the third only in the installed package. A file that is there is hash-checked (the
first 8 hex digits of its SHA-256) before use. A metric whose file is missing is not computed:
its result row says ``missing: <file> (looked in <dirs>)`` (:func:`Located.describe`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from reid_bench import weights
from reid_bench.errors import ReidBenchError

LPIPS_LINEAR_FILE = "alex.pth"
LPIPS_LINEAR_SHA256_PREFIX = "df73285e"  # lpips 0.1.x, weights/v0.1/alex.pth


@dataclass(frozen=True)
class Located:
    """Where a metric's file was looked for, and where it was found (``path`` None: missing)."""

    file_name: str
    sha256_prefix: str
    used_for: str
    looked_in: tuple[Path, ...]
    path: Path | None

    def describe(self) -> str:
        """The ``weights`` cell of a result row: the file used, or why the metric is missing."""
        if self.path is None:
            dirs = ", ".join(str(p.parent) for p in self.looked_in)
            return f"missing: {self.file_name} (looked in {dirs})"
        return f"{self.file_name} (sha256 {self.sha256_prefix})"


def locate(key: str, given: str | os.PathLike | None = None) -> Located:
    """Find ``key`` of :data:`reid_bench.weights.KNOWN_WEIGHTS` offline and check its hash.

    A path the user gave must exist; a found file whose hash differs is an error (it would
    compute the metric with other weights under this one's name).
    """
    known = weights.KNOWN_WEIGHTS[key]
    path = weights.find(key, given)
    if path is not None and not weights.verify(path, key):
        raise ReidBenchError(
            f"{path} is not {known.file_name}: its SHA-256 does not start with {known.sha256_prefix}; "
            f"replace it with the original file or pass the right one with {known.option}."
        )
    return Located(known.file_name, known.sha256_prefix, known.used_for,
                   tuple(weights.candidate_paths(key, given)), path)


def lpips_package_dir() -> Path:
    """The installed ``lpips`` package's folder; an error naming the fix if it is not installed."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or spec.origin is None:
        raise ReidBenchError("the lpips package is not installed; install it with `pip install lpips` (v0.1).")
    return Path(spec.origin).parent


def locate_lpips_linear() -> Located:
    """The LPIPS v0.1 linear layers for AlexNet, shipped in the lpips package, hash-checked."""
    path = lpips_package_dir() / "weights" / "v0.1" / LPIPS_LINEAR_FILE
    found = path if path.is_file() else None
    if found is not None and not _sha256(found).startswith(LPIPS_LINEAR_SHA256_PREFIX):
        raise ReidBenchError(
            f"{found} is not LPIPS v0.1's AlexNet linear-layer file (SHA-256 does not start with "
            f"{LPIPS_LINEAR_SHA256_PREFIX}); reinstall lpips with `pip install --force-reinstall lpips`."
        )
    return Located(LPIPS_LINEAR_FILE, LPIPS_LINEAR_SHA256_PREFIX, "LPIPS v0.1 linear layers (AlexNet)",
                   (path,), found)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class WeightsStatus:
    """One line of ``reid-bench weights``."""

    key: str
    file_name: str
    sha256_prefix: str
    used_for: str
    fix: str  # how to supply it when missing
    looked_in: tuple[Path, ...]
    found: Path | None
    hash_ok: bool | None  # None when not found

    @property
    def state(self) -> str:
        if self.found is None:
            return "missing"
        return f"found at {self.found} ({'hash ok' if self.hash_ok else 'HASH MISMATCH'})"


def weights_status(given: dict[str, str | None] | None = None) -> list[WeightsStatus]:
    """Every file the suite can use: known pretrained weights, then the LPIPS linear layers.

    ``given`` maps a key of :data:`reid_bench.weights.KNOWN_WEIGHTS` to a user-given path. Unlike
    :func:`locate`, a wrong hash is reported, not raised.
    """
    given = given or {}
    statuses = []
    for key, known in weights.KNOWN_WEIGHTS.items():
        looked = tuple(weights.candidate_paths(key, given.get(key)))
        found = next((p for p in looked if p.is_file()), None)
        fix = f"copy it into {weights.hub_checkpoints_dir()} or pass {known.option}"
        statuses.append(WeightsStatus(key, known.file_name, known.sha256_prefix, known.used_for, fix,
                                      looked, found, weights.verify(found, key) if found else None))
    try:
        looked = (lpips_package_dir() / "weights" / "v0.1" / LPIPS_LINEAR_FILE,)
    except ReidBenchError:
        looked = (Path("<lpips package, not installed>") / "weights" / "v0.1" / LPIPS_LINEAR_FILE,)
    found = looked[0] if looked[0].is_file() else None
    statuses.append(WeightsStatus(
        "lpips-linear", LPIPS_LINEAR_FILE, LPIPS_LINEAR_SHA256_PREFIX, "LPIPS v0.1 linear layers (AlexNet)",
        "install the lpips package (`pip install lpips`), which ships it", looked, found,
        _sha256(found).startswith(LPIPS_LINEAR_SHA256_PREFIX) if found else None))
    return statuses


def format_status(statuses: list[WeightsStatus]) -> str:
    """A plain-text listing, one block per file."""
    lines = []
    for status in statuses:
        lines.append(f"{status.key}: {status.file_name} (sha256 {status.sha256_prefix}...) - {status.used_for}")
        lines.append(f"    {status.state}")
        lines.append(f"    looked in: {', '.join(str(p) for p in status.looked_in)}")
        if status.found is None:
            lines.append(f"    to supply it: {status.fix}")
    return "\n".join(lines)
