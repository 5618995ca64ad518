"""zcbench study: which proxy to trust on a space without a benchmark."""

from __future__ import annotations

import argparse

from zcbench.cli.options import (
    add_batch_size,
    add_bootstrap,
    add_dataset,
    add_device,
    add_out_dir,
    add_proxies,
    add_seed,
    add_space,
    add_training,
    at_least,
)

HELP = "a space without a benchmark: sample, score, train briefly, report (see README)"
EXAMPLES = """\
  # the example plug-in space: 24 architectures, every proxy, 5 epochs each (~7 min on 2 cores)
  zcbench study --space resnet-macro --sample 24 --out reports/study
  # your own space class
  zcbench study --space my_pkg.spaces:MySpace --sample 12 --proxies synflow,naswot --out study
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_space(p, required=True)
    add_dataset(p, "cifar10 or cifar100 (default: cifar10)")
    p.add_argument("--sample", type=at_least(1), default=24, help="architectures (default: 24)")
    add_seed(p, "seed of the sample", flag="--sample-seed")
    add_proxies(p, "proxies (default: all)")
    add_seed(p, "scoring and training seed")
    add_batch_size(p, "scoring batch")
    add_training(
        p, epochs=5, train_size=3000, valid_size=500, batch_size=64,
        batch_flag="--train-batch-size",
    )  # fmt: skip
    add_device(p)
    add_bootstrap(p)
    add_out_dir(p)


def run(args: argparse.Namespace) -> int:
    from zcbench.jobs.study import StudyConfig

    cfg = StudyConfig(
        space=args.space, dataset=args.dataset, sample=args.sample,
        sample_seed=args.sample_seed, proxies=args.proxies, seed=args.seed,
        batch_size=args.batch_size, epochs=args.epochs, train_size=args.train_size,
        valid_size=args.valid_size, train_batch_size=args.train_batch_size, lr=args.lr,
        device=args.device, bootstrap=args.bootstrap,
    )  # fmt: skip
    return run_config(cfg, args.out, args)


def run_config(cfg, out: str, args: argparse.Namespace) -> int:
    """Run a study configured by ``cfg`` (from study's options or bench's TOML) into ``out``."""
    from zcbench.jobs.study import leaderboard_lines, run_study

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
