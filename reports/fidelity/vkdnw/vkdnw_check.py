"""VKDNW on the 100 stability architectures (all three datasets): vkdnw, VKDNW_single
and VKDNW_agg beside AZ-NAS and zcbench's label-free ensemble on the same architectures.

VKDNW needs one backward per class for each of 32 noise images: about 3 s per NB201
architecture on CIFAR-10, 12 s on ImageNet16-120 and 25-30 s on CIFAR-100 on the 2-core CPU,
so it was scored on 100 of the 1,000 fidelity architectures (``reports/stability/archs.txt``),
into its own store (the correlation report compares every proxy on the
same architectures, so a proxy scored on a tenth of them stays out of ``results.db``):

    for D in cifar10 ImageNet16-120; do .venv/bin/zcbench score --space nb201 --dataset $D \\
        --proxies vkdnw,vkdnw_dim --archs "$(cat reports/stability/archs.txt)" --seed 0 \\
        --batch-size 64 --store reports/fidelity/vkdnw.db --threads 1; done
    # CIFAR-100 (a later session, 11.7 s per architecture with 2 workers beside a test run)
    .venv/bin/zcbench score --space nb201 --dataset cifar100 --proxies vkdnw,vkdnw_dim \\
        --archs "$(cat reports/stability/archs.txt)" --seed 0 --batch-size 64 \\
        --store reports/fidelity/vkdnw.db --workers 2 --threads 1
    .venv/bin/python reports/fidelity/vkdnw/vkdnw_check.py

Writes ``vkdnw.md`` / ``vkdnw.csv``: signed Spearman vs test_acc_200ep with a 95% bootstrap
interval over the 100, and the published figures (VKDNW_agg 0.919 / 0.919 / 0.906 over all
15,625 architectures).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from zcbench.analysis.anchors import reference_rho
from zcbench.analysis.correlate import bootstrap_spearman, spearman, wide_scores
from zcbench.analysis.ensembles import az_nas, vkdnw_agg, vkdnw_single, zc_ensemble
from zcbench.engine.store import ResultStore
from zcbench.proxies import get_proxy
from zcbench.tables.benchmarks import load_nb201_table

HERE = Path(__file__).parent


def main() -> None:
    table = load_nb201_table()
    rows = []
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        frames = []
        for path in ("reports/fidelity/results.db", "reports/fidelity/vkdnw.db"):
            with ResultStore(path, readonly=True) as store:
                frames.append(store.frame("dataset = ? AND seed = 0", (dataset,)))
        # the 100 stability architectures (vkdnw.db also collects CIFAR-100's vkdnw on the
        # whole 1,000, to be merged into results.db once complete)
        archs = [int(a) for a in Path("reports/stability/archs.txt").read_text().split(",")]
        vk = frames[1][frames[1]["arch_index"].isin(archs)]
        base = frames[0][~frames[0]["proxy"].isin(["vkdnw_dim"])]
        long = pd.concat([base[base["arch_index"].isin(archs)], vk], ignore_index=True)
        wide = wide_scores(long)
        dirs = {p: get_proxy(p).higher_is_better for p in wide.columns}
        y = table.get(dataset, "test_acc_200ep").reindex(wide.index)
        columns = {
            "vkdnw": wide["vkdnw"],
            "vkdnw_dim": wide["vkdnw_dim"],
            "vkdnw_single": vkdnw_single(wide),
            "vkdnw_agg": vkdnw_agg(wide, dirs),
            "az_nas": az_nas(wide, dirs),
            "zc_ensemble": zc_ensemble(wide, dirs),
            "meco": wide["meco"],
        }
        for name, values in columns.items():
            keep = values.notna() & y.notna()
            x, t = values[keep].to_numpy(), y[keep].to_numpy()
            rho = spearman(x, t)
            lo, hi = bootstrap_spearman(x, t, seed=0)
            ref, source = reference_rho(name, dataset)
            rows.append(
                {
                    "dataset": dataset,
                    "proxy": name,
                    "n": int(keep.sum()),
                    "spearman": round(rho, 4),
                    "ci_lo": round(lo, 4),
                    "ci_hi": round(hi, 4),
                    "published": ref,
                    "source": source,
                    "seconds_per_arch": round(
                        float(vk.loc[vk.proxy == "vkdnw", "seconds"].mean()), 2
                    )
                    if name == "vkdnw"
                    else np.nan,
                }
            )
    out = pd.DataFrame(rows)
    out.to_csv(HERE / "vkdnw.csv", index=False)
    text = [
        "# VKDNW on 100 NB201 architectures",
        "",
        "Signed Spearman vs test_acc_200ep over the 100 stability architectures (95% bootstrap "
        "interval); published: VKDNW_agg over all 15,625 (Tybl and Neumann, CVPR 2025), AZ-NAS "
        "(Lee and Ham, CVPR 2024). Every row is read on the same 100 architectures.",
        "",
        out.to_markdown(index=False),
        "",
    ]
    (HERE / "vkdnw.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
