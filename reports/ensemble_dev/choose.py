"""Choose zcbench's label-free rule on a development sample, then read it once on the 1,000.

Protocol (issue 18: "chosen by a rule fixed before looking at the held-out numbers, no
per-dataset tuning on the test set"):

1. The candidates are :data:`zcbench.analysis.ensembles.RULE_FAMILY` (eight log-rank sums,
   one rule for all datasets) and the criterion is :func:`~zcbench.analysis.ensembles.
   choose_rule` (the highest worst-dataset Spearman vs test_acc_200ep). Both were committed
   before any candidate was computed on the development sample.
2. The development sample is 300 NB201 architectures drawn uniformly (numpy seed 2026) from
   the 14,625 that are *not* among the 1,000 fidelity architectures (``archs.txt``), scored
   with the same protocol as the fidelity stores (seed 0, batch 64, real minibatch):

       for D in ImageNet16-120 cifar10 cifar100; do .venv/bin/zcbench score --space nb201 \\
           --dataset $D --proxies az_expressivity,az_progressivity,az_trainability,flops,\\
       meco,zico,vkdnw,vkdnw_dim,jacob_cov,synaptic_diversity --archs "$(cat \\
           reports/ensemble_dev/archs.txt)" --seed 0 --batch-size 64 \\
           --store reports/ensemble_dev/dev.db --workers 2 --threads 1; done
       .venv/bin/python reports/ensemble_dev/choose.py

   writes ``dev.md`` / ``dev.csv`` (every candidate on the development sample, and the
   choice), and, where the 1,000 fidelity architectures have every member scored
   (``reports/fidelity/results.db``), ``test.md`` / ``test.csv``: the rules on the 1,000,
   with the chosen one marked. The code's :data:`~zcbench.analysis.ensembles.ZC_ENSEMBLE`
   stays the first rule (A); the chosen rule is reported beside it under its letter.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from zcbench.analysis.correlate import bootstrap_spearman, spearman, wide_scores
from zcbench.analysis.ensembles import RULE_FAMILY, choose_rule, rule_needs, rule_score
from zcbench.engine.store import ResultStore
from zcbench.proxies import get_proxy
from zcbench.tables.benchmarks import load_nb201_table

HERE = Path(__file__).parent
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
FIDELITY = Path("reports/fidelity/results.db")


def _wide(path: Path, dataset: str, archs: list[int] | None = None) -> pd.DataFrame:
    with ResultStore(path, readonly=True) as store:
        long = store.frame("dataset = ? AND seed = 0", (dataset,))
    if archs is not None:
        long = long[long["arch_index"].isin(archs)]
    return wide_scores(long)


def load(path: Path, dataset: str, table, archs: list[int] | None = None):  # noqa: ANN001, ANN201
    """One dataset of a store, as every script here reads it: the proxies' scores (one
    column per proxy, newest version), their directions (higher is better) and the target,
    test_acc_200ep, on the same architectures."""
    wide = _wide(path, dataset, archs)
    dirs = {p: get_proxy(p).higher_is_better for p in wide.columns}
    return wide, dirs, table.get(dataset, "test_acc_200ep").reindex(wide.index)


def _table(path: Path, archs: list[int] | None, table) -> pd.DataFrame:  # noqa: ANN001
    rows = []
    for dataset in DATASETS:
        wide, dirs, y = load(path, dataset, table, archs)
        for rule, members in RULE_FAMILY.items():
            if not set(rule_needs(members)) <= set(wide.columns):
                continue
            values = rule_score(wide, dirs, members)
            keep = values.notna() & y.notna()
            x, t = values[keep].to_numpy(), y[keep].to_numpy()
            lo, hi = bootstrap_spearman(x, t, seed=0)
            rows.append(
                {
                    "rule": rule,
                    "members": " + ".join(members),
                    "dataset": dataset,
                    "n": int(keep.sum()),
                    "spearman": round(spearman(x, t), 4),
                    "ci_lo": round(lo, 4),
                    "ci_hi": round(hi, 4),
                }
            )
    return pd.DataFrame(rows)


def _markdown(frame: pd.DataFrame, choice: str, title: str) -> str:
    wide = frame.pivot(index="rule", columns="dataset", values="spearman")[
        [d for d in DATASETS if d in set(frame["dataset"])]
    ]
    wide["worst"] = wide.min(axis=1, skipna=False)
    lines = [f"# {title}", "", "| rule | members | " + " | ".join(wide.columns) + " |"]
    lines.append("|---|---|" + "---|" * len(wide.columns))
    for rule, row in wide.iterrows():
        mark = f"**{rule}** (chosen)" if rule == choice else rule
        cells = " | ".join("not scored" if v != v else f"{v:.3f}" for v in row)
        lines.append(f"| {mark} | {' + '.join(RULE_FAMILY[rule])} | {cells} |")
    n = frame.groupby("dataset")["n"].max().to_dict()
    lines += ["", "Architectures per dataset: " + ", ".join(f"{d} {n[d]}" for d in wide.columns
                                                          if d in n), ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    table = load_nb201_table()
    dev = _table(HERE / "dev.db", None, table)
    spear = dev.pivot(index="rule", columns="dataset", values="spearman")
    complete = spear.dropna()
    choice = choose_rule(complete)
    dev["chosen"] = dev["rule"] == choice
    dev.to_csv(HERE / "dev.csv", index=False)
    (HERE / "dev.md").write_text(
        _markdown(dev, choice, "Label-free rules on the 300 development architectures")
        + f"\nChosen by the highest worst-dataset Spearman: **{choice}**.\n"
    )
    print((HERE / "dev.md").read_text())
    fidelity = sorted(_wide(FIDELITY, "cifar10").index)
    test = _table(FIDELITY, fidelity, table)
    if test.empty:
        return
    test["chosen"] = test["rule"] == choice
    test.to_csv(HERE / "test.csv", index=False)
    text = _markdown(test, choice, "The same rules on the 1,000 fidelity architectures (read once)")
    cells = test.pivot(index="rule", columns="dataset", values="spearman")
    if cells.isna().to_numpy().any():  # a rule without a value on some dataset
        text += "\n'not scored': a member is not yet scored on all 1,000 of that dataset.\n"
    (HERE / "test.md").write_text(text)
    print((HERE / "test.md").read_text())


if __name__ == "__main__":
    main()
