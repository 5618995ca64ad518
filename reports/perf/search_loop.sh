#!/usr/bin/env bash
# Seconds of `zcbench search` bookkeeping (no proxy scoring: every score is read from the
# store) for two workloads, at the current checkout: 20 runs of the whole-space zc-rea cascade
# (n=15,625, prefilter=flops, 50 queries) and 100 runs of plain REA (50 queries), CIFAR-10.
# Run it at two commits to compare them; reports/perf/search_loop.txt holds both.
#     bash reports/perf/search_loop.sh >> reports/perf/search_loop.txt
source "$(dirname "$0")/wholespace_copy.sh"  # strict mode, $tmp/scores.db, $members
for spec in "zc-rea:n=15625:prefilter=flops:keep=200:agg=log 20" "rea 100"; do
  set -- $spec
  start=$(date +%s.%N)
  .venv/bin/zcbench search -q --dataset cifar10 --searcher "$1" --budget 50 --runs "$2" \
    --seed 0 --signal valid_acc_12ep --threads 1 --proxy "$members" --store "$tmp/scores.db" \
    --out "$tmp/out" > /dev/null
  end=$(date +%s.%N)
  printf '  %-50s %3s runs: %6.1f s wall, %5.2f s/run, mean_test_acc %s\n' "$1" "$2" \
    "$(echo "$end - $start" | bc)" "$(echo "($end - $start) / $2" | bc -l)" \
    "$(tail -1 "$tmp/out/summary.csv" | cut -d, -f5)"
done
