"""How well proxy scores rank architectures: signed rank correlations with intervals, top-k
overlap, and what a proxy adds beyond model size.

Conventions, for every function here:

* **signed**: a score is first multiplied by its direction (+1 when higher is better), so a
  positive correlation always means the proxy ranks good architectures high; never ``abs``;
* pairs with a missing score or target are dropped and counted (``n`` is what remains);
* Spearman and Kendall (tau-b) handle ties as scipy does; Pearson is on the raw signed values
  (it is scale-sensitive: for proxies spanning decades, such as synflow, read Spearman);
* bootstrap intervals are percentile intervals over resampled (score, target) pairs with a
  seeded generator, so they are reproducible;
* top-k%: ``P`` = architectures whose score is at least the k%-quantile's value counted from
  the top (ties at the boundary all included), ``T`` the same for the target;
  precision = |P & T| / |P| and recall = |P & T| / |T| (equal unless ties enlarge a set);
* partial Spearman given z (#params, FLOPs): the partial correlation of the ranks,
  (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)): what the proxy predicts of accuracy
  that model size does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

TOPK_PERCENTS: tuple[int, ...] = (1, 5, 10)


def _clean(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"scores and targets differ in length: {x.shape} vs {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    x, y = _clean(x, y)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


def kendall(x: Sequence[float], y: Sequence[float]) -> float:
    x, y = _clean(x, y)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.kendalltau(x, y).statistic)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    x, y = _clean(x, y)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.pearsonr(x, y).statistic)


def _top_set(values: np.ndarray, percent: float) -> np.ndarray:
    """Boolean mask of the top ``percent`` % of ``values`` (at least one; boundary ties in)."""
    k = max(1, int(round(len(values) * percent / 100)))
    threshold = np.sort(values)[::-1][k - 1]
    return values >= threshold


def topk_overlap(x: Sequence[float], y: Sequence[float], percent: float) -> tuple[float, float]:
    """(precision, recall) of the score's top ``percent`` % against the target's."""
    x, y = _clean(x, y)
    if len(x) == 0:
        return math.nan, math.nan
    p, t = _top_set(x, percent), _top_set(y, percent)
    both = float(np.sum(p & t))
    return both / float(p.sum()), both / float(t.sum())


def _rank_rows(a: np.ndarray) -> np.ndarray:
    return stats.rankdata(a, axis=-1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(-1) / den


def percentile_bootstrap(
    arr: np.ndarray, statistic, *, n_boot: int, level: float, seed: int
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over resampled rows of ``arr`` (n x k).

    ``statistic`` maps k arrays of shape (resamples, n), one per column, to one value per
    resample; resamples are drawn in vectorised blocks of bounded memory."""
    n = len(arr)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)  # resamples per vectorised block (bounded memory)
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        values[start : start + len(idx)] = statistic(*(arr[:, j][idx] for j in range(arr.shape[1])))
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_spearman(
    x: Sequence[float],
    y: Sequence[float],
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of Spearman's rho over resampled pairs."""
    x, y = _clean(x, y)
    if len(x) < 3:
        return math.nan, math.nan
    return percentile_bootstrap(
        np.column_stack([x, y]),
        lambda xs, ys: _pearson_rows(_rank_rows(xs), _rank_rows(ys)),
        n_boot=n_boot, level=level, seed=seed,
    )  # fmt: skip


def paired_spearman_difference(
    a: Sequence[float],
    b: Sequence[float],
    y: Sequence[float],
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(rho(a, y) - rho(b, y), lo, hi): the difference of two scores' Spearman rho with the
    same target on the same architectures (rows where all three are finite), with a paired
    percentile bootstrap interval (both rhos from each resample of the rows)."""
    arr = np.column_stack([np.asarray(v, dtype=np.float64) for v in (a, b, y)])
    arr = arr[np.isfinite(arr).all(axis=1)]
    n = len(arr)
    if n < 3:
        return (math.nan,) * 3
    diff = spearman(arr[:, 0], arr[:, 2]) - spearman(arr[:, 1], arr[:, 2])

    def rho_difference(a_s, b_s, y_s):
        ry = _rank_rows(y_s)
        return _pearson_rows(_rank_rows(a_s), ry) - _pearson_rows(_rank_rows(b_s), ry)

    lo, hi = percentile_bootstrap(arr, rho_difference, n_boot=n_boot, level=level, seed=seed)
    return float(diff), lo, hi


def partial_spearman(x: Sequence[float], y: Sequence[float], z: Sequence[float]) -> float:
    """Spearman of x and y controlling for z (partial correlation of the ranks)."""
    arr = np.column_stack([np.asarray(v, dtype=np.float64) for v in (x, y, z)])
    arr = arr[np.isfinite(arr).all(axis=1)]
    if len(arr) < 4 or (np.ptp(arr, axis=0) == 0).any():
        return math.nan
    r = stats.spearmanr(arr).statistic
    rxy, rxz, ryz = r[0, 1], r[0, 2], r[1, 2]
    den = math.sqrt(max(0.0, (1 - rxz**2) * (1 - ryz**2)))
    return float((rxy - rxz * ryz) / den) if den > 0 else math.nan


def correlation_row(
    score: Sequence[float],
    target: Sequence[float],
    *,
    higher_is_better: bool = True,
    params: Sequence[float] | None = None,
    flops: Sequence[float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Every statistic of one proxy (or ensemble) against one target, signed.

    ``score`` may hold NaN for failures: they are dropped and counted as ``n_failed``."""
    s = np.asarray(score, dtype=np.float64) * (1.0 if higher_is_better else -1.0)
    t = np.asarray(target, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(t)
    row: dict[str, float] = {"n": int(ok.sum()), "n_failed": int((~np.isfinite(s)).sum())}
    row["spearman"] = spearman(s, t)
    row["spearman_lo"], row["spearman_hi"] = bootstrap_spearman(s, t, n_boot=n_boot, seed=seed)
    row["kendall"] = kendall(s, t)
    row["pearson"] = pearson(s, t)
    for k in TOPK_PERCENTS:
        row[f"top{k}_precision"], row[f"top{k}_recall"] = topk_overlap(s, t, k)
    for name, z in (("params", params), ("flops", flops)):
        row[f"partial_spearman_{name}"] = (
            partial_spearman(s, t, np.asarray(z, dtype=np.float64)) if z is not None else math.nan
        )
    return row


def signed_scores(
    scores: pd.DataFrame,
    directions: dict[str, bool] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``columns`` (default: all) of a wide frame as float64, negated where lower is better
    (``directions[col]`` False; a column without a direction counts as higher-is-better), so
    that a higher value always means a better architecture."""
    directions = directions or {}
    frame = scores[list(scores.columns if columns is None else columns)].astype(np.float64)
    for col in frame.columns:
        if not directions.get(col, True):
            frame[col] = -frame[col]
    return frame


def proxy_matrix(scores: pd.DataFrame, directions: dict[str, bool] | None = None) -> pd.DataFrame:
    """Signed Spearman between every pair of columns of a wide (architecture x proxy) frame,
    each on the architectures both scored."""
    return signed_scores(scores, directions).corr(method="spearman", min_periods=3)


#: two proxies whose signed rankings agree at least this much are reported as redundant
REDUNDANT_AT = 0.98


def redundant_with(matrix: pd.DataFrame, threshold: float = REDUNDANT_AT) -> dict[str, list[str]]:
    """For every column of a signed proxy matrix (:func:`proxy_matrix`), the other columns
    whose ranking it duplicates: signed Spearman >= ``threshold``, strongest first."""
    out: dict[str, list[str]] = {}
    for proxy in matrix.columns:
        row = matrix[proxy].drop(proxy, errors="ignore").dropna()
        hits = row[row >= threshold].sort_values(ascending=False)
        out[proxy] = [f"{other} ({rho:.3f})" for other, rho in hits.items()]
    return out


def panel_rows(long: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per dataset, the rows of the architectures with a stored result (any status) for every
    proxy stored for that dataset, and how many architectures were left out per dataset.

    Architectures scored by only some proxies (a search's candidates, a proxy added later to a
    few architectures) would otherwise compare proxies on different populations and count the
    proxies they lack as failures; ``n_failed`` counts recorded failures only."""
    keep, left_out = [], {}
    for dataset, sub in long.groupby("dataset", sort=False):
        per_arch = sub.groupby("arch_index")["proxy"].nunique()
        full = per_arch.index[per_arch == sub["proxy"].nunique()]
        keep.append(sub[sub["arch_index"].isin(full)])
        left_out[dataset] = int(len(per_arch) - len(full))
    return (pd.concat(keep) if keep else long), left_out


def newest_versions(long: pd.DataFrame) -> pd.DataFrame:
    """The rows of each (dataset, proxy)'s newest ``proxy_version``: a store that holds a
    proxy at several versions (rescored after a change) is read at the newest only."""
    if "proxy_version" not in long or long.empty:
        return long
    keys = [k for k in ("space", "dataset", "proxy") if k in long]
    newest = long.groupby(keys)["proxy_version"].transform("max")
    return long[long["proxy_version"] == newest]


def wide_scores(long: pd.DataFrame) -> pd.DataFrame:
    """A long store frame (``arch_index, proxy, value, status``) as architecture x proxy
    values; failed results are NaN (so they count as failures, never as 0). Where a store
    holds a proxy at several versions, the newest is read (:func:`newest_versions`)."""
    long = newest_versions(long)
    ok = long.assign(value=long["value"].where(long["status"] == "ok"))
    return ok.pivot_table(
        index="arch_index", columns="proxy", values="value", aggfunc="first", dropna=False
    )


def correlation_table(
    scores: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    directions: dict[str, bool],
    params: pd.Series | None = None,
    flops: pd.Series | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    **labels: object,
) -> pd.DataFrame:
    """One row per (target, column of ``scores``) with every statistic of
    :func:`correlation_row`. ``scores``: architecture x proxy (NaN = failed); ``truth``:
    architecture x target metric; ``params`` / ``flops``: per architecture, for the partial
    correlations; ``labels`` (dataset=..., subset=...) are prepended as columns."""
    index = scores.index
    p = params.reindex(index).to_numpy() if params is not None else None
    f = flops.reindex(index).to_numpy() if flops is not None else None
    rows = []
    for target in truth.columns:
        y = truth[target].reindex(index).to_numpy()
        for proxy in scores.columns:
            stats_row = correlation_row(
                scores[proxy].to_numpy(),
                y,
                higher_is_better=directions.get(proxy, True),
                params=p,
                flops=f,
                n_boot=n_boot,
                seed=seed,
            )
            rows.append({**labels, "target": target, "proxy": proxy, **stats_row})
    return pd.DataFrame(rows)
