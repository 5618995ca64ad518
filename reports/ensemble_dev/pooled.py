"""Round 2 of the label-free rule: rules A-H read through one minibatch or through all three
datasets' minibatches, chosen on the development sample, the choice read once on the 1,000.

Protocol (committed before any pooled value was computed): ``POOLED.md``. Reads the stores
``choose.py`` reads (``dev.db``, ``reports/fidelity/results.db``); scores nothing.

    .venv/bin/python reports/ensemble_dev/pooled.py

writes ``pooled_dev.md`` / ``.csv`` (the 16 candidates on the 300 development architectures
and the choice) and ``pooled_test.md`` / ``.csv`` (the choice and rule C on the 1,000).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from choose import DATASETS, FIDELITY, HERE, load  # noqa: E402

from zcbench.analysis.correlate import bootstrap_spearman, spearman  # noqa: E402
from zcbench.analysis.ensembles import (  # noqa: E402
    POOL_DATASETS,
    RULE_FAMILY,
    choose_rule,
    pooled_rule_score,
    rule_score,
)
from zcbench.tables.benchmarks import load_nb201_table  # noqa: E402

#: every candidate: (rule letter, pooled?)
CANDIDATES = {**{r: (r, False) for r in RULE_FAMILY}, **{f"{r}/3": (r, True) for r in RULE_FAMILY}}


def _tie_break(name: str) -> tuple:
    """POOLED.md: single-minibatch first, then fewer members, then the earlier letter."""
    rule, pooled = CANDIDATES[name]
    return (pooled, len(RULE_FAMILY[rule]), rule)


def _rows(path: Path, archs: list[int] | None, table, names) -> pd.DataFrame:  # noqa: ANN001
    loaded = {d: load(path, d, table, archs) for d in DATASETS}
    frames = {d: loaded[d][0] for d in POOL_DATASETS}
    dirs = {k: v for d in DATASETS for k, v in loaded[d][1].items()}
    rows = []
    for name in names:
        rule, pooled = CANDIDATES[name]
        members = RULE_FAMILY[rule]
        shared = pooled_rule_score(frames, dirs, members) if pooled else None
        for dataset in DATASETS:
            wide, _, y = loaded[dataset]
            values = shared if pooled else rule_score(wide, dirs, members)
            values = values.reindex(y.index)
            keep = values.notna() & y.notna()
            x, t = values[keep].to_numpy(), y[keep].to_numpy()
            lo, hi = bootstrap_spearman(x, t, seed=0)
            rows.append({
                "rule": name, "members": " + ".join(members), "pooled": pooled,
                "dataset": dataset, "n": int(keep.sum()), "spearman": round(spearman(x, t), 4),
                "ci_lo": round(lo, 4), "ci_hi": round(hi, 4),
            })  # fmt: skip
    return pd.DataFrame(rows)


def _markdown(frame: pd.DataFrame, choice: str, title: str) -> str:
    wide = frame.pivot(index="rule", columns="dataset", values="spearman")[list(DATASETS)]
    wide = wide.loc[[n for n in CANDIDATES if n in wide.index]]
    wide["worst"] = wide.min(axis=1)
    header = "| rule | minibatches | members | " + " | ".join(wide.columns) + " |"
    lines = [f"# {title}", "", header]
    lines.append("|---|---|---|" + "---|" * len(wide.columns))
    for name, row in wide.iterrows():
        rule, pooled = CANDIDATES[name]
        mark = f"**{name}** (chosen)" if name == choice else name
        batches = "cifar10 + cifar100 + ImageNet16-120" if pooled else "the target dataset's"
        cells = " | ".join(f"{v:.3f}" for v in row)
        lines.append(f"| {mark} | {batches} | {' + '.join(RULE_FAMILY[rule])} | {cells} |")
    n = frame.groupby("dataset")["n"].max().to_dict()
    lines += ["", "Architectures per dataset: " + ", ".join(f"{d} {n[d]}" for d in DATASETS), ""]
    return "\n".join(lines)


def main() -> None:
    table = load_nb201_table()
    dev = _rows(HERE / "dev.db", None, table, CANDIDATES)
    choice = choose_rule(dev.pivot(index="rule", columns="dataset", values="spearman"),
                         tie_break=_tie_break)  # fmt: skip
    dev["chosen"] = dev["rule"] == choice
    dev.to_csv(HERE / "pooled_dev.csv", index=False)
    text = _markdown(dev, choice, "Round 2: rules A-H through one or three minibatches, on the "
                     "300 development architectures")  # fmt: skip
    text += f"\nChosen by the highest worst-dataset Spearman (POOLED.md): **{choice}**.\n"
    if not CANDIDATES[choice][1]:
        text += "\nA single-minibatch rule was chosen: round 2 changes nothing.\n"
    (HERE / "pooled_dev.md").write_text(text)
    print(text)
    if not CANDIDATES[choice][1]:
        return
    fidelity = sorted(load(FIDELITY, "cifar10", table)[0].index)
    test = _rows(FIDELITY, fidelity, table, dict.fromkeys(["C", choice]))
    test["chosen"] = test["rule"] == choice
    test.to_csv(HERE / "pooled_test.csv", index=False)
    text = _markdown(test, choice, "Round 2's choice on the 1,000 fidelity architectures "
                     "(read once), beside rule C")  # fmt: skip
    (HERE / "pooled_test.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
