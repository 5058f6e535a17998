"""``reid-bench train-reid`` and ``reid-bench evaluate``, end to end on a toy folder."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_reid_toydata import make_toy_market

from reid_bench.cli import main
from reid_bench.cli.reid import parse_overrides
from reid_bench.data import load_dataset
from reid_bench.errors import ReidBenchError
from reid_bench.results.rows import REID_COLUMNS

SMALL = ["--set", "reid.height=64", "--set", "reid.width=32", "--set", "reid.batch_size=16", "--set", "reid.lr=0.003"]


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # empty: no ImageNet weights
    make_toy_market(tmp_path / "toy", train_ids=6, test_ids=6)
    (tmp_path / "corrupt.pt").write_bytes(b"PK\x03\x04 half a zip")
    return tmp_path


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == REID_COLUMNS
        return list(reader)


def test_train_then_evaluate_writes_result_rows(env: Path, capsys: pytest.CaptureFixture) -> None:
    run = env / "run"
    code = main(["train-reid", "--data", str(env / "toy"), "--trainer", "siamese", "--backbone", "tiny",
                 "--epochs", "2", "--out", str(run), "--profile", *SMALL])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"checkpoint: {run / 'checkpoint.pt'}" in printed
    assert (run / "run.json").is_file()
    profiled = {line.split(",")[0]: line.split(",")[1] for line in (run / "profile.csv").read_text().splitlines()[1:]}
    steps = profiled["forward"]
    assert int(steps) >= 2 and profiled["backward"] == profiled["optimizer"] == steps  # every step, each phase
    assert profiled["checkpoint"] == "2" and int(profiled["data"]) > int(steps)  # + the loaders' last, empty next

    results = env / "results.csv"
    for _ in range(2):
        code = main(["evaluate", "--data", str(env / "toy"), "--checkpoint", str(run / "checkpoint.pt"),
                     "--ranker", "euclidean,xqda", "--out", str(results)])
        assert code == 0
    printed = capsys.readouterr().out
    assert "rank-1" in printed and "mINP" in printed and "xqda" in printed
    assert "2 rows appended" in printed and "0 rows appended" in printed  # a rerun adds no duplicates
    rows = _rows(results)
    assert [row["ranker"] for row in rows] == ["euclidean", "xqda"]
    assert len(list((env / "results.cmc").glob("*.json"))) == 1
    row = rows[0]
    assert (row["dataset"], row["generator"], row["factor"], row["trainer"], row["seed"]) == (
        load_dataset(env / "toy").kind, "none", "1", "siamese", "0")
    assert (row["n_real"], row["n_generated"], row["preset"], row["pretrained"], row["perceptual"]) == (
        "36", "0", "quick", "false", "n/a")
    assert 0 <= float(row["rank1"]) <= 100 and float(row["rank10"]) >= float(row["rank1"])
    assert row["commit"] and row["config_hash"] and float(row["wall_s"]) > 0


def test_missing_weights_are_warned_and_recorded(env: Path, capsys: pytest.CaptureFixture) -> None:
    run = env / "run"
    assert main(["train-reid", "--data", str(env / "toy"), "--backbone", "resnet18", "--epochs", "1",
                 "--out", str(run), *SMALL]) == 0
    captured = capsys.readouterr()
    assert "warning: backbone resnet18: resnet18-f37072fd.pth" in captured.err
    assert "pretrained false" in captured.out
    assert main(["evaluate", "--data", str(env / "toy"), "--checkpoint", str(run / "checkpoint.pt"),
                 "--out", str(env / "r.csv")]) == 0
    assert _rows(env / "r.csv")[0]["pretrained"] == "false"


@pytest.mark.parametrize("args, message", [
    (["train-reid", "--data", "{env}/absent"], "absent is not a folder"),
    (["evaluate", "--data", "{env}/toy", "--checkpoint", "{env}/absent.pt"], "absent.pt does not exist"),
    (["evaluate", "--data", "{env}/toy", "--checkpoint", "{env}/corrupt.pt"], "corrupt.pt is corrupt"),
    (["evaluate", "--data", "{env}/absent", "--checkpoint", "{env}/corrupt.pt"], "absent is not a folder"),
    (["train-reid", "--data", "{env}/toy", "--set", "speed=11"], "is not SECTION.FIELD=VALUE"),
    (["train-reid", "--data", "{env}/toy", "--set", "reid.speed=11"], "reid has no field 'speed'"),
    (["train-reid", "--data", "{env}/toy", "--set", "reid.epochs=many"], "'many' is not a valid int"),
    (["train-reid", "--data", "{env}/toy", "--set", "model.blocks=3"], "is not SECTION.FIELD=VALUE"),
    (["train-reid", "--data", "{env}/toy", "--preset", "huge"], "unknown preset 'huge'"),
])
def test_bad_input_is_one_line_error(env: Path, capsys: pytest.CaptureFixture, args: list[str],
                                     message: str) -> None:
    assert main([arg.format(env=env) for arg in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("reid-bench: error: ") and message in err[0]


def test_bad_ranker_and_results_file_are_refused(env: Path, capsys: pytest.CaptureFixture) -> None:
    run = env / "run"
    assert main(["train-reid", "--data", str(env / "toy"), "--backbone", "tiny", "--epochs", "1",
                 "--out", str(run), *SMALL]) == 0
    assert main(["evaluate", "--data", str(env / "toy"), "--checkpoint", str(run / "checkpoint.pt"),
                 "--ranker", "euclidean,nope"]) == 2
    assert "unknown ranker 'nope'" in capsys.readouterr().err
    other = env / "other.csv"
    other.write_text("a,b\n1,2\n")
    assert main(["evaluate", "--data", str(env / "toy"), "--checkpoint", str(run / "checkpoint.pt"),
                 "--out", str(other)]) == 2
    assert "another header" in capsys.readouterr().err
    assert other.read_text() == "a,b\n1,2\n"


def test_parse_overrides_types() -> None:
    items = ["reid.lr=0.01", "reid.bn_neck=true", "reid.sampler=pk", "reid.epochs=3", "reid.adam_betas=0.9,0.99",
             "reid.generated_share=none", "accel.amp=off"]
    parsed = parse_overrides(items, ("reid", "accel"))
    assert parsed.section("reid") == {"lr": 0.01, "bn_neck": True, "sampler": "pk", "epochs": 3,
                                      "adam_betas": (0.9, 0.99), "generated_share": None}
    assert parsed.section("accel") == {"amp": "off"}
    with pytest.raises(ReidBenchError, match="not a valid int"):
        parse_overrides(["reid.epochs=many"], ("reid",))
    with pytest.raises(ReidBenchError, match="not a valid bool"):
        parse_overrides(["reid.bn_neck=maybe"], ("reid",))
