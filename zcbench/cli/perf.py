"""zcbench perf: seconds per architecture of the proxy panel, fused and unfused."""

from __future__ import annotations

import argparse

from zcbench.cli.options import add_batch_size, add_device, add_proxies, at_least

HELP = "time the proxy panel fused vs unfused, GFLOP/s, memory growth"
EXAMPLES = """\
  zcbench perf --archs 20 --out reports/perf
  # three cheap proxies on a GPU
  zcbench perf --archs 200 --proxies synflow,naswot,params --device cuda --out perf-gpu
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--archs", type=at_least(1), default=10, help="architectures timed (default: 10)"
    )
    add_proxies(p, "proxies to time (default: all)")
    add_batch_size(p, "minibatch size")
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
    add_device(p)
    p.add_argument("--out", default="reports/perf", metavar="DIR", help="report directory")


def run(args: argparse.Namespace) -> int:
    from zcbench.jobs.perf import matmul_gflops, memory_growth, panel_timing, write_perf_report

    print(
        f"zcbench perf: {args.archs} architectures, proxies {args.proxies}, "
        f"{'memory over ' + str(args.memory) + ' archs, ' if args.memory else ''}-> {args.out}"
    )
    from zcbench.engine.scoring import checked_device

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
