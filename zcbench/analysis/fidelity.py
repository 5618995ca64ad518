"""Fidelity of stored proxy scores: signed Spearman rho against a ground-truth metric, next to
the published value (``zcbench fidelity``).

"Signed" means the sign says whether the proxy's declared direction (higher is better, or
lower) agrees with accuracy; nothing is folded with ``abs``. Failed scores are left out and
counted. The full correlation engine (intervals, Kendall, top-k, partial correlations) is the
report's job; this is the acceptance check of the proxies themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from zcbench.analysis.anchors import published, reference_rho
from zcbench.analysis.correlate import newest_versions
from zcbench.analysis.ensembles import POOL_DATASETS, pooled_scores
from zcbench.engine.store import ResultStore
from zcbench.errors import ZCBenchError
from zcbench.proxies import get_proxy
from zcbench.tables.benchmarks import BenchmarkTable


def fidelity_table(
    store: ResultStore,
    table: BenchmarkTable,
    *,
    space: str = "nb201",
    dataset: str,
    target: str = "test_acc_200ep",
    seed: int = 0,
    batch_size: int = 64,
    tolerance: float = 0.04,
) -> pd.DataFrame:
    frame = store.frame(
        "space = ? AND dataset = ? AND seed = ? AND batch_size = ?",
        (space, dataset, seed, batch_size),
    )
    frame = newest_versions(frame)
    truth = table.get(dataset, target)
    if truth.isna().all():
        raise ZCBenchError(f"{target} is not in the {dataset} table (every value is missing)")
    rows = []
    for proxy, group in frame.groupby("proxy"):
        y_all = truth.loc[group.arch_index.to_numpy()].to_numpy()
        known = ~np.isnan(y_all)
        group, y_all = group[known], y_all[known]
        is_ok = (group.status == "ok").to_numpy()
        ok = group[is_ok]
        sign = 1.0 if get_proxy(proxy).higher_is_better else -1.0
        y = y_all[is_ok]
        rho = sign * stats.spearmanr(ok.value.to_numpy(), y).statistic if len(ok) > 2 else np.nan
        # the same with every failure ranked last (as a reference code keeping log(0) = -inf
        # would rank it); our policy excludes failures, this column shows what that changes
        signed_all = sign * group.value.where(group.status == "ok").to_numpy(dtype=float)
        signed_all[~np.isfinite(signed_all)] = -np.inf
        usable = np.isfinite(signed_all).sum() > 2
        rho_last = stats.spearmanr(signed_all, y_all).statistic if usable else np.nan
        rows.append(
            _row(dataset, proxy, target, tolerance, len(ok), len(group) - len(ok), rho, rho_last)
        )
    pooled = _pooled(store, space, seed, batch_size) if dataset in POOL_DATASETS else None
    rows += _ensemble_rows(frame, truth, dataset, target, tolerance, pooled)
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values("spearman", ascending=False, ignore_index=True)


def _pooled(store: ResultStore, space: str, seed: int, batch_size: int) -> pd.Series | None:
    """zc_pool over the store's rows of every pooled dataset (None unless all are scored)."""
    frame = store.frame(
        "space = ? AND seed = ? AND batch_size = ?", (space, seed, batch_size)
    )  # fmt: skip
    return pooled_scores(newest_versions(frame)) if len(frame) else None


def _ensemble_rows(
    frame: pd.DataFrame,
    truth: pd.Series,
    dataset: str,
    target: str,
    tolerance: float,
    pooled: pd.Series | None = None,
) -> list[dict]:
    """The published aggregations whose members are all stored (AZ-NAS, VKDNW_agg) and
    zcbench's label-free ensembles (``pooled``: zc_pool, read over every dataset), as rows
    beside the proxies (failures rank last in them, as in the authors' code)."""
    from zcbench.analysis.correlate import wide_scores
    from zcbench.analysis.ensembles import (
        AZ_NAS_MEMBERS,
        RULE_FAMILY,
        VKDNW_AGG_MEMBERS,
        ZC_DEV_RULE,
        ZC_ENSEMBLE,
        az_nas,
        rule_needs,
        vkdnw_agg,
        zc_dev,
        zc_ensemble,
    )

    wide = wide_scores(frame)
    directions = {p: get_proxy(p).higher_is_better for p in wide.columns}
    makers = {
        "az_nas": (AZ_NAS_MEMBERS, lambda: az_nas(wide, directions)),
        "vkdnw_agg": (
            (*VKDNW_AGG_MEMBERS, "vkdnw", "vkdnw_dim"),
            lambda: vkdnw_agg(wide, directions),
        ),
        "zc_ensemble": (ZC_ENSEMBLE, lambda: zc_ensemble(wide, directions)),
        "zc_dev": (rule_needs(RULE_FAMILY[ZC_DEV_RULE]), lambda: zc_dev(wide, directions)),
    }
    if pooled is not None:
        makers["zc_pool"] = ((), lambda: pooled.reindex(wide.index))
    rows = []
    for name, (members, make) in makers.items():
        if not set(members) <= set(wide.columns):
            continue
        values = make()
        y = truth.reindex(values.index)
        keep = values.notna() & y.notna()
        rho = stats.spearmanr(values[keep], y[keep]).statistic if keep.sum() > 2 else np.nan
        rows.append(_row(dataset, name, target, tolerance, int(keep.sum()), 0, rho, rho))
    return rows


def _row(
    dataset: str,
    proxy: str,
    target: str,
    tolerance: float,
    n: int,
    n_failed: int,
    rho: float,
    rho_last: float,
) -> dict:
    """One fidelity row: the measured Spearman next to every published value for ``proxy``."""
    ref, source = reference_rho(proxy, dataset, target)
    diff = rho - ref if np.isfinite(ref) else np.nan
    return {
        "dataset": dataset,
        "proxy": proxy,
        "n": n,
        "n_failed": n_failed,
        "spearman": round(float(rho), 4),
        "spearman_failed_last": round(float(rho_last), 4),
        "published": ref,
        "source": source,
        "diff": round(float(diff), 4) if np.isfinite(diff) else np.nan,
        "within_tol": bool(abs(diff) <= tolerance) if np.isfinite(diff) else None,
        **{f"pub_{src}": value for src, value in published(proxy, dataset).items()},
    }
