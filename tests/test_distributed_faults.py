"""A failure on any rank ends every rank promptly with that rank's message (2 gloo processes).

Without this, a rank waiting at a barrier for work rank 0 does alone would sit there until the
process group's timeout (30 minutes on gloo) after rank 0 had already failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = '''
import sys, time
import torch
import torch.distributed as dist
from reid_bench import distributed
from reid_bench.errors import ReidBenchError

distributed.init_from_env(torch.device("cpu"))
mode = sys.argv[1]
if mode == "main-fails":
    def step():
        if distributed.is_main():
            raise ReidBenchError("the dataset folder vanished")
        return "read rank 0's output"
    try:
        distributed.main_first(step)
    except ReidBenchError as error:
        print(f"rank {distributed.rank()} says: {error}", flush=True)
        sys.exit(2)
    print("no rank failed", flush=True)
else:  # a rank fails inside the collectives of a training loop
    for step in range(100_000):
        if distributed.rank() == 1 and step == 3:
            print("rank 1 says: out of memory at step 3", flush=True)
            sys.exit(3)
        value = torch.ones(1)
        dist.all_reduce(value)
        time.sleep(0.01)
'''
LIMIT_S = 300  # far below the process group's 30-minute timeout, with room for a loaded machine


def _launch(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess, float]:
    script = tmp_path / "faults.py"
    script.write_text(SCRIPT)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script), mode]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT_S,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    return done, time.monotonic() - started


def test_a_failure_on_rank_0_stops_the_waiting_rank_with_its_message(tmp_path: Path) -> None:
    done, seconds = _launch(tmp_path, "main-fails")
    output = done.stdout + done.stderr
    assert done.returncode != 0 and seconds < LIMIT_S
    assert "rank 1 says: process 0 failed, so process 1 stops too: the dataset folder vanished" in output
    assert "no rank failed" not in output


def test_a_failure_on_another_rank_inside_a_collective_ends_every_rank(tmp_path: Path) -> None:
    done, seconds = _launch(tmp_path, "worker-fails")
    assert done.returncode != 0 and seconds < LIMIT_S
    assert "rank 1 says: out of memory at step 3" in done.stdout + done.stderr


def test_run_on_two_processes_with_a_bad_dataset_stops_both_at_once(tmp_path: Path) -> None:
    env = {**os.environ, "REID_BENCH_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "reid_bench", "--nproc", "2", "run", "--generator", "identity",
               "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "out")]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT_S, env=env)
    assert done.returncode != 0 and time.monotonic() - started < LIMIT_S
    assert "missing is not a folder" in done.stderr
    assert "process 0 failed, so process 1 stops too" in done.stderr


