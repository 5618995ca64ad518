"""The CUDA path (``gpu`` marker; ``make gpu-check`` runs these on a machine with a GPU).

What is checked, on a few NB201 architectures with every proxy:

* fused equals unfused on CUDA, and reruns are bit-identical (cuDNN deterministic, no TF32,
  :func:`zcbench.engine.scoring.device_policy`);
* CUDA values agree with CPU values within the per-proxy tolerances of :data:`RTOL` (float32
  kernels sum in another order; proxies that subtract near-equal quantities amplify that,
  as between CPU thread counts: see the README's machine-dependence paragraph);
* the caller's model and RNG (CPU and CUDA) are untouched;
* out of memory becomes a recorded ``oom`` and the run goes on.
"""

from __future__ import annotations

import math

import pytest
import torch

from zcbench.proxies import register_proxy, resolve_proxies
from zcbench.proxies.base import OwnProxy, unregister_proxy

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.data,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

#: relative tolerance of CUDA against CPU values, per proxy (default: DEFAULT_RTOL)
DEFAULT_RTOL = 1e-4
RTOL = {"grasp": 5e-2, "plain": 1e-2, "zico": 1e-3, "epe_nas": 1e-3, "jacob_cov": 1e-3,
        "fisher": 1e-3, "snip": 1e-3, "grad_norm": 1e-3, "swap": 0.0, "naswot": 1e-6,
        "params": 0.0, "flops": 0.0}  # fmt: skip
ARCHS = [9930, 1462, 430, 100]


@pytest.fixture(scope="module")
def batch():
    from zcbench.tables.data import minibatch

    return minibatch("cifar10", batch_size=64, seed=0)


def _score(nb201, index, batch, device, fused=True):
    from zcbench.engine.scoring import score_arch

    return score_arch(nb201, nb201.from_index(index), batch, resolve_proxies("all"),
                      num_classes=10, device=device, fused=fused)  # fmt: skip


@pytest.mark.parametrize("index", ARCHS)
def test_cuda_fused_equals_unfused_and_reruns_are_identical(nb201, batch, index):
    fused = [(r.proxy, r.value, r.status) for r in _score(nb201, index, batch, "cuda")]
    assert [(r.proxy, r.value, r.status) for r in _score(nb201, index, batch, "cuda")] == fused
    unfused = _score(nb201, index, batch, "cuda", fused=False)
    assert [(r.proxy, r.value, r.status) for r in unfused] == fused


@pytest.mark.parametrize("index", ARCHS)
def test_cuda_agrees_with_cpu_within_tolerance(nb201, batch, index):
    cpu = {r.proxy: r for r in _score(nb201, index, batch, "cpu")}
    for r in _score(nb201, index, batch, "cuda"):
        ref = cpu[r.proxy]
        assert r.status == ref.status, (r, ref)
        if r.value is None:
            continue
        rtol = RTOL.get(r.proxy, DEFAULT_RTOL)
        assert math.isclose(r.value, ref.value, rel_tol=rtol, abs_tol=1e-9), (r, ref.value)


def test_cuda_leaves_the_callers_model_and_rng_alone(batch):
    from zcbench.engine.modelscore import score_model

    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10),
    ).eval()  # fmt: skip
    state = {k: v.clone() for k, v in model.state_dict().items()}
    cpu_rng, cuda_rng = torch.get_rng_state(), torch.cuda.get_rng_state()
    first = score_model(model, batch, device="cuda")
    assert torch.equal(torch.get_rng_state(), cpu_rng)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_rng)
    assert not model.training and next(model.parameters()).device.type == "cpu"
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    again = score_model(model, batch, device="cuda")
    assert [r.value for r in again.results] == [r.value for r in first.results]


def test_out_of_memory_is_recorded_and_the_run_goes_on(nb201, batch, tmp_path):
    from zcbench.engine.runner import run_scoring
    from zcbench.engine.store import ResultStore

    @register_proxy("test_gpu_hog", kind="own", paper="test", formula="allocates too much")
    class Hog(OwnProxy):
        def score(self, ctx):
            free, _ = torch.cuda.mem_get_info(ctx.device)
            torch.empty(int(free) * 4, dtype=torch.uint8, device=ctx.device)  # never fits
            return 0.0

    try:
        archs = [nb201.from_index(i) for i in ARCHS[:2]]
        with ResultStore(tmp_path / "oom.db") as store:
            summary = run_scoring(nb201, "cifar10", archs, resolve_proxies("test_gpu_hog,synflow"),
                                  store, device="cuda", progress=False)  # fmt: skip
            rows = store.frame()
        assert summary.scored == 2
        hog = rows[rows.proxy == "test_gpu_hog"]
        assert set(hog.status) == {"oom"} and hog.value.isna().all()
        assert set(rows[rows.proxy == "synflow"].status) == {"ok"}
    finally:
        unregister_proxy("test_gpu_hog")
