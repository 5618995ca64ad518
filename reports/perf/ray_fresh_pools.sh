#!/usr/bin/env bash
# Wall time of a search whose runs each draw a fresh random pool (zc:n=100, synflow, CIFAR-10,
# budget 1), so every run after the first needs proxy scores no snapshot holds: one run after
# another, then `--executor ray --run-workers 2 --workers 2` on a local 2-CPU Ray cluster
# started by the command (its start included) at this commit, and the same at commit OLD
# (default 9d5707e, where such runs came back from the Ray tasks and were made one by one in
# the driver, their scoring on the cluster). Each mode starts from an empty store. The
# script fails unless every trace is the one-after-another trace and the stores hold the
# same rows.
#     bash reports/perf/ray_fresh_pools.sh [RUNS] [OLD] > reports/perf/ray_fresh_pools.txt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
runs=${1:-12}
old=${2:-9d5707e}
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/old" 2> /dev/null || true; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/old" "$old"
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- zcbench searchers proxies || echo ' + working tree') against $old, $(date -u +%F), $(nproc) cores"
run() {  # label, code root, extra args
  local label=$1 root=$2; shift 2
  local out="$tmp/out-$label"
  mkdir -p "$out"
  local start end
  start=$(date +%s.%N)
  PYTHONPATH="$root" .venv/bin/python -m zcbench.cli search -q --dataset cifar10 --budget 1 \
    --runs "$runs" --seed 0 --searcher zc:n=100 --proxy synflow --threads 1 \
    --store "$out/p.db" --out "$out" "$@" > "$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
  end=$(date +%s.%N)
  printf '  %-44s %s runs: %6.1f s wall\n' "$label" "$runs" "$(echo "$end - $start" | bc)"
}
ray=(--executor ray --run-workers 2 --workers 2)
run one-after-another "$PWD"
run "ray-run-workers-2 (this commit)" "$PWD" "${ray[@]}"
run "ray-run-workers-2 ($old)" "$tmp/old" "${ray[@]}"
.venv/bin/python - "$tmp"/out-* <<'PY'
import sys
from pathlib import Path

import pandas as pd

from zcbench.engine.store import ResultStore

outs = sorted(map(Path, (p for p in sys.argv[1:] if not p.endswith(".log"))))
traces = [pd.read_csv(o / "trace.csv") for o in outs]
for t in traces[1:]:
    pd.testing.assert_frame_equal(t, traces[0])
key = ["arch_index", "proxy", "status", "value"]
rows = [ResultStore(o / "p.db").frame()[key].sort_values(key).reset_index(drop=True) for o in outs]
for r in rows[1:]:
    pd.testing.assert_frame_equal(r, rows[0])
print(f"  traces and stored rows equal in all {len(outs)} modes ({len(rows[0])} rows)")
PY
