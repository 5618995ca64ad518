"""Graph features of an NB201 cell, after GRAF (Kadlecova et al., "Surprisingly Strong
Performance Prediction with Neural Graph Features", ICML 2024).

GRAF describes a cell by simple, interpretable properties of its DAG computed over subsets of
operations: how many of each operation it has, whether the input reaches the output through
a given kind of operation, the shortest and longest such path, how many such paths there are,
and the degrees of the input and output nodes counted over those operations. A predictor on
these features plus zero-cost proxies is the strongest few-label predictor published on NB201
(GRAF: 0.953 / 0.948 / 0.941 Spearman).

NB201's cell has 4 nodes (0 = input, 3 = output) and an operation on each of the 6 edges
i -> j, i < j; ``none`` removes the edge. Ours follows GRAF's feature families (op counts,
min / max path length, path counts, input out-degree and output in-degree, per operation
subset); the subsets are ours: each single operation, all convolutions, convolutions and
skips, and every non-``none`` operation. A feature that does not exist for a cell (no path)
is 0; path lengths count edges.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from zcbench.models.cells import CELL_OPS

#: the edges of the cell in the genotype's order: (from node, to node)
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: operation subsets the path and degree features are computed over
SUBSETS: dict[str, frozenset[str]] = {
    "skip": frozenset({"skip_connect"}),
    "conv1": frozenset({"nor_conv_1x1"}),
    "conv3": frozenset({"nor_conv_3x3"}),
    "pool": frozenset({"avg_pool_3x3"}),
    "conv": frozenset({"nor_conv_1x1", "nor_conv_3x3"}),
    "conv_skip": frozenset({"nor_conv_1x1", "nor_conv_3x3", "skip_connect"}),
    "any": frozenset({"nor_conv_1x1", "nor_conv_3x3", "skip_connect", "avg_pool_3x3"}),
}


def _paths(ops: tuple[str, ...], allowed: frozenset[str]) -> list[int]:
    """Lengths of every path 0 -> 3 using only edges whose operation is in ``allowed``."""
    out: list[int] = []

    def walk(node: int, length: int) -> None:
        if node == 3:
            out.append(length)
            return
        for (i, j), op in zip(EDGES, ops):
            if i == node and op in allowed:
                walk(j, length + 1)

    walk(0, 0)
    return out


def cell_features(genotype: Iterable[int]) -> dict[str, float]:
    """GRAF-style features of one NB201 genotype (6 operation indexes)."""
    ops = tuple(CELL_OPS[int(g)] for g in genotype)
    if len(ops) != len(EDGES):
        raise ValueError(f"an NB201 genotype has {len(EDGES)} operations; got {len(ops)}")
    feats: dict[str, float] = {f"count_{op}": float(ops.count(op)) for op in CELL_OPS}
    for name, allowed in SUBSETS.items():
        lengths = _paths(ops, allowed)
        feats[f"{name}_paths"] = float(len(lengths))
        feats[f"{name}_min_path"] = float(min(lengths, default=0))
        feats[f"{name}_max_path"] = float(max(lengths, default=0))
        feats[f"{name}_in_out_degree"] = float(
            sum(op in allowed for (i, _), op in zip(EDGES, ops) if i == 0)
        )
        feats[f"{name}_out_in_degree"] = float(
            sum(op in allowed for (_, j), op in zip(EDGES, ops) if j == 3)
        )
    return feats


def graph_features(genotypes: pd.Series) -> pd.DataFrame:
    """Features of NB201 genotypes (a Series of 6-tuples, by architecture index)."""
    rows = [cell_features(g) for g in genotypes]
    return pd.DataFrame(rows, index=genotypes.index, dtype=np.float64)
