"""Where the fused panel's time goes: the torch profiler over fused scoring of the first
architectures of ``make perf``'s seeded sample (CIFAR-10, batch 64, the 17-proxy panel of
``make perf``, 2 threads).

Prints seconds per architecture by operator (self time, the top rows) and, for the autograd
nodes of grasp's double backward, their total time including the operators they call. It is
the evidence behind the issue note's breakdown of the cost that fusing cannot share.

    .venv/bin/python reports/perf/profile_fused.py --archs 8 > reports/perf/profile_fused.txt
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from zcbench.engine.scoring import score_arch
from zcbench.jobs.perf import PANEL17
from zcbench.proxies import resolve_proxies
from zcbench.spaces import get_space
from zcbench.tables.data import minibatch
from zcbench.tables.datasets import dataset_info
from zcbench.tables.selection import sample_indices

#: autograd nodes whose total (children included) the note quotes
NODES = ("NativeBatchNormBackwardBackward0", "ConvolutionBackwardBackward0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=8)
    parser.add_argument("--proxies", default=PANEL17)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    torch.set_num_threads(2)
    space, info = get_space("nb201"), dataset_info("cifar10")
    specs = resolve_proxies(args.proxies)
    batch = minibatch(info.name, 64, 0)
    archs = sample_indices(space, 20, 0)[: args.archs]  # make perf's sample, seed 0
    score_arch(space, archs[0], batch, specs, num_classes=info.num_classes)  # warm up
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for arch in archs:
            score_arch(space, arch, batch, specs, num_classes=info.num_classes)
    wall = (time.perf_counter() - start) / len(archs)
    events = prof.key_averages()
    n = len(archs)
    names = "the 17-proxy panel" if args.proxies == PANEL17 else args.proxies
    print(f"fused, {n} archs, {names}: {wall:.3f} s/arch under the profiler")
    print(f"\n{'operator (self time)':<48} {'s/arch':>8} {'calls/arch':>11}")
    for e in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[: args.rows]:
        print(f"{e.key[:48]:<48} {e.self_cpu_time_total / 1e6 / n:8.3f} {e.count / n:11.1f}")
    print(f"\n{'autograd node (total, children included)':<48} {'s/arch':>8}")
    for e in events:
        if e.key in NODES:
            print(f"{e.key:<48} {e.cpu_time_total / 1e6 / n:8.3f}")


if __name__ == "__main__":
    main()
