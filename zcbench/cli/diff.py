"""zcbench diff: are the results two stores share bit-identical?"""

from __future__ import annotations

import argparse

from zcbench.cli.common import existing_store

HELP = "compare two results stores: are the common results bit-identical?"
EXAMPLES = """\
  zcbench diff run1.db run2.db
  zcbench diff run1.db run2.db --out result.txt
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", help="first SQLite results file")
    p.add_argument("b", help="second SQLite results file")
    p.add_argument("--out", metavar="FILE", help="also write the summary to FILE")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.engine.store import (
        ResultStore,
        compare_stores,
        environment_differences,
        recorded_environment,
    )

    for path in (args.a, args.b):
        existing_store(path, hint="")
    with ResultStore(args.a, readonly=True) as a, ResultStore(args.b, readonly=True) as b:
        merged = compare_stores(a, b)
    both = merged[merged["where"] == "both"]
    differ = both[~both["identical"]]
    gap = (both["value_a"] - both["value_b"]).abs().max() if len(both) else float("nan")
    lines = [
        f"{len(both):,} results in both stores ({both.arch_index.nunique():,} architectures, "
        f"{both.proxy.nunique()} proxies): {int(both.identical.sum()):,} bit-identical, "
        f"{len(differ):,} differ (largest |a - b| = {gap:.3g})",
        f"only in {args.a}: {int((merged['where'] == 'a').sum()):,}; "
        f"only in {args.b}: {int((merged['where'] == 'b').sum()):,}",
    ]
    if len(differ):
        per_proxy = differ.groupby("proxy").size().to_string()
        lines += ["differing results per proxy:", per_proxy]
        env = environment_differences(merged)
        if env:
            pairs = "; ".join(
                f"{key} " + ", ".join(f"{a} vs {b}" for a, b in sorted(values))
                for key, values in env.items()
            )
            lines.append(
                f"recorded environments differ ({pairs}): floats may differ in the last bits"
            )
        elif all("threads" in recorded_environment(v) for v in differ["versions_a"]):
            lines.append("both sides recorded the same versions, threads and CPU instruction set")
        else:  # rows written before zcbench recorded them
            lines.append("both sides recorded the same versions (threads and CPU not recorded)")
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 1 if len(differ) else 0
