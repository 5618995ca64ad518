#!/usr/bin/env bash
# Wall seconds of RUNS (default 12) whole-space predictor runs at 50 queries on CIFAR-10
# (predictor:n=15625:prefilter=flops:keep=200:agg=log, every score read from a copy of the
# committed store, one thread), at the current checkout; fails unless the trace equals the
# committed runs. Run it at two commits to compare them; predictor_loop.txt holds both.
#     bash reports/perf/predictor_loop.sh [RUNS] >> reports/perf/predictor_loop.txt
runs=${1:-12}
source "$(dirname "$0")/wholespace_copy.sh"  # strict mode, $tmp/scores.db, $members
start=$(date +%s.%N)
.venv/bin/zcbench search -q --dataset cifar10 --budget 50 --runs "$runs" --seed 0 \
  --searcher predictor:n=15625:prefilter=flops:keep=200:agg=log --signal valid_acc_12ep \
  --threads 1 --proxy "$members" --store "$tmp/scores.db" --out "$tmp/out" > /dev/null
end=$(date +%s.%N)
.venv/bin/python - "$tmp/out/trace.csv" "$runs" <<'PY'
import sys

import pandas as pd

committed = "reports/search/wholespace/cifar10_50q_valid_acc_12ep_zc_dev/trace.csv"
trace, runs = pd.read_csv(sys.argv[1]), int(sys.argv[2])
c = pd.read_csv(committed)
c = c[(c.run < runs) & c.searcher.str.startswith("predictor")].reset_index(drop=True)
pd.testing.assert_frame_equal(trace, c)
PY
printf '  predictor %s runs: %6.1f s wall, %5.2f s/run; trace == the committed runs 0-%s\n' \
  "$runs" "$(echo "$end - $start" | bc)" "$(echo "($end - $start) / $runs" | bc -l)" "$((runs - 1))"
