"""Ensembles: the vote, rank aggregations and the learned combination, on known data."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zcbench.analysis import ensembles
from zcbench.analysis.ensembles import learned, learned_split, log_rank, mean_rank, vote

DIRS = {"a": True, "b": True, "c": False}


def _frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    acc = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": acc + rng.normal(scale=0.8, size=n),
            "b": acc + rng.normal(scale=0.8, size=n),
            "c": -(acc + rng.normal(scale=0.8, size=n)),  # lower is better
        }
    )
    return frame, pd.Series(acc)


def test_vote_counts_pairwise_majority_wins():
    frame, _ = _frame(12)
    wins = vote(frame, DIRS, members=("a", "b", "c"))
    signed = frame.assign(c=-frame.c).to_numpy()
    expected = np.zeros(12)
    for i, j in itertools.permutations(range(12), 2):
        expected[i] += float((signed[i] > signed[j]).sum() >= 2)  # 3 members, no ties
    assert np.array_equal(wins.to_numpy(), expected)


def test_vote_blocks_agree_and_failures_abstain(monkeypatch):
    frame, _ = _frame(40)
    frame.loc[3, "a"] = np.nan  # a abstains on architecture 3: b and c decide (even split = 1/2)
    frame.loc[5, ["a", "b", "c"]] = np.nan
    full = vote(frame, DIRS, members=("a", "b", "c"))
    assert np.isnan(full[5]) and np.isfinite(full[3])
    monkeypatch.setattr(ensembles, "BLOCK_CELLS", 7 * 40)  # 7 rows per block
    assert full.equals(vote(frame, DIRS, members=("a", "b", "c")))


def test_rank_aggregations_and_learned_beat_members_on_noisy_proxies():
    frame, acc = _frame(400, seed=1)
    rho = {m: abs(stats.spearmanr(frame[m], acc).statistic) for m in frame}
    members = ("a", "b", "c")
    for agg in (mean_rank(frame, DIRS, members), log_rank(frame, DIRS, members)):
        assert stats.spearmanr(agg, acc).statistic > max(rho.values())
    train, held_out = learned_split(frame.index, 50, seed=0)
    assert len(train) == 50 and len(held_out) == 350 and not set(train) & set(held_out)
    pred = learned(frame, DIRS, members, acc, train)
    assert stats.spearmanr(pred[held_out], acc[held_out]).statistic > max(rho.values())


def test_learned_never_reads_held_out_labels():
    frame, acc = _frame(100)
    train, held_out = learned_split(frame.index, 30)
    a = learned(frame, DIRS, ("a", "b", "c"), acc, train)
    scrambled = acc.copy()
    scrambled[held_out] = np.random.default_rng(9).permutation(acc[held_out].to_numpy())
    b = learned(frame, DIRS, ("a", "b", "c"), scrambled, train)
    assert np.array_equal(a.to_numpy(), b.to_numpy())


def test_unknown_member_and_bad_split():
    frame, _ = _frame(10)
    with pytest.raises(KeyError, match="not scored: zz"):
        mean_rank(frame, DIRS, ("a", "zz"))
    with pytest.raises(ValueError, match="n_train"):
        learned_split(frame.index, 10)
