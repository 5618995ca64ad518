"""Combining proxies: majority vote, rank aggregation, and a learned combination.

All take a wide frame (architecture x proxy, NaN = failed) and the proxies' directions, and
return one score per architecture (higher = better), so an ensemble is reported exactly like
a single proxy. Failures: a member's NaN is left out of that architecture's vote / ranks; an
architecture with no valid member gets NaN.

* ``vote``: Abdelfattah et al. (ICLR'21) decide each pair of architectures by the majority of
  synflow, jacob_cov and snip and report the fraction of correctly ordered pairs. To rank with
  it we give each architecture its number of pairwise majority wins (a Copeland count; ties
  and even splits count 1/2), which orders every pair the majority orders unanimously.
* ``mean_rank``: the mean over members of each member's rank, normalised to (0, 1].
* ``log_rank``: AZ-NAS (Lee & Ham, CVPR'24) aggregation, sum over members of log(rank / n)
  with rank 1 for the worst: a poor rank on any member is penalised heavily. Applied here to
  our members, not to AZ-NAS's own four proxies (not implemented).
* ``learned``: ridge regression from the members' normalised ranks to the accuracy rank,
  fitted on ``n_train`` labelled architectures and scored on all; correlations must then be
  read on the held-out architectures only (:func:`learned_split` returns both sets).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from zcbench.correlate import signed_scores

#: pairwise comparisons held in memory at once by :func:`vote`
BLOCK_CELLS = 4_000_000
#: Abdelfattah et al.'s voting members
VOTE_MEMBERS: tuple[str, ...] = ("synflow", "jacob_cov", "snip")


def _signed(scores: pd.DataFrame, members: Sequence[str], directions: dict[str, bool]):
    missing = [m for m in members if m not in scores.columns]
    if missing:
        raise KeyError(f"ensemble members not scored: {', '.join(missing)}")
    return signed_scores(scores, directions, members)


def normalised_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Per column, average ranks over the valid values divided by their count: (0, 1], 1 =
    best; NaN stays NaN."""
    return scores.rank(method="average", na_option="keep", pct=True)


def vote(
    scores: pd.DataFrame,
    directions: dict[str, bool],
    members: Sequence[str] = VOTE_MEMBERS,
) -> pd.Series:
    """Pairwise majority wins (Copeland count) of each architecture (in row blocks, so the
    whole NB201 space fits in memory)."""
    signed = _signed(scores, members, directions).to_numpy()
    n = len(signed)
    copeland = np.zeros(n)
    block = max(1, BLOCK_CELLS // max(n, 1))
    for lo in range(0, n, block):
        rows = signed[lo : lo + block]
        wins = np.zeros((len(rows), n))
        votes = np.zeros((len(rows), n))
        for k in range(signed.shape[1]):
            a, b = rows[:, k][:, None], signed[:, k][None, :]
            valid = np.isfinite(a) & np.isfinite(b)
            with np.errstate(invalid="ignore"):
                wins += np.where(valid, (a > b) + 0.5 * (a == b), 0.0)
            votes += valid
        with np.errstate(invalid="ignore", divide="ignore"):
            share = wins / votes  # fraction of the members with an opinion preferring row i
        points = np.where(share > 0.5, 1.0, np.where(share == 0.5, 0.5, 0.0))
        points[votes == 0] = 0.0
        points[np.arange(len(rows)), np.arange(lo, lo + len(rows))] = 0.0  # not against itself
        copeland[lo : lo + len(rows)] = points.sum(axis=1)
    copeland[~np.isfinite(signed).any(axis=1)] = np.nan
    return pd.Series(copeland, index=scores.index, name="vote")


def mean_rank(
    scores: pd.DataFrame, directions: dict[str, bool], members: Sequence[str]
) -> pd.Series:
    ranks = normalised_ranks(_signed(scores, members, directions))
    return ranks.mean(axis=1, skipna=True).rename("mean_rank")


def log_rank(
    scores: pd.DataFrame, directions: dict[str, bool], members: Sequence[str]
) -> pd.Series:
    ranks = normalised_ranks(_signed(scores, members, directions))
    out = np.log(ranks).sum(axis=1, min_count=1)
    return out.rename("log_rank")


def learned_split(index: pd.Index, n_train: int, seed: int = 0) -> tuple[pd.Index, pd.Index]:
    """(train, held-out) architectures: ``n_train`` drawn at random with ``seed``."""
    if not 0 < n_train < len(index):
        raise ValueError(f"n_train must be between 1 and {len(index) - 1}; got {n_train}")
    rng = np.random.default_rng(seed)
    pick = np.zeros(len(index), dtype=bool)
    pick[rng.choice(len(index), size=n_train, replace=False)] = True
    return index[pick], index[~pick]


def learned(
    scores: pd.DataFrame,
    directions: dict[str, bool],
    members: Sequence[str],
    target: pd.Series,
    train: pd.Index,
    alpha: float = 1.0,
) -> pd.Series:
    """Ridge combination of the members' normalised ranks (a failed member counts as the
    median rank, 0.5), fitted on the accuracy ranks of ``train`` only; scores every
    architecture. Read its correlations on the architectures outside ``train``."""
    signed = _signed(scores, members, directions)
    features = normalised_ranks(signed).fillna(0.5)
    y_train = target.reindex(train)
    fit_on = y_train.index[np.isfinite(y_train.to_numpy())]
    if len(fit_on) < 2:
        raise ValueError("the learned combination needs at least 2 labelled architectures")
    x = features.loc[fit_on].to_numpy()
    y = stats.rankdata(y_train.loc[fit_on].to_numpy()) / len(fit_on)
    x_mean, y_mean = x.mean(axis=0), y.mean()
    xc = x - x_mean
    coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - y_mean))
    pred = (features.to_numpy() - x_mean) @ coef + y_mean
    pred[~np.isfinite(signed.to_numpy()).any(axis=1)] = math.nan
    return pd.Series(pred, index=scores.index, name="learned")
