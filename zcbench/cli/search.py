"""zcbench search: searchers against the budgeted oracle of a table or a measured truth."""

from __future__ import annotations

import argparse

from zcbench.cli.common import positive_list, truth_table
from zcbench.cli.options import (
    DATASETS_HELP,
    add_batch_size,
    add_dataset,
    add_device,
    add_execution,
    add_out_dir,
    add_seed,
    add_space,
    add_store,
    add_truth,
    at_least,
)
from zcbench.errors import ZCBenchError, shown

HELP = "run searchers against the budgeted table oracle"
EXAMPLES = """\
  # REA and random search, 100 queries, 20 runs each
  zcbench search --searcher rea,random --budget 100 --runs 20 --out search
  # zero-cost guided: the best of 1000 by naswot (scores cached in results.db), 2 runs at once
  zcbench search --searcher zc:n=1000 --proxy naswot --store results.db --run-workers 2 \
      --out search-zc
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space(p)
    add_dataset(p, DATASETS_HELP)
    p.add_argument(
        "--searcher",
        default="rea",
        help="searcher(s), comma-separated, with options: random,rea,zc:n=1000,zc-rea,predictor",
    )
    p.add_argument("--budget", default="100", help="ground-truth queries per run (comma list)")
    p.add_argument("--runs", type=at_least(1), default=100, help="independent runs (default: 100)")
    add_seed(p, "seed of the first run")
    p.add_argument(
        "--signal",
        help="what the searcher sees (default: the table's: NB201's valid_acc_12ep, the NATS "
        "protocol; a measured table's validation accuracy)",
    )
    add_truth(p, "; architectures it lacks are trained with its recipe when queried")
    p.add_argument("--max-latency", metavar="DEV=MS", help="latency limits, e.g. pixel3=10")
    p.add_argument(
        "--proxy",
        default="naswot",
        help="proxy (or comma-separated ensemble) for zero-cost guided searchers (default: naswot)",
    )
    p.add_argument(
        "--pool-datasets",
        metavar="D1,D2,...",
        help="read every --proxy member through each of these datasets' minibatches, side by "
        "side, whatever the searched dataset (a pooled label-free rule, e.g. "
        "cifar10,cifar100,ImageNet16-120; no accuracy of them is read)",
    )
    add_store(p, "SQLite store proxy scores are read from and cached in")
    add_seed(p, "scoring seed", flag="--proxy-seed")
    add_batch_size(p, "scoring batch size")
    add_device(p, "scoring device: cpu or cuda[:N]")
    add_execution(p, "proxy scoring of architectures")
    p.add_argument(
        "--run-workers",
        type=at_least(1),
        default=1,
        help="runs side by side: this many processes, each scoring what its runs lack with "
        "--threads threads, or with --executor ray this many Ray tasks at a time; every "
        "searcher's first run is made first, here, scoring with --workers (default: 1, one "
        "run after another)",
    )
    add_out_dir(p)


def latency_limits(text: str | None) -> dict[str, float]:
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


def run(args: argparse.Namespace) -> int:
    from zcbench.search.loop import SearchJob, run_search
    from zcbench.spaces import get_space

    space = get_space(args.space, args.data)
    table = truth_table(space, args)
    trainer = None
    if args.truth:
        from zcbench.training.truth import TrainedTruth

        trainer = TrainedTruth(args.truth, space, data_dir=args.data, progress=not args.quiet)
    job = SearchJob(
        searchers=[n.strip() for n in args.searcher.split(",") if n.strip()],
        datasets=args.dataset.split(","),
        budgets=positive_list(args.budget, "--budget"),
        runs=args.runs,
        seed=args.seed,
        signal=args.signal,
        max_latency=latency_limits(args.max_latency),
        proxy=args.proxy,
        store=args.store,
        proxy_seed=args.proxy_seed,
        batch_size=args.batch_size,
        device=args.device,
        executor=args.executor,
        workers=args.workers,
        address=args.address,
        threads=args.threads or None,
        run_workers=args.run_workers,
        pool_datasets=tuple(d.strip() for d in (args.pool_datasets or "").split(",") if d.strip()),
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
