"""The store-backed proxy source searchers read zero-cost scores through."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zcbench.engine.scoring import ProxyResult
from zcbench.engine.store import ResultStore
from zcbench.search.proxy_source import StoreProxySource, combined, top_k_with_ties

pytestmark = pytest.mark.data


def test_scores_are_computed_once_then_read_from_the_store(tmp_path, nb201):
    archs = [nb201.from_index(i) for i in (5, 77, 1462, 5)]
    with ResultStore(tmp_path / "s.db") as store:
        first = StoreProxySource(store, nb201, "cifar10", "params,flops", progress=False)
        values = first.scores(archs)
        assert values.shape == (4, 2) and np.isfinite(values).all()
        assert first.scored == 3  # the repeated architecture is scored once
        assert (values[0] == values[3]).all()
        assert len(store) == 6
    with ResultStore(tmp_path / "s.db") as store:
        again = StoreProxySource(store, nb201, "cifar10", ["params", "flops"], progress=False)
        np.testing.assert_array_equal(again.scores(archs), values)
        assert again.scored == 0
        # a stored failure is an answer (NaN), not a reason to rescore
        store.write(
            [ProxyResult("flops", nb201.from_index(9), None, 0.1, "error", "boom")],
            space="nb201", arch_index=9, arch=nb201.to_str(nb201.from_index(9)),
            dataset="cifar10", seed=0, batch_size=64, sampling="random",
            versions={"flops": again.specs[1].version}, dtype="float32", device="cpu",
            fused=True, packages={},
        )  # fmt: skip
        row = again.scores([nb201.from_index(9)])[0]
        assert np.isfinite(row[0]) and np.isnan(row[1]) and again.scored == 1  # params only
        assert again.label == "params+flops"


def test_combined_single_and_ensemble():
    single = combined(np.array([[0.3], [np.nan], [2.0]]))
    assert single[1] == -np.inf and single.argmax() == 2
    scores = np.array([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0], [np.nan, 40.0]])
    out = combined(scores)
    # member ranks (1 = worst, NaN worst): col0 [2,3,4,1], col1 [1,3,2,4] -> mean / n
    np.testing.assert_allclose(out, np.array([1.5, 3.0, 3.0, 2.5]) / 4)


@given(st.lists(st.integers(-1000, 1000), min_size=2, max_size=30, unique=True))
def test_combined_ensemble_is_rank_based(values):
    x = np.array(values, dtype=np.float64)
    scores = np.stack([x, -x[::-1]], axis=1)
    transformed = np.stack([x**3 + 5 * x, np.exp(-x[::-1] / 100)], axis=1)  # monotone
    np.testing.assert_allclose(combined(scores), combined(transformed))


def test_top_k_with_ties_keeps_the_ties_ranks_nan_last_and_fills_from_first():
    values = np.array([5.0, np.nan, 3.0, 3.0, 7.0, 1.0])
    assert top_k_with_ties(values, 2).tolist() == [True, False, False, False, True, False]
    # the 3rd-largest (3.0) is tied: both are kept, so 4 survive k=3
    assert top_k_with_ties(values, 3).tolist() == [True, False, True, True, True, False]
    assert top_k_with_ties(values, 6).all() and top_k_with_ties(values, 99).all()
    # NaN ranks below every number: k=6 of 6 keeps it, k=5 does not
    assert not top_k_with_ties(values, 5)[1]
    first = np.array([False, False, True, False, False, True])  # e.g. the feasible ones
    # the two `first` entries fill the top 2 whatever their values
    assert top_k_with_ties(values, 2, first=first).tolist() == [
        False, False, True, False, False, True]  # fmt: skip
    # k=3: both `first` entries, then the best of the rest (7.0)
    assert top_k_with_ties(values, 3, first=first).tolist() == [
        False, False, True, False, True, True]  # fmt: skip
    with pytest.raises(ValueError, match="at least 1"):
        top_k_with_ties(values, 0)


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=40), st.integers(1, 45))
def test_top_k_with_ties_never_depends_on_the_order(values, k):
    x = np.array(values)
    kept = top_k_with_ties(x, k)
    order = np.random.default_rng(len(values)).permutation(len(x))
    assert kept.sum() >= min(k, len(x))
    np.testing.assert_array_equal(top_k_with_ties(x[order], k), kept[order])
    if not kept.all():  # everything kept beats everything dropped
        assert x[kept].min() > x[~kept].max()


def test_vkdnw_single_is_derived_from_the_stored_pair_as_the_ensemble_ranks_it(tmp_path, nb201):
    import pandas as pd

    from zcbench.analysis.ensembles import vkdnw_single

    dims, values = [10.0, 20.0, 20.0, 5.0, 20.0], [2.0, 0.1, 0.2, 1.9, 2.19]
    archs = [nb201.from_index(i) for i in range(5)]
    with ResultStore(tmp_path / "s.db") as store:
        source = StoreProxySource(store, nb201, "cifar10", "vkdnw_single,params", progress=False)
        assert [s.name for s in source.specs] == ["vkdnw_dim", "vkdnw", "params"]
        versions = {s.name: s.version for s in source.specs}
        for arch, dim, value in zip(archs, dims, values, strict=True):
            store.write(
                [ProxyResult("vkdnw_dim", arch, dim, 0.0), ProxyResult("vkdnw", arch, value, 0.0)],
                space="nb201", arch_index=nb201.index(arch), arch=nb201.to_str(arch),
                dataset="cifar10", seed=0, batch_size=64, sampling="random", versions=versions,
                dtype="float32", device="cpu", fused=True, packages={},
            )  # fmt: skip
        got = source.scores(archs)  # params is scored; the pair is read
        assert got.shape == (5, 2) and source.label == "vkdnw_single+params"
    expected = vkdnw_single(pd.DataFrame({"vkdnw_dim": dims, "vkdnw": values}))
    assert list(np.argsort(got[:, 0])) == list(np.argsort(expected.to_numpy()))


def test_derived_members_are_one_table_read_by_search_and_analysis():
    from zcbench.analysis.ensembles import rule_needs
    from zcbench.errors import UnknownNameError
    from zcbench.proxies import DERIVED, get_proxy, member_inputs, register_derived

    for member in DERIVED.values():  # every input is a registered proxy
        assert all(get_proxy(q).name == q for q in member.needs)
    assert member_inputs(["flops", "vkdnw_single", "vkdnw", "flops"]) == (
        "flops", "vkdnw_dim", "vkdnw",
    )  # fmt: skip
    assert rule_needs(["vkdnw_single", "jacob_cov"]) == ("vkdnw_dim", "vkdnw", "jacob_cov")
    with pytest.raises(ValueError, match="registered proxy"):
        register_derived("synflow", ("params",), lambda p: p)
    with pytest.raises(UnknownNameError, match="unregistered"):
        register_derived("my_member", ("no_such_proxy",), lambda p: p)
    assert "my_member" not in DERIVED
