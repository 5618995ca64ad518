"""Before / after of issue 17's CPU speed-ups on a loaded machine: CPU seconds per architecture of
the fused 17-proxy panel at one thread, the old and the new code interleaved per architecture in
one process (the old: meco's, naswot's and swap's hooks as they were at aa5d28f, re-created
here, and zen on NCHW memory). CPU time of the one thread, not wall time: on a shared 2-core
machine at load 12-19 wall time measures the other tenants; one thread's CPU time much less so.

    .venv/bin/python reports/perf/speed_ab.py 4 > reports/perf/speed_ab.txt
"""

import sys
import time

import numpy as np
import torch

import zcbench.proxies.meco as ME
import zcbench.proxies.naswot as NW
import zcbench.proxies.swap as SW
import zcbench.proxies.zen as Z
from zcbench.engine.scoring import score_arch
from zcbench.jobs.perf import PANEL17
from zcbench.proxies import resolve_proxies
from zcbench.spaces import get_space
from zcbench.tables.data import minibatch
from zcbench.tables.datasets import dataset_info
from zcbench.tables.selection import sample_indices

torch.set_num_threads(1)


def old_pack(active):
    m = active.shape[1]
    rows = np.ascontiguousarray(active.cpu().numpy().T)
    bits = np.packbits(rows, axis=1, bitorder="little")
    pad = (-bits.shape[1]) % 8
    if pad:
        bits = np.concatenate([bits, np.zeros((m, pad), dtype=np.uint8)], axis=1)
    return torch.from_numpy(bits.view("<i8").astype(np.int64, copy=False))


def old_naswot(self, name, module, inputs, output):
    self.relus += 1
    codes = inputs[0].reshape(inputs[0].shape[0], -1) > 0
    self.kernel += NW.hamming_kernel(codes).cpu()


def old_meco(self, name, module, inputs, output):
    if not isinstance(output, torch.Tensor) or output.dim() < 2:
        return
    self.values.append(ME.min_eig_correlation(output[0]))


new = dict(pack=SW.pack_patterns, nw=NW.NASWOT.on_forward, me=ME.MeCo.on_forward)


def mode(old):
    Z.CHANNELS_LAST = not old
    SW.pack_patterns = old_pack if old else new["pack"]
    NW.NASWOT.on_forward = old_naswot if old else new["nw"]
    ME.MeCo.on_forward = old_meco if old else new["me"]


space, info = get_space("nb201"), dataset_info("cifar10")
specs = resolve_proxies(PANEL17)
batch = minibatch(info.name, 64, 0)
archs = sample_indices(space, 20, 0)[: int(sys.argv[1])]
score_arch(space, archs[0], batch, specs, num_classes=10)
T = {True: [], False: []}
V = {True: {}, False: {}}
for i, a in enumerate(archs):
    for old in (True, False) if i % 2 == 0 else (False, True):
        mode(old)
        t = time.thread_time()
        rs = score_arch(space, a, batch, specs, num_classes=10)
        T[old].append(time.thread_time() - t)
        for r in rs:
            V[old][(a.key, r.proxy)] = r.value
o, n = np.array(T[True]), np.array(T[False])
print(
    f"CPU s/arch at 1 thread over {len(archs)} archs: old {o.mean():.3f}  new {n.mean():.3f}  "
    f"ratio {n.sum() / o.sum():.3f}  per-arch ratios {np.round(n / o, 3).tolist()}"
)
diff = sorted({k[1] for k in V[True] if V[True][k] != V[False][k]})
print("proxies whose values differ:", diff)
