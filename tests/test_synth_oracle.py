"""The synth-oracle generator (baselines/synth_oracle.py): SynthPeople's source person in the target's pose.
What every generator does (sizes, the shared loop writing its checkpoint at once): test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from plain_presets import PLAIN_QUICK
from torch.utils.data import default_collate

from reid_bench import generators
from reid_bench.data import PoseTransferPairs, load_dataset, synth
from reid_bench.data.formats import read_pairs_csv
from reid_bench.errors import ReidBenchError
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import train


@pytest.fixture(scope="module")
def world(people: Path) -> dict:
    config = synth.SynthConfig(identities=4)  # the `people` fixture's config
    appearances, jobs = synth.plan(config)
    dataset = load_dataset(people)
    return {"model": generators.create("synth-oracle", data=str(people)), "appearances": appearances,
            "jobs": {job.name: job for job in jobs}, "dataset": dataset}


def _parsing(dataset, name: str) -> np.ndarray:
    return np.asarray(Image.open(dataset.parsing_path(name)))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _person_pairs(world: dict, same_identity: bool, split: str = "train") -> list[tuple[str, str]]:
    """(source, target) person pairs of ``split`` ("test": query + gallery), target without an
    occluder, poses that differ."""
    splits = {"train"} if split == "train" else {"test", "query"}
    persons = [job for job in world["jobs"].values() if job.kind == "person" and job.split in splits]
    return [(a.name, b.name) for a in persons for b in persons
            if (a.identity == b.identity) == same_identity and a.name != b.name and not b.occluded
            and (a.view_bin != b.view_bin or abs(a.phase - b.phase) > 0.5)]


def test_registered_parameter_free_needs_only_names(world: dict, people: Path) -> None:
    model = world["model"]
    assert "synth-oracle" in generators.names() and model.name == "synth-oracle"
    assert model.needs == frozenset() and not list(model.parameters())
    assert model.options == {"data": str(people.resolve())}
    with pytest.raises(ReidBenchError, match="does not take"):
        generators.create("synth-oracle", data=str(people), channels=4)


def test_same_identity_reproduces_the_target_body_exactly(world: dict) -> None:
    model, dataset, jobs = world["model"], world["dataset"], world["jobs"]
    pairs = _person_pairs(world, same_identity=True)[:12]
    assert len(pairs) >= 6
    for source, target in pairs:
        pixels, parsing, keypoints = model.render(source, target)
        assert pixels.shape == (128, 64, 3) and pixels.dtype == np.uint8
        # The target's pose replayed with the same build: its parsing, label for label.
        assert np.array_equal(parsing, _parsing(dataset, target))
        split = jobs[target].split
        assert np.array_equal(keypoints, dataset.keypoints(split)[target])
        body = parsing > 0
        assert _iou(body, _parsing(dataset, source) > 0) < 0.9


def test_other_identity_wears_the_source_clothes_in_the_target_pose(world: dict) -> None:
    model, dataset, appearances, jobs = world["model"], world["dataset"], world["appearances"], world["jobs"]
    source_id, target_id = 3, 2  # an olive dress and a shoulder bag; a black coat over pants
    dress, coat = appearances[source_id].upper, appearances[target_id].upper
    assert (dress.label, coat.label, appearances[source_id].lower_type) == (6, 7, "none")
    pairs = [(a, b) for a, b in _person_pairs(world, same_identity=False, split="test")
             if jobs[a].identity == source_id and jobs[b].identity == target_id and jobs[b].crop == "none"][:6]
    assert len(pairs) >= 3
    for source, target in pairs:
        pixels, parsing, keypoints = model.render(source, target)
        target_parsing, source_parsing = _parsing(dataset, target), _parsing(dataset, source)
        # The target's pose: the silhouette follows it, the keypoints are the target's (to jitter).
        assert _iou(parsing > 0, target_parsing > 0) > 0.6
        assert _iou(parsing > 0, target_parsing > 0) > _iou(parsing > 0, source_parsing > 0)
        target_points = dataset.keypoints(jobs[target].split)[target]
        both = (keypoints >= 0).all(1) & (target_points >= 0).all(1)
        assert both.sum() >= 9 and np.abs(keypoints[both] - target_points[both]).mean() < 1
        # The source's outfit: a dress, no coat, no pants ...
        assert (parsing == dress.label).sum() > 100 and (target_parsing == coat.label).sum() > 100
        assert not np.isin(parsing, [coat.label, 9]).any()
        # ... in the source's colours (the source's camera, so its colour cast).
        source_image = np.asarray(Image.open(dataset.image_path(source)).convert("RGB"), float)
        target_image = np.asarray(Image.open(dataset.image_path(target)).convert("RGB"), float)
        worn = pixels.astype(float)[parsing == dress.label].mean(0)
        assert np.abs(worn - source_image[source_parsing == dress.label].mean(0)).max() < 20
        assert np.abs(worn - target_image[target_parsing == coat.label].mean(0)).max() > 40


def test_forward_batches_resizes_and_is_deterministic(world: dict, people: Path) -> None:
    model = world["model"]
    pairs = _person_pairs(world, same_identity=True)[:2] + _person_pairs(world, same_identity=False)[:2]
    for size in ((128, 64), (256, 128)):
        data = PoseTransferPairs(world["dataset"], "train", needs=model.needs, pairs=pairs, image_size=size)
        batch = default_collate([data[i] for i in range(len(data))])
        out = model(batch)
        assert out.shape == (4, 3, *size) and out.dtype == torch.float32
        assert out.min() >= -1 and out.max() <= 1
        assert torch.equal(out, model(batch))  # the same batch twice: the same images
        if size == (128, 64):
            expected = model.render(*pairs[0])[0].astype(np.float32) / 127.5 - 1
            assert torch.equal(out[0], torch.from_numpy(expected).permute(2, 0, 1))
    # A fresh model (another process, say) renders the same images.
    assert torch.equal(generators.create("synth-oracle", data=str(people))(batch), out)


def test_not_synthpeople_or_unknown_name_is_one_sentence(world: dict, tmp_path: Path) -> None:
    with pytest.raises(ReidBenchError, match=r"is not a SynthPeople render \(it has no synthpeople.json\)") as caught:
        generators.create("synth-oracle", data=str(tmp_path))
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")
    with pytest.raises(ReidBenchError, match="needs option data"):
        generators.create("synth-oracle")
    with pytest.raises(ReidBenchError, match="not a SynthPeople render"):
        configure("synth-oracle", data=str(tmp_path), preset=PLAIN_QUICK.generator)
    name = next(iter(world["jobs"]))
    batch = {"src_image": torch.zeros(1, 3, 128, 64), "src_name": [name], "tgt_name": ["0001_c1s1_000001_01.jpg"]}
    with pytest.raises(ReidBenchError, match=r"^image 0001_c1s1_000001_01.jpg is not in the SynthPeople render .*\.$"):
        world["model"](batch)


def test_checkpoint_round_trip_through_the_shared_loop(world: dict, people: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's data folder becomes the option, and the reloaded oracle renders the same images."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    config = configure("synth-oracle", data=str(people), preset=PLAIN_QUICK.generator)
    assert config.options == {"data": str(people.resolve())}
    pairs = PoseTransferPairs(world["dataset"], "train", needs=generators.get("synth-oracle").needs)
    model = generators.load(train(config, pairs, tmp_path / "run", progress=False).generator, "synth-oracle")
    assert model.options == config.options
    source, target = read_pairs_csv(world["dataset"].pairs_path("train"))[0]
    assert np.array_equal(model.render(source, target)[0], world["model"].render(source, target)[0])
