"""Factor-K augmentation: target choice, the augmented Market-layout set, its labels."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reid_bench import generators
from reid_bench.augment import AugmentConfig, augmented_records, choose_targets, write_augmented_set
from reid_bench.data import load_dataset
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.errors import ReidBenchError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("augment") / "synth"
    render_dataset(root, SynthConfig(identities=6, seed=5), workers=1)
    return root


def test_random_targets_are_k_minus_one_other_images(tiny: Path):
    dataset = load_dataset(tiny)
    pairs = choose_targets(dataset, AugmentConfig(factor=3, seed=1))
    names = [record.name for record in dataset.train]
    assert len(pairs) == 2 * len(names)
    by_source: dict[str, list[str]] = {}
    for source, target in pairs:
        by_source.setdefault(source, []).append(target)
    assert sorted(by_source) == sorted(names)
    for source, targets in by_source.items():
        assert len(set(targets)) == 2 and source not in targets and set(targets) <= set(names)
    assert choose_targets(dataset, AugmentConfig(factor=3, seed=1)) == pairs
    assert choose_targets(dataset, AugmentConfig(factor=3, seed=2)) != pairs
    assert choose_targets(dataset, AugmentConfig(factor=1)) == []


def test_kmeans_targets_are_cluster_medoids(tiny: Path):
    dataset = load_dataset(tiny)
    pairs = choose_targets(dataset, AugmentConfig(factor=3, poses="kmeans", clusters=4, seed=1))
    targets = {target for _, target in pairs}
    assert len(targets) <= 4  # every target is one of the four medoids
    assert len(pairs) == 2 * len(dataset.train)


def test_bad_configs_are_one_sentence(tiny: Path):
    dataset = load_dataset(tiny)
    with pytest.raises(ReidBenchError, match="--factor must be 1 or more"):
        choose_targets(dataset, AugmentConfig(factor=0))
    with pytest.raises(ReidBenchError, match="unknown pose strategy"):
        choose_targets(dataset, AugmentConfig(factor=2, poses="canonical"))
    with pytest.raises(ReidBenchError, match="distinct target poses"):
        choose_targets(dataset, AugmentConfig(factor=6, poses="kmeans", clusters=3))


def test_augmented_set_keeps_source_labels(tiny: Path, tmp_path: Path):
    dataset = load_dataset(tiny)
    pairs = choose_targets(dataset, AugmentConfig(factor=2, seed=3))
    model = generators.create("identity")
    out = write_augmented_set(dataset, model, pairs, tmp_path / "aug", "test-checkpoint", progress=False)
    assert not (tmp_path / "aug.partial").exists()
    with open(out / "manifest.csv", newline="") as handle:
        manifest = list(csv.DictReader(handle))
    assert len(manifest) == len(pairs)
    assert {(row["source"], row["target"]) for row in manifest} == set(pairs)
    assert all(row["generator"] == "identity" and row["checkpoint"] == "test-checkpoint" for row in manifest)

    records = augmented_records(dataset, out)
    assert len(records) == len(pairs)
    real = {record.name: record for record in dataset.train}
    by_name = {row["name"]: row for row in manifest}
    for record in records:
        source = real[by_name[record.name]["source"]]
        assert (record.pid, record.camid) == (source.pid, source.camid)
        # identity copies the source: the generated PNG is the source's pixels, losslessly
        assert np.array_equal(np.asarray(Image.open(record.path)), np.asarray(Image.open(source.path).convert("RGB")))
    # A second call finds the complete set and does not regenerate it.
    stamp = (out / "manifest.csv").stat().st_mtime_ns
    write_augmented_set(dataset, model, pairs, out, "test-checkpoint", progress=False)
    assert (out / "manifest.csv").stat().st_mtime_ns == stamp


def test_augmented_set_of_another_dataset_is_refused(tiny: Path, tmp_path: Path):
    dataset = load_dataset(tiny)
    folder = tmp_path / "foreign" / "bounding_box_train"
    folder.mkdir(parents=True)
    name = "9999_c1s1_000001_01___9999_c2s1_000002_01.png"
    Image.new("RGB", (64, 128)).save(folder / name)
    with pytest.raises(ReidBenchError, match="no manifest.csv"):
        augmented_records(dataset, tmp_path / "foreign")
    (tmp_path / "foreign" / "manifest.csv").write_text(
        f"name,source,target,camid,generator,checkpoint\n{name},9999_c1s1_000001_01.jpg,9999_c2s1_000002_01.jpg,0,x,y\n")
    with pytest.raises(ReidBenchError, match="another dataset"):
        augmented_records(dataset, tmp_path / "foreign")
