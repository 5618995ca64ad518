import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from zcbench.errors import ArchError
from zcbench.models.cells import CELL_OPS, InferCell
from zcbench.spaces.nb201 import EDGES, canonical_nb201, cell_nodes, format_nb201
from zcbench.types import Arch

genotypes = st.tuples(*[st.integers(0, 4)] * 6)
ALL = list(itertools.product(range(5), repeat=6))


@given(genotypes)
def test_string_round_trip(nb201, g):
    arch = Arch("nb201", g)
    text = nb201.to_str(arch)
    assert nb201.parse(text) == arch
    assert nb201.parse(f"  {text}\n") == arch
    assert Arch.from_key(arch.key) == arch


@pytest.mark.data
@given(genotypes)
def test_index_round_trip_property(nb201, g):
    arch = Arch("nb201", g)
    i = nb201.index(arch)
    assert 0 <= i < 15_625
    assert nb201.from_index(i) == arch


@pytest.mark.data
def test_every_index_matches_the_table(nb201, table):
    archs = table.for_dataset("cifar10")["arch"]
    assert len(archs) == 15_625
    for i, text in archs.items():
        arch = nb201.from_index(i)
        assert nb201.to_str(arch) == text
        assert nb201.index(nb201.parse(text)) == i
        assert Arch.from_key(arch.key) == arch
    assert sorted(nb201.index(a) for a in nb201) == list(range(15_625))


@pytest.mark.data
def test_known_indexes(nb201):
    assert nb201.to_str(nb201.from_index(1651)) == format_nb201((0,) * 6)  # all-none cell
    assert nb201.from_index(1462).genotype == (3,) * 6  # all nor_conv_3x3
    assert nb201.index(nb201.parse(nb201.example)) == 9930


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "3 separated by"),
        ("|none~0|+|none~0|none~1|", "2 node groups"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|", "node 3 has 2 inputs"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "enclosed in '|'"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must read node 0"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "not 'op~input'"),
        ("|none~0|+|none~0|none~1|+|none~0|none~2|none~1|", "must read node 1"),
        ("|max_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation"),
    ],
)
def test_malformed_strings(nb201, text, match):
    with pytest.raises(ArchError, match=match) as err:
        nb201.parse(text)
    assert "\n" not in str(err.value)


def test_invalid_genotypes_and_spaces(nb201):
    for bad in [
        Arch("nb201", (0,) * 5),
        Arch("nb201", (5, 0, 0, 0, 0, 0)),
        Arch("nats-sss", (8,) * 5),
    ]:
        with pytest.raises(ArchError):
            nb201.to_str(bad)
    for bad in (-1, 15_625, 1.5, "x"):
        with pytest.raises(ArchError, match="nb201 index"):
            nb201.check_index(bad)


@given(genotypes, st.integers(0, 2**32 - 1))
def test_neighbors_and_mutate(nb201, g, seed):
    arch = Arch("nb201", g)
    nbrs = nb201.neighbors(arch)
    assert len(nbrs) == 24 == len(set(nbrs))
    for n in nbrs:
        assert sum(a != b for a, b in zip(n.genotype, g)) == 1
    rng = np.random.default_rng(seed)
    assert nb201.mutate(arch, rng) in nbrs
    s = nb201.sample(rng)
    assert nb201.validate(s) is s


def test_sampling_is_seeded_and_uniform(nb201):
    a = [nb201.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(0)
    ops = np.array([nb201.sample(rng).genotype for _ in range(5000)])
    counts = np.stack([(ops == k).mean(0) for k in range(5)])
    assert np.abs(counts - 0.2).max() < 0.03


def test_encoding(nb201):
    enc = np.stack([nb201.encode(Arch("nb201", g)) for g in ALL])
    assert enc.shape == (15_625, nb201.encoding_size) == (15_625, 30)
    assert enc.dtype == np.float32
    assert (enc.sum(1) == 6).all()
    assert len(np.unique(enc, axis=0)) == 15_625


# -- canonical keys ------------------------------------------------------------------------
_F = {  # deterministic stand-ins for each op, with f(0) = 0 as the rule assumes
    "nor_conv_1x1": lambda v: np.tanh(1.7 * v) + 0.31 * v**2,
    "nor_conv_3x3": lambda v: np.sin(2.3 * v) + 0.11 * v**3,
    "avg_pool_3x3": lambda v: 0.53 * v + 0.23 * v**2,
}


def _scalar_cell(g, x):
    nodes = [x]
    for j in range(1, 4):
        acc = np.zeros_like(x)
        for e, (dst, src) in enumerate(EDGES):
            if dst == j:
                op = CELL_OPS[g[e]]
                if op == "skip_connect":
                    acc = acc + nodes[src]
                elif op != "none":
                    acc = acc + _F[op](nodes[src])
        nodes.append(acc)
    return nodes[3]


def test_canonical_count_is_pinned():
    keys = {canonical_nb201(g) for g in ALL}
    assert len(keys) == 5_425
    assert canonical_nb201((0,) * 6) == "0"


def test_canonical_tree_is_the_computed_function():
    """Same expression tree <=> same function of the cell under per-op stand-in functions."""
    x = np.random.default_rng(0).normal(size=7)
    value_of_tree: dict[str, tuple] = {}
    for g in ALL:
        tree = canonical_nb201(g).split("#")[0]
        value = tuple(np.round(_scalar_cell(g, x), 9))
        assert value_of_tree.setdefault(tree, value) == value
    assert len(set(value_of_tree.values())) == len(value_of_tree)


def _live_conv_params(g, x):
    cell = InferCell(cell_nodes(g), 4, 4)
    out = cell(x)
    if not out.requires_grad:
        return 0
    out.square().sum().backward()
    return sum(
        p.numel()
        for p in cell.parameters()
        if p.dim() == 4 and p.grad is not None and bool(p.grad.any())
    )


def _check_live_params(genotypes_):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 6)
    seen: dict[str, int] = {}
    for g in genotypes_:
        live = _live_conv_params(g, x)
        assert seen.setdefault(canonical_nb201(g), live) == live, format_nb201(g)


def test_canonical_classes_share_live_parameters_sample():
    """150 random classes with several members, up to 8 members each (the slow test does all)."""
    by_key: dict[str, list] = {}
    for g in ALL:
        by_key.setdefault(canonical_nb201(g), []).append(g)
    multi = sorted(k for k, v in by_key.items() if len(v) > 1)
    rng = np.random.default_rng(1)
    picks = []
    for k in rng.choice(multi, 150, replace=False):
        members = by_key[str(k)]
        picks += [members[i] for i in rng.choice(len(members), min(8, len(members)), replace=False)]
    _check_live_params(picks)


@pytest.mark.slow
def test_canonical_classes_share_live_parameters_all():
    _check_live_params(ALL)


def test_canonical_distinguishes_weight_sharing(nb201):
    shared = nb201.parse(
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    )
    separate = nb201.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    )
    a, b = nb201.canonical(shared), nb201.canonical(separate)
    assert a.split("#")[0] == b.split("#")[0] == "conv3(conv3(x))+pool(conv3(x))"
    assert a != b


def test_canonical_merges_known_equivalences(nb201):
    # skip_connect forwards a whole sum (NB201's to_unique_str keeps these apart)
    a = nb201.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    )
    b = nb201.parse(
        "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|"
    )
    assert nb201.canonical(a) == nb201.canonical(b)
    # an op on a zero node is zero; a node that does not reach the output does not matter
    c = nb201.parse(
        "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    )
    d = nb201.parse(
        "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    )
    assert nb201.canonical(c) == nb201.canonical(d) == "x+x"
    e = nb201.parse(
        "|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
    )
    assert nb201.canonical(e) == "x"
