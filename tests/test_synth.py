"""SynthPeople: layout, counts, exact parsing and keypoints, determinism, torchreid compatibility."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reid_bench.cli import main
from reid_bench.data import load_dataset, read_keypoints_csv, read_pairs_csv, synth
from reid_bench.data import pose_model as pm
from reid_bench.data.synth import SPLIT_FOLDERS, SynthConfig, parse_size, render_dataset
from reid_bench.errors import ReidBenchError

NAME = re.compile(r"^(-1|\d{4})_c([1-6])s(\d)_(\d{6})_(\d{2})\.jpg$")
SMALL = SynthConfig(identities=40, seed=3)


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "synthpeople"
    render_dataset(root, SMALL, workers=2)
    return root


def _images(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).glob("*.jpg"))


def test_layout_names_and_counts(synth_root: Path):
    meta_images = __import__("json").loads((synth_root / "synthpeople.json").read_text())["images"]
    for split, folder in SPLIT_FOLDERS.items():
        images = _images(synth_root, folder)
        assert len(images) == meta_images[split] > 0
        for path in images:
            assert NAME.match(path.name), path.name
            assert (synth_root / "parsing" / folder / f"{path.stem}.png").is_file()
        annotations = read_keypoints_csv(synth_root / f"annotation-{split}.csv")
        assert sorted(annotations) == [p.name for p in images]
    train_pids = {p.name.split("_")[0] for p in _images(synth_root, "bounding_box_train")}
    test_pids = {p.name.split("_")[0] for p in _images(synth_root, "bounding_box_test")}
    assert len(train_pids) == SMALL.identities // 2
    assert {"0000", "-1"} <= test_pids  # distractors and junk in the gallery, as in Market-1501
    assert not train_pids & test_pids  # disjoint identities


def test_images_and_parsing_are_consistent(synth_root: Path):
    seen_labels = np.zeros(20, bool)
    for path in _images(synth_root, "bounding_box_train")[:200]:
        image = Image.open(path)
        parsing = Image.open(synth_root / "parsing" / "bounding_box_train" / f"{path.stem}.png")
        assert image.size == (64, 128) and image.mode == "RGB"
        assert parsing.mode == "P" and parsing.size == image.size
        labels = np.asarray(parsing)
        assert labels.max() <= 19
        seen_labels[np.unique(labels)] = True
    assert seen_labels.sum() >= 17  # the full 20 are checked on the default render below


def test_visible_keypoints_lie_on_the_drawn_body(synth_root: Path):
    """Keypoints are exact: a visible limb joint sits on a person pixel of the parsing map."""
    annotations = read_keypoints_csv(synth_root / "annotation-train.csv")
    joints = [pm.RSHO, pm.LSHO, pm.RHIP, pm.LHIP, pm.RKNE, pm.LKNE, pm.RANK, pm.LANK]
    on_body = total = 0
    for name, points in annotations.items():
        labels = np.asarray(Image.open(synth_root / "parsing" / "bounding_box_train" / f"{Path(name).stem}.png"))
        for y, x in points[joints]:
            if y >= 0:
                total += 1
                on_body += labels[y, x] > 0
    assert total > 1000
    assert on_body / total > 0.97


def test_pairs_join_images_of_one_identity(synth_root: Path):
    for split in ("train", "test"):
        folder = SPLIT_FOLDERS[split]
        pairs = read_pairs_csv(synth_root / f"pairs-{split}.csv")
        assert len(pairs) > 0
        for source, target in pairs:
            assert source != target
            assert source.split("_")[0] == target.split("_")[0]
            assert (synth_root / folder / source).is_file() and (synth_root / folder / target).is_file()


def test_train_split_limits_pose_variety(synth_root: Path):
    views: dict[tuple[str, str], set[str]] = {}
    with open(synth_root / "synthpeople-views.csv") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] == "person":
                split = "train" if row["split"] == "train" else "test"
                views.setdefault((split, row["name"].split("_")[0]), set()).add(row["view_bin"])
    train = [len(v) for (split, _), v in views.items() if split == "train"]
    test = [len(v) for (split, _), v in views.items() if split == "test"]
    assert max(train) <= SMALL.train_views_per_id
    assert np.mean(test) > np.mean(train) + 1


def test_torchreid_reads_the_same_pids_and_camids(synth_root: Path, tmp_path: Path):
    from torchreid.reid.data.datasets.image.market1501 import Market1501  # noqa: PLC0415  (optional: the torchreid extra)

    (tmp_path / "market1501").mkdir()
    (tmp_path / "market1501" / "Market-1501-v15.09.15").symlink_to(synth_root)
    theirs = Market1501(root=str(tmp_path))
    ours = load_dataset(synth_root)
    assert ours.kind == "synthpeople"

    def by_name(items):
        return {Path(path).name: (pid, camid) for path, pid, camid, *_ in items}

    assert by_name(theirs.query) == by_name((r.path, r.pid, r.camid) for r in ours.query)
    assert by_name(theirs.gallery) == by_name((r.path, r.pid, r.camid) for r in ours.gallery)
    # Train pids are relabelled by both (in different orders): compare the partitions.
    theirs_train, ours_train = by_name(theirs.train), by_name((r.path, r.pid, r.camid) for r in ours.train)
    assert theirs_train.keys() == ours_train.keys()
    mapping = {theirs_train[n][0]: ours_train[n][0] for n in theirs_train}
    assert all(mapping[theirs_train[n][0]] == ours_train[n][0] for n in theirs_train)
    assert len(set(mapping.values())) == len(mapping)
    assert all(theirs_train[n][1] == ours_train[n][1] for n in theirs_train)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_whatever_the_workers(tmp_path: Path):
    config = SynthConfig(identities=6, seed=11)
    render_dataset(tmp_path / "a", config, workers=1)
    render_dataset(tmp_path / "b", config, workers=2)
    render_dataset(tmp_path / "c", SynthConfig(identities=6, seed=12), workers=1)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_large_size_on_request(tmp_path: Path):
    render_dataset(tmp_path / "big", SynthConfig(identities=4, size=(256, 128)), workers=1)
    path = next((tmp_path / "big" / "bounding_box_train").glob("*.jpg"))
    assert Image.open(path).size == (128, 256)
    parsing = tmp_path / "big" / "parsing" / "bounding_box_train" / f"{path.stem}.png"
    assert Image.open(parsing).size == (128, 256)


def test_sampled_poses_match_market_statistics(real_market: Path):
    """Frechet distance between Gaussians of normalised core keypoints: real train vs real test
    give about 0.02; an uncorrelated Gaussian with the right spreads about 0.14; target < 0.03."""
    real = pm.normalised_core(np.stack(list(read_keypoints_csv(real_market / "market-annotation-train.csv").values())),
                              128, 64)
    rng = np.random.default_rng(2024)
    pose = pm.pose_from_params(pm.sample_params(rng, 8000), 128, 64, rng=rng)
    ours = pm.normalised_core(pm.visible_keypoints(pose, 128, 64), 128, 64)
    assert len(ours) > 5000
    assert pm.frechet_distance(ours, real) < 0.03
    # The measure is sharp enough to fail a pose model without the body's correlations.
    independent = rng.normal(real.mean(0), real.std(0), size=real.shape)
    assert pm.frechet_distance(independent, real) > 0.1


def test_default_render_uses_every_lip_label_and_matches_market(tmp_path: Path, real_market: Path):
    root = tmp_path / "default"
    summary = render_dataset(root, SynthConfig(), workers=2)
    assert 2500 <= sum(summary.images.values()) <= 6000
    seen = np.zeros(20, bool)
    for path in (root / "parsing").rglob("*.png"):
        seen[np.unique(np.asarray(Image.open(path)))] = True
    assert seen.all(), f"labels never drawn: {np.flatnonzero(~seen)}"
    real = pm.normalised_core(np.stack(list(read_keypoints_csv(real_market / "market-annotation-train.csv").values())),
                              128, 64)
    rendered = pm.normalised_core(np.stack(list(read_keypoints_csv(root / "annotation-train.csv").values())), 128, 64)
    assert pm.frechet_distance(rendered, real) < 0.03


def test_cli_renders_reuses_and_refuses_a_foreign_folder(tmp_path: Path, capsys):
    out = tmp_path / "cli"
    assert main(["data", "synth", "--out", str(out), "--ids", "4", "--workers", "1"]) == 0
    assert "rendered in" in capsys.readouterr().out
    assert main(["data", "synth", "--out", str(out), "--ids", "4", "--workers", "1"]) == 0
    assert "already rendered" in capsys.readouterr().out
    assert main(["data", "synth", "--out", str(out), "--ids", "6", "--workers", "1"]) == 2
    assert "another config" in capsys.readouterr().err
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert main(["data", "synth", "--out", str(foreign), "--ids", "4"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["data", "synth", "--out", str(tmp_path / "x"), "--size", "big"]) == 2


def test_interrupted_render_leaves_nothing(tmp_path: Path, monkeypatch):
    calls = {"n": 0}
    real_render = synth._render_job

    def failing(job):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real_render(job)

    monkeypatch.setattr(synth, "_render_job", failing)
    with pytest.raises(KeyboardInterrupt):
        render_dataset(tmp_path / "out", SynthConfig(identities=6), workers=1)
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_size_is_one_sentence():
    with pytest.raises(ReidBenchError, match="not HxW"):
        parse_size("128-64")
