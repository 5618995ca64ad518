"""Correlation code: against scipy on random data, and by properties."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from zcbench.analysis.correlate import (
    bootstrap_spearman,
    correlation_row,
    correlation_table,
    kendall,
    partial_spearman,
    pearson,
    proxy_matrix,
    spearman,
    topk_overlap,
    wide_scores,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=300)
Y = 0.6 * X + RNG.normal(size=300)


def test_matches_scipy_on_random_data():
    xt = np.round(X, 1)  # with ties
    assert spearman(xt, Y) == pytest.approx(stats.spearmanr(xt, Y).statistic, abs=1e-12)
    assert kendall(xt, Y) == pytest.approx(stats.kendalltau(xt, Y).statistic, abs=1e-12)
    assert pearson(X, Y) == pytest.approx(stats.pearsonr(X, Y).statistic, abs=1e-12)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(finite, finite), min_size=5, max_size=60))
def test_monotone_transforms_keep_rank_correlations_and_negation_flips_them(pairs):
    x, y = (np.array(v) for v in zip(*pairs))
    rho, tau = spearman(x, y), kendall(x, y)
    if math.isnan(rho):
        return
    for transform in (np.arctan, lambda v: v**3 + 7, lambda v: np.exp(v / 1e6)):
        tx = transform(x)
        if np.unique(tx).size != np.unique(x).size:
            continue  # rounding merged two values: not strictly monotone in floating point
        assert spearman(tx, y) == pytest.approx(rho, abs=1e-9)
        assert kendall(tx, y) == pytest.approx(tau, abs=1e-9)
    assert spearman(-x, y) == pytest.approx(-rho, abs=1e-12)
    assert kendall(x, -y) == pytest.approx(-tau, abs=1e-12)


def test_direction_signs_the_row_and_failures_are_counted():
    score = np.where(np.arange(300) % 50 == 0, np.nan, -X)  # lower is better, 6 failures
    row = correlation_row(score, Y, higher_is_better=False, n_boot=200)
    assert row["n"] == 294 and row["n_failed"] == 6
    keep = np.isfinite(score)
    assert row["spearman"] == pytest.approx(stats.spearmanr(X[keep], Y[keep]).statistic)
    assert row["spearman_lo"] < row["spearman"] < row["spearman_hi"]


def test_bootstrap_is_seeded_and_shrinks_with_n():
    a = bootstrap_spearman(X, Y, n_boot=300, seed=1)
    assert a == bootstrap_spearman(X, Y, n_boot=300, seed=1)
    big_x = RNG.normal(size=3000)
    big_y = 0.6 * big_x + RNG.normal(size=3000)
    lo, hi = bootstrap_spearman(big_x, big_y, n_boot=300)
    assert hi - lo < (a[1] - a[0]) / 2
    true_rho = stats.spearmanr(big_x, big_y).statistic
    assert lo < true_rho < hi


def test_topk_on_a_known_ranking():
    y = np.arange(100.0)  # architecture i has accuracy i
    x = y.copy()
    x[[99, 98]] = [0.5, 0.25]  # the two best are ranked at the bottom by the proxy
    precision, recall = topk_overlap(x, y, 5)  # top 5: {95..99} vs proxy's {93..97}
    assert precision == recall == pytest.approx(3 / 5)
    ties = np.where(y >= 90, 1.0, 0.0)  # proxy ties its top 10 together
    precision, recall = topk_overlap(ties, y, 1)
    assert (precision, recall) == (pytest.approx(1 / 10), 1.0)


def test_partial_spearman_is_the_residual_correlation_of_ranks():
    z = RNG.normal(size=300)
    x, y = X + z, Y + 2 * z
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))

    def residual(a):
        slope, intercept = np.polyfit(rz, a, 1)
        return a - (slope * rz + intercept)

    expected = stats.pearsonr(residual(rx), residual(ry)).statistic
    assert partial_spearman(x, y, z) == pytest.approx(expected, abs=1e-9)
    assert abs(partial_spearman(z, y, z)) < 1e-9 or math.isnan(partial_spearman(z, y, z))


def test_proxy_matrix_is_signed_by_direction():
    frame = pd.DataFrame({"a": X, "b": -X, "c": Y})
    m = proxy_matrix(frame, {"b": False})
    assert m.loc["a", "b"] == pytest.approx(1.0)
    assert m.loc["a", "c"] == pytest.approx(spearman(X, Y))


def test_wide_scores_reads_the_newest_version_of_a_proxy():
    long = pd.DataFrame(
        {
            "arch_index": [0, 1, 0, 1, 0],
            "proxy": ["a", "a", "a", "a", "b"],
            "proxy_version": [1, 1, 2, 2, 1],
            "value": [1.0, 2.0, 10.0, 20.0, 5.0],
            "status": ["ok"] * 5,
        }
    )
    wide = wide_scores(long)
    assert wide["a"].tolist() == [10.0, 20.0] and wide.loc[0, "b"] == 5.0
    assert wide_scores(long.iloc[::-1])["a"].tolist() == [10.0, 20.0]  # whatever the order
    from zcbench.analysis.correlate import newest_versions

    assert len(newest_versions(long)) == 3  # a's version-1 rows are dropped, b's kept


def test_wide_scores_and_table_rows():
    long = pd.DataFrame(
        {
            "arch_index": [0, 1, 2, 3, 0, 1, 2, 3],
            "proxy": ["a"] * 4 + ["b"] * 4,
            "value": [1.0, 2.0, 3.0, 4.0, 4.0, None, 2.0, 1.0],
            "status": ["ok"] * 5 + ["nan", "ok", "error"],
        }
    )
    wide = wide_scores(long)
    assert wide.loc[1, "b"] != wide.loc[1, "b"] and wide.loc[3, "b"] != wide.loc[3, "b"]
    truth = pd.DataFrame({"acc": [10.0, 20.0, 30.0, 40.0]}, index=[0, 1, 2, 3])
    table = correlation_table(
        wide, truth, directions={"b": False}, n_boot=50, dataset="cifar10", subset="all"
    )
    assert list(table.columns[:4]) == ["dataset", "subset", "target", "proxy"]
    a, b = table.set_index("proxy").loc["a"], table.set_index("proxy").loc["b"]
    assert a.spearman == pytest.approx(1.0) and a.n == 4 and a.n_failed == 0
    assert b.n == 2 and b.n_failed == 2  # the error row is a failure, never a 0


def test_paired_spearman_difference():
    from zcbench.analysis.correlate import paired_spearman_difference, spearman

    rng = np.random.default_rng(5)
    y = rng.normal(size=300)
    good, bad = y + rng.normal(scale=0.3, size=300), y + rng.normal(scale=2.0, size=300)
    diff, lo, hi = paired_spearman_difference(good, bad, y, n_boot=300)
    assert diff == pytest.approx(spearman(good, y) - spearman(bad, y))
    assert 0 < lo < diff < hi
    back = paired_spearman_difference(bad, good, y, n_boot=300)
    assert back[0] == pytest.approx(-diff) and back[2] == pytest.approx(-lo)
    same = paired_spearman_difference(good, good, y, n_boot=50)
    assert same == (0.0, 0.0, 0.0)
    good[:5] = np.nan  # rows where any of the three is missing are dropped from both
    assert np.isfinite(paired_spearman_difference(good, bad, y, n_boot=50)).all()
