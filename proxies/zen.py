"""zen (Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition", ICCV 2021).

Formula: log E_x ||f(x) - f(x + gamma eps)||_1 + sum over BatchNorm2d layers of
log sqrt(mean(running_var)), with f the feature map before global average pooling, x and eps
standard Gaussian of the minibatch's shape, gamma = 1e-2, and every Conv2d / Linear weight redrawn
from N(0, 1) (biases 0, BN / GroupNorm affine 1 / 0) before the passes.

As the authors' ``ZeroShotProxy/compute_zen_score.py`` (idstcv/ZenNAS) and NASLib's ``zen.py``:
no gradients, the model in train mode so every BN normalises with its batch statistics, the
distance is the sum of |f(x) - f(x')| over (C, H, W) averaged over the batch, and the BN term is
read from ``running_var`` after the two forward passes (each pass moves it with momentum 0.1,
so it is 0.81 + 0.09 var_1 + 0.1 var_2 of the batch variances, exactly as in their code). One
repeat, as their evolutionary search and NASLib (their stand-alone script averages 32). The
real images and labels are not used; only the batch shape is.

For NB201 / NATS networks the pre-GAP map is the input of the single ``AdaptiveAvgPool2d``,
i.e. the output of ``lastact`` (BN + ReLU) as in NASLib's ``forward_before_global_avg_pool``
for NB201. Other models: the input of the last ``AdaptiveAvgPool2d`` called in the forward
(squeeze-and-excitation blocks pool too, before the final one); a model without one (a
transformer) is ``skipped``.

Departures: the Gaussian weights and inputs come from the context's seeded generator
(``ctx.generator('zen')``) instead of the global RNG, so reruns are bit-identical; BN layers
that track no running statistics are skipped in the BN term (their code would fail on them;
NB201 has none).

Version 2 runs both forwards on channels-last memory (about 26% less CPU time on NB201): the
same quantity summed in another order, values within about 1e-6 relative of version 1.
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import OwnProxy, ProxyContext, ProxySkipped, register_proxy

MIXUP_GAMMA = 1e-2
#: run both forwards on channels-last memory (a faster convolution and BatchNorm on the CPU;
#: the same quantity, summed in another order: version 2)
CHANNELS_LAST = True


def gaussian_init(model: nn.Module, generator: torch.Generator) -> None:
    """Zen-NAS's re-initialisation: Conv2d / Linear weights N(0, 1), biases 0, norms 1 / 0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                # drawn on the CPU generator and copied, so any device gives the same weights
                w = torch.randn(m.weight.shape, generator=generator, dtype=m.weight.dtype)
                m.weight.copy_(w)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def forward_pre_gap(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input of the last ``AdaptiveAvgPool2d`` that runs in the forward (the pre-GAP
    feature map: NB201 / NATS have exactly one; in networks with squeeze-and-excitation
    blocks the global pooling before the classifier is the last one called)."""
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise ProxySkipped(
            "zen reads the feature map before global average pooling and the model has no "
            "nn.AdaptiveAvgPool2d (a transformer, or pooling by a functional call)"
        )
    captured: list[torch.Tensor] = []
    handles = [
        p.register_forward_hook(lambda mod, inp, out: captured.append(inp[0])) for p in pools
    ]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not captured or captured[-1].dim() != 4:
        raise ProxySkipped("zen needs a 4-D (N, C, H, W) map before the last global pooling")
    return captured[-1]


@register_proxy(
    "zen",
    kind="own",
    needs_grad=False,
    cost="forward",
    paper="Lin et al., Zen-NAS: A Zero-Shot NAS for High-Performance Image Recognition, ICCV 2021",
    formula="log E||f(x) - f(x + 0.01 eps)||_1 + sum_BN log sqrt(mean running_var), "
    "f = pre-GAP map, x, eps ~ N(0, 1), weights ~ N(0, 1), BN in train mode",
    version=2,
    departures="Gaussian weights and inputs drawn from the seeded per-architecture generator "
    "(not the global RNG); BN layers without running statistics are left out of the BN term",
)
class Zen(OwnProxy):
    def score(self, ctx: ProxyContext) -> float:
        model = ctx.fresh_model(dtype=torch.float32)  # train mode: BN uses batch statistics
        gen = ctx.generator("zen")
        gaussian_init(model, gen)
        shape = tuple(ctx.batch.inputs.shape)
        x = torch.randn(shape, generator=gen, dtype=torch.float32).to(ctx.device)
        eps = torch.randn(shape, generator=gen, dtype=torch.float32).to(ctx.device)
        x_mix = x + MIXUP_GAMMA * eps
        if CHANNELS_LAST and x.dim() == 4:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
            x_mix = x_mix.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            f = forward_pre_gap(model, x)
            f_mix = forward_pre_gap(model, x_mix)
            delta = torch.sum(torch.abs(f - f_mix), dim=[1, 2, 3]).mean()
            log_bn = 0.0
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
                    log_bn += float(torch.log(torch.sqrt(torch.mean(m.running_var))))
            log_delta = float(torch.log(delta))  # -inf when f ignores its input
        return log_delta + log_bn
