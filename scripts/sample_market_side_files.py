"""Write the trimmed sample of the real Market-1501 side files that the tests read.

Usage: python scripts/sample_market_side_files.py FOLDER_WITH_THE_FULL_FILES [OUT]

Reads ``market-annotation-train.csv`` (PATN / pose-gan keypoints of the 12,936 training images)
and ``market-pairs-test.csv`` (the 12,000 standard test pairs) from FOLDER and writes to OUT
(default ``tests/data/market1501``):

- ``market-annotation-train.csv``: every row of 120 training identities drawn with numpy seed 0,
  in the full file's order, so whole identities (every camera, every pose) stay together;
- ``market-pairs-test.csv``: the first 1,000 pairs, in order.

The rows are copied byte for byte: these are data, not code. Not needed at run time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

IDENTITIES = 120
PAIRS = 1000


def main(source: Path, out: Path) -> None:
    lines = (source / "market-annotation-train.csv").read_text().splitlines()
    header, rows = lines[0], [line for line in lines[1:] if line.strip()]
    pids = sorted({row.split("_", 1)[0] for row in rows})
    chosen = set(np.random.default_rng(0).choice(pids, size=IDENTITIES, replace=False).tolist())
    kept = [row for row in rows if row.split("_", 1)[0] in chosen]
    out.mkdir(parents=True, exist_ok=True)
    (out / "market-annotation-train.csv").write_text("\n".join([header, *kept]) + "\n")
    pairs = (source / "market-pairs-test.csv").read_text().splitlines()
    (out / "market-pairs-test.csv").write_text("\n".join(pairs[: PAIRS + 1]) + "\n")
    print(f"{len(kept)} keypoint rows of {IDENTITIES} identities and {PAIRS} test pairs written to {out}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[1])
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) == 3 else Path("tests/data/market1501"))
