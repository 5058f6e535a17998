"""Factor-K augmentation: each training image becomes K images of its person (the paper, Section 5).

For every training image, K-1 target poses are chosen and the generator draws the source person in
each; a generated image keeps the source's identity and camera, so with the K-1 new images and
the real one every training image counts K times. Target poses are chosen from the other training
images, either at random (``poses="random"``, the default) or among the medoids of k-means
clusters of their normalised keypoints (``poses="kmeans"``, as PN-GAN's eight canonical poses;
Qian et al., ECCV 2018): a source never gets the same medoid twice.

The augmented set is a Market-1501 ``bounding_box_train/`` folder of lossless PNGs named
``<source stem>___<target stem>.png`` (so Market's name rule reads the source's pid and camera
from it) and ``manifest.csv`` (name, source, target, generator, checkpoint). It is written to a temp
folder and renamed when complete; generation itself resumes file by file.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from reid_bench.data import ImageRecord, PoseTransferPairs, ReidDataset
from reid_bench.data.market import MARKET_FOLDERS, list_images, parse_market_name
from reid_bench.data.pose_model import CORE_POINTS
from reid_bench.errors import ReidBenchError
from reid_bench.generators.generate import generate, output_name
from reid_bench.storage import atomic_path

POSE_STRATEGIES = ("random", "kmeans")
MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class AugmentConfig:
    factor: int  # K: each training image counts K times (K-1 generated)
    poses: str = "random"  # how target poses are chosen: random | kmeans
    clusters: int = 8  # k-means pose clusters (PN-GAN's 8 canonical poses)
    seed: int = 0


def choose_targets(dataset: ReidDataset, config: AugmentConfig) -> list[tuple[str, str]]:
    """(source, target) name pairs: K-1 targets per training image, never the image itself."""
    if config.factor < 1:
        raise ReidBenchError(f"--factor must be 1 or more (K=1 means no generated images), not {config.factor}.")
    if config.poses not in POSE_STRATEGIES:
        raise ReidBenchError(f"unknown pose strategy {config.poses!r}; choose one of {', '.join(POSE_STRATEGIES)}.")
    per_image = config.factor - 1
    names = [record.name for record in dataset.train]
    if per_image == 0 or not names:
        return []
    rng = np.random.default_rng([config.seed, 17])
    if config.poses == "kmeans":
        candidates = pose_medoids(dataset, config.clusters, rng)
    else:
        candidates = names
    if len(candidates) <= per_image:
        raise ReidBenchError(
            f"factor {config.factor} needs {per_image} distinct target poses per image but only "
            f"{len(candidates)} are available; lower --factor or use more clusters."
        )
    pairs = []
    for source in names:
        targets: list[str] = []
        while len(targets) < per_image:
            target = candidates[rng.integers(len(candidates))]
            if target != source and target not in targets:
                targets.append(target)
        pairs += [(source, target) for target in targets]
    return pairs


def pose_medoids(dataset: ReidDataset, clusters: int, rng: np.random.Generator) -> list[str]:
    """The training images closest to the centres of k-means clusters of their core keypoints."""

    keypoints = dataset.keypoints("train")
    names, vectors = [], []
    for record in dataset.train:
        points = keypoints.get(record.name)
        if points is not None and (points[list(CORE_POINTS)] >= 0).all():
            names.append(record.name)
            vectors.append(points[list(CORE_POINTS)].astype(float).ravel())
    if len(names) < clusters:
        raise ReidBenchError(
            f"only {len(names)} training images have all core keypoints; k-means needs at least {clusters}."
        )
    vectors = np.stack(vectors)
    model = KMeans(n_clusters=clusters, n_init=4, random_state=int(rng.integers(2**31))).fit(vectors)
    distances = ((vectors[:, None, :] - model.cluster_centers_[None]) ** 2).sum(-1)
    return [names[int(np.argmin(distances[:, k]))] for k in range(clusters)]


def write_augmented_set(dataset: ReidDataset, model, pairs: list[tuple[str, str]], out: str | os.PathLike,
                        checkpoint_id: str, *, batch_size: int = 32, device: str = "cpu",
                        workers: int = 0, progress: bool = True) -> Path:
    """Generate every pair into ``out/bounding_box_train/`` with ``manifest.csv``; returns ``out``.

    Generation resumes file by file in ``out.partial``; ``out`` appears only when complete.
    """

    out = Path(out)
    if (out / MANIFEST).is_file():
        return out
    partial = out.with_name(out.name + ".partial")
    images = partial / MARKET_FOLDERS["train"]
    source_pairs = PoseTransferPairs(dataset, "train", needs=model.needs, pairs=pairs)
    generate(model, source_pairs, images, batch_size=batch_size, device=device, workers=workers,
             skipped=source_pairs.skipped, progress=progress)
    written = [(source.name, target.name) for source, target in source_pairs.pairs]
    with open(partial / MANIFEST, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "source", "target", "generator", "checkpoint"])
        for source, target in written:
            writer.writerow([output_name(source, target), source, target, model.name, checkpoint_id])
    with atomic_path(out) as tmp:
        os.replace(partial, tmp)
    return out


def augmented_records(dataset: ReidDataset, folder: str | os.PathLike) -> list[ImageRecord]:
    """Records of the generated images, labelled with their source's (relabelled) pid and camera."""
    images = Path(folder) / MARKET_FOLDERS["train"]
    label_of = {}
    for record in dataset.train:
        original_pid, _ = parse_market_name(record.name, record.path.parent)
        label_of[original_pid] = record.pid
    records = []
    for name in list_images(images):
        pid, camid = parse_market_name(name, images)
        if pid not in label_of:
            raise ReidBenchError(
                f"{images / name} names person {pid}, who is not in {dataset.root}'s training split; "
                "this augmented set was made from another dataset: delete it and rerun."
            )
        records.append(ImageRecord(images / name, label_of[pid], camid, name))
    return records
