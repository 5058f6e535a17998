#!/usr/bin/env bash
# Regenerates every result in this folder on the embedded default (SynthPeople, quick preset).
#   bash results/synthpeople-quick/regenerate.sh [OUT]   (default OUT: results/synthpeople-quick)
# Rows are keyed by a hash of each model's config and data: to compare a rerun with the committed
# rows, give an empty OUT and run `reid-bench compare results/synthpeople-quick/results.csv OUT/results.csv`.
# About 1.5 hours on 2 CPU cores with native bf16 (more without).
set -euo pipefail
out="${1:-results/synthpeople-quick}"
reid-bench run --generator san --factor 3 --seeds 1,2,3 --out "$out" --profile
reid-bench run --generator san --factor 2 --seeds 1,2,3 --trainers ide --out "$out"
reid-bench run --generator identity --factor 3 --seeds 1,2,3 --trainers ide --out "$out/identity-control"
reid-bench run --generator synth-oracle --factor 3 --seeds 1,2,3 --trainers ide --out "$out/oracle-control"
python scripts/generator_quality.py --out "$out/quality.csv"
reid-bench tables "$out" "$out/identity-control" "$out/oracle-control"
