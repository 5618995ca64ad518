"""Seed stability of every proxy: how much its ranking depends on the minibatch and the
initialisation (zcbench.analysis.stability), and whether averaging over k seeds buys correlation.

Seed 0 of the 100 architectures is read from the committed fidelity store; seeds 1-4 were
scored into ``stability.db`` here:

    for S in 1 2 3 4; do .venv/bin/zcbench score --space nb201 --dataset cifar10 \\
        --proxies <the proxies below> --archs "$(cat reports/stability/archs.txt)" \\
        --seed $S --batch-size 64 --store reports/stability/stability.db; done
    .venv/bin/python reports/stability/stability.py

(``archs.txt``: the first 100, by index, of the 200 architectures in
``reports/fidelity/machine_check/archs.txt``, themselves a seeded draw from the 1,000.)
Writes ``stability.csv`` and ``stability.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from zcbench.analysis.correlate import signed_scores, wide_scores
from zcbench.analysis.stability import averaging_gain, seed_stability
from zcbench.engine.store import ResultStore
from zcbench.proxies import get_proxy, list_proxies
from zcbench.tables.benchmarks import load_nb201_table

HERE = Path(__file__).parent


def load(fidelity: str, seeds: str, archs: list[int], dataset: str) -> pd.DataFrame:
    frames = []
    for path, where in ((fidelity, "seed = 0"), (seeds, "seed > 0")):
        with ResultStore(path, readonly=True) as store:
            frames.append(store.frame(f"dataset = ? AND batch_size = 64 AND {where}", (dataset,)))
    long = pd.concat(frames, ignore_index=True)
    long = long[long["arch_index"].isin(archs)]
    # one version per proxy: the newest stored (the committed stores keep the versions of the
    # time, e.g. zen 1 while the code runs zen 2; every seed here was scored at the same one)
    long = long[long["proxy"].isin(set(list_proxies()))]
    newest = long.groupby("proxy")["proxy_version"].transform("max")
    return long[long["proxy_version"] == newest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fidelity", default="reports/fidelity/results.db")
    parser.add_argument("--seeds", default=str(HERE / "stability.db"))
    parser.add_argument("--archs", default=str(HERE / "archs.txt"))
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--target", default="test_acc_200ep")
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args()
    archs = [int(a) for a in Path(args.archs).read_text().split(",")]
    long = load(args.fidelity, args.seeds, archs, args.dataset)
    proxies = sorted(p for p in long["proxy"].unique() if long[long.proxy == p].seed.nunique() >= 2)
    directions = {p: get_proxy(p).higher_is_better for p in proxies}
    truth = load_nb201_table().get(args.dataset, args.target)
    stab = seed_stability(long, proxies)
    gain = averaging_gain(long, truth, directions, proxies=proxies)
    seed0 = long[long.seed == 0]
    rho0 = signed_scores(wide_scores(seed0), directions).corrwith(
        truth.reindex(sorted(seed0.arch_index.unique())), method="spearman"
    )
    table = stab.merge(gain.drop(columns="n"), on="proxy", how="left")
    table.insert(2, "rho_seed0", table["proxy"].map(rho0).round(4))
    table.insert(0, "dataset", args.dataset)
    table = table.sort_values("stability", ascending=False, ignore_index=True)
    out = Path(args.out)
    table.round(4).to_csv(out / "stability.csv", index=False)
    text = [
        f"# Seed stability of every proxy ({args.dataset}, {len(archs)} architectures, seeds "
        f"{', '.join(str(s) for s in sorted(long.seed.unique()))})",
        "",
        "stability: mean over pairs of seeds of Spearman between the seeds' values (each seed "
        "draws its own minibatch and initialisation); stability_min: the worst pair; "
        f"rho_seed0: signed Spearman with {args.target} at seed 0 over these architectures; "
        "rho_kK: the same for the mean normalised rank over K seeds (mean over every "
        "K-subset of the seeds), i.e. what averaging K draws buys for K times the cost.",
        "",
        table.round(4).to_markdown(index=False),
        "",
    ]
    (out / "stability.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
