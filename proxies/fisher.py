"""fisher (Turner et al., "BlockSwap: Fisher-guided Block Substitution for Network Compression
on a Budget", ICLR 2020; as a zero-cost proxy in Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021, their ``foresight/pruners/measures/fisher.py``).

Formula: sum over Conv2d / Linear layers l and output channels k of
fan_in_l * 0.5 * mean_n (sum_{h,w} a_nkhw * dL/da_nkhw)^2, where a is the layer's output
(the raw convolution / linear output, before BatchNorm), fan_in_l = C_in/groups * kh * kw (the
in-features for Linear) and L = mean cross-entropy of the labelled minibatch at initialisation
(train mode, BatchNorm kept).

Where the authors' code takes the activation: they wrap each Conv2d / Linear output in an
identity "dummy" module and hook its backward, so a is exactly that layer's output and
dL/da its gradient; we register a gradient hook on the same output tensor. Their per-channel
value is ``0.5 * (a*g summed over h, w)^2`` *averaged* over the batch; they then broadcast
each channel's value to all weights of that output channel (``reshape_elements`` to
``weight.shape``) and ``find_measures`` sums every element, so each channel counts
fan_in_l times: the factor fan_in_l above reproduces that. Layers that get no gradient
count 0, as in their code. No departure (``split_data=1``) on CNNs. For a ``Linear`` applied
to token sequences (N, ..., D), which NB201 has not, the channels are the last dimension and
the token positions are summed as a convolution's positions are (our generalisation).
"""

from __future__ import annotations

import torch
from torch import nn

from zcbench.proxies.base import HookProxy, ProxyContext, register_proxy


@register_proxy(
    "fisher",
    kind="backward",
    needs_labels=True,
    paper="Turner et al., BlockSwap: Fisher-guided Block Substitution for Network Compression "
    "on a Budget, ICLR 2020 (zero-cost proxy: Abdelfattah et al., ICLR 2021)",
    formula="sum_l fan_in_l * sum_k 0.5 * mean_n (sum_hw a*dL/da)^2, a = Conv2d/Linear output",
)
class Fisher(HookProxy):
    module_types = (nn.Conv2d, nn.Linear)

    def start(self, ctx: ProxyContext, model: nn.Module) -> None:
        #: layer name -> (fan-in, per-channel Fisher value accumulated over backward calls)
        self.channels: dict[str, tuple[int, torch.Tensor]] = {}

    def on_forward(self, name, module, inputs, output) -> None:
        if not output.requires_grad:
            return
        fan_in = module.weight[0].numel()
        act = output.detach()

        def on_grad(grad: torch.Tensor) -> None:
            g_nk = act * grad.detach()
            if g_nk.dim() > 2 and isinstance(module, nn.Linear):  # (N, ..., D): channels last
                g_nk = g_nk.sum(dim=tuple(range(1, g_nk.dim() - 1)))
            elif g_nk.dim() > 2:  # (N, C, H, W)
                g_nk = g_nk.sum(dim=tuple(range(2, g_nk.dim())))
            per_channel = g_nk.double().pow(2).mean(0).mul(0.5).cpu()
            if name in self.channels:
                per_channel = per_channel + self.channels[name][1]
            self.channels[name] = (fan_in, per_channel)

        self.grad_hook(output, on_grad)

    def score(self, ctx: ProxyContext, model: nn.Module, logits: torch.Tensor) -> float:
        total = torch.zeros((), dtype=torch.float64)
        for fan_in, per_channel in self.channels.values():
            total = total + fan_in * per_channel.sum()
        return float(total)
