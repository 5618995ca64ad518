import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zcbench.errors import ArchError
from zcbench.spaces.nats_sss import CANDIDATES
from zcbench.types import Arch

widths = st.tuples(*[st.sampled_from(CANDIDATES)] * 5)


def _traverse(candidates, n):
    """The authors' enumeration order (exps/NATS-Bench/main-sss.py), re-derived."""
    nets = [""]
    for _ in range(n):
        nets = [f"{net}:{c}" if net else str(c) for net in nets for c in candidates]
    return nets


def test_index_order_is_the_official_one(sss):
    official = _traverse(CANDIDATES, 5)
    assert len(sss) == len(official) == 32_768
    for i in list(range(0, 32_768, 97)) + [0, 1, 8, 32_767]:
        assert sss.to_str(sss.from_index(i)) == official[i]
        assert sss.index(sss.parse(official[i])) == i
    assert sss.to_str(sss.from_index(32_767)) == "64:64:64:64:64"


def test_every_index_round_trips(sss):
    for i, arch in enumerate(sss):
        assert sss.index(arch) == i
        assert sss.parse(sss.to_str(arch)) == arch
        assert Arch.from_key(arch.key) == arch


@given(widths, st.integers(0, 2**32 - 1))
def test_neighbors_mutate_sample(sss, w, seed):
    arch = Arch("nats-sss", w)
    nbrs = sss.neighbors(arch)
    assert len(nbrs) == 35 == len(set(nbrs))
    assert all(sum(a != b for a, b in zip(n.genotype, w)) == 1 for n in nbrs)
    rng = np.random.default_rng(seed)
    assert sss.mutate(arch, rng) in nbrs
    assert sss.validate(sss.sample(rng))
    assert sss.canonical(arch) == sss.to_str(arch)


def test_encoding_is_one_hot(sss):
    enc = np.stack(
        [sss.encode(Arch("nats-sss", w)) for w in itertools.product(CANDIDATES, repeat=2 + 3)][:500]
    )
    assert enc.shape == (500, sss.encoding_size) == (500, 40)
    assert (enc.sum(1) == 5).all()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("8:16:32:48", "malformed"),
        ("8:16:32:48:64:8", "malformed"),
        ("8:16:x:48:64", "malformed"),
        ("8:16:33:48:64", "invalid width 33"),
        ("", "malformed"),
        ("8,16,32,48,64", "malformed"),
    ],
)
def test_malformed_strings(sss, text, match):
    with pytest.raises(ArchError, match=match):
        sss.parse(text)


def test_out_of_range_index(sss):
    with pytest.raises(ArchError, match="out of range; expected 0..32767"):
        sss.from_index(32_768)
