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

from zcbench.anchors import DATASETS as ANCHOR_DATASETS
from zcbench.anchors import HEADLINES
from zcbench.benchmarks import BenchmarkTable
from zcbench.correlate import (
    _top_set,
    correlation_table,
    paired_spearman_difference,
    panel_rows,
    proxy_matrix,
    redundant_with,
    signed_scores,
    wide_scores,
)
from zcbench.ensembles import (
    AZ_NAS_MEMBERS,
    VKDNW_AGG_MEMBERS,
    VOTE_MEMBERS,
    ZC_ENSEMBLE,
    az_nas,
    learned,
    learned_split,
    log_rank,
    mean_rank,
    vkdnw_agg,
    vote,
    zc_ensemble,
)
from zcbench.errors import ZCBenchError
from zcbench.graph_features import graph_features
from zcbench.predictors import label_curve, plot_label_curve, rank_features, summarise_curve
from zcbench.proxies import get_proxy
from zcbench.spaces import get_space
from zcbench.store import ResultStore

log = logging.getLogger(__name__)

DEFAULT_TARGETS: tuple[str, ...] = ("test_acc_200ep", "valid_acc_200ep", "test_acc_12ep")
#: size baselines: reported beside every proxy, left out of the ensembles' members
SIZE_BASELINES: tuple[str, ...] = ("params", "flops")
ENSEMBLES: tuple[str, ...] = (
    "vote", "mean_rank", "log_rank", "az_nas", "vkdnw_agg", "zc_ensemble", "learned"
)  # fmt: skip
#: published aggregations (and zcbench's label-free rule): name -> members that must be scored
FIXED_ENSEMBLES: dict[str, tuple[str, ...]] = {
    "az_nas": AZ_NAS_MEMBERS,
    "vkdnw_agg": (*VKDNW_AGG_MEMBERS, "vkdnw", "vkdnw_dim"),
    "zc_ensemble": ZC_ENSEMBLE,
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
) -> pd.DataFrame:
    """The ensembles as extra columns: vote (Abdelfattah's members, when scored), mean and
    log rank over every proxy except the size baselines, AZ-NAS, VKDNW_agg and zcbench's
    label-free ensemble (when their members are scored), learned over the first members
    (fitted on ``train``'s ``target``; left out when ``train`` is None)."""
    members = [c for c in scores.columns if c not in SIZE_BASELINES]
    out = {}
    if all(m in scores.columns for m in VOTE_MEMBERS):
        out["vote"] = vote(scores, directions, VOTE_MEMBERS)
    if len(members) >= 2:
        out["mean_rank"] = mean_rank(scores, directions, members)
        out["log_rank"] = log_rank(scores, directions, members)
    fixed = {"az_nas": az_nas, "vkdnw_agg": vkdnw_agg, "zc_ensemble": zc_ensemble}
    for name, needs in FIXED_ENSEMBLES.items():
        if set(needs) <= set(scores.columns):
            out[name] = fixed[name](scores, directions)
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


def topk_figure(
    scores: pd.DataFrame, target: pd.Series, directions: dict[str, bool], title: str
) -> Figure:
    """Top-k precision (share of the score's top k% that is in the target's top k%) for
    k = 1..50%, one line per column; the dashed line is what a random ranking gets."""
    ks = np.arange(1, 51)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    y_all = target.reindex(scores.index).to_numpy(dtype=float)
    signed = signed_scores(scores, directions)
    for col in scores.columns:
        s = signed[col].to_numpy()
        ok = np.isfinite(s) & np.isfinite(y_all)
        if ok.sum() < 10:
            continue
        prec = []
        for k in ks:
            p, t = _top_set(s[ok], k), _top_set(y_all[ok], k)
            prec.append((p & t).sum() / p.sum())
        style = "-" if col not in ENSEMBLES else "--"
        ax.plot(ks, prec, style, label=col, linewidth=1.2)
    ax.plot(ks, ks / 100, ":", color="grey", label="random")
    ax.set_xlabel("k (% of architectures)")
    ax.set_ylabel("top-k precision")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6, ncol=3)
    fig.tight_layout()
    return fig


def _label_curve(
    scores: pd.DataFrame,
    directions: dict[str, bool],
    target: pd.Series,
    config: ReportConfig,
    dataset: str,
) -> pd.DataFrame:
    """The few-label predictor's held-out Spearman per label count (zcbench.predictors):
    proxies + graph features at every count, each alone at 100 labels."""
    space = get_space(config.space)
    genotypes = pd.Series([space.from_index(int(i)).genotype for i in scores.index], scores.index)
    proxies = rank_features(signed_scores(scores, directions))
    graph = graph_features(genotypes)
    both = pd.concat([proxies, graph], axis=1)
    curve = label_curve({"proxies+graph": both}, target, repeats=config.label_curve_repeats)
    at_100 = label_curve(
        {"proxies": proxies, "graph": graph}, target, labels=(100,),
        repeats=config.label_curve_repeats,
    )  # fmt: skip
    return pd.concat([curve, at_100], ignore_index=True).assign(dataset=dataset)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)  # Figure without pyplot: the Agg canvas, no global state
    return path


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
    frame, left_out = panel_rows(frame)
    datasets = list(config.datasets or sorted(frame["dataset"].unique()))
    out.mkdir(parents=True, exist_ok=True)  # after the checks: a failed report leaves nothing
    all_rows, figures, matrices, paired, curves = [], [], {}, {}, []
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
        ens = ensemble_scores(scores, directions, primary, train)
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
        figures.append(
            (
                f"{dataset}: proxy vs {config.targets[0]}",
                _save(
                    scatter_figure(
                        everything.drop(columns="learned", errors="ignore"),
                        primary,
                        main_rows,
                        f"{dataset}: score vs {config.targets[0]} (n = {len(scores)})",
                    ),
                    out / f"scatter_{dataset}.png",
                ),
            )
        )
        figures.append(
            (
                f"{dataset}: proxy-proxy correlation",
                _save(
                    heatmap_figure(matrices[dataset], f"{dataset}: signed Spearman, proxy pairs"),
                    out / f"heatmap_{dataset}.png",
                ),
            )
        )
        figures.append(
            (
                f"{dataset}: top-k precision",
                _save(
                    topk_figure(
                        everything.drop(columns="learned", errors="ignore"),
                        primary,
                        directions,
                        f"{dataset}: top-k precision vs {config.targets[0]}",
                    ),
                    out / f"topk_{dataset}.png",
                ),
            )
        )
    result = pd.concat(all_rows, ignore_index=True)
    result.insert(0, "space", config.space)
    # a proxy whose ranking duplicates another's (signed Spearman >= 0.98 over the dataset)
    redundancy = {d: redundant_with(m) for d, m in matrices.items()}
    result["redundant_with"] = [
        ", ".join(redundancy.get(d, {}).get(p, []))
        for d, p in zip(result["dataset"], result["proxy"])
    ]
    result.to_csv(out / "correlations.csv", index=False)
    bars_rows = result[(result["subset"] == "all") & (result["target"] == config.targets[0])]
    figures.insert(
        0,
        (
            f"signed Spearman vs {config.targets[0]}",
            _save(
                bars_figure(bars_rows, f"Signed Spearman vs {config.targets[0]}, all archs"),
                out / "bars.png",
            ),
        ),
    )
    if curves:
        curve = pd.concat(curves, ignore_index=True)
        curve.to_csv(out / "label_curve.csv", index=False)
        summary = pd.concat(
            [summarise_curve(g).assign(dataset=d) for d, g in curve.groupby("dataset", sort=False)]
        )
        summary.round(4).to_csv(out / "label_curve_summary.csv", index=False)
        graf = {d: HEADLINES["few-label record"][0][i] for i, d in enumerate(ANCHOR_DATASETS)}
        figures.insert(
            1,
            (
                "few-label predictor: label curve",
                _save(plot_label_curve(summary, graf), out / "label_curve.png"),
            ),
        )
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2, default=str) + "\n")
    sections = [_section(kind, d, out) for kind, d in (("search", config.search),
                ("verify", config.verify)) if d]  # fmt: skip
    left_out = {d: n for d, n in left_out.items() if n and d in datasets}
    markdown = _markdown(result, config, frame, figures, sections, left_out, paired)
    (out / "report.md").write_text(markdown)
    page = _html(result, config, frame, figures, sections, left_out, paired)
    (out / "report.html").write_text(page)
    return result


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
    figures: list[tuple[str, Path]]


def _section(kind: str, directory: str, out: Path) -> Section:
    """A ``zcbench search`` or ``zcbench verify`` output folder as a report section (its
    figures copied into the report folder)."""
    src = Path(directory)
    need = {"search": "summary.csv", "verify": "verify.csv"}[kind]
    if not (src / need).is_file():
        raise ZCBenchError(f"no {need} in {src}; expected the output of 'zcbench {kind}'")
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
        figures.append((f"{title}: {png.stem}", target))
    return Section(title, intro_md.strip(), tables, figures)


def _summary_table(result: pd.DataFrame, dataset: str, target: str, subset: str) -> pd.DataFrame:
    rows = result[
        (result["dataset"] == dataset) & (result["target"] == target) & (result["subset"] == subset)
    ]
    cols = [
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
        "redundant_with",
    ]
    return rows[cols].sort_values("spearman", ascending=False).round(3)


#: the state of the art an ensemble is read against (shared/docs/anchors.md): AZ-NAS (Lee &
#: Ham, CVPR'24), signed Spearman vs test_acc_200ep over all NB201 CIFAR-10 architectures
AZ_NAS = {("cifar10", "test_acc_200ep"): 0.913}


def _best_ensemble_vs_best_proxy(rows, scores, directions, target, config) -> dict | None:
    """The best ensemble and the best single proxy of these held-out rows, and the paired
    bootstrap interval of their difference on the same architectures."""
    rows = rows.dropna(subset=["spearman"])
    is_ens = rows["proxy"].isin(ENSEMBLES)
    if not is_ens.any() or is_ens.all():
        return None
    best_e = rows[is_ens].sort_values("spearman").iloc[-1]
    best_p = rows[~is_ens].sort_values("spearman").iloc[-1]

    signed = signed_scores(scores, directions, [best_e.proxy, best_p.proxy])
    diff, lo, hi = paired_spearman_difference(
        signed[best_e.proxy], signed[best_p.proxy], target, n_boot=config.n_boot,
        seed=config.seed,
    )  # fmt: skip
    return {"ensemble": best_e, "proxy": best_p, "diff": diff, "lo": lo, "hi": hi}


def _headline(paired: dict, target: str) -> list[str]:
    """Per dataset, on the held-out architectures: the best ensemble against the best single
    proxy, with intervals (and AZ-NAS's published value where there is one)."""
    lines = []
    for dataset, p in paired.items():
        if p is None:
            continue
        e, s = p["ensemble"], p["proxy"]
        verdict = "beats" if p["lo"] > 0 else ("is below" if p["hi"] < 0 else "is level with")
        pub = AZ_NAS.get((dataset, target))
        pub_note = (
            f"; AZ-NAS (CVPR'24, its own four proxies, all architectures): {pub:.3f}"
            if pub is not None
            else ""
        )
        lines.append(
            f"- {dataset}, {int(e.n)} held-out architectures: `{e.proxy}` {e.spearman:.3f} "
            f"[{e.spearman_lo:.3f}, {e.spearman_hi:.3f}] {verdict} the best single proxy "
            f"`{s.proxy}` {s.spearman:.3f} [{s.spearman_lo:.3f}, {s.spearman_hi:.3f}]: "
            f"difference {p['diff']:+.3f} [{p['lo']:+.3f}, {p['hi']:+.3f}] (paired bootstrap)"
            f"{pub_note}"
        )
    return lines


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


def _markdown(result, config, frame, figures, sections=(), left_out=None, paired=None) -> str:
    lines = ["# zcbench correlation report", "", "## Protocol", ""]
    lines += _protocol(config, frame, left_out)
    target = config.targets[0]
    if headline := _headline(paired or {}, target):
        lines += ["", f"## Ensembles vs the best single proxy ({target}, held out)", ""]
        lines += headline
    for dataset in dict.fromkeys(result["dataset"]):
        for subset in dict.fromkeys(result.loc[result["dataset"] == dataset, "subset"]):
            if subset == "unique":
                continue
            lines += [
                "",
                f"## {dataset}: vs {target}, {subset}",
                "",
                _summary_table(result, dataset, target, subset).to_markdown(index=False),
            ]
    lines += ["", "## Figures", ""]
    lines += [f"![{title}]({path.name})" for title, path in figures]
    for sec in sections:
        lines += ["", f"## {sec.title}", "", sec.intro]
        for caption, table in sec.tables:
            lines += ["", f"{caption}:", "", table.to_markdown(index=False)]
        lines += [""] + [f"![{title}]({path.name})" for title, path in sec.figures]
    return "\n".join(lines) + "\n"


def _img(title: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f"<h3>{html.escape(title)}</h3><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{data}'>"
    )


def _html(result, config, frame, figures, sections=(), left_out=None, paired=None) -> str:
    target = config.targets[0]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>zcbench report</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>",
        "<h1>zcbench correlation report</h1><h2>Protocol</h2><ul>",
    ]
    parts += [f"<li>{html.escape(line[2:])}</li>" for line in _protocol(config, frame, left_out)]
    parts.append("</ul>")
    if headline := _headline(paired or {}, target):
        parts.append(f"<h2>Ensembles vs the best single proxy ({target}, held out)</h2><ul>")
        parts += [f"<li>{html.escape(line[2:])}</li>" for line in headline]
        parts.append("</ul>")
    for dataset in dict.fromkeys(result["dataset"]):
        for subset in dict.fromkeys(result.loc[result["dataset"] == dataset, "subset"]):
            if subset == "unique":
                continue
            parts.append(f"<h2>{html.escape(dataset)}: vs {target}, {subset}</h2>")
            parts.append(_summary_table(result, dataset, target, subset).to_html(index=False))
    parts.append("<h2>Figures</h2>")
    parts += [_img(title, path) for title, path in figures]
    for sec in sections:
        parts += [f"<h2>{html.escape(sec.title)}</h2>", f"<p>{html.escape(sec.intro)}</p>"]
        for caption, table in sec.tables:
            parts += [f"<h3>{html.escape(caption)}</h3>", table.to_html(index=False)]
        parts += [_img(title, path) for title, path in sec.figures]
    # lets a headless browser confirm every figure decoded: `make report-check`
    parts.append(
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "document.body.dataset.images=imgs.length;document.body.dataset.imagesBroken="
        "imgs.filter(i=>!i.complete||i.naturalWidth===0).length;});</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
