"""zico (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients",
ICLR 2023).

Formula: sum over Conv2d / Linear layers l of log( sum over weights w of l, std_w > 0, of
mean_s |G_s[w]| / std_s G_s[w] ), where G_s is the weight gradient of the mean cross-entropy
recorded after sub-batch s (mean of absolute values; population standard deviation of the
signed values, as ``np.mean(np.abs(.))`` / ``np.std(.)`` in the authors' code).

As the authors' ``ZeroShotProxy/compute_zico.py`` (SLDGroup/ZiCo) and NASLib's ``zico.py``:

* the model in train mode (BN kept, batch statistics), PyTorch default initialisation;
* the minibatch split into 2 halves (NASLib's ``split_data = 2``; the authors' search reads 2
  batches), one forward / backward of the mean cross-entropy each;
* **no** ``zero_grad`` between the halves, as in both codes: the recorded gradients are
  cumulative, G_1 = g_1 and G_2 = g_1 + g_2 (so std = |g_2| / 2). We keep this because both
  reference codes, which produced the published numbers, do so; the paper's equation reads as
  statistics of the per-batch gradients g_1, g_2;
* weights only (no biases) of every Conv2d / Linear, the classifier included; weights whose
  std is 0 are left out; a layer whose sum is 0 (or that received no gradient) adds nothing,
  so a network with no contributing layer scores 0, as theirs.

Departure: the statistics are computed in float64 (theirs in the gradients' float32); this
changes values only in the last float32 digits.

Version 2 runs both passes on channels-last memory (the CPU's convolution and BatchNorm are
about a third faster on it for NB201's shapes): the same quantity, its sums taken in another
order, so values move in the last bits; ``reports/fidelity/speed_check`` shows on 200 of the
committed architectures that its Spearman against accuracy moves by less than 0.005.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zcbench.proxies.base import OwnProxy, ProxyContext, ProxyFailure, register_proxy
from zcbench.proxies.layers import WEIGHT_LAYERS

SPLITS = 2
#: both passes on channels-last memory (version 2)
CHANNELS_LAST = True


def zico_from_gradients(grads: dict[str, list[torch.Tensor]]) -> float:
    """ZiCo from per-layer lists of recorded weight gradients (one tensor per sub-batch)."""
    total = 0.0
    for recorded in grads.values():
        g = torch.stack([t.reshape(-1).to(torch.float64) for t in recorded])  # (splits, n)
        # np.std's two passes, as the authors' code (the mean, then the mean of squared
        # deviations; equal to it but for torch's sqrt, which can differ in the last bit), ten
        # times faster than torch.std, which reduces a short leading dimension slowly
        std = (g - g.mean(dim=0)).square().mean(dim=0).sqrt()
        mean_abs = g.abs().mean(dim=0)
        keep = std != 0
        layer_sum = float((mean_abs[keep] / std[keep]).sum())
        if layer_sum != 0:
            total += math.log(layer_sum)
    return total


@register_proxy(
    "zico",
    kind="own",
    needs_labels=True,
    needs_grad=True,
    cost="backward",
    paper="Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients, "
    "ICLR 2023",
    formula="sum_l log sum_w mean_s|G_s[w]| / std_s(G_s[w]) over Conv2d/Linear weights with "
    "std > 0; G_s = cross-entropy gradient after each of 2 half-batches (accumulated, as theirs)",
    departures="statistics in float64 instead of float32",
    version=2,
)
class ZiCo(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        model = ctx.fresh_model()
        x, y = ctx.inputs(), ctx.targets
        n = x.shape[0]
        if n < SPLITS:
            raise ProxyFailure(f"zico needs a batch of at least {SPLITS} images; got {n}")
        if CHANNELS_LAST and x.dim() == 4:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        layers = [(name, m) for name, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)]
        grads: dict[str, list[torch.Tensor]] = {}
        model.zero_grad(set_to_none=True)
        for s in range(SPLITS):
            lo, hi = s * n // SPLITS, (s + 1) * n // SPLITS
            F.cross_entropy(model(x[lo:hi]), y[lo:hi]).backward()  # accumulates, as theirs
            for name, layer in layers:
                if layer.weight.grad is not None:
                    grads.setdefault(name, []).append(layer.weight.grad.detach().clone().cpu())
        return zico_from_gradients({k: v for k, v in grads.items() if len(v) == SPLITS})
