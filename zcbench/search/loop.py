"""Running searchers against the table oracle: traces, summaries over runs, anytime plots.

Each run gets a fresh :class:`~zcbench.search.oracle.Oracle` and a searcher seeded with
``seed + run``. The trace records every ground-truth query: the architecture, its search
signal, and the incumbent (the best signal so far among feasible architectures) with its
200-epoch test accuracy, joined from the table *after* the searcher has seen the signal (the
searcher never sees test accuracy). A searcher that keeps asking for architectures already
queried (free, cached) for 10,000 asks in a row is stopped with an error rather than spinning.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats
from tqdm.auto import tqdm

from zcbench.errors import ZCBenchError, shown
from zcbench.search.journal import RunJournal
from zcbench.search.oracle import DEFAULT_SIGNAL, Oracle
from zcbench.searchers import get_searcher
from zcbench.spaces.base import SearchSpace
from zcbench.tables.benchmarks import BenchmarkTable

#: NB201's final metric (a table names its own: ``BenchmarkTable.final_metric``)
FINAL_METRIC = "test_acc_200ep"
MAX_FREE_ASKS = 10_000


def parse_searcher(spec: str) -> tuple[type, dict[str, int | float | str]]:
    """``NAME[:KEY=VALUE[:KEY=VALUE...]]`` (e.g. ``zc:n=1000``) -> (class, options); the
    options are checked against the searcher's constructor."""
    name, *parts = spec.strip().split(":")
    cls = get_searcher(name)
    fixed = ("self", "space", "seed")
    params = inspect.signature(cls.__init__).parameters
    accepted = [p for p in params if p not in fixed]
    options: dict[str, int | float | str] = {}
    for part in parts:
        key, sep, text = part.partition("=")
        if not sep or key not in accepted:
            raise ZCBenchError(
                f"bad searcher option {shown(part)} in {shown(spec)}; {name} takes "
                + (", ".join(f"{k}=VALUE" for k in accepted) or "no options")
            )
        if isinstance(params[key].default, str):  # a word option (zc's pool=, agg=)
            options[key] = text
            continue
        try:
            options[key] = int(text)
        except ValueError:
            try:
                options[key] = float(text)
            except ValueError:
                raise ZCBenchError(
                    f"searcher option {key} takes a number; got {shown(text)}"
                ) from None
    return cls, options


def run_once(
    searcher_name: str,
    space: SearchSpace,
    table: BenchmarkTable,
    dataset: str,
    budget: int,
    seed: int,
    *,
    signal: str = DEFAULT_SIGNAL,
    max_latency: dict[str, float] | None = None,
    proxy_source=None,
    options: dict | None = None,
    trainer=None,
) -> pd.DataFrame:
    """One run: a trace with one row per ground-truth query. ``searcher_name`` may carry
    options, ``zc:n=1000`` (see :func:`parse_searcher`)."""
    oracle = Oracle(
        space,
        table,
        dataset,
        budget,
        signal=signal,
        max_latency=dict(max_latency or {}),
        proxy_source=proxy_source,
        trainer=trainer,
    )
    cls, parsed = parse_searcher(searcher_name)
    try:
        searcher = cls(space, seed=seed, **parsed, **(options or {}))
    except ValueError as exc:
        raise ZCBenchError(f"{searcher_name}: {exc}") from None
    searcher.bind(oracle)
    rows = []
    best_index, best_signal = None, -math.inf
    free = 0
    while oracle.remaining > 0:
        arch = searcher.ask()
        before = oracle.queries
        value = oracle.query(arch)  # validates the architecture (ArchError if not in space)
        searcher.tell(arch, value)
        if oracle.queries == before:
            free += 1
            if free >= MAX_FREE_ASKS:
                raise ZCBenchError(
                    f"searcher {searcher_name!r} asked {MAX_FREE_ASKS} times in a row for "
                    "architectures it had already queried"
                )
            continue
        free = 0
        index = space.index(arch)
        if math.isfinite(value) and value > best_signal:
            best_index, best_signal = index, value
        rows.append(
            {
                "step": oracle.queries,
                "index": index,
                "arch": space.to_str(arch),
                "signal": value,
                "incumbent": best_index,
                "incumbent_signal": best_signal if best_index is not None else math.nan,
                "incumbent_test_acc": (
                    oracle.final(best_index) if best_index is not None else math.nan
                ),
                "proxy_evaluations": oracle.proxy_evaluations,
                "prefilter_evaluations": oracle.prefilter_evaluations,
            }
        )
    return pd.DataFrame(rows)


def run_many(
    searcher_name: str,
    space: SearchSpace,
    table: BenchmarkTable,
    dataset: str,
    budget: int,
    runs: int,
    seed: int = 0,
    progress: bool = True,
    **kwargs,
) -> pd.DataFrame:
    traces = [
        run_once(searcher_name, space, table, dataset, budget, seed + run, **kwargs)
        for run in tqdm(range(runs), desc=f"{searcher_name}/{dataset}", disable=not progress)
    ]
    return stack_runs(traces, searcher_name, dataset, budget)


def stack_runs(
    traces: Sequence[pd.DataFrame], searcher_name: str, dataset: str, budget: int
) -> pd.DataFrame:
    """One trace from the traces of runs 0, 1, ... of one searcher, dataset and budget."""
    traces = [trace.assign(run=run) for run, trace in enumerate(traces)]
    out = pd.concat(traces, ignore_index=True)
    out = out[["run", *(c for c in out.columns if c != "run")]]
    out.insert(0, "budget", budget)
    out.insert(0, "dataset", dataset)
    out.insert(0, "searcher", searcher_name)
    return out


def mean_interval(
    values: Sequence[float], level: float = 0.95
) -> tuple[float, float, float, float]:
    """(mean, std, lo, hi): Student-t interval of the mean."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (math.nan,) * 4
    mean, std = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
    if len(v) < 2:
        return mean, std, math.nan, math.nan
    half = stats.t.ppf((1 + level) / 2, len(v) - 1) * std / math.sqrt(len(v))
    return mean, std, mean - half, mean + half


def difference_interval(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> tuple[float, float, float]:
    """(mean(a) - mean(b), lo, hi): Welch's t interval of the difference of two means from
    independent runs (NaN when either side has fewer than two finite values)."""
    a, b = (np.asarray(v, dtype=float) for v in (a, b))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return (math.nan,) * 3
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf((1 + level) / 2, dof) * math.sqrt(va + vb))
    return diff, diff - half, diff + half


#: the baseline every searcher is compared with in the summary, where it ran
BASELINE = "rea"


def summarise(trace: pd.DataFrame, table: BenchmarkTable) -> pd.DataFrame:
    """One row per (searcher, dataset, budget): the final incumbent's test accuracy over runs,
    and, where REA ran on the same dataset and budget, the difference from REA's mean with
    Welch's 95% interval (``vs_rea``, ``vs_rea_lo``, ``vs_rea_hi``)."""
    lasts = {
        key: group.sort_values("step").groupby("run").tail(1)
        for key, group in trace.groupby(["searcher", "dataset", "budget"], sort=False)
    }
    rows = []
    for (searcher, dataset, budget), last in lasts.items():
        mean, std, lo, hi = mean_interval(last["incumbent_test_acc"])
        base = lasts.get((BASELINE, dataset, budget))
        diff, diff_lo, diff_hi = (
            difference_interval(last["incumbent_test_acc"], base["incumbent_test_acc"])
            if base is not None and searcher != BASELINE
            else (math.nan,) * 3
        )
        optimum = float(table.get(dataset, table.final_metric).max())
        rows.append(
            {
                "searcher": searcher,
                "dataset": dataset,
                "budget": int(budget),
                "runs": int(last["run"].nunique()),
                "mean_test_acc": round(mean, 3),
                "std_test_acc": round(std, 3),
                "ci_lo": round(lo, 3),
                "ci_hi": round(hi, 3),
                "mean_regret": round(optimum - mean, 3),
                "optimum": optimum,
                "mean_proxy_evaluations": float(last["proxy_evaluations"].mean()),
                "mean_prefilter_evaluations": float(
                    last.get("prefilter_evaluations", pd.Series(0.0)).mean()
                ),
                "vs_rea": round(diff, 3),
                "vs_rea_lo": round(diff_lo, 3),
                "vs_rea_hi": round(diff_hi, 3),
            }
        )
    return pd.DataFrame(rows)


def anytime_figure(
    trace: pd.DataFrame, dataset: str, budget: int, final_metric: str = FINAL_METRIC
) -> Figure:
    """Incumbent test accuracy vs ground-truth queries: mean and 95% interval over runs."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    sub = trace[(trace["dataset"] == dataset) & (trace["budget"] == budget)]
    for searcher, group in sub.groupby("searcher", sort=False):
        wide = group.pivot(index="step", columns="run", values="incumbent_test_acc").ffill()
        stats_rows = [mean_interval(row.to_numpy()) for _, row in wide.iterrows()]
        mean = np.array([r[0] for r in stats_rows])
        lo = np.array([r[2] for r in stats_rows])
        hi = np.array([r[3] for r in stats_rows])
        (line,) = ax.plot(wide.index, mean, label=f"{searcher} ({wide.shape[1]} runs)")
        ax.fill_between(wide.index, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("ground-truth queries")
    ax.set_ylabel(f"incumbent {final_metric}")
    ax.set_title(f"{dataset}, budget {budget}: mean and 95% interval over runs", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@dataclass
class SearchJob:
    """Everything ``zcbench search`` runs: every searcher x dataset x budget, ``runs`` each."""

    searchers: Sequence[str]
    datasets: Sequence[str] = ("cifar10",)
    budgets: Sequence[int] = (100,)
    runs: int = 100
    seed: int = 0
    #: what the searcher sees; None: the table's own (NB201: valid_acc_12ep)
    signal: str | None = None
    max_latency: dict[str, float] = field(default_factory=dict)
    #: proxy (or comma-separated ensemble) of the zero-cost guided searchers
    proxy: str = "naswot"
    #: the store their scores are read from and cached in
    store: str = "results.db"
    proxy_seed: int = 0
    batch_size: int = 64
    device: str = "cpu"
    #: how the guided searchers' missing proxy scores are computed (as ``zcbench score``)
    executor: str = "local"
    workers: int = 1
    address: str | None = None
    #: torch threads for scoring, per worker (None: torch's, divided among the workers)
    threads: int | None = None
    #: runs side by side in this many processes (:mod:`zcbench.search.workers`)
    run_workers: int = 1
    #: read every member of ``proxy`` through these datasets' minibatches, side by side, for
    #: every target dataset (a pooled rule, reports/ensemble_dev/POOLED.md); empty: the
    #: target dataset's own
    pool_datasets: tuple[str, ...] = ()

    def proxy_sources(
        self,
        store,
        space: SearchSpace,
        datasets: Sequence[str],
        *,
        data_dir=None,
        progress: bool = True,
        in_process: bool = False,
    ) -> dict:
        """One :class:`~zcbench.search.proxy_source.StoreProxySource` per dataset on
        ``store``, in this job's scoring configuration (with ``pool_datasets``, a
        :class:`~zcbench.search.proxy_source.PooledProxySource` reading those datasets');
        ``in_process``: scoring in the calling process (a run worker's), with ``threads``
        threads."""
        from zcbench.search.proxy_source import PooledProxySource, StoreProxySource

        execution = dict(executor=self.executor, workers=self.workers, address=self.address)
        if in_process:
            execution = dict(executor="local", workers=1, address=None)

        def source(ds: str) -> StoreProxySource:
            return StoreProxySource(
                store, space, ds, self.proxy, seed=self.proxy_seed, batch_size=self.batch_size,
                device=self.device, data_dir=data_dir, progress=progress,
                threads=self.threads, **execution,
            )  # fmt: skip

        if not self.pool_datasets:
            return {ds: source(ds) for ds in datasets}
        out = {}
        for ds in datasets:
            parts = {d: source(d) for d in self.pool_datasets}
            out[ds] = PooledProxySource(parts, parts.get(ds) or source(ds))
        return out


def run_search(
    job: SearchJob,
    space: SearchSpace,
    table: BenchmarkTable,
    out: str | Path,
    *,
    data_dir=None,
    progress: bool = True,
    trainer=None,
) -> pd.DataFrame:
    """Run the job; write ``trace.csv``, ``summary.csv``, ``search.md`` and anytime plots into
    ``out``; return the summary. ``trainer`` (a :class:`~zcbench.training.truth.TrainedTruth`)
    trains the architectures a measured table lacks when they are queried."""
    from zcbench.tables.datasets import dataset_info

    if table.space != space.name:
        raise ZCBenchError(
            f"search of {space.name} needs its ground truth; the table given is {table.space}'s "
            "(for a space without a benchmark: zcbench verify, then --truth DIR)"
        )
    datasets = [dataset_info(d).name for d in job.datasets]
    if job.pool_datasets:
        pooled = tuple(dict.fromkeys(dataset_info(d).name for d in job.pool_datasets))
        job = replace(job, pool_datasets=pooled)
    guided = [n for n in job.searchers if parse_searcher(n)[0].needs_proxy]
    signal = job.signal or table.signal
    if signal not in table.metrics:
        raise ZCBenchError(
            f"unknown signal {shown(signal)}; expected one of {', '.join(table.metrics)}"
        )
    missing = [d for d in datasets if d not in table.datasets]
    if missing:
        raise ZCBenchError(
            f"the {space.name} ground truth has no {missing[0]}; it covers "
            + ", ".join(table.datasets)
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    limits = dict(job.max_latency)
    print(
        f"searching {space.name} with {', '.join(job.searchers)} on {', '.join(datasets)}: "
        f"budgets {', '.join(map(str, job.budgets))} queries of {signal}, {job.runs} runs "
        f"each, seeds {job.seed}..{job.seed + job.runs - 1}"
        + (f", latency {limits}" if limits else "")
    )
    if job.run_workers > 1 and trainer is not None:
        raise ZCBenchError(
            "runs side by side (--run-workers) need a tabulated ground truth; with --truth "
            "the runs go one at a time (a query may train an architecture into the table)"
        )
    if job.run_workers > 1 and not job.threads and job.executor == "local":
        # one thread count for every score stored
        import torch

        job = replace(job, threads=max(1, torch.get_num_threads() // job.run_workers))
    store = None
    sources = {}
    if guided:
        from zcbench.engine.store import ResultStore

        store = ResultStore(job.store)
        sources = job.proxy_sources(store, space, datasets, data_dir=data_dir, progress=progress)
        print(
            f"zero-cost guided ({', '.join(guided)}): proxy {sources[datasets[0]].label}, "
            f"batch {job.batch_size}, seed {job.proxy_seed}; scores cached in {job.store}"
        )
    cells = [(name, ds, budget) for ds in datasets for budget in job.budgets
             for name in job.searchers]  # fmt: skip
    journal = RunJournal(out, _journal_settings(job, space, signal, limits, guided, trainer))
    done = journal.read()
    todo = [(cell, run) for cell in cells for run in range(job.runs) if (cell, run) not in done]
    if len(todo) < len(cells) * job.runs:
        print(
            f"resuming: {len(cells) * job.runs - len(todo)} of {len(cells) * job.runs} runs "
            f"read back from {journal.path}"
        )

    def record(cell: tuple[str, str, int], run: int, trace: pd.DataFrame) -> None:
        journal.add(cell, run, trace)
        done[cell, run] = trace

    def run_here(cell: tuple[str, str, int], run: int) -> None:
        name, ds, budget = cell
        record(cell, run, run_once(
            name, space, table, ds, budget, job.seed + run, signal=signal,
            max_latency=limits, trainer=trainer,
            proxy_source=sources[ds] if name in guided else None,
        ))  # fmt: skip

    scored_in_workers = 0
    try:
        with _cluster(job):
            if job.run_workers > 1:
                from zcbench.search.workers import run_side_by_side

                scored_in_workers = run_side_by_side(
                    job, todo, space, table, sources, record, run_here, store=store,
                    signal=signal, data_dir=data_dir, progress=progress,
                )  # fmt: skip
            else:
                bar = tqdm(todo, desc="runs", unit="run", disable=not progress or not todo)
                for cell, run in bar:
                    bar.set_postfix_str("/".join(map(str, cell)), refresh=False)
                    run_here(cell, run)
    finally:
        if store is not None:
            store.close()
    if sources:
        scored = sum(src.scored for src in sources.values())
        scored += scored_in_workers
        print(f"proxy scores: {scored:,} architectures scored now, the rest read from the store")
    traces = [stack_runs([done[cell, run] for run in range(job.runs)], *cell) for cell in cells]
    trace = pd.concat(traces, ignore_index=True)
    trace.to_csv(out / "trace.csv", index=False)
    summary = summarise(trace, trainer.table if trainer is not None else table)
    summary.to_csv(out / "summary.csv", index=False)
    for ds in datasets:
        for budget in job.budgets:
            fig = anytime_figure(trace, ds, budget, table.final_metric)
            fig.savefig(out / f"anytime_{ds}_{budget}.png", dpi=110)
    proxy_note = (
        f" Zero-cost guided searchers read {sources[datasets[0]].label} (batch "
        f"{job.batch_size}, seed {job.proxy_seed}) from {job.store}."
        if sources
        else ""
    )
    (out / "search.md").write_text(
        f"# Search: {', '.join(job.searchers)}\n\nSignal {signal} (the searcher's only "
        f"view of ground truth), budgets {list(job.budgets)} queries, {job.runs} runs, seed "
        f"{job.seed}; final metric: the last incumbent's {table.final_metric}.{proxy_note}\n\n"
        + summary.drop(columns=["optimum"]).to_markdown(index=False)
        + "\n\n"
        + "\n".join(f"![{ds} {b}](anytime_{ds}_{b}.png)" for ds in datasets for b in job.budgets)
        + "\n"
    )
    journal.finish()
    return summary


def _cluster(job: SearchJob):
    """With ``--executor ray``: one connection to the cluster (a local one started once) for
    the whole search, rather than one per scoring call; otherwise nothing."""
    if job.executor != "ray":
        return contextlib.nullcontext()
    from zcbench.engine.executors import ray_cluster

    return ray_cluster(job.address, max(job.workers, job.run_workers) * (job.threads or 1))


def _journal_settings(
    job: SearchJob, space: SearchSpace, signal: str, limits: dict, guided: list, trainer
) -> dict:
    """What a run's trace depends on besides its searcher, dataset, budget and number."""
    settings = dict(space=space.name, seed=job.seed, signal=signal, max_latency=limits)
    if trainer is not None:
        settings["truth"] = str(Path(trainer.folder).resolve())
    if guided:
        settings.update(
            proxy=job.proxy, proxy_seed=job.proxy_seed, batch_size=job.batch_size,
            device=job.device,
        )  # fmt: skip
        if job.pool_datasets:
            settings["pool_datasets"] = list(job.pool_datasets)
    return settings
