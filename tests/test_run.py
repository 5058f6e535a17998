"""``reid-bench run`` end to end at tiny sizes: rows, caching, resuming, the printed report."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch

import reid_bench.generators.training
import reid_bench.reid.train
from reid_bench import presets
from reid_bench.cli import main
from reid_bench.data.synth import SynthConfig, render_dataset
from reid_bench.presets import parse_overrides
from reid_bench.records import processor_name
from reid_bench.reid import TRAINERS, load_checkpoint
from reid_bench.reid.train import set_lr
from reid_bench.results import append_rows, read_rows
from reid_bench.run import pipeline as run_module
from reid_bench.run.pipeline import RunRequest, budget_settings, run

# The quick preset's machinery without its recipe levers (tests/test_recipe.py tests those)
TINY = dict(overrides=parse_overrides(presets.levers_off() + ["generator.steps=2", "reid.backbone=tiny"],
                                      ("generator", "reid", "run")),
            reid_epochs=1, seeds=(1,), preset="quick")
PROTOCOLS = {name: trainer.protocols for name, trainer in TRAINERS.items()}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run") / "synth"
    render_dataset(root, SynthConfig(identities=6, seed=2), workers=1)
    return root


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))


def _request(data: Path, out: Path, **changes) -> RunRequest:
    return RunRequest(**{"generator": "san", "factor": 2, "data": str(data), "out": out, **TINY, **changes})


def test_end_to_end_rows_for_every_protocol(tiny_data: Path, tmp_path: Path):
    summary = run(_request(tiny_data, tmp_path / "results"), echo=lambda text: None, progress=False)
    rows = read_rows(tmp_path / "results" / "results.csv")
    expected = {(generator, trainer, ranker) for generator in ("none", "san")
                for trainer, rankers in PROTOCOLS.items() for ranker in rankers}
    assert {(row.generator, row.trainer, row.ranker) for row in rows} == expected
    assert summary.added == len(rows) == len(expected)
    for row in rows:
        assert row.dataset == "synthpeople" and row.seed == 1 and row.preset == "quick"
        assert 0 <= row.rank1 <= row.rank5 <= row.rank10 <= 100 and 0 <= row.mAP <= 100
        assert row.pretrained is False  # no ImageNet weights on a fresh machine, and it says so
        if row.generator == "san":
            assert row.factor == 2 and row.n_generated == row.n_real > 0
            assert row.perceptual.startswith("off")  # VGG-19 missing: recorded, not faked
        else:
            assert row.factor == 1 and row.n_generated == 0 and row.perceptual == "n/a"
    assert list((tmp_path / "results" / "runs").glob("*-san-K2.json"))


def test_rerun_reuses_every_step_and_adds_no_rows(tiny_data: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "results"
    run(_request(tiny_data, out), echo=lambda text: None, progress=False)
    before = (out / "results.csv").read_text()

    def must_not_run(*args, **kwargs):
        raise AssertionError("a cached step ran again")


    monkeypatch.setattr(reid_bench.generators.training, "_Trainer", must_not_run)
    monkeypatch.setattr(reid_bench.reid.train, "_train_epoch", must_not_run)
    monkeypatch.setattr(run_module, "choose_targets", lambda *a, **k: [])  # generation would see no pairs
    summary = run(_request(tiny_data, out), echo=lambda text: None, progress=False)
    assert summary.added == 0
    assert (out / "results.csv").read_text() == before


def test_rows_on_record_need_no_model_even_when_the_cache_lost_it(tiny_data: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "results"
    run(_request(tiny_data, out), echo=lambda text: None, progress=False)
    before = (out / "results.csv").read_text()
    shutil.rmtree(tmp_path / "cache" / "reid")  # e.g. a cleared cache, or rows copied from another machine

    def must_not_train(*args, **kwargs):
        raise AssertionError("a Re-ID model whose rows are all in the CSV was trained again")

    monkeypatch.setattr(run_module, "train_reid", must_not_train)
    printed = []
    summary = run(_request(tiny_data, out), echo=printed.append, progress=False)
    assert summary.added == 0 and (out / "results.csv").read_text() == before
    assert sum("every protocol's row is in" in line for line in printed) == 4  # none and san, IDE and Siamese
    (out / "results.csv").write_text("".join(before.splitlines(keepends=True)[:-1]))  # one row lost
    with pytest.raises(AssertionError, match="trained again"):
        run(_request(tiny_data, out), echo=lambda text: None, progress=False)


def test_rows_of_another_processor_are_kept_but_never_taken_for_this_ones(tiny_data: Path, tmp_path: Path,
                                                                           monkeypatch):
    out = tmp_path / "results"
    run(_request(tiny_data, out), echo=lambda text: None, progress=False)
    rows = read_rows(out / "results.csv")
    here = processor_name(torch.device("cpu"))
    assert {row.processor for row in rows} == {here}
    elsewhere = [dataclasses.replace(row, processor="Other CPU (family 1, model 1)") for row in rows]
    (out / "results.csv").unlink()
    append_rows(out / "results.csv", elsewhere)  # rows copied from another machine, same keys otherwise
    shutil.rmtree(tmp_path / "cache" / "reid")
    trained = []
    real_train = run_module.train_reid
    monkeypatch.setattr(run_module, "train_reid", lambda *a, **k: trained.append(a[1]) or real_train(*a, **k))
    summary = run(_request(tiny_data, out), echo=lambda text: None, progress=False)
    assert len(trained) == 4 and summary.added == len(rows)  # none and san, IDE and Siamese, trained here
    both = read_rows(out / "results.csv")
    assert [row.processor for row in both] == ["Other CPU (family 1, model 1)"] * len(rows) + [here] * len(rows)


def test_interrupted_run_resumes_without_duplicates(tiny_data: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "results"
    real_step = run_module.Experiment._train_and_evaluate
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(run_module.Experiment, "_train_and_evaluate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(_request(tiny_data, out), echo=lambda text: None, progress=False)
    partial = read_rows(out / "results.csv")
    assert len(partial) == len(PROTOCOLS["ide"]) + len(PROTOCOLS["siamese"])  # the none arm's two models
    monkeypatch.setattr(run_module.Experiment, "_train_and_evaluate", real_step)
    summary = run(_request(tiny_data, out), echo=lambda text: None, progress=False)
    rows = read_rows(out / "results.csv")
    assert rows[: len(partial)] == partial
    assert len(rows) == len({row.key for row in rows}) == 8
    assert summary.added == 8 - len(partial)


def test_budget_gives_the_augmented_run_the_same_steps():
    settings = presets.get("quick").reid.replace(epochs=12, lr_step=6)
    same = budget_settings(settings, 100, 300, "steps")
    assert (same.epochs, same.lr_step) == (4, 2)  # 12 epochs x 100 images = 4 x 300
    assert budget_settings(settings, 100, 300, "epochs") == settings
    assert budget_settings(settings, 100, 100, "steps") == settings


def _first_decayed_step(settings, images: int) -> int:
    """The first optimisation step whose lr is decayed, as the Re-ID loop sets it."""


    steps_per_epoch = images // settings.batch_size
    optimizer = torch.optim.SGD([{"params": [torch.zeros(1)], "lr": 1.0, "initial_lr": 1.0}], lr=1.0)
    for step in range(settings.epochs * steps_per_epoch):
        set_lr(optimizer, settings, step, steps_per_epoch)
        if optimizer.param_groups[0]["lr"] < 1.0:
            return step
    raise AssertionError("the lr never decayed")


def test_budget_decays_the_lr_at_the_same_step_in_both_arms():
    """The default run: 1,782 real images, K=3 adds 3,564; the real-only arm decays after 4.2 of 6 epochs."""

    real = presets.get("quick").reid.with_epochs(6)
    augmented = budget_settings(real, 1782, 5346, "steps")
    real_step, augmented_step = _first_decayed_step(real, 1782), _first_decayed_step(augmented, 5346)
    assert real_step == 231  # ceil(4.2 x 55 steps per epoch)
    assert abs(augmented_step - real_step) <= 3  # 1.4 epochs x 167: the same point of training


def test_cli_prints_the_gain_table(tiny_data: Path, tmp_path: Path, capsys):
    code = main(["run", "--generator", "identity", "--factor", "2", "--data", str(tiny_data),
                 "--out", str(tmp_path / "out"), "--reid-epochs", "1", "--backbone", "tiny", "--trainers", "ide",
                 "--preset", "quick", "--profile"])
    text = capsys.readouterr().out
    assert code == 0
    assert "identity augmentation, K=2" in text and "none (real images only" in text
    profiled = (tmp_path / "out" / "profile.csv").read_text()
    for section in ("dataset", "generator identity", "augment seed 1", "ide none seed 1/train",
                    "ide identity seed 1/evaluate"):
        assert f"\n{section}," in profiled
    assert "xqda" in text and "kissme" in text
    assert (tmp_path / "out" / "figures" / "samples_identity.png").is_file()
    assert (tmp_path / "out" / "figures" / "cmc_identity-K2_ide_euclidean.png").is_file()


def test_cli_bad_arguments_are_one_sentence(tmp_path: Path, capsys):
    assert main(["run", "--generator", "san", "--seeds", "1,x", "--out", str(tmp_path)]) == 2
    assert "--seeds" in capsys.readouterr().err
    assert main(["run", "--generator", "san", "--preset", "market", "--out", str(tmp_path)]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["run", "--generator", "nosuchgan", "--data", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_epoch_override_keeps_the_decay_share():
    quick = presets.get("quick").reid.replace(epochs=10, lr_step=7)
    six = quick.with_epochs(6)
    assert (six.epochs, six.lr_step) == (6, pytest.approx(4.2))
    assert quick.with_epochs(None) == quick and quick.with_epochs(10) == quick


def test_evaluate_fits_the_rankers_as_run_does(tiny_data: Path, tmp_path: Path, capsys):
    """XQDA and KISSME fit on the images a model trained on (the checkpoint lists them), so evaluating a
    run's augmented model again gives the run's numbers and finds its rows already there."""
    out = tmp_path / "results"
    run(_request(tiny_data, out, trainers=("ide",)), echo=lambda text: None, progress=False)
    rows = {row.ranker: row for row in read_rows(out / "results.csv") if row.generator == "san"}
    augmented = [path for path in (tmp_path / "cache" / "reid").glob("*/checkpoint.pt")
                 if load_checkpoint(path).meta["generator"] == "san"]
    assert len(augmented) == 1 and load_checkpoint(augmented[0]).training_records[-1].generated
    capsys.readouterr()
    assert main(["evaluate", "--data", str(tiny_data), "--checkpoint", str(augmented[0]),
                 "--ranker", "euclidean,xqda,kissme", "--out", str(out / "results.csv")]) == 0
    printed = capsys.readouterr().out
    assert f"0 rows appended to {out / 'results.csv'} (3 were already there)" in printed
    for ranker, row in rows.items():
        line = next(text for text in printed.splitlines() if text.startswith(ranker + " "))
        assert f"{row.rank1:.2f}" in line and f"{row.mAP:.2f}" in line  # the same numbers as the run's rows


def test_the_identity_term_scores_with_seed_1s_ide_whichever_seeds_run(tiny_data: Path, tmp_path: Path):
    guided = parse_overrides(presets.levers_off() + ["generator.steps=2", "reid.backbone=tiny",
                                                     "generator.identity_weight=1"], ("generator", "reid", "run"))
    run(_request(tiny_data, tmp_path / "results", seeds=(2,), trainers=("ide",), overrides=guided),
        echo=lambda text: None, progress=False)
    models = [load_checkpoint(path) for path in (tmp_path / "cache" / "reid").glob("*/checkpoint.pt")]
    # seed 1's real-only IDE exists only as the guide, so --seeds 2 trains the generator --seeds 1,2 would
    assert sorted((m.meta["generator"], m.seed) for m in models) == [("none", 1), ("none", 2), ("san", 2)]
