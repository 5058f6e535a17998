"""PATN's keypoint and pair CSVs: the real Market-1501 files, warts, and malformed rows."""

import numpy as np
import pytest

from reid_bench.data import read_keypoints_csv, read_pairs_csv
from reid_bench.errors import ReidBenchError

HEADER = "name:keypoints_y:keypoints_x"
Y = "[48, 57, 57, 68, 78, 56, -1, -1, 80, 93, 109, 79, -1, -1, 46, 45, 47, -1]"
X = "[32, 31, 22, 17, 18, 40, -1, -1, 27, 31, 35, 39, -1, -1, 30, 34, 26, -1]"
X_WITH_TEXT = X.replace("32", '"a"', 1)


def test_real_market_training_keypoints_parse(real_market):
    keypoints = read_keypoints_csv(real_market / "market-annotation-train.csv")
    assert len(keypoints) == 2025  # the vendored sample: 120 identities (PROVENANCE.md)
    assert sum(bool((kp == -1).all()) for kp in keypoints.values()) == 64
    first = keypoints["0606_c4s3_031304_02.jpg"]
    assert first.shape == (18, 2) and first.dtype == np.int64
    assert first[1].tolist() == [24, 31]  # neck (y, x)
    assert first[3].tolist() == [-1, -1]  # Relb missing
    assert all(kp.shape == (18, 2) for kp in keypoints.values())
    assert len({name.split("_")[0] for name in keypoints}) == 120


def test_full_real_market_training_keypoints_parse(full_market):
    keypoints = read_keypoints_csv(full_market / "market-annotation-train.csv")
    assert len(keypoints) == 12936
    assert sum(bool((kp == -1).all()) for kp in keypoints.values()) == 419
    first = keypoints["0432_c5s1_105323_05.jpg"]
    assert first.shape == (18, 2) and first.dtype == np.int64
    assert first[0].tolist() == [48, 32]  # nose (y, x)
    assert first[6].tolist() == [-1, -1]  # Lelb missing
    assert all(kp.shape == (18, 2) for kp in keypoints.values())


def test_real_market_test_pairs_parse(real_market):
    pairs = read_pairs_csv(real_market / "market-pairs-test.csv")
    assert len(pairs) == 1000  # the vendored sample: the first 1,000 standard pairs
    assert pairs[0] == ("0188_c2s2_149727_03.jpg", "0188_c4s6_008910_07.jpg")
    assert all(a.split("_")[0] == b.split("_")[0] for a, b in pairs)  # same person


def test_full_real_market_test_pairs_parse(full_market):
    pairs = read_pairs_csv(full_market / "market-pairs-test.csv")
    assert len(pairs) == 12000
    assert pairs[0] == ("0188_c2s2_149727_03.jpg", "0188_c4s6_008910_07.jpg")
    assert all(a.split("_")[0] == b.split("_")[0] for a, b in pairs)  # same person


def test_keypoint_warts_are_parsed(tmp_path):
    all_missing = "[" + ", ".join(["-1"] * 18) + "]"
    text = (
        "\ufeff" + HEADER + "\r\n"
        f"a.jpg: {Y}: {X}   \r\n"
        "\r\n"
        "   \n"
        f"odd name:with colon.jpg:{Y}:{X}\n"
        f"b.jpg: {all_missing}: {all_missing}"  # no final newline
    )
    path = tmp_path / "annotation.csv"
    path.write_bytes(text.encode("utf-8"))
    keypoints = read_keypoints_csv(path)
    assert sorted(keypoints) == ["a.jpg", "b.jpg", "odd name:with colon.jpg"]
    assert keypoints["a.jpg"][:, 0].tolist() == [48, 57, 57, 68, 78, 56, -1, -1, 80,
                                                 93, 109, 79, -1, -1, 46, 45, 47, -1]
    assert np.array_equal(keypoints["odd name:with colon.jpg"], keypoints["a.jpg"])
    assert (keypoints["b.jpg"] == -1).all()


@pytest.mark.parametrize(
    "row, problem",
    [
        (f"c.jpg: {Y[:-1]}, 5]: {X}", "19 values"),
        (f"c.jpg: {Y}: [1, 2]", "2 values"),
        (f"c.jpg: {Y}: [1, 2", "not a JSON list"),
        (f"c.jpg: {Y}", "3 ':'-separated columns"),
        (f"c.jpg: {Y}: {X_WITH_TEXT}", "not a number"),
        (f"c.jpg: {Y}: 7", "not a list"),
        (f"c.jpg: {Y.replace('48', 'NaN', 1)}: {X}", "not a number"),
    ],
)
def test_malformed_keypoint_row_names_file_and_line(tmp_path, row, problem):
    path = tmp_path / "market-annotation-train.csv"
    path.write_text(f"{HEADER}\na.jpg: {Y}: {X}\n\n{row}\n")
    with pytest.raises(ReidBenchError) as error:
        read_keypoints_csv(path)
    assert str(path) in str(error.value)
    assert "line 4" in str(error.value)
    assert problem in str(error.value)


def test_keypoints_bad_header_and_empty_file(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text(f"name,keypoints\na.jpg: {Y}: {X}\n")
    with pytest.raises(ReidBenchError, match="line 1: header"):
        read_keypoints_csv(path)
    path.write_text("\n\n")
    with pytest.raises(ReidBenchError, match="is empty"):
        read_keypoints_csv(path)
    with pytest.raises(ReidBenchError, match="does not exist"):
        read_keypoints_csv(tmp_path / "absent.csv")


def test_pairs_warts_are_parsed(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_bytes(b"from,to\r\n a.jpg , b.jpg \r\n\r\nc.jpg,d.jpg")
    assert read_pairs_csv(path) == [("a.jpg", "b.jpg"), ("c.jpg", "d.jpg")]


@pytest.mark.parametrize(
    "text, where",
    [
        ("from,to\na.jpg,b.jpg\na.jpg,b.jpg,c.jpg\n", "line 3"),
        ("from,to\na.jpg\n", "line 2"),
        ("from,to\na.jpg,\n", "line 2"),
        ("source,target\na.jpg,b.jpg\n", "line 1: header"),
    ],
)
def test_malformed_pairs_name_file_and_line(tmp_path, text, where):
    path = tmp_path / "market-pairs-test.csv"
    path.write_text(text)
    with pytest.raises(ReidBenchError) as error:
        read_pairs_csv(path)
    assert str(path) in str(error.value) and where in str(error.value)
