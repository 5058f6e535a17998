"""``reid-bench data check``: the summary of a good folder, and one clear sentence per bad file."""

import shutil

import numpy as np
import pytest

from reid_bench.cli import main
from reid_bench.data.check import check_dataset
from reid_bench.errors import ReidBenchError


def test_summary_of_a_good_folder(market_dir):
    summary = check_dataset(market_dir)
    assert summary.kind == "market1501"
    assert summary.identities == {"train": 3, "query": 2, "gallery": 3}
    assert summary.images == {"train": 6, "query": 2, "gallery": 5}
    assert summary.cameras == {"train": [0, 1, 2, 5], "query": [0, 1], "gallery": [0, 1, 3, 4]}
    assert summary.junk_images == 1
    assert summary.image_size == (128, 64)
    assert summary.parsing == {"bounding_box_train": (6, 6), "bounding_box_test": (5, 6), "query": (0, 2)}
    train = summary.keypoints["train"]
    assert train.file == "market-annotation-train.csv"
    assert (train.rows, train.all_missing, train.images_without_row) == (6, 1, 0)
    assert summary.pairs == {"train": 3, "test": 2}
    text = str(summary)
    assert "market1501 dataset at" in text and "128x64" in text and "bounding_box_test 5/6" in text
    assert "pairs: train 3, test 2" in text


def test_summary_counts_missing_side_files_and_stray_points(market_dir, data_files):
    (market_dir / "market-pairs-train.csv").unlink()
    pose = data_files.STANDING_POSE.copy()
    pose[10] = [130, 26]  # below a 128-px-high image
    data_files.write_keypoints_csv(market_dir / "market-annotation-query.csv", {data_files.MARKET_QUERY[0]: pose})
    summary = check_dataset(market_dir)
    assert summary.pairs == {"train": None, "test": 2}
    query = summary.keypoints["query"]
    assert (query.rows, query.outside_image, query.images_without_row) == (1, 1, 1)
    (market_dir / "market-annotation-query.csv").unlink()
    assert check_dataset(market_dir).keypoints["query"] is None


def test_cli_prints_the_summary(market_dir, capsys):
    assert main(["data", "check", str(market_dir)]) == 0
    assert "identities" in capsys.readouterr().out


def test_cli_turns_an_error_into_one_line(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a folder" in err and "Traceback" not in err


def spoil_missing_split(root, files):
    shutil.rmtree(root / "query")
    return "lacks query/"


def spoil_bad_name(root, files):
    files.write_image(root / "bounding_box_test" / "IMG_0001.jpg")
    return "IMG_0001.jpg: file name does not parse"


def spoil_mixed_sizes(root, files):
    files.write_image(root / "query" / "0003_c3s1_001201_00.jpg", size=(256, 128))
    return "0003_c3s1_001201_00.jpg is 256x128 but .* is 128x64"


def spoil_truncated_jpeg(root, files):
    path = root / "bounding_box_train" / files.MARKET_TRAIN[3]
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return f"{files.MARKET_TRAIN[3]} is corrupt or truncated"


def spoil_parsing_size(root, files):
    stem = files.MARKET_TRAIN[2].removesuffix(".jpg")
    files.write_parsing(root / "parsing" / "bounding_box_train" / f"{stem}.png", np.zeros((64, 32), np.uint8))
    return f"{stem}.png is 64x32 but its image is 128x64"


def spoil_parsing_labels(root, files):
    labels = files.parsing_labels()
    labels[60:70, 30:34] = 24
    stem = files.MARKET_TEST[0].removesuffix(".jpg")
    files.write_parsing(root / "parsing" / "bounding_box_test" / f"{stem}.png", labels)
    return f"{stem}.png holds label 24"


def spoil_keypoint_arity(root, files):
    path = root / "market-annotation-test.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(": [14, 26, ", ": [26, ", 1)  # drop a y value of the second row
    path.write_text("\n".join(lines) + "\n")
    return "market-annotation-test.csv, line 3: keypoints_y has 17 values"


def spoil_pairs(root, files):
    pairs = [files.MARKET_PAIRS["test"][0], ("0003_c2s1_002001_01.jpg", "0003_c6s1_999999_01.jpg")]
    files.write_pairs_csv(root / "market-pairs-test.csv", pairs)
    return "market-pairs-test.csv, pair 2: '0003_c6s1_999999_01.jpg' is in none of"


@pytest.mark.parametrize(
    "spoil",
    [spoil_missing_split, spoil_bad_name, spoil_mixed_sizes, spoil_truncated_jpeg, spoil_parsing_size,
     spoil_parsing_labels, spoil_keypoint_arity, spoil_pairs],
)
def test_each_bad_file_gives_one_sentence(market_dir, data_files, spoil):
    expected = spoil(market_dir, data_files)
    with pytest.raises(ReidBenchError, match=expected) as error:
        check_dataset(market_dir)
    message = str(error.value)
    assert str(market_dir) in message and "\n" not in message and message.endswith(".")
