"""DPIG baseline (baselines/dpig.py): body-part boxes, the three embeddings, the paper's presets.
Sizes, gradients, the shared loop and the short overfit: test_generator_contract.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from generators_fixtures import STANDING, TINY_OPTIONS, collated_batch

from reid_bench import generators
from reid_bench.baselines._blocks import POINT
from reid_bench.baselines.dpig import PARTS, part_boxes
from reid_bench.errors import ReidBenchError

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = TINY_OPTIONS["dpig"]


def tiny(size: tuple[int, int], **options) -> generators.Generator:
    torch.manual_seed(0)
    return generators.create("dpig", height=size[0], width=size[1], **{**TINY, **options})


def test_registered_with_needs_and_resolved_options() -> None:
    assert "dpig" in generators.names()
    model = tiny((128, 64))
    assert model.name == "dpig" and model.needs == {"keypoints", "heatmap", "mask"}
    assert model.options["levels"] == 5 and generators.create("dpig", **model.options).options == model.options
    with pytest.raises(ReidBenchError, match="roi_size"):
        generators.create("dpig", roi_size=1)


def test_part_boxes_hold_their_keypoints_and_missing_parts_are_invisible() -> None:
    pose = STANDING.unsqueeze(0)
    boxes, visible = part_boxes(pose, 128, 64)
    assert boxes.shape == (1, 7, 4) and visible.all()
    for part, box in zip(PARTS, boxes[0]):
        points = pose[0, [POINT[n] for n in part]]
        assert (points[:, 1] >= box[0]).all() and (points[:, 0] >= box[1]).all()
        assert (points[:, 1] <= box[2]).all() and (points[:, 0] <= box[3]).all()
    no_left_leg = pose.clone()
    no_left_leg[0, [11, 12, 13]] = -1
    _, visible = part_boxes(no_left_leg, 128, 64)
    assert visible[0].tolist() == [True, True, True, True, True, False, True]


def test_a_missing_part_has_a_zero_embedding(people: Path) -> None:
    model = tiny((32, 16))
    data = collated_batch("dpig", people, (32, 16))
    data["src_keypoints"][:, [11, 12, 13]] = -1  # no left leg (part 6 of 7)
    with torch.no_grad():
        parts = model.embeddings(data)[:, :7 * 4].view(2, 7, 4)
    assert (parts[:, 5] == 0).all() and (parts[:, :5] != 0).any()


@pytest.mark.parametrize("size, background", [((128, 64), True), ((256, 256), False), ((256, 176), True)])
def test_the_embedding_holds_seven_parts_the_background_and_the_pose(size: tuple[int, int], background: bool) -> None:
    """The contract's sizes and background switches (test_generator_contract.py's SIZE_OPTIONS)."""
    model = tiny(size, background=background)
    assert model.config.embedding_dim == 7 * 4 + (16 if background else 0) + 4
    assert model.decoder.stem[0].in_channels == model.config.embedding_dim + 18


def test_presets_hold_the_papers_settings() -> None:
    presets = generators.get("dpig").preset_options
    assert presets["market"]["background"] and not presets["deepfashion"]["background"]
    assert presets["market"]["roi_size"] == 48
    assert generators.create("dpig", **presets["quick"]).options["l1_weight"] == 20
