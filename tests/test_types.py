import pytest
from hypothesis import given
from hypothesis import strategies as st

from zcbench.errors import ArchError
from zcbench.types import Arch

spaces = st.sampled_from(["nb201", "nats-sss", "x1"])
genotypes = st.lists(st.integers(0, 10_000), min_size=1, max_size=8).map(tuple)


@given(spaces, genotypes)
def test_key_round_trip(space, genotype):
    arch = Arch(space, genotype)
    assert Arch.from_key(arch.key) == arch
    assert str(arch) == arch.key


def test_genotype_is_normalised_to_a_hashable_tuple():
    arch = Arch("nb201", [3, 3, 0, 1, 4, 2])
    assert arch.genotype == (3, 3, 0, 1, 4, 2)
    assert hash(arch) == hash(Arch("nb201", (3, 3, 0, 1, 4, 2)))


@pytest.mark.parametrize("bad", ["", "nb201", "nb201:", "nb201:1--2", ":1-2", "NB201:1", 42])
def test_malformed_key(bad):
    with pytest.raises(ArchError, match="malformed architecture key"):
        Arch.from_key(bad)
