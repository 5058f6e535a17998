"""--profile's section timer: nesting, calls, shares, the CSV; a disabled profile records nothing."""

from __future__ import annotations

import csv
import time

from reid_bench.profiling import OFF, Profile


def test_sections_nest_by_path_and_add_up(tmp_path) -> None:
    profile = Profile()
    for _ in range(3):
        with profile.section("train"):
            with profile.section("step"):
                time.sleep(0.01)
    with profile.section("evaluate"):
        time.sleep(0.02)
    rows = {row["section"]: row for row in profile.rows()}
    assert list(rows) == ["train/step", "train", "evaluate"]
    assert rows["train"]["calls"] == rows["train/step"]["calls"] == 3
    assert rows["train"]["seconds"] >= rows["train/step"]["seconds"] >= 0.03
    assert 0 < rows["evaluate"]["share"] <= 1
    path = profile.write(tmp_path / "profile.csv")
    with open(path, newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [row["section"] for row in written] == list(rows)
    assert "train/step" in profile.summary()


def test_a_section_that_raises_is_still_counted() -> None:
    profile = Profile()
    try:
        with profile.section("fails"):
            raise ValueError
    except ValueError:
        pass
    assert profile.calls == {"fails": 1}


def test_disabled_profile_records_nothing() -> None:
    with OFF.section("anything"):
        pass
    assert OFF.rows() == []
