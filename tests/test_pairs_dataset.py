"""PoseTransferPairs: the sample dict, needs, resizing, skipping, default collate, and kept images."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from reid_bench.accel import keeps_decoded
from reid_bench.data import PoseTransferPairs, body_mask_from_keypoints, load_dataset
from reid_bench.data import pairs as pairs_module
from reid_bench.errors import ReidBenchError

ALL = frozenset({"parsing", "mask", "keypoints", "heatmap"})


def test_item_with_all_needs(market_dir, data_files):
    pairs = PoseTransferPairs(load_dataset(market_dir), "train", needs=ALL)
    assert len(pairs) == 2 and pairs.skipped == 1  # the third pair's target has an all -1 row
    assert pairs.skipped_reasons == {"no keypoints": 1}
    item = pairs[1]
    assert (item["src_name"], item["tgt_name"]) == data_files.MARKET_PAIRS["train"][1]
    assert item["pid"] == 1  # original 0007, relabelled
    for side in ("src", "tgt"):
        image = item[f"{side}_image"]
        assert image.shape == (3, 128, 64) and image.dtype == torch.float32
        assert -1 <= image.min() < -0.9 and 0.9 < image.max() <= 1
        assert item[f"{side}_parsing"].shape == (20, 128, 64)
        assert torch.equal(item[f"{side}_parsing"].argmax(0), torch.from_numpy(data_files.parsing_labels()).long())
        assert torch.equal(item[f"{side}_mask"][0], torch.from_numpy(data_files.parsing_labels() > 0).float())
        assert torch.equal(item[f"{side}_keypoints"], torch.from_numpy(data_files.STANDING_POSE).float())
        heatmap = item[f"{side}_heatmap"]
        assert heatmap.shape == (18, 128, 64) and heatmap[0, 14, 32] == pytest.approx(1.0)
    name = item["src_name"]
    original = np.asarray(Image.open(market_dir / "bounding_box_train" / name).convert("RGB"), dtype=np.float32)
    assert np.allclose(item["src_image"].permute(1, 2, 0).numpy(), original / 127.5 - 1, atol=1e-6)


def test_only_what_is_needed(market_dir):
    dataset = load_dataset(market_dir)
    plain = PoseTransferPairs(dataset, "train")
    assert len(plain) == 3 and plain.skipped == 0  # images only: the all -1 pair is fine
    assert set(plain[2]) == {"src_image", "tgt_image", "pid", "src_name", "tgt_name"}
    heat = PoseTransferPairs(dataset, "train", needs={"heatmap"})
    assert set(heat[0]) == {"src_image", "tgt_image", "pid", "src_name", "tgt_name", "src_heatmap", "tgt_heatmap"}
    with pytest.raises(ValueError, match="unknown needs"):
        PoseTransferPairs(dataset, "train", needs={"depth"})


def test_mask_falls_back_to_keypoints_and_parsing_is_skipped_when_missing(market_dir, data_files):
    dataset = load_dataset(market_dir)
    masks = PoseTransferPairs(dataset, "test", needs={"mask"})
    assert len(masks) == 2 and masks.skipped == 0
    item = masks[1]  # its target has no parsing PNG, so its mask is PG2's keypoint mask
    assert item["tgt_name"] == data_files.NO_PARSING_IMAGE
    expected = body_mask_from_keypoints(data_files.STANDING_POSE, 128, 64)
    assert torch.equal(item["tgt_mask"][0], torch.from_numpy(expected).float())
    assert torch.equal(item["src_mask"][0], torch.from_numpy(data_files.parsing_labels() > 0).float())
    parsing = PoseTransferPairs(dataset, "test", needs={"parsing"})
    assert len(parsing) == 1 and parsing.skipped_reasons == {"no parsing": 1}
    assert item["pid"] == 5  # test pids stay original


def test_image_size_rescales_images_parsing_and_keypoints(market_dir, data_files):
    pairs = PoseTransferPairs(load_dataset(market_dir), "train", needs=ALL, image_size=(256, 128))
    item = pairs[0]
    assert item["src_image"].shape == (3, 256, 128)
    assert item["src_parsing"].shape == (20, 256, 128) and item["src_mask"].shape == (1, 256, 128)
    keypoints = item["src_keypoints"]
    assert torch.equal(keypoints, torch.from_numpy(data_files.STANDING_POSE * 2).float())
    y, x = (int(v) for v in keypoints[10])
    assert item["src_heatmap"].shape == (18, 256, 128) and item["src_heatmap"][10, y, x] == pytest.approx(1.0)
    assert torch.equal(item["src_parsing"].argmax(0)[::2, ::2], torch.from_numpy(data_files.parsing_labels()).long())


def test_missing_points_stay_missing_after_rescaling(market_dir, data_files):
    pose = data_files.STANDING_POSE.copy()
    pose[3] = [-1, -1]
    data_files.write_keypoints_csv(
        market_dir / "market-annotation-train.csv", {n: pose for n in data_files.MARKET_TRAIN}
    )
    pairs = PoseTransferPairs(load_dataset(market_dir), "train", needs={"keypoints", "heatmap"}, image_size=(64, 32))
    item = pairs[0]
    assert item["src_keypoints"][3].tolist() == [-1.0, -1.0]
    assert item["src_keypoints"][0].tolist() == [7.0, 16.0]
    assert not item["src_heatmap"][3].any()


def test_default_collate(market_dir):
    loader = DataLoader(PoseTransferPairs(load_dataset(market_dir), "train", needs=ALL), batch_size=2)
    batch = next(iter(loader))
    assert batch["src_image"].shape == (2, 3, 128, 64) and batch["tgt_heatmap"].shape == (2, 18, 128, 64)
    assert batch["pid"].tolist() == [0, 1] and len(batch["src_name"]) == 2


def test_errors(market_dir, data_files):
    dataset = load_dataset(market_dir)
    data_files.write_pairs_csv(market_dir / "market-pairs-train.csv", [(data_files.MARKET_TRAIN[0], "0002_c9s9_1.jpg")])
    with pytest.raises(ReidBenchError, match="no image named '0002_c9s9_1.jpg'"):
        PoseTransferPairs(dataset, "train")
    (market_dir / "market-pairs-train.csv").unlink()
    with pytest.raises(ReidBenchError, match="no \\*pairs-train.csv"):
        PoseTransferPairs(dataset, "train")
    (market_dir / "market-annotation-test.csv").unlink()
    with pytest.raises(ReidBenchError, match="no \\*annotation-test.csv"):
        PoseTransferPairs(dataset, "test", needs={"keypoints"})
    corrupt = market_dir / "bounding_box_test" / data_files.MARKET_PAIRS["test"][0][0]
    corrupt.write_bytes(corrupt.read_bytes()[:200])
    with pytest.raises(ReidBenchError, match="cannot be decoded"):
        PoseTransferPairs(dataset, "test")[0]


def test_explicit_pairs_replace_the_csv(market_dir, data_files):
    dataset = load_dataset(market_dir)
    chosen = [(data_files.MARKET_TRAIN[3], data_files.MARKET_TRAIN[0])]  # across identities
    pairs = PoseTransferPairs(dataset, "train", needs={"mask"}, pairs=chosen)
    assert len(pairs) == 1 and pairs.skipped == 0
    item = pairs[0]
    assert (item["src_name"], item["tgt_name"]) == chosen[0]
    assert item["pid"] == 1  # the source's relabelled pid (0007)


@pytest.mark.parametrize("size", [None, (96, 48)])
def test_kept_images_give_the_same_items_and_each_file_is_decoded_once(market_dir, monkeypatch, size):
    dataset = load_dataset(market_dir)
    plain = PoseTransferPairs(dataset, "train", needs=ALL, image_size=size)
    kept = PoseTransferPairs(dataset, "train", needs=ALL, image_size=size)
    images = {image.name for pair in kept.pairs for image in pair}
    height, width = size or (128, 64)  # the files' size
    assert kept.decoded_bytes() == len(images) * height * width * 5
    kept.keep_loaded()
    reads = []
    read = pairs_module.read_image
    monkeypatch.setattr(pairs_module, "read_image", lambda path: reads.append(path) or read(path))
    for _ in range(2):
        for index in range(len(kept)):
            a, b = plain[index], kept[index]
            assert a.keys() == b.keys()
            assert all(torch.equal(a[k], b[k]) if torch.is_tensor(a[k]) else a[k] == b[k] for k in a)
    assert len(reads) == 2 * 2 * len(kept) + len(images)  # plain decodes every time, kept once per image
    assert keeps_decoded(kept.decoded_bytes(), workers=0)
    assert not keeps_decoded(kept.decoded_bytes(), workers=0, budget=10)  # too big: not kept
    assert not keeps_decoded(kept.decoded_bytes(), workers=2)  # each loader worker would hold a copy
