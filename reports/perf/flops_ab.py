"""Before / after of the ``flops`` proxy counting on the context's pristine model instead of a
fresh copy: CPU seconds per architecture of ``score_arch`` with ``flops`` alone (what the first
stage of ``zc:prefilter=flops`` pays per candidate), one thread, the old and the new way
interleaved per architecture in one process. The old way (as at e43c231) is re-created here by
swapping the proxy's ``score`` for one that counts on ``ctx.fresh_model()``; the values of the
two must be identical, and the script fails if they are not.

    .venv/bin/python reports/perf/flops_ab.py 400 > reports/perf/flops_ab.txt
"""

import sys
import time

import numpy as np
import torch

from zcbench.engine.scoring import score_arch
from zcbench.proxies import resolve_proxies
from zcbench.proxies.size import Flops
from zcbench.spaces import get_space
from zcbench.tables.data import minibatch
from zcbench.tables.datasets import dataset_info
from zcbench.tables.flops import count_flops
from zcbench.tables.selection import sample_indices

torch.set_num_threads(1)


def old_score(self, ctx):  # counting on a fresh copy, as before
    return count_flops(ctx.fresh_model(), int(ctx.batch.inputs.shape[-1])) / 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    space, info = get_space("nb201"), dataset_info("cifar10")
    batch = minibatch(info.name, 64, 0)
    specs = resolve_proxies("flops")
    new_score = Flops.score
    seconds = {"old": [], "new": []}
    for arch in sample_indices(space, n, 0):
        values = {}
        for way, score in (("old", old_score), ("new", new_score)):
            Flops.score = score
            start = time.process_time()
            (result,) = score_arch(space, arch, batch, specs, num_classes=info.num_classes)
            seconds[way].append(time.process_time() - start)
            values[way] = result.value
        Flops.score = new_score
        if values["old"] != values["new"]:
            raise SystemExit(f"{arch}: old {values['old']} != new {values['new']}")
    old, new = np.mean(seconds["old"]), np.mean(seconds["new"])
    print(f"flops alone, {n} NB201 architectures (sample seed 0), CIFAR-10, 1 thread, CPU s/arch")
    print(f"old (fresh copy):     {old:.4f}")
    print(f"new (pristine model): {new:.4f}")
    print(f"speed-up: {old / new:.2f}x; values identical on all {n}")
    print(f"15,625 architectures: {old * 15625 / 60:.1f} -> {new * 15625 / 60:.1f} core-min")


if __name__ == "__main__":
    main()
