"""Correlation reports: stored scores in, ``correlations.csv`` + Markdown + HTML + PNG out.

``build_report`` reads a results store and the benchmark table and writes, into one folder:

* ``correlations.csv`` (the source of truth): one row per dataset, subset, target and proxy or
  ensemble, with n, failures, signed Spearman and its bootstrap interval, Kendall, Pearson,
  top-k precision / recall and the partial Spearman given #params and given FLOPs;
* ``proxy_matrix_<dataset>.csv``: signed Spearman between proxies;
* PNG figures drawn by functions that return a matplotlib Figure (Agg backend);
* ``report.md`` and a self-contained ``report.html`` (figures embedded as data URIs);
* ``config.json``: the protocol (store, seed, batch size, targets, bootstrap, learned-ensemble
  labels) and package versions.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot, so no global
backend or state).

Subsets: ``all`` (every scored architecture), ``unique`` (one architecture per canonical
class, the lowest index, so isomorphic duplicates do not inflate n) and ``held_out`` (the
architectures the learned ensemble was not fitted on; every proxy and ensemble is reported
there too, so the comparison is like for like).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from zcbench.analysis.anchors import DATASETS as ANCHOR_DATASETS
from zcbench.analysis.anchors import records
from zcbench.analysis.correlate import (
    _top_set,
    correlation_table,
    newest_versions,
    paired_spearman_difference,
    panel_rows,
    proxy_matrix,
    redundant_with,
    signed_scores,
    wide_scores,
)
from zcbench.analysis.ensembles import (
    AZ_NAS_MEMBERS,
    RULE_FAMILY,
    VKDNW_AGG_MEMBERS,
    VOTE_MEMBERS,
    ZC_DEV_RULE,
    ZC_ENSEMBLE,
    az_nas,
    learned,
    learned_split,
    log_rank,
    mean_rank,
    pooled_scores,
    rule_needs,
    vkdnw_agg,
    vote,
    zc_dev,
    zc_ensemble,
)
from zcbench.analysis.predictors import (
    HEADLINE,
    MODELS,
    feature_sets,
    label_curve,
    plot_label_curve,
    summarise_curve,
)
from zcbench.engine.store import ResultStore
from zcbench.errors import ZCBenchError
from zcbench.proxies import get_proxy
from zcbench.spaces import get_space
from zcbench.tables.benchmarks import BenchmarkTable
from zcbench.tables.datasets import DATASETS

log = logging.getLogger(__name__)

DEFAULT_TARGETS: tuple[str, ...] = ("test_acc_200ep", "valid_acc_200ep", "test_acc_12ep")
#: size baselines: reported beside every proxy, left out of the ensembles' members
SIZE_BASELINES: tuple[str, ...] = ("params", "flops")
ENSEMBLES: tuple[str, ...] = (
    "vote", "mean_rank", "log_rank", "az_nas", "vkdnw_agg", "zc_ensemble", "zc_dev", "zc_pool",
    "learned",
)  # fmt: skip
#: published aggregations (and zcbench's label-free rule): name -> members that must be scored
FIXED_ENSEMBLES: dict[str, tuple[str, ...]] = {
    "az_nas": AZ_NAS_MEMBERS,
    "vkdnw_agg": (*VKDNW_AGG_MEMBERS, "vkdnw", "vkdnw_dim"),
    "zc_ensemble": ZC_ENSEMBLE,
    "zc_dev": rule_needs(RULE_FAMILY[ZC_DEV_RULE]),
}


@dataclass
class ReportConfig:
    store: str
    space: str = "nb201"
    datasets: Sequence[str] | None = None  # None: every dataset in the store
    targets: Sequence[str] = DEFAULT_TARGETS
    seed: int = 0
    batch_size: int = 64
    n_boot: int = 1000
    learned_labels: int = 100
    learned_seed: int = 0
    packages: dict[str, str] = field(default_factory=dict)
    #: output folders of ``zcbench search`` / ``zcbench verify`` joined as report sections
    search: str | None = None
    verify: str | None = None
    #: reports/search/records (its records.csv) and reports/stability (its stability.csv):
    #: sections; the stability column joins the detail tables of its dataset
    records: str | None = None
    stability: str | None = None
    #: the architecture indexes to report (None: every one in the store); ``zcbench bench``
    #: passes its sample, so scores left in its store by earlier configurations stay out
    archs: Sequence[int] | None = None
    #: what the main target measures (a measured table's description; set from the table)
    target_description: str = ""
    #: fit the few-label predictor (proxies + graph features, random forest) and draw its
    #: label curve (NB201 only; about a minute per dataset on 2 cores)
    label_curve: bool = False
    label_curve_repeats: int = 10


def _directions(proxies: Sequence[str]) -> dict[str, bool]:
    out = {}
    for p in proxies:
        try:
            out[p] = get_proxy(p).higher_is_better
        except ZCBenchError:
            out[p] = True  # a proxy no longer registered: assume higher is better, say so
            log.warning("proxy %s is not registered; assuming higher is better", p)
    out.update({e: True for e in ENSEMBLES})
    return out


def ensemble_scores(
    scores: pd.DataFrame,
    directions: dict[str, bool],
    target: pd.Series,
    train: pd.Index | None,
    pooled: pd.Series | None = None,
) -> pd.DataFrame:
    """The ensembles as extra columns: vote (Abdelfattah's members, when scored), mean and
    log rank over every proxy except the size baselines, AZ-NAS, VKDNW_agg and zcbench's
    label-free ensembles (when their members are scored), ``pooled`` as zc_pool (computed
    over every dataset by :func:`~zcbench.analysis.ensembles.pooled_scores`; None: left
    out), learned over the first members (fitted on ``train``'s ``target``; left out when
    ``train`` is None)."""
    members = [c for c in scores.columns if c not in SIZE_BASELINES]
    out = {}
    if all(m in scores.columns for m in VOTE_MEMBERS):
        out["vote"] = vote(scores, directions, VOTE_MEMBERS)
    if len(members) >= 2:
        out["mean_rank"] = mean_rank(scores, directions, members)
        out["log_rank"] = log_rank(scores, directions, members)
    fixed = {"az_nas": az_nas, "vkdnw_agg": vkdnw_agg, "zc_ensemble": zc_ensemble, "zc_dev": zc_dev}
    for name, needs in FIXED_ENSEMBLES.items():
        if set(needs) <= set(scores.columns):
            out[name] = fixed[name](scores, directions)
    if pooled is not None:
        out["zc_pool"] = pooled.reindex(scores.index)
    if len(members) >= 2:
        if train is not None:
            out["learned"] = learned(scores, directions, members, target, train)
    return pd.DataFrame(out, index=scores.index)


#: the fewest held-out architectures the learned ensemble is read on
MIN_HELD_OUT = 10


def learned_fits(n_archs: int, labels: int) -> bool:
    """Whether a dataset of ``n_archs`` gets the learned ensemble (and the held-out subset):
    ``labels`` to fit on and at least :data:`MIN_HELD_OUT` left to read it on."""
    return bool(labels) and n_archs >= labels + MIN_HELD_OUT


def unique_representatives(space_name: str, archs: pd.Series) -> pd.Index:
    """The lowest index of each canonical class among ``archs`` (architecture strings by
    index, as stored)."""
    space = get_space(space_name)
    keys = pd.Series([space.canonical(space.parse(a)) for a in archs], index=archs.index)
    return pd.Index(sorted(keys.groupby(keys).apply(lambda s: s.index.min())))


# -- the leaderboard -------------------------------------------------------------------------
def _kind(proxy: str) -> str:
    return "baseline" if proxy in SIZE_BASELINES else "ensemble" if proxy in ENSEMBLES else "proxy"


def leaderboard(result: pd.DataFrame, target: str) -> pd.DataFrame:
    """Every proxy and ensemble per dataset, signed Spearman vs ``target`` with its interval,
    best first: all architectures, and the learned ensemble on its held-out rows (its
    ``subset`` says so). Columns: dataset, proxy, kind (proxy / ensemble / baseline), subset,
    n, spearman, spearman_lo, spearman_hi."""
    main = result[(result["target"] == target) & (result["subset"] == "all")]
    held = result[
        (result["target"] == target)
        & (result["subset"] == "held_out")
        & (result["proxy"] == "learned")
    ]
    board = pd.concat([main, held]).dropna(subset=["spearman"])
    board = board.assign(kind=board["proxy"].map(_kind))
    cols = ["dataset", "proxy", "kind", "subset", "n", "spearman", "spearman_lo", "spearman_hi"]
    known = list(DATASETS)  # cifar10, cifar100, ImageNet16-120 in that order, then the rest
    rank = board["dataset"].map(lambda d: (known.index(d) if d in known else len(known), d))
    return board.assign(_rank=rank).sort_values(["_rank", "spearman"], ascending=[True, False])[
        cols
    ]


def board_order(board: pd.DataFrame) -> list[str]:
    """Proxies best first by their mean Spearman over the datasets."""
    return board.groupby("proxy")["spearman"].mean().sort_values(ascending=False).index.tolist()


def leaderboard_text(
    board: pd.DataFrame, target: str, reference: pd.DataFrame | None = None
) -> str:
    """The leaderboard as a compact terminal table: one row per proxy, one column per dataset
    (Spearman and 95% interval); with a ``reference`` leaderboard (the committed run), its
    value and this run's difference from it beside each."""
    datasets = list(dict.fromkeys(board["dataset"]))
    order = board_order(board)
    value = board.set_index(["proxy", "dataset"])
    ref = reference.set_index(["proxy", "dataset"]) if reference is not None else None
    width = max(len(p) for p in order) + 2
    cell, ref_cell = 23, 17
    n = ", ".join(f"{ds} {int(value.xs(ds, level=1)['n'].max())}" for ds in datasets)
    head = "proxy".ljust(width) + "".join(
        ds.ljust(cell) + ("reference  diff".ljust(ref_cell) if ref is not None else "")
        for ds in datasets
    )
    lines = [
        f"best vs {target} (signed Spearman [95% interval]; architectures: {n}; "
        "* size baseline; ^ learned ensemble, read on held-out architectures)",
        head.rstrip(),
    ]
    for proxy in order:
        mark = "*" if proxy in SIZE_BASELINES else "^" if proxy == "learned" else ""
        line = f"{proxy}{mark}".ljust(width)
        for ds in datasets:
            if (proxy, ds) in value.index:
                r = value.loc[(proxy, ds)]
                line += f"{r.spearman:+.3f} [{r.spearman_lo:+.2f}, {r.spearman_hi:+.2f}]".ljust(
                    cell
                )
            else:
                line += "-".ljust(cell)
            if ref is not None:
                if (proxy, ds) in value.index and (proxy, ds) in ref.index:
                    rv = float(ref.loc[(proxy, ds), "spearman"])
                    line += f"{rv:+.3f}     {value.loc[(proxy, ds), 'spearman'] - rv:+.3f}".ljust(
                        ref_cell
                    )
                else:
                    line += "-".ljust(ref_cell)
        lines.append(line.rstrip())
    return "\n".join(lines)


#: colours of the three kinds in every figure
KIND_STYLE = {
    "proxy": {"color": "tab:blue", "marker": "o"},
    "ensemble": {"color": "tab:purple", "marker": "D"},
    "baseline": {"color": "tab:red", "marker": "s"},
}


def leaderboard_figure(board: pd.DataFrame, target: str, anchors: bool = True) -> Figure:
    """One panel per dataset: each proxy and ensemble as a point with its 95% interval, in one
    order (best mean first) on every panel; the best size baseline as the line to beat and the
    best published label-free record as a dotted line (``anchors``: NB201 vs its table only)."""

    datasets = list(dict.fromkeys(board["dataset"]))
    order = board_order(board)
    fig = Figure(figsize=(11, 0.16 * len(order) + 1.1))
    axes = fig.subplots(1, len(datasets), sharey=True, squeeze=False)[0]
    lo = max(-1.0, float(board["spearman_lo"].min()) - 0.05)
    for ax, ds in zip(axes, datasets):
        sub = board[board["dataset"] == ds].set_index("proxy")
        for y, proxy in enumerate(order):
            if proxy not in sub.index:
                continue
            r = sub.loc[proxy]
            style = KIND_STYLE[r.kind]
            ax.errorbar(
                r.spearman, y, xerr=[[r.spearman - r.spearman_lo], [r.spearman_hi - r.spearman]],
                fmt=style["marker"], color=style["color"], markersize=4, capsize=2, linewidth=1,
            )  # fmt: skip
        base = sub[sub["kind"] == "baseline"]["spearman"]
        if len(base):
            ax.axvline(base.max(), color=KIND_STYLE["baseline"]["color"], linestyle="--",
                       linewidth=0.8, label=f"best size baseline {base.max():+.3f}")  # fmt: skip
        for name, value in list(records(ds, labels=False).items())[:1] if anchors else []:
            ax.axvline(value, color="grey", linestyle=":", linewidth=1,
                       label=f"{name} {value:.3f}")  # fmt: skip
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_xlim(lo, 1.0)
        n = int(sub["n"].max())
        ax.set_title(f"{ds} (n = {n})", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", linewidth=0.3)
        ax.legend(fontsize=6, loc="lower left")
    axes[0].set_yticks(range(len(order)))
    axes[0].set_yticklabels([f"{p} (held out)" if p == "learned" else p for p in order], fontsize=7)
    for tick, proxy in zip(axes[0].get_yticklabels(), order):
        tick.set_color(KIND_STYLE[_kind(proxy)]["color"])
    axes[0].invert_yaxis()
    fig.supxlabel(f"signed Spearman vs {target} (95% bootstrap interval)", fontsize=8)
    fig.tight_layout()
    return fig


# -- figures ---------------------------------------------------------------------------------
def _axis_scale(values: np.ndarray) -> tuple[str, dict]:
    """Log x when every value is > 0 and they span more than three decades; symlog when they
    span decades but include zeros or negatives (synflow's 0 for dead cells, grasp); else
    linear."""
    v = values[np.isfinite(values)]
    nonzero = np.abs(v[v != 0])
    if len(nonzero) == 0 or nonzero.max() / nonzero.min() <= 1e3:
        return "linear", {}
    if (v > 0).all():
        return "log", {}
    return "symlog", {"linthresh": float(np.quantile(nonzero, 0.05))}


def _decade_ticks(values: np.ndarray, most: int = 5) -> list[float]:
    """At most ``most`` decades per sign (plus 0 when present), evenly thinned."""
    ticks: list[float] = [0.0] if (values == 0).any() else []
    for sign in (1.0, -1.0):
        part = np.abs(values[np.sign(values) == sign])
        if len(part) == 0:
            continue
        lo, hi = int(np.floor(np.log10(part.min()))), int(np.ceil(np.log10(part.max())))
        step = max(1, math.ceil((hi - lo) / most))
        ticks += [sign * 10.0**e for e in range(lo, hi + 1, step)]
    return sorted(ticks)


def scatter_figure(
    scores: pd.DataFrame, target: pd.Series, rows: pd.DataFrame, title: str
) -> Figure:
    """Proxy vs accuracy, one panel per column (log / symlog x where the values span more
    than three decades), rho in each title."""
    cols = list(scores.columns)
    ncols = min(5, len(cols))
    nrows = math.ceil(len(cols) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.8 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    rho = rows.set_index("proxy")["spearman"]
    for ax, col in zip(axes.flat, cols):
        x = scores[col].to_numpy(dtype=float)
        y = target.reindex(scores.index).to_numpy(dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[ok], y[ok], s=4, alpha=0.4, color="tab:blue", linewidths=0)
        scale, kwargs = _axis_scale(x[ok])
        ax.set_xscale(scale, **kwargs)
        if scale != "linear":
            ax.set_xticks(_decade_ticks(x[ok]))
        ax.set_title(f"{col}  rho={rho.get(col, float('nan')):+.3f}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(cols) :]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(target.name or "accuracy", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def bars_figure(rows: pd.DataFrame, title: str) -> Figure:
    """Signed Spearman with its bootstrap interval per proxy, one group per dataset."""
    datasets = list(dict.fromkeys(rows["dataset"]))
    order = rows.groupby("proxy")["spearman"].mean().sort_values(ascending=True).index.tolist()
    fig = Figure(figsize=(8, 0.32 * len(order) * max(1, len(datasets) / 1.5) + 1.5))
    ax = fig.subplots()
    height = 0.8 / len(datasets)
    for k, ds in enumerate(datasets):
        sub = rows[rows["dataset"] == ds].set_index("proxy").reindex(order)
        y = np.arange(len(order)) + k * height
        err = np.vstack(
            [sub["spearman"] - sub["spearman_lo"], sub["spearman_hi"] - sub["spearman"]]
        )
        ax.barh(y, sub["spearman"], height=height, xerr=err, label=ds, capsize=2)
    ax.set_yticks(np.arange(len(order)) + 0.4 - height / 2)
    ax.set_yticklabels(order, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel("signed Spearman rho (95% bootstrap interval)")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def heatmap_figure(matrix: pd.DataFrame, title: str) -> Figure:
    n = len(matrix)
    fig = Figure(figsize=(0.45 * n + 2.5, 0.45 * n + 2))
    ax = fig.subplots()
    im = ax.imshow(matrix.to_numpy(dtype=float), vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(n))
    ax.set_xticklabels(matrix.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(n))
    ax.set_yticklabels(matrix.index, fontsize=7)
    for i in range(n):
        for j in range(n):
            v = matrix.iat[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=5)
    fig.colorbar(im, ax=ax, fraction=0.046, label="signed Spearman")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _spread(values: list[float], gap: float, top: float) -> list[float]:
    """Label positions at line ends: ``values`` moved apart to at least ``gap``, order kept,
    none above ``top``."""
    order = np.argsort(values)
    y = np.asarray(values, dtype=float)[order]
    for i in range(1, len(y)):
        y[i] = max(y[i], y[i - 1] + gap)
    if len(y) and y[-1] > top:
        y[-1] = top
        for i in range(len(y) - 2, -1, -1):
            y[i] = min(y[i], y[i + 1] - gap)
    out = np.empty(len(y))
    out[order] = y
    return out.tolist()


def topk_figure(
    scores: pd.DataFrame,
    target: pd.Series,
    directions: dict[str, bool],
    title: str,
    highlight: Sequence[str] = (),
) -> Figure:
    """Top-k precision (share of the score's top k% that is in the target's top k%) for
    k = 1..50%, one line per column: ``highlight`` (the best few) and the size baselines in
    colour, labelled at their line ends, the rest faded; dotted: a random ranking."""
    ks = np.arange(1, 51)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    y_all = target.reindex(scores.index).to_numpy(dtype=float)
    signed = signed_scores(scores, directions)
    coloured = [c for c in scores.columns if c in highlight or c in SIZE_BASELINES]
    palette = dict(zip(coloured, ["tab:blue", "tab:orange", "tab:green", "tab:purple",
                                  "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]))  # fmt: skip
    palette.update({b: "tab:red" for b in SIZE_BASELINES})
    dashes = {"flops": "-."}  # the two size baselines: one colour, two line styles
    ends: list[tuple[str, float, str]] = []
    top = 0.0
    faded = 0
    for col in scores.columns:
        s = signed[col].to_numpy()
        ok = np.isfinite(s) & np.isfinite(y_all)
        if ok.sum() < 10:
            continue
        prec = []
        for k in ks:
            p, t = _top_set(s[ok], k), _top_set(y_all[ok], k)
            prec.append((p & t).sum() / p.sum())
        style = dashes.get(col, "-" if col not in ENSEMBLES else "--")
        top = max(top, max(prec))
        if col in palette:
            ax.plot(ks, prec, style, color=palette[col], linewidth=1.6, zorder=3)
            ends.append((col, prec[-1], palette[col]))
        else:
            ax.plot(ks, prec, style, color="0.7", linewidth=0.8, alpha=0.6, zorder=1)
            faded += 1
    ax.plot(ks, ks / 100, ":", color="grey")
    ends.append(("random", 0.5, "grey"))
    top = min(1.0, top + 0.05)
    for (name, _, colour), y in zip(ends, _spread([e[1] for e in ends], 0.04 * top, top)):
        ax.text(51, y, name, color=colour, fontsize=7, va="center")
    ax.set_xlim(0, 60)
    ax.set_ylim(0, top + 0.02)
    ax.set_xlabel("k (% of architectures)")
    ax.set_ylabel("top-k precision")
    ax.set_title(title + (f"\n(grey: the other {faded})" if faded else ""), fontsize=10)
    fig.tight_layout()
    return fig


def _label_curve(
    scores: pd.DataFrame,
    directions: dict[str, bool],
    target: pd.Series,
    config: ReportConfig,
    dataset: str,
) -> pd.DataFrame:
    """The few-label predictor's held-out Spearman per label count (zcbench.analysis.predictors):
    proxies + graph features at every count, each alone at 100 labels."""
    sets = feature_sets(scores, directions, config.space)
    both = {"proxies+graph": sets["proxies+graph"]}
    repeats = config.label_curve_repeats
    curve = label_curve(both, target, repeats=repeats, models=("forest", HEADLINE))
    # at 100 labels: each feature set alone, and every other candidate the headline was
    # chosen among (reports/ensemble_dev/predictor_dev.py)
    alone = label_curve(
        {k: sets[k] for k in ("proxies", "graph")}, target, labels=(100,), repeats=repeats
    )
    candidates = label_curve(
        both, target, labels=(100,), repeats=repeats,
        models=[m for m in (*MODELS, "cv") if m not in ("forest", HEADLINE)],
    )  # fmt: skip
    return pd.concat([curve, alone, candidates], ignore_index=True).assign(dataset=dataset)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)  # Figure without pyplot: the Agg canvas, no global state
    return path


#: what to read from each kind of figure: one sentence under it in report.html and report.md
NOTES: dict[str, str] = {
    "leaderboard": "A proxy is worth its cost only if its point lies right of the dashed red "
    "line (the best of #params and FLOPs) with an interval that clears it; the dotted line is "
    "the best published label-free record.",
    "bars": "The same correlations as bars, one colour per dataset: a proxy that ranks well on "
    "one dataset but not another is visible as unequal bars.",
    "scatter": "Each panel is one proxy against the accuracy: a tight rising band is a useful "
    "ranking; a wide cloud or a flat band at one end is where it fails (often the weakest "
    "architectures).",
    "heatmap": "Proxies that correlate near +1 with each other (and with #params) rank "
    "architectures alike: combining them adds little.",
    "topk": "The share of a proxy's top k% that is truly in the top k%: the left end is what "
    "matters for picking a network; the dotted line is a random choice.",
    "search": "Final test accuracy over the search budget: a zero-cost guided search pays off "
    "when it lies above REA with less spent.",
    "verify": "Our own training against the table's accuracies: agreement here says the table "
    "is a fair stand-in for training on this machine.",
    "label_curve": "How well a tree ensemble on the proxies and the cell's graph features ranks "
    "the architectures it was not fitted on, against how many were labelled (forest: GRAF's "
    f"random forest; {HEADLINE}: the model a development sample of other architectures chose); "
    "the dotted line is GRAF's published figure.",
}


@dataclass
class Plot:
    """A figure of the report: its title, PNG file and the sentence on what to read from it."""

    title: str
    path: Path
    note: str = ""


# -- the report ------------------------------------------------------------------------------
def build_report(config: ReportConfig, table: BenchmarkTable, out: str | Path) -> pd.DataFrame:
    """Write the report folder; returns the correlations frame."""
    out = Path(out)
    if not Path(config.store).is_file():
        raise ZCBenchError(f"no results store at {config.store}; run 'zcbench score' first")
    if table.description and not config.target_description:
        config.target_description = table.description
    with ResultStore(config.store, readonly=True) as store:
        frame = store.frame(
            "space = ? AND seed = ? AND batch_size = ?",
            (config.space, config.seed, config.batch_size),
        )
    if frame.empty:
        raise ZCBenchError(
            f"no {config.space} scores with seed {config.seed} and batch size "
            f"{config.batch_size} in {config.store}"
        )
    if config.archs is not None:
        frame = frame[frame["arch_index"].isin(list(config.archs))]
    frame, left_out = panel_rows(newest_versions(frame))
    datasets = list(config.datasets or sorted(frame["dataset"].unique()))
    out.mkdir(parents=True, exist_ok=True)  # after the checks: a failed report leaves nothing
    all_rows, figures, matrices, paired, curves = [], [], {}, {}, []
    pooled = pooled_scores(frame)
    for dataset in datasets:
        sub = frame[frame["dataset"] == dataset]
        if sub.empty:
            raise ZCBenchError(f"no scores for {dataset} in {config.store}")
        scores = wide_scores(sub)
        directions = _directions(scores.columns)
        truth = table.for_dataset(dataset).reindex(scores.index)[list(config.targets)]
        truth = truth.loc[:, truth.notna().any()]  # e.g. valid_acc_200ep exists for cifar10 only
        if config.targets[0] not in truth:
            raise ZCBenchError(f"{config.targets[0]} is not in the {dataset} table")
        primary = truth[config.targets[0]].rename(config.targets[0])
        if learned_fits(len(scores), config.learned_labels):
            train, held_out = learned_split(
                scores.index, config.learned_labels, config.learned_seed
            )
        else:
            train = held_out = None
            if config.learned_labels:
                log.warning(
                    "%s: the learned ensemble is left out: %d architectures, it needs %d "
                    "labelled plus %d held out", dataset, len(scores), config.learned_labels,
                    MIN_HELD_OUT,
                )  # fmt: skip
        ens = ensemble_scores(scores, directions, primary, train, pooled)
        params = scores["params"] if "params" in scores else None
        flops = scores["flops"] if "flops" in scores else None
        everything = pd.concat([scores, ens], axis=1)
        archs = sub.drop_duplicates("arch_index").set_index("arch_index")["arch"]
        unique = unique_representatives(config.space, archs.reindex(scores.index))
        main_rows = None
        subsets = [("all", scores.index), ("unique", unique)]
        if held_out is not None:
            subsets.append(("held_out", held_out))
        for subset, idx in subsets:
            cols = (
                everything.columns
                if subset == "held_out"
                else everything.columns.drop("learned", errors="ignore")
            )
            rows = correlation_table(
                everything.loc[idx, cols],
                truth.loc[idx],
                directions=directions,
                params=params,
                flops=flops,
                n_boot=config.n_boot,
                seed=config.seed,
                dataset=dataset,
                subset=subset,
            )
            all_rows.append(rows)
            if subset == "all":
                main_rows = rows[rows["target"] == config.targets[0]]
            if subset == "held_out":
                paired[dataset] = _best_ensemble_vs_best_proxy(
                    rows[rows["target"] == config.targets[0]], everything.loc[idx],
                    directions, primary.loc[idx], config,
                )  # fmt: skip
        if config.label_curve and config.space == "nb201":
            curves.append(_label_curve(scores, directions, primary, config, dataset))
        matrices[dataset] = proxy_matrix(scores, directions)
        matrices[dataset].to_csv(out / f"proxy_matrix_{dataset}.csv")
        target = config.targets[0]
        plain = everything.drop(columns="learned", errors="ignore")
        scatter = scatter_figure(
            plain, primary, main_rows, f"{dataset}: score vs {target} (n = {len(scores)})"
        )
        best = main_rows[~main_rows["proxy"].isin(SIZE_BASELINES)].dropna(subset=["spearman"])
        ranked = best.sort_values("spearman", ascending=False)["proxy"]
        singles = [p for p in ranked if p not in ENSEMBLES][:3]  # the best three proxies
        highlight = singles + [p for p in ranked if p in ENSEMBLES][:1]  # and best ensemble
        topk = topk_figure(
            plain, primary, directions, f"{dataset}: top-k precision vs {target}", highlight
        )
        heatmap = heatmap_figure(matrices[dataset], f"{dataset}: signed Spearman, proxy pairs")
        figures += [
            Plot(f"{dataset}: proxy vs {target}", _save(scatter, out / f"scatter_{dataset}.png"),
                 NOTES["scatter"]),
            Plot(f"{dataset}: proxy-proxy correlation",
                 _save(heatmap, out / f"heatmap_{dataset}.png"), NOTES["heatmap"]),
            Plot(f"{dataset}: top-k precision", _save(topk, out / f"topk_{dataset}.png"),
                 NOTES["topk"]),
        ]  # fmt: skip
    result = pd.concat(all_rows, ignore_index=True)
    result.insert(0, "space", config.space)
    # a proxy whose ranking duplicates another's (signed Spearman >= 0.98 over the dataset)
    redundancy = {d: redundant_with(m) for d, m in matrices.items()}
    result["redundant_with"] = [
        ", ".join(redundancy.get(d, {}).get(p, []))
        for d, p in zip(result["dataset"], result["proxy"])
    ]
    if config.stability:
        result = _join_stability(result, Path(config.stability) / "stability.csv")
    result.to_csv(out / "correlations.csv", index=False)
    bars_rows = result[(result["subset"] == "all") & (result["target"] == config.targets[0])]
    bars = bars_figure(bars_rows, f"Signed Spearman vs {config.targets[0]}, all archs")
    figures.insert(
        0, Plot(f"signed Spearman vs {config.targets[0]}", _save(bars, out / "bars.png"),
                NOTES["bars"]),
    )  # fmt: skip
    board = leaderboard(result, config.targets[0])
    lead = Plot(
        "Leaderboard",
        _save(
            leaderboard_figure(
                board, config.targets[0], (config.space, config.targets[0]) == RECORD_TARGET
            ),
            out / "leaderboard.png",
        ),
        NOTES["leaderboard"],
    )
    if curves:
        curve = pd.concat(curves, ignore_index=True)
        curve.to_csv(out / "label_curve.csv", index=False)
        summary = pd.concat(
            [summarise_curve(g).assign(dataset=d) for d, g in curve.groupby("dataset", sort=False)]
        )
        summary.round(4).to_csv(out / "label_curve_summary.csv", index=False)
        graf = {d: records(d, True).get("GRAF (ICML'24)") for d in ANCHOR_DATASETS}
        graf = {d: v for d, v in graf.items() if v is not None}
        figures.insert(
            1,
            Plot(
                "few-label predictor: label curve",
                _save(plot_label_curve(summary, graf), out / "label_curve.png"),
                NOTES["label_curve"],
            ),
        )
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2, default=str) + "\n")
    sections = [_section(kind, d, out) for kind, d in (("search", config.search),
                ("records", config.records), ("stability", config.stability),
                ("verify", config.verify)) if d]  # fmt: skip
    left_out = {d: n for d, n in left_out.items() if n and d in datasets}
    curve_summary = summary if curves else None
    page = Page(
        result, config, frame, board, lead, figures, sections, left_out, paired, curve_summary
    )
    (out / "report.md").write_text(_markdown(page))
    (out / "report.html").write_text(_html(page))
    return result


def _join_stability(result: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The seed-stability column (mean pairwise Spearman between seeds,
    zcbench.analysis.stability) for the rows of the dataset it was measured on."""
    if not path.is_file():
        raise ZCBenchError(f"no stability.csv at {path}; run reports/stability/stability.py")
    stab = pd.read_csv(path)[["dataset", "proxy", "stability"]]
    return result.merge(stab, on=["dataset", "proxy"], how="left")


def _first_paragraph(path: Path) -> str:
    """The first paragraph after the heading of a Markdown file ("" if there is none)."""
    if not path.is_file():
        return ""
    blocks = [b for b in path.read_text().split("\n\n") if b.strip()]
    return blocks[1] if len(blocks) > 1 and blocks[0].startswith("#") else ""


@dataclass
class Section:
    title: str
    intro: str
    tables: list[tuple[str, pd.DataFrame]]
    figures: list[Plot]


def _section(kind: str, directory: str, out: Path) -> Section:
    """A ``zcbench search`` or ``zcbench verify`` output folder as a report section (its
    figures copied into the report folder)."""
    src = Path(directory)
    need = {"search": "summary.csv", "verify": "verify.csv", "records": "records.csv",
            "stability": "stability.csv"}[kind]  # fmt: skip
    if not (src / need).is_file():
        raise ZCBenchError(f"no {need} in {src}; expected the output of 'zcbench {kind}'")
    if kind in ("records", "stability"):
        table = pd.read_csv(src / need)
        title = {"records": "Search records", "stability": "Seed stability"}[kind]
        return Section(title, _first_paragraph(src / need.replace(".csv", ".md")).strip(),
                       [(title.lower(), table)], [])  # fmt: skip
    if kind == "search":
        summary = pd.read_csv(src / "summary.csv")
        cols = [c for c in summary.columns if c != "optimum"]
        tables = [("final test accuracy over runs", summary[cols])]
        pngs = sorted(src.glob("anytime_*.png"))
        intro_md = _first_paragraph(src / "search.md")
        title = "Search"
    else:
        tables = []
        if (src / "agreement.csv").is_file() and (src / "agreement.csv").stat().st_size > 1:
            tables.append(("rank agreement with the table", pd.read_csv(src / "agreement.csv")))
        tables.append(("per architecture", pd.read_csv(src / "verify.csv")))
        pngs = [p for p in (src / "verify.png", src / "curves.png") if p.is_file()]
        intro_md = _first_paragraph(src / "verify.md")
        title = "Full-training verification"
    figures = []
    for png in pngs:
        target = out / f"{kind}_{png.name}"
        shutil.copyfile(png, target)
        figures.append(Plot(f"{title}: {png.stem}", target, NOTES[kind]))
    return Section(title, intro_md.strip(), tables, figures)


#: the columns of the per-dataset detail tables, in order (a new column of correlations.csv
#: shows in the report once it is listed here)
TABLE_COLUMNS: tuple[str, ...] = (
    "proxy",
    "n",
    "n_failed",
    "spearman",
    "spearman_lo",
    "spearman_hi",
    "kendall",
    "pearson",
    "top10_precision",
    "partial_spearman_params",
    "partial_spearman_flops",
    "stability",
    "redundant_with",
)


def _summary_table(result: pd.DataFrame, dataset: str, target: str, subset: str) -> pd.DataFrame:
    rows = result[
        (result["dataset"] == dataset) & (result["target"] == target) & (result["subset"] == subset)
    ]
    cols = [c for c in TABLE_COLUMNS if c in rows.columns]
    return rows[cols].sort_values("spearman", ascending=False).round(3)


#: the published records are Spearman against this target of NB201's table
#: (``zcbench.analysis.anchors.RECORDS``)
RECORD_TARGET = ("nb201", "test_acc_200ep")


def _records_note(ensemble: str, dataset: str, target: str, space: str = "nb201") -> str:
    """The published records an ensemble is read against: with labels for ``learned``,
    without for the rank ensembles ('' when none applies)."""

    if (space, target) != RECORD_TARGET:
        return ""
    labels = ensemble == "learned"
    found = records(dataset, labels)
    kind = "with labels" if labels else "no labels"
    return "; ".join(f"{name} {v:.3f}" for name, v in found.items()) + (
        f" ({kind}, all architectures)" if found else ""
    )


def _best_ensemble_vs_best_proxy(rows, scores, directions, target, config) -> dict | None:
    """The best ensemble and the best single proxy of these held-out rows, and the paired
    bootstrap interval of their difference on the same architectures."""
    rows = rows.dropna(subset=["spearman"])
    is_ens = rows["proxy"].isin(ENSEMBLES)
    if not is_ens.any() or is_ens.all():
        return None
    best_e = rows[is_ens].sort_values("spearman").iloc[-1]
    best_p = rows[~is_ens].sort_values("spearman").iloc[-1]
    base = rows[rows["proxy"].isin(SIZE_BASELINES)].sort_values("spearman")

    signed = signed_scores(scores, directions, [best_e.proxy, best_p.proxy])
    diff, lo, hi = paired_spearman_difference(
        signed[best_e.proxy], signed[best_p.proxy], target, n_boot=config.n_boot,
        seed=config.seed,
    )  # fmt: skip
    return {"ensemble": best_e, "proxy": best_p, "diff": diff, "lo": lo, "hi": hi,
            "baseline": base.iloc[-1] if len(base) else None}  # fmt: skip


def _headline(paired: dict, target: str, space: str = "nb201") -> list[str]:
    """Per dataset, on the held-out architectures: the best ensemble against the best single
    proxy, with intervals (and the published records where they apply)."""
    lines = []
    for dataset, p in paired.items():
        if p is None:
            continue
        e, s = p["ensemble"], p["proxy"]
        verdict = "beats" if p["lo"] > 0 else ("is below" if p["hi"] < 0 else "is level with")
        records = _records_note(e.proxy, dataset, target, space)
        pub_note = f"; published: {records}" if records else ""
        lines.append(
            f"- {dataset}, {int(e.n)} held-out architectures: `{e.proxy}` {e.spearman:.3f} "
            f"[{e.spearman_lo:.3f}, {e.spearman_hi:.3f}] {verdict} the best single proxy "
            f"`{s.proxy}` {s.spearman:.3f} [{s.spearman_lo:.3f}, {s.spearman_hi:.3f}]: "
            f"difference {p['diff']:+.3f} [{p['lo']:+.3f}, {p['hi']:+.3f}] (paired bootstrap)"
            f"{pub_note}"
        )
    return lines


#: the headline predictor's name in the records table
HEADLINE_COLUMN = HEADLINE.replace("_", " ")

RECORDS_NOTE = (
    "zc_ensemble is zcbench's first label-free rule (AZ-NAS's log-rank sum over its four "
    "components plus MeCo and ZiCo), fixed before any ensemble figure was computed; zc_dev is "
    "the rule a development sample of 300 other architectures chose among eight fixed "
    "candidates (reports/ensemble_dev/); zc_pool is zc_dev's members read through all three "
    "datasets' minibatches (CIFAR-10, CIFAR-100 and ImageNet16-120 images, one ranking "
    "whatever the dataset), the rule a second round on the same sample chose "
    "(reports/ensemble_dev/POOLED.md), so it uses three minibatches where the published "
    "figures use one; they and AZ-NAS are read "
    f"over every architecture (no accuracy label used). The predictors, {HEADLINE_COLUMN} (the "
    "model the development sample chose among five, reports/ensemble_dev/predictor_dev.md) "
    "and GRAF's random forest, are fitted on 100 labelled architectures and read on the rest "
    "(mean over seeded draws, 95% interval). The published records are over all 15,625 "
    "architectures."
)


def _records_line(recs: pd.DataFrame) -> str:
    """The records table in one line (the folded block's title)."""
    parts = []
    for col in (
        "label-free: zc_ensemble",
        "label-free: zc_dev",
        "label-free: zc_pool",
        f"100 labels: {HEADLINE_COLUMN} on proxies + graph",
    ):
        if col in recs:
            # a dataset without the column's row (zc_dev before vkdnw is scored) shows "-"
            cells = recs[col].astype(object).where(recs[col].notna(), "-")
            values = " / ".join(str(v).split(" [")[0] for v in cells)
            parts.append(f"{col} {values}")
    datasets = " / ".join(recs["dataset"])
    return f"Against the published records ({datasets}): " + "; ".join(parts)


def records_table(
    result: pd.DataFrame, curve: pd.DataFrame | None, target: str, space: str = "nb201"
) -> pd.DataFrame:
    """Per dataset, against the published records (NB201 vs its test accuracy only): the
    label-free ensemble and AZ-NAS's aggregation over all architectures, and the few-label
    predictor at 100 labels on the held-out rest."""
    if (space, target) != RECORD_TARGET:
        return pd.DataFrame()
    main = result[(result["subset"] == "all") & (result["target"] == target)]
    rows = []
    for dataset in [d for d in DATASETS if d in set(main["dataset"])]:
        here = main[main["dataset"] == dataset].set_index("proxy")
        free, labelled = records(dataset, False), records(dataset, True)
        row = {"dataset": dataset}
        for name in ("zc_ensemble", "zc_dev", "zc_pool"):
            if name in here.index:
                row[f"label-free: {name}"] = _interval(here.loc[name])
        if "az_nas" in here.index:
            row["AZ-NAS, ours"] = _interval(here.loc["az_nas"])
        row["label-free records"] = "; ".join(f"{k} {v:.3f}" for k, v in free.items())
        if curve is not None:
            at = curve[(curve["dataset"] == dataset) & (curve["labels"] == 100)
                       & (curve["features"] == "proxies+graph")]  # fmt: skip
            for model, column in ((HEADLINE, HEADLINE_COLUMN), ("forest", "forest")):
                r = at[at["model"] == model] if "model" in at else at
                if len(r):
                    r = r.iloc[0]
                    row[f"100 labels: {column} on proxies + graph"] = (
                        f"{r.spearman:+.3f} [{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]"
                    )
        row["with-label records"] = "; ".join(f"{k} {v:.3f}" for k, v in labelled.items())
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(row) -> str:
    return f"{row.spearman:+.3f} [{row.spearman_lo:+.3f}, {row.spearman_hi:+.3f}]"


def headline_table(paired: dict, target: str, space: str = "nb201") -> pd.DataFrame:
    """The summary's table: per dataset, on the held-out architectures, the best ensemble, the
    best single proxy, their paired difference, the best size baseline, and the published
    records for an ensemble of that kind."""
    rows = []
    known = list(DATASETS)
    for dataset in sorted(paired, key=lambda d: (known.index(d) if d in known else 99, d)):
        if (p := paired[dataset]) is None:
            continue
        e, s, b = p["ensemble"], p["proxy"], p["baseline"]
        rows.append({
            "dataset": dataset,
            "held out": int(e.n),
            "best ensemble": f"{e.proxy} {_interval(e)}",
            "best single proxy": f"{s.proxy} {_interval(s)}",
            "difference (paired)": f"{p['diff']:+.3f} [{p['lo']:+.3f}, {p['hi']:+.3f}]",
            "best size baseline": f"{b.proxy} {b.spearman:+.3f}" if b is not None else "",
            "published": _records_note(e.proxy, dataset, target, space) or "-",
        })  # fmt: skip
    return pd.DataFrame(rows)


def _protocol(
    config: ReportConfig, frame: pd.DataFrame, left_out: dict[str, int] | None = None
) -> list[str]:
    n_archs = frame.groupby("dataset")["arch_index"].nunique().to_dict()
    partial = (
        [
            f"- left out, scored by only some of the proxies (e.g. a search's candidates): "
            f"{left_out}; every proxy is compared on the same architectures"
        ]
        if left_out
        else []
    )
    learned_everywhere = all(learned_fits(n, config.learned_labels) for n in n_archs.values())
    return [
        f"- store: `{config.store}`; space {config.space}; seed {config.seed}; batch size "
        f"{config.batch_size}; minibatch of real training images per dataset",
        f"- architectures per dataset: {n_archs}",
        *partial,
        f"- targets: {', '.join(config.targets)} (first = main); signed correlations (a "
        "positive value means the proxy ranks good architectures high)",
        *([f"- the target is {config.target_description}"] if config.target_description else []),
        f"- intervals: 95% percentile bootstrap over architectures, {config.n_boot} resamples",
        f"- ensembles over every proxy but #params / FLOPs; `vote` = Abdelfattah's "
        f"{', '.join(VOTE_MEMBERS)}; "
        + (
            f"`learned` fitted on {config.learned_labels} labelled architectures (seed "
            f"{config.learned_seed}) and read on the held-out rest only"
            if learned_everywhere
            else f"`learned` left out (it needs {config.learned_labels or 'some'} labelled "
            f"architectures plus {MIN_HELD_OUT} held out)"
        ),
        "- subsets: all; unique (one architecture per canonical class)"
        + ("; held_out" if learned_everywhere else ""),
        f"- packages: {', '.join(f'{k} {v}' for k, v in config.packages.items())}",
    ]


@dataclass
class Page:
    """Everything report.md and report.html show."""

    result: pd.DataFrame
    config: ReportConfig
    frame: pd.DataFrame
    board: pd.DataFrame
    lead: Plot
    figures: list[Plot]
    sections: list[Section]
    left_out: dict[str, int]
    paired: dict
    #: the few-label predictor's label-curve summary (None without --label-curve)
    curve: pd.DataFrame | None = None

    @property
    def target(self) -> str:
        return self.config.targets[0]

    def detail_tables(self):
        """(title, table) per dataset and subset (``unique`` stays in the CSV)."""
        for dataset in dict.fromkeys(self.result["dataset"]):
            subsets = self.result.loc[self.result["dataset"] == dataset, "subset"]
            for subset in dict.fromkeys(subsets):
                if subset != "unique":
                    yield (f"{dataset}: vs {self.target}, {subset}",
                           _summary_table(self.result, dataset, self.target, subset))  # fmt: skip

    def lede(self) -> str:
        n = self.frame.groupby("dataset")["arch_index"].nunique()
        known = list(DATASETS)
        order = sorted(n.index, key=lambda d: (known.index(d) if d in known else len(known), d))
        sizes = ", ".join(f"{d} {n[d]:,}" for d in order)
        return (
            f"Which zero-cost proxy ranks {self.config.space} architectures like their "
            f"{self.target}? Signed Spearman over {sizes} architectures, 95% bootstrap "
            "intervals; #params and FLOPs are the baselines to beat."
        )


def _markdown(page: Page) -> str:
    lines = ["# zcbench correlation report", "", page.lede(), ""]
    lines += [f"![{page.lead.title}]({page.lead.path.name})", "", page.lead.note]
    if headline := _headline(page.paired or {}, page.target, page.config.space):
        lines += ["", f"## Ensembles vs the best single proxy ({page.target}, held out)", ""]
        lines += headline
    recs = records_table(page.result, page.curve, page.target, page.config.space)
    if len(recs):
        lines += ["", "## Against the published records", "", recs.to_markdown(index=False), "",
                  RECORDS_NOTE]  # fmt: skip
    lines += ["", "## Protocol", ""]
    lines += _protocol(page.config, page.frame, page.left_out)
    for title, table in page.detail_tables():
        lines += ["", f"## {title}", "", table.to_markdown(index=False)]
    lines += ["", "## Figures", ""]
    for fig in page.figures:
        lines += [f"![{fig.title}]({fig.path.name})", "", fig.note, ""]
    for sec in page.sections:
        lines += ["", f"## {sec.title}", "", sec.intro]
        for caption, table in sec.tables:
            lines += ["", f"{caption}:", "", table.to_markdown(index=False)]
        lines += [""]
        for fig in sec.figures:
            lines += [f"![{fig.title}]({fig.path.name})", "", fig.note, ""]
    return "\n".join(lines).rstrip() + "\n"


def _img(fig: Plot, heading: str = "h3") -> str:
    data = base64.b64encode(fig.path.read_bytes()).decode("ascii")
    title = html.escape(fig.title)
    return (
        f"<figure><{heading}>{title}</{heading}><img alt='{title}' "
        f"src='data:image/png;base64,{data}'><figcaption>{html.escape(fig.note)}"
        "</figcaption></figure>"
    )


def _details(summary: str, body: str) -> str:
    """A collapsed block: the summary line shows, the body opens on a click."""
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


STYLE = (
    "body{font-family:sans-serif;max-width:1240px;margin:auto;padding:0 1em;font-size:14px}"
    "h1{font-size:20px;margin:.4em 0 .2em}h2{font-size:17px;margin:1em 0 .3em}"
    "h3{font-size:14px;margin:.6em 0 .2em}p.lede{margin:.2em 0 .4em;color:#333}"
    "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
    "padding:2px 6px;text-align:right}img{max-width:100%}figure{margin:0 0 1em}"
    "figcaption{color:#333;font-size:13px}details{margin:.3em 0}"
    "summary{cursor:pointer;font-weight:bold}table.headline td{text-align:left}"
    "#summary img{max-height:360px}"
)


def _html(page: Page) -> str:
    target = page.target
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>zcbench report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<section id='summary'><h1>zcbench correlation report</h1>",
        f"<p class='lede'>{html.escape(page.lede())}</p>",
        _img(page.lead, heading="h2"),
    ]
    head = headline_table(page.paired or {}, target, page.config.space)
    if len(head):
        parts += [
            f"<h2>Ensembles vs the best single proxy ({html.escape(target)}, held out)</h2>",
            head.to_html(index=False, classes="headline", border=0),
            "<p>Read on the held-out architectures (the learned ensemble was fitted on the "
            "others); the difference with a paired bootstrap interval; published records are "
            "over all architectures.</p>",
        ]
    parts.append("</section>")
    recs = records_table(page.result, page.curve, target, page.config.space)
    if len(recs):
        parts.append(_details(
            _records_line(recs),
            recs.to_html(index=False, classes="headline", border=0)
            + f"<p>{html.escape(RECORDS_NOTE)}</p>",
        ))  # fmt: skip
    headline = _headline(page.paired or {}, target, page.config.space)
    protocol = _protocol(page.config, page.frame, page.left_out)
    parts.append(_details(
        "Protocol and headline in words",
        "<ul>" + "".join(f"<li>{html.escape(line[2:])}</li>" for line in protocol + headline)
        + "</ul>",
    ))  # fmt: skip
    parts.append("<h2>Figures</h2>")
    parts += [_img(fig) for fig in page.figures]
    parts.append("<h2>Tables</h2>")
    parts += [
        _details(f"{title} ({len(table)} rows)", table.to_html(index=False))
        for title, table in page.detail_tables()
    ]
    for sec in page.sections:
        parts += [f"<h2>{html.escape(sec.title)}</h2>", f"<p>{html.escape(sec.intro)}</p>"]
        parts += [_details(caption, table.to_html(index=False)) for caption, table in sec.tables]
        parts += [_img(fig) for fig in sec.figures]
    # lets a headless browser confirm every figure decoded and the summary fits the first
    # screen: `make report-check`
    parts.append(
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "const b=document.body.dataset;b.images=imgs.length;b.imagesBroken="
        "imgs.filter(i=>!i.complete||i.naturalWidth===0).length;const s=document."
        "getElementById('summary');const y=Math.ceil(s.getBoundingClientRect().bottom);"
        "b.summaryFits=y<=window.innerHeight?'yes':'no';b.summaryBottom=y;"
        "b.viewport=window.innerHeight;});</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
