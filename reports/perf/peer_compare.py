"""Our panel against a widely used peer implementation, measured side by side in one process.

The peer is SamsungLabs' zero-cost-nas (``foresight.pruners.predictive.find_measures``, the
code behind Abdelfattah et al., ICLR 2021, also vendored by NASLib): 7 proxies, grad_norm,
snip, grasp, fisher, jacob_cov, plain and synflow. Its code is not part of zcbench; point
``--peer`` at a checkout of https://github.com/SamsungLabs/zero-cost-nas (the folder holding
``foresight/``). Without it the script says so and exits 0.

On ``make perf``'s 20 seeded NB201 architectures (CIFAR-10, batch 64, torch's threads), per
architecture and interleaved (the order rotating, so a slow spell of the machine falls on all
three alike), the wall time of: the peer's 7 on our network built for the architecture (the
same NB201 network the peer's ``nasbench2`` model builds), our same 7 fused, and our whole
17-proxy panel fused. Prints the means and the ratios.

    .venv/bin/python reports/perf/peer_compare.py --peer /path/to/zero-cost-nas \
        > reports/perf/peer_compare.txt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from zcbench.engine.scoring import build_context, score_arch
from zcbench.jobs.perf import PANEL17
from zcbench.proxies import resolve_proxies
from zcbench.spaces import get_space
from zcbench.tables.data import minibatch
from zcbench.tables.datasets import dataset_info
from zcbench.tables.selection import sample_indices

SEVEN = "grad_norm,snip,grasp,fisher,jacob_cov,plain,synflow"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", required=True, help="a checkout of SamsungLabs/zero-cost-nas")
    ap.add_argument("--archs", type=int, default=20)
    args = ap.parse_args()
    if not (Path(args.peer) / "foresight" / "pruners").is_dir():
        print(f"peer_compare: no foresight/pruners under {args.peer}; nothing measured")
        return 0
    sys.path.insert(0, str(Path(args.peer).resolve()))
    from foresight.pruners.predictive import find_measures  # the peer's code

    space, info = get_space("nb201"), dataset_info("cifar10")
    batch = minibatch(info.name, 64, 0)
    archs = sample_indices(space, args.archs, 0)
    ours7, ours17 = resolve_proxies(SEVEN), resolve_proxies(PANEL17)
    seven = SEVEN.split(",")

    def peer(arch) -> None:
        model = build_context(space, arch, batch, info.num_classes, 0).initial_model()
        loader = [(batch.inputs, batch.targets)]
        find_measures(
            model, loader, ("random", 1, info.num_classes), torch.device("cpu"),
            loss_fn=F.cross_entropy, measure_names=seven,
        )  # fmt: skip

    runs = {
        "peer's 7": peer,
        "our 7, fused": lambda a: score_arch(space, a, batch, ours7, num_classes=10),
        "our 17, fused": lambda a: score_arch(space, a, batch, ours17, num_classes=10),
    }
    for run in runs.values():  # warm up
        run(archs[0])
    walls: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for i, arch in enumerate(archs):
        for name in names[i % 3 :] + names[: i % 3]:
            start = time.perf_counter()
            runs[name](arch)
            walls[name].append(time.perf_counter() - start)
    mean = {k: float(np.mean(v)) for k, v in walls.items()}
    print(
        f"{args.archs} NB201 architectures (make perf's sample), CIFAR-10, batch 64, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}; wall s/arch, interleaved"
    )
    for name, secs in mean.items():
        print(f"  {name:14s} {secs:.3f} s/arch")
    peer7 = np.array(walls["peer's 7"])
    for name in ("our 7, fused", "our 17, fused"):
        ratio = np.array(walls[name]) / peer7
        print(
            f"{name} / peer's 7: {mean[name] / mean[names[0]]:.2f}x of the peer's time "
            f"(per-architecture median {np.median(ratio):.2f}x, range {ratio.min():.2f}-"
            f"{ratio.max():.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
