"""``eval-generator``: every image-quality metric over a folder of generated images, or over a
trained generator (which first generates that folder), as :class:`~reid_bench.quality.rows.QualityRow`.

One pass over the pairs, in batches of one image size, reads each generated PNG and its real
target, draws the target's body mask, and collects the per-pair values (SSIM, mask-SSIM, L1,
PSNR, LPIPS, mask-LPIPS) and the generated images' Inception features; FID's reference features
follow the protocol (:mod:`.protocols`); identity features come from a trained Re-ID model
(:mod:`.identity`). A metric whose network is missing becomes a row with an empty value and the
reason in its ``weights`` cell; it is never computed with other weights.

The networks are passed in (:class:`Networks`), so tests inject small stand-ins and
:func:`load_networks` finds the real ones offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from reid_bench import checks, generators
from reid_bench.data import PoseTransferPairs, load_dataset, read_pairs_csv
from reid_bench.data.market import ReidDataset, list_images
from reid_bench.data.pose_maps import body_mask_from_keypoints, read_parsing, visible
from reid_bench.errors import ReidBenchError
from reid_bench.generators.generate import generate
from reid_bench.quality import bootstrap, fid, metric_weights, protocols, ssim
from reid_bench.quality.folder import GeneratedPair, read_generated_folder, read_rgb
from reid_bench.quality.identity import PathFeatures, identity_scores, reid_features
from reid_bench.quality.lpips_metric import LpipsDistance, build_lpips, to_lpips_input
from reid_bench.quality.protocols import FID, IDENTITY_METRICS, METRICS, PAIR_METRICS, Protocol
from reid_bench.quality.rows import QualityRow
from reid_bench.storage import cache_root, config_hash

LpipsFn = Callable[..., np.ndarray]  # ((N,3,H,W), (N,3,H,W)) in [-1, 1] -> (N,) distances
MASKED = ("mask-LPIPS", "mask-SSIM")


@dataclass(frozen=True)
class QualitySettings:
    protocol: str = "gfla2020"  # see protocols.PROTOCOLS
    metrics: tuple[str, ...] = METRICS  # any of protocols.METRICS
    mask_source: str = "keypoints"  # target body mask for mask-LPIPS/mask-SSIM: keypoints or parsing
    batch_size: int = 32  # pairs per batch
    resamples: int = bootstrap.RESAMPLES  # bootstrap resamples per interval
    seed: int = 0  # bootstrap seed

    def __post_init__(self) -> None:
        protocols.get(self.protocol)
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ReidBenchError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}.")
        if self.mask_source not in protocols.MASK_SOURCES:
            raise ReidBenchError(f"unknown mask source {self.mask_source!r}; use keypoints or parsing.")
        checks.at_least(self.batch_size, 1, "batch_size")
        checks.at_least(self.resamples, 1, "resamples")


@dataclass
class Networks:
    """The feature networks; a ``None`` network is missing and its note says why."""

    fid: fid.FeatureFn | None = None
    lpips: LpipsFn | None = None
    identity: PathFeatures | None = None
    notes: dict[str, str] = field(default_factory=dict)  # "fid" / "lpips" / "identity" -> weights cell
    identity_model: str = "none given"  # what the identity network is, for the rows' protocol cells


IDENTITY_MISSING = ("missing: a Re-ID checkpoint trained on the real training split (train one with "
                    "`reid-bench train-reid --data DIR`, pass it with --reid-checkpoint)")


def load_networks(settings: QualitySettings, *, inception_weights: str | os.PathLike | None = None,
                  lpips_weights: str | os.PathLike | None = None, reid_checkpoint: str | os.PathLike | None = None,
                  device: str = "cpu") -> Networks:
    """The networks the chosen metrics need, found offline; missing ones are left ``None``."""

    networks = Networks()
    wanted = set(settings.metrics)
    if FID in wanted:
        found = metric_weights.locate("inception", inception_weights)
        networks.notes["fid"] = found.describe()
        if found.path is not None:
            networks.fid = fid.InceptionFeatures(found.path, device, settings.batch_size)
    if wanted & {"LPIPS", "mask-LPIPS"}:

        trunk, linear = metric_weights.locate("alexnet", lpips_weights), metric_weights.locate_lpips_linear()
        missing = [f.describe() for f in (trunk, linear) if f.path is None]
        networks.notes["lpips"] = "; ".join(missing) or f"{trunk.describe()} + lpips {linear.describe()}"
        if not missing:
            networks.lpips = LpipsDistance(build_lpips(trunk.path, linear.path), device)
    if wanted & set(IDENTITY_METRICS):
        networks.notes["identity"] = IDENTITY_MISSING
        if reid_checkpoint is not None:

            networks.identity, networks.identity_model = reid_features(reid_checkpoint, device)
            networks.notes["identity"] = f"Re-ID checkpoint {reid_checkpoint}"
    return networks


def target_mask(dataset: ReidDataset, target: str, size: tuple[int, int], source: str) -> np.ndarray:
    """(H, W) bool body mask of ``target``: PG2's mask from its keypoints, or its parsing > 0."""
    if source == "parsing":
        path = dataset.parsing_path(target)
        if path is None:
            raise ReidBenchError(f"{target} has no parsing PNG under {dataset.root / 'parsing'}; mask metrics with "
                                 "--mask parsing need one per target (or use --mask keypoints).")
        return read_parsing(path, size) > 0
    split = dataset.image_split(target)
    points = dataset.keypoints(split).get(target)
    if points is None or not visible(points).any():
        raise ReidBenchError(f"{target} has no visible keypoints in {dataset.keypoints_path(split)}; mask metrics "
                             "need the target's keypoints (or parsing, with --mask parsing), or leave them out "
                             "with --metrics.")
    return body_mask_from_keypoints(points, *size)


def _batches(generated: list[GeneratedPair], batch_size: int) -> list[list[int]]:
    """Index batches of at most ``batch_size`` pairs, each of one image size."""
    by_size: dict[tuple[int, int], list[int]] = {}
    for index, pair in enumerate(generated):
        by_size.setdefault(pair.size, []).append(index)
    return [indices[start:start + batch_size] for indices in by_size.values()
            for start in range(0, len(indices), batch_size)]


def _pair_values(metric: str, fake: np.ndarray, real: np.ndarray, masks: np.ndarray | None,
                 lpips: LpipsFn | None) -> np.ndarray:
    """(N,) values of a per-pair metric for a batch of generated and real uint8 images."""
    if metric == "SSIM":
        return ssim.ssim(fake, real)
    if metric == "mask-SSIM":
        return ssim.mask_ssim(fake, real, masks)
    if metric == "L1":
        return ssim.l1(fake, real)
    if metric == "PSNR":
        return ssim.psnr(fake, real)
    if metric == "LPIPS":
        return lpips(to_lpips_input(fake), to_lpips_input(real))
    return lpips(to_lpips_input(fake, masks), to_lpips_input(real, masks))  # mask-LPIPS


@dataclass
class _Collected:
    per_pair: dict[str, np.ndarray]
    generated_features: np.ndarray | None
    target_features: np.ndarray | None


def _collect(generated: list[GeneratedPair], dataset: ReidDataset, settings: QualitySettings,
             networks: Networks, protocol: Protocol, progress: bool) -> _Collected:
    wanted = set(settings.metrics)
    per_pair = {m: np.full(len(generated), np.nan) for m in PAIR_METRICS
                if m in wanted and (networks.lpips is not None or "LPIPS" not in m)}
    with_fid = FID in wanted and networks.fid is not None
    fid_rows: dict[str, list] = {"generated": [], "target": []}
    order: list[int] = []
    for batch in tqdm(_batches(generated, settings.batch_size), desc="image quality", unit="batch",
                      disable=not progress):
        pairs = [generated[i] for i in batch]
        fake = np.stack([read_rgb(p.path) for p in pairs])
        real = np.stack([read_rgb(dataset.image_path(p.target)) for p in pairs])
        masks = (np.stack([target_mask(dataset, p.target, p.size, settings.mask_source) for p in pairs])
                 if set(per_pair) & set(MASKED) else None)
        for metric in per_pair:
            per_pair[metric][batch] = _pair_values(metric, fake, real, masks, networks.lpips)
        if with_fid:
            order += batch
            fid_rows["generated"].append(networks.fid(list(fake)))
            if protocol.fid_reference == "targets":
                fid_rows["target"].append(networks.fid(list(real)))
    restore = np.argsort(order)  # batches are grouped by size: back to pair order
    stacked = {key: np.concatenate(rows)[restore] if rows else None for key, rows in fid_rows.items()}
    return _Collected(per_pair, stacked["generated"], stacked["target"])


def _row(dataset: ReidDataset, generator: str, metric: str, values: np.ndarray | None, cell: str, note: str,
         settings: QualitySettings, n_pairs: int, scale: float = 1.0) -> QualityRow:
    """A row with the mean of per-pair ``values`` and its bootstrap interval (``None``: missing)."""
    if values is None:
        return QualityRow(dataset.kind, generator, metric, None, None, None, n_pairs, cell, note)
    low, high = bootstrap.percentile_interval(values, settings.resamples, settings.seed)
    return QualityRow(dataset.kind, generator, metric, scale * float(np.mean(values)), scale * low, scale * high,
                      len(values), cell, note)


def _fid_row(dataset: ReidDataset, generator: str, collected: _Collected, generated: list[GeneratedPair],
             protocol: Protocol, networks: Networks, progress: bool) -> QualityRow:
    note = networks.notes.get("fid", "")
    if protocol.fid_reference == "train":
        folder = dataset.folders["train"]
        paths = [dataset.root / folder / name for name in list_images(dataset.root / folder)]
        reference = f"all {len(paths)} images of {folder}/"
    else:
        paths = []
        reference = f"the {len(generated)} real target images of the pairs"
    cell = protocols.fid_cell(protocol, reference, generated[0].size)
    if networks.fid is None:
        return QualityRow(dataset.kind, generator, FID, None, None, None, len(generated), cell, note)
    if protocol.fid_reference == "train":
        stats = fid.reference_statistics(paths, networks.fid, read_rgb, progress=progress)
    else:
        stats = fid.statistics(collected.target_features)
    value = fid.frechet_distance(fid.statistics(collected.generated_features), stats)
    return QualityRow(dataset.kind, generator, FID, value, None, None, len(generated), cell, note)


def _features_of(paths: Sequence[Path], features: PathFeatures) -> np.ndarray:
    """Features of ``paths``, each distinct file embedded once."""
    unique = list(dict.fromkeys(paths))
    computed = features(unique)
    position = {path: row for row, path in enumerate(unique)}
    return computed[[position[path] for path in paths]]


def augmentation_pairs(generated: Sequence[GeneratedPair], dataset: ReidDataset) -> bool:
    """Whether ``generated`` are augmentation pairs: every source is a training image, so the
    generated person is a training identity and its target pose another person's (the images a
    Re-ID model trains on), rather than test pairs within one test identity."""
    return bool(generated) and all(dataset.image_split(p.source) == "train" for p in generated)


def _identity_rows(dataset: ReidDataset, generator: str, generated: list[GeneratedPair],
                   settings: QualitySettings, networks: Networks, protocol: Protocol) -> list[QualityRow]:
    """Identity rows. Test pairs: queries of the target's person against the test gallery. Augmentation
    pairs (:func:`augmentation_pairs`): queries of the source's person against the real training split
    (the source image itself and its camera's images of that person are set aside by Market's rule);
    their target shows another person, so the cosines to it are not measured."""
    wanted = [m for m in IDENTITY_METRICS if m in settings.metrics]
    training = augmentation_pairs(generated, dataset)
    gallery = dataset.train if training else dataset.gallery
    folder = dataset.folders["train" if training else "test"]
    gallery_text = f"{folder}/ ({len(gallery)} images{', augmentation pairs' if training else ''})"
    cells = {m: protocols.identity_cell(protocol, m, networks.identity_model, gallery_text) for m in wanted}
    note = networks.notes.get("identity", IDENTITY_MISSING)
    records = [(p, dataset.record(p.source), dataset.record(p.target)) for p in generated]
    # whose identity the generated image must show: the source's (training pids are relabelled from 0) or the
    # target's (test pid 0 is a distractor)
    usable = [(p, s, t) for p, s, t in records if s is not None and t is not None and (training or t.pid > 0)]
    if networks.identity is None or not usable:
        if networks.identity is not None:
            note = "no pair's person is a known identity of the split"
        return [_row(dataset, generator, m, None, cells[m], note, settings, len(usable)) for m in wanted]
    g_feats = _features_of([r.path for r in gallery], networks.identity)
    scores = identity_scores(
        generated=_features_of([p.path for p, _, _ in usable], networks.identity),
        targets=_features_of([t.path for _, _, t in usable], networks.identity),
        sources=_features_of([s.path for _, s, _ in usable], networks.identity),
        q_pids=np.array([(s if training else t).pid for _, s, t in usable]),
        q_camids=np.array([s.camid for _, s, _ in usable]),
        gallery=g_feats, g_pids=np.array([r.pid for r in gallery]), g_camids=np.array([r.camid for r in gallery]),
    )
    values = {"identity-rank1": (scores.rank1_hits, 100.0), "identity-mAP": (scores.average_precision, 100.0),
              "identity-cosine": (scores.cosine, 1.0), "identity-cosine-source": (scores.source_cosine, 1.0)}
    not_measured = "not measured on augmentation pairs: the target image shows another person"
    return [_row(dataset, generator, m, None if training and "cosine" in m else values[m][0], cells[m],
                 not_measured if training and "cosine" in m else note, settings, len(usable), values[m][1])
            for m in wanted]


def evaluate_folder(folder: str | os.PathLike, data: str | os.PathLike | ReidDataset, generator: str, *,
                    networks: Networks, pairs: list[tuple[str, str]] | None = None,
                    settings: QualitySettings = QualitySettings(), progress: bool = False) -> list[QualityRow]:
    """Rows of every chosen metric for the generated images in ``folder``.

    ``pairs`` defaults to the dataset's ``*pairs-test.csv`` when it has one (the folder must then
    hold exactly those pairs); without either, the folder's file names are the pairs.
    """
    dataset = data if isinstance(data, ReidDataset) else load_dataset(data)
    if pairs is None and dataset.pairs_path("test") is not None:
        pairs = read_pairs_csv(dataset.pairs_path("test"))
    generated = read_generated_folder(folder, dataset, pairs)
    protocol = protocols.get(settings.protocol)
    collected = _collect(generated, dataset, settings, networks, protocol, progress)
    size = generated[0].size
    rows = []
    for metric in settings.metrics:
        if metric == FID:
            rows.append(_fid_row(dataset, generator, collected, generated, protocol, networks, progress))
        elif metric in PAIR_METRICS:
            note = networks.notes.get("lpips", "") if "LPIPS" in metric else "none needed"
            rows.append(_row(dataset, generator, metric, collected.per_pair.get(metric),
                             protocols.pair_cell(protocol, metric, size, settings.mask_source), note,
                             settings, len(generated)))
    rows += _identity_rows(dataset, generator, generated, settings, networks, protocol)
    return rows


def evaluate_checkpoint(checkpoint: str | os.PathLike, data: str | os.PathLike, *, networks: Networks,
                        generator: str | None = None, pairs_csv: str | os.PathLike | None = None,
                        out: str | os.PathLike | None = None, settings: QualitySettings = QualitySettings(),
                        device: str = "cpu", progress: bool = False) -> tuple[list[QualityRow], Path]:
    """Generate the test pairs with a trained generator (``reid-bench generate``), then
    :func:`evaluate_folder` on them; returns the rows and the folder of generated images.

    ``out`` defaults to ``$REID_BENCH_CACHE/generated/<hash of checkpoint and pairs>``; an
    interrupted run resumes. Pairs the generator cannot take (a target without the parsing or
    keypoints it needs) are left out of both steps.
    """

    dataset = load_dataset(data)
    pairs_path = Path(pairs_csv) if pairs_csv else dataset.pairs_path("test")
    if pairs_path is None:
        raise ReidBenchError(f"{dataset.root} has no *pairs-test.csv; give the pairs to generate with --pairs.")
    model = generators.load(checkpoint, generator)
    size = model.meta.get("image_size")
    transfer = PoseTransferPairs(dataset, split="test", needs=model.needs, image_size=tuple(size) if size else None,
                                 pairs=read_pairs_csv(pairs_path))
    stat = Path(checkpoint).stat()
    folder = Path(out) if out else cache_root() / "generated" / config_hash(
        [str(Path(checkpoint).resolve()), stat.st_size, stat.st_mtime_ns, str(pairs_path.resolve())])
    generate(model, transfer, folder, batch_size=settings.batch_size, device=device, skipped=transfer.skipped,
             progress=progress)
    kept = [(source.name, target.name) for source, target in transfer.pairs]
    rows = evaluate_folder(folder, dataset, model.name, networks=networks, pairs=kept, settings=settings,
                           progress=progress)
    return rows, folder
