"""zcbench bench: the main job (foundation checks, scoring, search, correlation report)."""

from __future__ import annotations

import argparse
import time

from zcbench.cli.common import print_best
from zcbench.cli.options import add_process_workers, add_seed, at_least
from zcbench.cli.study import run_config

HELP = "the main job: checks, scoring, correlation report (see README)"
EXAMPLES = """\
  zcbench bench
  # only the checks of the data and the spaces, quickly
  zcbench bench --foundation-only --params-sample 100 --out bench-checks
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    add_seed(p, "sampling seed")
    add_process_workers(p, "counting params/FLOPs")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.analysis.report import ReportConfig, build_report
    from zcbench.engine.runner import package_versions
    from zcbench.jobs.bench import (
        BenchConfig,
        PipelineConfig,
        bench_sample,
        reference_lines,
        reference_result,
        run_foundation,
        run_pipeline,
    )
    from zcbench.spaces import get_space
    from zcbench.tables.benchmarks import load_nb201_table

    pipe = PipelineConfig.from_toml(args.config) if args.config else PipelineConfig()
    if args.params_sample is not None:
        pipe.params_sample = args.params_sample
    if args.sample is not None:
        pipe.sample = args.sample
    if get_space(pipe.space, args.data).name != "nb201":  # no tabulated benchmark
        print(f"zcbench bench: {pipe.space} has no tabulated benchmark; running its study")
        return run_config(pipe.study(), args.out, args)
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
        from zcbench.search.loop import SearchJob, run_search

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
    print_best(result, pipe.targets[0], indent="  ", reference=reference)
    print("\n".join("  " + line for line in reference_lines(args.reference, out)))
    print(
        f"done in {time.perf_counter() - start:.0f} s; report: {Path(out) / 'report.html'} "
        f"(also report.md, correlations.csv)"
    )
    return 1 if failed else 0
