#!/usr/bin/env bash
# Regenerates every result in this folder on the embedded default (SynthPeople, quick preset, whose recipe
# is the one README.md here measures). Rows are keyed by a hash of each model's config and data: to
# compare a rerun with the committed rows, give an empty OUT and run
# `reid-bench compare results/synthpeople-quick/results.csv OUT/results.csv`.
#   bash results/synthpeople-quick/regenerate.sh [OUT]   (default OUT: results/synthpeople-quick)
# About 15 hours of one CPU core (two jobs at a time on 2 cores take about 60% of that; more at once is slower).
# The committed folders come from three machines (README.md here says which); bf16 numbers depend on the processor.
# Their rows predate the processor column (they read as processor "unrecorded"), so a rerun into them adds this
# machine's rows beside them (tables then gives each processor its own section) instead of skipping.
set -euo pipefail
out="${1:-results/synthpeople-quick}"
data="${DATA_ROOT:-$out/data}"  # the two confirmation renders (made once; not committed)
# The real-only plateau that fixed the quick preset's Re-ID length: none at 6..36 epochs, plateau.csv and .png
python scripts/plateau.py --out "$out/plateau" --ide 6,12,18,24,36 --siamese 6,12,18,24
# The main command at 3 seeds (its seed 1 is the README's command), and the two controls under the same recipe
reid-bench run --generator san --factor 3 --seeds 1,2,3 --out "$out" --profile
reid-bench run --generator identity --factor 3 --seeds 1,2,3 --trainers ide --out "$out/identity-control"
reid-bench run --generator synth-oracle --factor 3 --seeds 1,2,3 --trainers ide --out "$out/oracle-control"
# The same models with XQDA and KISSME fitted on real + generated images (rows without fit=real)
for arm in "san $out" "identity $out/identity-control" "synth-oracle $out/oracle-control"; do
  set -- $arm
  reid-bench run --generator "$1" --factor 3 --seeds 1,2,3 --trainers ide --ranker-fit trained --out "$2"
done
# The quick recipe before its identity term was jittered, and the region colour term on that recipe instead
reid-bench run --generator san --factor 3 --seeds 1,2,3 --out "$out/ablation" --set generator.identity_jitter=none
reid-bench run --generator san --factor 3 --seeds 1,2,3 --trainers ide --out "$out/region-colour" \
  --set generator.identity_jitter=none --region-colour-weight 10
# Every generator and both controls under the recipe, IDE, seeds 1-3, in one folder with its own none rows
# (made on one machine: bf16 numbers depend on the processor, so a ranking must not borrow another machine's)
for gen in san identity synth-oracle pg2 defgan vunet patn intrflow gfla dpig; do
  reid-bench run --generator "$gen" --factor 3 --seeds 1,2,3 --trainers ide --out "$out/all-generators"
done
# Siamese for every generator and both controls, in the same folder
for gen in san identity synth-oracle patn defgan pg2 vunet intrflow gfla dpig; do
  reid-bench run --generator "$gen" --factor 3 --seeds 1,2,3 --trainers siamese --out "$out/all-generators"
done
# The region colour term on top of the current recipe, with the same machine's none rows
reid-bench run --generator san --factor 3 --seeds 1,2,3 --trainers ide --region-colour-weight 10 \
  --out "$out/region-colour-jitter"
# The main command at 1 seed, timed end to end from a cold cache (benchmarks/README.md)
[ -e "$data/timed-run" ] || { python benchmarks/bench_run_quick.py --keep "$data/timed-run" && \
  mkdir -p "$out/timed-run" && cp -r "$data/timed-run/results/." "$out/timed-run/"; }
# The main command as it runs (every core's threads, no other job): IDE seeds 1-6, then the main command at
# seeds 1-3 (IDE and Siamese), then the confidence filter at seeds 1-3, and the real-only Siamese at 24, 36
# and 48 epochs (seed 1), all from a cold cache of their own
(
  export REID_BENCH_CACHE="$data/cache-both-threads"
  reid-bench run --generator san --factor 3 --seeds 1,2,3,4,5,6 --trainers ide --out "$out/both-threads"
  reid-bench run --generator san --factor 3 --seeds 1,2,3 --out "$out/both-threads"
  for p in 0.1 0.5; do
    reid-bench run --generator san --factor 3 --seeds 1,2,3 --trainers ide --filter "$p" --out "$out/both-threads"
  done
  python scripts/plateau.py --out "$out/plateau-siamese-epyc" --ide "" --siamese 24,36,48,72
  # The Siamese's own lr (section D): chosen on seed 1 at 24 epochs, checked on seed 2 at 24 and 48, and the
  # main command's Siamese (SAN and both controls) at lr 5e-3, seeds 1-3
  for lr in 2e-3 3e-3 1e-2; do
    python scripts/plateau.py --out "$out/plateau-siamese-epyc/lr-$lr" --ide "" --siamese 24 --set reid.siamese_lr=$lr
  done
  python scripts/plateau.py --out "$out/plateau-siamese-epyc/lr-5e-3" --ide "" --siamese 12,24,36,48 \
    --set reid.siamese_lr=5e-3
  python scripts/plateau.py --out "$out/plateau-siamese-epyc/seed2" --ide "" --siamese 24,48 --seed 2
  python scripts/plateau.py --out "$out/plateau-siamese-epyc/seed2-lr-5e-3" --ide "" --siamese 24,48 --seed 2 \
    --set reid.siamese_lr=5e-3
  reid-bench run --generator san --factor 3 --seeds 1,2,3 --out "$out/siamese-lr5e-3" --set reid.siamese_lr=5e-3
  for gen in identity synth-oracle; do
    reid-bench run --generator "$gen" --factor 3 --seeds 1,2,3 --trainers siamese --out "$out/siamese-lr5e-3" \
      --set reid.siamese_lr=5e-3
  done
)
# The main command on a CPU without native bf16 (AVX2 only, where amp=auto trains in fp32), from a cold cache of
# its own (section E): IDE seeds 1-3, the Siamese of seed 1, the identity control, and the real-only IDE at 64x32
(
  export REID_BENCH_CACHE="$data/cache-zen3-fp32"
  reid-bench run --generator san --factor 3 --seeds 1,2,3 --trainers ide --out "$out/zen3-fp32"
  reid-bench run --generator san --factor 3 --seeds 1 --out "$out/zen3-fp32"
  reid-bench run --generator identity --factor 3 --seeds 1,2,3 --trainers ide --out "$out/zen3-fp32"
  for seed in 1 2 3; do
    python scripts/plateau.py --out "$out/zen3-fp32/plateau-64x32-seed$seed" --ide 24 --siamese "" --seed "$seed" \
      --set reid.height=64 --set reid.width=32
  done
)
# Single levers on the paper's pipeline, with the none rows of the same machine
for levers in "" "--budget epochs" "--generated-share 0.25 --generated-smooth 0.1" "--composite target" \
    "--poses compatible" "--foreground-weight 15" \
    "--identity-weight 1 --identity-feature-weight 10 --set generator.identity_warmup=300 --identity-jitter 0.15"; do
  reid-bench run --generator san --factor 3 --seeds 1,2,3 --trainers ide --no-recipe $levers --out "$out/ablation-levers"
done
# Ablation: the paper's pipeline (every lever off), then the identity term alone
reid-bench run --generator san --factor 3 --seeds 1,2,3 --trainers ide --out "$out/ablation" --no-recipe
reid-bench run --generator san --factor 3 --seeds 1,2,3 --trainers ide --out "$out/ablation" --no-recipe \
  --identity-weight 1 --identity-feature-weight 10 --set generator.identity_warmup=300
# Confirmation, the recipe unchanged, on two renders with other dataset seeds
for seed in 1 2; do
  [ -d "$data/seed$seed" ] || reid-bench data synth --out "$data/seed$seed" --seed "$seed"
  for arm in "san" "san --set generator.identity_jitter=none" "identity"; do
    reid-bench run --generator $arm --factor 3 --seeds 1,2,3 --trainers ide --data "$data/seed$seed" \
      --out "$out/confirm-data-seed$seed"
  done
done
# Table 1 for the recipe, on test pairs and on augmentation pairs (every generator; the recipe before the
# jitter's Table 1 is in table1-before-jitter/: add --set generator.identity_jitter=none to remake it)
python scripts/generator_quality.py --out "$out/table1" \
  --generators san,identity,synth-oracle,pg2,defgan,vunet,patn,intrflow,gfla,dpig --figure "$out/table1/samples.png"
for pairs in test-pairs augmentation-pairs; do reid-bench tables "$out/table1/$pairs"; done
reid-bench tables "$out" "$out/identity-control" "$out/oracle-control" "$out/ablation"
# Folders with their own machine's none rows get tables of their own (their keys repeat the main run's)
for folder in all-generators ablation-levers both-threads zen3-fp32; do reid-bench tables "$out/$folder"; done
