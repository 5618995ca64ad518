"""zcbench merge: copy the results one store has and another lacks (runs on other machines,
or a proxy scored into its own store, joined into one)."""

from __future__ import annotations

import argparse

from zcbench.cli.common import existing_store

HELP = "copy results from other stores into one (results it already has are kept)"
EXAMPLES = """\
  zcbench merge part1.db part2.db --into results.db
  zcbench merge vkdnw.db --into results.db --dataset cifar100 --proxies vkdnw
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="SQLite results files to copy")
    p.add_argument("--into", required=True, metavar="FILE",
                   help="the results file to add to (created if missing)")  # fmt: skip
    p.add_argument("--dataset", help="copy only this dataset's results")
    p.add_argument("--proxies", metavar="P1,P2", help="copy only these proxies' results")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.engine.store import ResultStore
    from zcbench.errors import ZCBenchError

    into = Path(args.into).resolve()
    clauses, params = [], []
    if args.dataset:
        clauses.append("dataset = ?")
        params.append(args.dataset)
    if args.proxies:
        names = [p.strip() for p in args.proxies.split(",") if p.strip()]
        if not names:
            raise ZCBenchError("--proxies is empty; expected names like vkdnw,meco")
        clauses.append(f"proxy IN ({','.join('?' * len(names))})")
        params += names
    where = " AND ".join(clauses)
    for source in args.sources:  # before --into is created
        existing_store(source, hint="")
        if Path(source).resolve() == into:
            raise ZCBenchError(f"{source} is the store merged into; name it once, in --into")
    with ResultStore(into) as target:
        for source in args.sources:
            with ResultStore(source, readonly=True) as src:
                added = target.merge(src, where, params)
            print(f"{source}: {added:,} results added to {args.into}")
        print(f"{args.into}: {len(target):,} results")
    return 0
