"""Few-label performance predictors on zero-cost proxies and graph features, and their label
curve.

The question a user with a small training budget asks: if I train (or look up) n
architectures, how well can a model on the proxies ranks the rest? As GRAF (Kadlecova et
al., ICML 2024) we fit scikit-learn's random forest regressor on the proxies' values plus the
cell's graph features (:mod:`zcbench.analysis.graph_features`) to the accuracy of ``n`` labelled
architectures drawn at random, and read Spearman's rho against the accuracy on every other
architecture of the store (the held-out rest). Each label count is repeated over seeded draws;
the curve reports the mean, the spread and a 95% t-interval of the mean.

Proxies enter as their normalised ranks among the store's architectures (signed: higher =
better; a forest is invariant to monotone transforms of one feature, and ranks keep synflow's
1e60-sized values within float32), a failed value ranking below every scored one (rank 0).
The ranks use no accuracy label. Feature sets: ``proxies``, ``graph``, ``proxies+graph``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

#: the label curve's label counts (the issue's, where a held-out rest remains)
LABELS: tuple[int, ...] = (10, 25, 50, 100, 250, 500)
#: the random forest: GRAF's model, sklearn defaults but for the number of trees
FOREST = dict(n_estimators=300, min_samples_leaf=1, max_features=1.0)


def rank_features(signed: pd.DataFrame) -> pd.DataFrame:
    """Signed proxy values -> normalised ranks in (0, 1] per column; a failure (NaN, +-inf
    recorded as failed) -> 0, below every scored architecture."""
    out = signed.astype(np.float64).replace([np.inf, -np.inf], np.nan)
    return out.rank(method="average", pct=True).fillna(0.0)


def fit_predict(
    features: pd.DataFrame, target: pd.Series, train: pd.Index, seed: int = 0, threads: int = 1
) -> pd.Series:
    """Random-forest predictions for every row, fitted on ``train``'s target only."""
    from sklearn.ensemble import RandomForestRegressor

    model = RandomForestRegressor(random_state=seed, n_jobs=threads, **FOREST)
    model.fit(features.loc[train].to_numpy(), target.loc[train].to_numpy())
    return pd.Series(model.predict(features.to_numpy()), index=features.index)


def label_curve(
    features: dict[str, pd.DataFrame],
    target: pd.Series,
    labels: Sequence[int] = LABELS,
    repeats: int = 20,
    seed: int = 0,
    min_held_out: int = 100,
) -> pd.DataFrame:
    """One row per (feature set, label count, repeat): Spearman and Kendall on the held-out
    architectures. ``features``: name -> frame (architecture x feature), same index as
    ``target``; label counts leaving fewer than ``min_held_out`` architectures are skipped."""
    index = target.dropna().index
    rows = []
    for n in labels:
        if n < 2 or len(index) - n < min_held_out:
            continue
        for r in range(repeats):
            rng = np.random.default_rng([seed, n, r])
            train = index[np.sort(rng.choice(len(index), size=n, replace=False))]
            held = index.difference(train)
            for name, frame in features.items():
                pred = fit_predict(frame.loc[index], target.loc[index], train, seed=r)
                rows.append(
                    {
                        "features": name,
                        "labels": n,
                        "repeat": r,
                        "held_out": len(held),
                        "spearman": stats.spearmanr(pred.loc[held], target.loc[held])[0],
                        "kendall": stats.kendalltau(pred.loc[held], target.loc[held])[0],
                    }
                )
    return pd.DataFrame(rows)


def summarise_curve(curve: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and a 95% t-interval of the mean Spearman per (feature set, labels)."""

    def one(g: pd.DataFrame) -> pd.Series:
        x = g["spearman"].to_numpy()
        half = (
            stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
            if len(x) > 1
            else np.nan
        )
        return pd.Series(
            {
                "repeats": len(x),
                "spearman": x.mean(),
                "std": x.std(ddof=1) if len(x) > 1 else np.nan,
                "ci_lo": x.mean() - half,
                "ci_hi": x.mean() + half,
                "kendall": g["kendall"].mean(),
            }
        )

    return curve.groupby(["features", "labels"]).apply(one, include_groups=False).reset_index()


def plot_label_curve(summary: pd.DataFrame, anchors: dict[str, float] | None = None):
    """Held-out Spearman against the number of labels, one panel per dataset, one line per
    feature set with its 95% interval; ``anchors``: dataset -> published figure (a line)."""
    from matplotlib.figure import Figure

    datasets = list(dict.fromkeys(summary["dataset"]))
    fig = Figure(figsize=(4.2 * len(datasets), 3.4))
    axes = fig.subplots(1, len(datasets), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = summary[summary["dataset"] == dataset]
        for name, g in part.groupby("features"):
            g = g.sort_values("labels")
            ax.plot(g["labels"], g["spearman"], marker="o", label=name)
            ax.fill_between(g["labels"], g["ci_lo"], g["ci_hi"], alpha=0.2)
        if anchors and dataset in anchors:
            ax.axhline(anchors[dataset], color="k", linestyle=":", label="GRAF (published)")
        ax.axvline(100, color="grey", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("labelled architectures")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("Spearman on the held-out rest")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
