"""zcbench fidelity: stored scores against the ground truth and the published correlations."""

from __future__ import annotations

import argparse

from zcbench.cli.common import existing_store
from zcbench.cli.options import DATASETS_HELP, add_batch_size, add_dataset, add_seed, add_store
from zcbench.errors import ZCBenchError

HELP = "signed Spearman of stored scores vs ground truth and published values"
EXAMPLES = """\
  zcbench fidelity --store results.db
  zcbench fidelity --store results.db --dataset cifar10,cifar100 --out fidelity
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_store(p)
    add_dataset(p, DATASETS_HELP)
    p.add_argument("--target", default="test_acc_200ep", help="ground-truth metric")
    add_seed(p, "scoring seed")
    add_batch_size(p, "scoring batch size")
    p.add_argument("--out", metavar="DIR", help="write fidelity.csv and fidelity.md here")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from zcbench.analysis.fidelity import fidelity_table
    from zcbench.engine.store import ResultStore
    from zcbench.tables.benchmarks import load_nb201_table
    from zcbench.tables.datasets import dataset_info

    existing_store(args.store)
    table = load_nb201_table(args.data)
    frames = []
    with ResultStore(args.store, readonly=True) as store:
        for name in args.dataset.split(","):
            info = dataset_info(name)
            frames.append(
                fidelity_table(
                    store,
                    table,
                    dataset=info.name,
                    target=args.target,
                    seed=args.seed,
                    batch_size=args.batch_size,
                )
            )
    result = pd.concat(frames, ignore_index=True)
    if result.empty:
        raise ZCBenchError(
            f"no scores for {args.dataset} (seed {args.seed}, batch "
            f"{args.batch_size}) in {args.store}"
        )
    print(result.to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result.to_csv(out / "fidelity.csv", index=False)
        (out / "fidelity.md").write_text(
            f"# Proxy fidelity: signed Spearman vs {args.target}\n\n"
            f"Store `{args.store}`, seed {args.seed}, batch {args.batch_size}; published values "
            "from shared/docs/anchors.md ("
            + (
                "NAS-Bench-Suite-Zero, whose protocol is validation accuracy, where given, else "
                "Abdelfattah / ZiCo / MeCo"
                if args.target.startswith("valid")
                else "Abdelfattah where given, else ZiCo / MeCo (vs test), else "
                "NAS-Bench-Suite-Zero (vs validation)"
            )
            + "); tolerance +-0.04. The pub_* columns list every source "
            "(abdelfattah, zico, meco: vs test accuracy; suite_zero: vs validation). "
            "`spearman` excludes failures (n_failed); `spearman_failed_last` ranks them last "
            "instead, as a reference code that keeps log(0) = -inf would.\n\n"
            + result.to_markdown(index=False)
            + "\n"
        )
        print(f"wrote {out / 'fidelity.csv'} and {out / 'fidelity.md'}")
    return 0
