"""zcbench info: params and FLOPs of architectures, as a CSV."""

from __future__ import annotations

import argparse
import sys
import time

from zcbench.cli.options import add_dataset, add_process_workers, add_seed, add_selection, add_space

HELP = "write params and FLOPs of architectures to a CSV"
EXAMPLES = """\
  # every NB201 architecture at CIFAR-100's 100 classes
  zcbench info --dataset cifar100 --out nb201_costs.csv
  # two architectures, to the terminal
  zcbench info --archs 0-1,1462 --out -
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space(p)
    add_dataset(p, "cifar10, cifar100 or ImageNet16-120 (sets classes and resolution)")
    add_selection(p, "indexes, ranges and/or official strings, e.g. '0-99,1462' (default: all)")
    add_seed(p, "seed for --sample")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="output CSV ('-' = stdout)")
    add_process_workers(p, "large selections")


def run(args: argparse.Namespace) -> int:
    from zcbench.spaces import get_space
    from zcbench.tables.costs import cost_table
    from zcbench.tables.datasets import dataset_info
    from zcbench.tables.selection import parse_selection, sample_indices

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
