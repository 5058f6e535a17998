"""Two real processes at once: appending to one CSV, and generating into one folder (issue 16, cases 2
and 7). Nothing is lost and nothing crashes.

Each pair of processes waits for a "go" file once its imports are done, so their work overlaps; the
generating pair runs `reid-bench generate`'s library call on the same pairs in the same order.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from generators_fixtures import TINY_OPTIONS
from PIL import Image

from reid_bench import generators
from reid_bench.data import read_pairs_csv
from reid_bench.generators import checkpoints
from reid_bench.generators.generate import complete_png, output_name
from reid_bench.quality.rows import read_rows as read_quality_rows
from reid_bench.results.rows import read_rows

ROWS = 150

APPEND = """
import sys, time
from pathlib import Path
from reid_bench.quality.rows import QualityRow, write_rows
from reid_bench.results.rows import append_rows
results, quality, go, who = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
row = dict(dataset="market1501", generator="none", factor=1, trainer="ide", ranker="euclidean", rank1=70.0,
           rank5=90.0, rank10=95.0, mAP=40.0, mINP=10.0, n_real=100, n_generated=0, preset="quick",
           pretrained=True, perceptual="n/a", recipe="n/a", processor="cpu", config_hash=who, commit="abc",
           started="2024-05-01T12:00:00+00:00", wall_s=1.0)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
for seed in range(int(sys.argv[5])):
    append_rows(results, [dict(row, seed=seed)])
    write_rows(quality, [QualityRow("market", f"{who}{seed}", "SSIM", 0.5, 0.4, 0.6, 10, "gfla2020", "none")])
"""

GENERATE = """
import sys, time
from pathlib import Path
from reid_bench import generators
from reid_bench.data import PoseTransferPairs, load_dataset, read_pairs_csv
from reid_bench.generators.generate import generate
go, checkpoint, data, pairs_csv, out = (Path(arg) for arg in sys.argv[1:6])
model = generators.load(checkpoint)
pairs = PoseTransferPairs(load_dataset(data), "test", needs=model.needs, image_size=(32, 16),
                          pairs=read_pairs_csv(pairs_csv))
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
print(generate(model, pairs, out, batch_size=1, progress=False))
"""


def _together(script: str, arguments: list[list[str]], go: Path) -> list[subprocess.CompletedProcess]:
    """Run ``script`` once per argument list, all released at the same moment; their outcomes."""
    processes = [subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for args in arguments]
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.communicate()
    go.touch()
    done = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def test_two_processes_appending_to_one_csv_keep_every_row(tmp_path: Path) -> None:
    results, quality, go = tmp_path / "results.csv", tmp_path / "quality.csv", tmp_path / "go"
    done = _together(APPEND, [[str(results), str(quality), str(go), who, str(ROWS)] for who in ("a", "b")], go)
    assert [process.returncode for process in done] == [0, 0], [process.stderr for process in done]
    rows = read_rows(results)
    assert len(rows) == 2 * ROWS
    assert {(row.config_hash, row.seed) for row in rows} == {(who, seed) for who in "ab" for seed in range(ROWS)}
    assert len(read_quality_rows(quality)) == 2 * ROWS
    assert sorted(path.name for path in tmp_path.iterdir()) == ["go", "quality.csv", "results.csv"]  # no lock left


def test_two_processes_generating_into_one_folder_both_finish_with_every_image(tmp_path: Path, people: Path) -> None:
    model = generators.create("san", **TINY_OPTIONS["san"])
    checkpoint = checkpoints.save(tmp_path / "generator.pt", checkpoints.record(model))
    out, go = tmp_path / "images", tmp_path / "go"
    pairs_csv = people / "pairs-test.csv"
    command = [str(go), str(checkpoint), str(people), str(pairs_csv), str(out)]
    done = _together(GENERATE, [command, command], go)  # the same images, in the same order, at once
    assert [process.returncode for process in done] == [0, 0], [process.stderr for process in done]
    expected = sorted(output_name(source, target) for source, target in read_pairs_csv(pairs_csv))
    assert sorted(path.name for path in out.iterdir()) == expected  # every image, no temporary left
    assert all(complete_png(out / name) for name in expected)
    with Image.open(out / expected[0]) as image:
        assert image.size == (16, 32)
