"""The SearchSpace contract, over every registered space (built-in, the example plug-in and a
user-written one), and how user spaces are registered and named."""

from __future__ import annotations

import math

import numpy as np
import pytest
import space_fixtures as fx

from zcbench.errors import ZCBenchError
from zcbench.spaces import (
    get_space,
    list_spaces,
    register_space,
    space_class,
    space_ref,
    unregister_space,
)
from zcbench.types import Arch


@pytest.fixture(scope="module", autouse=True)
def chain_space():
    register_space(fx.ChainSpace)
    yield
    unregister_space(fx.ChainSpace.name)


def _spaces() -> list[str]:
    return ["nb201", "nats-sss", "resnet-macro", "test-chain"]


def test_the_example_space_is_found_through_its_entry_point():
    assert "resnet-macro" in list_spaces()  # pyproject's zcbench.spaces entry point
    assert get_space("zcbench.examples.resnet_space:ResNetMacroSpace").name == "resnet-macro"


@pytest.mark.data
@pytest.mark.parametrize("name", _spaces())
def test_round_trips_mutation_and_encoding(name):
    space = get_space(name)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(40)]
    size = space.encoding_size
    for arch in archs:
        assert space.validate(arch) is arch
        text = space.to_str(arch)
        assert space.parse(text) == arch and space.to_str(space.parse(text)) == text
        assert Arch.from_key(arch.key) == arch
        index = space.index(arch)
        assert isinstance(index, int) and 0 <= index < 2**63
        if space.enumerable:
            assert space.from_index(index) == arch and index < len(space)
        assert isinstance(space.canonical(arch), str)
        code = np.asarray(space.encode(arch))
        assert code.shape == (size,) and np.isfinite(code).all()
        neighbours = space.neighbors(arch)
        assert neighbours and arch not in neighbours
        assert len(set(neighbours)) == len(neighbours)
        for other in [*neighbours, space.mutate(arch, rng)]:
            assert space.validate(other) == other and other != arch


@pytest.mark.data
@pytest.mark.parametrize("name", _spaces())
def test_every_proxy_handles_what_build_gives(name):
    from zcbench.engine.modelscore import score_model
    from zcbench.tables.data import minibatch

    space = get_space(name)
    arch = space.sample(np.random.default_rng(1))
    batch = minibatch("cifar10", batch_size=16, seed=0)
    scores = score_model(lambda: space.build(arch, 10), batch, arch=arch)
    for r in scores.results:
        if r.status == "skipped":
            assert r.error, r  # a documented skip gives its reason
        else:
            assert r.status == "ok" and math.isfinite(r.value), (name, r)


def test_a_space_missing_part_of_the_contract_is_one_line():
    with pytest.raises(ZCBenchError) as info:
        register_space(fx.Incomplete)
    text = str(info.value)
    assert "missing part of the SearchSpace contract: encode, build, __len__, index" in text
    assert "enumerable = False" in text and "\n" not in text
    with pytest.raises(ZCBenchError, match="name of lower-case letters"):
        register_space(fx.BadName)
    with pytest.raises(ZCBenchError, match="missing part of the SearchSpace contract"):
        get_space("space_fixtures:Incomplete")
    with pytest.raises(ZCBenchError, match="not a subclass of zcbench.spaces.SearchSpace"):
        get_space("space_fixtures:WIDTHS")


def test_naming_a_space_by_path_registry_and_errors():
    assert space_class("space_fixtures:ChainSpace") is fx.ChainSpace
    assert space_ref(get_space("test-chain")) == "space_fixtures:ChainSpace"
    assert space_ref(get_space("nb201")) == "nb201"
    for bad, message in [
        ("no_such_module.spaces:S", "cannot import search space 'no_such_module.spaces:S'"),
        ("space_fixtures:Nope", "space_fixtures has no 'Nope'"),
        ("my space", "unknown search space 'my space'"),
    ]:
        with pytest.raises(ZCBenchError, match=message):
            get_space(bad)

    class Local(fx.ChainSpace):
        name = "test-local"

    register_space(Local)
    try:
        with pytest.raises(ZCBenchError, match="worker processes need it in an importable"):
            space_ref(get_space("test-local"))
        with pytest.raises(ValueError, match="already registered"):

            @register_space
            class Again(fx.ChainSpace):
                name = "test-local"

    finally:
        unregister_space("test-local")


def test_a_space_that_is_not_enumerable():
    from zcbench.tables.selection import parse_selection, sample_indices

    space = get_space("test-chain")
    archs = sample_indices(space, 5, seed=3)
    assert len(set(archs)) == 5 and sample_indices(space, 5, seed=3) == archs
    assert parse_selection(space, "4-8,8") == [space.parse("4-8"), space.parse("8")]
    with pytest.raises(ZCBenchError, match="widths are 4 or 8"):
        parse_selection(space, "12")  # a string of the space, not an index
    with pytest.raises(ZCBenchError, match="not enumerable"):
        space.from_index(12)
    with pytest.raises(ZCBenchError, match="not enumerable"):
        len(space)
