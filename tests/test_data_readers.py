"""Market-1501 / SynthPeople / DeepFashion layouts read into ReidDataset, cross-checked with torchreid."""

import shutil

import pytest

from reid_bench.data import ImageRecord, load_dataset
from reid_bench.errors import ReidBenchError


def test_market_layout(market_dir):
    dataset = load_dataset(market_dir)
    assert dataset.kind == "market1501" and dataset.root == market_dir
    # train: original pids 2, 7, 11 relabelled 0, 1, 2 in sorted order; Thumbs.db ignored
    assert [(r.name, r.pid, r.camid) for r in dataset.train] == [
        ("0002_c1s1_000101_01.jpg", 0, 0), ("0002_c2s1_000201_01.jpg", 0, 1),
        ("0007_c1s1_000301_01.jpg", 1, 0), ("0007_c3s1_000401_01.jpg", 1, 2),
        ("0011_c2s1_000501_01.jpg", 2, 1), ("0011_c6s1_000601_01.jpg", 2, 5),
    ]
    assert dataset.num_train_pids == 3
    assert [(r.pid, r.camid) for r in dataset.query] == [(3, 0), (5, 1)]
    # gallery keeps original pids, keeps the 0000 distractor, drops the -1 junk image
    assert sorted((r.pid, r.camid) for r in dataset.gallery) == [(0, 0), (3, 1), (3, 3), (5, 0), (5, 4)]
    record = dataset.train[0]
    assert isinstance(record, ImageRecord)
    assert record.path == market_dir / "bounding_box_train" / record.name and record.path.is_file()


def test_side_files_resolve(market_dir, data_files):
    dataset = load_dataset(market_dir)
    junk = "-1_c3s1_002501_04.jpg"
    assert dataset.image_path(junk) == market_dir / "bounding_box_test" / junk
    assert dataset.image_split(data_files.MARKET_QUERY[0]) == "query"
    assert dataset.image_split(data_files.MARKET_TRAIN[0]) == "train"
    assert dataset.parsing_path(data_files.MARKET_TRAIN[0]) == (
        market_dir / "parsing" / "bounding_box_train" / "0002_c1s1_000101_01.png"
    )
    assert dataset.parsing_path(data_files.NO_PARSING_IMAGE) is None
    assert dataset.parsing_path(data_files.MARKET_QUERY[0]) is None
    assert set(dataset.keypoints("test")) == set(data_files.MARKET_TEST)
    assert (dataset.keypoints("train")[data_files.NO_POSE_IMAGE] == -1).all()
    assert dataset.keypoints_path("query") == market_dir / "market-annotation-query.csv"
    assert dataset.pairs_path("test") == market_dir / "market-pairs-test.csv"
    assert dataset.record(data_files.MARKET_TRAIN[5]).pid == 2
    assert dataset.record(junk) is None
    with pytest.raises(ReidBenchError, match="no image named 'nope.jpg'"):
        dataset.image_path("nope.jpg")


def test_missing_side_files(market_dir):
    (market_dir / "market-annotation-query.csv").unlink()
    (market_dir / "market-pairs-train.csv").unlink()
    dataset = load_dataset(market_dir)
    assert dataset.keypoints_path("query") is None and dataset.pairs_path("train") is None
    with pytest.raises(ReidBenchError, match="no \\*annotation-query.csv"):
        dataset.keypoints("query")
    (market_dir / "other-annotation-test.csv").write_text("name:keypoints_y:keypoints_x\n")
    with pytest.raises(ReidBenchError, match="several \\*annotation-test.csv"):
        dataset.keypoints("test")


def test_market_subfolder_and_synthpeople_marker(tmp_path, data_files):
    outer = tmp_path / "market1501"
    inner = data_files.write_market(outer / "Market-1501-v15.09.15")
    dataset = load_dataset(outer)
    assert dataset.root == inner and dataset.kind == "market1501" and len(dataset.train) == 6
    (inner / "synthpeople.json").write_text("{}")
    assert load_dataset(outer).kind == "synthpeople"


def test_market_errors(tmp_path, market_dir):
    with pytest.raises(ReidBenchError, match="is not a folder"):
        load_dataset(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReidBenchError, match="holds neither the Market-1501 layout"):
        load_dataset(tmp_path / "empty")
    bad = market_dir / "bounding_box_train" / "person_0002.jpg"
    shutil.copy(market_dir / "bounding_box_train" / "0002_c1s1_000101_01.jpg", bad)
    with pytest.raises(ReidBenchError, match="person_0002.jpg: file name does not parse"):
        load_dataset(market_dir)
    bad.rename(market_dir / "bounding_box_train" / "0002_c0s1_000101_01.jpg")
    with pytest.raises(ReidBenchError, match="camera c0 is out of range"):
        load_dataset(market_dir)
    shutil.rmtree(market_dir / "bounding_box_train")
    shutil.rmtree(market_dir / "query")
    with pytest.raises(ReidBenchError, match="lacks bounding_box_train/, query/"):
        load_dataset(market_dir)


def test_torchreid_reads_the_same_pids_and_camids(tmp_path, data_files):
    from torchreid.reid.data.datasets.image.market1501 import Market1501  # noqa: PLC0415  (optional: the torchreid extra)

    data_files.write_market(tmp_path / "market1501" / "Market-1501-v15.09.15")
    ours = load_dataset(tmp_path / "market1501")
    theirs = Market1501(root=str(tmp_path), verbose=False)

    def as_set(records):
        return {(str(path), pid, camid) for path, pid, camid, *_ in records}

    assert as_set(theirs.query) == as_set(ours.query)
    assert as_set(theirs.gallery) == as_set(ours.gallery)
    # torchreid relabels train pids in set order: compare the labels through the original pids
    assert {(path, camid) for path, _, camid, _ in theirs.train} == {(str(r.path), r.camid) for r in ours.train}
    original = {str(r.path): int(r.name.split("_")[0]) for r in ours.train}
    for train in (theirs.train, [(str(r.path), r.pid, r.camid, 0) for r in ours.train]):
        label_to_original = {}
        for path, label, _, _ in train:
            label_to_original.setdefault(label, set()).add(original[path])
        assert sorted(label_to_original) == [0, 1, 2]
        assert sorted(pid for pids in label_to_original.values() for pid in pids) == [2, 7, 11]


def write_deepfashion(root, data_files):
    train = ["fashionMENDenimid0000008001_1front.jpg", "fashionMENDenimid0000008001_2side.jpg",
             "fashionWOMENDressesid0000003302_1front.jpg", "fashionWOMENDressesid0000003302_3back.jpg"]
    test = ["fashionWOMENSkirtsid0000602102_1front.jpg", "fashionWOMENSkirtsid0000602102_7additional.jpg",
            "fashionWOMENSkirtsid0000602103_2side.jpg", "fashionMENPantsid0000519301_6flat.jpg"]
    for folder, names in (("train", train), ("test", test)):
        for i, name in enumerate(names):
            data_files.write_image(root / folder / name, size=(256, 176), seed=i)
    data_files.write_keypoints_csv(root / "fasion-annotation-train.csv", {n: data_files.STANDING_POSE for n in train})
    data_files.write_pairs_csv(root / "fasion-pairs-test.csv", [(test[0], test[1])])
    return train, test


def test_deepfashion_layout(tmp_path, data_files):
    train, test = write_deepfashion(tmp_path / "fashion_data", data_files)
    dataset = load_dataset(tmp_path)
    assert dataset.kind == "deepfashion" and dataset.root == tmp_path / "fashion_data"
    assert [(r.name, r.pid, r.camid) for r in dataset.train] == [
        (train[0], 1, 0), (train[1], 1, 1), (train[2], 0, 0), (train[3], 0, 2),  # ids 80 -> 1, 33 -> 0
    ]  # in training a view stands in for a camera: 1front 0, 2side 1, 3back 2
    assert dataset.num_train_pids == 2
    # id 6021: first image (name order) is the query, the rest gallery; id 5193 (one image) gallery only
    assert [(r.name, r.pid, r.camid) for r in dataset.query] == [(test[0], 6021, 0)]
    assert sorted((r.name, r.pid, r.camid) for r in dataset.gallery) == sorted(
        [(test[1], 6021, 1), (test[2], 6021, 1), (test[3], 5193, 1)]
    )
    assert dataset.image_path(test[3]) == tmp_path / "fashion_data" / "test" / test[3]
    assert set(dataset.keypoints("train")) == set(train)
    assert dataset.pairs_path("test").name == "fasion-pairs-test.csv"
    assert dataset.keypoints_path("test") is None


def test_deepfashion_errors(tmp_path, data_files):
    write_deepfashion(tmp_path, data_files)
    data_files.write_image(tmp_path / "test" / "fashionWOMENSkirts_01_front.jpg", size=(256, 176))
    with pytest.raises(ReidBenchError, match="fashionWOMENSkirts_01_front.jpg: file name does not parse"):
        load_dataset(tmp_path)
    shutil.rmtree(tmp_path / "test")
    with pytest.raises(ReidBenchError, match="lacks train/ or test/"):
        load_dataset(tmp_path)
