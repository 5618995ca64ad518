"""zcbench export: a results store in the long format."""

from __future__ import annotations

import argparse

from zcbench.cli.common import existing_store
from zcbench.cli.options import add_store

HELP = "export a results store in the long format (CSV or Parquet)"
EXAMPLES = """\
  zcbench export --store results.db --out scores.csv
  zcbench export --store results.db --out scores.parquet
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_store(p)
    p.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet")


def run(args: argparse.Namespace) -> int:
    from zcbench.engine.store import ResultStore

    with ResultStore(existing_store(args.store), readonly=True) as store:
        frame = store.export(args.out)
    print(
        f"wrote {len(frame):,} rows ({frame.proxy.nunique()} proxies, "
        f"{frame['index'].nunique():,} architectures) to {args.out}"
    )
    return 0
