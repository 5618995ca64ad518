"""zcbench report: the correlation report of a results store against the ground truth."""

from __future__ import annotations

import argparse

from zcbench.cli.common import print_best, truth_table
from zcbench.cli.options import (
    DATASETS_HELP,
    add_batch_size,
    add_bootstrap,
    add_dataset,
    add_out_dir,
    add_seed,
    add_space,
    add_store,
    add_truth,
    at_least,
)
from zcbench.errors import ZCBenchError

HELP = "correlation report (CSV, Markdown, HTML, PNG) from a results store"
EXAMPLES = """\
  zcbench report --store results.db --out report
  # a space without a table, against the ground truth 'zcbench verify' measured
  zcbench report --space resnet-macro --truth truth --store results.db --out report
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_store(p)
    add_out_dir(p)
    add_space(p)
    add_dataset(p, f"{DATASETS_HELP} (default: all in the store)", default=None)
    p.add_argument(
        "--targets",
        help="ground-truth metrics, the first is the main one (default: NB201's "
        "test_acc_200ep,valid_acc_200ep,test_acc_12ep; with --truth its test then validation "
        "accuracy)",
    )
    add_truth(p)
    add_seed(p, "scoring seed")
    add_batch_size(p, "scoring batch size")
    add_bootstrap(p)
    p.add_argument(
        "--learned-labels",
        type=at_least(0),
        default=100,
        help="labelled architectures the learned ensemble is fitted on (default: 100)",
    )
    p.add_argument("--search", metavar="DIR", help="add a 'zcbench search' output as a section")
    p.add_argument("--verify", metavar="DIR", help="add a 'zcbench verify' output as a section")
    p.add_argument(
        "--records", metavar="DIR", help="add the search-records table (reports/search/records)"
    )
    p.add_argument(
        "--stability",
        metavar="DIR",
        help="add the seed-stability table and column (reports/stability)",
    )
    p.add_argument(
        "--label-curve",
        action="store_true",
        help="fit the few-label predictor (proxies + graph features) and draw its label curve "
        "(NB201; about a minute per dataset)",
    )


def run(args: argparse.Namespace) -> int:
    from zcbench.analysis.report import DEFAULT_TARGETS, ReportConfig, build_report
    from zcbench.engine.runner import package_versions
    from zcbench.spaces import get_space

    space = get_space(args.space, args.data)
    table = truth_table(space, args)
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
        records=args.records,
        stability=args.stability,
        label_curve=args.label_curve,
    )
    unknown_targets = [t for t in config.targets if t not in table.metrics]
    if unknown_targets:
        raise ZCBenchError(
            f"unknown target {unknown_targets[0]!r}; expected one of {', '.join(table.metrics)}"
        )
    result = build_report(config, table, args.out)
    print_best(result, config.targets[0])
    print(f"wrote {args.out}/report.html, report.md, correlations.csv and figures")
    return 0
