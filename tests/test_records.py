"""The run record (reid_bench.records): the suite's own commit with a dirty flag, and the device used.

Issue "clean foundations" found both wrong: the commit was whichever repository the caller stood in,
with uncommitted changes unnoticed, and ``run`` wrote ``device: cuda`` whenever CUDA existed, even
under ``--device cpu``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
from plain_presets import PLAIN_OVERRIDES

from reid_bench import accel, records
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.records import read_run_record
from reid_bench.run.pipeline import Experiment, RunRequest


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_is_the_suites_own_whatever_repository_the_caller_is_in(tmp_path: Path, monkeypatch) -> None:
    other = tmp_path / "another-project"
    other.mkdir()
    _git(other, "init", "-q")
    (other / "file.txt").write_text("x")
    _git(other, "add", "file.txt")
    _git(other, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "theirs")
    monkeypatch.chdir(other)
    records._from_source_tree.cache_clear()
    found = records.provenance()
    assert found["commit"] != _git(other, "rev-parse", "HEAD")
    if found["source"] == "source tree":  # an editable install of a reid-bench checkout
        assert found["commit"] == _git(records._SOURCE_TREE, "rev-parse", "HEAD")
        assert found["dirty"] == bool(_git(records._SOURCE_TREE, "status", "--porcelain", "--untracked-files=no"))
    else:  # a wheel: the commit setuptools-scm baked into its version
        assert found["source"].startswith("install metadata")


def test_a_dirty_tree_is_recorded_and_marks_the_rows_commit(monkeypatch) -> None:
    answers = {"rev-parse": str(records._SOURCE_TREE), "status": " M reid_bench/presets.py"}

    def fake_git(*args: str) -> str:
        if args[:2] == ("rev-parse", "HEAD"):
            return "0123456789abcdef0123456789abcdef01234567"
        return answers[args[0]]

    monkeypatch.setattr(records, "_git", fake_git)
    records._from_source_tree.cache_clear()
    try:
        assert records.provenance()["dirty"] is True
        assert records.commit_label() == "0123456789abcdef0123456789abcdef01234567+dirty"
    finally:
        records._from_source_tree.cache_clear()


def test_a_wheels_commit_and_dirty_mark_come_from_its_version() -> None:
    assert records._from_install_metadata("0.1.dev12+gabc1234.d20261202") == {
        "commit": "abc1234", "dirty": True, "source": "install metadata"}
    assert records._from_install_metadata("0.1.dev12+gabc1234")["dirty"] is False
    assert records._from_install_metadata("0.1")["commit"] == "unknown"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("records") / "synth"
    render_dataset(root, SynthConfig(identities=6, seed=4), workers=1)
    return root


def test_run_records_the_device_it_used_not_the_one_it_could_have(tiny_data: Path, tmp_path: Path,
                                                                  monkeypatch) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    request = RunRequest(generator="identity", factor=2, data=str(tiny_data), out=tmp_path / "out", device="cpu",
                         trainers=("ide",), reid_epochs=1, overrides=PLAIN_OVERRIDES)
    experiment = Experiment(request, echo=lambda text: None, progress=False).prepare()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU "exists", but the run is on --device cpu
    record = read_run_record(experiment._write_run_record())
    assert record["environment"]["device"] == "cpu"
    assert record["config"]["request"]["device"] == "cpu"
    assert record["environment"]["cpu"] == accel.cpu_name() and record["environment"]["gpu"] is None
