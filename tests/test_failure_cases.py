"""The numbered failure cases of issue 16 that are more than a bad argument, each reproduced the way
the new user found it (the bad arguments are tests/test_bad_inputs.py's table; locks, atomic
outputs and the full disk are in tests/test_storage.py; concurrent writers in
tests/test_concurrency.py; rankers over degenerate features also in tests/test_properties.py).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from generators_fixtures import TINY_OPTIONS, SyntheticPairs
from plain_presets import PLAIN_QUICK
from test_reid_toydata import make_toy_market

from reid_bench import generators, rankers
from reid_bench.cli import main
from reid_bench.cli import quality as quality_commands
from reid_bench.data import PoseTransferPairs, load_dataset, read_pairs_csv
from reid_bench.errors import ReidBenchError
from reid_bench.generators import checkpoints
from reid_bench.generators.generate import generate, output_name
from reid_bench.generators.run_config import configure
from reid_bench.generators.training import train
from reid_bench.records import read_run_record
from reid_bench.reid import train as reid_train
from reid_bench.results.rows import read_rows

# A tiny SAN in the GAN loop as the paper runs it: the quick recipe's identity and foreground terms off, so no
# real-only IDE trains first (tests/test_recipe.py tests those)
TINY = ["--set", "model.channels=2", "--set", "model.blocks=1", "--set", "generator.image_size=32x16",
        "--set", "generator.identity_weight=0", "--set", "generator.identity_feature_weight=0",
        "--set", "generator.foreground_weight=0"]
SMALL_REID = ["--backbone", "tiny", "--set", "reid.height=64", "--set", "reid.width=32", "--set", "reid.batch_size=8"]


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no VGG, no ImageNet weights


def _error(capsys: pytest.CaptureFixture) -> str:
    """The one ``reid-bench:`` line on stderr (progress bars may come before it)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("reid-bench:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _pairs(people: Path) -> PoseTransferPairs:
    """Ten test pairs of ``people`` at 32x16."""
    return PoseTransferPairs(load_dataset(people), "test", needs=generators.get("san").needs, image_size=(32, 16),
                             pairs=read_pairs_csv(people / "pairs-test.csv")[:10])


def test_1_samples_never_deletes_the_folder_it_is_given(people: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    identity = train(configure("identity", data=str(people), preset=PLAIN_QUICK.generator, steps=1), SyntheticPairs(2),
                     tmp_path / "identity", progress=False).generator
    images = tmp_path / "images"
    assert main(["generate", "--checkpoint", str(identity), "--pairs", str(people / "pairs-test.csv"),
                 "--data", str(people), "--out", str(images)]) == 0
    folder = tmp_path / "X"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("x")
    capsys.readouterr()
    assert main(["samples", "--data", str(people), "--out", str(folder), f"identity={images}"]) == 2
    assert "is a folder, not a file" in _error(capsys)
    assert (folder / "notes.txt").read_text() == "x" and (folder / "sub").is_dir()
    assert main(["samples", "--data", str(people), "--out", str(tmp_path / "figure.png"), f"identity={images}"]) == 0
    assert (tmp_path / "figure.png").is_file()


def test_3_a_partial_reid_model_is_refused_and_never_hides_the_finished_one(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch,
                                                                             capsys: pytest.CaptureFixture) -> None:
    root = make_toy_market(tmp_path / "toy", train_ids=3, test_ids=2, per_camera=2)
    out, results = tmp_path / "run", tmp_path / "results.csv"
    training = ["train-reid", "--data", str(root), "--out", str(out), "--epochs", "2", *SMALL_REID]
    original = reid_train._train_epoch

    def killed_in_the_second_epoch(result, dataset, optimizer, scaler, precision, epoch, *rest):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(result, dataset, optimizer, scaler, precision, epoch, *rest)

    monkeypatch.setattr(reid_train, "_train_epoch", killed_in_the_second_epoch)
    assert main(training) == 130
    checkpoint = out / "checkpoint.pt"
    assert _error(capsys) == (f"reid-bench: interrupted in epoch 2 of 2; {checkpoint} keeps the 1 finished epoch "
                              "(a partial model), and a rerun of the same command resumes from epoch 2.")
    evaluating = ["evaluate", "--data", str(root), "--checkpoint", str(checkpoint), "--out", str(results)]
    assert main(evaluating) == 2
    assert _error(capsys) == (f"reid-bench: error: {checkpoint} holds a partial model (1 of 2 epochs: its training "
                              "did not finish); rerun the same train-reid command to finish it, or pass "
                              "--allow-partial to evaluate it as it is.")
    assert not results.exists()
    assert main([*evaluating, "--allow-partial"]) == 0
    assert "partial: 1 of 2 epochs" in capsys.readouterr().out

    monkeypatch.setattr(reid_train, "_train_epoch", original)
    assert main(training) == 0  # the rerun finishes the model
    assert main(evaluating) == 0
    assert "1 rows appended" in capsys.readouterr().out  # the finished model's row is not taken as "already there"
    partial, finished = read_rows(results)
    assert partial.config_hash == f"{finished.config_hash}:partial-1of2"


def test_3_a_partial_generator_is_refused_unless_asked_for(people: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "gen"
    assert main(["train-generator", "--data", str(people), "--out", str(out), "--steps", "4", "--batch-size", "2",
                 "--stop-at", "2", *TINY]) == 0
    state = out / "checkpoints" / "latest.pt"
    generating = ["generate", "--checkpoint", str(state), "--pairs", str(people / "pairs-test.csv"),
                  "--data", str(people), "--out", str(tmp_path / "images")]
    capsys.readouterr()
    assert main(generating) == 2
    assert _error(capsys) == (f"reid-bench: error: {state} holds a partially trained san (step 2 of 4: the resumable "
                              "state of an unfinished train-generator run, not its generator.pt); rerun that "
                              "train-generator command to finish it, or give generate --allow-partial to draw "
                              "images with it as it is.")
    assert not (tmp_path / "images").exists()
    assert main([*generating, "--allow-partial"]) == 0
    assert main(["eval-generator", "--checkpoint", str(state), "--data", str(people), "--out",
                 str(tmp_path / "q.csv")]) == 2
    assert "holds a partially trained san (step 2 of 4" in _error(capsys)


def test_4_a_finished_generator_folder_refuses_other_settings(people: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "gen"
    training = ["train-generator", "--data", str(people), "--out", str(out), "--steps", "3", "--batch-size", "2", *TINY]
    assert main(training) == 0
    capsys.readouterr()
    assert main([*training, "--steps", "5"]) == 2
    assert _error(capsys) == (f"reid-bench: error: {out} already holds a finished san model trained with other "
                              "settings (total steps 3 (now 5)); give another --out to train one with these "
                              "settings, or rerun with the same settings to reuse it.")
    assert main([*training, "--seed", "7"]) == 2
    assert "other settings (seed 0 (now 7))" in _error(capsys)
    assert main(training) == 0  # the same settings reuse it
    assert "finished: 3/3 steps" in capsys.readouterr().out


def test_6_ctrl_c_saves_the_step_in_progress_and_says_what_was_kept(people: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture) -> None:
    san = type(generators.create("san", **TINY_OPTIONS["san"]))
    original, calls = san.generator_losses, []

    def ctrl_c_in_step_seven(self, *args):
        calls.append(1)
        if len(calls) == 7:
            os.kill(os.getpid(), signal.SIGINT)  # as the terminal sends it, in the middle of a step
        return original(self, *args)

    monkeypatch.setattr(san, "generator_losses", ctrl_c_in_step_seven)
    # a fresh reid-bench process has Python's handler; an earlier test of this session may have left another
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        before = signal.getsignal(signal.SIGINT)
        out = tmp_path / "gen"
        training = ["train-generator", "--data", str(people), "--out", str(out), "--steps", "60", "--batch-size",
                    "2", *TINY]  # the quick preset checkpoints every 250 steps: nothing would be saved by then
        assert main(training) == 130
        state = out / "checkpoints" / "latest.pt"
        assert _error(capsys) == (f"reid-bench: interrupted at step 7 of 60; step 7 is saved in {state}, and a "
                                  "rerun of the same command resumes from step 7.")
        assert checkpoints.read(state)["step"] == 7
        assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C works as before afterwards
        monkeypatch.setattr(san, "generator_losses", original)
        assert main([*training, "--stop-at", "8"]) == 0
        assert read_run_record(out / "run.json")["config"]["resumed_from"] == 7
    finally:  # the session's handler comes back even when an assertion fails
        signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("name", ["nca", "lmnn"])
def test_7_metric_learners_on_identical_features_say_why(name: str) -> None:
    with pytest.raises(ReidBenchError, match="the 12 training features are all identical"):
        rankers.create(name).fit(np.ones((12, 8)), np.repeat([1, 2, 3], 4), np.tile([0, 1], 6))


def test_8_a_resumed_generation_computes_each_image_in_its_original_batch(people: Path, tmp_path: Path) -> None:
    model = generators.create("san", **TINY_OPTIONS["san"]).eval()
    batches: list[tuple[str, ...]] = []
    forward = model.forward

    def recorded(batch):
        batches.append(tuple(batch["src_name"]))
        return forward(batch)

    model.forward = recorded
    pairs = _pairs(people)
    generate(model, pairs, tmp_path / "straight", batch_size=4, progress=False)
    straight = list(batches)
    resumed = tmp_path / "resumed"
    generate(model, pairs, resumed, batch_size=4, progress=False)
    names = sorted(path.name for path in resumed.iterdir())
    for index in (1, 5, 6):  # what a kill during augmentation leaves missing
        (resumed / names[index]).unlink()
    batches.clear()
    summary = generate(model, pairs, resumed, batch_size=4, progress=False)
    assert summary.written == 3 and batches and all(batch in straight for batch in batches)
    for name in names:
        assert (resumed / name).read_bytes() == (tmp_path / "straight" / name).read_bytes()


def test_7_generate_never_touches_another_process_temporary_file(people: Path, tmp_path: Path) -> None:
    """Two generate runs into one folder: the temporary name of this one is its own."""
    model = generators.create("san", **TINY_OPTIONS["san"])
    pairs = _pairs(people)
    out = tmp_path / "images"
    out.mkdir()
    theirs = out / f".{output_name(pairs.pairs[0][0].name, pairs.pairs[0][1].name)}.tmp"  # in flight elsewhere
    theirs.write_bytes(b"half of another process's PNG")
    summary = generate(model, pairs, out, batch_size=4, progress=False)
    assert summary.written == len(pairs) and theirs.read_bytes() == b"half of another process's PNG"


def test_9_generate_makes_again_the_empty_or_truncated_images_it_finds(people: Path, tmp_path: Path) -> None:
    model = generators.create("san", **TINY_OPTIONS["san"])
    pairs = _pairs(people)
    generate(model, pairs, tmp_path / "reference", batch_size=4, progress=False)
    out = tmp_path / "out"
    generate(model, pairs, out, batch_size=4, progress=False)
    source, target = pairs.pairs[0][0].name, pairs.pairs[0][1].name
    empty, truncated = out / output_name(source, target), out / output_name(*(p.name for p in pairs.pairs[1]))
    empty.write_bytes(b"")
    truncated.write_bytes(truncated.read_bytes()[:60])
    summary = generate(model, pairs, out, batch_size=4, progress=False)
    assert (summary.written, summary.existing) == (2, len(pairs) - 2)
    for path in (empty, truncated):
        assert path.read_bytes() == (tmp_path / "reference" / path.name).read_bytes()


def test_9_eval_generator_checks_its_out_before_computing_any_metric(people: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture) -> None:
    def computed(*args, **kwargs):
        raise AssertionError("the metrics' networks were loaded before --out was checked")

    monkeypatch.setattr(quality_commands, "load_networks", computed)
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    assert main(["eval-generator", "--generated", str(tmp_path), "--generator", "x", "--data", str(people),
                 "--out", str(foreign)]) == 2
    assert "is not an image-quality CSV" in _error(capsys)
    assert foreign.read_text() == "a,b\n1,2\n"
