"""zcbench score: architectures of a space (into a results store) or one model of yours."""

from __future__ import annotations

import argparse

from zcbench.cli.common import new_file_removed_if_empty, selection, sigterm_interrupts
from zcbench.cli.options import (
    add_batch_size,
    add_choice,
    add_dataset,
    add_device,
    add_execution,
    add_proxies,
    add_seed,
    add_selection,
    add_space,
    add_store,
    positive_float,
)
from zcbench.errors import ZCBenchError

HELP = "score architectures with zero-cost proxies into a results store"
EXAMPLES = """\
  # 100 random NB201 architectures, two proxies, on 2 worker processes
  zcbench score --sample 100 --proxies synflow,naswot --workers 2 --store results.db
  # a model of yours: a function that builds it
  zcbench score --model my_pkg.nets:build_resnet --proxies all --out scores.csv
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space(p)
    add_dataset(p, "cifar10, cifar100 or ImageNet16-120")
    add_proxies(p, "'all' or names/patterns: synflow,naswot,syn*")
    sel = add_selection(p, "indexes, ranges and/or strings: '0-99,1462'")
    sel.add_argument("--all", action="store_true", help="every architecture of the space")
    add_seed(p, "seed of --sample", flag="--sample-seed")
    add_seed(p, "minibatch and init seed")
    add_batch_size(p, "minibatch size")
    add_choice(p, "--sampling", ["random", "balanced"], "how the minibatch is drawn")
    add_device(p)
    add_choice(
        p, "--dtype", ["float32", "float64"], "precision of proxies that do not fix their own"
    )
    add_execution(p, "architectures scored")
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
    add_store(p)
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


def run(args: argparse.Namespace) -> int:
    from zcbench.engine.runner import run_scoring
    from zcbench.engine.scoring import checked_device
    from zcbench.engine.store import ResultStore
    from zcbench.proxies import resolve_proxies
    from zcbench.spaces import get_space
    from zcbench.tables.datasets import dataset_info

    if args.model:
        return run_model(args)
    if args.out:
        raise ZCBenchError("--out writes a --model's scores; architectures go to --store")
    space = get_space(args.space, args.data)
    info = dataset_info(args.dataset)
    specs = resolve_proxies(args.proxies)
    archs = selection(space, args)
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
        sigterm_interrupts(),
        new_file_removed_if_empty(args.store),
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


def run_model(args: argparse.Namespace) -> int:
    """``zcbench score --model module:factory``: one model, printed (and --out CSV)."""
    import inspect

    from zcbench.engine.modelscore import score_model
    from zcbench.plugins import import_object
    from zcbench.tables.data import minibatch
    from zcbench.tables.datasets import dataset_info

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
