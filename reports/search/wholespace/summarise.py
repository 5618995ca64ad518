"""The whole-space zero-query picks (PROTOCOL.md beside this file), with their ceiling and cost.

Reads the ``zcbench search`` folders written here (``D_0q_zc_dev``: zc_dev, the headline;
``D_0q``: zc_ensemble; ``D_0q_zc_pool``: zc_dev's members read through all three datasets'
minibatches, reports/ensemble_dev/POOLED.md) and the store they scored into, ``scores.db``,
and writes ``wholespace.md`` / ``wholespace.csv``. For each dataset and ensemble it gives:

* the pick's test_acc_200ep (every run makes the same pick: std 0) against the issue's target
  and the 1,000-architecture pool's pick (``reports/search/records/``, n=1000);
* the ceiling: the best architecture among those the FLOPs stage kept, and the pick's rank
  among them by test accuracy;
* the cost, from the store's ``seconds`` column: the FLOP counts of all 15,625 architectures
  and the ensemble's scoring of the survivors, in core-seconds (each worker's own time).

It also checks that rescoring reproduces the committed fidelity store: the architectures that
both stores hold, with every value compared.

    .venv/bin/python reports/search/wholespace/summarise.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.engine.store import ResultStore
from zcbench.search.proxy_source import top_k_with_ties
from zcbench.tables.benchmarks import load_nb201_table

HERE = Path(__file__).parent
RECORDS = HERE.parent / "records"
FIDELITY = Path("reports/fidelity/results.db")
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
KEEP = 200  # PROTOCOL.md: zc:n=15625:prefilter=flops:keep=200:agg=log
RANKINGS = {"zc_dev": "_0q_zc_dev", "zc_ensemble": "_0q", "zc_pool": "_0q_zc_pool"}
#: rankings that read every dataset's minibatch (reports/ensemble_dev/POOLED.md): their
#: ensemble cost is the kept set's scoring on all three datasets
POOLED = ("zc_pool",)


def _targets() -> dict[str, float]:
    """The issue's zero-query targets, as records/summarise.py holds them (one copy)."""
    spec = importlib.util.spec_from_file_location("records_summarise", RECORDS / "summarise.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TARGETS["0 queries"][0]


def _long(path: Path, dataset: str) -> pd.DataFrame:
    with ResultStore(path, readonly=True) as store:
        return store.frame("dataset = ? AND seed = 0", (dataset,))


def _pool_pick(dataset: str, suffix: str) -> float:
    """The same ensemble's zero-query pick from the committed 1,000 (records, n=1000)."""
    summary = pd.read_csv(RECORDS / f"{dataset}{suffix}" / "summary.csv")
    row = summary[summary["searcher"] == "zc:n=1000:pool=stored:agg=log"]
    return float(row["mean_test_acc"].iloc[0])


def _reproduced(long: pd.DataFrame, dataset: str) -> tuple[int, float]:
    """(architectures both stores hold, largest relative difference of their values)."""
    key = ["arch_index", "proxy", "proxy_version", "batch_size", "sampling"]
    theirs = _long(FIDELITY, dataset)
    both = long.merge(theirs, on=key, suffixes=("", "_fid"))
    both = both[(both["status"] == "ok") & (both["status_fid"] == "ok")]
    both = both[both["proxy"] != "flops"]  # every architecture has flops: not a rescoring check
    if both.empty:
        return 0, float("nan")
    a, b = both["value"].to_numpy(float), both["value_fid"].to_numpy(float)
    rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-12)
    return int(both["arch_index"].nunique()), float(rel.max())


def main() -> None:
    table = load_nb201_table()
    target = _targets()
    rows = []
    longs = {dataset: _long(HERE / "scores.db", dataset) for dataset in DATASETS}
    kept_sets = {}
    ensemble_s = {}
    for dataset, long in longs.items():
        counted = long[long["proxy"] == "flops"]
        flops = counted.set_index("arch_index")["value"]
        kept_sets[dataset] = flops.index[top_k_with_ties(flops.to_numpy(), KEEP)]
        scored = long[(long["proxy"] != "flops") & long["arch_index"].isin(kept_sets[dataset])]
        ensemble_s[dataset] = round(float(scored["seconds"].sum()), 1)
    for dataset in DATASETS:
        long = longs[dataset]
        acc = table.get(dataset, "test_acc_200ep")
        kept = kept_sets[dataset]
        flops_core_s = round(float(long.loc[long["proxy"] == "flops", "seconds"].sum()), 1)
        overlap, max_rel = _reproduced(long, dataset)
        for ranking, suffix in RANKINGS.items():
            folder = HERE / f"{dataset}{suffix}"
            if not (folder / "trace.csv").exists():
                continue
            trace = pd.read_csv(folder / "trace.csv")
            picks = trace["index"].unique()
            pick = int(picks[0])
            rows.append(
                {
                    "dataset": dataset,
                    "ranking": ranking,
                    "runs": int(trace["run"].nunique()),
                    "distinct_picks": len(picks),
                    "pick": pick,
                    "test_acc": round(float(acc.loc[pick]), 2),
                    "target": target[dataset],
                    "met": bool(acc.loc[pick] >= target[dataset]),
                    "pool_1000_pick": round(_pool_pick(dataset, suffix), 2),
                    "kept": len(kept),
                    "kept_best": round(float(acc.loc[kept].max()), 2),
                    "pick_rank_in_kept": int((acc.loc[kept] > acc.loc[pick]).sum()) + 1,
                    "pick_pct_of_space": round(100 * float((acc < acc.loc[pick]).mean()), 2),
                    "optimum": round(float(acc.max()), 2),
                    "flops_core_s": flops_core_s,
                    "ensemble_core_s": round(sum(ensemble_s.values()), 1)
                    if ranking in POOLED
                    else ensemble_s[dataset],
                    "reproduced_archs": overlap,
                    "reproduced_max_rel_diff": max_rel,
                }
            )
    frame = pd.DataFrame(rows)
    frame.to_csv(HERE / "wholespace.csv", index=False)
    text = "\n".join(
        [
            "# Zero-query picks from the whole NB201 space (15,625 architectures) on CPU",
            "",
            "`zc:n=15625:prefilter=flops:keep=200:agg=log`, fixed in PROTOCOL.md before the runs: "
            "FLOPs rank all 15,625, the top 200 and their ties (`kept`) go on to the ensemble, "
            "whose top-1 is the pick. Every run makes the same pick (`distinct_picks`), so the "
            "100 runs are one measurement. `pool_1000_pick`: the same ensemble's pick from the "
            "committed 1,000-architecture pool; `kept_best`: the best of the kept set, the "
            "ceiling of this cascade; `pick_pct_of_space`: the share of the space the pick beats. "
            "Cost in core-seconds from the store (2 workers, so wall time is about half): "
            "`flops_core_s` for the 15,625 FLOP counts, `ensemble_core_s` for the kept set "
            "(zc_ensemble reads zc_dev's stored scores, so it shares one cost; zc_pool reads "
            "zc_dev's members on all three datasets' minibatches, so its cost is the three "
            "datasets' together, and it makes one pick whatever the dataset: "
            "reports/ensemble_dev/POOLED.md). "
            "`reproduced_*`: architectures also in reports/fidelity/results.db, and the largest "
            "relative difference between the two stores' values for them.",
            "",
            frame.to_markdown(index=False, floatfmt=".4g"),
            "",
        ]
    )
    (HERE / "wholespace.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
