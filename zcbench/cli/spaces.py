"""zcbench spaces: the search spaces with their sizes."""

from __future__ import annotations

import argparse

HELP = "list the search spaces with their sizes"
EXAMPLES = """\
  zcbench spaces
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """No options of its own."""


def run(args: argparse.Namespace) -> int:
    from zcbench.spaces import get_space, list_spaces

    print(f"{'space':<13} {'size':>7} {'unique':>7}  description")
    for name in list_spaces():  # built-in, registered and entry-point spaces
        space = get_space(name, args.data)
        if name == "nb201":  # canonical classes need no data: enumerate genotypes directly
            import itertools

            from zcbench.spaces.nb201 import NUM_EDGES, NUM_OPS, canonical_nb201

            keys = {canonical_nb201(g) for g in itertools.product(range(NUM_OPS), repeat=NUM_EDGES)}
            size, unique = f"{len(space):,}", f"{len(keys):,}"
        elif space.enumerable:
            keys = {space.canonical(space.from_index(i)) for i in range(len(space))}
            size, unique = f"{len(space):,}", f"{len(keys):,}"
        else:
            size = unique = "-"
        print(f"{name:<13} {size:>7} {unique:>7}  {space.description}")
        print(f"{'':<13} {'':>7} {'':>7}  e.g. {space.example}")
    return 0
