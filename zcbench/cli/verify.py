"""zcbench verify: train chosen architectures from scratch; compare with the table, or measure
the ground truth of a space without one."""

from __future__ import annotations

import argparse

from zcbench.cli.common import existing_store
from zcbench.cli.options import (
    add_choice,
    add_dataset,
    add_device,
    add_execution,
    add_out_dir,
    add_seed,
    add_selection,
    add_space,
    add_training,
    at_least,
)
from zcbench.errors import ZCBenchError

HELP = "train chosen architectures from scratch and compare with the table"
EXAMPLES = """\
  # 8 NB201 architectures spanning the table's accuracy range, 6 epochs
  zcbench verify --spread 8 --out verify
  # the ground truth of a space without a table: 24 architectures, 500 images held out
  zcbench verify --space resnet-macro --sample 24 --epochs 5 --valid-size 500 --out truth
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space(p)
    add_dataset(p, "cifar10 or cifar100 (default: cifar10)")
    sel = add_selection(
        p,
        "indexes, ranges and/or strings: '1462,9930'",
        sample_help="N architectures drawn at random (any space)",
    )
    sel.add_argument(
        "--spread",
        type=at_least(1),
        metavar="K",
        help="K architectures spanning the table's accuracy range (NB201's default, K=8)",
    )
    sel.add_argument("--from-search", metavar="DIR", help="final incumbents of a search output")
    sel.add_argument("--from-store", metavar="DB", help="best stored scores of --proxy")
    p.add_argument("--proxy", help="proxy ranking --from-store")
    p.add_argument("--top", type=at_least(1), default=8, help="how many --from-search/--from-store")
    add_seed(p, "seed of --sample", flag="--sample-seed")
    add_training(
        p, epochs=6, train_size=0, valid_size=0, batch_size=256, batch_flag="--batch-size",
        epochs_note=", ~30 min for 8 on 2 cores",
    )  # fmt: skip
    add_seed(p, "init/shuffle seed")
    add_device(p)
    add_choice(
        p,
        "--test-set",
        ["sample", "full"],
        "held-out images: the exact-pixel sample, or cifar10's full JPEG test split",
    )
    add_execution(p, "architectures trained")
    add_out_dir(p, "output folder (and checkpoints)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zcbench.spaces import get_space
    from zcbench.tables.benchmarks import load_nb201_table
    from zcbench.tables.datasets import dataset_info
    from zcbench.training.verify import Recipe, from_search, from_store, spread, verify

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
        from zcbench.tables.selection import parse_selection

        indices = parse_selection(space, args.archs)
        how = f"--archs {args.archs}"
    elif args.sample:
        from zcbench.tables.selection import sample_indices

        indices = sample_indices(space, args.sample, args.sample_seed)
        how = f"a seeded sample (seed {args.sample_seed})"
    elif args.from_search:
        indices = from_search(args.from_search, args.top)
        how = f"the top {args.top} final incumbents of {args.from_search}"
    elif args.from_store:
        if not args.proxy:
            raise ZCBenchError("--from-store needs --proxy NAME")
        from zcbench.engine.store import ResultStore

        with ResultStore(existing_store(args.from_store, hint=""), readonly=True) as store:
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
