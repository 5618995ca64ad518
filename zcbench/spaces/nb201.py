"""NAS-Bench-201 / NATS-Bench topology search space (``nb201``).

A cell is a DAG on 4 nodes with 6 edges ``(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2)``,
each one of 5 operations, so 5**6 = 15,625 cells. The genotype is the tuple of 6 operation ids
(indexes into :data:`~zcbench.models.cells.CELL_OPS`) in that edge order, which is also the
order of the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

Official indexes: NAS-Bench-201 numbers its cells in the order of its release file, which no
rule reproduces, so the index <-> architecture map is read from the ``index``/``arch`` columns
of ``nb201/ground_truth.csv`` (only when an index is asked for; parsing, sampling, canonical
keys and building need no data).

Canonical key (:meth:`NB201Space.canonical`): two cells share a key iff they compute the same
function under the algebra below, which is NAS-Bench-201's own ``to_unique_str(consider_zero=
True)`` rule made exact:

* a node is the *sum* of its incoming terms (a multiset: order-free, repeats kept);
* ``none`` contributes nothing; ``skip_connect`` contributes the source node's terms as they are;
* a conv or pool edge contributes ``op(source)``, and an operation of a zero node is zero
  (ReLU(0) = 0, bias-free conv(0) = 0, pool(0) = 0, and BN maps an all-zero batch to beta = 0
  at initialisation);
* only what reaches the output node (3) matters.

Parametrised operations are never merged with each other (two convs on the same input are two
different weight tensors), and average pooling is not distributed over sums even though it is
linear: that keeps the rule equal to the one NB201 and the zero-cost literature use.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn

from zcbench.errors import ArchError, DataError, shown
from zcbench.models.cells import CELL_OPS
from zcbench.models.networks import nb201_network
from zcbench.paths import ENV_VAR, data_file
from zcbench.spaces.base import SearchSpace
from zcbench.types import Arch

#: (target node, source node) of each genotype position
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_OPS = len(CELL_OPS)
NUM_EDGES = len(EDGES)
SIZE = NUM_OPS**NUM_EDGES
_OP_ID = {name: i for i, name in enumerate(CELL_OPS)}
_SHORT = {"nor_conv_1x1": "conv1", "nor_conv_3x3": "conv3", "avg_pool_3x3": "pool"}
_WEIGHTS = NUM_OPS ** np.arange(NUM_EDGES - 1, -1, -1)  # base-5 code, edge 0 most significant
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"  # noqa: E501
FORM = "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op in " + ", ".join(CELL_OPS)
_EDGE_RE = re.compile(r"([A-Za-z0-9_]+)~([0-9]{1,4})")  # fullmatch; ASCII digits, few of them
#: how much of a bad input an error message echoes


def encode_genotype(genotype: tuple[int, ...]) -> int:
    """The 6 op ids as one base-5 integer (the code both the space and the table key by)."""
    return int(np.dot(genotype, _WEIGHTS))


def decode_genotype(code: int) -> tuple[int, ...]:
    """The 6 op ids of a base-5 code (:func:`encode_genotype`'s inverse)."""
    return tuple(int(code // w % NUM_OPS) for w in _WEIGHTS)


def parse_nb201(text: str) -> tuple[int, ...]:
    """Parse an official NB201 string into the 6 op ids; raise a one-line ArchError."""
    if not isinstance(text, str):
        raise ArchError(
            f"malformed nb201 architecture: a {type(text).__name__}, not a string; expected {FORM}"
        )
    s = text.strip()
    nodes = s.split("+")
    if len(nodes) != 3:
        raise ArchError(
            f"malformed nb201 architecture {shown(s)}: {len(nodes)} node groups, expected 3 "
            f"separated by '+', i.e. {FORM}"
        )
    genotype: list[int] = []
    for j, node in enumerate(nodes, start=1):
        if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
            raise ArchError(
                f"malformed nb201 architecture {shown(s)}: node {j} group {shown(node)} must be "
                f"enclosed in '|', i.e. {FORM}"
            )
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise ArchError(
                f"malformed nb201 architecture {shown(s)}: node {j} has {len(edges)} inputs, "
                f"expected {j}, i.e. {FORM}"
            )
        for i, edge in enumerate(edges):
            m = _EDGE_RE.fullmatch(edge)
            if m is None:
                raise ArchError(
                    f"malformed nb201 architecture {shown(s)}: edge {shown(edge)} is not "
                    f"'op~input', i.e. {FORM}"
                )
            op, src = m.group(1), int(m.group(2))
            if op not in _OP_ID:
                raise ArchError(
                    f"unknown operation {shown(op)} in nb201 architecture {shown(s)}; expected "
                    "one of " + ", ".join(CELL_OPS)
                )
            if src != i:
                raise ArchError(
                    f"malformed nb201 architecture {shown(s)}: edge {shown(edge)} of node {j} "
                    f"must read node {i} (inputs in order 0..{j - 1}), i.e. {FORM}"
                )
            genotype.append(_OP_ID[op])
    return tuple(genotype)


def format_nb201(genotype: tuple[int, ...]) -> str:
    parts, k = [], 0
    for j in range(1, 4):
        edges = []
        for i in range(j):
            edges.append(f"{CELL_OPS[genotype[k]]}~{i}")
            k += 1
        parts.append("|" + "|".join(edges) + "|")
    return "+".join(parts)


def cell_nodes(genotype: tuple[int, ...]) -> list[list[tuple[str, int]]]:
    """``nodes[j-1]`` = ``[(op name, source node), ...]`` for node j, as InferCell takes it."""
    nodes: list[list[tuple[str, int]]] = [[], [], []]
    for e, (dst, src) in enumerate(EDGES):
        nodes[dst - 1].append((CELL_OPS[genotype[e]], src))
    return nodes


def canonical_nb201(genotype: tuple[int, ...]) -> str:
    """Canonical key of a cell (see the module docstring for the rule).

    Each conv / pool edge with a non-zero input is an operation *instance* applied to the sum
    (multiset) of its source node's instances; ``skip_connect`` forwards the source's multiset
    and ``none`` drops it. The key is the output's expression tree, e.g.
    ``conv3(x)+pool(conv3(x))+x``. Expression trees alone would conflate one instance used
    twice with two instances of the same tree (different weights, different #params), so when
    two reachable instances have the same tree a suffix after ``#`` records which instance
    feeds which: the lexicographically smallest listing over tie-respecting labelings.
    """
    ops: list[str] = ["x"]
    inputs: list[tuple[int, ...]] = [()]
    node_sum: list[list[int]] = [[0]]
    for j in range(1, 4):
        acc: list[int] = []
        for e, (dst, src) in enumerate(EDGES):
            if dst != j:
                continue
            op, source = CELL_OPS[genotype[e]], node_sum[src]
            if op == "none" or not source:
                continue
            if op == "skip_connect":
                acc.extend(source)
            else:
                ops.append(_SHORT[op])
                inputs.append(tuple(sorted(source)))
                acc.append(len(ops) - 1)
        node_sum.append(acc)
    out = node_sum[3]
    if not out:
        return "0"

    trees: dict[int, str] = {}

    def tree(i: int) -> str:
        if i not in trees:
            trees[i] = (
                "x" if i == 0 else f"{ops[i]}({'+'.join(sorted(tree(k) for k in inputs[i]))})"
            )
        return trees[i]

    key = "+".join(sorted(tree(i) for i in out))
    reach, stack = set(), list(out)
    while stack:
        i = stack.pop()
        if i not in reach:
            reach.add(i)
            stack.extend(inputs[i])
    order = sorted(reach, key=tree)
    groups = [list(g) for _, g in itertools.groupby(order, key=tree)]
    if all(len(g) == 1 for g in groups):
        return key  # every subtree is one instance: the tree determines the DAG
    best = None
    for perm in itertools.product(*(itertools.permutations(g) for g in groups)):
        label = {inst: n for n, inst in enumerate(itertools.chain.from_iterable(perm))}
        listing = ";".join(
            ",".join(str(v) for v in sorted(label[k] for k in inputs[inst]))
            for inst in itertools.chain.from_iterable(perm)
        )
        listing += "|" + ",".join(str(v) for v in sorted(label[i] for i in out))
        best = listing if best is None or listing < best else best
    return f"{key}#{best}"


@functools.lru_cache(maxsize=4)
def official_order(csv_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(index -> code, code -> index) from the ``index``/``arch`` columns of the table."""
    import pandas as pd

    try:
        frame = pd.read_csv(csv_path, usecols=["index", "arch"])
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(
            f"corrupt NB201 table {csv_path}: cannot read columns 'index' and 'arch' "
            f"({str(exc).splitlines()[0]})"
        ) from None
    pairs = frame.drop_duplicates()
    if len(pairs) != SIZE or pairs["index"].nunique() != SIZE:
        raise DataError(
            f"corrupt NB201 table {csv_path}: expected {SIZE} distinct (index, arch) pairs, "
            f"one per index, found {len(pairs)}"
        )
    idx = pairs["index"].to_numpy()
    if idx.min() != 0 or idx.max() != SIZE - 1:
        raise DataError(f"corrupt NB201 table {csv_path}: indexes must cover 0..{SIZE - 1}")
    index_to_code = np.full(SIZE, -1, dtype=np.int64)
    cache: dict[str, int] = {}
    for i, s in zip(idx, pairs["arch"].to_numpy(), strict=True):
        code = cache.get(s)
        if code is None:
            try:
                code = cache[s] = encode_genotype(parse_nb201(s))
            except ArchError as exc:
                raise DataError(f"corrupt NB201 table {csv_path}: row {i}: {exc}") from None
        index_to_code[i] = code
    code_to_index = np.full(SIZE, -1, dtype=np.int64)
    code_to_index[index_to_code] = np.arange(SIZE)
    if (code_to_index < 0).any():
        raise DataError(f"corrupt NB201 table {csv_path}: some architectures appear twice")
    index_to_code.flags.writeable = False
    code_to_index.flags.writeable = False
    return index_to_code, code_to_index


class NB201Space(SearchSpace):
    exact_second_order = True  # conv, BN, ReLU, pooling: tested fused == unfused
    name = "nb201"
    description = "NAS-Bench-201 / NATS-Bench topology: 6 edges x 5 ops, C=16, N=5"
    example = EXAMPLE

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self._data_dir = data_dir
        self._order_for: tuple[object, str | None] | None = None
        self._order_cached: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return SIZE

    def __repr__(self) -> str:
        return "NB201Space()"

    # -- official order (needs the table) ---------------------------------------------------
    def _order(self) -> tuple[np.ndarray, np.ndarray]:
        # Resolving the table's path costs more than the lookup it serves (a whole-space
        # search indexes 15,625 architectures several times), so the order is kept per data
        # directory setting: the argument and $ZCBENCH_DATA, read again on every call.
        key = (self._data_dir, os.environ.get(ENV_VAR))
        if self._order_for != key or self._order_cached is None:
            path = data_file("nb201/ground_truth.csv", self._data_dir).resolve()
            self._order_cached, self._order_for = official_order(path), key
        return self._order_cached

    def index(self, arch: Arch) -> int:
        return int(self._order()[1][encode_genotype(self.validate(arch).genotype)])

    def from_index(self, index: int) -> Arch:
        i = self.check_index(index)
        return Arch(self.name, decode_genotype(int(self._order()[0][i])))

    def indices(self, archs: Sequence[Arch]) -> np.ndarray:
        codes = np.array(
            [encode_genotype(self.validate(a).genotype) for a in archs], dtype=np.int64
        )
        return self._order()[1][codes] if len(codes) else codes

    # -- strings ------------------------------------------------------------------------------
    def parse(self, text: str) -> Arch:
        return Arch(self.name, parse_nb201(text))

    def to_str(self, arch: Arch) -> str:
        return format_nb201(self.validate(arch).genotype)

    def validate(self, arch: Arch) -> Arch:
        self._check_space(arch)
        g = arch.genotype
        if len(g) != NUM_EDGES or not all(0 <= x < NUM_OPS for x in g):
            raise ArchError(
                f"invalid nb201 genotype {g}; expected {NUM_EDGES} op ids in 0..{NUM_OPS - 1}"
            )
        return arch

    # -- structure -------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        return Arch(self.name, tuple(int(x) for x in rng.integers(0, NUM_OPS, NUM_EDGES)))

    def neighbors(self, arch: Arch) -> list[Arch]:
        g = self.validate(arch).genotype
        out = []
        for e in range(NUM_EDGES):
            for op in range(NUM_OPS):
                if op != g[e]:
                    out.append(Arch(self.name, g[:e] + (op,) + g[e + 1 :]))
        return out

    def canonical(self, arch: Arch) -> str:
        return canonical_nb201(self.validate(arch).genotype)

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot of each edge's operation: 6 x 5 = 30 floats."""
        g = self.validate(arch).genotype
        x = np.zeros((NUM_EDGES, NUM_OPS), dtype=np.float32)
        x[np.arange(NUM_EDGES), g] = 1.0
        return x.reshape(-1)

    @property
    def encoding_size(self) -> int:
        return NUM_EDGES * NUM_OPS

    def build(self, arch: Arch, num_classes: int) -> nn.Module:
        return nb201_network(cell_nodes(self.validate(arch).genotype), num_classes)
