"""Time and peak memory of reid_bench.rankers.rerank against torchreid's re_ranking.

One Market-1501-sized case (3,368 queries, 15,913 gallery images; q-g, q-q and g-g float32
Euclidean distances of clustered random 128-d features of 751 identities), written to .npy files.
Each implementation then runs in a fresh subprocess that loads the three matrices, so its peak
resident memory (``ru_maxrss`` of that process) is its own: the figure includes the Python
interpreter, numpy/torch imports and the ~1.3 GB of input matrices, which is also printed as the
RSS just before the call.  The outputs are compared at the end.

    python benchmarks/bench_rerank.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from reid_bench.rankers import create


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def worker(which: str, folder: Path) -> None:
    q_g, q_q, g_g = (np.load(folder / f"{name}.npy") for name in ("q_g", "q_q", "g_g"))
    if which == "ours":
        from reid_bench.rankers import rerank as run  # noqa: PLC0415  (each worker process loads only the implementation it measures)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torchreid.reid.utils.rerank import re_ranking as run  # noqa: PLC0415  (likewise; optional: the torchreid extra)
    before = current_rss_mb()
    start = time.perf_counter()
    out = run(q_g, q_q, g_g, 20, 6, 0.3)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    np.save(folder / f"out_{which}.npy", out)
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "before_mb": before}))


def make_case(folder: Path, scale: float, seed: int = 0) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    n_ids, nq, ng = max(20, int(751 * scale)), int(3368 * scale), int(15913 * scale)
    centres = rng.normal(size=(n_ids, 128)).astype(np.float32)
    q = centres[rng.integers(0, n_ids, nq)] + rng.normal(size=(nq, 128)).astype(np.float32)
    g = centres[rng.integers(0, n_ids, ng)] + rng.normal(size=(ng, 128)).astype(np.float32)
    euclidean = create("euclidean")
    for name, (a, b) in {"q_g": (q, g), "q_q": (q, q), "g_g": (g, g)}.items():
        np.save(folder / f"{name}.npy", euclidean.distance(a, b))
    return nq, ng


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a case 1/8 of Market-1501's size")
    parser.add_argument("--worker", choices=["ours", "torchreid"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.folder)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        nq, ng = make_case(folder, 0.125 if args.quick else 1.0)
        print(f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}")
        print(f"queries {nq}, gallery {ng}, float32, k1=20 k2=6 lambda=0.3")
        results = {}
        for which in ("ours", "torchreid"):
            cmd = [sys.executable, __file__, "--worker", which, "--folder", str(folder)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results[which] = json.loads(done.stdout.strip().splitlines()[-1])
        ours, ref = results["ours"], results["torchreid"]
        for name, r in results.items():
            print(
                f"{name:10s} {r['seconds']:8.2f} s   peak RSS {r['peak_mb'] / 1024:6.2f} GB "
                f"(inputs loaded: {r['before_mb'] / 1024:5.2f} GB, "
                f"so {(r['peak_mb'] - r['before_mb']) / 1024:5.2f} GB more)"
            )
        print(f"ours is {ref['seconds'] / ours['seconds']:.1f}x faster, "
              f"peak RSS {ref['peak_mb'] / ours['peak_mb']:.1f}x lower")
        diff = np.abs(np.load(folder / "out_ours.npy") - np.load(folder / "out_torchreid.npy")).max()
        print(f"max |ours - torchreid| = {diff:.2e}")


if __name__ == "__main__":
    main()
