"""The ``zcbench`` command line.

Every error caused by input prints one line ``zcbench: error: ...`` and exits with status 2;
``--debug`` shows the traceback instead. Progress bars go to stderr, results to files/stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence

from zcbench import __version__
from zcbench.errors import ZCBenchError, shown

log = logging.getLogger("zcbench")

SPACE_HELP = (
    "search space: nb201, nats-sss, a registered or plug-in name (zcbench spaces), or a class "
    "path my_pkg.spaces:MySpace (default: nb201)"
)
TRUTH_HELP = (
    "ground truth measured by 'zcbench verify' (its output folder) for a space without a "
    "tabulated benchmark"
)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (usage stays available through --help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"zcbench: error: {message} (see '{self.prog} --help')\n")


def at_least(minimum: int):
    """An argparse type: an integer >= ``minimum``, checked when the command line is parsed
    (so no long job starts on a bad number)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}; got {shown(text)}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}; got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {shown(text)}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text}")
    return value


@contextlib.contextmanager
def _new_file_removed_if_empty(path: str) -> Iterator[None]:
    """A store this command creates is removed again if the command fails before writing a
    row (a bad batch size, say): failed commands leave nothing behind."""
    from pathlib import Path

    existed = Path(path).exists()
    try:
        yield
    except BaseException:
        if not existed and Path(path).is_file():
            import sqlite3

            try:
                with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
                    empty = c.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0
            except sqlite3.DatabaseError:
                empty = False
            if empty:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise


def _positive_list(text: str, what: str) -> list[int]:
    """``100,300`` -> [100, 300]; anything but positive integers is a one-line error."""
    out = []
    for part in str(text).split(","):
        try:
            value = int(part)
        except ValueError:
            value = 0
        if value < 1:
            raise ZCBenchError(
                f"bad {what} {shown(part)}; expected positive integers separated by commas"
            )
        out.append(value)
    return out


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt (as Ctrl-C does) while the block runs: the run stops
    through its cleanup (stored results kept, worker processes stopped) instead of dying."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


# -- commands ------------------------------------------------------------------------------
def cmd_spaces(args: argparse.Namespace) -> int:
    from zcbench.spaces import get_space, list_spaces

    print(f"{'space':<13} {'size':>7} {'unique':>7}  description")
    for name in list_spaces():  # built-in, registered and entry-point spaces
        space = get_space(name, args.data)
        if name == "nb201":  # canonical classes need no data: enumerate genotypes directly
            import itertools

            from zcbench.spaces.nb201 import NUM_EDGES, NUM_OPS, canonical_nb201

            keys = {canonical_nb201(g) for g in itertools.product(range(NUM_OPS), repeat=NUM_EDGES)}
            size, unique = f"{len(space):,}", f"{len(keys):,}"
        elif space.enumerable:
            keys = {space.canonical(space.from_index(i)) for i in range(len(space))}
            size, unique = f"{len(space):,}", f"{len(keys):,}"
        else:
            size = unique = "-"
        print(f"{name:<13} {size:>7} {unique:>7}  {space.description}")
        print(f"{'':<13} {'':>7} {'':>7}  e.g. {space.example}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from zcbench.costs import cost_table
    from zcbench.datasets import dataset_info
    from zcbench.selection import parse_selection, sample_indices
    from zcbench.spaces import get_space

    space = get_space(args.space, args.data)
    info = dataset_info(args.dataset)
    if args.archs is not None:  # an empty --archs is an error, not everything
        archs = parse_selection(space, args.archs)
    elif args.sample:
        archs = sample_indices(space, args.sample, args.seed)
    else:
        archs = [space.from_index(i) for i in range(len(space))]
    start = time.perf_counter()
    table = cost_table(
        args.space,
        archs,
        info.name,
        data_dir=args.data,
        workers=args.workers,
        progress=not args.quiet,
    )
    elapsed = time.perf_counter() - start
    if args.out == "-":
        table.to_csv(sys.stdout, index=False, float_format="%.6f")
    else:
        table.to_csv(args.out, index=False, float_format="%.6f")
        print(
            f"wrote {len(table):,} {space.name} architectures ({info.name}: "
            f"{info.num_classes} classes, {info.input_size}x{info.input_size}) to {args.out} "
            f"in {elapsed:.1f} s; params {table.params_m.min():.6f}..{table.params_m.max():.6f} M, "
            f"FLOPs {table.flops_m.min():.3f}..{table.flops_m.max():.3f} M"
        )
    return 0


def _print_best(result, target: str, indent: str = "", reference=None) -> None:
    """The leaderboard vs ``target`` as a compact table (beside a reference run's, if given)."""
    from zcbench.report import leaderboard, leaderboard_text

    ref = leaderboard(reference, target) if reference is not None else None
    text = leaderboard_text(leaderboard(result, target), target, ref)
    print("\n".join(indent + line for line in text.splitlines()))


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.bench import (
        BenchConfig,
        PipelineConfig,
        bench_sample,
        reference_lines,
        reference_result,
        run_foundation,
        run_pipeline,
    )
    from zcbench.benchmarks import load_nb201_table
    from zcbench.report import ReportConfig, build_report
    from zcbench.runner import package_versions
    from zcbench.spaces import get_space

    pipe = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    if args.params_sample is not None:
        pipe.params_sample = args.params_sample
    if args.sample is not None:
        pipe.sample = args.sample
    if get_space(pipe.space, args.data).name != "nb201":  # no tabulated benchmark
        print(f"zcbench bench: {pipe.space} has no tabulated benchmark; running its study")
        return _run_study(pipe.study(), args.out, args)
    cfg = BenchConfig(
        out=args.out,
        data_dir=args.data,
        params_sample=pipe.params_sample,
        seed=args.seed,
        workers=args.workers,
        progress=not args.quiet,
    )
    print(
        f"zcbench bench -> {cfg.out}\n"
        f"  1. foundation checks (params sample {cfg.params_sample}, seed {cfg.seed}, "
        f"{cfg.workers} workers)"
    )
    if not args.foundation_only:
        print(
            f"  2. scoring {pipe.sample} {pipe.space} architectures (sample seed "
            f"{pipe.sample_seed}) on {', '.join(pipe.datasets)} with proxies {pipe.proxies!r}, "
            f"batch {pipe.batch_size}, seed {pipe.seed}\n"
            f"  3. search: {', '.join(pipe.searchers) or 'skipped'} on {pipe.datasets[0]}, "
            f"{pipe.search_budget} queries, {pipe.search_runs} runs (proxy {pipe.search_proxy})\n"
            f"  4. correlation report vs {', '.join(pipe.targets)} ({pipe.bootstrap} bootstrap "
            f"resamples, learned ensemble on {pipe.learned_labels} labels)"
        )
    start = time.perf_counter()
    checks, out = run_foundation(cfg)
    for row in checks.itertuples():
        print(f"  [{row.status:>4}] {row.check}: {row.measured}")
    failed = int((checks.status != "ok").sum())
    print(
        f"{len(checks) - failed}/{len(checks)} checks passed in "
        f"{time.perf_counter() - start:.0f} s; checks: {out / 'bench.md'}"
    )
    if args.foundation_only:
        return 1 if failed else 0
    summaries = run_pipeline(pipe, out, args.data, progress=not args.quiet)
    for dataset, summary in summaries.items():
        print(
            f"  scored {dataset}: {summary.scored} new, {summary.skipped} already stored, "
            f"{summary.seconds:.0f} s"
        )
    search_dir = None
    if pipe.searchers:
        from zcbench.search import SearchJob, run_search

        search_dir = str(Path(out) / "search")
        job = SearchJob(
            searchers=pipe.searchers, datasets=[pipe.datasets[0]], budgets=[pipe.search_budget],
            runs=pipe.search_runs, seed=pipe.seed, proxy=pipe.search_proxy,
            store=str(Path(out) / "scores.db"), proxy_seed=pipe.seed, batch_size=pipe.batch_size,
        )  # fmt: skip
        summary = run_search(
            job, get_space(pipe.space, args.data), load_nb201_table(args.data), search_dir,
            data_dir=args.data, progress=not args.quiet,
        )  # fmt: skip
        for row in summary.itertuples():
            vs_rea = (
                f"; vs REA {row.vs_rea:+.2f} [{row.vs_rea_lo:+.2f}, {row.vs_rea_hi:+.2f}]"
                if row.vs_rea == row.vs_rea
                else ""
            )
            print(
                f"  search {row.searcher}: {row.mean_test_acc:.2f} [{row.ci_lo:.2f}, "
                f"{row.ci_hi:.2f}] test accuracy after {row.budget} queries ({row.runs} runs)"
                f"{vs_rea}"
            )
    report = ReportConfig(
        store=str(Path(out) / "scores.db"),
        space=pipe.space,
        datasets=list(summaries),
        targets=pipe.targets,
        seed=pipe.seed,
        batch_size=pipe.batch_size,
        n_boot=pipe.bootstrap,
        learned_labels=pipe.learned_labels,
        packages=package_versions(),
        search=search_dir,
        archs=bench_sample(pipe, args.data),
    )
    result = build_report(report, load_nb201_table(args.data), out)
    reference = reference_result(args.reference, out)
    _print_best(result, pipe.targets[0], indent="  ", reference=reference)
    print("\n".join("  " + line for line in reference_lines(args.reference, out)))
    print(
        f"done in {time.perf_counter() - start:.0f} s; report: {Path(out) / 'report.html'} "
        f"(also report.md, correlations.csv)"
    )
    return 1 if failed else 0


def _run_study(cfg, out: str, args: argparse.Namespace) -> int:
    from zcbench.study import leaderboard_lines, run_study

    recipe = cfg.recipe()
    print(
        f"zcbench study -> {out}\n"
        f"  1. scoring {cfg.sample} {cfg.space} architectures (sample seed {cfg.sample_seed}) on "
        f"{cfg.dataset} with proxies {cfg.proxies!r}, batch {cfg.batch_size}, seed {cfg.seed}\n"
        f"  2. ground truth by training each: {recipe.epochs} epochs on {recipe.train_size} "
        f"training images ({recipe.valid_size} held out for validation), batch "
        f"{recipe.batch_size}, lr {recipe.lr}, {cfg.device}\n"
        f"  3. correlation report vs the measured test accuracy ({cfg.bootstrap} bootstrap "
        "resamples)"
    )
    summary = run_study(cfg, out, data_dir=args.data, progress=not args.quiet)
    print(f"which proxy to trust on {cfg.space} (signed Spearman vs the measured accuracy):")
    print("\n".join(leaderboard_lines(summary)))
    times = ", ".join(f"{k} {v:.0f} s" for k, v in summary["timings_s"].items())
    print(f"done in {summary['total_s'] / 60:.1f} min ({times}); report: {out}/report.html")
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from zcbench.study import StudyConfig

    cfg = StudyConfig(
        space=args.space, dataset=args.dataset, sample=args.sample,
        sample_seed=args.sample_seed, proxies=args.proxies, seed=args.seed,
        batch_size=args.batch_size, epochs=args.epochs, train_size=args.train_size,
        valid_size=args.valid_size, train_batch_size=args.train_batch_size, lr=args.lr,
        device=args.device, bootstrap=args.bootstrap,
    )  # fmt: skip
    return _run_study(cfg, args.out, args)


def cmd_proxies(args: argparse.Namespace) -> int:
    import pandas as pd

    from zcbench.proxies import get_proxy, list_proxies

    names = list_proxies(args.pattern)
    if not names:
        raise ZCBenchError(f"no proxy matches {args.pattern!r}")
    rows = [get_proxy(n).as_row() for n in names]
    frame = pd.DataFrame(rows)
    if args.verbose:
        for row in rows:
            print(f"{row['proxy']} ({'higher' if row['higher_is_better'] else 'lower'} is better)")
            for key in (
                "kind",
                "cost",
                "needs_labels",
                "dtype",
                "removes_bn",
                "version",
                "paper",
                "formula",
                "departures",
            ):
                if row[key] not in ("", None):
                    print(f"  {key}: {row[key]}")
        return 0
    frame["direction"] = frame.pop("higher_is_better").map({True: "higher", False: "lower"})
    cols = ["proxy", "direction", "kind", "cost", "needs_labels", "dtype", "removes_bn", "paper"]
    print(frame[cols].to_string(index=False, max_colwidth=70))
    return 0


def _selection(space, args: argparse.Namespace) -> list:
    from zcbench.selection import parse_selection, sample_indices

    if args.archs is not None:
        return parse_selection(space, args.archs)
    if args.sample:
        return sample_indices(space, args.sample, args.sample_seed)
    if args.all:
        return list(space)
    raise ZCBenchError("no architectures selected; expected --archs SEL, --sample N or --all")


def _score_model(args: argparse.Namespace) -> int:
    """``zcbench score --model module:factory``: one model, printed (and --out CSV)."""
    import inspect

    from zcbench.data import minibatch
    from zcbench.datasets import dataset_info
    from zcbench.modelscore import score_model
    from zcbench.plugins import import_object

    if args.archs is not None or args.sample or args.all:
        raise ZCBenchError("--model scores one model; it takes no --archs, --sample or --all")
    info = dataset_info(args.dataset)
    factory = import_object(args.model, "model factory")
    if not callable(factory):
        raise ZCBenchError(
            f"model factory {args.model!r} is a {type(factory).__name__}, not callable"
        )
    try:
        takes_classes = "num_classes" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        takes_classes = False

    def build():
        return factory(num_classes=info.num_classes) if takes_classes else factory()

    batch = minibatch(info.name, args.batch_size, args.seed, sampling=args.sampling,
                      data_dir=args.data)  # fmt: skip
    if args.no_labels:
        batch = batch.without_labels()
    print(
        f"scoring {args.model} on {info.name} ({info.num_classes} classes"
        f"{', num_classes passed' if takes_classes else ''}), batch {args.batch_size}, seed "
        f"{args.seed}, {args.device}, {'unfused' if args.unfused else 'fused'}"
    )
    scores = score_model(
        build, batch, args.proxies, seed=args.seed, device=args.device,
        num_classes=info.num_classes, fused=not args.unfused, dtype=args.dtype,
    )  # fmt: skip
    frame = scores.to_frame()
    print(frame.to_string(index=False, max_colwidth=80))
    if args.out:
        frame.insert(0, "model", args.model)
        frame.insert(1, "dataset", info.name)
        frame.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:

    from zcbench.datasets import dataset_info
    from zcbench.proxies import resolve_proxies
    from zcbench.runner import run_scoring
    from zcbench.scoring import checked_device
    from zcbench.spaces import get_space
    from zcbench.store import ResultStore

    if args.model:
        return _score_model(args)
    if args.out:
        raise ZCBenchError("--out writes a --model's scores; architectures go to --store")
    space = get_space(args.space, args.data)
    info = dataset_info(args.dataset)
    specs = resolve_proxies(args.proxies)
    archs = _selection(space, args)
    if args.executor == "local":  # before the store is made (a Ray cluster may have GPUs)
        checked_device(args.device)
    if args.workers < 1 or args.threads < 0:
        raise ZCBenchError("--workers must be at least 1 and --threads at least 0 (torch's)")
    print(
        f"scoring {len(archs):,} {space.name} architectures on {info.name} with "
        f"{len(specs)} proxies ({', '.join(s.name for s in specs)}); batch {args.batch_size}, "
        f"seed {args.seed}, {args.device}, {'unfused' if args.unfused else 'fused'}"
        f"{f', {args.workers} workers' if args.workers > 1 else ''} -> {args.store}"
    )
    # a stopped run (Ctrl-C or SIGTERM) keeps every stored result and stops its workers
    with (
        _sigterm_interrupts(),
        _new_file_removed_if_empty(args.store),
        ResultStore(args.store) as store,
    ):
        summary = run_scoring(
            space,
            info.name,
            archs,
            specs,
            store,
            seed=args.seed,
            batch_size=args.batch_size,
            sampling=args.sampling,
            device=args.device,
            dtype=args.dtype,
            fused=not args.unfused,
            labels=not args.no_labels,
            retry_failed=args.retry_failed,
            data_dir=args.data,
            progress=not args.quiet,
            rss_log=args.rss_log,
            workers=args.workers,
            threads=args.threads or None,
            executor=args.executor,
            address=args.address,
            arch_timeout=args.arch_timeout,
        )
    rate = summary.scored / summary.seconds if summary.seconds else 0.0
    print(
        f"scored {summary.scored:,} architectures in {summary.seconds:.1f} s ({rate:.2f} arch/s); "
        f"{summary.skipped:,} already in the store"
    )
    table = summary.table()
    if len(table):
        print(table.to_string(index=False))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.store import (
        ResultStore,
        compare_stores,
        environment_differences,
        recorded_environment,
    )

    for path in (args.a, args.b):
        if not Path(path).is_file():
            raise ZCBenchError(f"no results store at {path}")
    with ResultStore(args.a, readonly=True) as a, ResultStore(args.b, readonly=True) as b:
        merged = compare_stores(a, b)
    both = merged[merged["where"] == "both"]
    differ = both[~both["identical"]]
    gap = (both["value_a"] - both["value_b"]).abs().max() if len(both) else float("nan")
    lines = [
        f"{len(both):,} results in both stores ({both.arch_index.nunique():,} architectures, "
        f"{both.proxy.nunique()} proxies): {int(both.identical.sum()):,} bit-identical, "
        f"{len(differ):,} differ (largest |a - b| = {gap:.3g})",
        f"only in {args.a}: {int((merged['where'] == 'a').sum()):,}; "
        f"only in {args.b}: {int((merged['where'] == 'b').sum()):,}",
    ]
    if len(differ):
        per_proxy = differ.groupby("proxy").size().to_string()
        lines += ["differing results per proxy:", per_proxy]
        env = environment_differences(merged)
        if env:
            pairs = "; ".join(
                f"{key} " + ", ".join(f"{a} vs {b}" for a, b in sorted(values))
                for key, values in env.items()
            )
            lines.append(
                f"recorded environments differ ({pairs}): floats may differ in the last bits"
            )
        elif all("threads" in recorded_environment(v) for v in differ["versions_a"]):
            lines.append("both sides recorded the same versions, threads and CPU instruction set")
        else:  # rows written before zcbench recorded them
            lines.append("both sides recorded the same versions (threads and CPU not recorded)")
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 1 if len(differ) else 0


def _truth_table(space, args: argparse.Namespace):
    """The ground truth a command compares with: ``--truth DIR`` (measured by verify), else
    NB201's table; a space with neither is a one-line error."""
    from zcbench.benchmarks import load_nb201_table

    if args.truth:
        from zcbench.truth import load_truth

        table = load_truth(args.truth)
        if table.space != space.name:
            raise ZCBenchError(
                f"{args.truth} holds ground truth of {table.space}, not of {space.name}"
            )
        return table
    if space.name != "nb201":
        raise ZCBenchError(
            f"{space.name} has no tabulated benchmark; measure its ground truth with "
            f"'zcbench verify --space {args.space} --sample N --out DIR' and pass --truth DIR"
        )
    return load_nb201_table(args.data)


def cmd_report(args: argparse.Namespace) -> int:
    from zcbench.report import DEFAULT_TARGETS, ReportConfig, build_report
    from zcbench.runner import package_versions
    from zcbench.spaces import get_space

    space = get_space(args.space, args.data)
    table = _truth_table(space, args)
    if args.targets:
        targets = tuple(args.targets.split(","))
    elif args.truth:  # the measured test accuracy first, then the validation one
        targets = (table.final_metric, *[m for m in table.metrics if m.startswith("valid")])
    else:
        targets = DEFAULT_TARGETS
    config = ReportConfig(
        store=args.store,
        space=space.name,
        datasets=args.dataset.split(",") if args.dataset else None,
        targets=targets,
        seed=args.seed,
        batch_size=args.batch_size,
        n_boot=args.bootstrap,
        learned_labels=args.learned_labels,
        packages=package_versions(),
        search=args.search,
        verify=args.verify,
    )
    unknown_targets = [t for t in config.targets if t not in table.metrics]
    if unknown_targets:
        raise ZCBenchError(
            f"unknown target {unknown_targets[0]!r}; expected one of {', '.join(table.metrics)}"
        )
    result = build_report(config, table, args.out)
    _print_best(result, config.targets[0])
    print(f"wrote {args.out}/report.html, report.md, correlations.csv and figures")
    return 0


def _latency_limits(text: str | None) -> dict[str, float]:
    limits: dict[str, float] = {}
    for part in filter(None, (text or "").split(",")):
        device, sep, value = part.partition("=")
        try:
            limits[device.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not 0 < limits.get(device.strip(), 0) < float("inf"):
            raise ZCBenchError(
                f"bad --max-latency {shown(part)}; expected DEVICE=MS with MS > 0, e.g. pixel3=10"
            )
    return limits


def cmd_search(args: argparse.Namespace) -> int:
    from zcbench.search import SearchJob, run_search
    from zcbench.spaces import get_space

    space = get_space(args.space, args.data)
    table = _truth_table(space, args)
    trainer = None
    if args.truth:
        from zcbench.truth import TrainedTruth

        trainer = TrainedTruth(args.truth, space, data_dir=args.data, progress=not args.quiet)
    job = SearchJob(
        searchers=[n.strip() for n in args.searcher.split(",") if n.strip()],
        datasets=args.dataset.split(","),
        budgets=_positive_list(args.budget, "--budget"),
        runs=args.runs,
        seed=args.seed,
        signal=args.signal,
        max_latency=_latency_limits(args.max_latency),
        proxy=args.proxy,
        store=args.store,
        proxy_seed=args.proxy_seed,
        batch_size=args.batch_size,
        device=args.device,
        executor=args.executor,
        workers=args.workers,
        address=args.address,
    )
    summary = run_search(
        job, space, table, args.out, data_dir=args.data, progress=not args.quiet,
        trainer=trainer,
    )  # fmt: skip
    if trainer is not None and trainer.trained:
        print(f"trained {trainer.trained} architectures the ground truth lacked ({args.truth})")
    print(summary.drop(columns=["optimum"]).to_string(index=False))
    print(f"wrote {args.out}/trace.csv, summary.csv, search.md and anytime plots")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.store import ResultStore

    if not Path(args.store).is_file():
        raise ZCBenchError(f"no results store at {args.store}; run 'zcbench score' first")
    with ResultStore(args.store, readonly=True) as store:
        frame = store.export(args.out)
    print(
        f"wrote {len(frame):,} rows ({frame.proxy.nunique()} proxies, "
        f"{frame['index'].nunique():,} architectures) to {args.out}"
    )
    return 0


def cmd_perf(args: argparse.Namespace) -> int:
    from zcbench.perf import matmul_gflops, memory_growth, panel_timing, write_perf_report

    print(
        f"zcbench perf: {args.archs} architectures, proxies {args.proxies}, "
        f"{'memory over ' + str(args.memory) + ' archs, ' if args.memory else ''}-> {args.out}"
    )
    from zcbench.scoring import checked_device

    checked_device(args.device)
    peak = matmul_gflops(device=args.device)
    timing = panel_timing(
        n_archs=args.archs,
        proxies=args.proxies,
        batch_size=args.batch_size,
        progress=not args.quiet,
        device=args.device,
    )
    memory = None
    if args.memory:
        memory = memory_growth(
            args.memory,
            proxies=args.memory_proxies or args.proxies,
            batch_size=args.batch_size,
            progress=not args.quiet,
        )
    out = write_perf_report(args.out, timing, peak, memory, warmup=20)
    print((out / "perf.md").read_text())
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.benchmarks import load_nb201_table
    from zcbench.datasets import dataset_info
    from zcbench.spaces import get_space
    from zcbench.verify import Recipe, from_search, from_store, spread, verify

    space = get_space(args.space, args.data)
    # NB201 is compared with its table; a space without one gets its ground truth measured
    table = load_nb201_table(args.data) if space.name == "nb201" else None
    dataset = dataset_info(args.dataset).name
    recipe = Recipe(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        train_size=args.train_size, seed=args.seed, valid_size=args.valid_size,
    )  # fmt: skip
    recipe.check()
    if args.archs is not None:
        from zcbench.selection import parse_selection

        indices = parse_selection(space, args.archs)
        how = f"--archs {args.archs}"
    elif args.sample:
        from zcbench.selection import sample_indices

        indices = sample_indices(space, args.sample, args.sample_seed)
        how = f"a seeded sample (seed {args.sample_seed})"
    elif args.from_search:
        indices = from_search(args.from_search, args.top)
        how = f"the top {args.top} final incumbents of {args.from_search}"
    elif args.from_store:
        if not args.proxy:
            raise ZCBenchError("--from-store needs --proxy NAME")
        if not Path(args.from_store).is_file():
            raise ZCBenchError(f"no results store at {args.from_store}")
        from zcbench.store import ResultStore

        with ResultStore(args.from_store, readonly=True) as store:
            indices = from_store(store, space, dataset, args.proxy, args.top)
        how = f"the top {args.top} by {args.proxy} in {args.from_store}"
    elif table is None:
        raise ZCBenchError(
            f"{space.name} has no table to spread over; choose architectures with --sample N "
            "or --archs SEL"
        )
    else:
        k = 8 if args.spread is None else args.spread
        indices = spread(table, dataset, k)
        how = f"{k} spanning test_acc_12ep (quantiles 5%..95%)"
    print(
        f"verifying {len(indices)} architectures of {dataset} ({how}): {recipe.epochs} epochs, "
        f"batch {recipe.batch_size}, lr {recipe.lr}, train size {recipe.train_size or 'all'}, "
        f"{args.device} -> {args.out}"
    )
    try:
        result = verify(
            space, table, dataset, indices, recipe, args.out, device=args.device,
            test_set=args.test_set, data_dir=args.data, progress=not args.quiet,
            executor=args.executor, workers=args.workers, address=args.address,
            threads=args.threads or None,
        )  # fmt: skip
    except KeyboardInterrupt:
        print(f"interrupted; rerun the same command to resume from the checkpoints in {args.out}")
        return 130
    print(result.to_string(index=False))
    agreement = Path(args.out) / "agreement.csv"
    if agreement.stat().st_size > 1:
        import pandas as pd

        print(pd.read_csv(agreement).to_string(index=False))
    print(
        f"wrote {args.out}/verify.csv, verify.md, curves.png, ground_truth.csv"
        + ("" if table is not None else f" (the ground truth of {space.name}: zcbench report "
           f"--truth {args.out})")
    )  # fmt: skip
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from zcbench.benchmarks import load_nb201_table
    from zcbench.datasets import dataset_info
    from zcbench.fidelity import fidelity_table
    from zcbench.store import ResultStore

    if not Path(args.store).is_file():
        raise ZCBenchError(f"no results store at {args.store}; run 'zcbench score' first")
    table = load_nb201_table(args.data)
    frames = []
    with ResultStore(args.store, readonly=True) as store:
        for name in args.dataset.split(","):
            info = dataset_info(name)
            frames.append(
                fidelity_table(
                    store,
                    table,
                    dataset=info.name,
                    target=args.target,
                    seed=args.seed,
                    batch_size=args.batch_size,
                )
            )
    result = pd.concat(frames, ignore_index=True)
    if result.empty:
        raise ZCBenchError(
            f"no scores for {args.dataset} (seed {args.seed}, batch "
            f"{args.batch_size}) in {args.store}"
        )
    print(result.to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result.to_csv(out / "fidelity.csv", index=False)
        (out / "fidelity.md").write_text(
            f"# Proxy fidelity: signed Spearman vs {args.target}\n\n"
            f"Store `{args.store}`, seed {args.seed}, batch {args.batch_size}; published values "
            "from shared/docs/anchors.md ("
            + (
                "NAS-Bench-Suite-Zero, whose protocol is validation accuracy, where given, else "
                "Abdelfattah / ZiCo / MeCo"
                if args.target.startswith("valid")
                else "Abdelfattah where given, else ZiCo / MeCo (vs test), else "
                "NAS-Bench-Suite-Zero (vs validation)"
            )
            + "); tolerance +-0.04. The pub_* columns list every source "
            "(abdelfattah, zico, meco: vs test accuracy; suite_zero: vs validation). "
            "`spearman` excludes failures (n_failed); `spearman_failed_last` ranks them last "
            "instead, as a reference code that keeps log(0) = -inf would.\n\n"
            + result.to_markdown(index=False)
            + "\n"
        )
        print(f"wrote {out / 'fidelity.csv'} and {out / 'fidelity.md'}")
    return 0


# -- parser ----------------------------------------------------------------------------------
def _add_common(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--data",
        metavar="DIR",
        default=default,
        help="benchmark data directory (default: $ZCBENCH_DATA, then ../shared/data)",
    )
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks and debug logs"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress bars"
    )


def _add_execution(p: argparse.ArgumentParser, what: str) -> None:
    """Where the work runs (score, search's proxy scoring, verify): one definition."""
    p.add_argument(
        "--threads",
        type=at_least(0),
        default=0,
        help="torch CPU threads, per worker with --workers (default: torch's, divided among them)",
    )
    p.add_argument(
        "--workers",
        type=at_least(1),
        default=1,
        help=f"{what} side by side: processes (on CUDA sharing the GPU), or Ray actors with "
        "--executor ray (default: 1)",
    )
    p.add_argument(
        "--executor",
        default="local",
        choices=["local", "ray"],
        help="local: this process or --workers processes; ray: --workers Ray workers "
        "(pip install 'zcbench[ray]') (default: local)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="with --executor ray: the cluster to join (default: start a local one)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="zcbench",
        description="Training-free NAS benchmark and zero-cost proxy evaluation suite.",
    )
    parser.add_argument("--version", action="version", version=f"zcbench {__version__}")
    _add_common(parser, argparse.SUPPRESS)
    parser.set_defaults(data=None, debug=False, quiet=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def command(name: str, help: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help, description=help)
        _add_common(cmd, argparse.SUPPRESS)  # global options work after the command too
        return cmd

    p = command("spaces", "list the search spaces with their sizes")
    p.set_defaults(func=cmd_spaces)

    p = command("info", "write params and FLOPs of architectures to a CSV")
    p.add_argument("--space", default="nb201", help=SPACE_HELP)
    p.add_argument(
        "--dataset",
        default="cifar10",
        help="cifar10, cifar100 or ImageNet16-120 (sets classes and resolution)",
    )
    sel = p.add_mutually_exclusive_group()
    sel.add_argument(
        "--archs",
        metavar="SEL",
        help="indexes, ranges and/or official strings, e.g. '0-99,1462' (default: all)",
    )
    sel.add_argument(
        "--sample", type=at_least(1), metavar="N", help="N architectures drawn at random"
    )
    p.add_argument("--seed", type=at_least(0), default=0, help="seed for --sample (default: 0)")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="output CSV ('-' = stdout)")
    p.add_argument(
        "--workers",
        type=at_least(1),
        default=_default_workers(),
        help="processes for large selections (default: CPU count, at most 8)",
    )
    p.set_defaults(func=cmd_info)

    p = command("proxies", "list the registered zero-cost proxies with their metadata")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style filter, e.g. 'syn*'")
    p.add_argument("-v", "--verbose", action="store_true", help="paper, formula and departures")
    p.set_defaults(func=cmd_proxies)

    p = command("score", "score architectures with zero-cost proxies into a results store")
    p.add_argument("--space", default="nb201", help=SPACE_HELP)
    p.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or ImageNet16-120")
    p.add_argument("--proxies", default="all", help="'all' or names/patterns: synflow,naswot,syn*")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--archs", metavar="SEL", help="indexes, ranges and/or strings: '0-99,1462'")
    sel.add_argument(
        "--sample", type=at_least(1), metavar="N", help="N architectures drawn at random"
    )
    sel.add_argument("--all", action="store_true", help="every architecture of the space")
    p.add_argument(
        "--sample-seed", type=at_least(0), default=0, help="seed of --sample (default: 0)"
    )
    p.add_argument(
        "--seed", type=at_least(0), default=0, help="minibatch and init seed (default: 0)"
    )
    p.add_argument(
        "--batch-size", type=at_least(1), default=64, help="minibatch size (default: 64)"
    )
    p.add_argument(
        "--sampling",
        default="random",
        choices=["random", "balanced"],
        help="how the minibatch is drawn (default: random)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float64"],
        help="precision of proxies that do not fix their own (default: float32)",
    )
    _add_execution(p, "architectures scored")
    p.add_argument(
        "--arch-timeout",
        type=positive_float,
        metavar="SECONDS",
        help="record an architecture as 'timeout' when its worker takes longer, and go on",
    )
    p.add_argument("--unfused", action="store_true", help="one pass per proxy (for comparison)")
    p.add_argument(
        "--no-labels",
        action="store_true",
        help="score without labels (label-free proxies only; others are 'skipped')",
    )
    p.add_argument("--retry-failed", action="store_true", help="rescore stored failures")
    p.add_argument(
        "--store", default="results.db", help="SQLite results file (default: results.db)"
    )
    p.add_argument(
        "--model",
        metavar="MODULE:FACTORY",
        help="score one model of yours instead of a space's architectures: a function that "
        "builds it (given num_classes= if it takes that), e.g. my_pkg.nets:build_resnet",
    )
    p.add_argument("--out", metavar="FILE.csv", help="with --model: also write its scores here")
    p.add_argument(
        "--rss-log",
        metavar="FILE.csv",
        help="append this process's resident memory every 25 architectures (leak checks; with "
        "workers or Ray, the driver's)",
    )
    p.set_defaults(func=cmd_score)

    p = command("export", "export a results store in the long format (CSV or Parquet)")
    p.add_argument("--store", default="results.db", help="SQLite results file")
    p.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet")
    p.set_defaults(func=cmd_export)

    p = command("report", "correlation report (CSV, Markdown, HTML, PNG) from a results store")
    p.add_argument("--store", default="results.db", help="SQLite results file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--space", default="nb201", help=SPACE_HELP)
    p.add_argument("--dataset", help="dataset(s), comma-separated (default: all in the store)")
    p.add_argument(
        "--targets",
        help="ground-truth metrics, the first is the main one (default: NB201's "
        "test_acc_200ep,valid_acc_200ep,test_acc_12ep; with --truth its test then validation "
        "accuracy)",
    )
    p.add_argument("--truth", metavar="DIR", help=TRUTH_HELP)
    p.add_argument("--seed", type=at_least(0), default=0, help="scoring seed (default: 0)")
    p.add_argument(
        "--batch-size", type=at_least(1), default=64, help="scoring batch size (default: 64)"
    )
    p.add_argument(
        "--bootstrap", type=at_least(1), default=1000, help="bootstrap resamples (default: 1000)"
    )
    p.add_argument(
        "--learned-labels",
        type=at_least(0),
        default=100,
        help="labelled architectures the learned ensemble is fitted on (default: 100)",
    )
    p.add_argument("--search", metavar="DIR", help="add a 'zcbench search' output as a section")
    p.add_argument("--verify", metavar="DIR", help="add a 'zcbench verify' output as a section")
    p.set_defaults(func=cmd_report)

    p = command("search", "run searchers against the budgeted table oracle")
    p.add_argument("--space", default="nb201", help=SPACE_HELP)
    p.add_argument("--dataset", default="cifar10", help="dataset(s), comma-separated")
    p.add_argument(
        "--searcher",
        default="rea",
        help="searcher(s), comma-separated, with options: random,rea,zc:n=1000,zc-rea,predictor",
    )
    p.add_argument("--budget", default="100", help="ground-truth queries per run (comma list)")
    p.add_argument("--runs", type=at_least(1), default=100, help="independent runs (default: 100)")
    p.add_argument("--seed", type=at_least(0), default=0, help="seed of the first run (default: 0)")
    p.add_argument(
        "--signal",
        help="what the searcher sees (default: the table's: NB201's valid_acc_12ep, the NATS "
        "protocol; a measured table's validation accuracy)",
    )
    p.add_argument(
        "--truth",
        metavar="DIR",
        help=TRUTH_HELP + "; architectures it lacks are trained with its recipe when queried",
    )
    p.add_argument("--max-latency", metavar="DEV=MS", help="latency limits, e.g. pixel3=10")
    p.add_argument(
        "--proxy",
        default="naswot",
        help="proxy (or comma-separated ensemble) for zero-cost guided searchers (default: naswot)",
    )
    p.add_argument(
        "--store",
        default="results.db",
        help="SQLite store proxy scores are read from and cached in (default: results.db)",
    )
    p.add_argument("--proxy-seed", type=at_least(0), default=0, help="scoring seed (default: 0)")
    p.add_argument(
        "--batch-size", type=at_least(1), default=64, help="scoring batch size (default: 64)"
    )
    p.add_argument("--device", default="cpu", help="scoring device: cpu or cuda[:N] (default: cpu)")
    _add_execution(p, "proxy scoring of architectures")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=cmd_search)

    p = command("verify", "train chosen architectures from scratch and compare with the table")
    p.add_argument("--space", default="nb201", help=SPACE_HELP)
    p.add_argument("--dataset", default="cifar10", help="cifar10 or cifar100 (default: cifar10)")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--archs", metavar="SEL", help="indexes, ranges and/or strings: '1462,9930'")
    sel.add_argument(
        "--spread",
        type=at_least(1),
        metavar="K",
        help="K architectures spanning the table's accuracy range (NB201's default, K=8)",
    )
    sel.add_argument(
        "--sample",
        type=at_least(1),
        metavar="N",
        help="N architectures drawn at random (any space)",
    )
    sel.add_argument("--from-search", metavar="DIR", help="final incumbents of a search output")
    sel.add_argument("--from-store", metavar="DB", help="best stored scores of --proxy")
    p.add_argument("--proxy", help="proxy ranking --from-store")
    p.add_argument("--top", type=at_least(1), default=8, help="how many --from-search/--from-store")
    p.add_argument(
        "--epochs",
        type=at_least(1),
        default=6,
        help="epochs (default: 6, ~30 min for 8 on 2 cores)",
    )
    p.add_argument(
        "--train-size",
        type=at_least(0),
        default=0,
        help="training images used (default: all available)",
    )
    p.add_argument(
        "--valid-size",
        type=at_least(0),
        default=0,
        help="training images held out for a validation accuracy (what searchers read; default: 0)",
    )
    p.add_argument(
        "--sample-seed", type=at_least(0), default=0, help="seed of --sample (default: 0)"
    )
    p.add_argument("--batch-size", type=at_least(1), default=256, help="batch size (default: 256)")
    p.add_argument(
        "--lr", type=positive_float, default=0.1, help="initial learning rate (default: 0.1)"
    )
    p.add_argument("--seed", type=at_least(0), default=0, help="init/shuffle seed (default: 0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    p.add_argument(
        "--test-set",
        default="sample",
        choices=["sample", "full"],
        help="held-out images: the exact-pixel sample, or cifar10's full JPEG test split",
    )
    _add_execution(p, "architectures trained")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (and checkpoints)")
    p.set_defaults(func=cmd_verify)

    p = command("diff", "compare two results stores: are the common results bit-identical?")
    p.add_argument("a", help="first SQLite results file")
    p.add_argument("b", help="second SQLite results file")
    p.add_argument("--out", metavar="FILE", help="also write the summary to FILE")
    p.set_defaults(func=cmd_diff)

    p = command("fidelity", "signed Spearman of stored scores vs ground truth and published values")
    p.add_argument("--store", default="results.db", help="SQLite results file")
    p.add_argument("--dataset", default="cifar10", help="dataset(s), comma-separated")
    p.add_argument("--target", default="test_acc_200ep", help="ground-truth metric")
    p.add_argument("--seed", type=at_least(0), default=0, help="scoring seed (default: 0)")
    p.add_argument(
        "--batch-size", type=at_least(1), default=64, help="scoring batch size (default: 64)"
    )
    p.add_argument("--out", metavar="DIR", help="write fidelity.csv and fidelity.md here")
    p.set_defaults(func=cmd_fidelity)

    p = command("perf", "time the proxy panel fused vs unfused, GFLOP/s, memory growth")
    p.add_argument(
        "--archs", type=at_least(1), default=10, help="architectures timed (default: 10)"
    )
    p.add_argument("--proxies", default="all", help="proxies to time (default: all)")
    p.add_argument(
        "--batch-size", type=at_least(1), default=64, help="minibatch size (default: 64)"
    )
    p.add_argument(
        "--memory",
        type=at_least(0),
        default=0,
        metavar="N",
        help="also score N architectures in one process and track RSS",
    )
    p.add_argument(
        "--memory-proxies", default=None, help="proxies for --memory (default: --proxies)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    p.add_argument("--out", default="reports/perf", metavar="DIR", help="report directory")
    p.set_defaults(func=cmd_perf)

    p = command(
        "study", "a space without a benchmark: sample, score, train briefly, report (see README)"
    )
    p.add_argument("--space", required=True, help=SPACE_HELP.replace(" (default: nb201)", ""))
    p.add_argument("--dataset", default="cifar10", help="cifar10 or cifar100 (default: cifar10)")
    p.add_argument("--sample", type=at_least(1), default=24, help="architectures (default: 24)")
    p.add_argument(
        "--sample-seed", type=at_least(0), default=0, help="seed of the sample (default: 0)"
    )
    p.add_argument("--proxies", default="all", help="proxies (default: all)")
    p.add_argument(
        "--seed", type=at_least(0), default=0, help="scoring and training seed (default: 0)"
    )
    p.add_argument("--batch-size", type=at_least(1), default=64, help="scoring batch (default: 64)")
    p.add_argument("--epochs", type=at_least(1), default=5, help="training epochs (default: 5)")
    p.add_argument(
        "--train-size", type=at_least(0), default=3000, help="training images (default: 3000)"
    )
    p.add_argument(
        "--valid-size", type=at_least(0), default=500, help="validation images (default: 500)"
    )
    p.add_argument(
        "--train-batch-size", type=at_least(1), default=64, help="training batch (default: 64)"
    )
    p.add_argument(
        "--lr", type=positive_float, default=0.1, help="initial learning rate (default: 0.1)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default: cpu)")
    p.add_argument(
        "--bootstrap", type=at_least(1), default=1000, help="bootstrap resamples (default: 1000)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.set_defaults(func=cmd_study)

    p = command("bench", "the main job: checks, scoring, correlation report (see README)")
    p.add_argument(
        "--out", default="bench-out", metavar="DIR", help="output folder (default: bench-out)"
    )
    p.add_argument(
        "--reference",
        default="reports/bench",
        metavar="DIR",
        help="the committed run to compare with (default: reports/bench; 'none': no comparison)",
    )
    p.add_argument("--config", metavar="FILE.toml", help="pipeline settings (see README)")
    p.add_argument(
        "--params-sample",
        type=at_least(1),
        metavar="N",
        help="architectures whose params are checked against the table (default 1000)",
    )
    p.add_argument(
        "--sample", type=at_least(1), metavar="N", help="architectures scored per dataset"
    )
    p.add_argument(
        "--foundation-only", action="store_true", help="only the foundation checks (no scoring)"
    )
    p.add_argument("--seed", type=at_least(0), default=0, help="sampling seed (default: 0)")
    p.add_argument(
        "--workers",
        type=at_least(1),
        default=_default_workers(),
        help="processes for counting params/FLOPs (default: CPU count, at most 8)",
    )
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad option (one line already printed), --help, --version
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ZCBenchError as exc:
        if args.debug:
            raise
        print(f"zcbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an output path that cannot be written
        if args.debug:
            raise
        print(
            f"zcbench: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("zcbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
