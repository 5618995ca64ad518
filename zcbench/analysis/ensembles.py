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
  every proxy but the size baselines.
* ``az_nas``: AZ-NAS itself, the same aggregation of its four components: az_expressivity,
  az_progressivity, az_trainability and complexity (FLOPs, our ``flops``). As the authors'
  code, a component that came out -inf or NaN (their NaN is recorded as -inf) ranks last.
* ``vkdnw_single`` / ``vkdnw_agg``: VKDNW (Tybl & Neumann, CVPR'25; their ``tss_utils.py``):
  the dense rank of the pair (number of parameter tensors ``vkdnw_dim``, ``vkdnw``), and that
  rank's log plus the log-ranks of jacov (our ``jacob_cov``), AZ-NAS's expressivity and
  trainability and FLOPs (their ``vkdnw_comb_rank``).
* ``zc_ensemble``: zcbench's label-free ensemble, a rule fixed before reading any held-out
  figure (see :data:`ZC_ENSEMBLE`): AZ-NAS's aggregation over AZ-NAS's four components plus
  the two proxies whose published correlations lead the field among those we implement
  without a train/test split (MeCo, ZiCo; ``../shared/docs/anchors.md``).
* ``learned``: ridge regression from the members' normalised ranks to the accuracy rank,
  fitted on ``n_train`` labelled architectures and scored on all; correlations must then be
  read on the held-out architectures only (:func:`learned_split` returns both sets).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from zcbench.analysis.correlate import signed_scores, wide_scores
from zcbench.proxies import get_proxy, member_inputs

#: pairwise comparisons held in memory at once by :func:`vote`
BLOCK_CELLS = 4_000_000
#: Abdelfattah et al.'s voting members
VOTE_MEMBERS: tuple[str, ...] = ("synflow", "jacob_cov", "snip")
#: AZ-NAS's four components (complexity = FLOPs)
AZ_NAS_MEMBERS: tuple[str, ...] = (
    "az_expressivity",
    "az_progressivity",
    "az_trainability",
    "flops",
)
#: VKDNW_agg's members besides VKDNW_single (their ``vkdnw_comb_rank``)
VKDNW_AGG_MEMBERS: tuple[str, ...] = ("jacob_cov", "az_expressivity", "az_trainability", "flops")
#: the label-free ensemble's rule, fixed before any held-out figure was read: AZ-NAS's four
#: components and the two best-published single proxies we have (MeCo 0.89 / 0.88 / 0.85,
#: ZiCo 0.80 / 0.81 / 0.79 in anchors.md), aggregated as AZ-NAS does; one rule for every
#: dataset, nothing tuned per dataset
ZC_ENSEMBLE: tuple[str, ...] = (*AZ_NAS_MEMBERS, "meco", "zico")


#: the label-free rules a development sample chooses among (issue 18, reports/ensemble_dev/):
#: each is AZ-NAS's log-rank sum (failures last) over its members, one rule for every dataset.
#: The family and the choosing criterion (:func:`choose_rule`) were committed before any rule
#: was computed on the development architectures, which are disjoint from the 1,000 that
#: the report and the fidelity tables read. ``vkdnw_single`` is VKDNW's own ranking of
#: (vkdnw_dim, vkdnw). A: the first rule (:data:`ZC_ENSEMBLE`); B-D add VKDNW (the best
#: published label-free proxy) to it in three ways; E-F add our synaptic_diversity; G is
#: VKDNW_agg plus MeCo and ZiCo; H is AZ-NAS plus VKDNW.
RULE_FAMILY: dict[str, tuple[str, ...]] = {
    "A": ZC_ENSEMBLE,
    "B": (*ZC_ENSEMBLE, "vkdnw_single"),
    "C": (*ZC_ENSEMBLE, "vkdnw_single", "jacob_cov"),
    "D": (*AZ_NAS_MEMBERS, "meco", "vkdnw_single"),
    "E": (*ZC_ENSEMBLE, "vkdnw_single", "synaptic_diversity"),
    "F": (*ZC_ENSEMBLE, "synaptic_diversity"),
    "G": (*VKDNW_AGG_MEMBERS, "vkdnw_single", "meco", "zico"),
    "H": (*AZ_NAS_MEMBERS, "vkdnw_single"),
}


def rule_score(
    scores: pd.DataFrame, directions: dict[str, bool], members: Sequence[str]
) -> pd.Series:
    """AZ-NAS's log-rank sum over ``members`` (failures last); ``vkdnw_single`` is derived
    from the vkdnw_dim and vkdnw columns."""
    frame = scores
    dirs = directions
    if "vkdnw_single" in members:
        frame = scores.assign(vkdnw_single=vkdnw_single(scores))
        dirs = {**directions, "vkdnw_single": True}
    return log_rank(frame, dirs, members, failed_last=True)


#: the rule the development sample chose (``reports/ensemble_dev/dev.md``, by
#: :func:`choose_rule`); ``tests/test_analysis.py`` checks it against that file's choice
ZC_DEV_RULE = "C"


def rule_needs(members: Sequence[str]) -> tuple[str, ...]:
    """The stored proxies a rule reads (a derived member such as ``vkdnw_single`` reads its
    :data:`zcbench.proxies.DERIVED` inputs, vkdnw_dim and vkdnw)."""
    return member_inputs(members)


#: the datasets whose minibatches a pooled rule reads (round 2, reports/ensemble_dev/POOLED.md)
POOL_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
#: the rule whose pooled version round 2 chose (``reports/ensemble_dev/pooled_dev.md``: C/3);
#: ``tests/test_analysis.py`` checks it against that file's choice
ZC_POOL_RULE = "C"


def pooled_rule_score(
    frames: Mapping[str, pd.DataFrame], directions: dict[str, bool], members: Sequence[str]
) -> pd.Series:
    """A rule read through several datasets' minibatches (``frames``: dataset -> that
    dataset's scores, one column per proxy): the sum over datasets of :func:`rule_score`,
    i.e. every member's log-rank term counted once per dataset, each failure last in its own
    dataset's term. One ranking, whatever the target dataset, on the architectures every
    frame holds. No accuracy enters it (reports/ensemble_dev/POOLED.md)."""
    if not frames:
        raise ValueError("a pooled rule needs at least one dataset's scores")
    common = None
    for frame in frames.values():
        common = frame.index if common is None else common.intersection(frame.index)
    total = sum(rule_score(f.loc[common], directions, members) for f in frames.values())
    return total.rename("pooled")


def zc_pool(frames: Mapping[str, pd.DataFrame], directions: dict[str, bool]) -> pd.Series:
    """zcbench's pooled label-free rule: :data:`ZC_POOL_RULE`'s members read through the
    minibatches of every dataset in :data:`POOL_DATASETS` (round 2's choice on the
    development sample, reports/ensemble_dev/pooled_dev.md). One ranking whatever the
    target dataset; it needs all of them scored."""
    missing = [d for d in POOL_DATASETS if d not in frames]
    if missing:
        raise KeyError(f"zc_pool reads every pooled dataset's scores; no {', '.join(missing)}")
    chosen = {d: frames[d] for d in POOL_DATASETS}
    return pooled_rule_score(chosen, directions, RULE_FAMILY[ZC_POOL_RULE]).rename("zc_pool")


def pooled_scores(frame: pd.DataFrame) -> pd.Series | None:
    """:func:`zc_pool` from a store's long rows of every dataset (newest versions), when each
    of :data:`POOL_DATASETS` has its members scored; otherwise None."""
    needs = set(rule_needs(RULE_FAMILY[ZC_POOL_RULE]))
    frames = {}
    for dataset in POOL_DATASETS:
        rows = frame[frame["dataset"] == dataset]
        wide = wide_scores(rows) if len(rows) else pd.DataFrame()
        if not needs <= set(wide.columns):
            return None
        frames[dataset] = wide
    return zc_pool(frames, {p: get_proxy(p).higher_is_better for p in needs})


def zc_dev(scores: pd.DataFrame, directions: dict[str, bool]) -> pd.Series:
    """zcbench's label-free rule chosen on the development sample (:data:`ZC_DEV_RULE`)."""
    return rule_score(scores, directions, RULE_FAMILY[ZC_DEV_RULE]).rename("zc_dev")


def choose_rule(spearman: pd.DataFrame, tie_break: Callable[[str], Any] | None = None) -> str:
    """The candidate (row; columns = datasets) with the highest worst-dataset Spearman on the
    development sample, rounded to 4 places. Ties go to the smallest ``tie_break(name)``; by
    default that is the rule with fewer members (:data:`RULE_FAMILY`), then the earlier
    name. ``reports/ensemble_dev/predictor_dev.py`` chooses the few-label predictor by the
    same criterion, ties going to the candidate listed first."""
    if tie_break is None:
        tie_break = lambda r: (len(RULE_FAMILY[r]), r)  # noqa: E731
    worst = spearman.min(axis=1)
    order = sorted(spearman.index, key=lambda r: (-round(float(worst[r]), 4), tie_break(r)))
    return order[0]


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
    scores: pd.DataFrame,
    directions: dict[str, bool],
    members: Sequence[str],
    failed_last: bool = False,
) -> pd.Series:
    """Sum over members of log(normalised rank). ``failed_last``: a member's failure (NaN,
    e.g. AZ-NAS's -inf) ranks below every value, as AZ-NAS's code ranks -inf; otherwise it
    is left out of that architecture's sum."""
    signed = _signed(scores, members, directions)
    if failed_last:
        signed = signed.fillna(-np.inf)
        ranks = signed.rank(method="average", pct=True)
    else:
        ranks = normalised_ranks(signed)
    out = np.log(ranks).sum(axis=1, min_count=1)
    return out.rename("log_rank")


def az_nas(scores: pd.DataFrame, directions: dict[str, bool]) -> pd.Series:
    """AZ-NAS's aggregation of its four components (failures rank last, as theirs)."""
    return log_rank(scores, directions, AZ_NAS_MEMBERS, failed_last=True).rename("az_nas")


def vkdnw_single(scores: pd.DataFrame) -> pd.Series:
    """VKDNW_single: dense rank of (number of parameter tensors, vkdnw), lexicographic."""
    pair = scores[["vkdnw_dim", "vkdnw"]].astype(np.float64)
    order = pair.fillna(-np.inf).apply(tuple, axis=1)
    ranks = order.rank(method="dense").astype(np.float64)
    ranks[pair.isna().all(axis=1)] = np.nan
    return ranks.rename("vkdnw_single")


def vkdnw_agg(scores: pd.DataFrame, directions: dict[str, bool]) -> pd.Series:
    """VKDNW_agg: log rank of VKDNW_single plus the log-ranks of jacov, AZ-NAS's
    expressivity and trainability, and FLOPs (failures rank last)."""
    frame = scores[list(VKDNW_AGG_MEMBERS)].copy()
    frame["vkdnw_single"] = vkdnw_single(scores)
    dirs = {**directions, "vkdnw_single": True}
    return log_rank(frame, dirs, [*VKDNW_AGG_MEMBERS, "vkdnw_single"], failed_last=True).rename(
        "vkdnw_agg"
    )


def zc_ensemble(scores: pd.DataFrame, directions: dict[str, bool]) -> pd.Series:
    """zcbench's label-free ensemble (:data:`ZC_ENSEMBLE`, failures rank last)."""
    return log_rank(scores, directions, ZC_ENSEMBLE, failed_last=True).rename("zc_ensemble")


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
