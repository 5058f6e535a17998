"""``reid-bench data prepare``: each product (pairs by PATN's rule, body masks, parsing), cached,
resumable and recorded; ``data check`` reports them; a generator whose inputs are missing stops with
one sentence saying what, for how many images, and the command that makes it."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from paper_fixtures import write_real_market
from PIL import Image
from torchvision.models import detection

from reid_bench.cli import main
from reid_bench.data import PoseTransferPairs, load_dataset
from reid_bench.data import prepare as prepare_module
from reid_bench.data.check import check_dataset
from reid_bench.data.formats import read_keypoints_csv, read_pairs_csv
from reid_bench.data.inputs import input_sources
from reid_bench.data.keypoint_parsing import parsing_from_keypoints
from reid_bench.data.label_files import png_source, read_mask
from reid_bench.data.masks import MaskRCNNWeights, choose_person, find_maskrcnn
from reid_bench.data.patn_pairs import patn_pairs, sample_pairs
from reid_bench.data.pose_maps import body_mask_from_keypoints, read_parsing, visible
from reid_bench.data.prepare import PrepareOptions, prepare_dataset
from reid_bench.data.vocabulary import LIP_PALETTE
from reid_bench.errors import ReidBenchError

SHOULDERS_AND_HIPS = [2, 5, 8, 11]  # Rsho, Lsho, Rhip, Lhip in COCO-OpenPose order


@pytest.fixture(scope="module")
def real_layout_once(tmp_path_factory) -> Path:
    return write_real_market(tmp_path_factory.mktemp("prepare") / "market")


@pytest.fixture
def real_layout(real_layout_once: Path, tmp_path: Path) -> Path:
    """A Market-1501-v15.09.15/ folder with real names and keypoint rows, no parsing, masks or pairs (a copy)."""
    return Path(shutil.copytree(real_layout_once, tmp_path / "market")) / "Market-1501-v15.09.15"


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no Mask R-CNN weights unless a test puts some
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))


# ---- pairs ------------------------------------------------------------------------------------


def test_pairs_follow_patns_rule_on_the_real_sample(real_market: Path) -> None:
    rows = read_keypoints_csv(real_market / "market-annotation-train.csv")
    first = next(iter(rows))
    rows = {**rows, "0000_c1s1_000001_01.jpg": rows[first], "-1_c1s1_000002_01.jpg": rows[first]}  # distractor, junk
    pairs = patn_pairs(rows)
    persons: dict[str, list[str]] = {}
    for name, points in rows.items():
        if (points[SHOULDERS_AND_HIPS] != -1).all() and not name.startswith(("0000", "-1")):
            persons.setdefault(name.split("_")[0], []).append(name)
    expected = [pair for names in persons.values() for pair in itertools.permutations(names, 2)]
    assert pairs == expected and len(set(pairs)) == len(pairs)
    assert len(pairs) == sum(len(names) * (len(names) - 1) for names in persons.values()) > 0
    left_out = [name for name, points in rows.items() if (points[SHOULDERS_AND_HIPS] == -1).any()]
    assert left_out and not {name for pair in pairs for name in pair} & {*left_out, "0000_c1s1_000001_01.jpg"}
    assert all(a.split("_")[0] == b.split("_")[0] and a != b for a, b in pairs)


def test_test_pairs_are_sampled_as_pandas_samples_them() -> None:
    """pandas 3.1: ``DataFrame.sample(n=min(12, N), random_state=0).index`` for N = 20 and N = 5 (computed
    once with pandas, which is no dependency of the suite)."""
    pairs = [(f"a{i}", f"b{i}") for i in range(20)]
    assert sample_pairs(pairs, 12, 0) == [pairs[i] for i in [18, 1, 19, 8, 10, 17, 6, 13, 4, 2, 5, 14]]
    assert sample_pairs(pairs[:5], 12, 0) == [pairs[i] for i in [2, 0, 1, 3, 4]]


# ---- parsing from keypoints, masks, pairs: the folder ---------------------------------


def test_prepare_makes_each_product_once_and_check_reports_it(real_layout: Path, capsys) -> None:
    dataset = load_dataset(real_layout)
    train = dataset.split_names("train")
    with pytest.raises(ReidBenchError, match=r"^SAN needs training pairs: .* has no \*pairs-train.csv; run reid-bench "
                                             r"data prepare .* to make them by PATN's rule"):
        PoseTransferPairs(dataset, "train", needs={"parsing", "mask"}, who="SAN")

    assert main(["data", "prepare", str(real_layout.parent), "--parsing", "keypoints"]) == 0
    printed = capsys.readouterr().out
    assert "parsing: drawn from keypoints" in printed and "not Mask R-CNN, the paper's method" in printed
    assert re.search(r"\n  san +ready: 8 training pairs\n", printed)

    rows = read_keypoints_csv(real_layout / "market-annotation-train.csv")
    assert read_pairs_csv(real_layout / "market-pairs-train.csv") == patn_pairs(rows)
    for name in train:
        png = real_layout / "parsing" / "bounding_box_train" / (Path(name).stem + ".png")
        assert png_source(png) == "keypoints"
        assert np.array_equal(read_parsing(png, (128, 64)), parsing_from_keypoints(rows[name], 128, 64))
        labels = read_parsing(png)
        y, x = rows[name][visible(rows[name])].T
        assert (labels[y.clip(0, 127), x.clip(0, 63)] > 0).mean() > 0.9  # the person is where its points are
    assert not (real_layout / "masks" / "bounding_box_train").exists()  # their mask is the parsing's foreground
    assert input_sources(load_dataset(real_layout), "train", {"parsing", "mask"}) == {
        "parsing": "keypoints", "mask": "keypoints"}

    before = {path: path.stat().st_mtime_ns for path in real_layout.rglob("*") if path.is_file()}
    again = prepare_dataset(real_layout, PrepareOptions(parsing="keypoints"), progress=False)
    assert {path: path.stat().st_mtime_ns for path in real_layout.rglob("*") if path.is_file()} == before
    parsing = again.products[0]
    assert (sum(parsing.made.values()), parsing.kept) == (0, len(train))

    summary = check_dataset(real_layout.parent)
    assert summary.parsing_sources["bounding_box_train"]["keypoints"] == len(train)
    text = str(summary)
    assert f"bounding_box_train {len(train)}/{len(train)} (drawn from keypoints {len(train)})" in text
    assert "pairs: train 8 (made by reid-bench data prepare by PATN's rule), test none" in text


def test_an_interrupted_prepare_resumes_and_leaves_no_partial_file(real_layout: Path, monkeypatch) -> None:
    real_save, calls = prepare_module.save_parsing, {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_save(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "save_parsing", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(real_layout, PrepareOptions(parsing="keypoints", masks="none", pairs=False), progress=False)
    written = list((real_layout / "parsing").rglob("*"))
    assert len([path for path in written if path.is_file()]) == 3 and not [p for p in written if ".tmp" in p.name]
    monkeypatch.setattr(prepare_module, "save_parsing", real_save)
    report = prepare_dataset(real_layout, PrepareOptions(parsing="keypoints", masks="none", pairs=False),
                             progress=False)
    assert (report.products[0].kept, sum(report.products[0].made.values())) == (3, 5)


def test_keypoint_masks_where_there_is_no_parsing(real_layout: Path) -> None:
    report = prepare_dataset(real_layout, PrepareOptions(), progress=False)
    masks = report.products[0]
    assert masks.made == {"keypoints": 8} and sum(masks.lacking.values()) == 6  # query and gallery have no rows
    rows = read_keypoints_csv(real_layout / "market-annotation-train.csv")
    for name, points in rows.items():
        path = real_layout / "masks" / "bounding_box_train" / (Path(name).stem + ".png")
        assert png_source(path) == "keypoints"
        assert np.array_equal(read_mask(path, (128, 64)), body_mask_from_keypoints(points, 128, 64))
    assert input_sources(load_dataset(real_layout), "train", {"mask"}) == {"mask": "keypoints"}
    assert "mask PNGs: bounding_box_train 8/8 (drawn from keypoints 8)" in str(check_dataset(real_layout))
    with pytest.raises(ReidBenchError, match="maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth or maskrcnn_resnet50_fpn_v2"):
        prepare_dataset(real_layout, PrepareOptions(masks="maskrcnn"), progress=False)


def test_choose_person_takes_the_central_confident_person() -> None:
    masks = torch.zeros(4, 1, 8, 4)
    for index in range(4):
        masks[index, 0, index] = 0.9  # instance i covers row i
    output = {"labels": torch.tensor([1, 1, 3, 1]), "scores": torch.tensor([0.95, 0.8, 0.99, 0.3]),
              "boxes": torch.tensor([[0, 0, 1, 1], [0, 0, 4, 8], [0, 0, 4, 8], [0, 0, 4, 8]], dtype=torch.float),
              "masks": masks}
    chosen = choose_person(output, 8, 4)
    assert chosen[1].all() and chosen.sum() == 4  # the person whose box holds the centre, not the car or the 0.3
    output["boxes"][1] = torch.tensor([0, 0, 1, 1])
    assert choose_person(output, 8, 4)[0].all()  # no central box: the most confident person
    output["labels"][:] = 3
    assert choose_person(output, 8, 4) is None


def test_mask_rcnn_masks_with_a_stand_in_weights_file(market_dir: Path, tmp_path: Path) -> None:
    """A STAND-IN for torchvision's COCO Mask R-CNN file: random weights, except that every box is called a
    person and every mask pixel is on. It tests the offline lookup, loading, inference and recording, not
    segmentation."""
    torch.manual_seed(0)
    model = detection.maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
    with torch.no_grad():
        model.roi_heads.box_predictor.cls_score.bias.zero_()[1] = 50.0
        model.roi_heads.box_predictor.bbox_pred.weight.zero_()
        model.roi_heads.mask_predictor.mask_fcn_logits.bias.fill_(50.0)
    given = tmp_path / "elsewhere" / "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth"
    given.parent.mkdir()
    torch.save({key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()},
               given)
    assert find_maskrcnn() is None  # not in the torch hub cache: only where it is given
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    os.link(given, hub / given.name)
    assert find_maskrcnn() == MaskRCNNWeights("maskrcnn", hub / given.name)  # what `reid-bench weights` lists
    for folder in ("query", "bounding_box_test"):  # the training images are enough here
        shutil.rmtree(market_dir / folder)
        (market_dir / folder).mkdir()
    options = PrepareOptions(masks="maskrcnn", maskrcnn_weights=str(given), pairs=False, detector_size=64,
                             detector_proposals=20)
    report = prepare_dataset(market_dir, options, progress=False)
    masks = report.products[0]
    images = sum(len(load_dataset(market_dir).split_names(split)) for split in ("train", "test", "query"))
    assert masks.made["maskrcnn"] == images and "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth" in masks.method
    mask_png = next((market_dir / "masks" / "bounding_box_train").iterdir())
    assert png_source(mask_png).startswith("maskrcnn:maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth sha256 ")
    assert read_mask(mask_png, (128, 64)).any()
    assert input_sources(load_dataset(market_dir), "train", {"mask"}) == {"mask": "maskrcnn"}


# ---- imported parsing -------------------------------------------------------------------------


def _png(path: Path, labels: np.ndarray, mode: str = "P") -> Path:
    """A parser's PNG as Self-Correction-Human-Parsing writes it (palettised, LIP's palette), or greyscale."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(labels.astype(np.uint8), mode=mode)
    if mode == "P":
        image.putpalette(np.resize(LIP_PALETTE, (256, 3)).flatten().tolist())
    image.save(path)
    return path


def test_import_checks_a_parsers_pngs_and_keeps_what_is_there(market_dir: Path, tmp_path: Path, data_files) -> None:
    shutil.rmtree(market_dir / "parsing" / "bounding_box_test")
    labels = data_files.parsing_labels()
    parser = tmp_path / "schp"
    gallery = load_dataset(market_dir).split_names("test")
    bad = _png(parser / f"{Path(gallery[0]).stem}.png", np.full((64, 32), 5))  # the first image it reads
    _png(parser / f"{Path(gallery[1]).stem}.png", labels)  # flat, as SCHP writes one folder
    _png(parser / "bounding_box_test" / f"{Path(gallery[2]).stem}.png", np.zeros_like(labels))  # in a split folder
    _png(parser / "no_such_image.png", labels)
    with pytest.raises(ReidBenchError, match=rf"{bad} is 64x32 but its image is 128x64"):
        prepare_dataset(market_dir, PrepareOptions(parsing=str(parser), masks="none", pairs=False), progress=False)
    _png(bad, np.full_like(labels, 25), mode="L")
    with pytest.raises(ReidBenchError, match=rf"{bad} holds label 25; LIP parsing labels are 0..19"):
        prepare_dataset(market_dir, PrepareOptions(parsing=str(parser), masks="none", pairs=False), progress=False)
    bad.unlink()
    kept = market_dir / "parsing" / "bounding_box_train"
    before = {path.name: path.read_bytes() for path in kept.iterdir()}

    report = prepare_dataset(market_dir, PrepareOptions(parsing=str(parser), masks="none", pairs=False),
                             progress=False).products[0]
    assert report.made == {"parser": 2} and report.kept == len(before)
    assert report.lacking == {"bounding_box_test": len(gallery) - 2, "query": 2}
    assert any("1 imported maps show no person" in note for note in report.notes)
    assert any("1 PNGs in" in note and "match no image" in note for note in report.notes)
    assert {path.name: path.read_bytes() for path in kept.iterdir()} == before  # nothing there was rewritten
    imported = market_dir / "parsing" / "bounding_box_test" / f"{Path(gallery[1]).stem}.png"
    assert png_source(imported) == f"parser:{parser.resolve()}"
    assert np.array_equal(read_parsing(imported, (128, 64)), labels)
    assert input_sources(load_dataset(market_dir), "test", {"parsing"}) == {}  # a parser's parsing is no stand-in
    with pytest.raises(ReidBenchError, match="no such folder"):
        prepare_dataset(market_dir, PrepareOptions(parsing=str(tmp_path / "absent")), progress=False)


# ---- the missing-input sentences --------------------------------------------------------------


def test_each_missing_input_is_one_sentence_with_its_fix(real_layout: Path, capsys) -> None:
    prepare_dataset(real_layout, PrepareOptions(masks="none"), progress=False)  # pairs only
    root = real_layout
    assert main(["train-generator", "--generator", "san", "--data", str(root.parent), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err == (f"reid-bench: error: SAN needs parsing maps: 8 of 8 training images have none under "
                   f"parsing/bounding_box_train/; run reid-bench data prepare {root} --parsing keypoints, or put a "
                   "parser's PNGs there.\n")
    (root / "market-annotation-train.csv").write_text("name:keypoints_y:keypoints_x\n")
    with pytest.raises(ReidBenchError, match=r"^PATN needs keypoints: 8 of 8 training images have no visible point in "
                                             r"market-annotation-train.csv; reid-bench estimates no poses"):
        PoseTransferPairs(load_dataset(root), "train", needs={"heatmap"}, who="PATN")
    with pytest.raises(ReidBenchError, match=r"^SAN needs parsing maps: 8 of 8 training images have none under "
                                             r"parsing/bounding_box_train/; put a human parser's PNGs there"):
        PoseTransferPairs(load_dataset(root), "train", needs={"parsing", "mask"}, who="SAN")
    with pytest.raises(ReidBenchError, match=r"^PG2 needs body masks: 8 of 8 training images have no mask under "
                                             r"masks/bounding_box_train/, no parsing and no keypoints"):
        PoseTransferPairs(load_dataset(root), "train", needs={"mask"}, who="PG2")


def test_the_command_line_options_of_prepare(market_dir: Path, capsys) -> None:
    (market_dir / "market-pairs-test.csv").unlink()
    (market_dir / "market-pairs-train.csv").unlink()
    assert main(["data", "prepare", str(market_dir), "--masks", "keypoints", "--no-pairs"]) == 0
    text = capsys.readouterr().out
    assert "masks: keypoint body masks" in text and "not Mask R-CNN" not in text  # asked for, not a fallback
    assert "pairs" not in text.split("generators on this folder now:")[0]
    assert "SAN needs training pairs" in text  # the readiness list says what is still missing
    assert main(["data", "prepare", str(market_dir), "--masks", "none", "--test-pairs", "1"]) == 0
    text = capsys.readouterr().out
    assert "masks:" not in text and "1 of 4 sampled with seed 0" in text
    rows = read_keypoints_csv(market_dir / "market-annotation-test.csv")
    (pair,) = read_pairs_csv(market_dir / "market-pairs-test.csv")
    assert pair in patn_pairs(rows)  # 0003 and 0005 have two images each; 0000 and -1 take no part
    assert main(["weights"]) == 0
    listed = capsys.readouterr().out
    assert "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth" in listed
    assert "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth" in listed
