#!/usr/bin/env bash
# Wall time of `zcbench search` one run after another against --run-workers 2 (two spawned
# processes; then two Ray tasks at a time on a local Ray cluster started by the command, its
# start included), and whether the traces agree: the committed whole-space 50-query CIFAR-10
# job (zc-rea and the predictor on the FLOPs survivors, reports/search/wholespace/PROTOCOL.md's
# addendum) cut to its first RUNS runs (default 40; runs depend only on their seed, so they
# are runs 0..RUNS-1 of the 100 committed). Every score is read from a copy of the committed
# store; nothing is scored.
#     bash reports/perf/search_workers.sh [RUNS] > reports/perf/search_workers.txt
runs=${1:-40}
cascade=prefilter=flops:keep=200:agg=log
committed=reports/search/wholespace/cifar10_50q_valid_acc_12ep_zc_dev/trace.csv
source "$(dirname "$0")/wholespace_copy.sh"  # strict mode, $tmp/scores.db, $members
for mode in "1 local one after another" "2 local --run-workers 2" "2 ray --executor ray --run-workers 2"; do
  set -- $mode
  out="$tmp/out-$1-$2"
  start=$(date +%s.%N)
  .venv/bin/zcbench search -q --dataset cifar10 --budget 50 --runs "$runs" --seed 0 \
    --searcher "zc-rea:n=15625:$cascade,predictor:n=15625:$cascade" --signal valid_acc_12ep \
    --threads 1 --run-workers "$1" --executor "$2" --proxy "$members" \
    --store "$tmp/scores.db" --out "$out" > /dev/null 2> "$out.err" || { cat "$out.err" >&2; exit 1; }
  end=$(date +%s.%N)
  printf '  %-36s 2 searchers x %s runs: %6.1f s wall, %5.2f s/run\n' "${*:3}" "$runs" \
    "$(echo "$end - $start" | bc)" "$(echo "($end - $start) / (2 * $runs)" | bc -l)"
done
.venv/bin/python - "$committed" "$runs" "$tmp"/out-{1-local,2-local,2-ray}/trace.csv <<'PY'
import sys

import pandas as pd

committed, one, two, ray = (pd.read_csv(p) for p in sys.argv[1:2] + sys.argv[3:])
committed = committed[committed.run < int(sys.argv[2])].reset_index(drop=True)
for trace in (one, two, ray):
    pd.testing.assert_frame_equal(trace, committed)
last = one.sort_values("step").groupby(["searcher", "run"]).tail(1)
means = last.groupby("searcher", sort=False).incumbent_test_acc.mean().round(3)
print(f"  traces: all three == the committed runs 0-{int(sys.argv[2]) - 1} "
      f"({len(one)} rows); mean_test_acc " + ", ".join(f"{k.split(':')[0]} {v}" for k, v in means.items()))
PY
