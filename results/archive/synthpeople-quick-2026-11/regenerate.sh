#!/usr/bin/env bash
# Regenerates every result in this folder on the embedded default (SynthPeople, quick preset).
#   bash results/synthpeople-quick/regenerate.sh [OUT]   (default OUT: results/synthpeople-quick)
# Rows are keyed by a hash of each model's config and data: to compare a rerun with the committed
# rows, give an empty OUT and run `reid-bench compare results/synthpeople-quick/results.csv OUT/results.csv`.
# About 2 hours on 2 CPU cores with native bf16 (more without).
set -euo pipefail
out="${1:-results/synthpeople-quick}"
reid-bench run --generator san --factor 3 --seeds 1,2,3 --out "$out" --profile
reid-bench run --generator san --factor 2 --seeds 1,2,3 --trainers ide --out "$out"
reid-bench run --generator identity --factor 3 --seeds 1,2,3 --trainers ide --out "$out/identity-control"
reid-bench run --generator synth-oracle --factor 3 --seeds 1,2,3 --trainers ide --out "$out/oracle-control"
python scripts/generator_quality.py --out "$out/quality.csv" --figure "$out/figures/generators.png"
reid-bench tables "$out" "$out/identity-control" "$out/oracle-control"
# Other quick SANs against the identity check (one identity model for all of them)
variants="$out/san-variants/quality.csv"
figure=(--figure "$out/san-variants/samples.png")
python scripts/generator_quality.py --generators identity --out "$variants" "${figure[@]}"
python scripts/generator_quality.py --generators san --label "san (quick: alpha=10, 1500 steps)" --out "$variants" "${figure[@]}"
python scripts/generator_quality.py --generators san --options '{"alpha": 1.0}' --label "san alpha=1" --out "$variants" "${figure[@]}"
python scripts/generator_quality.py --generators san --options '{"alpha": 0.0}' --label "san alpha=0 (L1 only)" --out "$variants" "${figure[@]}"
python scripts/generator_quality.py --generators san --options '{"attention": "patn"}' --label "san attention=patn" --out "$variants" "${figure[@]}"
python scripts/generator_quality.py --generators san --options '{"channels": 32}' --label "san channels=32" --out "$variants" "${figure[@]}"
python scripts/generator_quality.py --generators san --steps 6000 --label "san 6000 steps" --out "$variants" "${figure[@]}"
reid-bench tables "$out/san-variants"
