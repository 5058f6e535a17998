"""The regression harness of bad inputs (issue 16): a table of (command, arguments, the sentence
expected), run through the CLI. Each must end with exit status 2 and exactly one line on stderr
that starts ``reid-bench: error:`` and holds the sentence (progress bars may come before it);
never a traceback, never torch's advice to load a file with ``weights_only=False``, and the user's
files are left as they were.

Placeholders: ``{data}`` a tiny SynthPeople folder, ``{tmp}`` this test's folder, which holds
``afile`` (a file), ``folder/`` (a folder with a file in it), ``bad.pt`` (not a torch file),
``header.csv`` (a results header and no rows), ``half/`` and ``done/`` (train-generator folders
whose checkpoint or generator.pt is garbage); ``{gpu}`` is a GPU this machine lacks (``cuda``
without one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reid_bench.cli import main
from reid_bench.results.rows import REID_COLUMNS

GPU = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"
TINY = ["--set", "model.channels=2", "--set", "model.blocks=1"]
FOLDER_FIX = "is a file, not a folder; give a folder path (it is created if absent)."
BAD_PT = ("{tmp}/bad.pt is corrupt or not a torch file of plain tensors (it could not be read), so it cannot be "
          "read as ")

COMMANDS = {  # each command with arguments that are otherwise fine
    "run": ["run", "--generator", "none", "--preset", "quick", "--data", "{data}", "--out", "{tmp}/r"],
    "train-generator": ["train-generator", "--data", "{data}", "--out", "{tmp}/g"],
    "generate": ["generate", "--checkpoint", "{tmp}/bad.pt", "--pairs", "{data}/pairs-test.csv", "--data", "{data}",
                 "--out", "{tmp}/images"],
    "train-reid": ["train-reid", "--data", "{data}"],
    "evaluate": ["evaluate", "--data", "{data}", "--checkpoint", "{tmp}/bad.pt"],
    "eval-generator": ["eval-generator", "--generated", "{tmp}/folder", "--generator", "x", "--data", "{data}",
                       "--out", "{tmp}/q.csv"],
}
DEVICE_COMMANDS = ("run", "train-generator", "generate", "train-reid", "evaluate", "eval-generator")

CASES = [
    # 7: a device this machine lacks, or no device at all, in every command that takes one
    *[(name, [*COMMANDS[name], "--device", "{gpu}"], "device {gpu} asks for") for name in DEVICE_COMMANDS],
    *[(name, [*COMMANDS[name], "--device", "nonsense"],
       "device 'nonsense' is not a device; give auto, cpu, cuda or cuda:N.") for name in DEVICE_COMMANDS],
    # 7: --out naming an existing file where a folder is written
    *[(name, [*COMMANDS[name], "--out", "{tmp}/afile"], f"--out {{tmp}}/afile {FOLDER_FIX}")
      for name in ("run", "train-generator", "generate", "train-reid")],
    ("data synth", ["data", "synth", "--out", "{tmp}/afile"], f"--out {{tmp}}/afile {FOLDER_FIX}"),
    ("tables", ["tables", "{tmp}/header.csv", "--out", "{tmp}/afile"], f"--out {{tmp}}/afile {FOLDER_FIX}"),
    ("eval-generator", ["eval-generator", "--checkpoint", "{tmp}/bad.pt", "--data", "{data}", "--out", "{tmp}/q.csv",
                        "--images-out", "{tmp}/afile"], f"--images-out {{tmp}}/afile {FOLDER_FIX}"),
    # 1, 9: --out naming an existing folder where a file is written (checked before any work)
    ("samples", ["samples", "--data", "{data}", "--out", "{tmp}/folder", "a={tmp}/folder"],
     "--out {tmp}/folder is a folder, not a file; give the path of the PNG to write."),
    ("eval-generator", [*COMMANDS["eval-generator"], "--out", "{tmp}/folder"],
     "--out {tmp}/folder is a folder, not a file; give the path of an image-quality CSV, e.g. quality.csv."),
    ("evaluate", [*COMMANDS["evaluate"], "--out", "{tmp}/folder"],
     "--out {tmp}/folder is a folder, not a file; give the path of a results CSV to append the rows to."),
    # 5, 7: counts below their minimum, as flags and as --set
    *[(name, [*COMMANDS[name], "--batch-size", "0"], "--batch-size 0 is below 1; give a whole number of 1 or more.")
      for name in ("train-generator", "generate", "eval-generator")],
    ("train-generator", [*COMMANDS["train-generator"], "--batch-size", "-3"],
     "--batch-size -3 is below 1; give a whole number of 1 or more."),
    ("train-generator", [*COMMANDS["train-generator"], "--set", "generator.batch_size=-3"],
     "generator.batch_size -3 is below 1; give a whole number of 1 or more."),
    ("run", [*COMMANDS["run"], "--set", "generator.batch_size=-3"],
     "generator.batch_size -3 is below 1; give a whole number of 1 or more."),
    ("train-generator", [*COMMANDS["train-generator"], "--steps", "0"], "--steps 0 is below 1;"),
    ("train-generator", [*COMMANDS["train-generator"], "--steps", "-2"], "--steps -2 is below 1;"),
    ("train-generator", [*COMMANDS["train-generator"], "--set", "generator.steps=0"], "generator.steps 0 is below 1;"),
    ("train-generator", [*COMMANDS["train-generator"], "--steps", "many"],
     "--steps 'many' is not a whole number; give 1 or more."),
    ("run", [*COMMANDS["run"], "--generator-steps", "0"], "--generator-steps 0 is below 1;"),
    ("run", [*COMMANDS["run"], "--reid-epochs", "0"], "--reid-epochs 0 is below 1;"),
    ("run", [*COMMANDS["run"], "--factor", "0"], "--factor 0 is below 1;"),
    ("train-reid", [*COMMANDS["train-reid"], "--epochs", "0"], "--epochs 0 is below 1;"),
    ("eval-generator", [*COMMANDS["eval-generator"], "--resamples", "0"], "--resamples 0 is below 1;"),
    ("samples", ["samples", "--out", "{tmp}/s.png", "--pairs", "0", "a={tmp}/folder"],
     "the figure needs at least one pair, not 0."),
    # 5, 7: SynthPeople's identities and sizes
    ("data synth", ["data", "synth", "--out", "{tmp}/s", "--ids", "0"], "--ids 0 is below 2; give a whole number of 2"),
    ("data synth", ["data", "synth", "--out", "{tmp}/s", "--ids", "-5"], "--ids -5 is below 2;"),
    ("data synth", ["data", "synth", "--out", "{tmp}/s", "--size", "100x50"],
     "--size '100x50' is not one of 128x64, 256x128; give one of them."),
    # 7: garbage checkpoints and weights, in every command that reads one
    ("generate", COMMANDS["generate"], BAD_PT + "a generator checkpoint; pass the generator.pt that "
     "`reid-bench train-generator` writes, or train one again."),
    ("eval-generator", ["eval-generator", "--checkpoint", "{tmp}/bad.pt", "--data", "{data}", "--out", "{tmp}/q.csv"],
     BAD_PT + "a generator checkpoint;"),
    ("run", ["run", "--generator", "san", "--preset", "quick", "--data", "{data}", "--out", "{tmp}/r",
             "--generator-checkpoint", "{tmp}/bad.pt"], BAD_PT + "a generator checkpoint;"),
    ("train-generator", ["train-generator", "--data", "{data}", "--out", "{tmp}/half", "--steps", "2",
                         "--batch-size", "2", *TINY],
     "{tmp}/half/checkpoints/latest.pt is corrupt or not a torch file"),
    ("train-generator", ["train-generator", "--data", "{data}", "--out", "{tmp}/done", "--steps", "2", *TINY],
     "{tmp}/done/generator.pt is corrupt or not a torch file"),
    ("train-generator", [*COMMANDS["train-generator"], "--vgg-weights", "{tmp}/bad.pt", "--steps", "1", *TINY],
     BAD_PT + "VGG-19 weights; pass torchvision's vgg19-dcbb9e9d.pth."),
    ("evaluate", COMMANDS["evaluate"], BAD_PT + "a Re-ID checkpoint; pass the checkpoint.pt that "
     "`reid-bench train-reid` writes, or train it again."),
    # 9: a results CSV with a header and no rows names commands that exist
    ("tables", ["tables", "{tmp}/header.csv", "--out", "{tmp}/tables"],
     "{tmp}/header.csv hold no Re-ID or image-quality rows; give results CSVs written by `reid-bench run`, "
     "`reid-bench evaluate --out` or `reid-bench eval-generator`."),
]

CACHE_CASES = [  # 7: REID_BENCH_CACHE naming a file, or a place no folder can be made
    ("{tmp}/afile", "REID_BENCH_CACHE {tmp}/afile is a file, not a folder; set REID_BENCH_CACHE to a writable "
                    "folder, or unset it for ~/.cache/reid-bench."),
    ("/proc/reid-bench-cache", "REID_BENCH_CACHE /proc/reid-bench-cache cannot be created or written:"),
]


@pytest.fixture
def places(tmp_path: Path, people: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no pretrained weights: nothing heavy loads
    (tmp_path / "afile").write_text("a user's file")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("a user's notes")
    (tmp_path / "bad.pt").write_bytes(b"\x80\x04 garbage, not a torch file")
    (tmp_path / "header.csv").write_text(",".join(REID_COLUMNS) + "\n")
    (tmp_path / "half" / "checkpoints").mkdir(parents=True)
    (tmp_path / "half" / "checkpoints" / "latest.pt").write_bytes(b"garbage")
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "generator.pt").write_bytes(b"garbage")
    return {"data": str(people), "tmp": str(tmp_path), "gpu": GPU}


def _fails_with(argv: list[str], expected: str, places: dict[str, str], capsys: pytest.CaptureFixture) -> None:
    assert main([arg.format(**places) for arg in argv]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("reid-bench:")]  # progress bars aside
    assert len(lines) == 1 and lines[0].startswith("reid-bench: error: "), err
    assert expected.format(**places) in lines[0]
    assert "Traceback" not in err and "weights_only" not in err


@pytest.mark.parametrize("command, argv, expected", CASES, ids=[f"{c[0]}:{' '.join(c[1][-2:])}" for c in CASES])
def test_bad_input_ends_in_one_sentence(command: str, argv: list[str], expected: str, places: dict[str, str],
                                        capsys: pytest.CaptureFixture) -> None:
    _fails_with(argv, expected, places, capsys)
    assert (Path(places["tmp"]) / "folder" / "notes.txt").read_text() == "a user's notes"  # nothing deleted
    assert (Path(places["tmp"]) / "afile").read_text() == "a user's file"


@pytest.mark.parametrize("cache, expected", CACHE_CASES)
def test_an_unusable_cache_ends_in_one_sentence(cache: str, expected: str, places: dict[str, str],
                                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", cache.format(**places))
    _fails_with(["train-generator", "--data", "{data}", "--steps", "1", *TINY], expected, places, capsys)
