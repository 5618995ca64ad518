"""zcbench proxies: the registered zero-cost proxies with their metadata."""

from __future__ import annotations

import argparse

from zcbench.errors import ZCBenchError

HELP = "list the registered zero-cost proxies with their metadata"
EXAMPLES = """\
  zcbench proxies
  # paper, formula and departures of the synflow-like proxies
  zcbench proxies 'syn*' --verbose
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'syn*'")
    p.add_argument("-v", "--verbose", action="store_true", help="paper, formula and departures")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from zcbench.proxies import get_proxy, list_proxies

    names = list_proxies(args.pattern)
    if not names:
        raise ZCBenchError(f"no proxy matches {args.pattern!r}")
    rows = [get_proxy(n).as_row() for n in names]
    frame = pd.DataFrame(rows)
    if args.verbose:
        for row in rows:
            print(f"{row['proxy']} ({'higher' if row['higher_is_better'] else 'lower'} is better)")
            for key in (
                "kind",
                "cost",
                "needs_labels",
                "dtype",
                "removes_bn",
                "version",
                "paper",
                "formula",
                "departures",
            ):
                if row[key] not in ("", None):
                    print(f"  {key}: {row[key]}")
        return 0
    frame["direction"] = frame.pop("higher_is_better").map({True: "higher", False: "lower"})
    cols = ["proxy", "direction", "kind", "cost", "needs_labels", "dtype", "removes_bn", "paper"]
    print(frame[cols].to_string(index=False, max_colwidth=70))
    return 0
