"""The predictor's acquisition step before / after skipping scikit-learn's per-tree checks,
interleaved in one process, on the features of a real whole-space run (CIFAR-10, the 205
FLOPs survivors of the committed store, one-hot encoding plus the 8 members' ranks, the
signal of the first K queried). Fails unless both give the same values.

    .venv/bin/python reports/perf/predictor_ab.py > reports/perf/predictor_ab.txt
"""

from __future__ import annotations

import sys
import time

import numpy as np
import sklearn
import torch
from sklearn.ensemble import RandomForestRegressor

from zcbench.engine.store import ResultStore
from zcbench.search.oracle import Oracle
from zcbench.search.proxy_source import StoreProxySource
from zcbench.searchers import get_searcher
from zcbench.spaces import get_space
from zcbench.tables.benchmarks import load_nb201_table

MEMBERS = "az_expressivity,az_progressivity,az_trainability,flops,meco,zico,vkdnw_single,jacob_cov"


def before(features, known, y, open_, seed, trees=100):
    forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
    forest.fit(features[known], y)
    per_tree = np.stack([t.predict(features[open_]) for t in forest.estimators_])
    return per_tree.mean(axis=0) + 0.5 * per_tree.std(axis=0)


def after(features, known, y, open_, seed, trees=100):
    forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        forest.fit(features[known], y)
    candidates = np.ascontiguousarray(features[open_], dtype=np.float32)
    per_tree = np.stack([t.predict(candidates, check_input=False) for t in forest.estimators_])
    return per_tree.mean(axis=0) + 0.5 * per_tree.std(axis=0)


def main() -> int:
    torch.set_num_threads(1)
    space, table = get_space("nb201"), load_nb201_table()
    with ResultStore("reports/search/wholespace/scores.db", readonly=True) as store:
        source = StoreProxySource(store, space, "cifar10", MEMBERS, progress=False)
        oracle = Oracle(space, table, "cifar10", 50, proxy_source=source)
        searcher = get_searcher("predictor")(
            space, seed=0, n=15625, prefilter="flops", keep=200, agg="log"
        )
        searcher.bind(oracle)
        searcher._setup()  # the run's pool and features, as the searcher builds them
    features = searcher._features
    signal = table.get("cifar10", "valid_acc_12ep").to_numpy()
    pool = np.array([space.index(a) for a in searcher._pool])
    times = {"before": [], "after": []}
    for k in (10, 20, 30, 40, 49):
        known, open_ = list(range(k)), list(range(k, len(pool)))
        y = signal[pool[known]]
        for rep in range(4):
            out = {}
            for name, fn in (("before", before), ("after", after))[:: 1 if rep % 2 else -1]:
                start = time.process_time()
                out[name] = fn(features, known, y, open_, seed=1000 + rep)
                times[name].append(time.process_time() - start)
            if not np.array_equal(out["before"], out["after"]):
                print(f"values differ at {k} known, repeat {rep}")
                return 1
    b, a = np.mean(times["before"]), np.mean(times["after"])
    print(
        f"predictor acquisition (forest of 100 trees on 10-49 known of {len(pool)} candidates, "
        f"{features.shape[1]} features), CPU s per step over {len(times['after'])} interleaved "
        f"steps, one thread: before {b:.3f}, after {a:.3f} ({b / a:.2f}x); values identical"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
