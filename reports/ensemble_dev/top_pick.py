"""How well each label-free rule picks at the very top, on the development sample.

Spearman over a whole pool says little about a zero-query search, which keeps only the
top-1. This reads, on the 300 development architectures (``dev.db``, disjoint from the 1,000
fidelity architectures), the NASWOT protocol for every rule of
:data:`~zcbench.analysis.ensembles.RULE_FAMILY` and for single members: draw 100 of the 300
(200 draws, numpy seed 0), keep the rule's top-1, average its test_acc_200ep. ``oracle`` is
the best architecture of each draw, averaged the same way. Nothing is chosen from it; it
says whether any candidate could reach the zero-query targets before a search is run.

The ``flops top 10 > A`` / ``> C`` rows are the two-stage cascade of
``zc:prefilter=flops:keep=K`` (reports/search/wholespace/PROTOCOL.md) at this scale: in each
draw keep the 10 candidates with the most FLOPs (ties with the 10th kept), then the rule's
top-1 with its ranks taken among those kept, as the searcher ranks them.

    .venv/bin/python reports/ensemble_dev/top_pick.py   # writes top_pick.md / top_pick.csv
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from choose import DATASETS, HERE, load  # a script beside choose.py

from zcbench.analysis.ensembles import RULE_FAMILY, rule_needs, rule_score
from zcbench.search.proxy_source import top_k_with_ties
from zcbench.tables.benchmarks import load_nb201_table

SINGLE = ("meco", "zico", "flops", "vkdnw_single", "jacob_cov", "az_expressivity",
          "synaptic_diversity")  # fmt: skip
N, DRAWS = 100, 200
KEEP = 10  # the cascade's FLOPs prefilter at this scale
CASCADE = ("A", "C")


def cascade_pick(wide, dirs, members, idx) -> int:
    """Position (in ``wide``) of the rule's top-1 among the draw's ``KEEP`` most-FLOPs
    candidates (ties with the last kept)."""
    kept = idx[top_k_with_ties(wide["flops"].to_numpy()[idx], KEEP)]
    s = rule_score(wide.iloc[kept], dirs, members).to_numpy()
    return int(kept[np.argmax(np.where(np.isnan(s), -np.inf, s))])


def main() -> None:
    table = load_nb201_table()
    candidates = {**RULE_FAMILY, **{p: (p,) for p in SINGLE}}
    rows = []
    for dataset in DATASETS:
        wide, dirs, y = load(HERE / "dev.db", dataset, table)
        y = y.to_numpy()
        rng = np.random.default_rng(0)
        draws = [rng.choice(len(wide), N, replace=False) for _ in range(DRAWS)]
        rows.append({"rule": "oracle", "dataset": dataset,
                     "mean_pick": np.mean([y[idx].max() for idx in draws])})  # fmt: skip
        for name, members in candidates.items():
            if not set(rule_needs(members)) <= set(wide.columns):
                continue
            s = rule_score(wide, dirs, members).to_numpy()
            s = np.where(np.isnan(s), -np.inf, s)
            picks = [y[idx[np.argmax(s[idx])]] for idx in draws]
            rows.append({"rule": name, "dataset": dataset, "mean_pick": float(np.mean(picks))})
        for rule in CASCADE:
            picks = [y[cascade_pick(wide, dirs, RULE_FAMILY[rule], idx)] for idx in draws]
            rows.append({"rule": f"flops top {KEEP} > {rule}", "dataset": dataset,
                         "mean_pick": float(np.mean(picks))})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["mean_pick"] = frame["mean_pick"].round(2)
    frame.to_csv(HERE / "top_pick.csv", index=False)
    wide = frame.pivot(index="rule", columns="dataset", values="mean_pick")[list(DATASETS)]
    order = ("oracle", *candidates, *(f"flops top {KEEP} > {r}" for r in CASCADE))
    wide = wide.loc[[r for r in order if r in wide.index]]
    text = (
        f"# Top-1 picks on the development sample (best of {N} by each rule, {DRAWS} draws)\n\n"
        "Mean test_acc_200ep of the pick; `oracle` is each draw's best architecture. "
        "Rules A-H: reports/ensemble_dev/dev.md.\n\n" + wide.to_markdown(floatfmt=".2f") + "\n"
    )
    (HERE / "top_pick.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
