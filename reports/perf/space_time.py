"""How long the whole NB201 space takes on this machine: measured throughput of `zcbench score`
with ``--workers`` on a sample of each dataset, for the full 17-proxy panel of ``make perf``
and a cheap panel, extrapolated to all 15,625 architectures.

Each (dataset, panel) scores its own seeded sample into a fresh temporary store, worker
start-up included (so the extrapolation slightly overestimates a run over the whole space,
where start-up is paid once). Writes ``space_time.md`` and ``space_time.csv`` to ``--out``.

    .venv/bin/python reports/perf/space_time.py --out reports/perf
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd
import torch

from zcbench.engine.runner import run_scoring
from zcbench.engine.store import ResultStore
from zcbench.jobs.perf import PANEL17
from zcbench.proxies import resolve_proxies
from zcbench.spaces import get_space
from zcbench.tables.datasets import dataset_info
from zcbench.tables.selection import sample_indices

SPACE_SIZE = 15_625
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
#: make perf's 17-proxy panel and the issue's cheap panel
PANELS = {
    "full (17 proxies)": PANEL17,
    "cheap (synflow, naswot, meco, zico, params, flops)": "synflow,naswot,meco,zico,params,flops",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="reports/perf")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--full-archs", type=int, default=40, help="sample size, full panel")
    ap.add_argument("--cheap-archs", type=int, default=200, help="sample size, cheap panel")
    args = ap.parse_args()
    space = get_space("nb201")
    rows = []
    for panel, proxies in PANELS.items():
        n = args.full_archs if panel.startswith("full") else args.cheap_archs
        archs = sample_indices(space, n, seed=3)
        for dataset in DATASETS:
            info = dataset_info(dataset)
            with tempfile.TemporaryDirectory() as tmp, ResultStore(Path(tmp) / "s.db") as store:
                summary = run_scoring(
                    space, info.name, archs, resolve_proxies(proxies), store,
                    workers=args.workers, threads=1, progress=False,
                )  # fmt: skip
            rate = summary.scored / summary.seconds
            hours = SPACE_SIZE / rate / 3600
            rows.append(
                {
                    "panel": panel,
                    "dataset": info.name,
                    "archs": summary.scored,
                    "seconds": round(summary.seconds, 1),
                    "arch_per_s": round(rate, 3),
                    "space_hours": round(hours, 2),
                }
            )
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    out = Path(args.out)
    frame.to_csv(out / "space_time.csv", index=False)
    totals = frame.groupby("panel", sort=False)["space_hours"].sum().round(1)
    lines = [
        "# The whole NB201 space on this machine",
        "",
        f"`zcbench score --workers {args.workers} --threads 1`, {os.cpu_count()} CPU cores, torch "
        f"{torch.__version__}; measured throughput on a seeded sample per dataset (worker "
        "start-up included), extrapolated to all 15,625 architectures.",
        "",
        frame.to_markdown(index=False),
        "",
        "All three datasets: " + "; ".join(f"{p}: {h} h" for p, h in totals.items()) + ".",
    ]
    (out / "space_time.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
