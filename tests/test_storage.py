"""reid_bench.storage: atomic outputs never delete what they did not create, locks are never held
twice, torch files are read in one way, and a full disk is one sentence (issue 16, cases 1, 7, 9)."""

from __future__ import annotations

import builtins
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_reid_toydata import make_toy_market

from reid_bench import storage
from reid_bench.cli import main
from reid_bench.errors import ReidBenchError
from reid_bench.storage import LOCK_NAME, atomic_path, exclusive_folder, load_torch_file

SMALL_REID = ["--backbone", "tiny", "--epochs", "1", "--set", "reid.height=64", "--set", "reid.width=32",
              "--set", "reid.batch_size=8"]


def _one_error(capsys: pytest.CaptureFixture) -> str:
    """The one ``reid-bench: error:`` line on stderr (progress bars may come before it), never a traceback."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("reid-bench:")]
    assert len(lines) == 1 and lines[0].startswith("reid-bench: error: ") and "Traceback" not in err, err
    return lines[0]


def test_atomic_path_refuses_a_folder_at_the_path_and_deletes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "X"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("x")
    with pytest.raises(ReidBenchError, match="X is an existing folder, which reid-bench never replaces or deletes"):
        with atomic_path(folder) as tmp:
            tmp.write_text("a PNG")
    assert (folder / "notes.txt").read_text() == "x" and (folder / "sub").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X"]  # no temporary left beside it


def test_a_folder_that_appears_while_writing_is_not_replaced(tmp_path: Path) -> None:
    final = tmp_path / "out"
    with pytest.raises(ReidBenchError, match="is an existing folder"):
        with atomic_path(final) as tmp:
            tmp.mkdir()
            (tmp / "part.txt").write_text("mine")
            (final / "theirs").mkdir(parents=True)  # another process made a folder there meanwhile
    assert (final / "theirs").is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_never_replaces_a_file(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.write_text("user data")
    with pytest.raises(ReidBenchError, match="out is a file, and reid-bench writes a folder there only where"):
        with atomic_path(final) as tmp:
            tmp.mkdir()
    assert final.read_text() == "user data"


def test_a_file_is_replaced_atomically(tmp_path: Path) -> None:
    final = tmp_path / "rows.csv"
    final.write_text("old")
    with atomic_path(final) as tmp:
        tmp.write_text("new")
    assert final.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_garbage_and_code_carrying_torch_files_are_one_sentence_without_torch_advice(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    pickled = tmp_path / "pickled.pt"
    torch.save({"a": Path("x")}, pickled)  # needs arbitrary code to load: refused, never loaded unsafely
    for path in (garbage, pickled):
        with pytest.raises(ReidBenchError) as raised:
            load_torch_file(path, "a generator checkpoint", "pass the generator.pt train-generator writes")
        message = str(raised.value)
        assert message == (f"{path} is corrupt or not a torch file of plain tensors (it could not be read), so it "
                           "cannot be read as a generator checkpoint; pass the generator.pt train-generator writes.")
        assert "weights_only" not in message and "\n" not in message
    with pytest.raises(ReidBenchError, match="absent.pt does not exist or is not a file; pass it"):
        load_torch_file(tmp_path / "absent.pt", "a checkpoint", "pass it")


def test_a_full_disk_is_one_sentence_and_leaves_nothing_half_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture) -> None:
    """The checkpoint's writes go to /dev/full, which fails every flush with ENOSPC as a full disk does."""
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    root = make_toy_market(tmp_path / "toy", train_ids=3, test_ids=2, per_camera=2)

    def full(path, mode="r", *args, **kwargs):  # torch files only: the lock files stay where they are
        return builtins.open("/dev/full" if mode == "wb" else path, mode, *args, **kwargs)

    monkeypatch.setattr(storage, "open", full, raising=False)
    out = tmp_path / "run"
    assert main(["train-reid", "--data", str(root), "--out", str(out), *SMALL_REID]) == 2
    error = _one_error(capsys)
    assert f"the disk is full while writing {out / 'checkpoint.pt'}" in error and "free some space" in error
    assert not list(out.glob("*checkpoint*"))  # neither the checkpoint nor its temporary


def test_the_lock_message_of_a_cache_folder_does_not_ask_for_another_out(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REID_BENCH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "generators" / "san-0123"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ReidBenchError) as raised:
            with exclusive_folder(folder, "the san model"):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert str(raised.value) == (
        f"{folder} is in use: process {holder.pid} is writing the san model into it; it is the cache folder of "
        "this exact configuration, so wait for that process to finish and rerun, which then reuses the san "
        "model it wrote.")


HOLD = """
import sys
from reid_bench.storage import exclusive_folder
with exclusive_folder(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "the san model"):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""

# Opens the lock file while the holder still holds it, then waits; flocks it only after the holder
# released it (and deleted the file): the lock is then on a deleted file, which it must not trust.
LATE = """
import fcntl, sys
from reid_bench import storage
real, waited = fcntl.flock, []
def late_flock(handle, flags):
    if not waited and flags & fcntl.LOCK_EX:
        waited.append(1)
        print("opened", flush=True)
        sys.stdin.readline()
        flags &= ~fcntl.LOCK_NB
    real(handle, flags)
fcntl.flock = late_flock
with storage.exclusive_folder(sys.argv[1], "the late model"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_lock_won_on_a_deleted_lock_file_is_taken_again(tmp_path: Path) -> None:
    """Two real processes: one that released the folder, one that opened the lock file before it did."""
    first = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "the first model"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    late = subprocess.Popen([sys.executable, "-c", LATE, str(tmp_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "locked"
        assert late.stdout.readline().strip() == "opened"  # it holds a handle of the first's lock file
        first.communicate("release\n", timeout=60)  # deletes the lock file, then releases it
        late.stdin.write("go\n")
        late.stdin.flush()
        assert late.stdout.readline().strip() == "locked"
        with pytest.raises(ReidBenchError, match=rf"is in use: process {late.pid} is writing the late model"):
            with exclusive_folder(tmp_path, "a third model"):  # would succeed if the late one held a deleted file
                pass
    finally:
        for process in (first, late):
            process.kill()
            process.wait()
    with exclusive_folder(tmp_path, "a model after both"):
        assert (tmp_path / LOCK_NAME).is_file()
