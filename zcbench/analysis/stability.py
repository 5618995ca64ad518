"""How stable is a proxy's ranking across minibatches and initialisations?

A zero-cost proxy is computed from one minibatch and one random initialisation. zcbench's
seed picks both (the batch is drawn with the seed, the model is initialised under a seed
derived from the architecture and the seed), so scoring the same architectures with seeds
0..4 shows how much a proxy's ranking depends on that draw:

* **stability**: the mean over pairs of seeds of Spearman's rho between the two seeds'
  values, over the architectures every seed scored (1 = the ranking does not depend on the
  draw at all; params and FLOPs are 1 by construction);
* **averaging**: whether averaging a proxy over k seeds (the mean of the k seeds' normalised
  ranks) buys correlation with accuracy for k times the cost: Spearman against the target
  for k = 1, 2, 4, each the mean over every k-subset of the seeds.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats


def by_seed(long: pd.DataFrame, proxy: str) -> pd.DataFrame:
    """architecture x seed values of one proxy (NaN = failed)."""
    rows = long[long["proxy"] == proxy]
    ok = rows.assign(value=rows["value"].where(rows["status"] == "ok"))
    return ok.pivot_table(index="arch_index", columns="seed", values="value", aggfunc="first")


def seed_stability(long: pd.DataFrame, proxies: list[str] | None = None) -> pd.DataFrame:
    """Per proxy: seeds, architectures scored by every seed, and the mean / min pairwise
    Spearman between seeds. ``long``: store rows (arch_index, proxy, seed, value, status)."""
    rows = []
    for proxy in proxies or sorted(long["proxy"].unique()):
        table = by_seed(long, proxy)
        complete = table.dropna()
        pairs = [
            stats.spearmanr(complete[a], complete[b])[0] for a, b in combinations(table.columns, 2)
        ]
        pairs = [p for p in pairs if np.isfinite(p)]
        rows.append(
            {
                "proxy": proxy,
                "seeds": table.shape[1],
                "n": len(complete),
                "stability": float(np.mean(pairs)) if pairs else np.nan,
                "stability_min": float(np.min(pairs)) if pairs else np.nan,
            }
        )
    return pd.DataFrame(rows)


def averaging_gain(
    long: pd.DataFrame,
    target: pd.Series,
    directions: dict[str, bool],
    ks: tuple[int, ...] = (1, 2, 4),
    proxies: list[str] | None = None,
) -> pd.DataFrame:
    """Per proxy and k: the signed Spearman against ``target`` of the mean normalised rank
    over k seeds, averaged over every k-subset of the seeds (architectures every seed
    scored)."""
    rows = []
    for proxy in proxies or sorted(long["proxy"].unique()):
        table = by_seed(long, proxy).dropna()
        if table.empty:
            continue
        sign = 1.0 if directions.get(proxy, True) else -1.0
        ranks = (sign * table).rank(pct=True)
        y = target.reindex(table.index)
        row: dict[str, object] = {"proxy": proxy, "n": len(table)}
        for k in ks:
            if k > table.shape[1]:
                continue
            rhos = [
                stats.spearmanr(ranks[list(c)].mean(axis=1), y)[0]
                for c in combinations(table.columns, k)
            ]
            row[f"rho_k{k}"] = float(np.nanmean(rhos))
        rows.append(row)
    return pd.DataFrame(rows)
