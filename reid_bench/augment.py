"""Factor-K augmentation: each training image becomes K images of its person (the paper, Section 5).

For every training image, K-1 target poses are chosen and the generator draws the source person in
each; a generated image keeps the source's identity, so with the K-1 new images and the real one
every training image counts K times (Def-GAN, TPAMI, ``create_dataset_for_reid.py``: two generated
images per real one with the source's hard label, our K = 3). Target poses are chosen from the
other training images:

- ``poses="random"`` (the default): any other training image;
- ``poses="kmeans"``: the medoids of k-means clusters of their normalised keypoints (as PN-GAN's
  eight canonical poses; Qian et al., ECCV 2018); a source never gets the same medoid twice;
- ``poses="compatible"``: an image whose parsing shows the same garments and accessories as the
  source's (hat, hair, glove, sunglasses, upper clothes, dress, coat, socks, pants, jumpsuit,
  scarf, skirt: the labels the person wears, not those the pose shows or hides), so a parsing-guided
  generator such as SAN is not asked to draw a skirt on a person in trousers; a source without
  such a partner falls back to a random one. Without parsing maps it is ``random``.

``composite="target"`` pastes each generated person onto the target image's own scene through the
target's body mask (:func:`reid_bench.generators.generate.composite_onto_target`). Such an image
then shows the target's camera (its background, light and colour cast), so it carries the
target's camera label, as CamStyle (Zhong et al., CVPR 2018) labels an image restyled to camera c
with camera c; the cross-camera pairs XQDA and KISSME learn from then follow what the image shows.
Uncomposited images keep the source's camera.

The augmented set is a Market-1501 ``bounding_box_train/`` folder of lossless PNGs named
``<source stem>___<target stem>.png`` and ``manifest.csv`` (name, source, target, camid, generator,
checkpoint; camid is 0-based). It is written to a temp folder and renamed when complete;
generation itself resumes file by file.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from reid_bench.data import ImageRecord, PoseTransferPairs, ReidDataset
from reid_bench.data.market import MARKET_FOLDERS
from reid_bench.data.pose_maps import read_parsing
from reid_bench.data.pose_model import CORE_POINTS
from reid_bench.errors import ReidBenchError
from reid_bench.generators.generate import generate, output_name
from reid_bench.storage import atomic_path, locked

POSE_STRATEGIES = ("random", "kmeans", "compatible")
WORN_LABELS = tuple(range(1, 13))  # hat .. skirt in LIP's order (reid_bench.data.vocabulary.LIP_LABELS)
MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("name", "source", "target", "camid", "generator", "checkpoint")


@dataclass(frozen=True)
class AugmentConfig:
    factor: int  # K: each training image counts K times (K-1 generated)
    poses: str = "random"  # how target poses are chosen: random | kmeans
    clusters: int = 8  # k-means pose clusters (PN-GAN's 8 canonical poses)
    seed: int = 0
    composite: str = "none"  # "target": paste the person onto the target image's scene (module docstring)


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
    partners = compatible_partners(dataset) if config.poses == "compatible" else {}
    if len(candidates) <= per_image:
        raise ReidBenchError(
            f"factor {config.factor} needs {per_image} distinct target poses per image but only "
            f"{len(candidates)} are available; lower --factor or use more clusters."
        )
    pairs = []
    for source in names:
        targets: list[str] = []
        pool = partners.get(source) if len(partners.get(source, ())) > per_image else candidates
        while len(targets) < per_image:
            target = pool[rng.integers(len(pool))]
            if target != source and target not in targets:
                targets.append(target)
        pairs += [(source, target) for target in targets]
    return pairs


def worn_labels(dataset: ReidDataset, name: str) -> frozenset[int] | None:
    """The garment and accessory labels (:data:`WORN_LABELS`) the parsing of ``name`` shows; None without one."""
    path = dataset.parsing_path(name)
    if path is None:
        return None
    present = np.unique(read_parsing(path))
    return frozenset(int(label) for label in present if label in WORN_LABELS)


def compatible_partners(dataset: ReidDataset) -> dict[str, list[str]]:
    """Each training image -> the other training images that wear the same labels (module docstring)."""
    worn = {record.name: worn_labels(dataset, record.name) for record in dataset.train}
    groups: dict[frozenset[int], list[str]] = {}
    for name, labels in worn.items():
        if labels is not None:
            groups.setdefault(labels, []).append(name)
    return {name: groups[labels] for name, labels in worn.items() if labels is not None}


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
                        checkpoint_id: str, *, composite: str = "none", batch_size: int = 32, device: str = "cpu",
                        workers: int = 0, progress: bool = True) -> Path:
    """Generate every pair into ``out/bounding_box_train/`` with ``manifest.csv``; returns ``out``.

    ``composite="target"`` pastes each person onto its target's scene (module docstring). Generation
    resumes file by file in ``out.partial``; ``out`` appears only when complete. A second process
    making the same set at once waits for the first (:func:`reid_bench.storage.locked`), then reuses it.
    """
    out = Path(out)
    with locked(out):
        if not (out / MANIFEST).is_file():
            _write_augmented_set(dataset, model, pairs, out, checkpoint_id, composite == "target", batch_size,
                                 device, workers, progress)
    return out


def _write_augmented_set(dataset: ReidDataset, model, pairs: list[tuple[str, str]], out: Path, checkpoint_id: str,
                         composite: bool, batch_size: int, device: str, workers: int, progress: bool) -> None:
    """The body of :func:`write_augmented_set`, under its lock."""
    partial = out.with_name(out.name + ".partial")
    images = partial / MARKET_FOLDERS["train"]
    needs = model.needs | ({"mask"} if composite else set())
    source_pairs = PoseTransferPairs(dataset, "train", needs=needs, pairs=pairs)
    generate(model, source_pairs, images, batch_size=batch_size, device=device, workers=workers,
             skipped=source_pairs.skipped, composite=composite, progress=progress)
    written = [(source.name, target.name) for source, target in source_pairs.pairs]
    with open(partial / MANIFEST, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for source, target in written:
            camera = dataset.record(target if composite else source).camid
            writer.writerow([output_name(source, target), source, target, camera, model.name, checkpoint_id])
    with atomic_path(out) as tmp:
        os.replace(partial, tmp)


def augmented_records(dataset: ReidDataset, folder: str | os.PathLike) -> list[ImageRecord]:
    """Records of the generated images (``generated=True``), labelled with their source's
    (relabelled) pid and the camera the manifest gives them (module docstring)."""
    folder = Path(folder)
    images = folder / MARKET_FOLDERS["train"]
    if not (folder / MANIFEST).is_file():
        raise ReidBenchError(f"{folder} has no {MANIFEST}, so it is not a complete augmented set; delete it and rerun.")
    with open(folder / MANIFEST, newline="") as handle:
        rows = list(csv.DictReader(handle))
    training = {record.name: record for record in dataset.train}
    records = []
    for row in rows:
        source = training.get(row["source"])
        if source is None:
            raise ReidBenchError(
                f"{folder / MANIFEST} names source image {row['source']}, which is not in {dataset.root}'s training "
                "split; this augmented set was made from another dataset: delete it and rerun."
            )
        records.append(ImageRecord(images / row["name"], source.pid, int(row["camid"]), row["name"], generated=True))
    return records


def keep_confident(records: list[ImageRecord], confidence: np.ndarray, threshold: float) -> list[ImageRecord]:
    """The generated images to which a Re-ID model gives their source person a probability of at least
    ``threshold`` (Jiang et al., ACM MM 2021: drop the generated images a Re-ID model finds inconsistent,
    which beat keeping all of them); ``confidence[i]`` is that probability for ``records[i]``."""
    return [record for record, score in zip(records, confidence) if score >= threshold]
